//! The store side of the studio: the runs dashboard, following a project read-only, and the
//! hand-off of the studio's job to a detached worker.
//!
//! The dashboard's rows and the followed project's snapshots arrive as actions from the
//! runner's pollers (`tui::runner`); here they only change the state. Following turns the
//! stream and progress panes into a read-only view of the store: no key changes the document.

use super::super::action::Action;
use super::super::effect::Effect;
use super::super::state::{JobState, Level, Screen, State, Stats};
use super::scroll;
use crate::plan::SectionState;
use crate::store::{JobState as StoredState, Snapshot};
use crate::writer::Document;

/// Opens the dashboard, or leaves it for the screen it was opened from.
pub(super) fn toggle_dashboard(state: &mut State) -> Vec<Effect> {
    if state.screen == Screen::Dashboard {
        return leave_dashboard(state);
    }
    state.runs.back_to = Some(state.screen);
    state.screen = Screen::Dashboard;
    vec![Effect::WatchRuns(true)]
}

fn leave_dashboard(state: &mut State) -> Vec<Effect> {
    state.screen = state.runs.back_to.take().unwrap_or(Screen::Prompt);
    vec![Effect::WatchRuns(false)]
}

/// Keys on the dashboard: move, follow the selected run, go back.
pub(super) fn dashboard_action(state: &mut State, action: Action) -> Vec<Effect> {
    let last = state.runs.rows.len().saturating_sub(1);
    match action {
        Action::Up => state.runs.selected = state.runs.selected.saturating_sub(1),
        Action::Down => state.runs.selected = (state.runs.selected + 1).min(last),
        Action::Top => state.runs.selected = 0,
        Action::Bottom => state.runs.selected = last,
        Action::Cancel => return leave_dashboard(state),
        Action::OpenSection | Action::Submit | Action::Follow => return follow_selected(state),
        _ => {}
    }
    Vec::new()
}

fn follow_selected(state: &mut State) -> Vec<Effect> {
    let Some(row) = state.runs.rows.get(state.runs.selected) else {
        state.say(Level::Info, "no run is being written");
        return Vec::new();
    };
    let id = row.id.clone();
    state.runs.back_to = None;
    if state.project.as_deref() == Some(id.as_str()) && state.following.is_none() {
        // The studio's own job: its panes already show it live.
        state.screen = Screen::Writing;
        return vec![Effect::WatchRuns(false)];
    }
    if state.job_state.is_running() {
        state.screen = Screen::Writing;
        state.say(
            Level::Warning,
            "this studio is writing; pause, stop or hand off (H) before following another run",
        );
        return vec![Effect::WatchRuns(false)];
    }
    vec![Effect::WatchRuns(false), start_following(state, id)]
}

/// Switches the writing panes to a read-only view of project `id`.
pub fn start_following(state: &mut State, id: String) -> Effect {
    state.following = Some(id.clone());
    state.screen = Screen::Writing;
    state.job_state = JobState::Running;
    // Speed and ETA count from the first snapshot, not from words written before.
    state.stats = Stats {
        now_ms: state.stats.now_ms,
        bucket_start_ms: state.stats.now_ms,
        ..Stats::default()
    };
    state.document = None;
    state.stream.follow = true;
    state.say(
        Level::Info,
        format!("following {id} read-only; D: dashboard, n: new document, q: quit"),
    );
    Effect::Follow(id)
}

