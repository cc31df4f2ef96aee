//! Plan review: select, edit title, main point and target in place, add, delete, move, re-plan
//! with a hint, and start writing. Field edits also work later, while the job is not running;
//! then the edited section and every written one after it become stale.

use super::super::action::Action;
use super::super::effect::Effect;
use super::super::state::{InputPurpose, JobState, Level, Screen, State};
use super::{confirm, open_input, save, scroll, writing};
use crate::plan::{Section, SectionState};
use crate::tui::chapters;

pub(super) fn review_action(state: &mut State, action: Action) -> Vec<Effect> {
    let n = state.section_count();
    let i = state.selected.min(n.saturating_sub(1));
    let reshapes = matches!(
        action,
        Action::AddSection | Action::DeleteSection | Action::MoveUp | Action::MoveDown
    );
    if reshapes && state.has_chapters() {
        // The chapters count their sections: a section added, deleted or moved here would
        // land outside its chapter's count.
        state.say(
            Level::Info,
            "a plan in chapters gets its sections as each chapter starts; \
             M edits the chapter's point, r re-plans",
        );
        return Vec::new();
    }
    match action {
        Action::EditTitle | Action::EditMainPoint | Action::EditTarget => edit_field(state, action),
        Action::EditChapterPoint => edit_chapter_point(state),
        Action::AddSection => {
            add_section(state, i);
            save(state).into_iter().collect()
        }
        Action::DeleteSection => confirm::delete_section(state, i),
        Action::MoveUp if i > 0 => {
            swap(state, i - 1, i);
            state.selected = i - 1;
            save(state).into_iter().collect()
        }
        Action::MoveDown if i + 1 < n => {
            swap(state, i, i + 1);
            state.selected = i + 1;
            save(state).into_iter().collect()
        }
        Action::Replan => confirm::replan(state),
        Action::StartWriting => writing::start(state),
        Action::NewDocument => {
            state.screen = Screen::Prompt;
            Vec::new()
        }
        other => {
            scroll::navigate(state, other);
            Vec::new()
        }
    }
}

/// Opens the input for the selected section's title, main point or target.
pub(super) fn edit_field(state: &mut State, action: Action) -> Vec<Effect> {
    if state.job_state.is_running() {
        state.say(Level::Warning, "pause first (space) to edit the plan");
        return Vec::new();
    }
    let i = state.selected;
    let Some(plan) = state.document.as_ref().map(|d| &d.plan) else {
        return Vec::new();
    };
    if let Some(c) = chapters::heading(plan, state.heading) {
        state.say(
            Level::Info,
            format!(
                "chapter {} gets its sections when it starts; M edits its point",
                c + 1
            ),
        );
        return Vec::new();
    }
    let Some(section) = plan.sections.get(i) else {
        return Vec::new();
    };
    let (purpose, text) = match action {
        Action::EditTitle => (InputPurpose::Title(i), section.title.clone()),
        Action::EditMainPoint => (InputPurpose::MainPoint(i), section.main_point.clone()),
        _ => (InputPurpose::Target(i), section.target_words.to_string()),
    };
    open_input(state, purpose, &text);
    Vec::new()
}

/// Opens the input for the main point of the selected section's chapter.
pub(super) fn edit_chapter_point(state: &mut State) -> Vec<Effect> {
    if state.job_state.is_running() {
        state.say(Level::Warning, "pause first (space) to edit the plan");
        return Vec::new();
    }
    let Some(plan) = state.document.as_ref().map(|d| &d.plan) else {
        return Vec::new();
    };
    let Some(c) = chapters::selected_chapter(plan, state.selected, state.heading) else {
        state.say(Level::Info, "this plan has no chapters");
        return Vec::new();
    };
    let point = plan.chapters[c].main_point.clone();
    open_input(state, InputPurpose::ChapterPoint(c), &point);
    Vec::new()
}

