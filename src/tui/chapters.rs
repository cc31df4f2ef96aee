//! The plan tree's chapters: which rows the tree shows (chapter headings, and the sections of
//! the chapters that are unfolded), which row the selection lights, and how the selection
//! steps over folded chapters and onto the headings of chapters without sections (a fresh
//! chapter plan under review has only those). Pure functions of the plan, the folded
//! chapters and the selection; the view draws the rows, `update` moves the selection. A flat
//! plan has only section rows.

use crate::plan::Plan;
use std::collections::BTreeSet;

/// One row of the plan tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeRow {
    /// A chapter heading (zero-based chapter index).
    Chapter(usize),
    /// A section (zero-based section index).
    Section(usize),
}

/// The rows of the tree: in a plan with chapters, each chapter's heading followed by its
/// sections unless it is folded; in a flat plan, the sections.
pub fn tree_rows(plan: &Plan, folded: &BTreeSet<usize>) -> Vec<TreeRow> {
    if !plan.has_chapters() {
        return (0..plan.sections.len()).map(TreeRow::Section).collect();
    }
    let mut rows = Vec::with_capacity(plan.chapters.len() + plan.sections.len());
    for c in 0..plan.chapters.len() {
        rows.push(TreeRow::Chapter(c));
        if !folded.contains(&c) {
            rows.extend(plan.chapter_range(c).map(TreeRow::Section));
        }
    }
    rows
}

/// The chapter whose heading is selected: `heading` while that chapter has no sections (in
/// review, every chapter of a fresh chapter plan), since no section can stand for it then.
pub fn heading(plan: &Plan, heading: Option<usize>) -> Option<usize> {
    heading.filter(|&c| c < plan.chapters.len() && plan.chapter_range(c).is_empty())
}

/// The row lit for the selection: the heading selected, else section `selected`'s own row, or
/// its chapter's heading when folded away (the first chapter heading when there are no
/// sections yet).
pub fn selected_row(
    rows: &[TreeRow],
    plan: &Plan,
    selected: usize,
    selected_heading: Option<usize>,
) -> Option<usize> {
    if let Some(c) = heading(plan, selected_heading) {
        return rows.iter().position(|r| *r == TreeRow::Chapter(c));
    }
    rows.iter()
        .position(|r| *r == TreeRow::Section(selected))
        .or_else(|| {
            let c = plan.chapter_of(selected).unwrap_or(0);
            rows.iter().position(|r| *r == TreeRow::Chapter(c))
        })
}

/// The chapter the selection is in: the heading selected, else the selected section's
/// chapter, else (no sections yet) the first chapter still to be planned.
pub fn selected_chapter(
    plan: &Plan,
    selected: usize,
    selected_heading: Option<usize>,
) -> Option<usize> {
    heading(plan, selected_heading)
        .or_else(|| plan.chapter_of(selected))
        .or_else(|| plan.next_unplanned())
}

/// A place the selection can stop at in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Section(usize),
    Heading(usize),
}

/// The stops in tree order: every shown section, a folded chapter once (its first section
/// stands for it), and the heading of each chapter without sections.
fn stops(plan: &Plan, folded: &BTreeSet<usize>) -> Vec<Stop> {
    let stop = |row: TreeRow| match row {
        TreeRow::Section(i) => Some(Stop::Section(i)),
        TreeRow::Chapter(c) => {
            let range = plan.chapter_range(c);
            if range.is_empty() {
                Some(Stop::Heading(c))
            } else if folded.contains(&c) {
                Some(Stop::Section(range.start))
            } else {
                None
            }
        }
    };
    tree_rows(plan, folded)
        .into_iter()
        .filter_map(stop)
        .collect()
}

