//! Moving around: the tree selection, the stream's scroll and follow mode, search, and the
//! frame tick that folds coalesced token deltas into the wrapped lines and the statistics.

use super::super::action::Action;
use super::super::state::{Focus, JobState, Level, Search, State, SPARK_SECONDS};
use super::super::view::layout;

/// The frame tick: statistics, the current section's word count, the stream's lines.
pub(super) fn tick(state: &mut State, now: u64) {
    let stats = &mut state.stats;
    let last = stats.now_ms;
    stats.now_ms = now;
    if state.job_state.is_running() {
        stats.elapsed_ms += now.saturating_sub(last);
    }
    if stats.bucket_start_ms == 0 {
        stats.bucket_start_ms = now.max(1);
    }
    while now >= stats.bucket_start_ms + 1000 {
        stats.samples.push_back(stats.chunks);
        stats.chunks = 0;
        stats.bucket_start_ms += 1000;
        if stats.samples.len() > SPARK_SECONDS {
            stats.samples.pop_front();
        }
    }
    if let Some(i) = state.current {
        if state.job_state.is_running() {
            state.recount(i);
        }
    }
    refresh(state);
}

/// Brings the stream pane's wrapped lines up to date with the shown section and pane size.
pub(crate) fn refresh(state: &mut State) {
    let area = layout::stream_text_area(state.size.0, state.size.1, state.screen);
    let n = state.section_count();
    let section = state.stream.section.min(n.saturating_sub(1));
    let rev = state.revision(section) ^ ((section as u64) << 40);
    // Borrowed from the document beside the stream view: no copy of the section per frame.
    let text = state
        .document
        .as_ref()
        .and_then(|d| d.drafts.get(section))
        .map_or(
            std::borrow::Cow::Borrowed(""),
            crate::tui::sections::text_of,
        );
    let view = &mut state.stream;
    view.width = area.width;
    view.height = area.height;
    if n == 0 {
        view.wrapped = Default::default();
        return;
    }
    view.section = section;
    view.wrapped.refresh(&text, view.width.max(1), rev);
    let max_top = view
        .wrapped
        .lines
        .len()
        .saturating_sub(usize::from(view.height));
    if view.follow {
        view.top = max_top;
    } else {
        view.top = view.top.min(max_top);
    }
}

/// Up, down, top, bottom, pages, focus, opening a section and following.
pub(super) fn navigate(state: &mut State, action: Action) {
    let n = state.section_count();
    let page = usize::from(state.stream.height / 2).max(1);
    let on_stream = state.focus == Focus::Stream && state.screen == super::Screen::Writing;
    match action {
        Action::FocusNext => {
            state.focus = match state.focus {
                Focus::Tree => Focus::Stream,
                Focus::Stream => Focus::Tree,
            };
        }
        Action::Up | Action::Down | Action::PageUp | Action::PageDown if on_stream => {
            let delta = match action {
                Action::Up => -1,
                Action::Down => 1,
                Action::PageUp => -(page as isize),
                _ => page as isize,
            };
            scroll_by(state, delta);
        }
        Action::Top if on_stream => {
            state.stream.follow = false;
            state.stream.top = 0;
        }
        Action::Bottom if on_stream => {
            state.stream.follow = true;
        }
        Action::Up | Action::Down | Action::Top | Action::Bottom if state.has_chapters() => {
            let delta = match action {
                Action::Up => -1,
                Action::Down => 1,
                Action::Top => isize::MIN,
                _ => isize::MAX,
            };
            if let Some(doc) = &state.document {
                let at = (state.selected, state.heading);
                (state.selected, state.heading) =
                    crate::tui::chapters::step(&doc.plan, &state.folded, at, delta);
            }
        }
        Action::Up => state.selected = state.selected.saturating_sub(1),
        Action::Down => state.selected = (state.selected + 1).min(n.saturating_sub(1)),
        Action::PageUp => {
            state.heading = None;
            state.selected = state.selected.saturating_sub(page);
        }
        Action::PageDown => {
            state.heading = None;
            state.selected = (state.selected + page).min(n.saturating_sub(1));
        }
        Action::Top => state.selected = 0,
        Action::Bottom => state.selected = n.saturating_sub(1),
        Action::OpenSection => {
            open(state, state.selected);
            state.focus = Focus::Stream;
        }
        Action::Follow => {
            if let Some(c) = state.current {
                state.stream.section = c;
                state.selected = c;
                state.heading = None;
            }
            state.stream.follow = true;
        }
        Action::Search => super::open_input(state, super::InputPurpose::Search, ""),
        Action::NextMatch => next_match(state),
        Action::Cancel => state.search = None,
        _ => {}
    }
    refresh(state);
}

fn open(state: &mut State, section: usize) {
    state.stream.section = section;
    let live = state.current == Some(section) && state.job_state == JobState::Running;
    state.stream.follow = live;
    state.stream.top = 0;
}

fn scroll_by(state: &mut State, delta: isize) {
    let view = &mut state.stream;
    let max_top = view
        .wrapped
        .lines
        .len()
        .saturating_sub(usize::from(view.height));
    let top = if view.follow { max_top } else { view.top };
    let new = top.saturating_add_signed(delta).min(max_top);
    view.top = new;
    // Scrolling back to the end of the live section follows it again.
    view.follow = delta > 0 && new == max_top && state.current == Some(view.section);
}

/// Finds `query` (ASCII case-insensitive) in every section and shows the first match.
pub(super) fn search(state: &mut State, query: String) {
    if query.is_empty() {
        state.search = None;
        return;
    }
    let needle = query.to_ascii_lowercase();
    let mut matches = Vec::new();
    for i in 0..state.section_count() {
        let hay = state.text(i).to_ascii_lowercase();
        matches.extend(hay.match_indices(&needle).map(|(at, _)| (i, at)));
    }
    if matches.is_empty() {
        state.say(Level::Warning, format!("{query:?} not found"));
        state.search = None;
        return;
    }
    state.say(
        Level::Info,
        format!("{} matches for {query:?} (N: next)", matches.len()),
    );
    state.search = Some(Search {
        query,
        matches,
        at: 0,
    });
    show_match(state);
}

fn next_match(state: &mut State) {
    let Some(search) = &mut state.search else {
        state.say(Level::Info, "no search (/)");
        return;
    };
    search.at = (search.at + 1) % search.matches.len().max(1);
    let msg = format!("match {}/{}", search.at + 1, search.matches.len());
    state.say(Level::Info, msg);
    show_match(state);
}

fn show_match(state: &mut State) {
    let Some(&(section, offset)) = state.search.as_ref().and_then(|s| s.matches.get(s.at)) else {
        return;
    };
    open(state, section);
    state.selected = section;
    state.heading = None;
    state.stream.follow = false;
    refresh(state);
    let line = state.stream.wrapped.line_of(offset);
    state.stream.top = line.saturating_sub(usize::from(state.stream.height / 3));
    refresh(state);
}