/// Applies an edited chapter point: the chapter's written sections go stale, the ones not
/// written yet are dropped, to be planned again when the chapter is written.
pub(super) fn apply_chapter_point(state: &mut State, chapter: usize, text: String) {
    let Some(mut doc) = state.document.take() else {
        return;
    };
    if text.is_empty() || doc.plan.chapters.get(chapter).map(|c| &c.main_point) == Some(&text) {
        state.document = Some(doc);
        return;
    }
    let before = doc.plan.sections.len();
    doc.edit_chapter_point(chapter, text);
    let stale = doc.plan.sections[doc.plan.chapter_range(chapter)]
        .iter()
        .filter(|s| s.state == SectionState::Stale)
        .count();
    let dropped = before - doc.plan.sections.len();
    let n = doc.plan.sections.len();
    state.selected = state.selected.min(n.saturating_sub(1));
    state.current = state.current.filter(|c| *c < n);
    state.set_document(Some(doc));
    if stale + dropped == 0 {
        let message = format!("chapter {}: main point changed", chapter + 1);
        state.say(Level::Info, message);
        return;
    }
    state.say(
        Level::Warning,
        format!(
            "chapter {}: {stale} written section(s) are now stale (W rewrites them); \
             {dropped} unwritten one(s) will be planned again",
            chapter + 1
        ),
    );
}

/// Folds or unfolds the selected section's chapter in the plan tree.
pub(super) fn toggle_chapter(state: &mut State) {
    let Some(plan) = state.document.as_ref().map(|d| &d.plan) else {
        return;
    };
    let Some(c) = chapters::selected_chapter(plan, state.selected, state.heading) else {
        return;
    };
    if plan.chapter_range(c).is_empty() {
        let message = format!("chapter {} has no sections yet to fold", c + 1);
        state.say(Level::Info, message);
        return;
    }
    if !state.folded.remove(&c) {
        state.folded.insert(c);
        // The chapter's first section stands for it while it is folded.
        let start = plan.chapter_range(c).start;
        if plan.chapter_of(state.selected) == Some(c) {
            state.selected = start;
        }
    }
}

/// Applies an edited field; a changed written section and the written ones after it go stale.
pub(super) fn apply_field(state: &mut State, purpose: InputPurpose, i: usize, text: String) {
    let Some(section) = state
        .document
        .as_mut()
        .and_then(|d| d.plan.sections.get_mut(i))
    else {
        return;
    };
    let changed = match purpose {
        InputPurpose::Title(_) if !text.is_empty() => {
            std::mem::replace(&mut section.title, text.clone()) != text
        }
        InputPurpose::MainPoint(_) => {
            std::mem::replace(&mut section.main_point, text.clone()) != text
        }
        InputPurpose::Target(_) => match text.parse::<crate::writer::TargetWords>() {
            Ok(n) => std::mem::replace(&mut section.target_words, n.get()) != n.get(),
            _ => {
                state.say(
                    Level::Error,
                    format!("{text:?} is not a word count; target unchanged"),
                );
                return;
            }
        },
        _ => {
            state.say(Level::Error, "a title cannot be empty; unchanged");
            return;
        }
    };
    if changed && state.job_state != JobState::Idle {
        mark_stale_from(state, i);
    }
}

/// Marks section `from` and every later done section stale.
pub(crate) fn mark_stale_from(state: &mut State, from: usize) {
    let Some(doc) = state.document.as_mut() else {
        return;
    };
    let mut count = 0;
    for section in doc.plan.sections.iter_mut().skip(from) {
        if section.state == SectionState::Done {
            section.state = SectionState::Stale;
            count += 1;
        }
    }
    if count > 0 {
        state.say(
            Level::Warning,
            format!("{count} written section(s) are now stale; W rewrites them"),
        );
    }
}

fn add_section(state: &mut State, i: usize) {
    let Some(doc) = state.document.as_mut() else {
        return;
    };
    if doc.plan.sections.len() >= crate::plan::MAX_SECTIONS {
        state.say(Level::Warning, "the plan has the most sections allowed");
        return;
    }
    let at = (i + 1).min(doc.plan.sections.len());
    let target = doc.plan.sections.get(i).map_or(500, |s| s.target_words);
    state.insert_section(
        at,
        Section {
            title: "New section".into(),
            main_point: String::new(),
            target_words: target,
            state: SectionState::Planned,
        },
    );
    state.selected = at;
    open_input(state, InputPurpose::Title(at), "New section");
}

/// Deletes section `i` (the caller asked first if it had text).
pub(super) fn delete_section(state: &mut State, i: usize) {
    let Some(doc) = state.document.as_mut() else {
        return;
    };
    if doc.plan.sections.len() <= 1 {
        state.say(Level::Warning, "a plan needs at least one section");
        return;
    }
    let Some(section) = state.remove_section(i) else {
        return;
    };
    state.selected = i.min(state.section_count().saturating_sub(1));
    state.say(Level::Info, format!("deleted \"{}\"", section.title));
}

fn swap(state: &mut State, a: usize, b: usize) {
    state.swap_sections(a, b);
}
