//! Hierarchical plans for long texts: chapters first, each with a title, a main point and a
//! word target; each chapter's sections are planned only when that chapter starts, seeing the
//! text so far. This module holds the chapter type, the building of a chapter plan from the
//! model's raw entries (the same tolerant reader as section plans), the fallback chapters, and
//! the plan's chapter bookkeeping. A chapter's sections are contiguous in `Plan::sections`, in
//! chapter order, so a plan without chapters is exactly the flat plan of before.

use super::text::{join_points, mostly_cjk};
use super::validate::{fill_missing, rescale, usable};
use super::{Plan, PlanError, RawSection, Section, SectionState};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Targets above this many words are planned in chapters unless the user says otherwise.
pub const CHAPTER_THRESHOLD: usize = 20_000;

/// About this many words per chapter are suggested to the planner.
pub const CHAPTER_WORDS: usize = 5_000;

/// Chapters are never planned smaller than this on average (smaller ones are merged).
const MIN_CHAPTER_WORDS: usize = 2_000;

/// The most chapters a plan may have.
pub const MAX_CHAPTERS: usize = 50;

/// One chapter of a hierarchical plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chapter {
    /// The chapter's heading.
    pub title: String,
    /// What the chapter has to say.
    pub main_point: String,
    /// How many words the chapter should have.
    pub target_words: usize,
    /// How many sections of the plan belong to it (0 before it is planned).
    #[serde(default)]
    pub sections: usize,
    /// Whether its sections are planned; false again after its point was edited, until the
    /// rest of it is planned anew.
    #[serde(default)]
    pub planned: bool,
}

/// Whether a job plans in chapters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChapterMode {
    /// Chapters above [`CHAPTER_THRESHOLD`] words.
    #[default]
    Auto,
    /// Always chapters (`--chapters`).
    Always,
    /// Never chapters (`--no-chapters`).
    Never,
}

impl ChapterMode {
    /// Whether a text of `target_words` is planned in chapters.
    pub fn applies(self, target_words: usize) -> bool {
        match self {
            Self::Auto => target_words > CHAPTER_THRESHOLD,
            Self::Always => true,
            Self::Never => false,
        }
    }
}

/// Chapters to suggest to the planner for `target_words`.
pub fn suggested_chapters(target_words: usize) -> usize {
    target_words
        .div_ceil(CHAPTER_WORDS)
        .clamp(1, max_chapters(target_words))
}

fn max_chapters(target_words: usize) -> usize {
    (target_words / MIN_CHAPTER_WORDS).clamp(1, MAX_CHAPTERS)
}

/// Validates the model's chapter entries and fits them to `total_words`: entries without a
/// point are dropped, missing targets get the average, targets are rescaled to the total, and
/// the smallest neighbouring pairs are merged while there are more chapters than the total
/// allows (one per 2,000 words, at most [`MAX_CHAPTERS`]).
pub fn build_chapters(raw: Vec<RawSection>, total_words: usize) -> Result<Vec<Chapter>, PlanError> {
    if total_words == 0 {
        return Err(PlanError::ZeroTotalWords);
    }
    let usable: Vec<(String, String, Option<usize>)> = raw.into_iter().filter_map(usable).collect();
    if usable.is_empty() {
        return Err(PlanError::NoSections {
            excerpt: String::new(),
        });
    }
    let weights = fill_missing(usable.iter().map(|u| u.2));
    let targets = rescale(&weights, total_words);
    let mut chapters: Vec<Chapter> = usable
        .into_iter()
        .zip(targets)
        .map(|((title, main_point, _), target_words)| Chapter {
            title,
            main_point,
            target_words,
            sections: 0,
            planned: false,
        })
        .collect();
    while chapters.len() > max_chapters(total_words) {
        let Some(i) = chapters
            .windows(2)
            .enumerate()
            .min_by_key(|(_, w)| w[0].target_words + w[1].target_words)
            .map(|(i, _)| i)
        else {
            break;
        };
        let b = chapters.remove(i + 1);
        let a = &mut chapters[i];
        a.main_point = join_points(&a.main_point, &b.main_point);
        a.target_words += b.target_words;
    }
    Ok(chapters)
}

