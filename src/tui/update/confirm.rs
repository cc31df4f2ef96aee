//! Nothing is discarded without asking: the one-key questions before unsaved editor text,
//! a hand-edited plan, an existing file or a section's text would be lost, and their answers.
//!
//! Each question names what would be lost; its keys are listed in the dialog, and any other
//! key is the answer that keeps everything.

use super::super::action::Action;
use super::super::effect::{Effect, ExportRequest};
use super::super::state::{InputPurpose, Level, Overlay, Pending, State};
use super::{open_input, review, save, writing};
use crate::text::count_words;
use ratatui_textarea::{Key, TextArea};

fn ask(state: &mut State, question: String, choices: Vec<(char, &'static str)>, pending: Pending) {
    let (choices, otherwise): (Vec<_>, Vec<_>) = choices.into_iter().partition(|(c, _)| *c != '·');
    state.overlay = Overlay::Confirm {
        question,
        choices,
        otherwise: otherwise
            .first()
            .map_or("any other key: cancel", |(_, o)| o),
        pending: Box::new(pending),
    };
}

/// The editor's text differs from the section's.
fn unsaved(state: &State, index: usize, area: &TextArea<'static>) -> bool {
    area.lines().join("\n") != state.text(index)
}

/// Leaves the section editor (`esc`, or quitting with `quit`): asks first when its text is
/// not saved.
pub(super) fn leave_editor(
    state: &mut State,
    index: usize,
    area: Box<TextArea<'static>>,
    quit: bool,
) -> Vec<Effect> {
    if !unsaved(state, index, &area) {
        return if quit { super::quit(state) } else { Vec::new() };
    }
    let words = count_words(&area.lines().join("\n"));
    let then = if quit { " and quit" } else { "" };
    let question = format!(
        "Section {} has unsaved edits ({words} words in the editor). Save them{then}, or discard them{then}?",
        index + 1
    );
    let choices = if quit {
        vec![('s', "save and quit"), ('d', "discard and quit")]
    } else {
        vec![('s', "save"), ('d', "discard")]
    };
    let choices = [choices, vec![('·', "any other key: back to the editor")]].concat();
    ask(
        state,
        question,
        choices,
        Pending::LeaveEditor { index, area, quit },
    );
    Vec::new()
}

/// `r` in plan review: asks first when the plan was edited by hand.
pub(super) fn replan(state: &mut State) -> Vec<Effect> {
    let edited = edited_sections(state);
    if edited.is_empty() {
        open_input(state, InputPurpose::ReplanHint, "");
        return Vec::new();
    }
    let list: Vec<String> = edited.iter().map(|i| (i + 1).to_string()).collect();
    let question = format!(
        "Re-planning replaces the plan you edited by hand (sections {}). The new request carries your plan and hint, but the model may change anything. Re-plan?",
        list.join(", ")
    );
    ask(
        state,
        question,
        vec![('y', "re-plan"), ('·', "any other key: keep this plan")],
        Pending::Replan,
    );
    Vec::new()
}

/// Sections whose title, point or target differ from the model's plan (every section when
/// that plan is unknown, or when sections were added, deleted or moved).
pub(super) fn edited_sections(state: &State) -> Vec<usize> {
    let Some(doc) = &state.document else {
        return Vec::new();
    };
    let now = &doc.plan.sections;
    let Some(planned) = &state.planned else {
        return (0..now.len()).collect();
    };
    let same = |a: &crate::plan::Section, b: &crate::plan::Section| {
        a.title == b.title && a.main_point == b.main_point && a.target_words == b.target_words
    };
    if planned.sections.len() != now.len() {
        return (0..now.len()).collect();
    }
    (0..now.len())
        .filter(|&i| !same(&planned.sections[i], &now[i]))
        .collect()
}

/// `d` in plan review: asks first when the section has text.
pub(super) fn delete_section(state: &mut State, index: usize) -> Vec<Effect> {
    let words = state.words_of(index);
    if words == 0 {
        review::delete_section(state, index);
        return save(state).into_iter().collect();
    }
    let question = format!(
        "Section {} has {words} written words. Delete the section and its text?",
        index + 1
    );
    ask(
        state,
        question,
        vec![('y', "delete"), ('·', "any other key: keep it")],
        Pending::DeleteSection(index),
    );
    Vec::new()
}

/// The runner found the export's file already there.
pub(super) fn export_would_replace(state: &mut State, request: Box<ExportRequest>) {
    let question = format!(
        "{} exists. Replace it with this document?",
        request.path.display()
    );
    ask(
        state,
        question,
        vec![('y', "replace"), ('·', "any other key: keep the file")],
        Pending::Export(request),
    );
}

/// A key while a question is open.
pub(super) fn answer(state: &mut State, pending: Pending, action: &Action) -> Vec<Effect> {
    let key = match action {
        Action::Input(input) if !input.ctrl && !input.alt => match input.key {
            Key::Char(c) => Some(c.to_ascii_lowercase()),
            _ => None,
        },
        _ => None,
    };
    match (pending, key) {
        (Pending::LeaveEditor { index, quit, .. }, Some('d')) => {
            state.say(Level::Info, format!("section {} edit discarded", index + 1));
            if quit {
                return super::quit(state);
            }
            Vec::new()
        }
        (Pending::LeaveEditor { index, area, quit }, Some('s')) => {
            let mut effects = writing::replace_text(state, index, area.lines().join("\n"));
            if quit {
                effects.extend(super::quit(state));
            }
            effects
        }
        (Pending::LeaveEditor { index, area, .. }, _) => {
            state.overlay = Overlay::Editor { index, area };
            Vec::new()
        }
        (Pending::Replan, Some('y')) => {
            open_input(state, InputPurpose::ReplanHint, "");
            Vec::new()
        }
        (Pending::Export(request), Some('y')) => vec![Effect::Export {
            request,
            overwrite: true,
        }],
        (Pending::DeleteSection(i), Some('y')) => {
            review::delete_section(state, i);
            save(state).into_iter().collect()
        }
        (Pending::Export(request), _) => {
            state.say(
                Level::Info,
                format!("not exported; {} kept", request.path.display()),
            );
            Vec::new()
        }
        (_, _) => {
            state.say(Level::Info, "nothing changed");
            Vec::new()
        }
    }
}
