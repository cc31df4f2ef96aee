//! The store folder and one project in it: creating, finding by id, id prefix or title,
//! listing, and reading a project back into a `Document` the writer can resume.

use super::fsio::{now_secs, write_atomic};
use super::journal::{self, Recovered};
use super::lock::{live_holder, Holder};
use super::manifest::{BackendRecord, JobState, Manifest, FORMAT_VERSION};
use super::StoreError;
use crate::plan::SectionState;
use crate::prompt::Prompts;
use crate::text::Language;
use crate::writer::{self, Document, Summary, WriterSettings};
use std::path::{Path, PathBuf};

const MANIFEST: &str = "project.toml";
const SECTIONS: &str = "sections";
const JOURNAL: &str = "journal.log";

/// The folder that holds every project.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// What a new project starts from.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// The instruction.
    pub instruction: String,
    /// Requested total length.
    pub target_words: usize,
    /// Language of the instruction.
    pub language: Language,
    /// Generation settings.
    pub settings: WriterSettings,
    /// How to reach the backend.
    pub backend: BackendRecord,
}

/// One line of `list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProjectSummary {
    /// The id.
    pub id: String,
    /// The title.
    pub title: String,
    /// `writing`, `interrupted` (a writer died), `stopped`, `failed`, `done`, `new`, or
    /// `damaged` (unreadable manifest).
    pub state: String,
    /// Words written.
    pub words: usize,
    /// Words asked for.
    pub target_words: usize,
    /// Last change, seconds since the epoch.
    pub updated: u64,
    /// The pid of a live writer.
    pub pid: Option<u32>,
    /// Why the project is damaged, if it is.
    pub error: Option<String>,
}

impl Store {
    /// The store at `root` (created on first write).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The store in the data directory.
    pub fn open_default() -> Result<Self, StoreError> {
        Ok(Self::at(super::data_dir()?))
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates a project folder with its first manifest.
    pub fn create(&self, new: NewProject) -> Result<Project, StoreError> {
        std::fs::create_dir_all(&self.root).map_err(|e| self.unusable(e))?;
        let (id, dir) = self.new_folder()?;
        let now = now_secs();
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            title: title_of(&new.instruction),
            author: None,
            id,
            instruction: new.instruction,
            target_words: new.target_words,
            language: new.language,
            state: JobState::New,
            error: None,
            created: now,
            updated: now,
            settings: new.settings,
            backend: new.backend,
            plan: None,
            ledger: None,
        };
        let mut project = Project { dir, manifest };
        project.save_manifest()?;
        super::fsio::sync_dir(&self.root).map_err(|e| StoreError::io(&self.root, e))?;
        Ok(project)
    }

    /// The store's folder could not be made or written to: a setup problem, not a failed job.
    fn unusable(&self, e: std::io::Error) -> StoreError {
        let reason = if self.root.exists() && !self.root.is_dir() {
            "it is a file, not a folder".to_string()
        } else {
            e.to_string()
        };
        StoreError::DataDir {
            path: self.root.clone(),
            reason,
        }
    }

    fn new_folder(&self) -> Result<(String, PathBuf), StoreError> {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut salt = u64::from(std::process::id()) ^ u64::from(now_nanos());
        for _ in 0..64 {
            let id = format!("{}{}", base36(millis, 8), base36(salt % 1296, 2));
            let dir = self.root.join(&id);
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    let sections = dir.join(SECTIONS);
                    std::fs::create_dir(&sections).map_err(|e| StoreError::io(&sections, e))?;
                    return Ok((id, dir));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => salt += 7,
                Err(e) => return Err(self.unusable(e)),
            }
        }
        Err(StoreError::io(
            &self.root,
            std::io::Error::other("no free project id"),
        ))
    }

    /// Project folders, sorted by id (that is, by creation time).
    fn folders(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join(MANIFEST).exists())
            .collect();
        dirs.sort();
        dirs
    }

    /// Every project, oldest first; damaged ones are listed as such.
    pub fn list(&self) -> Vec<ProjectSummary> {
        self.folders().iter().map(|d| summarize(d)).collect()
    }

    /// The folder of the project named by `name`: an id, a unique id prefix, or a title
    /// (case-insensitive).
    pub fn find(&self, name: &str) -> Result<PathBuf, StoreError> {
        let folders = self.folders();
        let id_of = |d: &PathBuf| {
            d.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        if let Some(d) = folders.iter().find(|d| id_of(d) == name) {
            return Ok(d.clone());
        }
        let mut matches: Vec<&PathBuf> = folders
            .iter()
            .filter(|d| !name.is_empty() && id_of(d).starts_with(name))
            .collect();
        if matches.is_empty() {
            let wanted = name.trim().to_lowercase();
            matches = folders
                .iter()
                .filter(|d| {
                    Manifest::load(&d.join(MANIFEST))
                        .is_ok_and(|m| m.title.to_lowercase() == wanted)
                })
                .collect();
        }
        match matches.as_slice() {
            [] => Err(StoreError::NotFound(name.to_string())),
            [one] => Ok((*one).clone()),
            many => Err(StoreError::Ambiguous {
                name: name.to_string(),
                matches: many.iter().map(|d| id_of(d)).collect::<Vec<_>>().join(", "),
            }),
        }
    }
}