/// Even chapters of about [`CHAPTER_WORDS`] with generic points, for when the model's chapter
/// plan cannot be used.
pub fn fallback_chapters(total_words: usize, chinese: bool) -> Vec<Chapter> {
    let n = suggested_chapters(total_words.max(1));
    let targets = rescale(&vec![1; n], total_words.max(1));
    targets
        .into_iter()
        .enumerate()
        .map(|(i, target_words)| {
            let (title, main_point) = match (chinese, i, n) {
                (false, 0, _) => ("Chapter 1".to_string(), "Open the text: introduce the topic, its background and what the text will cover.".to_string()),
                (true, 0, _) => ("第1章".to_string(), "开篇：引出主题，交代背景，说明全文将要讨论的内容。".to_string()),
                (false, i, n) if i + 1 == n => (format!("Chapter {}", i + 1), "Bring the threads together and close the whole text.".to_string()),
                (true, i, n) if i + 1 == n => (format!("第{}章", i + 1), "收束全文的线索，完整收尾。".to_string()),
                (false, i, _) => (format!("Chapter {}", i + 1), "Develop the next major part of the topic in depth, without repeating earlier chapters.".to_string()),
                (true, i, _) => (format!("第{}章", i + 1), "深入展开主题的下一个重要部分，避免重复前面的章节。".to_string()),
            };
            Chapter {
                title,
                main_point,
                target_words,
                sections: 0,
                planned: false,
            }
        })
        .collect()
}

/// Sections of at most 800 words that carry the chapter's own point, for when the model's
/// section plan of a chapter cannot be used.
pub fn fallback_sections(chapter: &Chapter, words: usize) -> Vec<Section> {
    let fallback = super::fallback_plan(words.max(1), mostly_cjk(&chapter.main_point));
    let n = fallback.sections.len();
    fallback
        .sections
        .into_iter()
        .enumerate()
        .map(|(k, s)| Section {
            title: match n {
                1 => chapter.title.clone(),
                _ => format!("{} ({}/{n})", chapter.title, k + 1),
            },
            main_point: match n {
                1 => chapter.main_point.clone(),
                _ => format!("{} (part {}/{n})", chapter.main_point, k + 1),
            },
            ..s
        })
        .collect()
}

impl Plan {
    /// A plan of `chapters` whose sections are not planned yet.
    pub fn of_chapters(chapters: Vec<Chapter>, fallback: bool) -> Self {
        Self {
            sections: Vec::new(),
            fallback,
            chapters,
        }
    }

    /// True when the plan is divided into chapters.
    pub fn has_chapters(&self) -> bool {
        !self.chapters.is_empty()
    }

    /// The section indexes of chapter `chapter`.
    pub fn chapter_range(&self, chapter: usize) -> Range<usize> {
        let start: usize = self.chapters[..chapter.min(self.chapters.len())]
            .iter()
            .map(|c| c.sections)
            .sum();
        let len = self.chapters.get(chapter).map_or(0, |c| c.sections);
        start..start + len
    }

    /// The chapter section `index` belongs to, if the plan has chapters.
    pub fn chapter_of(&self, index: usize) -> Option<usize> {
        let mut end = 0;
        for (c, chapter) in self.chapters.iter().enumerate() {
            end += chapter.sections;
            if index < end {
                return Some(c);
            }
        }
        None
    }

    /// The first chapter whose sections are still to be planned.
    pub fn next_unplanned(&self) -> Option<usize> {
        self.chapters.iter().position(|c| !c.planned)
    }

    /// Whether every section the text will have is in the plan.
    pub fn is_complete(&self) -> bool {
        self.next_unplanned().is_none()
    }

    /// The words chapter `chapter` still needs planned: its target less the targets of the
    /// sections it keeps.
    pub fn words_to_plan(&self, chapter: usize) -> usize {
        let kept: usize = self.sections[self.chapter_range(chapter)]
            .iter()
            .map(|s| s.target_words)
            .sum();
        self.chapters[chapter].target_words.saturating_sub(kept)
    }

    /// Appends `sections` to chapter `chapter` (the first unplanned one, whose sections end
    /// the plan) and marks it planned. Returns the new sections' indexes.
    pub fn add_chapter_sections(&mut self, chapter: usize, sections: Vec<Section>) -> Range<usize> {
        let start = self.chapter_range(chapter).end;
        let n = sections.len();
        let tail = self.sections.split_off(start.min(self.sections.len()));
        self.sections.extend(sections);
        self.sections.extend(tail);
        self.chapters[chapter].sections += n;
        self.chapters[chapter].planned = true;
        start..start + n
    }

