//! The prompt screen and planning: the prompt editor and target field, submitting (an empty
//! prompt is refused with a hint), the plan request and its result, and re-planning.

use super::super::action::Action;
use super::super::effect::Effect;
use super::super::state::{JobState, Level, Overlay, Screen, State};
use crate::plan::Plan;
use crate::writer::{Document, Job, TargetWords};
use ratatui_textarea::Key;

pub(super) fn prompt_action(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Submit if super::profiles::ready(state) => submit(state),
        Action::Submit => Vec::new(),
        Action::PickProfile => super::profiles::open(state),
        Action::FocusNext => {
            state.words_focused = !state.words_focused;
            Vec::new()
        }
        Action::Cancel => {
            if state.document.is_some() {
                state.screen = if state.job_state == JobState::Idle {
                    Screen::Review
                } else {
                    Screen::Writing
                };
            }
            Vec::new()
        }
        Action::Input(input) => {
            if state.words_focused {
                let digit = matches!(input.key, Key::Char(c) if c.is_ascii_digit());
                let editing = matches!(
                    input.key,
                    Key::Backspace | Key::Delete | Key::Left | Key::Right | Key::Home | Key::End
                );
                if digit || editing {
                    state.words.input(input);
                }
            } else {
                state.prompt.input(input);
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn submit(state: &mut State) -> Vec<Effect> {
    let instruction = state.prompt_text();
    if instruction.is_empty() {
        state.say(
            Level::Error,
            "the prompt is empty: describe what to write, e.g. \"A 5000-word history of tea\", then ctrl-s",
        );
        return Vec::new();
    }
    let target_words = match state.target_words() {
        Ok(n) => n,
        Err(e) => {
            state.say(Level::Error, e);
            return Vec::new();
        }
    };
    let words = TargetWords::try_from(target_words).ok();
    let job = match Job::new(&instruction, words, state.settings.clone()) {
        Ok(job) => job,
        Err(e) => {
            state.say(Level::Error, e.to_string());
            return Vec::new();
        }
    };
    state.export_stem = file_stem(&job.instruction);
    state.export_title = crate::store::title_of(&job.instruction);
    // A new prompt is a new document: its plan becomes a new project.
    state.project = None;
    state.job = Some(job.clone());
    state.screen = Screen::Planning;
    state.say(Level::Info, "asking the model for a plan…");
    vec![Effect::Plan(Box::new(job))]
}

/// A file name from the first words of the instruction.
fn file_stem(instruction: &str) -> String {
    let words: Vec<String> = instruction
        .split_whitespace()
        .take(5)
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        "longwriter-document".into()
    } else {
        words.join("-")
    }
}

pub(super) fn planning_action(state: &mut State, action: Action) -> Vec<Effect> {
    if action == Action::Cancel || action == Action::Stop {
        state.screen = Screen::Prompt;
        state.say(Level::Info, "planning abandoned");
        return vec![Effect::Cancel];
    }
    Vec::new()
}

pub(super) fn plan_finished(state: &mut State, result: Result<Plan, String>) -> Vec<Effect> {
    if state.screen != Screen::Planning {
        return Vec::new();
    }
    match result {
        Ok(plan) => {
            let Some(job) = &state.job else {
                return Vec::new();
            };
            let fallback = plan.fallback;
            let size = match plan.chapters.len() {
                0 => format!("{} sections", plan.sections.len()),
                c => format!("{c} chapters (each planned in sections when it starts)"),
            };
            let document = Document::new(
                job.instruction.clone(),
                job.target_words,
                job.language,
                plan,
            );
            state.planned = Some(document.plan.clone());
            state.set_document(Some(document));
            state.selected = 0;
            state.current = None;
            state.job_state = JobState::Idle;
            state.screen = Screen::Review;
            if fallback {
                state.say(
                    Level::Warning,
                    "the model's plan could not be used: this is an evenly split fallback; edit it or re-plan",
                );
            } else {
                state.say(
                    Level::Info,
                    format!("plan ready: {size}, saved as a draft; review, then w to write"),
                );
            }
            // The reviewed plan is a project from now on: quitting keeps it.
            return super::save(state).into_iter().collect();
        }
        Err(e) => {
            state.screen = Screen::Prompt;
            state.overlay = Overlay::Error(format!("planning failed: {e}"));
            state.say(Level::Error, "planning failed");
        }
    }
    Vec::new()
}

/// Asks for a new plan, with the user's hint appended to the instruction.
pub(super) fn replan(state: &mut State, hint: &str) -> Vec<Effect> {
    let Some(job) = &state.job else {
        return Vec::new();
    };
    let mut job = job.clone();
    let edited = !super::confirm::edited_sections(state).is_empty();
    if let (true, Some(doc)) = (edited, &state.document) {
        let outline: Vec<String> = doc
            .plan
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "{}. {} ({} words): {}",
                    i + 1,
                    s.title,
                    s.target_words,
                    s.main_point
                )
            })
            .collect();
        job.instruction = format!(
            "{}\n\nThe author's current plan, edited by hand; keep what the note does not change:\n{}",
            job.instruction,
            outline.join("\n")
        );
    }
    if !hint.is_empty() {
        job.instruction = format!(
            "{}\n\nPlanning note from the author: {hint}",
            job.instruction
        );
    }
    state.screen = Screen::Planning;
    state.say(Level::Info, "asking the model for a new plan…");
    vec![Effect::Plan(Box::new(job))]
}
