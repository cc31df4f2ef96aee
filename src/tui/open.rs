//! `longwriter <project>`: a saved project opened in the studio. A project that a live process
//! writes is followed read-only; any other is read back from the store (finished sections,
//! the section in progress from the journal) and shown stopped, ready to continue.

use super::effect::Effect;
use super::state::{JobState, Level, Overlay, Screen, State};
use super::update::start_following;
use crate::plan::SectionState;
use crate::prompt::Prompts;
use crate::store::{
    lock::live_holder, off_runtime, JobState as StoredState, Project, ProjectLock, StoreError,
};
use crate::writer::Document;
use std::path::Path;
use std::sync::Arc;

/// Loads the project in `dir` into `state`; returns the effects to start with. The store is
/// read (and a torn journal tail cut and fsynced) on the blocking pool.
pub async fn open(state: &mut State, dir: &Path, prompts: Arc<Prompts>) -> Vec<Effect> {
    if live_holder(dir).is_some() {
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return vec![start_following(state, id)];
    }
    let owned = dir.to_path_buf();
    let loaded = off_runtime(dir, move || load(&owned, &prompts))
        .await
        .and_then(|loaded| loaded);
    match loaded {
        Ok((project, document)) => show(state, &project, document),
        Err(e) => state.overlay = Overlay::Error(format!("cannot open the project: {e}")),
    }
    Vec::new()
}

/// Reads the project under its lock (recovery may cut a torn journal tail).
fn load(dir: &Path, prompts: &Prompts) -> Result<(Project, Option<Document>), StoreError> {
    let mut project = Project::open(dir)?;
    let lock = ProjectLock::acquire(dir, project.id())?;
    let recovered = project.recover()?;
    let document = project.document(prompts, &recovered, false)?;
    drop(lock);
    Ok((project, document))
}

fn show(state: &mut State, project: &Project, document: Option<Document>) {
    let m = &project.manifest;
    state.project = Some(m.id.clone());
    state.export_stem = m.id.clone();
    state.export_title = m.title.clone();
    state.export_author = m.author.clone().unwrap_or_default();
    state.job = Some(m.job());
    let Some(mut document) = document else {
        state.say(Level::Warning, format!("project {} has no plan yet", m.id));
        return;
    };
    for s in &mut document.plan.sections {
        if matches!(s.state, SectionState::Writing | SectionState::Queued) {
            s.state = SectionState::Planned;
        }
    }
    let unfinished = document
        .plan
        .sections
        .iter()
        .position(|s| s.state != SectionState::Done);
    state.selected = unfinished.unwrap_or(0);
    state.stream.section = state.selected;
    state.set_document(Some(document));
    if m.state == StoredState::Draft {
        state.screen = Screen::Review;
        state.job_state = JobState::Idle;
        state.say(
            Level::Info,
            format!(
                "opened draft {} \"{}\": review the plan, then w to write",
                m.id, m.title
            ),
        );
        return;
    }
    state.screen = Screen::Writing;
    state.job_state = match (unfinished, m.state) {
        (None, _) => JobState::Done,
        (Some(_), StoredState::Failed) => JobState::Failed(m.error.clone().unwrap_or_default()),
        _ => JobState::Stopped,
    };
    let verb = if unfinished.is_some() {
        "space continues"
    } else {
        "x exports"
    };
    state.say(
        Level::Info,
        format!("opened project {} \"{}\"; {verb}", m.id, m.title),
    );
}