    /// Sets chapter `chapter`'s main point. Its written sections become stale; its sections
    /// not yet written are dropped to be planned again (when they end the plan, which they do
    /// while the text is written in order), and the chapter is marked unplanned. Returns the
    /// dropped section indexes.
    pub fn edit_chapter_point(&mut self, chapter: usize, point: String) -> Range<usize> {
        let range = self.chapter_range(chapter);
        if let Some(c) = self.chapters.get_mut(chapter) {
            c.main_point = point;
        }
        for s in &mut self.sections[range.clone()] {
            if s.state.is_written() {
                s.state = SectionState::Stale;
            }
        }
        let keep = self.sections[range.clone()]
            .iter()
            .rposition(|s| s.state.is_written())
            .map_or(range.start, |i| range.start + i + 1);
        if range.end != self.sections.len() || keep == range.end {
            return keep..keep;
        }
        self.sections.truncate(keep);
        self.chapters[chapter].sections = keep - range.start;
        self.chapters[chapter].planned = false;
        for later in &mut self.chapters[chapter + 1..] {
            later.sections = 0;
            later.planned = false;
        }
        keep..range.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(point: &str, words: Option<usize>) -> RawSection {
        RawSection {
            title: None,
            main_point: point.into(),
            target_words: words,
        }
    }

    fn section(words: usize, state: SectionState) -> Section {
        Section {
            title: "s".into(),
            main_point: "p".into(),
            target_words: words,
            state,
        }
    }

    #[test]
    fn the_mode_decides_by_the_target() {
        assert!(!ChapterMode::Auto.applies(20_000));
        assert!(ChapterMode::Auto.applies(20_001));
        assert!(ChapterMode::Always.applies(500));
        assert!(!ChapterMode::Never.applies(100_000));
        assert_eq!(suggested_chapters(25_000), 5);
        assert_eq!(suggested_chapters(100_000), 20);
    }

    #[test]
    fn chapters_are_rescaled_and_too_many_are_merged() {
        let many: Vec<RawSection> = (0..30)
            .map(|i| raw(&format!("Point {i}"), Some(10)))
            .collect();
        let chapters = build_chapters(many, 25_000).expect("chapters");
        assert_eq!(chapters.len(), 12, "one per 2,000 words at most");
        assert_eq!(
            chapters.iter().map(|c| c.target_words).sum::<usize>(),
            25_000
        );
        let few = vec![raw("A", Some(1)), raw("B", None), raw("  ", Some(5))];
        let chapters = build_chapters(few, 10_000).expect("chapters");
        assert_eq!(chapters.len(), 2);
        assert_eq!(chapters[0].target_words, 5_000);
        assert!(build_chapters(vec![raw(" ", None)], 10).is_err());
    }

    #[test]
    fn fallback_chapters_and_sections_keep_the_bounds() {
        let chapters = fallback_chapters(25_000, false);
        assert_eq!(chapters.len(), 5);
        let sections = fallback_sections(&chapters[1], 5_000);
        assert!(sections.iter().all(|s| s.target_words <= 1_000));
        assert_eq!(
            sections.iter().map(|s| s.target_words).sum::<usize>(),
            5_000
        );
        assert!(sections[0].title.starts_with("Chapter 2 (1/"));
        assert!(sections[0]
            .main_point
            .contains("Develop the next major part"));
    }

    #[test]
    fn sections_are_added_per_chapter_and_found_again() {
        let mut plan = Plan::of_chapters(fallback_chapters(12_000, false), false);
        assert_eq!(plan.next_unplanned(), Some(0));
        let first = plan.add_chapter_sections(0, vec![section(500, SectionState::Planned); 3]);
        assert_eq!(first, 0..3);
        let second = plan.add_chapter_sections(1, vec![section(500, SectionState::Planned); 2]);
        assert_eq!(second, 3..5);
        assert_eq!(plan.chapter_of(2), Some(0));
        assert_eq!(plan.chapter_of(3), Some(1));
        assert_eq!(plan.chapter_of(5), None);
        assert_eq!(plan.chapter_range(1), 3..5);
        assert!(!plan.is_complete());
        assert_eq!(plan.words_to_plan(1), 3_000);
    }

    #[test]
    fn editing_a_point_stales_written_sections_and_replans_the_rest() {
        let mut plan = Plan::of_chapters(fallback_chapters(12_000, false), false);
        plan.add_chapter_sections(0, vec![section(1_000, SectionState::Done); 3]);
        let mut second = vec![section(1_000, SectionState::Done)];
        second.extend(vec![section(1_000, SectionState::Planned); 3]);
        plan.add_chapter_sections(1, second);
        let dropped = plan.edit_chapter_point(1, "A new point".into());
        assert_eq!(dropped, 4..7);
        assert_eq!(plan.sections.len(), 4);
        assert_eq!(plan.sections[3].state, SectionState::Stale);
        assert_eq!(plan.sections[0].state, SectionState::Done);
        assert_eq!(plan.chapters[1].main_point, "A new point");
        assert_eq!(plan.next_unplanned(), Some(1));
        assert_eq!(plan.words_to_plan(1), 3_000);
        let dropped = plan.edit_chapter_point(0, "Older".into());
        assert!(dropped.is_empty(), "written sections are kept");
        assert!(plan.sections[..3]
            .iter()
            .all(|s| s.state == SectionState::Stale));
    }
}
