//! What `update` asks the outside world to do. The event loop's effect runner performs each
//! one and reports back with an `Action` on the same channel.

use crate::export::{ExportFormat, Meta};
use crate::writer::{Document, Job, WriterSettings};
use std::path::PathBuf;

/// One export from the studio: the document as it stands, where, in which format, under which
/// title and author.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRequest {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: ExportFormat,
    /// What to save.
    pub document: Document,
    /// Title, author, id and language; the runner stamps the times (`update` has no clock).
    pub meta: Meta,
}

/// One piece of I/O for the runner.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Ask the model for a plan.
    Plan(Box<Job>),
    /// Write every section of `document` that is not written.
    Write {
        /// The job.
        job: Box<Job>,
        /// The document to continue.
        document: Box<Document>,
        /// The stored project it belongs to; `None`: create one.
        project: Option<String>,
    },
    /// Save the document as it stands into its project (creating the project for a new one):
    /// a plan under review, or a hand edit. Done at once, before the next key.
    Save(Box<Save>),
    /// Stop the running writer after the current token.
    Cancel,
    /// Save the document to a file.
    Export {
        /// What, where and how.
        request: Box<ExportRequest>,
        /// Replace an existing file; without it, an existing file is a question to the user.
        overwrite: bool,
    },
    /// Suspend the terminal and edit a section's text in `$EDITOR`.
    ExternalEdit {
        /// The section.
        index: usize,
        /// Its text.
        text: String,
    },
    /// Watch the store's live runs for the dashboard (`true`), or stop watching.
    WatchRuns(bool),
    /// Follow the stored project `id` read-only, replacing any other followed one.
    Follow(String),
    /// Stop following.
    Unfollow,
    /// Hand the project this studio writes (its writer stopped) to a detached worker.
    HandOff,
    /// Connect the profile `NAME` (with its fallback list) for the next jobs.
    UseProfile(String),
    /// Load and use a theme.
    SetTheme(String),
    /// Leave the studio.
    Quit,
}

/// What `Effect::Save` saves.
#[derive(Debug, Clone, PartialEq)]
pub struct Save {
    /// The stored project; `None`: create one.
    pub project: Option<String>,
    /// The job (for a new project's manifest).
    pub job: Job,
    /// The document with every edit.
    pub document: Document,
    /// Nothing was written yet: the project is a draft.
    pub draft: bool,
}

/// A profile chosen in the picker, connected: what the state learns of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Switched {
    /// The profile's name.
    pub name: String,
    /// The header's backend label ("profile NAME: kind model at endpoint").
    pub label: String,
    /// Generation settings for new jobs, with the profile's sampling defaults.
    pub settings: WriterSettings,
}
