//! Writing: start, pause, resume, stop, regenerate a section, edit text, rewrite stale
//! sections, and the job's events.
//!
//! Pausing cancels the writer after the current token; the writer keeps the text streamed so
//! far in its document (and `document_now` restores any the studio saw that the document
//! lacks), so resuming with `Writer::write` continues that section with a continue turn. Stale sections are handed
//! to the writer as done, so only an explicit rewrite replaces them.

use super::super::action::Action;
use super::super::effect::Effect;
use super::super::state::{InputPurpose, JobState, Level, Overlay, Retry, Screen, State};
use super::{ask_export, open_input, review, scroll};
use crate::backend::{ChatMessage, Role};
use crate::export::ExportFormat;
use crate::plan::SectionState;
use crate::writer::{Document, JobEvent, SectionDraft};
use ratatui_textarea::{TextArea, WrapMode};

pub(super) fn writing_action(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::PauseResume => pause_resume(state),
        Action::Stop if state.job_state.is_running() => {
            state.job_state = JobState::Stopping;
            state.say(Level::Info, "stopping…");
            vec![Effect::Cancel]
        }
        Action::Regenerate | Action::EditSection | Action::ExternalEdit | Action::RewriteStale
            if state.job_state.is_running() =>
        {
            state.say(Level::Warning, "pause first (space)");
            Vec::new()
        }
        Action::Regenerate => {
            open_input(state, InputPurpose::RegenerateHint(state.selected), "");
            Vec::new()
        }
        Action::EditSection => {
            let text = state.text(state.selected).into_owned();
            let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
            let mut area = TextArea::new(lines);
            // A paragraph is one line of text: wrap it to the editor's width.
            area.set_wrap_mode(WrapMode::WordOrGlyph);
            state.overlay = Overlay::Editor {
                index: state.selected,
                area: Box::new(area),
            };
            Vec::new()
        }
        Action::ExternalEdit => {
            let text = state.text(state.selected).into_owned();
            vec![Effect::ExternalEdit {
                index: state.selected,
                text,
            }]
        }
        Action::RewriteStale => rewrite_stale(state),
        Action::EditTitle | Action::EditMainPoint | Action::EditTarget => {
            review::edit_field(state, action)
        }
        Action::EditChapterPoint => review::edit_chapter_point(state),
        Action::ExportMarkdown => {
            ask_export(state, ExportFormat::Md);
            Vec::new()
        }
        Action::ExportText => {
            ask_export(state, ExportFormat::Txt);
            Vec::new()
        }
        Action::NewDocument if state.job_state.is_running() && state.following.is_none() => {
            state.say(Level::Warning, "stop the job first (s)");
            Vec::new()
        }
        Action::NewDocument => {
            state.screen = Screen::Prompt;
            state.job_state = JobState::Idle;
            state.document = None;
            state.project = None;
            super::runs::unfollow(state).into_iter().collect()
        }
        other => {
            scroll::navigate(state, other);
            Vec::new()
        }
    }
}

/// Starts (or resumes) writing the document.
pub(super) fn start(state: &mut State) -> Vec<Effect> {
    let (Some(job), Some(document)) = (&state.job, document_now(state)) else {
        return Vec::new();
    };
    let plan = &document.plan;
    if plan.is_complete() && plan.sections.iter().all(|s| s.state.is_written()) {
        state.job_state = JobState::Done;
        state.say(Level::Info, "every section is written");
        return Vec::new();
    }
    if let Some(doc) = &mut state.document {
        for s in &mut doc.plan.sections {
            if matches!(s.state, SectionState::Planned | SectionState::Failed) {
                s.state = SectionState::Queued;
            }
        }
    }
    let effect = Effect::Write {
        job: Box::new(job.clone()),
        document: Box::new(document),
        project: state.project.clone(),
    };
    state.screen = Screen::Writing;
    state.job_state = JobState::Running;
    state.stream.follow = true;
    state.stats.words_at_start = state.total_written();
    state.stats.retry = None;
    state.say(Level::Info, "writing…");
    vec![effect]
}

fn pause_resume(state: &mut State) -> Vec<Effect> {
    match state.job_state {
        JobState::Running => {
            state.job_state = JobState::Pausing;
            state.say(Level::Info, "pausing after the current token…");
            vec![Effect::Cancel]
        }
        JobState::Paused | JobState::Stopped | JobState::Failed(_) | JobState::Idle => start(state),
        JobState::Done => {
            state.say(Level::Info, "the document is done; R rewrites a section");
            Vec::new()
        }
        JobState::Pausing | JobState::Stopping => Vec::new(),
    }
}

