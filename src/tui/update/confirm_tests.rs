//! Unit tests of the questions before a loss, and of saving typed text at once.

use super::update;
use crate::plan::SectionState;
use crate::tui::action::Action;
use crate::tui::effect::{Effect, ExportRequest};
use crate::tui::fixtures::{self, type_text};
use crate::tui::state::{Overlay, Pending, State};
use ratatui_textarea::{Input, Key};

fn key(c: char) -> Action {
    Action::Input(Input {
        key: Key::Char(c),
        ..Input::default()
    })
}

fn saves(effects: &[Effect]) -> Vec<&crate::tui::effect::Save> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Save(s) => Some(s.as_ref()),
            _ => None,
        })
        .collect()
}

fn done(n: usize) -> State {
    let mut s = fixtures::writing(n, 100, n, 0, (80, 24));
    let document = s.document.clone().unwrap();
    update(
        &mut s,
        Action::WriteFinished {
            document: Box::new(document),
            error: None,
            cancelled: false,
        },
    );
    s.project = Some("p1".into());
    s
}

#[test]
fn a_reviewed_plan_is_saved_as_a_draft() {
    let mut s = fixtures::fresh();
    type_text(&mut s, "Write a story");
    update(&mut s, Action::Submit);
    let effects = update(&mut s, Action::PlanFinished(Ok(fixtures::plan(3, 100))));
    let [save] = saves(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert!(save.draft && save.project.is_none());
    update(&mut s, Action::Saved(Ok("p9".into())));
    assert_eq!(s.project.as_deref(), Some("p9"));
    update(&mut s, Action::EditTitle);
    type_text(&mut s, " again");
    let effects = update(&mut s, Action::Submit);
    let [save] = saves(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(save.project.as_deref(), Some("p9"));
    assert!(save.document.plan.sections[0].title.ends_with(" again"));
}

#[test]
fn an_editor_save_goes_to_the_project_and_marks_later_sections_stale() {
    let mut s = done(3);
    s.selected = 0;
    update(&mut s, Action::EditSection);
    type_text(&mut s, "NEW ");
    let effects = update(&mut s, Action::Submit);
    let [save] = saves(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert!(!save.draft);
    assert!(save.document.drafts[0].text().starts_with("NEW "));
    let states: Vec<SectionState> = save
        .document
        .plan
        .sections
        .iter()
        .map(|x| x.state)
        .collect();
    assert_eq!(
        states,
        [SectionState::Done, SectionState::Stale, SectionState::Stale]
    );
}

#[test]
fn leaving_the_editor_with_unsaved_text_asks_and_other_keys_go_back() {
    let mut s = done(2);
    update(&mut s, Action::EditSection);
    // Unchanged: esc closes without a question.
    assert!(update(&mut s, Action::Cancel).is_empty());
    assert!(matches!(s.overlay, Overlay::None));
    update(&mut s, Action::EditSection);
    type_text(&mut s, "typed ");
    update(&mut s, Action::Quit);
    assert!(!s.quit);
    let Overlay::Confirm { question, .. } = &s.overlay else {
        panic!("{:?}", s.overlay)
    };
    assert!(question.contains("unsaved edits"), "{question}");
    update(&mut s, key('x'));
    assert!(
        matches!(s.overlay, Overlay::Editor { .. }),
        "back to the editor"
    );
    update(&mut s, Action::Quit);
    let effects = update(&mut s, key('s'));
    assert_eq!(saves(&effects).len(), 1);
    assert!(effects.contains(&Effect::Quit) && s.quit);
}

#[test]
fn discarding_in_the_editor_is_an_answer_not_a_default() {
    let mut s = done(2);
    update(&mut s, Action::EditSection);
    type_text(&mut s, "typed ");
    update(&mut s, Action::Cancel);
    assert!(matches!(s.overlay, Overlay::Confirm { .. }));
    let effects = update(&mut s, key('d'));
    assert!(effects.is_empty() && matches!(s.overlay, Overlay::None));
    assert!(!s.text(1).starts_with("typed"));
}

#[test]
fn re_plan_over_hand_edits_asks_first() {
    let mut s = fixtures::review(3, 100, (80, 24));
    update(&mut s, Action::Replan);
    assert!(
        matches!(s.overlay, Overlay::Input { .. }),
        "unedited: no question"
    );
    update(&mut s, Action::Cancel);
    update(&mut s, Action::EditTarget);
    if let Overlay::Input { area, .. } = &mut s.overlay {
        area.select_all();
        area.cut();
    }
    type_text(&mut s, "250");
    update(&mut s, Action::Submit);
    update(&mut s, Action::Replan);
    let Overlay::Confirm {
        question, pending, ..
    } = &s.overlay
    else {
        panic!("{:?}", s.overlay)
    };
    assert!(question.contains("sections 1"), "{question}");
    assert!(matches!(**pending, Pending::Replan));
    update(&mut s, key('n'));
    assert_eq!(
        s.document.as_ref().unwrap().plan.sections[0].target_words,
        250
    );
    update(&mut s, Action::Replan);
    update(&mut s, key('y'));
    type_text(&mut s, "fewer parts");
    let effects = update(&mut s, Action::Submit);
    let [Effect::Plan(job)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(job.instruction.contains("250 words") && job.instruction.contains("fewer parts"));
}

#[test]
fn export_over_a_file_asks_and_y_replaces() {
    let mut s = done(2);
    let document = Box::new(s.document.clone().unwrap());
    update(
        &mut s,
        Action::ExportWouldReplace(Box::new(ExportRequest {
            path: "/tmp/x.md".into(),
            format: crate::export::ExportFormat::Md,
            document: *document,
            meta: crate::tui::fixtures::export_meta(),
        })),
    );
    let effects = update(&mut s, key('y'));
    assert!(matches!(
        effects.as_slice(),
        [Effect::Export {
            overwrite: true,
            ..
        }]
    ));
}

#[test]
fn deleting_a_section_with_text_asks() {
    let mut s = fixtures::review(3, 100, (80, 24));
    s.set_text(1, "hand text");
    s.selected = 1;
    update(&mut s, Action::DeleteSection);
    assert!(matches!(s.overlay, Overlay::Confirm { .. }));
    update(&mut s, key('n'));
    assert_eq!(s.section_count(), 3);
    update(&mut s, Action::DeleteSection);
    update(&mut s, key('y'));
    assert_eq!(s.section_count(), 2);
}

#[test]
fn a_failed_save_says_so_and_keeps_the_text() {
    let mut s = done(2);
    update(&mut s, Action::Saved(Err("disk full".into())));
    let Overlay::Error(text) = &s.overlay else {
        panic!("{:?}", s.overlay)
    };
    assert!(text.contains("disk full") && text.contains("still here"));
}

#[test]
fn sigterm_saves_the_editor_text_and_quits_without_asking() {
    let mut s = done(2);
    update(&mut s, Action::EditSection);
    type_text(&mut s, "typed ");
    update(&mut s, Action::Cancel);
    let effects = update(&mut s, Action::Terminate);
    assert_eq!(saves(&effects).len(), 1, "{effects:?}");
    assert!(effects.contains(&Effect::Quit) && s.text(1).starts_with("typed "));
}
