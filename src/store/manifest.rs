//! `project.toml`: what was asked, how, the plan with section states, the word ledger and the
//! job's state. Never a secret (the API key's variable *name* at most) and never an absolute
//! path, so a project folder copied to another machine still opens.

use super::StoreError;
use crate::backend::BackendInfo;
use crate::plan::Plan;
use crate::text::Language;
use crate::writer::{Job, Ledger, WriterSettings};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The manifest format this build writes: 2 added chapters to the plan (`[[plan.chapters]]`)
/// and to the ledger.
pub const FORMAT_VERSION: u32 = 2;

/// The oldest manifest format this build still reads (1: flat plans, read as plans without
/// chapters and written back as 2).
pub const OLDEST_FORMAT_VERSION: u32 = 1;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Created; the plan is not there yet.
    New,
    /// A plan made and reviewed in the studio, not written yet: `longwriter <id>` reopens it
    /// for review, `resume` writes it.
    Draft,
    /// Planned or writing (or a writer died while it was: see the lock).
    Writing,
    /// Stopped by the user (Ctrl-C, `stop`, SIGHUP); `resume` continues.
    Stopped,
    /// Failed on an error; `resume` tries again.
    Failed,
    /// Every section is written.
    Done,
}

impl JobState {
    /// The word shown in listings.
    pub fn label(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Draft => "draft",
            Self::Writing => "writing",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
            Self::Done => "done",
        }
    }
}

/// How the backend was reached: enough for `resume` and detached workers to reconnect.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackendRecord {
    /// API root given on the command line or in the config, if any.
    pub base_url: Option<String>,
    /// Model asked for, if any.
    pub model: Option<String>,
    /// Name of the environment variable holding the API key (never the key).
    pub api_key_env: Option<String>,
    /// Whether the built-in engine writes the project (`model` is then its GGUF file), so that
    /// `resume` and detached workers use it too. Absent in older manifests: false.
    #[serde(default)]
    pub local: bool,
    /// What actually served, as reported by the backend.
    pub served_by: Option<BackendInfo>,
    /// The profile the project was started with (`--profile` or the config's), so that
    /// `resume` goes through the same profile and fallback chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Who wrote each section, by its number (1-based): each backend that sent part of its
    /// text, in order.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub written_by: std::collections::BTreeMap<String, Vec<String>>,
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version; a newer one is refused rather than misread.
    pub format_version: u32,
    /// Short, sortable, unique id (also the folder name).
    pub id: String,
    /// The title: derived from the instruction, or as set by `export --title` or the studio.
    pub title: String,
    /// The author exports name, once one is set (`export --author`, the studio's export).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The user's instruction.
    pub instruction: String,
    /// Requested total length.
    pub target_words: usize,
    /// Language of the instruction.
    pub language: Language,
    /// Where the job stands.
    pub state: JobState,
    /// The last error, for `failed` jobs.
    #[serde(default)]
    pub error: Option<String>,
    /// Creation time, seconds since the epoch.
    pub created: u64,
    /// Last change, seconds since the epoch.
    pub updated: u64,
    /// Generation settings.
    pub settings: WriterSettings,
    /// The backend.
    pub backend: BackendRecord,
    /// The plan with section states, once there is one.
    #[serde(default)]
    pub plan: Option<Plan>,
    /// Planned and written words per section.
    #[serde(default)]
    pub ledger: Option<Ledger>,
}

/// Only the version, read first so that a newer layout is refused with a clear message.
#[derive(Deserialize)]
struct VersionProbe {
    format_version: Option<u32>,
}

impl Manifest {
    /// Parses a manifest; `path` is for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let probe: VersionProbe = toml::from_str(text).map_err(|e| corrupt(e.to_string()))?;
        match probe.format_version {
            Some(OLDEST_FORMAT_VERSION..=FORMAT_VERSION) => {}
            Some(found) => {
                return Err(StoreError::Version {
                    path: path.to_path_buf(),
                    found,
                })
            }
            None => return Err(corrupt("no format_version".into())),
        }
        let mut manifest: Self = toml::from_str(text).map_err(|e| corrupt(e.to_string()))?;
        manifest.format_version = FORMAT_VERSION;
        Ok(manifest)
    }

    /// Reads a manifest file.
    pub fn load(path: &Path) -> Result<Self, StoreError> {
        let text = std::fs::read_to_string(path).map_err(|e| StoreError::io(path, e))?;
        Self::parse(&text, path)
    }

    /// The manifest as TOML.
    pub fn to_toml(&self) -> Result<String, StoreError> {
        toml::to_string(self).map_err(|e| StoreError::Encode(e.to_string()))
    }

    /// The job this project runs: what was asked, as it was checked when the project was made.
    pub fn job(&self) -> Job {
        Job {
            instruction: self.instruction.clone(),
            target_words: self.target_words,
            language: self.language,
            settings: self.settings.clone(),
        }
    }

    /// Words written, from the ledger.
    pub fn words_written(&self) -> usize {
        self.ledger.as_ref().map_or(0, |l| l.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Section, SectionState};

    pub(crate) fn sample() -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            id: "abc".into(),
            title: "A story".into(),
            author: None,
            instruction: "Write \"a story\"\nwith quotes".into(),
            target_words: 200,
            language: Language::English,
            state: JobState::Writing,
            error: None,
            created: 1,
            updated: 2,
            settings: WriterSettings::default(),
            backend: BackendRecord {
                base_url: Some("http://127.0.0.1:1/v1".into()),
                api_key_env: Some("KEY_VAR".into()),
                ..Default::default()
            },
            plan: Some(Plan {
                sections: vec![Section {
                    title: "One".into(),
                    main_point: "p".into(),
                    target_words: 200,
                    state: SectionState::Done,
                }],
                fallback: false,
                chapters: Vec::new(),
            }),
            ledger: None,
        }
    }

    #[test]
    fn round_trips_through_toml() {
        let m = sample();
        let text = m.to_toml().unwrap();
        assert_eq!(Manifest::parse(&text, Path::new("p.toml")).unwrap(), m);
        assert!(!text.contains("/tmp"), "no absolute paths");
    }

    #[test]
    fn newer_versions_and_garbage_are_refused_with_the_file_named() {
        let text = sample().to_toml().unwrap().replace(
            &format!("format_version = {FORMAT_VERSION}"),
            "format_version = 99",
        );
        let err = Manifest::parse(&text, Path::new("x/project.toml")).unwrap_err();
        assert!(err.to_string().contains("99"), "{err}");
        assert!(err.to_string().contains("x/project.toml"), "{err}");
        let err = Manifest::parse("not = [toml", Path::new("y/project.toml")).unwrap_err();
        assert!(err.to_string().contains("y/project.toml"), "{err}");
    }
}
