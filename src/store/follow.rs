//! Following a project read-only while another process writes it: `attach`, and the studio's
//! dashboard, poll the manifest and the journal and get a `Snapshot` whenever either changed.
//!
//! Polling (every 50 ms by default) rather than inotify keeps it portable and works on network
//! file systems; the writer flushes the journal every 100 ms, so a token shows up within about
//! 150 ms. Any number of followers can read at once; none takes the lock.

use super::journal::decode;
use super::lock::live_holder;
use super::manifest::Manifest;
use super::project::Project;
use futures::Stream;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What a follower sees at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The manifest as last read successfully.
    pub manifest: Option<Arc<Manifest>>,
    /// Why the manifest could not be read, if it could not.
    pub error: Option<String>,
    /// Finished sections' texts, by index (`None` while not finished).
    pub sections: Vec<Option<Arc<str>>>,
    /// The section in progress and its journaled text.
    pub current: Option<(usize, String)>,
    /// Whether a live process holds the project's lock.
    pub live: bool,
    /// Journal records read since following began (one per streamed chunk), for rates.
    pub records: u64,
}

/// Polls one project folder.
#[derive(Debug)]
pub struct Follower {
    dir: PathBuf,
    manifest_stamp: Option<(u64, i64, i64, u64)>,
    journal_ino: Option<u64>,
    offset: u64,
    leftover: Vec<u8>,
    snapshot: Snapshot,
}

impl Follower {
    /// A follower of the project in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            manifest_stamp: None,
            journal_ino: None,
            offset: 0,
            leftover: Vec::new(),
            snapshot: Snapshot {
                manifest: None,
                error: None,
                sections: Vec::new(),
                current: None,
                live: false,
                records: 0,
            },
        }
    }

    /// Reads what changed; returns a snapshot when anything did.
    pub fn poll(&mut self) -> Option<Snapshot> {
        // The lock first: files read after seeing it released are final.
        let live = live_holder(&self.dir).is_some();
        let mut changed = live != self.snapshot.live;
        changed |= self.poll_manifest();
        changed |= self.poll_journal();
        self.snapshot.live = live;
        changed.then(|| self.snapshot.clone())
    }

    fn poll_manifest(&mut self) -> bool {
        let path = self.dir.join("project.toml");
        let Ok(meta) = std::fs::metadata(&path) else {
            return false;
        };
        let stamp = (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.len());
        if self.manifest_stamp == Some(stamp) {
            return false;
        }
        self.manifest_stamp = Some(stamp);
        match Project::open(&self.dir) {
            Ok(project) => {
                self.load_sections(&project);
                self.snapshot.manifest = Some(Arc::new(project.manifest));
                self.snapshot.error = None;
            }
            Err(e) => self.snapshot.error = Some(e.to_string()),
        }
        true
    }

    fn load_sections(&mut self, project: &Project) {
        let Some(plan) = &project.manifest.plan else {
            return;
        };
        let sections = &mut self.snapshot.sections;
        sections.resize(plan.sections.len(), None);
        for (i, s) in plan.sections.iter().enumerate() {
            if s.state.is_written() && sections[i].is_none() {
                sections[i] = project.read_section(i).map(Arc::from);
            } else if !s.state.is_written() {
                sections[i] = None;
            }
        }
    }

    fn poll_journal(&mut self) -> bool {
        let path = self.dir.join("journal.log");
        let Ok(mut file) = std::fs::File::open(&path) else {
            return false;
        };
        let Ok(meta) = file.metadata() else {
            return false;
        };
        let mut changed = false;
        if self.journal_ino != Some(meta.ino()) || meta.len() < self.offset {
            // Replaced (a section ended or restarted): read it from the start.
            self.journal_ino = Some(meta.ino());
            self.offset = 0;
            self.leftover.clear();
            changed = self.snapshot.current.take().is_some();
        }
        if meta.len() == self.offset {
            return changed;
        }
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(self.offset)).is_err() || file.read_to_end(&mut bytes).is_err()
        {
            return changed;
        }
        self.offset += bytes.len() as u64;
        self.leftover.extend_from_slice(&bytes);
        let (records, used) = decode(&self.leftover);
        self.leftover.drain(..used);
        for record in records {
            self.snapshot.records += 1;
            match self.snapshot.current.as_mut() {
                Some((i, text)) if *i == record.s => text.push_str(&record.t),
                _ => self.snapshot.current = Some((record.s, record.t)),
            }
            changed = true;
        }
        changed
    }
}

/// Snapshots of the project in `dir`, one whenever something changed, polled every `every`.
/// The stream ends after the first snapshot in which no live writer holds the project (the job
/// ended, was stopped, or its process died).
pub fn follow(dir: PathBuf, every: Duration) -> impl Stream<Item = Snapshot> {
    let follower = Follower::new(&dir);
    futures::stream::unfold((follower, false), move |(mut f, ended)| async move {
        if ended {
            return None;
        }
        loop {
            if let Some(snapshot) = f.poll() {
                let ended = !snapshot.live;
                return Some((snapshot, (f, ended)));
            }
            tokio::time::sleep(every).await;
        }
    })
}
