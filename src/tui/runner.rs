//! The effect runner: performs the I/O that `update` asks for (planning, recorded writing,
//! exports, the dashboard's watcher, following a project, the hand-off) and reports back with
//! actions on the event loop's channel. Effects that need the terminal go back to the loop.

use super::action::Action;
use super::effect::{Effect, ExportRequest, Save, Switched};
use super::record::RecordedWrite;
use super::{ProfileBackend, Studio};
use crate::store::{NewProject, Project};
use crate::writer::{Document, Job, JobEvent, Writer};
use futures::StreamExt;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often a followed project is polled.
const FOLLOW_EVERY: Duration = Duration::from_millis(50);

/// The effect runner's resources.
pub(super) struct Runner {
    pub studio: Studio,
    pub actions: UnboundedSender<Action>,
    job_events: UnboundedSender<JobEvent>,
    cancel: CancellationToken,
    /// The stored project this studio writes.
    project_dir: Option<PathBuf>,
    /// The running write, which ends with the journal flushed and the lock released.
    writing: Option<JoinHandle<()>>,
    follow: CancellationToken,
    watch: CancellationToken,
    give_up: CancellationToken,
    /// The profile last chosen in the picker.
    wanted: Option<String>,
    /// Profiles connected in the background, by name, until the next effect adopts the wanted one.
    connected: Connected,
}

/// Backends of profiles chosen in the picker, connected and waiting to be adopted.
type Connected = Arc<Mutex<HashMap<String, ProfileBackend>>>;

impl Runner {
    pub fn new(
        studio: Studio,
        actions: UnboundedSender<Action>,
        job_events: UnboundedSender<JobEvent>,
    ) -> Self {
        let project_dir = studio.open.clone();
        Self {
            studio,
            actions,
            job_events,
            cancel: CancellationToken::new(),
            project_dir,
            writing: None,
            follow: CancellationToken::new(),
            watch: CancellationToken::new(),
            give_up: CancellationToken::new(),
            wanted: None,
            connected: Arc::default(),
        }
    }

    /// Starts an effect that needs no terminal; returns it back if it does.
    pub fn run(&mut self, effect: Effect) -> Option<Effect> {
        self.adopt();
        match effect {
            Effect::UseProfile(name) => self.use_profile(name),
            Effect::Plan(job) => {
                self.cancel = CancellationToken::new();
                let writer = Writer::new(
                    self.studio.backend.clone(),
                    self.studio.prompts.clone(),
                    self.job_events.clone(),
                    self.cancel.clone(),
                );
                let tx = self.actions.clone();
                tokio::spawn(async move {
                    let result = writer.plan(&job).await.map_err(|e| e.to_string());
                    let _ = tx.send(Action::PlanFinished(result));
                });
            }
            Effect::Write {
                job,
                document,
                project,
            } => self.write(*job, *document, project),
            Effect::Cancel => self.cancel.cancel(),
            Effect::Export { request, overwrite } => self.export(request, overwrite),
            Effect::WatchRuns(on) => self.watch_runs(on),
            Effect::Follow(id) => self.follow(id),
            Effect::Unfollow => self.follow.cancel(),
            Effect::HandOff => self.hand_off(),
            other => return Some(other),
        }
        None
    }

    /// Saves the studio's document into its project at once (creating it for a new
    /// document); the answer is the action to apply before the next key.
    /// The files are written and fsynced on the blocking pool; the loop awaits the answer.
    pub async fn save(&mut self, request: Box<Save>) -> Action {
        let (store, record) = (self.studio.store.clone(), self.studio.record.clone());
        let dir = store.root().to_path_buf();
        let result =
            crate::store::off_runtime(&dir, move || super::save::save(&store, &record, &request))
                .await
                .and_then(|saved| saved);
        match result {
            Ok(saved) => {
                self.project_dir = Some(saved.dir);
                Action::Saved(Ok(saved.id))
            }
            Err(e) => Action::Saved(Err(e.to_string())),
        }
    }

