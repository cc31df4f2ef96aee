//! `update(&mut State, Action) -> Vec<Effect>`: the studio's whole behaviour, with no I/O.
//!
//! Overlays get the first look at an action, then the screen's own handler. Submodules split
//! the work: `prompt` (the prompt screen and planning), `review` (plan edits), `writing` (job
//! control and job events), `scroll` (panes, stream wrapping, search, ticks).

mod confirm;
mod profiles;
mod prompt;
mod review;
mod runs;
mod scroll;
mod writing;

#[cfg(test)]
mod chapter_tests;
#[cfg(test)]
mod confirm_tests;
#[cfg(test)]
mod profiles_tests;
#[cfg(test)]
mod runs_tests;
#[cfg(test)]
mod tests;

pub use runs::start_following;

use super::action::Action;
use super::effect::ExportRequest;
use super::effect::{Effect, Save};
use super::state::{InputPurpose, JobState, Level, Overlay, Pending, Screen, State};
use crate::export::{ExportFormat, Meta};
use ratatui_textarea::TextArea;

/// Applies one action to the state and returns the I/O it calls for. A message that the
/// action did not renew is cleared when the mode changes under it (it spoke of the old mode).
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let (mode, said) = (state.mode(), state.message_said);
    let effects = apply(state, action);
    if state.mode() != mode && state.message_said == said {
        state.message = None;
    }
    effects
}

fn apply(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Tick(now) => {
            scroll::tick(state, now);
            return Vec::new();
        }
        Action::Resize(w, h) => {
            state.size = (w, h);
            scroll::refresh(state);
            return Vec::new();
        }
        Action::Job(event) => return writing::job_event(state, event),
        Action::PlanFinished(result) => return prompt::plan_finished(state, result),
        Action::WriteFinished {
            document,
            error,
            cancelled,
        } => return writing::write_finished(state, *document, error, cancelled),
        Action::Exported(result) => {
            match result {
                Ok(path) => state.say(Level::Info, format!("exported to {}", path.display())),
                Err(e) => state.overlay = Overlay::Error(format!("export failed: {e}")),
            }
            return Vec::new();
        }
        Action::ExportWouldReplace(request) => {
            confirm::export_would_replace(state, request);
            return Vec::new();
        }
        Action::Saved(result) => {
            saved(state, result);
            return Vec::new();
        }
        Action::ExternallyEdited { index, text } => {
            return match text {
                Ok(text) => writing::replace_text(state, index, text),
                Err(e) => {
                    state.overlay = Overlay::Error(format!(
                        "$EDITOR failed: {e}. Section {} is unchanged; set $VISUAL or $EDITOR to an editor that takes a file name, or press e for the built-in editor.",
                        index + 1
                    ));
                    Vec::new()
                }
            };
        }
        Action::Terminate => {
            let mut effects = Vec::new();
            let editor = match std::mem::take(&mut state.overlay) {
                Overlay::Editor { index, area } => Some((index, area)),
                Overlay::Confirm { pending, .. } => match *pending {
                    Pending::LeaveEditor { index, area, .. } => Some((index, area)),
                    _ => None,
                },
                _ => None,
            };
            if let Some((index, area)) = editor {
                effects = writing::replace_text(state, index, area.lines().join("\n"));
            }
            effects.extend(quit(state));
            return effects;
        }
        Action::Quit => {
            if let Overlay::Editor { index, area } = std::mem::take(&mut state.overlay) {
                return confirm::leave_editor(state, index, area, true);
            }
            return quit(state);
        }
        Action::ProjectOpened(id) => {
            state.project = Some(id);
            return Vec::new();
        }
        Action::Runs(rows) => {
            state.runs.selected = state.runs.selected.min(rows.len().saturating_sub(1));
            state.runs.rows = rows;
            return Vec::new();
        }
        Action::Followed(snapshot) => {
            runs::followed(state, *snapshot);
            return Vec::new();
        }
        Action::HandedOff(result) => return runs::handed_off(state, result),
        Action::ProfileSwitched(result) => {
            profiles::switched(state, result);
            return Vec::new();
        }
        _ => {}
    }
    match std::mem::take(&mut state.overlay) {
        Overlay::None => {}
        overlay => return overlay_action(state, overlay, action),
    }
    match action {
        Action::Help => {
            state.overlay = Overlay::Help { top: 0 };
            Vec::new()
        }
        Action::CycleTheme => {
            let next = super::theme::Theme::next_name(&state.theme_name).to_string();
            vec![Effect::SetTheme(next)]
        }
        Action::Dashboard => runs::toggle_dashboard(state),
        Action::ToggleChapter => {
            review::toggle_chapter(state);
            Vec::new()
        }
        other if state.following.is_some() && runs::changes_document(&other) => {
            state.say(
                Level::Warning,
                "read-only: this run is written elsewhere (D: dashboard, n: new document)",
            );
            Vec::new()
        }
        Action::HandOff if state.screen == Screen::Writing => runs::hand_off(state),
        other => match state.screen {
            Screen::Prompt => prompt::prompt_action(state, other),
            Screen::Planning => prompt::planning_action(state, other),
            Screen::Review => review::review_action(state, other),
            Screen::Writing => writing::writing_action(state, other),
            Screen::Dashboard => runs::dashboard_action(state, other),
        },
    }
}

