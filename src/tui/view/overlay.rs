//! Overlays: the help (generated from the keymap in use), the error dialog, the one-line input,
//! the section editor, confirmations and the profile picker.

use super::layout::centered;
use crate::tui::keymap::Keymap;
use crate::tui::state::{Overlay, State};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// Draws the open overlay, if any.
pub fn draw(frame: &mut Frame, area: Rect, state: &State, (theme, keymap): (&Theme, &Keymap)) {
    match &state.overlay {
        Overlay::None => {}
        Overlay::Help { top } => super::help::draw(frame, area, (state, keymap), *top, theme),
        Overlay::Error(message) => {
            let width = centered(area, 60, 3).width.saturating_sub(2).max(1);
            let rows = (message.chars().count() as u16 / width) + 4;
            let rect = centered(area, 60, rows);
            frame.render_widget(Clear, rect);
            let block = Block::bordered()
                .title(Line::styled(" Error ", theme.error()))
                .title_bottom(Line::styled(" esc closes ", theme.dim()).right_aligned())
                .border_style(theme.error());
            frame.render_widget(
                Paragraph::new(message.as_str())
                    .style(theme.text())
                    .wrap(Wrap { trim: true })
                    .block(block),
                rect,
            );
        }
        Overlay::Input {
            purpose,
            area: text,
        } => {
            let rect = centered(area, 70, 3);
            frame.render_widget(Clear, rect);
            let block = Block::bordered()
                .title(Line::styled(
                    format!(" {} ", purpose.label()),
                    theme.title(true),
                ))
                .title_bottom(
                    Line::styled(" enter accepts · esc cancels ", theme.dim()).right_aligned(),
                )
                .border_style(theme.border(true));
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            frame.render_widget(text.as_ref(), inner);
        }
        Overlay::Editor { index, area: text } => {
            let rect = centered(area, 90, area.height.saturating_sub(2));
            frame.render_widget(Clear, rect);
            let block = Block::bordered()
                .title(Line::styled(
                    format!(" Edit section {} ", index + 1),
                    theme.title(true),
                ))
                .title_bottom(
                    Line::styled(" ctrl-s saves · esc closes (asks if unsaved) ", theme.dim())
                        .right_aligned(),
                )
                .border_style(theme.border(true));
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            frame.render_widget(text.as_ref(), inner);
        }
        Overlay::Confirm {
            question,
            choices,
            otherwise,
            ..
        } => confirm(frame, area, (question, choices, otherwise), theme),
        Overlay::Profiles { selected } => profiles(frame, area, state, *selected, theme),
    }
}

/// The profile picker: one row per profile (name, kind, URL or model file), the active one
/// marked with `*`, the selected one highlighted.
fn profiles(frame: &mut Frame, area: Rect, state: &State, selected: usize, theme: &Theme) {
    let rows = (state.profiles.len() as u16).saturating_add(2);
    let rect = centered(area, 70, rows.min(area.height));
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Line::styled(
            " Profile for the next job ",
            theme.title(true),
        ))
        .title_bottom(
            Line::styled(" enter chooses · esc closes · * active ", theme.dim()).right_aligned(),
        )
        .border_style(theme.border(true));
    let active = state
        .switching
        .as_ref()
        .map(|(name, _)| name)
        .or(state.active_profile.as_ref());
    let width = state.profiles.iter().map(|p| p.name.chars().count()).max();
    let width = width.unwrap_or(0);
    let top = selected.saturating_sub(usize::from(rect.height.saturating_sub(3)));
    let lines: Vec<Line> = state
        .profiles
        .iter()
        .enumerate()
        .skip(top)
        .map(|(i, p)| {
            let mark = if Some(&p.name) == active { '*' } else { ' ' };
            let text = format!("{mark} {:width$}  {:6}  {}", p.name, p.kind, p.place);
            let style = if i == selected {
                theme.selected()
            } else {
                theme.text()
            };
            Line::styled(text, style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

/// A one-key question: the question in full, then one line per answer.
fn confirm(
    frame: &mut Frame,
    area: Rect,
    (question, choices, otherwise): (&str, &[(char, &str)], &str),
    theme: &Theme,
) {
    let width = centered(area, 70, 3).width.saturating_sub(2).max(1);
    let text_rows = (question.chars().count() as u16).div_ceil(width).max(1) + 1;
    let rows = text_rows + choices.len() as u16 + 3;
    let rect = centered(area, 70, rows.min(area.height));
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Line::styled(" Confirm ", theme.warning()))
        .border_style(theme.warning());
    let mut lines = vec![
        Line::styled(question.to_string(), theme.text()),
        Line::default(),
    ];
    for (key, label) in choices {
        lines.push(Line::from(vec![
            Span::styled(format!(" {key} "), theme.selected()),
            Span::styled(format!(" {label}"), theme.text()),
        ]));
    }
    lines.push(Line::styled(format!(" {otherwise}"), theme.dim()));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        rect,
    );
}