    fn export(&mut self, mut request: Box<ExportRequest>, overwrite: bool) {
        request.path = std::path::absolute(&request.path).unwrap_or(request.path);
        if !overwrite && request.path.exists() {
            let _ = self.actions.send(Action::ExportWouldReplace(request));
            return;
        }
        let now = crate::store::now_secs();
        request.meta.created = now;
        request.meta.modified = now;
        let tx = self.actions.clone();
        tokio::task::spawn_blocking(move || {
            let ExportRequest {
                path,
                format,
                document,
                meta,
            } = *request;
            let result = crate::export::export(&document, &meta, format)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    crate::export::write_atomic(&path, &bytes)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))
                })
                .map(|()| path);
            let _ = tx.send(Action::Exported(result));
        });
    }

    /// A new project in the store for a document that has none yet.
    fn project_for(&mut self, job: &Job) -> Result<PathBuf, String> {
        let project = self
            .studio
            .store
            .create(NewProject {
                instruction: job.instruction.clone(),
                target_words: job.target_words,
                language: job.language,
                settings: job.settings.clone(),
                backend: self.studio.record.clone(),
            })
            .map_err(|e| e.to_string())?;
        let _ = self
            .actions
            .send(Action::ProjectOpened(project.id().to_string()));
        Ok(project.dir().to_path_buf())
    }

    fn write(&mut self, job: Job, document: Document, project: Option<String>) {
        let tx = self.actions.clone();
        let dir = match project {
            Some(id) => Ok(self.studio.store.root().join(id)),
            None => self.project_for(&job),
        };
        let dir = match dir {
            Ok(dir) => dir,
            Err(e) => {
                let _ = tx.send(Action::WriteFinished {
                    document: Box::new(document),
                    error: Some(format!("cannot create the project in the store: {e}")),
                    cancelled: false,
                });
                return;
            }
        };
        self.project_dir = Some(dir.clone());
        self.cancel = CancellationToken::new();
        let run = RecordedWrite {
            dir,
            job,
            document,
            backend: self.studio.backend.clone(),
            prompts: self.studio.prompts.clone(),
            forward: self.job_events.clone(),
            cancel: self.cancel.clone(),
            give_up: self.give_up.clone(),
        };
        self.writing = Some(tokio::spawn(async move {
            let finished = run.run().await;
            let _ = tx.send(Action::WriteFinished {
                document: Box::new(finished.document),
                error: finished.error,
                cancelled: finished.cancelled,
            });
        }));
    }

    /// Connects a profile chosen in the picker in the background; the next effect adopts it.
    fn use_profile(&mut self, name: String) {
        let tx = self.actions.clone();
        let Some(connect) = self.studio.use_profile.clone() else {
            let error = "this studio cannot switch profiles".to_string();
            let _ = tx.send(Action::ProfileSwitched(Err(error)));
            return;
        };
        self.wanted = Some(name.clone());
        let connected = self.connected.clone();
        tokio::spawn(async move {
            let result = connect(name.clone()).await.map(|chosen| {
                let switched = Switched {
                    name: name.clone(),
                    label: super::backend_label(chosen.backend.as_ref()),
                    settings: chosen.settings.clone(),
                };
                if let Ok(mut slot) = connected.lock() {
                    slot.insert(name, chosen);
                }
                Box::new(switched)
            });
            let _ = tx.send(Action::ProfileSwitched(result));
        });
    }

    /// Takes the wanted profile's backend once it is connected: the next plan or write uses it.
    fn adopt(&mut self) {
        let Some(name) = &self.wanted else {
            return;
        };
        let Ok(mut slot) = self.connected.lock() else {
            return;
        };
        if let Some(chosen) = slot.remove(name) {
            self.studio.backend = chosen.backend;
            self.studio.record = chosen.record;
            self.studio.settings = chosen.settings;
            slot.clear();
            self.wanted = None;
        }
    }

    fn watch_runs(&mut self, on: bool) {
        self.watch.cancel();
        if on {
            self.watch = CancellationToken::new();
            let store = self.studio.store.clone();
            let task = super::watch::watch_runs(store, self.actions.clone(), self.watch.clone());
            tokio::spawn(task);
        }
    }

    fn follow(&mut self, id: String) {
        self.follow.cancel();
        self.follow = CancellationToken::new();
        let stop = self.follow.clone();
        let tx = self.actions.clone();
        let dir = self.studio.store.root().join(id);
        tokio::spawn(async move {
            let snapshots = crate::store::follow(dir, FOLLOW_EVERY);
            futures::pin_mut!(snapshots);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    next = snapshots.next() => match next {
                        Some(s) => if tx.send(Action::Followed(Box::new(s))).is_err() { return },
                        None => return,
                    },
                }
            }
        });
    }

    fn hand_off(&mut self) {
        let tx = self.actions.clone();
        let (Some(dir), Some(hand_off)) = (self.project_dir.clone(), self.studio.hand_off.clone())
        else {
            let _ = tx.send(Action::HandedOff(Err("no project to hand off".into())));
            return;
        };
        tokio::task::spawn_blocking(move || {
            let result = Project::open(&dir)
                .map_err(|e| e.to_string())
                .and_then(|project| hand_off(&project));
            let _ = tx.send(Action::HandedOff(result));
        });
    }

    /// Stops everything; waits at most `bound` for the writer to flush the journal, save the
    /// manifest and release the lock.
    pub async fn shut_down(&mut self, bound: Duration) {
        self.cancel.cancel();
        self.follow.cancel();
        self.watch.cancel();
        self.give_up.cancel();
        if let Some(writing) = self.writing.take() {
            let _ = tokio::time::timeout(bound, writing).await;
        }
    }
}
