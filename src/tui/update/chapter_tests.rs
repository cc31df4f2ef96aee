//! The studio with a plan in chapters: the writer's chapter plans reach the tree, chapters
//! fold and unfold (`z`), and editing a chapter's point stales its written sections and drops
//! its unwritten ones to be planned again.

use super::update;
use crate::plan::{fallback_chapters, Plan, SectionState};
use crate::tui::action::Action;
use crate::tui::chapters::{tree_rows, TreeRow};
use crate::tui::fixtures;
use crate::tui::state::{Focus, JobState, Overlay, State};
use crate::tui::theme::Theme;
use crate::writer::JobEvent;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// Six sections in chapters 1 and 2 (three each), four written; chapter 3 not planned.
fn chaptered() -> State {
    let mut s = fixtures::writing(6, 100, 4, 0, (100, 30));
    let doc = s.document.as_mut().expect("a document");
    doc.plan.chapters = fallback_chapters(15_000, false);
    doc.plan.chapters[0].sections = 3;
    doc.plan.chapters[1].sections = 3;
    doc.plan.chapters[0].planned = true;
    doc.plan.chapters[1].planned = true;
    s.job_state = JobState::Stopped;
    s.focus = Focus::Tree;
    s
}

fn screen(s: &mut State) -> String {
    screen_at(s, (100, 30))
}

fn screen_at(s: &mut State, (w, h): (u16, u16)) -> String {
    update(s, Action::Resize(w, h));
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| crate::tui::view::draw(f, s, &Theme::default(), &fixtures::keymap()))
        .unwrap();
    terminal.backend().to_string()
}

/// A plan in three chapters under review, as the planner hands it to the studio.
fn chapter_review() -> State {
    let mut s = fixtures::fresh();
    update(&mut s, Action::Resize(100, 30));
    fixtures::type_text(&mut s, "Write a 15000-word history of a lighthouse");
    update(&mut s, Action::Submit);
    let plan = Plan::of_chapters(fallback_chapters(15_000, false), false);
    update(&mut s, Action::PlanFinished(Ok(plan)));
    s
}

#[test]
fn a_chapter_plan_is_reviewed_as_chapters_and_keeps_its_shape() {
    let mut s = chapter_review();
    let (_, message) = s.message.clone().expect("a message");
    assert!(message.contains("plan ready: 3 chapters"), "{message}");
    let shown = screen_at(&mut s, (160, 40));
    assert!(
        shown.contains("15,000 words in 3 chapters, 0 sections planned"),
        "{shown}"
    );
    assert!(
        !shown.contains(" add "),
        "no key to add a section:\n{shown}"
    );
    for action in [Action::AddSection, Action::DeleteSection, Action::MoveDown] {
        update(&mut s, action.clone());
        let plan = &s.document.as_ref().unwrap().plan;
        assert!(plan.sections.is_empty(), "{action:?} changed the sections");
        assert!(plan.chapters.iter().all(|c| c.sections == 0 && !c.planned));
        let (_, message) = s.message.clone().expect("a message");
        assert!(message.contains("as each chapter starts"), "{message}");
    }
}

#[test]
fn under_review_j_and_k_select_each_chapter_and_m_edits_its_point() {
    let mut s = chapter_review();
    s.focus = Focus::Tree;
    update(&mut s, Action::Down);
    update(&mut s, Action::Down);
    assert_eq!(s.heading, Some(2));
    update(&mut s, Action::Down);
    assert_eq!(s.heading, Some(2), "the last stays");
    let shown = screen_at(&mut s, (160, 40));
    assert!(shown.contains("Chapter    3 of 3"), "{shown}");
    update(&mut s, Action::ToggleChapter);
    assert!(s.folded.is_empty(), "nothing to fold");
    update(&mut s, Action::EditTitle);
    assert!(matches!(s.overlay, Overlay::None), "no section to edit");
    update(&mut s, Action::EditChapterPoint);
    if let Overlay::Input { area, .. } = &mut s.overlay {
        area.select_all();
        area.cut();
    } else {
        panic!("no input for the chapter point");
    }
    fixtures::type_text(&mut s, "The automation years");
    update(&mut s, Action::Submit);
    let plan = &s.document.as_ref().unwrap().plan;
    assert_eq!(plan.chapters[2].main_point, "The automation years");
    assert!(plan.chapters[..2]
        .iter()
        .all(|c| c.main_point != "The automation years"));
    let (_, message) = s.message.clone().expect("a message");
    assert_eq!(message, "chapter 3: main point changed");
    update(&mut s, Action::Top);
    assert_eq!(s.heading, Some(0));
    assert!(screen_at(&mut s, (160, 40)).contains("Chapter    1 of 3"));
}