/// Moves the selection `(section, heading)` by `delta` stops (saturating: `isize::MIN` is
/// the top, `isize::MAX` the bottom); returns the new selection.
pub fn step(
    plan: &Plan,
    folded: &BTreeSet<usize>,
    (selected, selected_heading): (usize, Option<usize>),
    delta: isize,
) -> (usize, Option<usize>) {
    let stops = stops(plan, folded);
    let Some(last) = stops.len().checked_sub(1) else {
        return (0, None);
    };
    let here = match (heading(plan, selected_heading), plan.chapter_of(selected)) {
        (Some(c), _) => Stop::Heading(c),
        (None, Some(c)) if folded.contains(&c) => Stop::Section(plan.chapter_range(c).start),
        (None, Some(_)) => Stop::Section(selected),
        (None, None) => plan
            .next_unplanned()
            .map_or(Stop::Section(0), Stop::Heading),
    };
    let at = stops.iter().position(|s| *s == here).unwrap_or(0);
    match stops[at.saturating_add_signed(delta).min(last)] {
        Stop::Section(i) => (i, None),
        Stop::Heading(c) => (selected, Some(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        crate::tui::fixtures::chapter_plan(10_000, &[3, 2])
    }

    #[test]
    fn folded_chapters_show_only_their_heading() {
        let plan = plan();
        let open = tree_rows(&plan, &BTreeSet::new());
        assert_eq!(open.len(), 2 + 5);
        assert_eq!(open[0], TreeRow::Chapter(0));
        assert_eq!(open[4], TreeRow::Chapter(1));
        let folded = tree_rows(&plan, &BTreeSet::from([0]));
        assert_eq!(
            folded,
            vec![
                TreeRow::Chapter(0),
                TreeRow::Chapter(1),
                TreeRow::Section(3),
                TreeRow::Section(4)
            ]
        );
        assert_eq!(
            selected_row(&folded, &plan, 1, None),
            Some(0),
            "its heading"
        );
        assert_eq!(selected_row(&folded, &plan, 4, None), Some(3));
    }

    #[test]
    fn the_selection_steps_over_a_folded_chapter() {
        let plan = plan();
        let folded = BTreeSet::from([0]);
        assert_eq!(step(&plan, &folded, (0, None), 1), (3, None));
        assert_eq!(
            step(&plan, &folded, (1, None), 1),
            (3, None),
            "from a hidden one"
        );
        assert_eq!(step(&plan, &folded, (3, None), -1), (0, None));
        assert_eq!(step(&plan, &BTreeSet::new(), (3, None), -1), (2, None));
        assert_eq!(
            step(&plan, &folded, (4, None), 1),
            (4, None),
            "the last stays"
        );
        assert_eq!(selected_chapter(&plan, 4, None), Some(1));
    }

    #[test]
    fn the_headings_of_chapters_without_sections_are_stops() {
        let plan = plan();
        let open = BTreeSet::new();
        // Chapters 1 and 2 have sections 0..3 and 3..5; a third has none yet.
        let mut plan3 = plan.clone();
        plan3.chapters.push(plan.chapters[1].clone());
        plan3.chapters[2].sections = 0;
        plan3.chapters[2].planned = false;
        assert_eq!(step(&plan3, &open, (4, None), 1), (4, Some(2)));
        assert_eq!(step(&plan3, &open, (4, Some(2)), -1), (4, None));
        assert_eq!(step(&plan3, &open, (0, None), isize::MAX), (0, Some(2)));
        assert_eq!(selected_chapter(&plan3, 4, Some(2)), Some(2));
        let rows = tree_rows(&plan3, &open);
        assert_eq!(
            selected_row(&rows, &plan3, 4, Some(2)),
            Some(rows.len() - 1)
        );
        assert_eq!(heading(&plan3, Some(1)), None, "chapter 2 has sections");
        let fresh = Plan::of_chapters(crate::plan::fallback_chapters(6_000, false), false);
        assert_eq!(fresh.chapters.len(), 2);
        assert_eq!(step(&fresh, &open, (0, None), 1), (0, Some(1)));
        assert_eq!(step(&fresh, &open, (0, Some(1)), -1), (0, Some(0)));
        assert_eq!(step(&fresh, &open, (0, Some(1)), isize::MIN), (0, Some(0)));
        assert_eq!(selected_chapter(&fresh, 0, None), Some(0));
    }
}
