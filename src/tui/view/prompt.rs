//! The prompt screen: a multi-line editor for the instruction, the target words field (empty:
//! read from the prompt), and the backend that will write.

use super::thousands;
use crate::tui::keymap::Keymap;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

/// Draws the prompt screen.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, look: (&Theme, &Keymap)) {
    let theme = look.0;
    let [header, editor, words, status_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" New document ", theme.accent()),
            Span::styled(format!("· {}", state.backend), theme.dim()),
        ])),
        header,
    );
    let prompt_block = Block::bordered()
        .title(Line::styled(" Prompt ", theme.title(!state.words_focused)))
        .border_style(theme.border(!state.words_focused));
    let prompt_inner = prompt_block.inner(editor);
    frame.render_widget(prompt_block, editor);
    frame.render_widget(&state.prompt, prompt_inner);
    let target_note = match state.target_words() {
        Ok(n) if state.words.lines().join("").trim().is_empty() => {
            format!("from the prompt: {} words", thousands(n))
        }
        Ok(n) => format!("{} words", thousands(n)),
        Err(e) => e,
    };
    let words_block = Block::bordered()
        .title(Line::styled(
            " Target words ",
            theme.title(state.words_focused),
        ))
        .title_bottom(Line::styled(format!(" {target_note} "), theme.dim()).right_aligned())
        .border_style(theme.border(state.words_focused));
    let words_inner = words_block.inner(words);
    frame.render_widget(words_block, words);
    frame.render_widget(&state.words, words_inner);
    super::status::draw(frame, status_area, state, look);
}