#[test]
fn chapters_fold_and_unfold_in_the_tree() {
    let mut s = chaptered();
    let open = screen(&mut s);
    assert!(open.contains("▾ Ch 1 Chapter 1"), "{open}");
    assert!(open.contains("▾ Ch 3 Chapter 3"), "{open}");
    s.selected = 1;
    update(&mut s, Action::ToggleChapter);
    assert!(s.folded.contains(&0));
    assert_eq!(s.selected, 0, "the chapter's first section stands for it");
    let folded = screen(&mut s);
    assert!(folded.contains("▸ Ch 1 Chapter 1"), "{folded}");
    let plan = &s.document.as_ref().unwrap().plan;
    let rows = tree_rows(plan, &s.folded);
    assert!(
        !rows.contains(&TreeRow::Section(1)),
        "its sections are hidden"
    );
    assert_eq!(rows[1], TreeRow::Chapter(1));
    update(&mut s, Action::Down);
    assert_eq!(s.selected, 3, "a folded chapter is one step");
    update(&mut s, Action::Up);
    assert_eq!(s.selected, 0);
    update(&mut s, Action::ToggleChapter);
    assert!(s.folded.is_empty());
    assert!(screen(&mut s).contains("▾ Ch 1 Chapter 1"));
}

#[test]
fn a_folded_heading_counts_its_sections_where_the_title_fits() {
    let mut s = chaptered();
    s.document.as_mut().unwrap().plan.chapters[0].title = "Dawn".into();
    s.selected = 0;
    update(&mut s, Action::ToggleChapter);
    let folded = screen(&mut s);
    let row = folded
        .lines()
        .find(|l| l.contains("▸ Ch 1 Dawn"))
        .unwrap_or_else(|| panic!("no folded heading in:\n{folded}"));
    assert!(row.contains(" 3§ 300/5,000"), "{row}");
    update(&mut s, Action::ToggleChapter);
    let open = screen(&mut s);
    assert!(!open.contains('§'), "an open heading has no count:\n{open}");
}

#[test]
fn editing_a_chapter_point_stales_written_sections_and_drops_the_rest() {
    let mut s = chaptered();
    s.selected = 4;
    update(&mut s, Action::EditChapterPoint);
    assert!(matches!(s.overlay, Overlay::Input { .. }));
    if let Overlay::Input { area, .. } = &mut s.overlay {
        area.select_all();
        area.cut();
    }
    fixtures::type_text(&mut s, "The storm years");
    update(&mut s, Action::Submit);
    let doc = s.document.as_ref().expect("a document");
    assert_eq!(doc.plan.chapters[1].main_point, "The storm years");
    assert_eq!(
        doc.plan.sections.len(),
        4,
        "the unwritten sections are dropped"
    );
    assert_eq!(doc.plan.sections[3].state, SectionState::Stale);
    assert_eq!(doc.plan.sections[2].state, SectionState::Done);
    assert_eq!(
        doc.plan.next_unplanned(),
        Some(1),
        "planned again when written"
    );
    assert_eq!(doc.drafts.len(), 4);
    let (_, message) = s.message.clone().expect("a message");
    assert!(
        message.contains("1 written section(s) are now stale"),
        "{message}"
    );
}

#[test]
fn a_planned_chapter_reaches_the_tree() {
    let mut s = chaptered();
    let mut plan = s.document.as_ref().unwrap().plan.clone();
    let section = plan.sections[0].clone();
    plan.add_chapter_sections(2, vec![section; 2]);
    update(
        &mut s,
        Action::Job(JobEvent::ChapterPlanned {
            chapter: 2,
            sections: 2,
            plan,
        }),
    );
    let doc = s.document.as_ref().unwrap();
    assert_eq!((doc.plan.sections.len(), doc.drafts.len()), (8, 8));
    assert_eq!(s.section_count(), 8);
}

#[test]
fn the_progress_pane_names_the_chapter() {
    let mut s = chaptered();
    s.current = None;
    s.selected = 4;
    let shown = screen(&mut s);
    assert!(shown.contains("chapter 2/3"), "{shown}");
}

#[test]
fn a_chapter_plan_without_sections_yet_is_written_not_done() {
    let mut s = fixtures::review(1, 100, (100, 30));
    let mut doc = s.document.take().expect("a document");
    doc.adopt_plan(crate::plan::Plan::of_chapters(
        fallback_chapters(25_000, false),
        false,
    ));
    s.set_document(Some(doc));
    let effects = update(&mut s, Action::StartWriting);
    assert!(
        matches!(
            effects.as_slice(),
            [crate::tui::effect::Effect::Write { .. }]
        ),
        "{effects:?}"
    );
    assert_eq!(s.job_state, JobState::Running);
    assert!(screen(&mut s).contains("▾ Ch 5 Chapter 5"));
}
