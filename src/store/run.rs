//! One recorded run: the sequence every writing path shares (`write`, `resume`, the detached
//! worker, the studio, and next batches and fallback between backends). With the project
//! locked and its journal recovered by the caller, it closes the disk-full gate around the
//! backend, starts the `Recorder` between the writer's events and whoever shows them, plans
//! when the document has no plan yet, writes to the end, a stop or an error, waits until every
//! event is recorded, sets the job's final state in the manifest and releases the lock.
//!
//! Callers keep what differs: how the project is found and locked, how its journal is brought
//! in line (the CLI recovers it, the studio first writes its own document into the store), and
//! how the outcome is shown (an exit code, or an action for the studio).

use super::gate::{GatedBackend, PauseGate};
use super::journal::Recovered;
use super::lock::ProjectLock;
use super::manifest::JobState;
use super::project::Project;
use super::recorder::{Recorder, RecorderOptions};
use super::StoreError;
use crate::backend::Backend;
use crate::prompt::Prompts;
use crate::writer::{Document, Job, JobEvent, Writer, WriterError};
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio_util::sync::CancellationToken;

/// What one recorded run needs besides the locked project.
pub struct RunSpec {
    /// The connected backend (the run puts the store's pause gate in front of it).
    pub backend: Arc<dyn Backend>,
    /// Prompt templates.
    pub prompts: Arc<Prompts>,
    /// The job.
    pub job: Job,
    /// The document to continue; `None`: ask for a plan first.
    pub document: Option<Document>,
    /// Start the section in progress over instead of continuing its journal text.
    pub restart_section: bool,
    /// Where events go once recorded (a progress display, the studio).
    pub forward: UnboundedSender<JobEvent>,
    /// Stops the writer.
    pub cancel: CancellationToken,
    /// Once cancelled, stop retrying store writes that fail after the writer ended.
    pub give_up: CancellationToken,
}

/// How a recorded run ended.
#[derive(Debug)]
pub struct RunEnd {
    /// The document as far as it got; `None` when planning failed.
    pub document: Option<Document>,
    /// `Ok` when every section is done.
    pub result: Result<(), WriterError>,
    /// Whether the final state reached the manifest (the text is in the store either way,
    /// unless the recorder reported otherwise).
    pub saved: Result<(), StoreError>,
}

/// Runs `spec` against `project`, which the caller has locked (`lock`) and whose journal is
/// `journal` as the recorder should take it. Errors: the recorder could not start (nothing was
/// generated), or its task died (what it had written so far stays in the store).
pub async fn record(
    project: Project,
    lock: ProjectLock,
    journal: Recovered,
    spec: RunSpec,
) -> Result<RunEnd, StoreError> {
    let dir = project.dir().to_path_buf();
    let gate = PauseGate::new();
    let backend: Arc<dyn Backend> = Arc::new(GatedBackend::new(spec.backend, gate.clone()));
    let options = RecorderOptions {
        gate,
        forward: Some(spec.forward),
        give_up: spec.give_up,
    };
    let restart = spec.restart_section;
    let recorder = off_runtime(&dir, move || {
        Recorder::new(project, &journal, restart, options)
    })
    .await??;
    let (tx, rx) = unbounded_channel();
    let recording = tokio::spawn(recorder.run(rx));
    let writer = Writer::new(backend, spec.prompts, tx, spec.cancel);
    let (document, result) = write_all(&writer, &spec.job, spec.document).await;
    // The recorder ends when the last sender of its channel, the writer's, is gone.
    drop(writer);
    let mut project = recording
        .await
        .map_err(|e| StoreError::Recorder(format!("{}: {e}", dir.display())))?;
    set_final_state(&mut project, &result);
    let saved = off_runtime(&dir, move || project.save_manifest()).await?;
    drop(lock);
    Ok(RunEnd {
        document,
        result,
        saved,
    })
}

/// Runs `work` (file writes that end in fsyncs) on the blocking pool, off the runtime's
/// worker threads. Errors: the blocking task panicked or was cancelled.
pub async fn off_runtime<T: Send + 'static>(
    dir: &std::path::Path,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Recorder(format!("{}: {e}", dir.display())))
}

/// Plans when there is no document yet, then writes every section that is not done.
async fn write_all(
    writer: &Writer,
    job: &Job,
    document: Option<Document>,
) -> (Option<Document>, Result<(), WriterError>) {
    let document = match document {
        Some(d) => d,
        None => match writer.plan(job).await {
            Ok(plan) => Document::new(
                job.instruction.clone(),
                job.target_words,
                job.language,
                plan,
            ),
            Err(e) => return (None, Err(e)),
        },
    };
    let outcome = writer.write(job, document).await;
    (Some(outcome.document), outcome.result)
}

/// The job's state after a run: done, stopped (resumable), or failed with the reason.
fn set_final_state(project: &mut Project, result: &Result<(), WriterError>) {
    let m = &mut project.manifest;
    match result {
        Ok(()) => m.state = JobState::Done,
        Err(WriterError::Cancelled) => m.state = JobState::Stopped,
        Err(e) => {
            m.state = JobState::Failed;
            m.error = Some(e.to_string());
        }
    }
}