/// The document as it stands, streamed text included (the studio's document owns it).
pub(crate) fn document_now(state: &State) -> Option<Document> {
    state.document.clone()
}

/// The writer's document as it hands it back, with any streamed text the studio already
/// shows that the writer's drafts lack (a stream cut between a delta and its turn).
fn handed_back(state: &State, mut doc: Document) -> Document {
    for (i, draft) in doc.drafts.iter_mut().enumerate() {
        let shown = state.text(i);
        let kept = draft.text();
        if shown.len() > kept.len() && shown.starts_with(&kept) {
            draft
                .turns
                .push(ChatMessage::assistant(&shown[kept.len()..]));
        }
    }
    doc
}

pub(super) fn write_finished(
    state: &mut State,
    document: Document,
    error: Option<String>,
    cancelled: bool,
) -> Vec<Effect> {
    let document = handed_back(state, document);
    state.set_document(Some(document));
    if let Some(doc) = &mut state.document {
        for s in &mut doc.plan.sections {
            if s.state == SectionState::Queued {
                s.state = SectionState::Planned;
            }
        }
    }
    state.stats.retry = None;
    state.job_state = match (error, cancelled, &state.job_state) {
        (None, _, _) => {
            state.say(Level::Info, "done: every section is written; x exports");
            JobState::Done
        }
        (Some(_), true, JobState::Stopping) => {
            state.say(
                Level::Info,
                "stopped; the text so far is kept (space resumes)",
            );
            JobState::Stopped
        }
        (Some(_), true, _) => {
            state.say(Level::Info, "paused (space resumes)");
            JobState::Paused
        }
        (Some(e), false, _) => {
            state.say(
                Level::Error,
                format!("failed: {e} (text kept; space retries)"),
            );
            JobState::Failed(e)
        }
    };
    if state.quit {
        return vec![Effect::Quit];
    }
    if std::mem::take(&mut state.handoff_pending) {
        if matches!(state.job_state, JobState::Done) {
            return Vec::new();
        }
        state.say(Level::Info, "handing off: starting the background worker…");
        return vec![Effect::HandOff];
    }
    Vec::new()
}

pub(super) fn job_event(state: &mut State, event: JobEvent) -> Vec<Effect> {
    match event {
        JobEvent::Started { backend, .. } => {
            state.backend = format!(
                "{} · {} @ {}",
                backend.kind, backend.model, backend.endpoint
            );
        }
        JobEvent::Planning { attempt } if attempt > 1 => {
            state.say(Level::Warning, "the plan was unusable; asking again");
        }
        JobEvent::SectionStarted { index, .. } => section_started(state, index),
        JobEvent::ChapterStarted { chapter, title, .. } => {
            state.say(Level::Info, format!("chapter {}: {title}", chapter + 1));
        }
        JobEvent::ChapterPlanned { plan, .. } => {
            if let Some(mut doc) = state.document.take() {
                doc.adopt_plan(plan);
                state.set_document(Some(doc));
                scroll::refresh(state);
            }
        }
        JobEvent::Delta { index, text } => {
            if index < state.section_count() {
                state.append(index, &text);
                state.stats.chunks += 1;
                state.stats.retry = None;
            }
        }
        JobEvent::Guarded {
            index,
            kind,
            quote,
            dropped_words,
            retrying,
            text,
            ..
        } => {
            // The stream's bad tail is gone from the writer's text; show what it kept.
            if index < state.section_count() {
                state.set_text(index, &text);
                scroll::refresh(state);
            }
            state.stats.guarded += 1;
            let then = if retrying {
                "writing it again"
            } else {
                "kept as it is"
            };
            state.say(
                Level::Warning,
                format!(
                    "section {}: {} guard dropped {dropped_words} words (\"{quote}\"); {then}",
                    index + 1,
                    kind.name()
                ),
            );
        }
        JobEvent::Continuing { index, reason, .. } => {
            state.say(
                Level::Info,
                format!("section {}: continuing ({reason})", index + 1),
            );
        }
        JobEvent::SectionDone {
            index, words, text, ..
        } => {
            // The writer's final text (it may cut the stream's tail to its bound).
            if state.text(index) != text.as_str() || state.words_of(index) != words {
                state.set_text(index, &text);
            }
            set_state(state, index, SectionState::Done);
            scroll::refresh(state);
        }
        JobEvent::Retrying {
            attempt,
            max_attempts,
            delay_ms,
            error,
        } => {
            state.say(Level::Warning, format!("retrying: {error}"));
            state.stats.retry = Some(Retry {
                attempt,
                max_attempts,
                at_ms: state.stats.now_ms + delay_ms,
                error,
            });
        }
        JobEvent::Warning { message } => state.say(Level::Warning, message),
        JobEvent::WrittenBy { backends, .. } => {
            // A fallback chain's profile that writes now, on the status line.
            if let Some(last) = backends.last().filter(|b| b.starts_with("profile ")) {
                state.backend = last.clone();
            }
        }
        JobEvent::Failed { error } => state.say(Level::Error, error),
        JobEvent::Done { .. }
        | JobEvent::PlanReady { .. }
        | JobEvent::Planning { .. }
        | JobEvent::Summarized { .. }
        | JobEvent::Compacted { .. } => {}
    }
    Vec::new()
}

