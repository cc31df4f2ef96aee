//! The studio: a full-screen terminal UI that drives the same `writer` as the CLI.
//!
//! A leaf: only `cli` imports it. Keys become `Action`s through the keymap (`keymap`), job and
//! terminal events become actions in the event loop (`app`), `update` changes the `State`
//! without I/O and returns `Effect`s that the loop's runner performs, and `view::draw` renders
//! the state with a `Theme` on a frame timer.

pub mod action;
mod app;
pub mod chapters;
pub mod effect;
pub mod fixtures;
pub mod keymap;
mod open;
mod record;
mod runner;
mod save;
pub mod sections;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod view;
mod watch;
pub mod wrap;

use crate::backend::Backend;
use crate::prompt::Prompts;
use crate::store::{BackendRecord, Project, Store};
use crate::writer::WriterSettings;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

pub use action::Action;
pub use app::translate;
pub use state::State;
pub use theme::Theme;

/// Largest total length accepted: the writer's bound, the same for flags and the studio.
pub use crate::writer::MAX_WORDS;

/// Errors that end the studio.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    /// Standard output is not a terminal.
    #[error("the studio needs a terminal: standard output is not one (use `longwriter write \"...\" -o out.md` in scripts and pipes)")]
    NotATerminal,
    /// The terminal could not be set up, drawn or restored.
    #[error("terminal error: {0}")]
    Terminal(std::io::Error),
}

/// How the studio ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The user quit (or SIGTERM asked).
    Normal,
    /// SIGHUP: the terminal is gone.
    HungUp,
    /// The terminal stopped delivering events (closed, or spinning).
    TerminalLost,
}

/// What the studio needs from the command line.
pub struct Studio {
    /// The connected backend.
    pub backend: Arc<dyn Backend>,
    /// Prompt templates.
    pub prompts: Arc<Prompts>,
    /// Generation settings for new jobs.
    pub settings: WriterSettings,
    /// Theme name (`--theme` or `[studio] theme`).
    pub theme: String,
    /// The config folder, for user themes.
    pub config_dir: Option<PathBuf>,
    /// Key overrides from `[keys]`.
    pub keys: BTreeMap<String, BTreeMap<String, String>>,
    /// Where crash reports go.
    pub data_dir: Option<PathBuf>,
    /// Values never to write into a crash report (the API key).
    pub secrets: Vec<String>,
    /// The project store: every document the studio writes is a project there.
    pub store: Store,
    /// How new projects record their backend (for `resume` and detached workers).
    pub record: BackendRecord,
    /// Starts a detached worker for a project (the CLI's `spawn_worker`); `None`: no hand-off.
    pub hand_off: Option<HandOff>,
    /// A saved project to open (`longwriter <project>`): its folder.
    pub open: Option<PathBuf>,
    /// The config file's profiles, for the picker (empty: the picker says there are none).
    pub profiles: Vec<state::ProfileRow>,
    /// The profile the studio started with, if it writes through profiles.
    pub profile: Option<String>,
    /// Connects a profile chosen in the picker; `None`: choosing one is refused.
    pub use_profile: Option<UseProfile>,
}

/// A profile's backend, connected for the next jobs.
pub struct ProfileBackend {
    /// The fallback chain that starts with the profile.
    pub backend: Arc<dyn Backend>,
    /// How new projects record it.
    pub record: BackendRecord,
    /// Generation settings for new jobs, with the profile's sampling defaults.
    pub settings: WriterSettings,
}

/// Connects the profile of this name (and its fallback list); returns why it cannot.
pub type UseProfile = Arc<
    dyn Fn(String) -> futures::future::BoxFuture<'static, Result<ProfileBackend, String>>
        + Send
        + Sync,
>;

/// The header's backend label: a fallback chain names its profile ("profile NAME: kind model
/// at endpoint"), any other backend "kind · model @ endpoint".
pub fn backend_label(backend: &dyn Backend) -> String {
    let serving = backend.serving();
    if serving.starts_with("profile ") {
        return serving;
    }
    let info = backend.info();
    format!("{} · {} @ {}", info.kind, info.model, info.endpoint)
}

/// Starts a detached worker that continues a project; returns its pid or why it failed.
pub type HandOff = Arc<dyn Fn(&Project) -> Result<u32, String> + Send + Sync>;

/// Opens the studio and runs it until the user quits.
pub async fn run(studio: Studio) -> Result<Exit, TuiError> {
    if !std::io::stdout().is_terminal() {
        return Err(TuiError::NotATerminal);
    }
    let (keymap, key_errors) = keymap::Keymap::load(&studio.keys);
    let (theme, theme_error) = Theme::load(
        &studio.theme,
        studio.config_dir.as_deref(),
        theme::ColorSupport::detect(),
    );
    let label = backend_label(studio.backend.as_ref());
    let mut state = State::new(label, studio.settings.clone(), &theme.name);
    state.profiles = studio.profiles.clone();
    state.active_profile = studio.profile.clone();
    let problems: Vec<String> = theme_error
        .iter()
        .map(ToString::to_string)
        .chain(key_errors.iter().map(ToString::to_string))
        .collect();
    if !problems.is_empty() {
        state.overlay = state::Overlay::Error(problems.join("\n"));
    }
    let first = match &studio.open {
        Some(dir) => open::open(&mut state, dir, studio.prompts.clone()).await,
        None => Vec::new(),
    };
    terminal::install_crash_reporter(studio.data_dir.clone(), studio.secrets.clone());
    app::run(studio, state, (theme, keymap), first).await
}
