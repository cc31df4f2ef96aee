//! Saving what the writer types: the effect runner's side of `Effect::Save`. A reviewed plan
//! becomes a `draft` project the moment it exists, and every hand edit (a section's text, a
//! title, a target, a stale mark) goes to the project at once, under its lock, with atomic
//! file replacements (`record::sync_document`), so quitting, a crash or `kill -9` keeps it.

use super::effect::Save;
use super::record::sync_document;
use crate::store::{BackendRecord, JobState, NewProject, Project, ProjectLock, Store, StoreError};
use std::path::PathBuf;

/// Where a saved document went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The project's id.
    pub id: String,
    /// The project's folder.
    pub dir: PathBuf,
}

/// Saves `save` into its project, creating the project first for a new document.
pub fn save(store: &Store, record: &BackendRecord, save: &Save) -> Result<Saved, StoreError> {
    let dir = match &save.project {
        Some(id) => store.root().join(id),
        None => {
            let job = &save.job;
            let project = store.create(NewProject {
                instruction: job.instruction.clone(),
                target_words: job.target_words,
                language: job.language,
                settings: job.settings.clone(),
                backend: record.clone(),
            })?;
            project.dir().to_path_buf()
        }
    };
    let mut project = Project::open(&dir)?;
    let lock = ProjectLock::acquire(&dir, project.id())?;
    let state = stored_state(save, project.manifest.state);
    sync_document(&mut project, &save.document, state)?;
    drop(lock);
    Ok(Saved {
        id: project.id().to_string(),
        dir,
    })
}

/// The job state a save leaves: a plan never written is a draft; a document with every
/// section written is done; any other keeps a failure and is otherwise stopped (resumable).
fn stored_state(save: &Save, before: JobState) -> JobState {
    let plan = &save.document.plan;
    if save.draft {
        JobState::Draft
    } else if plan.is_complete() && plan.sections.iter().all(|s| s.state.is_written()) {
        JobState::Done
    } else if before == JobState::Failed {
        JobState::Failed
    } else {
        JobState::Stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Plan, Section, SectionState};
    use crate::text::Language;
    use crate::writer::{Document, Job, WriterSettings};

    fn request(project: Option<String>, draft: bool) -> Save {
        let plan = Plan {
            sections: (1..=2)
                .map(|i| Section {
                    title: format!("S{i}"),
                    main_point: "p".into(),
                    target_words: 100,
                    state: SectionState::Planned,
                })
                .collect(),
            fallback: false,
            chapters: Vec::new(),
        };
        let job = Job {
            instruction: "A story".into(),
            target_words: 200,
            language: Language::English,
            settings: WriterSettings::default(),
        };
        let document = Document::new(job.instruction.clone(), 200, job.language, plan);
        Save {
            project,
            job,
            document,
            draft,
        }
    }

    #[test]
    fn a_plan_is_a_draft_project_and_a_hand_edit_reaches_its_section_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        let record = BackendRecord::default();
        let saved = save(&store, &record, &request(None, true)).unwrap();
        let project = Project::open(&saved.dir).unwrap();
        assert_eq!(project.manifest.state, JobState::Draft);
        assert_eq!(store.list()[0].state, "draft");
        assert_eq!(project.manifest.plan.as_ref().unwrap().sections.len(), 2);

        let mut edit = request(Some(saved.id.clone()), false);
        edit.document.plan.sections[0].state = SectionState::Done;
        edit.document.drafts[0]
            .turns
            .push(crate::backend::ChatMessage::assistant("Typed by hand."));
        edit.document.plan.sections[1].state = SectionState::Stale;
        edit.document.drafts[1]
            .turns
            .push(crate::backend::ChatMessage::assistant("Old text."));
        let again = save(&store, &record, &edit).unwrap();
        assert_eq!(again, saved);
        let project = Project::open(&saved.dir).unwrap();
        assert_eq!(project.read_section(0).as_deref(), Some("Typed by hand."));
        assert_eq!(project.read_section(1).as_deref(), Some("Old text."));
        assert_eq!(project.manifest.state, JobState::Done);
        let states: Vec<SectionState> = project
            .manifest
            .plan
            .unwrap()
            .sections
            .iter()
            .map(|s| s.state)
            .collect();
        assert_eq!(states, [SectionState::Done, SectionState::Stale]);
        assert_eq!(store.list().len(), 1);
    }
}
