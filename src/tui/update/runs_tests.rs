//! Unit tests of the dashboard, follow and hand-off actions.

use super::update;
use crate::store::{Manifest, Snapshot};
use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::fixtures;
use crate::tui::state::{JobState, RunRow, Screen};
use std::sync::Arc;

fn row(id: &str) -> RunRow {
    RunRow {
        id: id.into(),
        title: "t".into(),
        chapter: None,
        section: 1,
        sections: 3,
        words: 10,
        target: 300,
        tok_per_s: 5.0,
        eta_s: Some(60),
        state: "writing".into(),
    }
}

#[test]
fn dashboard_opens_from_any_screen_and_goes_back() {
    let mut s = fixtures::fresh();
    assert_eq!(
        update(&mut s, Action::Dashboard),
        vec![Effect::WatchRuns(true)]
    );
    assert_eq!(s.screen, Screen::Dashboard);
    assert_eq!(
        update(&mut s, Action::Cancel),
        vec![Effect::WatchRuns(false)]
    );
    assert_eq!(s.screen, Screen::Prompt);
}

#[test]
fn enter_on_a_run_follows_it_read_only() {
    let mut s = fixtures::fresh();
    update(&mut s, Action::Dashboard);
    update(&mut s, Action::Runs(vec![row("aaa"), row("bbb")]));
    update(&mut s, Action::Down);
    update(&mut s, Action::Down);
    assert_eq!(s.runs.selected, 1);
    let effects = update(&mut s, Action::OpenSection);
    assert_eq!(
        effects,
        vec![Effect::WatchRuns(false), Effect::Follow("bbb".into())]
    );
    assert_eq!(s.following.as_deref(), Some("bbb"));
    assert_eq!(s.screen, Screen::Writing);
    // Read-only: no key changes the followed document.
    assert!(update(&mut s, Action::PauseResume).is_empty());
    assert!(update(&mut s, Action::Stop).is_empty());
    assert_eq!(update(&mut s, Action::NewDocument), vec![Effect::Unfollow]);
    assert_eq!(s.following, None);
}

#[test]
fn rows_shrinking_keep_the_selection_in_range() {
    let mut s = fixtures::fresh();
    update(&mut s, Action::Dashboard);
    update(&mut s, Action::Runs(vec![row("a"), row("b"), row("c")]));
    update(&mut s, Action::Bottom);
    update(&mut s, Action::Runs(vec![row("a")]));
    assert_eq!(s.runs.selected, 0);
}

#[test]
fn snapshots_fill_the_panes() {
    let mut s = fixtures::fresh();
    update(&mut s, Action::Resize(120, 40));
    let effect = super::start_following(&mut s, "abc".into());
    assert_eq!(effect, Effect::Follow("abc".into()));
    let manifest = Manifest {
        format_version: crate::store::FORMAT_VERSION,
        id: "abc".into(),
        title: "T".into(),
        author: None,
        instruction: "i".into(),
        target_words: 300,
        language: crate::text::Language::English,
        state: crate::store::JobState::Writing,
        error: None,
        created: 0,
        updated: 0,
        settings: s.settings.clone(),
        backend: crate::store::BackendRecord::default(),
        plan: Some(fixtures::plan(3, 100)),
        ledger: None,
    };
    let snapshot = |live, text: &str| Snapshot {
        manifest: Some(Arc::new(manifest.clone())),
        error: None,
        sections: vec![Some(Arc::from("one two")), None, None],
        current: Some((1, text.to_string())),
        live,
        records: 2,
    };
    update(
        &mut s,
        Action::Followed(Box::new(snapshot(true, "three four five"))),
    );
    assert_eq!(s.text(0), "one two");
    assert_eq!(s.text(1), "three four five");
    assert_eq!(s.words_of(1), 3);
    assert_eq!(s.current, Some(1));
    assert_eq!(s.job_state, JobState::Running);
    update(
        &mut s,
        Action::Followed(Box::new(snapshot(false, "three four five six"))),
    );
    assert_eq!(s.job_state, JobState::Stopped);
}

#[test]
fn hand_off_stops_the_writer_then_detaches() {
    let mut s = fixtures::writing(3, 100, 1, 40, (120, 40));
    s.project = Some("abc".into());
    s.job_state = JobState::Running;
    assert_eq!(update(&mut s, Action::HandOff), vec![Effect::Cancel]);
    assert!(s.handoff_pending);
    let document = s.document.clone().unwrap_or_else(|| panic!("a document"));
    let effects = update(
        &mut s,
        Action::WriteFinished {
            document: Box::new(document),
            error: Some("cancelled".into()),
            cancelled: true,
        },
    );
    assert_eq!(effects, vec![Effect::HandOff]);
    let effects = update(&mut s, Action::HandedOff(Ok(4242)));
    assert_eq!(effects, vec![Effect::Follow("abc".into())]);
    assert_eq!(s.following.as_deref(), Some("abc"));
}

#[test]
fn hand_off_without_a_project_does_nothing() {
    let mut s = fixtures::writing(3, 100, 1, 40, (120, 40));
    s.project = None;
    assert!(update(&mut s, Action::HandOff).is_empty());
    let mut s = fixtures::writing(3, 100, 1, 40, (120, 40));
    s.project = Some("abc".into());
    update(&mut s, Action::HandedOff(Err("boom".into())));
    assert!(matches!(s.overlay, crate::tui::state::Overlay::Error(_)));
}
