//! The plan tree: one row per section (number, state icon, title, words written / target),
//! under a heading row per chapter in a plan with chapters (▾ open, ▸ folded: its sections
//! hidden and counted, `2§`), the selection highlighted, and the selected section's main
//! point underneath (or its chapter's, on a folded chapter).

use super::{state_icon, thousands, truncate};
use crate::tui::chapters::{selected_row, tree_rows, TreeRow};
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
    let rows = tree_rows(&doc.plan, &state.folded);
    let items: Vec<ListItem> = rows
        .iter()
        .map(|row| match *row {
            TreeRow::Section(i) => section_item(state, &doc.plan.sections[i], i, width, theme),
            TreeRow::Chapter(c) => chapter_item(state, &doc.plan, c, width, theme),
        })
        .collect();
    let lit = selected_row(&rows, &doc.plan, state.selected, state.heading);
    let list = List::new(items).highlight_style(theme.selected());
    let mut list_state = ListState::default().with_selected(lit);
    frame.render_stateful_widget(list, list_area, &mut list_state);
    if detail_h > 0 {
        let on_heading = matches!(lit.and_then(|r| rows.get(r)), Some(TreeRow::Chapter(_)));
        let chapter =
            crate::tui::chapters::selected_chapter(&doc.plan, state.selected, state.heading)
                .and_then(|c| doc.plan.chapters.get(c))
                .filter(|_| on_heading);
        let point = match (chapter, doc.plan.sections.get(state.selected)) {
            (Some(c), _) => Some(c.main_point.as_str()),
            (None, Some(s)) => Some(s.main_point.as_str()),
            (None, None) => None,
        };
        if let Some(point) = point {
            let point = if point.is_empty() {
                "(no main point)"
            } else {
                point
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

fn section_item(
    state: &State,
    s: &crate::plan::Section,
    i: usize,
    width: usize,
    theme: &Theme,
) -> ListItem<'static> {
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
}

/// A chapter heading: fold marker, number, title, how many sections it hides (when folded
/// and there is room), words written / target.
fn chapter_item(
    state: &State,
    plan: &crate::plan::Plan,
    c: usize,
    width: usize,
    theme: &Theme,
) -> ListItem<'static> {
    let chapter = &plan.chapters[c];
    let written: usize = plan.chapter_range(c).map(|i| state.words_of(i)).sum();
    let folded = state.folded.contains(&c);
    let fold = if folded { "▸" } else { "▾" };
    let head = format!("{fold} Ch {} ", c + 1);
    let words = format!(
        " {}/{}",
        thousands(written),
        thousands(chapter.target_words)
    );
    // A folded heading counts the sections it hides (`2§`) where the title still fits.
    let hidden = format!(" {}§", chapter.sections);
    let used = head.chars().count() + words.len();
    let counts = match width.checked_sub(used + hidden.chars().count()) {
        Some(room) if folded && room >= chapter.title.chars().count() => hidden + &words,
        _ => words,
    };
    let room = width.saturating_sub(head.chars().count() + counts.chars().count());
    let title = truncate(&chapter.title, room);
    let pad = " ".repeat(room.saturating_sub(title.chars().count()));
    ListItem::new(Line::from(vec![
        Span::styled(head, theme.title(false)),
        Span::styled(title, theme.title(false)),
        Span::raw(pad),
        Span::styled(counts, theme.dim()),
    ]))
}
