//! The studio's vocabulary: every user intent and every outside event is an `Action`.
//!
//! Keys become actions through the keymap (data, see `keymap.toml`); job events, effect
//! results, resizes and frame ticks become actions in the event loop. `update` consumes them.

use crate::plan::Plan;
use crate::writer::{Document, JobEvent};
use ratatui_textarea::Input;
use serde::Deserialize;
use std::path::PathBuf;

/// One thing to do. The unit variants are what keys can be bound to (snake_case names in the
/// keymap); the others come from the event loop and the effect runner.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Leave the studio (stops a running job, keeping its text).
    Quit,
    /// Show or hide the key help.
    Help,
    /// Switch to the next built-in theme.
    CycleTheme,
    /// Close the overlay or editor; leave search.
    Cancel,
    /// Accept the editor's text.
    Submit,
    /// Move focus to the next pane (or field).
    FocusNext,
    /// Select the previous section, or scroll up.
    Up,
    /// Select the next section, or scroll down.
    Down,
    /// First section, or the top of the text.
    Top,
    /// Last section, or the end of the text (following it again).
    Bottom,
    /// Scroll half a page down.
    PageDown,
    /// Scroll half a page up.
    PageUp,
    /// Discard this document and write a new one.
    NewDocument,
    /// Edit the selected section's title.
    EditTitle,
    /// Edit the selected section's main point.
    EditMainPoint,
    /// Edit the selected section's word target.
    EditTarget,
    /// Add a section after the selected one.
    AddSection,
    /// Delete the selected section.
    DeleteSection,
    /// Move the selected section up.
    MoveUp,
    /// Move the selected section down.
    MoveDown,
    /// Ask for a new plan, with a hint.
    Replan,
    /// Accept the plan and write.
    StartWriting,
    /// Pause after the current token, or resume.
    PauseResume,
    /// Stop the job; the text so far stays.
    Stop,
    /// Rewrite the selected section, with an optional hint.
    Regenerate,
    /// Edit the selected section's text in the built-in editor.
    EditSection,
    /// Edit the selected section's text in `$EDITOR`.
    ExternalEdit,
    /// Rewrite every stale section.
    RewriteStale,
    /// Show the selected section in the stream pane.
    OpenSection,
    /// Follow the section being written again.
    Follow,
    /// Search the document.
    Search,
    /// Jump to the next search match.
    NextMatch,
    /// Export the document as markdown.
    ExportMarkdown,
    /// Export the document as plain text.
    ExportText,
    /// Open or leave the runs dashboard.
    Dashboard,
    /// Fold or unfold the selected section's chapter in the plan tree.
    ToggleChapter,
    /// Edit the main point of the selected section's chapter (its sections go stale).
    EditChapterPoint,
    /// Hand the running job to a detached worker that survives the terminal.
    HandOff,
    /// Open the profile picker (prompt screen).
    PickProfile,
    /// Scroll the help overlay to this row (already limited to what the size needs).
    #[serde(skip)]
    HelpTo(usize),
    /// SIGTERM: quit without asking, saving the section editor's text first.
    #[serde(skip)]
    Terminate,
    /// A key for the focused text editor.
    #[serde(skip)]
    Input(Input),
    /// The terminal's new size.
    #[serde(skip)]
    Resize(u16, u16),
    /// A frame tick: milliseconds since the studio started.
    #[serde(skip)]
    Tick(u64),
    /// An event of the running job.
    #[serde(skip)]
    Job(JobEvent),
    /// The plan request ended.
    #[serde(skip)]
    PlanFinished(Result<Plan, String>),
    /// A write run ended; `error` is `None` when every section is done.
    #[serde(skip)]
    WriteFinished {
        /// The document as far as it got.
        document: Box<Document>,
        /// Why it stopped early.
        error: Option<String>,
        /// It stopped because the user paused or stopped it.
        cancelled: bool,
    },
    /// An export ended: the file's absolute path, or why it failed.
    #[serde(skip)]
    Exported(Result<PathBuf, String>),
    /// An export would replace an existing file: ask first.
    #[serde(skip)]
    ExportWouldReplace(Box<super::effect::ExportRequest>),
    /// An `Effect::Save` ended: the project's id, or why it failed.
    #[serde(skip)]
    Saved(Result<String, String>),
    /// The runner created (or opened) the stored project this studio writes.
    #[serde(skip)]
    ProjectOpened(String),
    /// The dashboard's live runs, read from the store.
    #[serde(skip)]
    Runs(Vec<super::state::RunRow>),
    /// A followed project changed on disk.
    #[serde(skip)]
    Followed(Box<crate::store::Snapshot>),
    /// The hand-off ended: the worker's pid, or why it failed.
    #[serde(skip)]
    HandedOff(Result<u32, String>),
    /// A profile chosen in the picker is connected (its label for the header and the settings
    /// of its new jobs), or why it could not be.
    #[serde(skip)]
    ProfileSwitched(Result<Box<super::effect::Switched>, String>),
    /// `$EDITOR` returned the section's new text.
    #[serde(skip)]
    ExternallyEdited {
        /// The section.
        index: usize,
        /// The text, or why the editor failed.
        text: Result<String, String>,
    },
}

impl Action {
    /// The keymap name of a bindable action.
    pub fn name(&self) -> String {
        let debug = format!("{self:?}");
        let head = debug.split(['(', ' ', '{']).next().unwrap_or_default();
        let mut out = String::new();
        for (i, c) in head.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    /// A short description for the help overlay.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::Help => "this help",
            Self::CycleTheme => "next theme",
            Self::Cancel => "close / cancel",
            Self::Submit => "accept the text",
            Self::FocusNext => "next pane / field",
            Self::Up => "up",
            Self::Down => "down",
            Self::Top => "top",
            Self::Bottom => "bottom / follow",
            Self::PageDown => "half page down",
            Self::PageUp => "half page up",
            Self::NewDocument => "new document",
            Self::EditTitle => "edit title",
            Self::EditMainPoint => "edit main point",
            Self::EditTarget => "edit word target",
            Self::AddSection => "add section",
            Self::DeleteSection => "delete section",
            Self::MoveUp => "move section up",
            Self::MoveDown => "move section down",
            Self::Replan => "re-plan with a hint",
            Self::StartWriting => "accept plan, write",
            Self::PauseResume => "pause / resume",
            Self::Stop => "stop the job",
            Self::Regenerate => "rewrite section (hint)",
            Self::EditSection => "edit section text",
            Self::ExternalEdit => "edit in $EDITOR",
            Self::RewriteStale => "rewrite stale sections",
            Self::OpenSection => "open section",
            Self::Follow => "follow the stream",
            Self::Search => "search the document",
            Self::NextMatch => "next match",
            Self::ExportMarkdown => "export markdown",
            Self::ExportText => "export text",
            Self::Dashboard => "runs dashboard",
            Self::ToggleChapter => "fold / unfold chapter",
            Self::EditChapterPoint => "edit chapter point",
            Self::HandOff => "hand off to a worker",
            Self::PickProfile => "choose the profile",
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for action in [Action::PauseResume, Action::Quit, Action::ExportMarkdown] {
            let parsed: Action =
                serde_json::from_value(serde_json::Value::String(action.name())).unwrap();
            assert_eq!(parsed, action);
        }
    }
}
