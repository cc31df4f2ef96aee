//! The plan tree's chapters: which rows the tree shows (chapter headings, and the sections of
//! the chapters that are unfolded), which row the selection lights, and how the selection
//! steps over folded chapters. Pure functions of the plan and the set of folded chapters; the
//! view draws the rows, `update` moves the selection. A flat plan has only section rows.

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

/// The row lit for section `selected`: its own, or its chapter's heading when folded away
/// (the first chapter heading when there are no sections yet).
pub fn selected_row(rows: &[TreeRow], plan: &Plan, selected: usize) -> Option<usize> {
    rows.iter()
        .position(|r| *r == TreeRow::Section(selected))
        .or_else(|| {
            let c = plan.chapter_of(selected).unwrap_or(0);
            rows.iter().position(|r| *r == TreeRow::Chapter(c))
        })
}

/// The chapter the selection is in: the selected section's, else (no sections yet) the first
/// chapter still to be planned.
pub fn selected_chapter(plan: &Plan, selected: usize) -> Option<usize> {
    plan.chapter_of(selected).or_else(|| plan.next_unplanned())
}

/// The section the selection moves to from `selected`, one step up or down: a folded chapter
/// counts as one step (its first section stands for it).
pub fn step(plan: &Plan, folded: &BTreeSet<usize>, selected: usize, down: bool) -> usize {
    let n = plan.sections.len();
    if n == 0 {
        return 0;
    }
    let hidden = |i: usize| plan.chapter_of(i).filter(|c| folded.contains(c));
    if down {
        let next = match hidden(selected) {
            Some(c) => plan.chapter_range(c).end,
            None => selected + 1,
        };
        if next >= n {
            return selected.min(n - 1);
        }
        next
    } else {
        let Some(prev) = selected.min(n).checked_sub(1) else {
            return 0;
        };
        match hidden(prev) {
            Some(c) if hidden(selected) != Some(c) => plan.chapter_range(c).start,
            _ => prev,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{fallback_chapters, Section, SectionState};

    fn plan() -> Plan {
        let mut plan = Plan::of_chapters(fallback_chapters(10_000, false), false);
        let section = Section {
            title: "s".into(),
            main_point: "p".into(),
            target_words: 500,
            state: SectionState::Done,
        };
        plan.add_chapter_sections(0, vec![section.clone(); 3]);
        plan.add_chapter_sections(1, vec![section; 2]);
        plan
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
        assert_eq!(selected_row(&folded, &plan, 1), Some(0), "its heading");
        assert_eq!(selected_row(&folded, &plan, 4), Some(3));
    }

    #[test]
    fn the_selection_steps_over_a_folded_chapter() {
        let plan = plan();
        let folded = BTreeSet::from([0]);
        assert_eq!(step(&plan, &folded, 0, true), 3);
        assert_eq!(step(&plan, &folded, 3, false), 0);
        assert_eq!(step(&plan, &BTreeSet::new(), 3, false), 2);
        assert_eq!(step(&plan, &folded, 4, true), 4, "the last stays");
        assert_eq!(selected_chapter(&plan, 4), Some(1));
    }
}