pub(super) fn quit(state: &mut State) -> Vec<Effect> {
    state.quit = true;
    let mut effects = Vec::new();
    if state.job_state.is_running() {
        effects.push(Effect::Cancel);
    }
    effects.push(Effect::Quit);
    effects
}

/// Handles an action while an overlay is open; `overlay` was taken out of the state and is put
/// back unless the action closes it.
fn overlay_action(state: &mut State, overlay: Overlay, action: Action) -> Vec<Effect> {
    match overlay {
        Overlay::None => Vec::new(),
        Overlay::Help { .. } => {
            if let Action::HelpTo(top) = action {
                state.overlay = Overlay::Help { top };
            }
            Vec::new()
        }
        Overlay::Error(_) => match action {
            Action::Cancel | Action::Help | Action::Submit | Action::OpenSection => Vec::new(),
            Action::Input(_) | Action::StartWriting => Vec::new(),
            _ => {
                state.overlay = overlay;
                Vec::new()
            }
        },
        Overlay::Input { purpose, mut area } => match action {
            Action::Cancel => Vec::new(),
            Action::Submit => {
                let text = area.lines().join(" ");
                submit_input(state, purpose, text)
            }
            Action::Input(input) => {
                if input.key == ratatui_textarea::Key::Enter {
                    let text = area.lines().join(" ");
                    return submit_input(state, purpose, text);
                }
                area.input(input);
                state.overlay = Overlay::Input { purpose, area };
                Vec::new()
            }
            _ => {
                state.overlay = Overlay::Input { purpose, area };
                Vec::new()
            }
        },
        Overlay::Editor { index, mut area } => match action {
            Action::Cancel => confirm::leave_editor(state, index, area, false),
            Action::Submit => writing::replace_text(state, index, area.lines().join("\n")),
            Action::Input(input) => {
                area.input(input);
                state.overlay = Overlay::Editor { index, area };
                Vec::new()
            }
            _ => {
                state.overlay = Overlay::Editor { index, area };
                Vec::new()
            }
        },
        Overlay::Confirm { pending, .. } => confirm::answer(state, *pending, &action),
        Overlay::Profiles { selected } => profiles::key(state, selected, action),
    }
}

/// The effect that saves the document as it stands into its project, unless this studio only
/// follows a project written elsewhere or has no document.
pub(crate) fn save(state: &State) -> Option<Effect> {
    if state.following.is_some() {
        return None;
    }
    let job = state.job.clone()?;
    let document = writing::document_now(state)?;
    Some(Effect::Save(Box::new(Save {
        project: state.project.clone(),
        job,
        document,
        draft: state.job_state == JobState::Idle,
    })))
}

