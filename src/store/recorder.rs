//! Turns a job's events into store files: the plan into the manifest, every delta into the
//! journal, every finished section into its own file, every section summary into its file
//! beside the section's (a section started afresh loses its old summary).
//!
//! Runs as one task between the writer's event channel and whoever shows the events (it
//! forwards each event after recording it). Every delta is written to the journal as it arrives
//! (retried every 100 ms after a failure), fsynced every 500 ms and at every section end; the
//! saves that fsync run on tokio's blocking pool, off the runtime's workers. When a write fails
//! (disk full, read-only) the recorder closes the `PauseGate`, which pauses generation, keeps
//! the unsaved text in memory, retries every second, and opens the gate again once writing
//! works.

use super::gate::PauseGate;
use super::journal::{Journal, Recovered};
use super::manifest::JobState;
use super::project::Project;
use super::StoreError;
use crate::plan::SectionState;
use crate::writer::{JobEvent, Ledger, LedgerLine, Summary};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

/// How the recorder runs.
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    /// Closed while the store cannot write.
    pub gate: PauseGate,
    /// Where recorded events go next (the progress display), if anywhere.
    pub forward: Option<UnboundedSender<JobEvent>>,
    /// Once cancelled, the recorder stops retrying failed writes at the end of the job.
    pub give_up: CancellationToken,
}

/// Records one job into one project.
pub struct Recorder {
    project: Project,
    journal: Journal,
    /// The section in progress and its whole text as recorded (written or pending).
    current: Option<(usize, String)>,
    /// Text of a resumed section that the writer will replay as its first delta.
    replay: Option<String>,
    /// Finished sections whose files are not written yet.
    unsaved: BTreeMap<usize, String>,
    /// Summaries to write (`Some`) or remove (`None`, the section is written afresh).
    summaries: BTreeMap<usize, Option<Summary>>,
    manifest_dirty: bool,
    /// The journal still holds records of sections already saved in their files.
    journal_stale: bool,
    /// The last write error, while writes fail.
    failing: Option<String>,
    last_sync: Instant,
    last_retry: Instant,
    options: RecorderOptions,
}

const FLUSH_EVERY: Duration = Duration::from_millis(100);
const SYNC_EVERY: Duration = Duration::from_millis(500);
const RETRY_EVERY: Duration = Duration::from_secs(1);

impl Recorder {
    /// A recorder for `project`, whose journal was recovered as `journal` (call
    /// `Project::recover` first); marks the project `writing`. With `restart_section`, the
    /// section in progress starts over.
    pub fn new(
        mut project: Project,
        journal: &Recovered,
        restart_section: bool,
        options: RecorderOptions,
    ) -> Result<Self, StoreError> {
        // From the first token on, the project is being written: `list`, `show` and the
        // dashboard say so, not the state the last run (or a hand-off) left.
        if project.manifest.state != JobState::Writing || project.manifest.error.is_some() {
            project.manifest.state = JobState::Writing;
            project.manifest.error = None;
            project.save_manifest()?;
        }
        let path = project.journal_path();
        let mut j = Journal::open(&path).map_err(|e| StoreError::io(&path, e))?;
        let current = first_unfinished(&project).map(|i| (i, journal.text_of(i)));
        let current = match current {
            Some((i, text)) if !text.is_empty() && !restart_section => Some((i, text)),
            _ => {
                j.clear().map_err(|e| StoreError::io(&path, e))?;
                None
            }
        };
        let now = Instant::now();
        Ok(Self {
            project,
            journal: j,
            current,
            replay: None,
            unsaved: BTreeMap::new(),
            summaries: BTreeMap::new(),
            manifest_dirty: false,
            journal_stale: false,
            failing: None,
            last_sync: now,
            last_retry: now,
            options,
        })
    }

