//! Many prompts, each written as its own project in the store: what `eval` and `batch` share.
//!
//! `RunState` is the run's small state file (prompt id → project id), so that a rerun finds the
//! half-done documents again; `open_or_create` finds or makes a prompt's project; `write` runs a
//! project's job to its end through `store::record`, exactly as `write` and `resume` do, with
//! the caller's backend and event sink.

use super::connect::{self, Setup};
use super::job;
use super::{BackendArgs, CliError};
use crate::backend::Backend;
use crate::eval::dataset::Item;
use crate::store::{self, NewProject, Project, RunSpec, Store};
use crate::writer::{Document, JobEvent, WriterError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// The run's state file: which project holds which prompt's document.
pub struct RunState {
    path: PathBuf,
    projects: Mutex<BTreeMap<String, String>>,
}

impl RunState {
    /// Reads the state file at `path` (none yet: an empty state). `what` names the run in
    /// messages ("eval", "batch").
    pub fn open(path: &Path, what: &str) -> Result<Self, CliError> {
        let projects = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                CliError::Usage(format!(
                    "{} is not a state file of `longwriter {what}` ({e}): pass another --out, or remove it to start over",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(CliError::Usage(format!("cannot read {}: {e}", path.display()))),
        };
        Ok(Self {
            path: path.to_path_buf(),
            projects: Mutex::new(projects),
        })
    }

    /// The project that holds prompt `id`'s document, if one was made.
    pub fn project_of(&self, id: &str) -> Option<String> {
        self.projects.lock().ok()?.get(id).cloned()
    }

    /// Records that `project` holds prompt `id`'s document (written at once, atomically).
    pub fn remember(&self, id: &str, project: &str) -> Result<(), CliError> {
        let json = {
            let mut map = self
                .projects
                .lock()
                .map_err(|_| CliError::Failed("the run's state lock is poisoned".into()))?;
            map.insert(id.to_string(), project.to_string());
            serde_json::to_vec_pretty(&*map).map_err(|e| CliError::Failed(e.to_string()))?
        };
        store::write_atomic(&self.path, &json)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", self.path.display())))
    }
}

/// What every document of a many-prompt run shares.
pub struct Batch<'a> {
    /// The backend flags (recorded in each new project).
    pub args: &'a BackendArgs,
    /// Settings and prompts.
    pub setup: &'a Setup,
    /// The store.
    pub store: &'a Store,
    /// The run's state file.
    pub state: &'a RunState,
}

/// Opens the project of `item` recorded in the state, or creates one and records it. A
/// recorded project of another instruction (the state of a run over another file) is left
/// alone and a new one made.
pub fn open_or_create(run: &Batch<'_>, item: &Item) -> Result<Project, CliError> {
    if let Some(id) = run.state.project_of(&item.id) {
        match run.store.find(&id) {
            Ok(dir) => {
                let project = Project::open(&dir).map_err(job::store_error)?;
                if project.manifest.instruction.trim() == item.prompt.trim() {
                    return Ok(project);
                }
            }
            Err(_) => eprintln!(
                "longwriter: project {id} of prompt {} is gone; writing it anew",
                item.id
            ),
        }
    }
    let project = run
        .store
        .create(NewProject {
            instruction: item.prompt.clone(),
            target_words: item.length,
            language: item.language,
            settings: run.setup.writer.clone(),
            backend: connect::backend_record(run.args, run.setup),
        })
        .map_err(job::store_error)?;
    run.state.remember(&item.id, project.id())?;
    Ok(project)
}

/// How one document's run ended.
pub struct Written {
    /// The document as far as it got.
    pub document: Option<Document>,
    /// `Ok` when every section is done.
    pub result: Result<(), WriterError>,
}

/// Runs (or continues) the project's job to its end through the store, as `write` and `resume`
/// do; its events go to `forward` once recorded.
pub async fn write(
    project: Project,
    backend: Arc<dyn Backend>,
    setup: &Setup,
    cancel: &CancellationToken,
    forward: UnboundedSender<JobEvent>,
) -> Result<Written, CliError> {
    let lock = job::lock(&project)?;
    let (project, recovered) = job::recover(project).await?;
    let job = project.manifest.job();
    let document = project
        .document(&setup.prompts, &recovered, false)
        .map_err(job::store_error)?;
    let spec = RunSpec {
        backend,
        prompts: setup.prompts.clone(),
        job,
        document,
        restart_section: false,
        forward,
        cancel: cancel.clone(),
        give_up: cancel.clone(),
    };
    let end = store::record(project, lock, recovered, spec)
        .await
        .map_err(job::store_error)?;
    if let Err(e) = &end.saved {
        eprintln!("longwriter: {e}");
    }
    Ok(Written {
        document: end.document,
        result: end.result,
    })
}