fn saved(state: &mut State, result: Result<String, String>) {
    match result {
        Ok(id) => state.project = Some(id),
        Err(e) => {
            state.overlay = Overlay::Error(format!(
                "cannot save to the project: {e}. Your text is still here; fix the problem (disk space, permissions) and save again (ctrl-s in the editor), or export it with x."
            ));
        }
    }
}

fn submit_input(state: &mut State, purpose: InputPurpose, text: String) -> Vec<Effect> {
    let text = text.trim().to_string();
    match purpose {
        InputPurpose::Title(i) | InputPurpose::MainPoint(i) | InputPurpose::Target(i) => {
            review::apply_field(state, purpose, i, text);
            save(state).into_iter().collect()
        }
        InputPurpose::ChapterPoint(c) => {
            review::apply_chapter_point(state, c, text);
            save(state).into_iter().collect()
        }
        InputPurpose::ReplanHint => prompt::replan(state, &text),
        InputPurpose::RegenerateHint(i) => writing::regenerate(state, i, &text),
        InputPurpose::Search => {
            scroll::search(state, text);
            Vec::new()
        }
        InputPurpose::ExportPath(format) => export_path(state, format, text),
        InputPurpose::ExportTitle => {
            if !text.is_empty() {
                state.export_title = text;
            }
            let author = state.export_author.clone();
            open_input(state, InputPurpose::ExportAuthor, &author);
            Vec::new()
        }
        InputPurpose::ExportAuthor => {
            state.export_author = text;
            match state.export_draft.take() {
                Some((path, format)) => export(state, path, format),
                None => Vec::new(),
            }
        }
    }
}

/// The path is given: its extension picks the format (`format` when it has none); formats
/// that show a title and author ask for them next, prefilled.
fn export_path(state: &mut State, format: ExportFormat, path: String) -> Vec<Effect> {
    if path.is_empty() {
        state.say(Level::Warning, "no file name given; nothing exported");
        return Vec::new();
    }
    let path = std::path::PathBuf::from(path);
    let format = match ExportFormat::for_path(&path, None) {
        Ok(chosen) if path.extension().is_some() => chosen,
        Ok(_) => format,
        Err(e) => {
            state.say(Level::Error, e.to_string());
            return Vec::new();
        }
    };
    match format {
        ExportFormat::Md | ExportFormat::Txt | ExportFormat::Jsonl => export(state, path, format),
        ExportFormat::Html | ExportFormat::Epub | ExportFormat::Docx => {
            state.export_draft = Some((path, format));
            let title = state.export_title.clone();
            open_input(state, InputPurpose::ExportTitle, &title);
            Vec::new()
        }
    }
}

fn export(state: &mut State, path: std::path::PathBuf, format: ExportFormat) -> Vec<Effect> {
    let Some(document) = writing::document_now(state) else {
        state.say(Level::Warning, "nothing to export yet");
        return Vec::new();
    };
    let author = state.export_author.trim();
    let meta = Meta {
        id: state
            .project
            .clone()
            .unwrap_or_else(|| state.export_stem.clone()),
        title: state.export_title.clone(),
        author: (!author.is_empty()).then(|| author.to_string()),
        language: document.language,
        created: 0,
        modified: 0,
    };
    vec![Effect::Export {
        request: Box::new(ExportRequest {
            path,
            format,
            document,
            meta,
        }),
        overwrite: false,
    }]
}

/// Opens a one-line input prefilled with `text`.
pub(crate) fn open_input(state: &mut State, purpose: InputPurpose, text: &str) {
    let mut area = TextArea::new(vec![text.to_string()]);
    area.move_cursor(ratatui_textarea::CursorMove::End);
    state.overlay = Overlay::Input {
        purpose,
        area: Box::new(area),
    };
}

/// Opens the export path input with a default file name.
pub(crate) fn ask_export(state: &mut State, format: ExportFormat) {
    let name = format!("{}.{}", state.export_stem, format.extension());
    open_input(state, InputPurpose::ExportPath(format), &name);
}
