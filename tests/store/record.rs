//! One recorded run (`store::record`) without the binary: the in-process scripted backend, a
//! project in a temporary store, tokio's paused clock. What the CLI and the studio share:
//! the journal and section files, the final state in the manifest, the lock released.

use crate::support::backend::ScriptedBackend;
use crate::support::prose::{agentwrite_plan, prose};
use crate::support::scripted::Reply;
use longwriter::prompt::Prompts;
use longwriter::store::{
    self, lock::live_holder, BackendRecord, JobState, NewProject, Project, ProjectLock, RunSpec,
    Store,
};
use longwriter::writer::{Job, JobEvent, TargetWords, WriterError, WriterSettings};
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio_util::sync::CancellationToken;

fn new_project(dir: &std::path::Path, job: &Job) -> Project {
    Store::at(dir)
        .create(NewProject {
            instruction: job.instruction.clone(),
            target_words: job.target_words,
            language: job.language,
            settings: job.settings.clone(),
            backend: BackendRecord::default(),
        })
        .expect("a new project")
}

fn spec(
    backend: &ScriptedBackend,
    job: Job,
    cancel: CancellationToken,
) -> (RunSpec, UnboundedReceiver<JobEvent>) {
    let (forward, rx) = unbounded_channel();
    let spec = RunSpec {
        backend: Arc::new(backend.clone()),
        prompts: Arc::new(Prompts::builtin()),
        job,
        document: None,
        restart_section: false,
        forward,
        cancel,
        give_up: CancellationToken::new(),
    };
    (spec, rx)
}

fn job(words: usize) -> Job {
    let words = TargetWords::try_from(words).ok();
    Job::new("A story", words, WriterSettings::default()).expect("a valid job")
}

#[tokio::test(start_paused = true)]
async fn a_run_records_every_section_and_ends_done_with_the_lock_released() {
    let texts = [prose("First", 50), prose("Second", 50)];
    let backend = ScriptedBackend::new(vec![
        Reply::text(agentwrite_plan(2, 50)),
        Reply::text(texts[0].clone()),
        Reply::text(texts[1].clone()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut project = new_project(dir.path(), &job(100));
    let lock = ProjectLock::acquire(project.dir(), project.id()).unwrap();
    let journal = project.recover().unwrap();
    let path = project.dir().to_path_buf();
    let (spec, mut rx) = spec(&backend, job(100), CancellationToken::new());
    let end = store::record(project, lock, journal, spec).await.unwrap();
    assert!(end.result.is_ok() && end.saved.is_ok(), "{end:?}");
    let project = Project::open(&path).unwrap();
    assert_eq!(project.manifest.state, JobState::Done);
    assert_eq!(project.read_section(0).as_deref(), Some(texts[0].as_str()));
    assert_eq!(project.read_section(1).as_deref(), Some(texts[1].as_str()));
    assert!(live_holder(&path).is_none(), "the lock is released");
    let mut forwarded = Vec::new();
    while let Some(e) = rx.recv().await {
        forwarded.push(e);
    }
    assert!(
        matches!(forwarded.last(), Some(JobEvent::Done { .. })),
        "every event is forwarded"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stopped_run_keeps_its_text_in_the_journal_and_is_resumable() {
    let partial = prose("Partial", 20);
    let backend = ScriptedBackend::new(vec![
        Reply::text(agentwrite_plan(1, 60)),
        Reply::Stall {
            text: partial.clone(),
        },
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut project = new_project(dir.path(), &job(60));
    let lock = ProjectLock::acquire(project.dir(), project.id()).unwrap();
    let journal = project.recover().unwrap();
    let path = project.dir().to_path_buf();
    let cancel = CancellationToken::new();
    let (spec, mut rx) = spec(&backend, job(60), cancel.clone());
    let running = tokio::spawn(store::record(project, lock, journal, spec));
    let mut streamed = String::new();
    // Events are forwarded only once recorded: when the last piece arrives, it is journaled.
    while let Some(e) = rx.recv().await {
        if let JobEvent::Delta { text, .. } = e {
            streamed.push_str(&text);
            if streamed == partial {
                cancel.cancel();
            }
        }
    }
    let end = running.await.expect("join").unwrap();
    assert!(
        matches!(end.result, Err(WriterError::Cancelled)),
        "{:?}",
        end.result
    );
    let project = Project::open(&path).unwrap();
    assert_eq!(project.manifest.state, JobState::Stopped);
    assert_eq!(project.read_journal().unwrap().text_of(0), partial);
    assert!(live_holder(&path).is_none(), "the lock is released");
}
