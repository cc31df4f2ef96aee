//! The help overlay: every binding of the keymap in use, the current screen's table first,
//! keys of one action on one line, in as many columns as the width allows; it scrolls (j/k,
//! page keys) when the terminal is too small for all of it.

use super::layout::centered;
use crate::tui::action::Action;
use crate::tui::keymap::{Context, Keymap};
use crate::tui::state::{Screen, State};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

/// One help row: a context heading, or the keys of one action.
enum Row {
    Heading(&'static str),
    Binding(String, &'static str),
}

/// The contexts in help order: the current screen's first, then global, then the rest.
fn order(state: &State) -> Vec<Context> {
    let first = match state.screen {
        Screen::Prompt => Context::Editor,
        Screen::Review => Context::Plan,
        Screen::Writing | Screen::Dashboard => Context::Write,
        Screen::Planning => Context::Global,
    };
    let mut order = vec![first];
    order.extend(
        [
            Context::Global,
            Context::Plan,
            Context::Write,
            Context::Editor,
        ]
        .into_iter()
        .filter(|c| *c != first),
    );
    order
}

/// Every binding of `context`, the keys of one action joined ("k/up").
fn rows(keymap: &Keymap, context: Context, out: &mut Vec<Row>) {
    out.push(Row::Heading(context.name()));
    let mut grouped: Vec<(Vec<&str>, &Action)> = Vec::new();
    for (key, action) in keymap.bindings(context) {
        match grouped.iter_mut().find(|(_, a)| *a == action) {
            Some((keys, _)) => keys.push(key),
            None => grouped.push((vec![key], action)),
        }
    }
    for (keys, action) in grouped {
        out.push(Row::Binding(keys.join("/"), action.describe()));
    }
}

/// The number of rows each column holds and the most the overlay can scroll, for `area`.
pub fn layout(state: &State, keymap: &Keymap, area: Rect) -> (usize, usize, usize) {
    let all = all_rows(state, keymap);
    let inner = inner(area);
    let columns = columns(&all, inner.width);
    let per_col = all.len().div_ceil(columns).max(1);
    let max_top = per_col.saturating_sub(usize::from(inner.height));
    (columns, per_col, max_top)
}

fn all_rows(state: &State, keymap: &Keymap) -> Vec<Row> {
    let mut all = Vec::new();
    for context in order(state) {
        rows(keymap, context, &mut all);
    }
    all
}

fn inner(area: Rect) -> Rect {
    Block::bordered().inner(centered(area, 100, area.height))
}

fn key_width(all: &[Row]) -> usize {
    all.iter()
        .map(|r| match r {
            Row::Binding(k, _) => k.chars().count(),
            Row::Heading(_) => 0,
        })
        .max()
        .unwrap_or(0)
        .min(16)
}

fn columns(all: &[Row], width: u16) -> usize {
    // key " " description (at most 22 characters) and a gap to the next column.
    let row_width = key_width(all) + 24;
    (usize::from(width) / row_width).clamp(1, 4)
}

/// Draws the help, scrolled down by `top` rows (clamped).
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    (state, keymap): (&State, &Keymap),
    top: usize,
    theme: &Theme,
) {
    let rect = centered(area, 100, area.height);
    frame.render_widget(Clear, rect);
    let (columns, per_col, max_top) = layout(state, keymap, area);
    let top = top.min(max_top);
    let footer = if max_top > 0 {
        format!(" j/k scroll: row {top} of {max_top} · any other key closes ")
    } else {
        " any other key closes ".to_string()
    };
    let block = Block::bordered()
        .title(Line::styled(" Keys ", theme.title(true)))
        .title_bottom(Line::styled(footer, theme.dim()).right_aligned())
        .border_style(theme.border(true));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let all = all_rows(state, keymap);
    let key_w = key_width(&all);
    let col_w = inner.width / columns as u16;
    let mut cols: Vec<Vec<Line>> = (0..columns).map(|_| Vec::new()).collect();
    for (i, row) in all.into_iter().enumerate() {
        let line = match row {
            Row::Heading(name) => Line::styled(format!("[{name}]"), theme.title(false)),
            Row::Binding(keys, what) => Line::from(vec![
                Span::styled(format!("{keys:<key_w$} "), theme.accent()),
                Span::styled(what.to_string(), theme.text()),
            ]),
        };
        cols[(i / per_col).min(columns - 1)].push(line);
    }
    for (i, col) in cols.into_iter().enumerate() {
        let x = inner.x + col_w * i as u16;
        let r = Rect::new(x, inner.y, col_w, inner.height);
        let visible: Vec<Line> = col.into_iter().skip(top).collect();
        frame.render_widget(Paragraph::new(visible), r);
    }
}
