//! Running a job against a stored project: the one path behind `write`, `resume` and the
//! detached worker. Takes the project's lock, recovers its journal, rebuilds the document,
//! runs the writer with the store's recorder between its events and the display, and sets the
//! job's final state. Signals: Ctrl-C and SIGTERM (`longwriter stop`) stop cleanly; SIGHUP
//! (the terminal went away) flushes the journal and exits at once.

use super::connect::{self, Setup};
use super::progress::{show_events, OutputFile, Reporter};
use super::{BackendArgs, CliError, EXIT_OK};
use crate::backend::Backend;
use crate::store::journal::Recovered;
use crate::store::{self, Project, ProjectLock, RunEnd, RunSpec, StoreError};
use crate::writer::{JobEvent, WriterError};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::unbounded_channel;
use tokio_util::sync::CancellationToken;

/// Exit code after SIGHUP (128 + 1).
pub const EXIT_HANGUP: i32 = 129;

/// How a job run is shown and finished.
pub struct RunOptions {
    /// JSON lines instead of progress.
    pub json: bool,
    /// Export here at the end (and after every section).
    pub output: Option<OutputFile>,
    /// Print the document on stdout at the end when there is no output file.
    pub print: bool,
    /// Start the section in progress over instead of continuing it.
    pub restart_section: bool,
    /// A detached worker: SIGHUP is ignored rather than a reason to stop.
    pub detached: bool,
}

/// Why the job was asked to stop.
#[derive(Clone, Default)]
pub struct StopSignal {
    /// Fires on any stop.
    pub token: CancellationToken,
    reason: Arc<AtomicU8>,
}

const INTERRUPT: u8 = 1;
const TERMINATE: u8 = 2;
const HANGUP: u8 = 3;

impl StopSignal {
    /// Listens for SIGINT, SIGTERM and (unless `detached`) SIGHUP.
    pub fn install(detached: bool) -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        let stop = Self::default();
        let mut kinds = vec![
            (SignalKind::interrupt(), INTERRUPT),
            (SignalKind::terminate(), TERMINATE),
        ];
        if !detached {
            kinds.push((SignalKind::hangup(), HANGUP));
        }
        for (kind, code) in kinds {
            let Ok(mut s) = signal(kind) else { continue };
            let stop = stop.clone();
            tokio::spawn(async move {
                if s.recv().await.is_some() {
                    let _ =
                        stop.reason
                            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
                    stop.token.cancel();
                }
            });
        }
        stop
    }

    fn reason(&self) -> u8 {
        self.reason.load(Ordering::SeqCst)
    }
}

/// Maps store errors to exit codes: problems with the project are usage errors, I/O failures
/// are failures.
pub fn store_error(e: StoreError) -> CliError {
    match e {
        StoreError::Io { .. } | StoreError::Recorder(_) => CliError::Failed(e.to_string()),
        _ => CliError::Usage(e.to_string()),
    }
}

/// Backend flags for a stored project: the command's own flags win, then what the project
/// recorded when it was created. A project the built-in engine wrote goes on with it unless the
/// command names a server; one a server wrote goes on with that server, even when it was the
/// old default address and so not recorded as `base_url` (its `served_by` endpoint says it).
pub fn project_backend_args(args: &BackendArgs, project: &Project) -> BackendArgs {
    let rec = &project.manifest.backend;
    let mut out = args.clone();
    // A project a profile wrote goes on through that profile and its fallback chain.
    if rec.profile.is_some() && args.base_url.is_none() && !args.local {
        out.profile = args.profile.clone().or_else(|| rec.profile.clone());
        return out;
    }
    let served_by_server = rec
        .served_by
        .as_ref()
        .filter(|s| !rec.local && s.kind == "openai")
        .map(|s| s.endpoint.clone());
    out.base_url = args
        .base_url
        .clone()
        .or_else(|| rec.base_url.clone())
        .or(served_by_server);
    out.local = args.local || (rec.local && args.base_url.is_none());
    // A recorded model means a GGUF file to the engine and a model name to a server: only
    // reuse it with the same kind of backend.
    let same_kind = out.local == rec.local;
    out.model = args
        .model
        .clone()
        .or_else(|| rec.model.clone().filter(|_| same_kind));
    out.api_key_env = args.api_key_env.clone().or_else(|| rec.api_key_env.clone());
    // A project an Ollama server wrote goes on in Ollama's API, unless the command names a
    // server of its own.
    let ollama_wrote = rec.served_by.as_ref().is_some_and(|s| s.kind == "ollama");
    if out.api.is_none() && args.base_url.is_none() && ollama_wrote {
        out.api = Some(crate::backend::ApiKind::Ollama);
    }
    out
}