fn section_started(state: &mut State, index: usize) {
    // The writer replays a continued section's text as its first delta.
    state.set_text(index, "");
    state.current = Some(index);
    set_state(state, index, SectionState::Writing);
    if state.stream.follow {
        state.stream.section = index;
        state.selected = index;
        state.heading = None;
    }
    scroll::refresh(state);
}

fn set_state(state: &mut State, index: usize, new: SectionState) {
    if let Some(s) = state
        .document
        .as_mut()
        .and_then(|d| d.plan.sections.get_mut(index))
    {
        s.state = new;
    }
}

/// Replaces a section's text (built-in editor or `$EDITOR`) and saves it to the project at
/// once; later written sections go stale. An unchanged text changes nothing.
pub(crate) fn replace_text(state: &mut State, index: usize, text: String) -> Vec<Effect> {
    if state.text(index) == text.as_str() {
        state.say(Level::Info, format!("section {}: no change", index + 1));
        return Vec::new();
    }
    let Some(draft) = state.document.as_ref().and_then(|d| d.drafts.get(index)) else {
        return Vec::new();
    };
    let step = draft
        .turns
        .first()
        .filter(|t| t.role == Role::User)
        .cloned();
    let draft = SectionDraft {
        turns: step
            .into_iter()
            .chain(std::iter::once(ChatMessage::assistant(text.clone())))
            .collect(),
    };
    state.set_draft(index, draft);
    let Some(doc) = state.document.as_mut() else {
        return Vec::new();
    };
    // Typed text is written text, except in the section in progress, which the writer
    // continues from it (the store keeps it in the journal).
    let in_progress = doc.plan.sections.iter().position(|s| !s.state.is_written());
    if let Some(section) = doc.plan.sections.get_mut(index) {
        if !text.trim().is_empty() && in_progress != Some(index) {
            section.state = SectionState::Done;
        }
    }
    state.say(
        Level::Info,
        format!("section {} edited and saved", index + 1),
    );
    review::mark_stale_from(state, index + 1);
    scroll::refresh(state);
    super::save(state).into_iter().collect()
}

/// Clears section `index` and writes it again; the hint goes into its main point.
pub(super) fn regenerate(state: &mut State, index: usize, hint: &str) -> Vec<Effect> {
    let Some(doc) = state.document.as_mut() else {
        return Vec::new();
    };
    let Some(section) = doc.plan.sections.get_mut(index) else {
        return Vec::new();
    };
    if !hint.is_empty() {
        section.main_point = format!("{} (Revision note: {hint})", section.main_point.trim());
    }
    section.state = SectionState::Planned;
    state.set_draft(index, SectionDraft::default());
    review::mark_stale_from(state, index + 1);
    state.stream.section = index;
    start(state)
}

fn rewrite_stale(state: &mut State) -> Vec<Effect> {
    let Some(doc) = state.document.as_mut() else {
        return Vec::new();
    };
    let stale: Vec<usize> = (0..doc.plan.sections.len())
        .filter(|i| doc.plan.sections[*i].state == SectionState::Stale)
        .collect();
    if stale.is_empty() {
        state.say(Level::Info, "no stale sections");
        return Vec::new();
    }
    for &i in &stale {
        doc.plan.sections[i].state = SectionState::Planned;
    }
    for &i in &stale {
        state.set_draft(i, SectionDraft::default());
    }
    start(state)
}
