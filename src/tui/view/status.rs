//! The status line: the mode, key hints from the keymap in use, and the last message.

use crate::tui::action::Action;
use crate::tui::keymap::{Context, Keymap};
use crate::tui::state::{JobState, Level, Screen, State};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// The key hints of the current screen and job state: what a key does now, with the label it
/// needs now (space resumes a paused job; a done one offers export instead).
fn hints(state: &State) -> (Context, Vec<(Action, &'static str)>) {
    use Action as A;
    let write = |hints: Vec<(Action, &'static str)>| (Context::Write, hints);
    match state.screen {
        Screen::Prompt => {
            let mut hints = vec![(A::Submit, "plan it"), (A::FocusNext, "words field")];
            if !state.profiles.is_empty() {
                hints.push((A::PickProfile, "profile"));
            }
            hints.push((A::Help, "help"));
            (Context::Editor, hints)
        }
        Screen::Planning => (
            Context::Global,
            vec![(A::Cancel, "cancel"), (A::Quit, "quit")],
        ),
        Screen::Review => (
            Context::Plan,
            vec![
                (A::StartWriting, "write"),
                (A::Replan, "re-plan"),
                (A::Help, "help"),
            ],
        ),
        Screen::Dashboard => write(vec![
            (A::OpenSection, "follow"),
            (A::Cancel, "back"),
            (A::Quit, "quit"),
        ]),
        Screen::Writing if state.following.is_some() => write(vec![
            (A::Dashboard, "runs"),
            (A::NewDocument, "new"),
            (A::Quit, "quit"),
        ]),
        Screen::Writing => match &state.job_state {
            JobState::Running => write(vec![
                (A::PauseResume, "pause"),
                (A::Stop, "stop"),
                (A::HandOff, "hand off"),
                (A::Help, "help"),
            ]),
            JobState::Pausing | JobState::Stopping => write(vec![(A::Help, "help")]),
            JobState::Done => write(vec![
                (A::ExportMarkdown, "export"),
                (A::EditSection, "edit"),
                (A::Search, "search"),
                (A::Help, "help"),
            ]),
            JobState::Failed(_) => write(vec![
                (A::PauseResume, "retry"),
                (A::EditSection, "edit"),
                (A::ExportMarkdown, "export"),
                (A::Help, "help"),
            ]),
            JobState::Idle | JobState::Paused | JobState::Stopped => write(vec![
                (A::PauseResume, "resume"),
                (A::EditSection, "edit"),
                (A::ExportMarkdown, "export"),
                (A::Help, "help"),
            ]),
        },
    }
}

/// Draws the status line: the mode, then the last message in full, then as many key hints
/// as the width leaves (a message always wins over hints).
pub fn draw(frame: &mut Frame, area: Rect, state: &State, (theme, keymap): (&Theme, &Keymap)) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let (context, actions) = hints(state);
    let hints: Vec<String> = actions
        .iter()
        .filter_map(|(a, label)| {
            let key = keymap.key_for(context, a)?;
            Some(format!("{key} {label}"))
        })
        .collect();
    let mode = format!(" {} ", state.mode());
    let mut room = usize::from(area.width).saturating_sub(mode.chars().count());
    let mut spans = vec![Span::styled(mode, theme.selected())];
    if let Some((level, text)) = &state.message {
        let style = match level {
            Level::Info => theme.status(),
            Level::Warning => theme.warning(),
            Level::Error => theme.error(),
        };
        let text = format!(" {text} ");
        room = room.saturating_sub(text.chars().count());
        spans.push(Span::styled(text, style));
    }
    let mut shown = Vec::new();
    for hint in hints {
        let need = hint.chars().count() + 3;
        if need > room {
            break;
        }
        room -= need;
        shown.push(hint);
    }
    if !shown.is_empty() {
        spans.push(Span::styled(
            format!("│ {} ", shown.join(" · ")),
            theme.dim(),
        ));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.status()),
        area,
    );
}
