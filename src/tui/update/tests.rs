//! Unit tests of `update`, at least one per action.

use super::update;
use crate::export::ExportFormat;
use crate::plan::SectionState;
use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::fixtures::{self, type_text};
use crate::tui::state::{Focus, InputPurpose, JobState, Level, Overlay, Screen, State};
use crate::writer::JobEvent;
use ratatui_textarea::{Input, Key};

fn state_of(s: &State, i: usize) -> SectionState {
    s.document.as_ref().unwrap().plan.sections[i].state
}

fn input_text(s: &mut State, text: &str) -> Vec<Effect> {
    if let Overlay::Input { area, .. } = &mut s.overlay {
        area.select_all();
        area.cut();
    }
    type_text(s, text);
    update(s, Action::Submit)
}

#[test]
fn empty_prompt_is_refused_with_a_hint() {
    let mut s = fixtures::fresh();
    type_text(&mut s, "   ");
    assert!(update(&mut s, Action::Submit).is_empty());
    assert_eq!(s.screen, Screen::Prompt);
    let (level, text) = s.message.clone().unwrap();
    assert_eq!(level, Level::Error);
    assert!(text.contains("prompt is empty"), "{text}");
}

#[test]
fn submit_plans_with_the_target_from_the_field_or_prompt() {
    let mut s = fixtures::fresh();
    type_text(&mut s, "Write 3000 words on tea");
    update(&mut s, Action::FocusNext);
    assert!(s.words_focused);
    type_text(&mut s, "x12");
    let effects = update(&mut s, Action::Submit);
    let [Effect::Plan(job)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(job.target_words, 12);
    assert_eq!(s.screen, Screen::Planning);
    update(&mut s, Action::PlanFinished(Err("boom".into())));
    assert_eq!(s.screen, Screen::Prompt);
    assert!(matches!(s.overlay, Overlay::Error(_)));
}

#[test]
fn planning_can_be_abandoned() {
    let mut s = fixtures::fresh();
    type_text(&mut s, "Write a poem");
    update(&mut s, Action::Submit);
    assert_eq!(update(&mut s, Action::Cancel), vec![Effect::Cancel]);
    assert_eq!(s.screen, Screen::Prompt);
}

#[test]
fn help_cancel_quit_and_theme() {
    let mut s = fixtures::review(3, 100, (80, 24));
    update(&mut s, Action::Help);
    assert!(matches!(s.overlay, Overlay::Help { .. }));
    update(&mut s, Action::Cancel);
    assert!(matches!(s.overlay, Overlay::None));
    assert_eq!(
        update(&mut s, Action::CycleTheme),
        vec![Effect::SetTheme("light".into())]
    );
    assert_eq!(update(&mut s, Action::Quit), vec![Effect::Quit]);
    assert!(s.quit);
}

#[test]
fn navigation_in_the_tree() {
    let mut s = fixtures::review(5, 100, (80, 24));
    update(&mut s, Action::Down);
    update(&mut s, Action::Down);
    assert_eq!(s.selected, 2);
    update(&mut s, Action::Up);
    assert_eq!(s.selected, 1);
    update(&mut s, Action::Bottom);
    assert_eq!(s.selected, 4);
    update(&mut s, Action::Top);
    assert_eq!(s.selected, 0);
    update(&mut s, Action::PageDown);
    assert!(s.selected > 0);
    update(&mut s, Action::PageUp);
    assert_eq!(s.selected, 0);
}

#[test]
fn plan_edits_add_delete_move() {
    let mut s = fixtures::review(3, 100, (80, 24));
    update(&mut s, Action::EditTitle);
    input_text(&mut s, "Dawn");
    update(&mut s, Action::EditMainPoint);
    input_text(&mut s, "The first light");
    update(&mut s, Action::EditTarget);
    input_text(&mut s, "250");
    let sec = &s.document.as_ref().unwrap().plan.sections[0];
    assert_eq!(
        (
            sec.title.as_str(),
            sec.main_point.as_str(),
            sec.target_words
        ),
        ("Dawn", "The first light", 250)
    );
    assert_eq!(s.total_target(), 450);
    update(&mut s, Action::EditTarget);
    input_text(&mut s, "lots");
    assert_eq!(s.total_target(), 450, "a bad target is refused");
    update(&mut s, Action::AddSection);
    input_text(&mut s, "Interlude");
    assert_eq!(s.section_count(), 4);
    assert_eq!(s.selected, 1);
    update(&mut s, Action::MoveUp);
    assert_eq!(
        s.document.as_ref().unwrap().plan.sections[0].title,
        "Interlude"
    );
    update(&mut s, Action::MoveDown);
    assert_eq!(
        s.document.as_ref().unwrap().plan.sections[1].title,
        "Interlude"
    );
    update(&mut s, Action::DeleteSection);
    assert_eq!(s.section_count(), 3);
    assert_eq!(s.document.as_ref().unwrap().drafts.len(), 3);
}

#[test]
fn replan_with_hint_and_new_document() {
    let mut s = fixtures::review(3, 100, (80, 24));
    update(&mut s, Action::Replan);
    let effects = input_text(&mut s, "more storms");
    let [Effect::Plan(job)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(job.instruction.contains("more storms"));
    update(&mut s, Action::PlanFinished(Ok(fixtures::plan(4, 50))));
    assert_eq!(s.section_count(), 4);
    update(&mut s, Action::NewDocument);
    assert_eq!(s.screen, Screen::Prompt);
}

#[test]
fn write_pause_keeps_streamed_text_and_resume_continues() {
    let mut s = fixtures::review(2, 100, (80, 24));
    let effects = update(&mut s, Action::StartWriting);
    assert!(matches!(effects.as_slice(), [Effect::Write { .. }]));
    assert_eq!(s.job_state, JobState::Running);
    update(
        &mut s,
        Action::Job(JobEvent::SectionStarted {
            index: 0,
            title: "t".into(),
            target_words: 100,
        }),
    );
    update(
        &mut s,
        Action::Job(JobEvent::Delta {
            index: 0,
            text: "Half a ".into(),
        }),
    );
    update(
        &mut s,
        Action::Job(JobEvent::Delta {
            index: 0,
            text: "section.".into(),
        }),
    );
    assert_eq!(update(&mut s, Action::PauseResume), vec![Effect::Cancel]);
    let mut doc = s.document.clone().unwrap();
    doc.drafts[0]
        .turns
        .push(crate::backend::ChatMessage::user("step"));
    doc.plan.sections[0].state = SectionState::Writing;
    update(
        &mut s,
        Action::WriteFinished {
            document: Box::new(doc),
            error: Some("stopped".into()),
            cancelled: true,
        },
    );
    assert_eq!(s.job_state, JobState::Paused);
    assert_eq!(
        s.document.as_ref().unwrap().drafts[0].text(),
        "Half a section."
    );
    let effects = update(&mut s, Action::PauseResume);
    let [Effect::Write { document, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(document.drafts[0].text(), "Half a section.");
}

#[test]
fn stop_and_failure_keep_text() {
    let mut s = fixtures::writing(2, 100, 0, 30, (80, 24));
    assert_eq!(update(&mut s, Action::Stop), vec![Effect::Cancel]);
    let doc = s.document.clone().unwrap();
    update(
        &mut s,
        Action::WriteFinished {
            document: Box::new(doc),
            error: Some("x".into()),
            cancelled: true,
        },
    );
    assert_eq!(s.job_state, JobState::Stopped);
    let mut s = fixtures::writing(2, 100, 0, 30, (80, 24));
    update(
        &mut s,
        Action::Job(JobEvent::Retrying {
            attempt: 2,
            max_attempts: 5,
            delay_ms: 4000,
            error: "503".into(),
        }),
    );
    assert_eq!(s.stats.retry.as_ref().map(|r| r.attempt), Some(2));
    let doc = s.document.clone().unwrap();
    update(
        &mut s,
        Action::WriteFinished {
            document: Box::new(doc),
            error: Some("server error 500".into()),
            cancelled: false,
        },
    );
    assert!(matches!(s.job_state, JobState::Failed(_)));
    assert_eq!(s.message.as_ref().unwrap().0, Level::Error);
    assert!(
        s.document.as_ref().unwrap().drafts[0].words() >= 30,
        "text so far is in the document"
    );
}

#[test]
fn edits_mark_later_sections_stale_and_rewrite_stale_rewrites_them() {
    let mut s = fixtures::writing(3, 100, 3, 0, (80, 24));
    let doc = s.document.clone().unwrap();
    update(
        &mut s,
        Action::WriteFinished {
            document: Box::new(doc),
            error: None,
            cancelled: false,
        },
    );
    assert_eq!(s.job_state, JobState::Done);
    update(&mut s, Action::FocusNext);
    update(&mut s, Action::Top);
    update(&mut s, Action::EditSection);
    assert!(matches!(s.overlay, Overlay::Editor { index: 0, .. }));
    type_text(&mut s, "New opening. ");
    update(&mut s, Action::Submit);
    assert!(s.text(0).starts_with("New opening. "));
    assert_eq!(state_of(&s, 1), SectionState::Stale);
    assert_eq!(state_of(&s, 2), SectionState::Stale);
    let effects = update(&mut s, Action::RewriteStale);
    let [Effect::Write { document, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(document.plan.sections[0].state, SectionState::Done);
    assert!(document.drafts[1].turns.is_empty());
}

#[test]
fn regenerate_with_hint_and_external_edit() {
    let mut s = fixtures::writing(2, 100, 2, 0, (80, 24));
    let doc = s.document.clone().unwrap();
    update(
        &mut s,
        Action::WriteFinished {
            document: Box::new(doc),
            error: None,
            cancelled: false,
        },
    );
    update(&mut s, Action::Top);
    update(&mut s, Action::FocusNext);
    assert_eq!(s.focus, Focus::Tree);
    update(&mut s, Action::Top);
    let effects = update(&mut s, Action::ExternalEdit);
    assert!(matches!(
        effects.as_slice(),
        [Effect::ExternalEdit { index: 0, .. }]
    ));
    update(
        &mut s,
        Action::ExternallyEdited {
            index: 0,
            text: Ok("Edited.".into()),
        },
    );
    assert_eq!(s.text(0), "Edited.");
    assert_eq!(state_of(&s, 1), SectionState::Stale);
    update(&mut s, Action::Regenerate);
    let effects = input_text(&mut s, "shorter");
    let [Effect::Write { document, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(document.plan.sections[0].main_point.contains("shorter"));
    assert!(document.drafts[0].turns.is_empty());
    assert_eq!(
        document.plan.sections[1].state,
        SectionState::Stale,
        "stale is kept (the writer skips it), not rewritten"
    );
}

#[test]
fn running_job_blocks_destructive_actions() {
    let mut s = fixtures::writing(2, 100, 0, 10, (80, 24));
    for action in [
        Action::Regenerate,
        Action::EditSection,
        Action::ExternalEdit,
        Action::RewriteStale,
        Action::EditTitle,
        Action::NewDocument,
    ] {
        assert!(update(&mut s, action).is_empty());
        assert!(matches!(s.overlay, Overlay::None));
    }
}

#[test]
fn stream_scroll_follow_open_and_search() {
    let mut s = fixtures::writing(3, 800, 1, 700, (80, 24));
    assert!(s.stream.follow);
    assert_eq!(s.focus, Focus::Stream);
    update(&mut s, Action::Up);
    assert!(!s.stream.follow);
    let top = s.stream.top;
    update(&mut s, Action::PageUp);
    assert!(s.stream.top < top);
    update(&mut s, Action::Bottom);
    assert!(s.stream.follow);
    update(&mut s, Action::FocusNext);
    update(&mut s, Action::Top);
    update(&mut s, Action::OpenSection);
    assert_eq!(s.stream.section, 0);
    assert!(!s.stream.follow);
    update(&mut s, Action::Follow);
    assert_eq!(s.stream.section, 1);
    update(&mut s, Action::Search);
    input_text(&mut s, "KEEPER");
    let n = s.search.as_ref().unwrap().matches.len();
    assert!(n > 10);
    update(&mut s, Action::NextMatch);
    assert_eq!(s.search.as_ref().unwrap().at, 1);
    update(&mut s, Action::Search);
    input_text(&mut s, "zebra");
    assert!(s.search.is_none());
}

#[test]
fn export_asks_for_a_path() {
    let mut s = fixtures::writing(2, 100, 2, 0, (80, 24));
    let doc = s.document.clone().unwrap();
    update(
        &mut s,
        Action::WriteFinished {
            document: Box::new(doc),
            error: None,
            cancelled: false,
        },
    );
    update(&mut s, Action::ExportMarkdown);
    assert!(matches!(
        s.overlay,
        Overlay::Input {
            purpose: InputPurpose::ExportPath(_),
            ..
        }
    ));
    let effects = update(
        &mut s,
        Action::Input(Input {
            key: Key::Enter,
            ..Input::default()
        }),
    );
    let [Effect::Export { request, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(request.path.to_string_lossy().ends_with(".md"));
    assert_eq!(request.format, ExportFormat::Md);
    update(&mut s, Action::ExportText);
    let effects = input_text(&mut s, "out.txt");
    assert!(matches!(effects.as_slice(), [Effect::Export { .. }]));
    update(&mut s, Action::Exported(Ok("out.txt".into())));
    assert!(s.message.as_ref().unwrap().1.contains("out.txt"));
}

#[test]
fn the_export_dialog_picks_the_format_by_extension_and_asks_title_and_author() {
    let mut s = fixtures::writing(2, 100, 2, 0, (80, 24));
    s.export_title = "The Lighthouse".into();
    update(&mut s, Action::ExportMarkdown);
    let Overlay::Input { purpose, .. } = &s.overlay else {
        panic!("no input")
    };
    assert!(purpose.label().contains(".epub"), "{}", purpose.label());
    // A format without a title page exports at once.
    let effects = input_text(&mut s, "book.jsonl");
    let [Effect::Export { request, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(request.format, ExportFormat::Jsonl);
    // An unknown extension names the known formats and exports nothing.
    update(&mut s, Action::ExportMarkdown);
    let effects = input_text(&mut s, "book.pdf");
    assert!(effects.is_empty());
    let message = &s.message.as_ref().unwrap().1;
    assert!(
        message.contains("md, txt, html, epub, docx, jsonl"),
        "{message}"
    );
    // (Too long for the status line at 80 columns: shown in a box, dismissed.)
    assert!(matches!(s.overlay, Overlay::Error(_)));
    update(&mut s, Action::Cancel);
    // EPUB asks for the title, then the author, each prefilled.
    update(&mut s, Action::ExportMarkdown);
    assert!(input_text(&mut s, "book.epub").is_empty());
    let Overlay::Input { purpose, area } = &s.overlay else {
        panic!("no title input")
    };
    assert_eq!(*purpose, InputPurpose::ExportTitle);
    assert_eq!(area.lines().join(""), "The Lighthouse");
    assert!(input_text(&mut s, "The Lighthouse, Revised").is_empty());
    let Overlay::Input { purpose, .. } = &s.overlay else {
        panic!("no author input")
    };
    assert_eq!(*purpose, InputPurpose::ExportAuthor);
    let effects = input_text(&mut s, "Ann Smith");
    let [Effect::Export { request, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(request.format, ExportFormat::Epub);
    assert_eq!(request.meta.title, "The Lighthouse, Revised");
    assert_eq!(request.meta.author.as_deref(), Some("Ann Smith"));
    assert_eq!(s.export_author, "Ann Smith", "kept for the next export");
}

#[test]
fn ticks_measure_speed_and_resize_rewraps() {
    let mut s = fixtures::writing(2, 100, 0, 50, (80, 24));
    assert!(s.stats.tok_per_s() > 0.0);
    assert!(s.stats.elapsed_ms >= 11_000);
    let lines = s.stream.wrapped.lines.len();
    update(&mut s, Action::Resize(220, 40));
    assert!(s.stream.wrapped.lines.len() < lines);
}
