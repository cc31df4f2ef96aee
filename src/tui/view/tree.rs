//! The plan tree: one row per section (number, state icon, title, words written / target),
//! the selection highlighted, and the selected section's main point underneath.

use super::{state_icon, thousands, truncate};
use crate::tui::state::{Focus, Screen, State};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

/// Draws the tree into `area`.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    if area.width < 4 || area.height < 3 {
        return;
    }
    let focused = state.focus == Focus::Tree || state.screen == Screen::Review;
    let total = format!(
        " Plan {}/{} ",
        thousands(state.total_written()),
        thousands(state.total_target())
    );
    let block = Block::bordered()
        .title(Line::styled(total, theme.title(focused)))
        .border_style(theme.border(focused))
        .border_type(theme.border_type(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(doc) = &state.document else {
        let text = if state.screen == Screen::Planning {
            "planning…"
        } else {
            ""
        };
        frame.render_widget(Paragraph::new(text).style(theme.dim()), inner);
        return;
    };
    let detail_h = if inner.height >= 12 { 4 } else { 0 };
    let [list_area, detail_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(detail_h)]).areas(inner);
    let width = usize::from(list_area.width);
    let items: Vec<ListItem> = doc
        .plan
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let written = state.words_of(i);
            let counts = format!(" {}/{}", thousands(written), thousands(s.target_words));
            let marker = if state.current == Some(i) { "▶" } else { " " };
            let head = format!("{marker}{:>2} {} ", i + 1, state_icon(s.state));
            let room = width.saturating_sub(head.chars().count() + counts.len());
            let title = truncate(&s.title, room);
            let pad = " ".repeat(room.saturating_sub(title.chars().count()));
            ListItem::new(Line::from(vec![
                Span::styled(head, theme.section_state(s.state)),
                Span::styled(title, theme.text()),
                Span::raw(pad),
                Span::styled(counts, theme.section_state(s.state)),
            ]))
        })
        .collect();
    let list = List::new(items).highlight_style(theme.selected());
    let mut list_state = ListState::default().with_selected(Some(state.selected));
    frame.render_stateful_widget(list, list_area, &mut list_state);
    if detail_h > 0 {
        if let Some(s) = doc.plan.sections.get(state.selected) {
            let point = if s.main_point.is_empty() {
                "(no main point)"
            } else {
                &s.main_point
            };
            let detail = Paragraph::new(vec![
                Line::styled(
                    "─".repeat(usize::from(detail_area.width)),
                    theme.border(false),
                ),
                Line::styled(point.to_string(), theme.dim()),
            ])
            .wrap(Wrap { trim: true });
            frame.render_widget(detail, detail_area);
        }
    }
}
