//! Writing through the store: each studio write run locks the project, brings the store in
//! line with the studio's document, then hands over to `store::record`, the recorded run that
//! `write` and `resume` use too (recorder between the writer's events and the studio, final
//! state, lock released), so a paused or stopped studio job is resumable by
//! `longwriter resume <id>`, by a detached worker, or by the studio again.

use crate::backend::Backend;
use crate::prompt::Prompts;
use crate::store::journal::{Journal, Record, Recovered};
use crate::store::{self, JobState, Project, ProjectLock, RunEnd, RunSpec, StoreError};
use crate::writer::{Document, Job, JobEvent, WriterError};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// One recorded write run.
pub struct RecordedWrite {
    /// The project's folder.
    pub dir: PathBuf,
    /// The job.
    pub job: Job,
    /// The document as the studio has it.
    pub document: Document,
    /// The connected backend.
    pub backend: Arc<dyn Backend>,
    /// Prompt templates.
    pub prompts: Arc<Prompts>,
    /// Where recorded events go (the studio's job channel).
    pub forward: UnboundedSender<JobEvent>,
    /// Stops the writer.
    pub cancel: CancellationToken,
    /// Fires when the studio leaves: stop retrying writes that fail.
    pub give_up: CancellationToken,
}

/// What a run ended with, for `Action::WriteFinished`.
pub struct Finished {
    /// The document as far as it got.
    pub document: Document,
    /// Why it stopped early.
    pub error: Option<String>,
    /// The user (or a hang-up) stopped it.
    pub cancelled: bool,
}

impl RecordedWrite {
    /// Runs the writer to its end, a stop or an error, recording everything.
    pub async fn run(self) -> Finished {
        let fallback = self.document.clone();
        match self.try_run().await {
            Ok(end) => Finished {
                cancelled: matches!(end.result, Err(WriterError::Cancelled)),
                error: match (end.result, end.saved) {
                    (Err(e), _) => Some(e.to_string()),
                    (Ok(()), Err(e)) => Some(format!("the store: {e}")),
                    (Ok(()), Ok(())) => None,
                },
                document: end.document.unwrap_or(fallback),
            },
            Err(e) => Finished {
                document: fallback,
                error: Some(format!("the store: {e}")),
                cancelled: false,
            },
        }
    }

    async fn try_run(self) -> Result<RunEnd, StoreError> {
        let dir = self.dir.clone();
        // Locking and syncing write and fsync files: on the blocking pool, in the same order.
        let (project, lock, journal, document) = store::off_runtime(&self.dir, move || {
            let mut project = Project::open(&dir)?;
            let lock = ProjectLock::acquire(&dir, project.id())?;
            let journal = sync_store(&mut project, &self.document)?;
            Ok::<_, StoreError>((project, lock, journal, self.document))
        })
        .await??;
        let spec = RunSpec {
            backend: self.backend,
            prompts: self.prompts,
            job: self.job,
            document: Some(document),
            restart_section: false,
            forward: self.forward,
            cancel: self.cancel,
            give_up: self.give_up,
        };
        store::record(project, lock, journal, spec).await
    }
}

/// Makes the store hold the studio's document for a run: `sync_document` with the state
/// `writing`.
fn sync_store(project: &mut Project, document: &Document) -> Result<Recovered, StoreError> {
    sync_document(project, document, JobState::Writing)
}

/// Makes the store hold the studio's document (the studio may have edited the plan, a
/// section's text, or cleared a section to rewrite it): the plan and states into the manifest,
/// written sections into their files (only those that changed), the section in progress into
/// the journal, and `state` as the job's state. Returns the journal as the recorder should
/// take it. Every file is replaced atomically: section files first, the manifest last.
pub(super) fn sync_document(
    project: &mut Project,
    document: &Document,
    state: JobState,
) -> Result<Recovered, StoreError> {
    let on_disk = project.recover()?;
    let mut in_progress = None;
    for (i, section) in document.plan.sections.iter().enumerate() {
        let text = document.drafts.get(i).map(|d| d.text()).unwrap_or_default();
        if section.state.is_written() {
            if project.read_section(i).as_deref() != Some(text.as_str()) {
                project.write_section(i, &text)?;
            }
            continue;
        }
        let path = project.section_path(i);
        if path.exists() {
            std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
        }
        if in_progress.is_none() {
            in_progress = Some((i, text));
        }
    }
    let wanted = match in_progress {
        Some((s, t)) if !t.is_empty() => Recovered {
            records: vec![Record { s, t }],
            cut_bytes: 0,
        },
        _ => Recovered::default(),
    };
    let same = match wanted.records.first() {
        Some(r) => on_disk.text_of(r.s) == r.t,
        None => on_disk.records.is_empty(),
    };
    if !same {
        let path = project.journal_path();
        let io = |e| StoreError::io(&path, e);
        let mut journal = Journal::open(&path).map_err(io)?;
        journal.clear().map_err(io)?;
        for r in &wanted.records {
            journal.push(r.s, &r.t);
        }
        journal.sync().map_err(io)?;
    }
    let m = &mut project.manifest;
    m.plan = Some(document.plan.clone());
    let mut ledger = document.ledger();
    // Like the recorder's ledger: only written sections count; the journal holds the rest.
    for line in &mut ledger.sections {
        if !line.state.is_written() {
            line.written = 0;
        }
    }
    ledger.written = ledger.sections.iter().map(|l| l.written).sum();
    m.ledger = Some(ledger);
    m.state = state;
    m.error = None;
    project.save_manifest()?;
    Ok(wanted)
}
