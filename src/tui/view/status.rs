//! The status line: the mode, key hints from the keymap in use, and the last message.

use crate::tui::action::Action;
use crate::tui::keymap::Context;
use crate::tui::state::{JobState, Level, Screen, State};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// The mode name shown at the left of the status line.
pub fn mode(state: &State) -> &'static str {
    match (state.screen, &state.job_state) {
        (Screen::Prompt, _) => "PROMPT",
        (Screen::Planning, _) => "PLANNING",
        (Screen::Review, _) => "PLAN",
        (Screen::Dashboard, _) => "RUNS",
        (Screen::Writing, JobState::Running) if state.following.is_some() => "FOLLOWING",
        (Screen::Writing, JobState::Running) => "WRITING",
        (Screen::Writing, JobState::Pausing | JobState::Paused) => "PAUSED",
        (Screen::Writing, JobState::Stopping | JobState::Stopped) => "STOPPED",
        (Screen::Writing, JobState::Done) => "DONE",
        (Screen::Writing, JobState::Failed(_)) => "FAILED",
        (Screen::Writing, JobState::Idle) => "READY",
    }
}

/// Draws the status line.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let (context, actions): (Context, &[Action]) = match state.screen {
        Screen::Prompt => (
            Context::Editor,
            &[Action::Submit, Action::FocusNext, Action::Help],
        ),
        Screen::Planning => (Context::Global, &[Action::Cancel, Action::Quit]),
        Screen::Review => (
            Context::Plan,
            &[Action::StartWriting, Action::Replan, Action::Help],
        ),
        Screen::Dashboard => (
            Context::Write,
            &[Action::OpenSection, Action::Cancel, Action::Quit],
        ),
        Screen::Writing if state.following.is_some() => (
            Context::Write,
            &[Action::Dashboard, Action::NewDocument, Action::Quit],
        ),
        Screen::Writing => (
            Context::Write,
            &[
                Action::PauseResume,
                Action::Search,
                Action::ExportMarkdown,
                Action::Help,
            ],
        ),
    };
    let hints: Vec<String> = actions
        .iter()
        .filter_map(|a| {
            let key = state.keymap.key_for(context, a)?;
            Some(format!("{key} {}", a.describe()))
        })
        .collect();
    let mut spans = vec![
        Span::styled(format!(" {} ", mode(state)), theme.selected()),
        Span::styled(format!(" {} ", hints.join(" · ")), theme.status()),
    ];
    if let Some((level, text)) = &state.message {
        let style = match level {
            Level::Info => theme.status(),
            Level::Warning => theme.warning(),
            Level::Error => theme.error(),
        };
        spans.push(Span::styled(format!(" {text}"), style));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.status()),
        area,
    );
}
