//! Where each pane goes for a terminal size. Pure geometry shared by `draw` and by `update`
//! (which needs the stream pane's size to wrap text).

use crate::tui::state::Screen;
use ratatui::layout::{Constraint, Layout, Rect};

/// Below this size only the stream and the status line are drawn.
pub const MIN_FULL: (u16, u16) = (40, 10);

/// The panes of the plan review and writing screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    /// The plan tree (empty when there is no room).
    pub tree: Rect,
    /// The stream (or the plan details during review).
    pub stream: Rect,
    /// The progress pane (empty when there is no room).
    pub progress: Rect,
    /// The status line.
    pub status: Rect,
}

/// Splits `area` into panes.
pub fn areas(area: Rect) -> Areas {
    let [body, status] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    if area.width < MIN_FULL.0 || area.height < MIN_FULL.1 {
        return Areas {
            stream: body,
            status,
            ..Areas::default()
        };
    }
    if body.width >= 100 {
        let tree_w = (body.width * 28 / 100).clamp(24, 40);
        let [tree, stream, progress] = Layout::horizontal([
            Constraint::Length(tree_w),
            Constraint::Min(20),
            Constraint::Length(34),
        ])
        .areas(body);
        return Areas {
            tree,
            stream,
            progress,
            status,
        };
    }
    let left_w = (body.width * 36 / 100).clamp(20, 34);
    let [left, stream] =
        Layout::horizontal([Constraint::Length(left_w), Constraint::Min(10)]).areas(body);
    let [tree, progress] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Min(6)]).areas(left);
    Areas {
        tree,
        stream,
        progress,
        status,
    }
}

/// The text area inside the stream pane's border, for a terminal of `width` × `height`.
pub fn stream_text_area(width: u16, height: u16, _screen: Screen) -> Rect {
    let stream = areas(Rect::new(0, 0, width, height)).stream;
    inner(stream)
}

/// `rect` without its one-cell border.
pub fn inner(rect: Rect) -> Rect {
    Rect::new(
        rect.x.saturating_add(1),
        rect.y.saturating_add(1),
        rect.width.saturating_sub(2),
        rect.height.saturating_sub(2),
    )
}

/// A rectangle of `percent_x` × `height` centred in `area`, clipped to it.
pub fn centered(area: Rect, percent_x: u16, height: u16) -> Rect {
    let width = (area.width * percent_x / 100).max(area.width.min(20));
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}
