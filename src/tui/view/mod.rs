//! Drawing: `draw(frame, &State, &Theme)` is a pure function of the state, called on the frame
//! timer. One file per pane; the theme supplies every style by meaning.

mod help;
pub mod layout;
mod overlay;
mod progress;
mod prompt;
mod runs;
pub(crate) mod status;
mod stream;
mod tree;

use super::keymap::Keymap;
use super::state::{Screen, State};
use super::theme::Theme;
use ratatui::Frame;

/// Draws the whole studio; `keymap` names the keys in hints and help.
pub fn draw(frame: &mut Frame, state: &State, theme: &Theme, keymap: &Keymap) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    match state.screen {
        Screen::Prompt => prompt::draw(frame, area, state, (theme, keymap)),
        Screen::Dashboard => runs::draw(frame, area, state, (theme, keymap)),
        Screen::Planning | Screen::Review | Screen::Writing => {
            let areas = layout::areas(area);
            tree::draw(frame, areas.tree, state, theme);
            match state.screen {
                Screen::Writing => stream::draw(frame, areas.stream, state, theme),
                _ => stream::draw_review(frame, areas.stream, state, (theme, keymap)),
            }
            progress::draw(frame, areas.progress, state, theme);
            status::draw(frame, areas.status, state, (theme, keymap));
        }
    }
    overlay::draw(frame, area, state, (theme, keymap));
}

/// How far the help overlay can scroll at `area`'s size.
pub fn help_scroll_limit(state: &State, keymap: &Keymap, area: ratatui::layout::Rect) -> usize {
    help::layout(state, keymap, area).2
}

/// A state's icon.
pub fn state_icon(state: crate::plan::SectionState) -> &'static str {
    use crate::plan::SectionState::*;
    match state {
        Planned => "·",
        Queued => "○",
        Writing => "✎",
        Done => "✓",
        Failed => "✗",
        Stale => "~",
    }
}

/// `n` with thousands separators.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `s` cut to `width` characters with an ellipsis.
pub fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