    /// Records events until the channel closes, then saves everything (retrying failed writes
    /// until they work or `give_up` fires) and returns the project. Every save, with its
    /// fsyncs, runs on tokio's blocking pool, never on a runtime worker; the next event waits in
    /// the channel meanwhile, so each is still forwarded only once it is recorded.
    pub async fn run(mut self, mut events: UnboundedReceiver<JobEvent>) -> Project {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let event = tokio::select! {
                event = events.recv() => match event {
                    Some(event) => Some(event),
                    None => break,
                },
                _ = tick.tick() => None,
            };
            match event {
                Some(event) => {
                    if self.handle(&event) {
                        self = self.persist_off_runtime(true).await;
                    }
                    self.forward(event);
                }
                None => {
                    if let Some(sync) = self.tick_due() {
                        self = self.persist_off_runtime(sync).await;
                    }
                }
            }
        }
        loop {
            self = self.persist_off_runtime(true).await;
            if self.failing.is_none() || self.options.give_up.is_cancelled() {
                break;
            }
            tokio::select! {
                _ = self.options.give_up.cancelled() => {}
                _ = tokio::time::sleep(RETRY_EVERY) => {}
            }
        }
        self.project
    }

    /// `persist` on the blocking pool: its writes end in fsyncs.
    async fn persist_off_runtime(self, sync: bool) -> Self {
        let mut recorder = self;
        let saving = tokio::task::spawn_blocking(move || {
            recorder.persist(sync);
            recorder
        });
        match saving.await {
            Ok(recorder) => recorder,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // A blocking task is cancelled only when the runtime shuts down, which drops this
            // task at its next await as well.
            Err(_) => std::future::pending().await,
        }
    }

    /// Whether the tick should save, and with an fsync; `None` while failed writes wait for
    /// their next retry.
    fn tick_due(&self) -> Option<bool> {
        if self.failing.is_some() && self.last_retry.elapsed() < RETRY_EVERY {
            return None;
        }
        Some(self.last_sync.elapsed() >= SYNC_EVERY)
    }

    /// Applies an event to the records in memory; `true` when it should be saved before it is
    /// forwarded.
    fn handle(&mut self, event: &JobEvent) -> bool {
        let mut save_now = false;
        match event {
            JobEvent::Started { backend, .. } => {
                self.project.manifest.backend.served_by = Some(backend.clone());
                self.manifest_dirty = true;
            }
            JobEvent::PlanReady { plan } | JobEvent::ChapterPlanned { plan, .. } => {
                self.project.manifest.plan = Some(plan.clone());
                self.project.manifest.state = JobState::Writing;
                self.project.manifest.ledger = Some(ledger_of(&self.project));
                self.manifest_dirty = true;
                save_now = true;
            }
            JobEvent::SectionStarted { index, .. } => {
                self.section_started(*index);
                save_now = true;
            }
            JobEvent::Delta { index, text } => self.delta(*index, text),
            JobEvent::SectionDone {
                index, text, words, ..
            } => {
                self.unsaved.insert(*index, text.clone());
                self.set_section_state(*index, SectionState::Done);
                if let Some(ledger) = self.project.manifest.ledger.as_mut() {
                    if let Some(line) = ledger.sections.get_mut(*index) {
                        line.written = *words;
                    }
                }
                self.project.manifest.ledger = Some(ledger_of(&self.project));
                self.current = None;
                save_now = true;
            }
            JobEvent::WrittenBy { index, backends } => {
                let by = &mut self.project.manifest.backend.written_by;
                by.insert((index + 1).to_string(), backends.clone());
                self.manifest_dirty = true;
            }
            JobEvent::Guarded { index, text, .. } => {
                // The bad tail never stays in the journal: it is rewritten with the kept text.
                self.current = Some((*index, text.clone()));
                self.replay = None;
                self.journal_stale = true;
                if let Some(ledger) = self.project.manifest.ledger.as_mut() {
                    if let Some(line) = ledger.sections.get_mut(*index) {
                        line.guarded += 1;
                    }
                    ledger.guarded = ledger.sections.iter().map(|l| l.guarded).sum();
                    self.manifest_dirty = true;
                }
                save_now = true;
            }
            JobEvent::Summarized { index, summary } => {
                self.summaries.insert(*index, Some(summary.clone()));
                save_now = true;
            }
            JobEvent::Failed { error } => {
                self.project.manifest.error = Some(error.clone());
                self.manifest_dirty = true;
                save_now = true;
            }
            JobEvent::Done { ledger } => {
                self.project.manifest.state = JobState::Done;
                self.project.manifest.error = None;
                self.project.manifest.ledger = Some(ledger.clone());
                self.manifest_dirty = true;
                save_now = true;
            }
            _ => {}
        }
        save_now && (self.failing.is_none() || self.last_retry.elapsed() >= RETRY_EVERY)
    }

    fn section_started(&mut self, index: usize) {
        self.set_section_state(index, SectionState::Writing);
        match &self.current {
            Some((i, text)) if *i == index && !text.is_empty() => {
                self.replay = Some(text.clone());
            }
            _ => {
                // The journal is cleared by the save that follows (off the runtime), after any
                // finished sections are in their files.
                self.summaries.insert(index, None);
                self.current = Some((index, String::new()));
                self.journal_stale = true;
            }
        }
    }

    fn delta(&mut self, index: usize, text: &str) {
        if let Some(replayed) = self.replay.take() {
            if replayed == text {
                return;
            }
        }
        match self.current.as_mut() {
            Some((i, so_far)) if *i == index => so_far.push_str(text),
            _ => self.current = Some((index, text.to_string())),
        }
        self.journal.push(index, text);
        // A write(2) per delta is cheap and makes `kill -9` lose only what is in flight; the
        // fsync stays on the 500 ms tick.
        if self.failing.is_none() {
            if let Err(e) = self.journal.flush() {
                self.fail(e.to_string());
            }
        }
    }

    fn set_section_state(&mut self, index: usize, state: SectionState) {
        if let Some(s) = self
            .project
            .manifest
            .plan
            .as_mut()
            .and_then(|p| p.sections.get_mut(index))
        {
            s.state = state;
        }
        if state == SectionState::Done {
            self.project.manifest.ledger = Some(ledger_of(&self.project));
        }
        self.manifest_dirty = true;
    }

    /// Writes everything unsaved, in an order that never loses text: journal, section files,
    /// manifest, then journal compaction.
    fn persist(&mut self, sync: bool) {
        self.last_retry = Instant::now();
        match self.try_persist(sync) {
            Ok(()) => {
                if sync {
                    self.last_sync = Instant::now();
                }
                if self.failing.take().is_some() {
                    self.options.gate.set_open(true);
                    self.forward(JobEvent::Warning {
                        message: "the store is writable again; generation resumes".into(),
                    });
                }
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    fn try_persist(&mut self, sync: bool) -> Result<(), StoreError> {
        let path = self.project.journal_path();
        let io = |e| StoreError::io(&path, e);
        if sync {
            self.journal.sync().map_err(io)?;
        } else {
            self.journal.flush().map_err(io)?;
        }
        while let Some((&index, text)) = self.unsaved.iter().next() {
            self.project.write_section(index, text)?;
            self.unsaved.remove(&index);
        }
        while let Some((&index, summary)) = self.summaries.iter().next() {
            self.project.write_summary(index, summary.as_ref())?;
            self.summaries.remove(&index);
        }
        if self.manifest_dirty {
            self.project.save_manifest()?;
            self.manifest_dirty = false;
        }
        if self.journal_stale {
            self.journal.clear().map_err(io)?;
            if let Some((i, text)) = self.current.as_ref().filter(|(_, t)| !t.is_empty()) {
                self.journal.push(*i, text);
                self.journal.sync().map_err(io)?;
            }
            self.journal_stale = false;
        }
        Ok(())
    }

    fn fail(&mut self, error: String) {
        if self.failing.is_none() {
            self.options.gate.set_open(false);
            self.forward(JobEvent::Warning {
                message: format!(
                    "cannot save to the store ({error}); generation is paused, the text is kept in memory, and writing is retried every second"
                ),
            });
        }
        self.failing = Some(error);
    }

    fn forward(&self, event: JobEvent) {
        if let Some(tx) = &self.options.forward {
            let _ = tx.send(event);
        }
    }
}

/// The first section not done, if the project has a plan.
fn first_unfinished(project: &Project) -> Option<usize> {
    project
        .manifest
        .plan
        .as_ref()?
        .sections
        .iter()
        .position(|s| !s.state.is_written())
}

/// The ledger from the plan and the finished sections' words.
fn ledger_of(project: &Project) -> Ledger {
    let old = project.manifest.ledger.as_ref();
    let Some(plan) = project.manifest.plan.as_ref() else {
        return Ledger::from_lines(Vec::new());
    };
    let sections: Vec<LedgerLine> = plan
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| LedgerLine {
            title: s.title.clone(),
            planned: s.target_words,
            written: old.and_then(|l| l.sections.get(i)).map_or(0, |l| l.written),
            state: s.state,
            chapter: plan.chapter_of(i),
            guarded: old.and_then(|l| l.sections.get(i)).map_or(0, |l| l.guarded),
        })
        .collect();
    Ledger::of_plan(plan, sections)
}