fn summarize(dir: &Path) -> ProjectSummary {
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let holder = live_holder(dir);
    match Manifest::load(&dir.join(MANIFEST)) {
        Ok(m) => ProjectSummary {
            state: display_state(m.state, holder.as_ref()).into(),
            words: m.words_written() + words_in_progress(dir, &m),
            target_words: m.target_words,
            updated: m.updated,
            pid: holder.map(|h| h.pid),
            title: m.title,
            id: m.id,
            error: m.error,
        },
        Err(e) => ProjectSummary {
            id,
            title: String::new(),
            state: "damaged".into(),
            words: 0,
            target_words: 0,
            updated: 0,
            pid: holder.map(|h| h.pid),
            error: Some(e.to_string()),
        },
    }
}

/// Words journaled for the first unfinished section.
fn words_in_progress(dir: &Path, m: &Manifest) -> usize {
    let Some(i) = m
        .plan
        .as_ref()
        .and_then(|p| p.sections.iter().position(|s| !s.state.is_written()))
    else {
        return 0;
    };
    journal::read(&dir.join(JOURNAL)).map_or(0, |j| crate::text::count_words(&j.text_of(i)))
}

/// The state to show: a live writer means `writing`, whatever the manifest still says from
/// the run before (a worker taking over a stopped job has the lock before its first save);
/// a `writing` job without a live writer was interrupted.
pub fn display_state(state: JobState, holder: Option<&Holder>) -> &'static str {
    match (state, holder) {
        (_, Some(_)) => "writing",
        (JobState::New | JobState::Writing, None) => "interrupted",
        (s, _) => s.label(),
    }
}

/// A title from the instruction: its first line, at most about 60 characters, cut at a word.
pub fn title_of(instruction: &str) -> String {
    let line = instruction
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let mut title = String::new();
    for word in line.split_whitespace() {
        if !title.is_empty() && title.chars().count() + word.chars().count() >= 60 {
            title.push('…');
            break;
        }
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(word);
    }
    let trimmed = title.trim_end_matches(['.', ',', ':', ';']);
    if trimmed.is_empty() {
        "untitled".into()
    } else {
        trimmed.to_string()
    }
}

fn now_nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

