//! Everything the studio shows, as plain data: the screen, overlays, the document and its
//! streamed text, scroll positions and statistics.
//!
//! `update` is the only writer of this state and `view::draw` only reads it, so a frame is a
//! pure function of a `State`. The clock enters only through `Action::Tick`, which keeps
//! snapshot tests deterministic.

use super::effect::ExportRequest;
use super::sections::SectionCache;
use super::wrap::Wrapped;
use crate::export::ExportFormat;
use crate::plan::Plan;
use crate::writer::{Document, Job, WriterSettings};
use ratatui_textarea::TextArea;
use std::collections::VecDeque;
use std::path::PathBuf;

/// Seconds of tok/s history kept for the sparkline.
pub const SPARK_SECONDS: usize = 180;

/// The main screens, in the order a document goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Typing the prompt.
    Prompt,
    /// Waiting for the plan.
    Planning,
    /// Reviewing and editing the plan.
    Review,
    /// Writing, paused, stopped or done.
    Writing,
    /// The runs dashboard: every project being written, from the store.
    Dashboard,
}

/// Where a running or finished job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Nothing started.
    Idle,
    /// The writer is running.
    Running,
    /// Pause asked; waiting for the writer to stop.
    Pausing,
    /// Paused; resumable.
    Paused,
    /// Stop asked; waiting for the writer to stop.
    Stopping,
    /// Stopped by the user; resumable.
    Stopped,
    /// Every section is done.
    Done,
    /// The backend failed; resumable.
    Failed(String),
}

impl JobState {
    /// The writer task is alive.
    pub fn is_running(&self) -> bool {
        matches!(self, Self::Running | Self::Pausing | Self::Stopping)
    }
}

/// Which pane keys scroll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The plan tree.
    Tree,
    /// The stream.
    Stream,
}

/// What a one-line input is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputPurpose {
    /// A section's title.
    Title(usize),
    /// A section's main point.
    MainPoint(usize),
    /// A chapter's main point.
    ChapterPoint(usize),
    /// A section's word target.
    Target(usize),
    /// A hint for a new plan.
    ReplanHint,
    /// A hint for rewriting a section.
    RegenerateHint(usize),
    /// A search query.
    Search,
    /// Where to export; the extension picks the format, this one when there is none.
    ExportPath(ExportFormat),
    /// The title to export under (the path and format wait in `State::export_draft`).
    ExportTitle,
    /// The author to export under.
    ExportAuthor,
}

impl InputPurpose {
    /// The input box's title.
    pub fn label(&self) -> String {
        match self {
            Self::Title(i) => format!("Title of section {}", i + 1),
            Self::MainPoint(i) => format!("Main point of section {}", i + 1),
            Self::ChapterPoint(c) => format!("Main point of chapter {}", c + 1),
            Self::Target(i) => format!("Word target of section {}", i + 1),
            Self::ReplanHint => "Re-plan: hint for the model (may be empty)".into(),
            Self::RegenerateHint(i) => format!("Rewrite section {}: hint (may be empty)", i + 1),
            Self::Search => "Search the document".into(),
            Self::ExportPath(_) => {
                format!(
                    "Export to (.{})",
                    ExportFormat::ALL.map(|f| f.extension()).join(" .")
                )
            }
            Self::ExportTitle => "Title of the export".into(),
            Self::ExportAuthor => "Author (may be empty)".into(),
        }
    }
}

/// A modal layer over the screen.
#[derive(Debug, Clone, Default)]
pub enum Overlay {
    /// Nothing.
    #[default]
    None,
    /// Key help, scrolled down by `top` rows.
    Help {
        /// The first row shown.
        top: usize,
    },
    /// An error to acknowledge.
    Error(String),
    /// A one-line input.
    Input {
        /// What it is for.
        purpose: InputPurpose,
        /// The text.
        area: Box<TextArea<'static>>,
    },
    /// The built-in editor of a section's text.
    Editor {
        /// The section.
        index: usize,
        /// The text.
        area: Box<TextArea<'static>>,
    },
    /// The profile picker of the prompt screen: `State::profiles`, this row selected.
    Profiles {
        /// The selected row.
        selected: usize,
    },
    /// A one-key question before something would be lost.
    Confirm {
        /// The question: what would be lost.
        question: String,
        /// The answers: key and what it does.
        choices: Vec<(char, &'static str)>,
        /// What any other key does (the answer that keeps everything).
        otherwise: &'static str,
        /// What waits for the answer.
        pending: Box<Pending>,
    },
}

/// What a `Confirm` question holds until it is answered.
#[derive(Debug, Clone)]
pub enum Pending {
    /// Leaving the section editor with unsaved text: `s` saves, `d` discards, any other key
    /// goes back to it. `quit`: the studio quits after the answer.
    LeaveEditor {
        /// The section.
        index: usize,
        /// The editor with its text.
        area: Box<TextArea<'static>>,
        /// Quit afterwards.
        quit: bool,
    },
    /// Re-planning over a plan edited by hand: `y` asks for the hint.
    Replan,
    /// Exporting over an existing file: `y` replaces it.
    Export(Box<ExportRequest>),
    /// Deleting a section that has text: `y` deletes it.
    DeleteSection(usize),
}

/// How bad the last message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// News.
    Info,
    /// Something to notice.
    Warning,
    /// Something failed.
    Error,
}

