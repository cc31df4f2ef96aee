//! The runs dashboard: one row per project a live process writes (this studio, other studios,
//! `write`, detached workers), as the store shows it: section i/N (in a plan with chapters,
//! the chapter and the section within it), words written/target, tok/s, ETA and state.
//! Enter follows the selected run read-only.

use super::{status, thousands, truncate};
use crate::tui::keymap::Keymap;
use crate::tui::state::{RunRow, State};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row, Table, TableState};
use ratatui::Frame;

/// Draws the dashboard and the status line.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, look: (&Theme, &Keymap)) {
    let theme = look.0;
    let [main, status_area] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    status::draw(frame, status_area, state, look);
    if main.width < 20 || main.height < 3 {
        return;
    }
    let title = format!(" Runs · {} being written ", state.runs.rows.len());
    let block = Block::bordered()
        .title(Line::styled(title, theme.title(true)))
        .border_style(theme.border(true));
    let inner = block.inner(main);
    frame.render_widget(block, main);
    if state.runs.rows.is_empty() {
        let text = "No project is being written. Projects written by this studio, by \
                    `longwriter write` and by background workers show up here live.";
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.dim())
                .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    }
    let wide = inner.width >= 100;
    let places: Vec<String> = state.runs.rows.iter().map(place).collect();
    let place_width = places.iter().map(|p| p.chars().count()).fold(7, usize::max);
    // A wider SECTION column (chapters) takes its room from the titles.
    let title_width: usize = if wide { 40 } else { 18 };
    let title_width = title_width.saturating_sub(place_width - 7).max(10);
    let header = Row::new(["ID", "TITLE", "SECTION", "WORDS", "TOK/S", "ETA", "STATE"])
        .style(theme.accent());
    let rows = state.runs.rows.iter().zip(places).map(|(r, place)| {
        let own = state.project.as_deref() == Some(r.id.as_str());
        row(r, place, title_width, own)
    });
    let widths = [
        Constraint::Length(10),
        Constraint::Length(title_width as u16),
        Constraint::Length(place_width as u16),
        Constraint::Length(if wide { 17 } else { 13 }),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Min(7),
    ];
    let table = Table::new(rows, widths)
        .header(header)
        .style(theme.text())
        .row_highlight_style(theme.selected());
    let mut table_state = TableState::default().with_selected(Some(state.runs.selected));
    frame.render_stateful_widget(table, inner, &mut table_state);
}

/// The SECTION cell: `3/5`, or with chapters `ch 2/5 · §3/6` (the section within its
/// chapter; `§–` while the chapter's sections are being planned).
fn place(r: &RunRow) -> String {
    match r.chapter {
        None => format!("{}/{}", r.section, r.sections),
        Some((c, n)) if r.sections == 0 => format!("ch {c}/{n} · §–"),
        Some((c, n)) => format!("ch {c}/{n} · §{}/{}", r.section, r.sections),
    }
}

fn row(r: &RunRow, place: String, title_width: usize, own: bool) -> Row<'static> {
    // The studio's own run keeps its marker however long the title.
    let title = if own {
        format!(
            "{} (here)",
            truncate(&r.title, title_width.saturating_sub(7))
        )
    } else {
        truncate(&r.title, title_width)
    };
    Row::new(vec![
        r.id.clone(),
        title,
        place,
        format!("{}/{}", thousands(r.words), thousands(r.target)),
        format!("{:.0}", r.tok_per_s),
        r.eta_s.map_or("–".into(), eta),
        r.state.clone(),
    ])
}

/// `1h02m`, `4m05s` or `12s`.
pub fn eta(s: u64) -> String {
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}
