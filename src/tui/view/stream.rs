//! The stream pane: the shown section's wrapped text, only the visible lines, following the
//! tail unless scrolled; search matches highlighted. During plan review the same pane shows
//! the selected section's (or chapter heading's) fields and the plan's live total.

use super::{state_icon, thousands};
use crate::tui::state::{Focus, JobState, Screen, State};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

/// Draws the stream of the shown section.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    if area.width < 3 || area.height < 3 {
        return;
    }
    let focused = state.focus == Focus::Stream;
    let view = &state.stream;
    let section = state
        .document
        .as_ref()
        .and_then(|d| d.plan.sections.get(view.section));
    let title = match section {
        Some(s) => format!(
            " {}. {} {} ",
            view.section + 1,
            s.title,
            state_icon(s.state)
        ),
        None => " Stream ".to_string(),
    };
    let lines_total = view.wrapped.lines.len();
    let position = if view.follow {
        " following ".to_string()
    } else {
        format!(" line {}/{} ", (view.top + 1).min(lines_total), lines_total)
    };
    let block = Block::bordered()
        .title(Line::styled(title, theme.title(focused)))
        .title_bottom(Line::styled(position, theme.dim()).right_aligned())
        .border_style(theme.border(focused))
        .border_type(theme.border_type(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let text = state.text(view.section);
    let query = state.search.as_ref().map(|s| s.query.to_ascii_lowercase());
    let visible = view
        .wrapped
        .lines
        .iter()
        .skip(view.top)
        .take(usize::from(inner.height))
        .map(|&(a, b)| {
            let line = text.get(a..b).unwrap_or("");
            highlight(line, query.as_deref(), theme.text(), theme.search_match())
        })
        .collect::<Vec<_>>();
    if visible.is_empty() && state.job_state.is_running() {
        frame.render_widget(
            Paragraph::new("waiting for the first tokens…").style(theme.dim()),
            inner,
        );
        return;
    }
    frame.render_widget(Paragraph::new(visible), inner);
}

/// `line` with every case-insensitive occurrence of `query` styled as a match.
fn highlight<'a>(line: &'a str, query: Option<&str>, text: Style, hit: Style) -> Line<'a> {
    let Some(q) = query.filter(|q| !q.is_empty()) else {
        return Line::styled(line, text);
    };
    let lower = line.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut at = 0;
    for (start, m) in lower.match_indices(q) {
        spans.push(Span::styled(&line[at..start], text));
        spans.push(Span::styled(&line[start..start + m.len()], hit));
        at = start + m.len();
    }
    spans.push(Span::styled(&line[at..], text));
    Line::from(spans)
}

/// Draws the plan review details (or the planning notice) in the stream's place.
pub fn draw_review(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    (theme, keymap): (&Theme, &crate::tui::keymap::Keymap),
) {
    if area.width < 3 || area.height < 3 {
        return;
    }
    let block = Block::bordered()
        .title(Line::styled(" Plan review ", theme.title(true)))
        .border_style(theme.border(true));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = Vec::new();
    if state.screen == Screen::Planning {
        lines.push(Line::styled(
            format!("Asking {} for a plan…", state.backend),
            theme.text(),
        ));
        lines.push(Line::styled("esc abandons", theme.dim()));
    } else if let Some(doc) = &state.document {
        let total = doc.plan.total_target();
        let asked = doc.target_words;
        lines.push(Line::from(vec![
            Span::styled("Total target ", theme.dim()),
            Span::styled(format!("{} words", thousands(total)), theme.accent()),
            Span::styled(
                format!(" in {} (asked: {})", parts(&doc.plan), thousands(asked)),
                theme.dim(),
            ),
        ]));
        lines.push(Line::raw(""));
        lines.extend(fields(state, doc, theme));
        lines.push(Line::raw(""));
        let hint = |a: crate::tui::action::Action| {
            keymap
                .key_for(crate::tui::keymap::Context::Plan, &a)
                .unwrap_or("?")
                .to_string()
        };
        use crate::tui::action::Action as A;
        let keys = if doc.plan.has_chapters() {
            // Sections come with their chapter: they are not added, deleted or moved here.
            format!(
                "{} chapter point · {} title · {} main point · {} target · {} re-plan · {} write",
                hint(A::EditChapterPoint),
                hint(A::EditTitle),
                hint(A::EditMainPoint),
                hint(A::EditTarget),
                hint(A::Replan),
                hint(A::StartWriting)
            )
        } else {
            format!(
                "{} title · {} main point · {} target · {} add · {} delete · {}/{} move · {} re-plan · {} write",
                hint(A::EditTitle), hint(A::EditMainPoint), hint(A::EditTarget), hint(A::AddSection),
                hint(A::DeleteSection), hint(A::MoveUp), hint(A::MoveDown), hint(A::Replan),
                hint(A::StartWriting)
            )
        };
        lines.push(Line::styled(keys, theme.dim()));
        if state.job_state != JobState::Idle {
            lines.push(Line::styled(
                "(writing has started: edits mark written sections stale)",
                theme.warning(),
            ));
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// `5 sections`, or `3 chapters, 4 sections planned` for a plan in chapters.
fn parts(plan: &crate::plan::Plan) -> String {
    match plan.chapters.len() {
        0 => format!("{} sections", plan.sections.len()),
        c => format!("{c} chapters, {} sections planned", plan.sections.len()),
    }
}

/// The review's fields of the selection: the selected chapter heading's (a fresh chapter
/// plan has nothing else), else the selected section's.
fn fields(state: &State, doc: &crate::writer::Document, theme: &Theme) -> Vec<Line<'static>> {
    let field = |label: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{label:<11}"), theme.dim()),
            Span::styled(value, theme.text()),
        ])
    };
    let plan = &doc.plan;
    let chapter = crate::tui::chapters::heading(plan, state.heading)
        .or_else(|| plan.next_unplanned().filter(|_| plan.sections.is_empty()))
        .and_then(|c| plan.chapters.get(c).map(|chapter| (c, chapter)));
    let (kind, of, title, target, point) = match (chapter, plan.sections.get(state.selected)) {
        (Some((c, chapter)), _) => (
            "Chapter",
            format!(
                "{} of {} (sections planned when it starts)",
                c + 1,
                plan.chapters.len()
            ),
            &chapter.title,
            chapter.target_words,
            &chapter.main_point,
        ),
        (None, Some(s)) => (
            "Section",
            format!("{} of {}", state.selected + 1, plan.sections.len()),
            &s.title,
            s.target_words,
            &s.main_point,
        ),
        (None, None) => return Vec::new(),
    };
    vec![
        field(kind, of),
        field("Title", title.clone()),
        field("Target", format!("{} words", thousands(target))),
        field("Main point", point.clone()),
    ]
}
