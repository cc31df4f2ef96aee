//! What `update` asks the outside world to do. The event loop's effect runner performs each
//! one and reports back with an `Action` on the same channel.

use crate::export::Format;
use crate::writer::{Document, Job};
use std::path::PathBuf;

/// One piece of I/O for the runner.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Ask the model for a plan.
    Plan(Box<Job>),
    /// Write every section of `document` that is not done.
    Write {
        /// The job.
        job: Box<Job>,
        /// The document to continue.
        document: Box<Document>,
    },
    /// Stop the running writer after the current token.
    Cancel,
    /// Save the document to a file.
    Export {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: Format,
        /// What to save.
        document: Box<Document>,
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
    /// Load and use a theme.
    SetTheme(String),
    /// Leave the studio.
    Quit,
}