fn base36(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One project: its folder and manifest.
#[derive(Debug, Clone)]
pub struct Project {
    dir: PathBuf,
    /// The manifest as last read or saved.
    pub manifest: Manifest,
}

impl Project {
    /// Opens the project in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let manifest = Manifest::load(&dir.join(MANIFEST))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// The project's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The project's id.
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// Path of the manifest.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join(MANIFEST)
    }

    /// Path of the journal.
    pub fn journal_path(&self) -> PathBuf {
        self.dir.join(JOURNAL)
    }

    /// Path of a finished section's text file.
    pub fn section_path(&self, index: usize) -> PathBuf {
        section_path(&self.dir, index)
    }

    /// Path of a detached worker's log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("worker.log")
    }

    /// Saves the manifest atomically, stamping `updated`.
    pub fn save_manifest(&mut self) -> Result<(), StoreError> {
        self.manifest.updated = now_secs();
        let text = self.manifest.to_toml()?;
        let path = self.manifest_path();
        write_atomic(&path, text.as_bytes()).map_err(|e| StoreError::io(&path, e))
    }

    /// Saves a finished section's text atomically.
    pub fn write_section(&self, index: usize, text: &str) -> Result<(), StoreError> {
        let path = self.section_path(index);
        let dir = self.dir.join(SECTIONS);
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        write_atomic(&path, format!("{text}\n").as_bytes()).map_err(|e| StoreError::io(&path, e))
    }

    /// A finished section's text, if its file exists.
    pub fn read_section(&self, index: usize) -> Option<String> {
        read_section(&self.dir, index)
    }

    /// Path of a section's summary for the rolling memory (`sections/NNN.summary.json`): it
    /// is never exported.
    pub fn summary_path(&self, index: usize) -> PathBuf {
        self.dir
            .join(SECTIONS)
            .join(format!("{:03}.summary.json", index + 1))
    }

    /// Saves a section's summary atomically, or removes it (`None`).
    pub fn write_summary(&self, index: usize, summary: Option<&Summary>) -> Result<(), StoreError> {
        let path = self.summary_path(index);
        let Some(summary) = summary else {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io(&path, e)),
                _ => Ok(()),
            };
        };
        let dir = self.dir.join(SECTIONS);
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let json = serde_json::to_string_pretty(summary).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&path, json.as_bytes()).map_err(|e| StoreError::io(&path, e))
    }

    /// A section's summary, if saved and readable (an unreadable one is made again).
    pub fn read_summary(&self, index: usize) -> Option<Summary> {
        let text = std::fs::read_to_string(self.summary_path(index)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The journal as it is now, read without changing it.
    pub fn read_journal(&self) -> Result<Recovered, StoreError> {
        let path = self.journal_path();
        journal::read(&path).map_err(|e| StoreError::io(&path, e))
    }

    /// Recovers after a crash: cuts a torn journal tail, and marks done every section whose
    /// file was saved before the manifest caught up. Returns the journal's contents.
    pub fn recover(&mut self) -> Result<Recovered, StoreError> {
        let path = self.journal_path();
        let recovered = journal::recover(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut promoted = false;
        if let Some(plan) = self.manifest.plan.as_mut() {
            for (i, s) in plan.sections.iter_mut().enumerate() {
                if !s.state.is_written() && section_path(&self.dir, i).exists() {
                    s.state = SectionState::Done;
                    promoted = true;
                }
            }
        }
        if promoted {
            self.save_manifest()?;
        }
        Ok(recovered)
    }

    /// The document as far as the store holds it: finished sections from their files, the
    /// section in progress from the journal (unless `restart_section`), each rebuilt as the
    /// conversation the writer continues. `None` before there is a plan.
    pub fn document(
        &self,
        prompts: &Prompts,
        journal: &Recovered,
        restart_section: bool,
    ) -> Result<Option<Document>, StoreError> {
        let m = &self.manifest;
        let Some(plan) = m.plan.clone() else {
            return Ok(None);
        };
        let mut doc = Document::new(m.instruction.clone(), m.target_words, m.language, plan);
        doc.backend = m.backend.served_by.clone();
        let mut current = None;
        for i in 0..doc.plan.sections.len() {
            let text = if doc.plan.sections[i].state.is_written() {
                self.read_section(i).unwrap_or_default()
            } else if current.is_none() {
                current = Some(i);
                if restart_section {
                    String::new()
                } else {
                    journal.text_of(i)
                }
            } else {
                String::new()
            };
            if text.is_empty() {
                if doc.plan.sections[i].state.is_written() {
                    doc.plan.sections[i].state = SectionState::Planned;
                }
                continue;
            }
            doc.drafts[i] = writer::restore_draft(prompts, &doc, i, text)
                .map_err(|e| StoreError::Prompt(e.to_string()))?;
            if doc.plan.sections[i].state == SectionState::Done {
                doc.memory.summaries[i] = self.read_summary(i);
            }
        }
        // Incidents counted in earlier runs stay in the ledger.
        if let Some(ledger) = &m.ledger {
            doc.guarded = ledger.sections.iter().map(|l| l.guarded).collect();
        }
        Ok(Some(doc))
    }
}

fn section_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(SECTIONS).join(format!("{:03}.txt", index + 1))
}

fn read_section(dir: &Path, index: usize) -> Option<String> {
    let text = std::fs::read_to_string(section_path(dir, index)).ok()?;
    Some(text.strip_suffix('\n').unwrap_or(&text).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_short_and_ids_sort() {
        assert_eq!(title_of("Write a story.\nMore"), "Write a story");
        assert!(title_of(&"word ".repeat(40)).chars().count() <= 61);
        assert_eq!(title_of("  "), "untitled");
        assert_eq!(base36(35, 2), "0z");
        assert!(base36(1_700_000_000_000, 8) < base36(1_800_000_000_000, 8));
    }
}