/// Locks the project, says so if a dead writer's lock was taken over.
pub fn lock(project: &Project) -> Result<ProjectLock, CliError> {
    let lock = ProjectLock::acquire(project.dir(), project.id()).map_err(store_error)?;
    if let Some(dead) = &lock.took_over {
        eprintln!(
            "longwriter: project {}: took over the lock left by {dead}, which is no longer running",
            project.id()
        );
    }
    Ok(lock)
}

/// Recovers the project's journal on the blocking pool: recovery may cut a torn tail and
/// fsync the file, which is no work for the runtime's worker threads.
pub async fn recover(project: Project) -> Result<(Project, Recovered), CliError> {
    let dir = project.dir().to_path_buf();
    let (project, recovered) = store::off_runtime(&dir, move || {
        let mut project = project;
        let recovered = project.recover();
        (project, recovered)
    })
    .await
    .map_err(store_error)?;
    Ok((project, recovered.map_err(store_error)?))
}

/// Runs (or continues) the project's job to its end, a stop, or an error.
pub async fn run(
    project: Project,
    lock: ProjectLock,
    setup: &Setup,
    backend: Arc<dyn Backend>,
    options: RunOptions,
) -> Result<i32, CliError> {
    let stop = StopSignal::install(options.detached);
    let (project, recovered) = recover(project).await?;
    if recovered.cut_bytes > 0 {
        eprintln!(
            "longwriter: project {}: cut {} bytes of a torn journal record (the process died mid-write)",
            project.id(),
            recovered.cut_bytes
        );
    }
    let job = project.manifest.job();
    let document = project
        .document(&setup.prompts, &recovered, options.restart_section)
        .map_err(store_error)?;
    let (show_tx, show_rx) = unbounded_channel();
    if let Some(doc) = &document {
        let _ = show_tx.send(JobEvent::PlanReady {
            plan: doc.plan.clone(),
        });
    }
    let shower = tokio::spawn(show_events(
        show_rx,
        Reporter::new(options.json),
        options.output.clone(),
        document.clone(),
    ));
    let id = project.id().to_string();
    let spec = RunSpec {
        backend,
        prompts: setup.prompts.clone(),
        job,
        document,
        restart_section: options.restart_section,
        forward: show_tx,
        cancel: stop.token.clone(),
        // The store's writes are retried after the writer ends only until a signal: the
        // recorder looks at this token only then, so a stop (the first signal or a second one
        // while saving) gives up on a store that cannot be written.
        give_up: stop.token.clone(),
    };
    let end = store::record(project, lock, recovered, spec)
        .await
        .map_err(store_error)?;
    let _ = shower.await;
    finish(&id, end, &stop, &options)
}

fn finish(id: &str, end: RunEnd, stop: &StopSignal, options: &RunOptions) -> Result<i32, CliError> {
    if let Err(e) = &end.saved {
        eprintln!("longwriter: {e}");
    }
    let hangup = stop.reason() == HANGUP;
    if let Some(doc) = &end.document {
        match &options.output {
            Some(out) => out.save(doc)?,
            None if options.print && !options.json && !hangup => {
                use std::io::Write;
                let text = crate::export::render(doc, crate::export::Format::Md);
                let _ = std::io::stdout().write_all(text.as_bytes());
            }
            None => {}
        }
    }
    match end.result {
        Ok(()) => Ok(EXIT_OK),
        Err(WriterError::Cancelled) => {
            let how = match stop.reason() {
                HANGUP => return Ok(EXIT_HANGUP),
                TERMINATE => "stopped",
                _ => "stopped by Ctrl-C",
            };
            Err(CliError::Interrupted(format!(
                "{how}; the text so far is saved: `longwriter resume {id}` continues"
            )))
        }
        Err(WriterError::Prompt(p)) => Err(CliError::Usage(p.to_string())),
        Err(e @ WriterError::ContextTooSmall { .. }) => Err(CliError::Usage(format!(
            "{e}; the text so far is saved: `longwriter resume {id}` continues with a larger window"
        ))),
        Err(WriterError::Backend(b)) => Err(CliError::Failed(format!(
            "{b}; the text so far is saved: `longwriter resume {id}` tries again"
        ))),
    }
}