/// The stream pane: which section it shows and where.
#[derive(Debug, Clone, Default)]
pub struct StreamView {
    /// The section shown.
    pub section: usize,
    /// Stick to the end of the text as it grows.
    pub follow: bool,
    /// First visible line when not following.
    pub top: usize,
    /// Text area size, from the last resize.
    pub width: u16,
    /// Visible lines.
    pub height: u16,
    /// The shown section's wrapped lines.
    pub wrapped: Wrapped,
}

/// A pending retry, for "reconnecting 2/5 in 4 s".
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// The coming attempt.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// When it starts, in studio milliseconds.
    pub at_ms: u64,
    /// What failed.
    pub error: String,
}

/// Speed and time.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Studio time of the last tick.
    pub now_ms: u64,
    /// Time spent running, pauses excluded.
    pub elapsed_ms: u64,
    /// Tokens (stream chunks) per second, one entry per second, newest last.
    pub samples: VecDeque<u64>,
    /// Chunks received in the current second.
    pub chunks: u64,
    /// Start of the current second.
    pub bucket_start_ms: u64,
    /// Words written when this run started, for the rate.
    pub words_at_start: usize,
    /// A pending retry.
    pub retry: Option<Retry>,
    /// Guard incidents (loops, copies, echoes caught) in this run.
    pub guarded: u32,
}

impl Stats {
    /// Tokens per second over the last five full seconds.
    pub fn tok_per_s(&self) -> f64 {
        let n = self.samples.len().min(5);
        if n == 0 {
            return 0.0;
        }
        self.samples.iter().rev().take(n).sum::<u64>() as f64 / n as f64
    }
}

/// An active search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Search {
    /// The query.
    pub query: String,
    /// `(section, byte offset)` of each match.
    pub matches: Vec<(usize, usize)>,
    /// The match shown.
    pub at: usize,
}

/// One live run on the dashboard, as read from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// The project id.
    pub id: String,
    /// The project title.
    pub title: String,
    /// The chapter being written and the chapters in the plan, 1-based; `None` for a plan
    /// without chapters.
    pub chapter: Option<(usize, usize)>,
    /// The section being written, 1-based (0 before the plan, or while its chapter is being
    /// planned); within its chapter when there are chapters.
    pub section: usize,
    /// Sections in the plan, or in the chapter being written.
    pub sections: usize,
    /// Words written so far (journaled text included).
    pub words: usize,
    /// Words asked for.
    pub target: usize,
    /// Journal records (stream chunks) per second over the last seconds.
    pub tok_per_s: f64,
    /// Seconds left at the current pace, when there is a pace.
    pub eta_s: Option<u64>,
    /// `writing`, `stopped`, … as `longwriter list` says it.
    pub state: String,
}

/// The runs dashboard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Runs {
    /// Live runs, by id.
    pub rows: Vec<RunRow>,
    /// The selected row.
    pub selected: usize,
    /// The screen to go back to.
    pub back_to: Option<Screen>,
}

/// One `[profiles.NAME]` of the config file, as the profile picker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRow {
    /// The profile's name.
    pub name: String,
    /// `openai`, `ollama` or `local`.
    pub kind: String,
    /// Its URL, or the model file of a `local` one.
    pub place: String,
}

/// The whole studio state.
#[derive(Debug, Clone)]
pub struct State {
    /// The screen.
    pub screen: Screen,
    /// The overlay.
    pub overlay: Overlay,
    /// The pane keys scroll.
    pub focus: Focus,
    /// The prompt editor.
    pub prompt: TextArea<'static>,
    /// The target words field of the prompt screen.
    pub words: TextArea<'static>,
    /// The words field has focus on the prompt screen.
    pub words_focused: bool,
    /// "kind · model @ endpoint".
    pub backend: String,
    /// Generation settings for new jobs.
    pub settings: WriterSettings,
    /// The job being planned or written.
    pub job: Option<Job>,
    /// The document: plan, states and drafts, the one owner of every section's text
    /// (streamed text included). Replace it with `set_document`; section methods are in
    /// `tui::sections`.
    pub document: Option<Document>,
    /// Words and change counters per section, derived from `document`.
    pub sections: SectionCache,
    /// The plan as the model gave it, to tell hand edits from it (`None` for a plan read
    /// back from the store, whose origin is unknown).
    pub planned: Option<Plan>,
    /// The selected section in the tree.
    pub selected: usize,
    /// The section being written.
    pub current: Option<usize>,
    /// The stream pane.
    pub stream: StreamView,
    /// The job's state.
    pub job_state: JobState,
    /// Speed and time.
    pub stats: Stats,
    /// The last message for the status line.
    pub message: Option<(Level, String)>,
    /// Counts messages said, so that `update` can clear one the state has moved past.
    pub message_said: u64,
    /// The theme's name.
    pub theme_name: String,
    /// An active search.
    pub search: Option<Search>,
    /// Terminal size.
    pub size: (u16, u16),
    /// Set when the studio should exit.
    pub quit: bool,
    /// Prefix for default export file names.
    pub export_stem: String,
    /// The title exports carry: the project's, as edited in the export dialog.
    pub export_title: String,
    /// The author exports carry; empty for none.
    pub export_author: String,
    /// An export whose path and format are chosen while its title and author are asked.
    pub export_draft: Option<(PathBuf, ExportFormat)>,
    /// The id of the stored project this studio writes, once it has one.
    pub project: Option<String>,
    /// Set while following a project read-only (dashboard or hand-off): its id.
    pub following: Option<String>,
    /// A hand-off waits for the writer to stop.
    pub handoff_pending: bool,
    /// The runs dashboard.
    pub runs: Runs,
    /// Chapters folded in the plan tree.
    pub folded: std::collections::BTreeSet<usize>,
    /// The chapter heading selected in the tree instead of a section: a chapter without
    /// sections (no section can stand for it); ignored once it has some
    /// (`chapters::heading`).
    pub heading: Option<usize>,
    /// The config file's profiles, for the picker.
    pub profiles: Vec<ProfileRow>,
    /// The profile new jobs write with (first of its fallback chain); `None`: no profile.
    pub active_profile: Option<String>,
    /// A profile chosen in the picker whose backend is still connecting, and the header's
    /// label to restore should it fail.
    pub switching: Option<(String, String)>,
}