/// Applies a followed project's snapshot to the panes.
pub(super) fn followed(state: &mut State, snapshot: Snapshot) {
    if state.following.is_none() {
        return;
    }
    let Some(m) = snapshot.manifest.as_deref() else {
        return;
    };
    let Some(plan) = m.plan.clone() else {
        return;
    };
    let first = state.document.is_none();
    let same_plan = state
        .document
        .as_ref()
        .is_some_and(|d| d.plan.sections.len() == plan.sections.len());
    if same_plan {
        if let Some(doc) = state.document.as_mut() {
            doc.plan = plan;
        }
    } else {
        let document = Document::new(m.instruction.clone(), m.target_words, m.language, plan);
        state.set_document(Some(document));
    }
    for i in 0..state.section_count() {
        let text = match (&snapshot.current, snapshot.sections.get(i)) {
            (_, Some(Some(done))) => done.to_string(),
            (Some((c, text)), _) if *c == i => text.clone(),
            _ => String::new(),
        };
        let old_len = state.text(i).len();
        if text.len() > old_len && text.starts_with(state.text(i).as_ref()) {
            // Chunks for the tok/s sparkline: about four bytes a token.
            state.stats.chunks += ((text.len() - old_len) as u64).div_ceil(4);
            state.append(i, &text[old_len..]);
            state.recount(i);
        } else if text != state.text(i) {
            state.set_text(i, &text);
        }
    }
    state.current = snapshot.current.as_ref().map(|(i, _)| *i);
    if let (Some(i), true) = (state.current, state.stream.follow) {
        state.stream.section = i;
        state.selected = i;
        state.heading = None;
    }
    if first {
        // The first snapshot: what was written before following does not count as speed.
        state.stats.words_at_start = state.total_written();
        state.stats.chunks = 0;
    }
    state.job = None;
    state.job_state = match (snapshot.live, m.state) {
        (true, _) => JobState::Running,
        (false, StoredState::Done) => JobState::Done,
        (false, StoredState::Failed) => JobState::Failed(m.error.clone().unwrap_or_default()),
        (false, _) => JobState::Stopped,
    };
    if !snapshot.live {
        state.say(
            Level::Info,
            format!("{} is no longer being written ({})", m.id, m.state.label()),
        );
    }
    scroll::refresh(state);
}

/// The hand-off key: stop the studio's writer, then (on `write_finished`) detach the project.
pub(super) fn hand_off(state: &mut State) -> Vec<Effect> {
    if state.following.is_some() || state.project.is_none() {
        state.say(
            Level::Info,
            "nothing to hand off: this studio writes no project",
        );
        return Vec::new();
    }
    match state.job_state {
        JobState::Running => {
            state.handoff_pending = true;
            state.job_state = JobState::Stopping;
            state.say(Level::Info, "handing off: stopping the studio's writer…");
            vec![Effect::Cancel]
        }
        JobState::Done => {
            state.say(Level::Info, "the document is done; nothing to hand off");
            Vec::new()
        }
        JobState::Pausing | JobState::Stopping => {
            state.handoff_pending = true;
            Vec::new()
        }
        _ => {
            let unfinished = state.document.as_ref().is_some_and(|d| {
                d.plan
                    .sections
                    .iter()
                    .any(|s| s.state != SectionState::Done)
            });
            if !unfinished {
                state.say(Level::Info, "nothing left to write");
                return Vec::new();
            }
            state.say(Level::Info, "handing off…");
            vec![Effect::HandOff]
        }
    }
}

/// The worker started (it follows) or could not (the job stays here, stopped).
pub(super) fn handed_off(state: &mut State, result: Result<u32, String>) -> Vec<Effect> {
    match (result, state.project.clone()) {
        (Ok(pid), Some(id)) => {
            let effect = start_following(state, id.clone());
            state.say(
                Level::Info,
                format!("handed off to worker pid {pid}: q quits, the job continues; `longwriter attach {id}`"),
            );
            vec![effect]
        }
        (Err(e), _) => {
            state.overlay = super::super::state::Overlay::Error(format!("hand-off failed: {e}"));
            Vec::new()
        }
        (Ok(_), None) => Vec::new(),
    }
}

/// Leaves follow mode (for a new document).
pub(super) fn unfollow(state: &mut State) -> Option<Effect> {
    state.following.take().map(|_| Effect::Unfollow)
}

/// Keys that would change a followed (read-only) project.
pub(super) fn changes_document(action: &Action) -> bool {
    matches!(
        action,
        Action::PauseResume
            | Action::Stop
            | Action::Regenerate
            | Action::EditSection
            | Action::ExternalEdit
            | Action::RewriteStale
            | Action::EditTitle
            | Action::EditMainPoint
            | Action::EditChapterPoint
            | Action::EditTarget
            | Action::HandOff
    )
}
