//! On-disk projects: the store is the source of truth for every document.
//!
//! A project is a folder under the data directory (`LONGWRITER_DATA` overrides it) named by its
//! id: `project.toml` (the manifest), `sections/NNN.txt` (one plain text file per finished
//! section), `journal.log` (the append-only journal of the section being written), `lock` (the
//! writer's pid and host) and, for detached runs, `worker.log`. Writes replace files
//! atomically; the journal's records carry a length and a checksum. The `recorder` turns a
//! job's events into these files; `run` is the one recorded run that `write`, `resume`, the
//! detached worker and the studio share; `follow` reads the files back live for `attach` and the
//! studio.
//! Nothing here knows the terminal or a concrete backend.

mod follow;
mod fsio;
mod gate;
pub mod journal;
pub mod lock;
mod manifest;
mod project;
mod recorder;
mod run;

pub use follow::{follow, Follower, Snapshot};
pub use fsio::{format_time, now_secs, write_atomic};
pub use gate::{GatedBackend, PauseGate};
pub use lock::{Holder, ProjectLock};
pub use manifest::{BackendRecord, JobState, Manifest, FORMAT_VERSION, OLDEST_FORMAT_VERSION};
pub use project::{display_state, title_of, NewProject, Project, ProjectSummary, Store};
pub use recorder::{Recorder, RecorderOptions};
pub use run::{off_runtime, record, RunEnd, RunSpec};

use std::path::{Path, PathBuf};

/// Everything that can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or folder could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS's words.
        source: std::io::Error,
    },
    /// The manifest is not readable as a manifest.
    #[error("{path} is damaged ({reason}); the finished sections are still plain text files in the sections/ folder beside it")]
    Corrupt {
        /// The manifest file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The manifest was written by a newer longwriter.
    #[error("{path} has format version {found}, but this longwriter reads versions {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}; open it with a newer longwriter")]
    Version {
        /// The manifest file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// Another process writes this project.
    #[error("project {project} is being written by {holder}; follow it with `longwriter attach {project}` or end it with `longwriter stop {project}`")]
    Locked {
        /// The project id.
        project: String,
        /// Who holds the lock.
        holder: String,
    },
    /// No project has this id, id prefix or title.
    #[error("no project matches {0:?}; `longwriter list` shows the projects")]
    NotFound(String),
    /// Several projects match.
    #[error("{name:?} matches several projects ({matches}); give more of the id")]
    Ambiguous {
        /// What the user typed.
        name: String,
        /// The matching ids.
        matches: String,
    },
    /// The data folder cannot hold projects (it is a file, or it is read-only).
    #[error("the data folder {path} cannot be used: {reason}. Make it a writable folder, or set LONGWRITER_DATA to one")]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No data directory could be determined.
    #[error("no data directory could be found for this user; set LONGWRITER_DATA to a folder")]
    NoDataDir,
    /// The manifest could not be encoded (a bug).
    #[error("cannot encode the manifest: {0}")]
    Encode(String),
    /// A prompt could not be rendered while rebuilding the conversation.
    #[error("cannot rebuild the conversation: {0}")]
    Prompt(String),
    /// The recorder's task died (a bug); what it wrote before stays in the store.
    #[error("the store recorder failed: {0}")]
    Recorder(String),
}

impl StoreError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The data directory: `LONGWRITER_DATA`, else the platform's (e.g. `~/.local/share/longwriter`).
pub fn data_dir() -> Result<PathBuf, StoreError> {
    if let Some(dir) = std::env::var_os("LONGWRITER_DATA").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "longwriter")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or(StoreError::NoDataDir)
}