impl State {
    /// A fresh studio on the prompt screen.
    pub fn new(backend: String, settings: WriterSettings, theme: &str) -> Self {
        let mut prompt = TextArea::default();
        prompt.set_placeholder_text("Describe the text to write, e.g. \"A 20000-word history of the lighthouse keepers of Brittany\"");
        Self {
            screen: Screen::Prompt,
            overlay: Overlay::None,
            focus: Focus::Stream,
            prompt,
            words: TextArea::default(),
            words_focused: false,
            backend,
            settings,
            job: None,
            document: None,
            planned: None,
            sections: SectionCache::default(),
            selected: 0,
            current: None,
            stream: StreamView {
                follow: true,
                ..StreamView::default()
            },
            job_state: JobState::Idle,
            stats: Stats::default(),
            message: None,
            message_said: 0,
            theme_name: theme.to_string(),
            search: None,
            size: (0, 0),
            quit: false,
            export_stem: "longwriter-document".into(),
            export_title: "LongWriter document".into(),
            export_author: String::new(),
            export_draft: None,
            project: None,
            following: None,
            handoff_pending: false,
            runs: Runs::default(),
            folded: Default::default(),
            heading: None,
            profiles: Vec::new(),
            active_profile: None,
            switching: None,
        }
    }

    /// The prompt as typed, trimmed.
    pub fn prompt_text(&self) -> String {
        self.prompt.lines().join("\n").trim().to_string()
    }

    /// The target words field, checked: empty means the length the prompt asks for (or the
    /// default).
    pub fn target_words(&self) -> Result<usize, String> {
        let field = self
            .words
            .lines()
            .join("")
            .trim()
            .replace([',', '_', ' '], "");
        if field.is_empty() {
            return Ok(crate::text::target_length_or_default(&self.prompt_text()));
        }
        match field.parse::<crate::writer::TargetWords>() {
            Ok(n) => Ok(n.get()),
            Err(_) => Err(format!(
                "target words {field:?} is not a number between 1 and {}",
                super::MAX_WORDS
            )),
        }
    }

    /// Number of sections in the plan.
    pub fn section_count(&self) -> usize {
        self.document.as_ref().map_or(0, |d| d.plan.sections.len())
    }

    /// Sets the status line message. An error too long for the status line also opens the
    /// error dialog, so that it is read in full.
    pub fn say(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        let room = usize::from(self.size.0).saturating_sub(12);
        let long = room > 0 && text.chars().count() > room;
        if level == Level::Error && long && matches!(self.overlay, Overlay::None) {
            self.overlay = Overlay::Error(text.clone());
        }
        self.message = Some((level, text));
        self.message_said += 1;
    }

    /// The mode name shown at the left of the status line.
    pub fn mode(&self) -> &'static str {
        match (self.screen, &self.job_state) {
            (Screen::Prompt, _) => "PROMPT",
            (Screen::Planning, _) => "PLANNING",
            (Screen::Review, _) => "PLAN",
            (Screen::Dashboard, _) => "RUNS",
            (Screen::Writing, JobState::Running) if self.following.is_some() => "FOLLOWING",
            (Screen::Writing, JobState::Running) => "WRITING",
            (Screen::Writing, JobState::Pausing | JobState::Paused) => "PAUSED",
            (Screen::Writing, JobState::Stopping | JobState::Stopped) => "STOPPED",
            (Screen::Writing, JobState::Done) => "DONE",
            (Screen::Writing, JobState::Failed(_)) => "FAILED",
            (Screen::Writing, JobState::Idle) => "READY",
        }
    }

    /// Total target words.
    pub fn total_target(&self) -> usize {
        self.document.as_ref().map_or(0, |d| d.plan.total_target())
    }
}
