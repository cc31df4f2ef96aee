//! The dashboard's data: every project in the store that a live process writes, polled with
//! the store's `Follower` (read-only, no lock), turned into `RunRow`s with a rate and an ETA.
//!
//! Runs on its own task while the dashboard is open; any number of studios can watch at once.

use super::action::Action;
use super::state::RunRow;
use crate::plan::Plan;
use crate::store::{Follower, Snapshot, Store};
use crate::text::count_words;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// Poll period: rows are at most this old (plus the writer's 100 ms journal flush).
const EVERY: Duration = Duration::from_millis(200);
/// Rates are measured over this window.
const WINDOW: Duration = Duration::from_secs(5);

/// One followed run and its recent progress.
struct Tracked {
    follower: Follower,
    last: Option<Snapshot>,
    /// `(when, journal records, words)`, oldest first.
    samples: VecDeque<(Instant, u64, usize)>,
}

/// Sends the live runs to `actions` whenever they change, until `stop` fires.
pub async fn watch_runs(store: Store, actions: UnboundedSender<Action>, stop: CancellationToken) {
    let mut tracked: HashMap<String, Tracked> = HashMap::new();
    let mut last_sent: Option<Vec<RunRow>> = None;
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let rows = tokio::task::block_in_place(|| poll(&store, &mut tracked, Instant::now()));
        if last_sent.as_ref() != Some(&rows) {
            if actions.send(Action::Runs(rows.clone())).is_err() {
                return;
            }
            last_sent = Some(rows);
        }
    }
}

fn poll(store: &Store, tracked: &mut HashMap<String, Tracked>, now: Instant) -> Vec<RunRow> {
    let live: Vec<_> = store
        .list()
        .into_iter()
        .filter(|p| p.pid.is_some())
        .collect();
    tracked.retain(|id, _| live.iter().any(|p| &p.id == id));
    live.into_iter()
        .map(|summary| {
            let t = tracked
                .entry(summary.id.clone())
                .or_insert_with(|| Tracked {
                    follower: Follower::new(&store.root().join(&summary.id)),
                    last: None,
                    samples: VecDeque::new(),
                });
            if let Some(snapshot) = t.follower.poll() {
                t.last = Some(snapshot);
            }
            let mut row = RunRow {
                id: summary.id,
                title: summary.title,
                chapter: None,
                section: 0,
                sections: 0,
                words: summary.words,
                target: summary.target_words,
                tok_per_s: 0.0,
                eta_s: None,
                state: summary.state,
            };
            if let Some(s) = &t.last {
                fill(&mut row, s, &mut t.samples, now);
            }
            row
        })
        .collect()
}

/// Where section `index` (zero-based) of a plan with chapters is: `(chapter, chapters)`, and
/// its place among its chapter's sections, 1-based. Past the sections planned so far: the next
/// chapter to plan, with no section yet (it is being planned), or the last section when every
/// chapter is planned.
fn in_chapter(plan: &Plan, index: usize) -> (Option<(usize, usize)>, usize, usize) {
    let chapters = plan.chapters.len();
    let index = match plan.next_unplanned() {
        Some(c) if plan.chapter_of(index).is_none() => return (Some((c + 1, chapters)), 0, 0),
        _ => index.min(plan.sections.len().saturating_sub(1)),
    };
    let Some(c) = plan.chapter_of(index) else {
        return (Some((1, chapters)), 0, 0);
    };
    let range = plan.chapter_range(c);
    (
        Some((c + 1, chapters)),
        index - range.start + 1,
        range.len(),
    )
}

/// Section, words, rate and ETA of one run from its latest snapshot.
fn fill(
    row: &mut RunRow,
    s: &Snapshot,
    samples: &mut VecDeque<(Instant, u64, usize)>,
    now: Instant,
) {
    let Some(m) = &s.manifest else { return };
    let planned = m.plan.as_ref().map_or(0, |p| p.sections.len());
    let done = s.sections.iter().filter(|t| t.is_some()).count();
    let index = s.current.as_ref().map_or(done, |(i, _)| *i);
    match m.plan.as_ref().filter(|p| p.has_chapters()) {
        Some(plan) => (row.chapter, row.section, row.sections) = in_chapter(plan, index),
        None => (row.section, row.sections) = ((index + 1).min(planned), planned),
    }
    let current = s.current.as_ref().map_or(0, |(_, t)| count_words(t));
    row.words = m.words_written() + current;
    samples.push_back((now, s.records, row.words));
    while samples.len() > 2 && samples.front().is_some_and(|f| now - f.0 > WINDOW) {
        samples.pop_front();
    }
    let Some(&(t0, r0, w0)) = samples.front() else {
        return;
    };
    let dt = (now - t0).as_secs_f64();
    if dt < 0.5 {
        return;
    }
    row.tok_per_s = s.records.saturating_sub(r0) as f64 / dt;
    let words_per_s = row.words.saturating_sub(w0) as f64 / dt;
    if words_per_s > 0.0 {
        row.eta_s = Some((row.target.saturating_sub(row.words) as f64 / words_per_s) as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fallback_chapters;
    use crate::tui::fixtures::chapter_plan;

    #[test]
    fn a_section_is_placed_in_its_chapter() {
        let mut plan = chapter_plan(15_000, &[3, 4]);
        assert_eq!(in_chapter(&plan, 0), (Some((1, 3)), 1, 3));
        assert_eq!(in_chapter(&plan, 4), (Some((2, 3)), 2, 4));
        assert_eq!(in_chapter(&plan, 7), (Some((3, 3)), 0, 0), "being planned");
        plan.add_chapter_sections(2, Vec::new());
        assert_eq!(in_chapter(&plan, 7), (Some((2, 3)), 4, 4), "all written");
        let unplanned = Plan::of_chapters(fallback_chapters(15_000, false), false);
        assert_eq!(in_chapter(&unplanned, 0), (Some((1, 3)), 0, 0));
    }
}
