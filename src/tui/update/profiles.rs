//! The profile picker of the prompt screen: opening it (or saying that the config file has no
//! profiles), moving in it, choosing one (the runner connects it for the next jobs), and the
//! result of that connection.

use super::super::action::Action;
use super::super::effect::{Effect, Switched};
use super::super::state::{Level, Overlay, State};
use ratatui_textarea::Key;

/// Opens the picker on the active profile; with no profiles, says how to add one.
pub(super) fn open(state: &mut State) -> Vec<Effect> {
    if state.profiles.is_empty() {
        state.say(
            Level::Warning,
            "no profiles in config.toml: add a [profiles.NAME] table (see docs/profiles.md)",
        );
        return Vec::new();
    }
    let active = state
        .switching
        .as_ref()
        .map(|(name, _)| name)
        .or(state.active_profile.as_ref());
    let selected = active
        .and_then(|name| state.profiles.iter().position(|p| &p.name == name))
        .unwrap_or(0);
    state.overlay = Overlay::Profiles { selected };
    Vec::new()
}

/// A key in the open picker: up and down (or k and j) move, enter chooses, esc (or q)
/// closes, ctrl-c quits.
pub(super) fn key(state: &mut State, selected: usize, action: Action) -> Vec<Effect> {
    let last = state.profiles.len().saturating_sub(1);
    let moved = |to: usize| Overlay::Profiles { selected: to };
    match action {
        Action::Input(input) => match (input.key, input.ctrl) {
            (Key::Char('c'), true) => super::quit(state),
            (Key::Up | Key::Char('k'), false) => {
                state.overlay = moved(selected.saturating_sub(1));
                Vec::new()
            }
            (Key::Down | Key::Char('j'), false) => {
                state.overlay = moved((selected + 1).min(last));
                Vec::new()
            }
            (Key::Home | Key::Char('g'), false) => {
                state.overlay = moved(0);
                Vec::new()
            }
            (Key::End | Key::Char('G'), false) => {
                state.overlay = moved(last);
                Vec::new()
            }
            (Key::Enter, _) => choose(state, selected),
            (Key::Esc | Key::Char('q'), false) => Vec::new(),
            _ => {
                state.overlay = moved(selected);
                Vec::new()
            }
        },
        Action::Submit => choose(state, selected),
        Action::Cancel | Action::PickProfile => Vec::new(),
        Action::Quit => super::quit(state),
        _ => {
            state.overlay = moved(selected);
            Vec::new()
        }
    }
}

/// Chooses row `selected`: the runner connects it; the header names it at once.
fn choose(state: &mut State, selected: usize) -> Vec<Effect> {
    let Some(row) = state.profiles.get(selected) else {
        return Vec::new();
    };
    let name = row.name.clone();
    if state.switching.is_none() && state.active_profile.as_deref() == Some(name.as_str()) {
        state.say(Level::Info, format!("profile {name} already writes"));
        return Vec::new();
    }
    let connecting = format!("profile {name}: {} {} (connecting…)", row.kind, row.place);
    let before = match state.switching.take() {
        Some((_, before)) => before,
        None => state.backend.clone(),
    };
    state.backend = connecting;
    state.switching = Some((name.clone(), before));
    state.say(Level::Info, format!("profile {name}: connecting…"));
    vec![Effect::UseProfile(name)]
}

/// The runner's answer to `Effect::UseProfile`. An answer for a profile that is no longer the
/// chosen one (the user chose again meanwhile) is ignored.
pub(super) fn switched(state: &mut State, result: Result<Box<Switched>, String>) {
    let Some((chosen, before)) = state.switching.clone() else {
        return;
    };
    match result {
        Ok(switched) if switched.name == chosen => {
            let Switched {
                name,
                label,
                settings,
            } = *switched;
            state.backend = label;
            state.settings = settings;
            state.say(Level::Info, format!("profile {name} writes the next job"));
            state.active_profile = Some(name);
            state.switching = None;
        }
        Ok(_) => {}
        Err(e) => {
            state.switching = None;
            let keeps = state
                .active_profile
                .as_ref()
                .map_or("the backend it started with".to_string(), |p| {
                    format!("profile {p}")
                });
            state.backend = before;
            state.overlay = Overlay::Error(format!(
                "cannot use profile {chosen}: {e}. The studio keeps {keeps}; fix the profile in \
                 config.toml or start its server, then choose it again (F3)."
            ));
            state.say(Level::Error, format!("profile {chosen} failed"));
        }
    }
}

/// Whether a job may start: not while a chosen profile is still connecting.
pub(super) fn ready(state: &mut State) -> bool {
    match &state.switching {
        Some((name, _)) => {
            let text = format!("profile {name} is still connecting; submit again when it is ready");
            state.say(Level::Warning, text);
            false
        }
        None => true,
    }
}
