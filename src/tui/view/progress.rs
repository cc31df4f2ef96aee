//! The progress pane: the document's gauge, the current section's gauge, tok/s with a
//! sparkline, elapsed time and ETA, backend, job and retry state, a gauge row per section and,
//! where there is room, a bar chart of written against target words.

use super::thousands;
use crate::tui::state::{JobState, State};
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{BarChart, Block, Gauge, Paragraph, Sparkline};
use ratatui::Frame;

/// Draws the progress pane.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    if area.width < 12 || area.height < 4 {
        return;
    }
    let block = Block::bordered()
        .title(Line::styled(" Progress ", theme.title(false)))
        .border_style(theme.border(false));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let written = state.total_written();
    let target = state.total_target().max(1);
    let spark_h = if inner.height >= 16 { 3 } else { 1 };
    let chapter = chapter_line(state, theme, inner.width);
    let [gauge, info, spark, rest] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(5 + u16::from(chapter.is_some())),
        Constraint::Length(spark_h),
        Constraint::Min(0),
    ])
    .areas(inner);
    let ratio = (written as f64 / target as f64).clamp(0.0, 1.0);
    frame.render_widget(
        Gauge::default()
            .ratio(ratio)
            .label(format!(
                "{}/{} {:.0}%",
                thousands(written),
                thousands(target),
                ratio * 100.0
            ))
            .gauge_style(theme.gauge()),
        gauge,
    );
    let mut info_text = info_lines(state, theme, info.width);
    if let Some(line) = chapter {
        info_text.insert(2, line);
    }
    frame.render_widget(Paragraph::new(info_text), info);
    let samples: Vec<u64> = state.stats.samples.iter().copied().collect();
    let take = usize::from(spark.width).min(samples.len());
    frame.render_widget(
        Sparkline::default()
            .data(&samples[samples.len() - take..])
            .style(theme.bar()),
        spark,
    );
    draw_sections(frame, rest, state, theme);
}

fn info_lines<'a>(state: &'a State, theme: &Theme, width: u16) -> Vec<Line<'a>> {
    let stats = &state.stats;
    let elapsed_s = stats.elapsed_ms / 1000;
    let done_now = state.total_written().saturating_sub(stats.words_at_start);
    let remaining = state.total_target().saturating_sub(state.total_written());
    let eta = if done_now > 0 && elapsed_s > 0 && state.job_state.is_running() {
        clock(remaining as u64 * elapsed_s / done_now as u64)
    } else {
        "–".into()
    };
    let (job, job_style) = match &state.job_state {
        JobState::Idle => ("ready".to_string(), theme.dim()),
        JobState::Running => (
            "writing".into(),
            theme.section_state(crate::plan::SectionState::Writing),
        ),
        JobState::Pausing => ("pausing…".into(), theme.warning()),
        JobState::Paused => ("paused".into(), theme.warning()),
        JobState::Stopping => ("stopping…".into(), theme.warning()),
        JobState::Stopped => ("stopped".into(), theme.warning()),
        JobState::Done => (
            "done".into(),
            theme.section_state(crate::plan::SectionState::Done),
        ),
        JobState::Failed(e) => (format!("failed: {e}"), theme.error()),
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled("tok/s ", theme.dim()),
            Span::styled(format!("{:.1}", stats.tok_per_s()), theme.accent()),
        ]),
        Line::from(vec![
            Span::styled("elapsed ", theme.dim()),
            Span::styled(clock(elapsed_s), theme.text()),
            Span::styled("  ETA ", theme.dim()),
            Span::styled(eta, theme.text()),
        ]),
        Line::styled(
            super::truncate(&state.backend, usize::from(width)),
            theme.dim(),
        ),
        Line::styled(super::truncate(&job, usize::from(width)), job_style),
    ];
    if stats.guarded > 0 {
        lines.push(Line::styled(
            format!("guards caught {}", stats.guarded),
            theme.warning(),
        ));
    }
    if let Some(r) = &stats.retry {
        let secs = r.at_ms.saturating_sub(stats.now_ms).div_ceil(1000);
        lines.push(Line::styled(
            format!("reconnecting {}/{} in {secs} s", r.attempt, r.max_attempts),
            theme.warning(),
        ));
    }
    lines
}

/// In a plan with chapters: the chapter being written (or selected), of how many, and its
/// words written / target.
fn chapter_line(state: &State, theme: &Theme, width: u16) -> Option<Line<'static>> {
    let plan = &state.document.as_ref()?.plan;
    let c = match state.current {
        Some(i) => crate::tui::chapters::selected_chapter(plan, i, None)?,
        None => crate::tui::chapters::selected_chapter(plan, state.selected, state.heading)?,
    };
    let chapter = &plan.chapters[c];
    let written: usize = plan.chapter_range(c).map(|i| state.words_of(i)).sum();
    let text = format!(
        "chapter {}/{} {}/{} {}",
        c + 1,
        plan.chapters.len(),
        thousands(written),
        thousands(chapter.target_words),
        chapter.title
    );
    Some(Line::styled(
        super::truncate(&text, usize::from(width)),
        theme.accent(),
    ))
}

/// `h:mm:ss`.
/// `m:ss` under an hour, `h:mm:ss` from then on, so that the ETA fits a narrow pane.
fn clock(secs: u64) -> String {
    if secs < 3600 {
        return format!("{}:{:02}", secs / 60, secs % 60);
    }
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// One text gauge row per section around the current one, then a bar chart if room is left.
fn draw_sections(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(doc) = &state.document else { return };
    if area.height == 0 {
        return;
    }
    let n = doc.plan.sections.len();
    let chart_h = if area.height >= n.min(12) as u16 + 8 {
        6
    } else {
        0
    };
    let rows = usize::from(area.height - chart_h);
    let focus = state.current.unwrap_or(state.selected);
    let first = focus.saturating_sub(rows / 2).min(n.saturating_sub(rows));
    let bar_w = usize::from(area.width).saturating_sub(10).max(1);
    let lines: Vec<Line> = (first..n.min(first + rows))
        .map(|i| {
            let s = &doc.plan.sections[i];
            let w = state.words_of(i);
            let ratio = (w as f64 / s.target_words.max(1) as f64).min(1.0);
            let filled = (ratio * bar_w as f64).round() as usize;
            Line::from(vec![
                Span::styled(format!("{:>3} ", i + 1), theme.section_state(s.state)),
                Span::styled("█".repeat(filled), theme.bar()),
                Span::styled("░".repeat(bar_w - filled), theme.bar_track()),
                Span::styled(format!("{:>4.0}%", ratio * 100.0), theme.dim()),
            ])
        })
        .collect();
    let [list, chart] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(chart_h)]).areas(area);
    frame.render_widget(Paragraph::new(lines), list);
    if chart_h > 0 {
        let data: Vec<(String, u64)> = (0..n)
            .map(|i| {
                let w = state.words_of(i) as u64;
                (
                    (i + 1).to_string(),
                    w * 100 / doc.plan.sections[i].target_words.max(1) as u64,
                )
            })
            .collect();
        let refs: Vec<(&str, u64)> = data.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        let bar_width = (area.width / (n as u16).max(1)).clamp(1, 3);
        frame.render_widget(
            BarChart::default()
                .data(refs.as_slice())
                .bar_width(bar_width)
                .bar_gap(u16::from(bar_width > 1))
                .max(100)
                .bar_style(theme.bar())
                .value_style(theme.status())
                .label_style(theme.dim()),
            chart,
        );
    }
}