/// Opens the project named `name` in the default store.
pub fn open_project(name: &str) -> Result<Project, CliError> {
    let store = crate::store::Store::open_default().map_err(store_error)?;
    let dir = store.find(name).map_err(store_error)?;
    Project::open(&dir).map_err(store_error)
}

/// Setup and a connected backend for a stored project.
pub async fn connect_project(
    args: &BackendArgs,
    project: &Project,
) -> Result<(Setup, Arc<dyn Backend>), CliError> {
    let args = project_backend_args(args, project);
    let setup = connect::setup(&args)?;
    let backend = connect::backend(&args, &setup).await?;
    Ok((setup, backend))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendInfo;
    use crate::store::{BackendRecord, NewProject, Store};
    use clap::Parser;

    fn project(record: BackendRecord) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        let project = Store::at(dir.path())
            .create(NewProject {
                instruction: "A story".into(),
                target_words: 300,
                language: crate::text::Language::English,
                settings: crate::writer::WriterSettings::default(),
                backend: record,
            })
            .unwrap();
        (dir, project)
    }

    fn flags(args: &[&str]) -> BackendArgs {
        let argv = ["longwriter", "list"].iter().chain(args);
        super::super::Cli::try_parse_from(argv).unwrap().backend
    }

    fn served_by(kind: &str, endpoint: &str) -> Option<BackendInfo> {
        Some(BackendInfo {
            kind: kind.into(),
            model: "m".into(),
            endpoint: endpoint.into(),
        })
    }

    #[test]
    fn a_project_the_engine_wrote_goes_on_with_the_engine_unless_a_server_is_named() {
        let (_dir, p) = project(BackendRecord {
            model: Some("/models/gemma.gguf".into()),
            local: true,
            served_by: served_by("local", "/models/gemma.gguf"),
            ..BackendRecord::default()
        });
        let args = project_backend_args(&flags(&[]), &p);
        assert!(args.local);
        assert_eq!(args.model.as_deref(), Some("/models/gemma.gguf"));
        let args = project_backend_args(&flags(&["--base-url", "http://h:1/v1"]), &p);
        assert!(!args.local);
        // The GGUF path means nothing to a server.
        assert_eq!(args.model, None);
    }

    #[test]
    fn a_project_a_server_wrote_goes_on_with_that_server() {
        // Written against the old default address: no base_url recorded, only served_by.
        let (_dir, p) = project(BackendRecord {
            model: Some("gemma-3".into()),
            served_by: served_by("openai", "http://127.0.0.1:8000/v1"),
            ..BackendRecord::default()
        });
        let args = project_backend_args(&flags(&[]), &p);
        assert!(!args.local);
        assert_eq!(args.base_url.as_deref(), Some("http://127.0.0.1:8000/v1"));
        assert_eq!(args.model.as_deref(), Some("gemma-3"));
        let args = project_backend_args(&flags(&["--local"]), &p);
        assert!(args.local);
        assert_eq!(args.model, None);
    }

    #[test]
    fn a_project_an_ollama_server_wrote_goes_on_in_ollamas_api() {
        let (_dir, p) = project(BackendRecord {
            base_url: Some("http://127.0.0.1:11434".into()),
            model: Some("gemma3:270m".into()),
            served_by: served_by("ollama", "http://127.0.0.1:11434"),
            ..BackendRecord::default()
        });
        let args = project_backend_args(&flags(&[]), &p);
        assert_eq!(args.api, Some(crate::backend::ApiKind::Ollama));
        assert_eq!(args.base_url.as_deref(), Some("http://127.0.0.1:11434"));
        // A server named on the command line is spoken to as its own flags say.
        let args = project_backend_args(&flags(&["--base-url", "http://h:1/v1"]), &p);
        assert_eq!(args.api, None);
        let args = project_backend_args(&flags(&["--api", "openai"]), &p);
        assert_eq!(args.api, Some(crate::backend::ApiKind::Openai));
    }
}
