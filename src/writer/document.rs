//! The document being written: the plan, and per section the conversation turns that produced
//! its text.
//!
//! Keeping the turns (the step, each generated piece, each continue request) rather than only
//! the text is what makes request k+1 begin with exactly request k plus its answer, so servers
//! with prefix caching compute only the new step.

use super::memory::Memory;
use crate::backend::{BackendInfo, ChatMessage, Role};
use crate::plan::{Plan, SectionState};
use crate::text::{count_words, Language};
use serde::{Deserialize, Serialize};

/// One section's conversation turns and resulting text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SectionDraft {
    /// User and assistant turns in order; the first is the step request.
    pub turns: Vec<ChatMessage>,
}

impl SectionDraft {
    /// The section's text: its assistant turns joined.
    pub fn text(&self) -> String {
        self.turns
            .iter()
            .filter(|t| t.role == Role::Assistant)
            .map(|t| t.content.as_str())
            .collect()
    }

    /// Words written, by the LongBench-Write rule.
    pub fn words(&self) -> usize {
        self.turns
            .iter()
            .filter(|t| t.role == Role::Assistant)
            .map(|t| count_words(&t.content))
            .sum()
    }
}

/// A job's whole state: what was asked, the plan, and the drafts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The user's instruction.
    pub instruction: String,
    /// The requested total length.
    pub target_words: usize,
    /// Language of the instruction.
    pub language: Language,
    /// The plan, with section states.
    pub plan: Plan,
    /// One draft per plan section.
    pub drafts: Vec<SectionDraft>,
    /// What wrote it.
    pub backend: Option<BackendInfo>,
    /// Summaries of sections and how many leading sections they replace in the conversation.
    #[serde(default)]
    pub memory: Memory,
    /// Guard incidents per section (loops, copies, echoes caught while streaming).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guarded: Vec<u32>,
}

impl Document {
    /// A document with empty drafts for `plan`.
    pub fn new(instruction: String, target_words: usize, language: Language, plan: Plan) -> Self {
        let drafts = vec![SectionDraft::default(); plan.sections.len()];
        let memory = Memory::new(plan.sections.len());
        Self {
            instruction,
            target_words,
            language,
            plan,
            drafts,
            backend: None,
            memory,
            guarded: Vec::new(),
        }
    }

    /// Counts one guard incident in section `index`.
    pub fn count_incident(&mut self, index: usize) {
        if self.guarded.len() <= index {
            self.guarded.resize(index + 1, 0);
        }
        self.guarded[index] += 1;
    }

    /// The word ledger: planned and written per section and in total.
    pub fn ledger(&self) -> Ledger {
        let sections: Vec<LedgerLine> = self
            .plan
            .sections
            .iter()
            .zip(&self.drafts)
            .enumerate()
            .map(|(i, (s, d))| LedgerLine {
                title: s.title.clone(),
                planned: s.target_words,
                written: d.words(),
                state: s.state,
                chapter: self.plan.chapter_of(i),
                guarded: self.guarded.get(i).copied().unwrap_or(0),
            })
            .collect();
        Ledger::of_plan(&self.plan, sections)
    }

    /// Adds `sections` to `chapter` (see [`Plan::add_chapter_sections`]) with empty drafts and
    /// summary slots. Returns their indexes.
    pub fn add_chapter_sections(
        &mut self,
        chapter: usize,
        sections: Vec<crate::plan::Section>,
    ) -> std::ops::Range<usize> {
        let range = self.plan.add_chapter_sections(chapter, sections);
        for i in range.clone() {
            self.drafts.insert(i, SectionDraft::default());
            if i <= self.memory.summaries.len() {
                self.memory.summaries.insert(i, None);
            }
        }
        range
    }

    /// Takes `plan`, the writer's plan after a chapter was planned (its new sections end the
    /// plan), adding empty drafts and summary slots for the new sections.
    pub fn adopt_plan(&mut self, plan: Plan) {
        let n = plan.sections.len();
        self.plan = plan;
        self.drafts.resize(n, SectionDraft::default());
        self.memory.summaries.resize(n, None);
    }

    /// Sets `chapter`'s main point (see [`Plan::edit_chapter_point`]): its written sections
    /// become stale, its unwritten ones are dropped with their drafts, to be planned again.
    pub fn edit_chapter_point(&mut self, chapter: usize, point: String) {
        let dropped = self.plan.edit_chapter_point(chapter, point);
        if !dropped.is_empty() {
            self.drafts.truncate(dropped.start);
            self.memory.summaries.truncate(dropped.start);
            self.memory.compacted = self.memory.compacted.min(dropped.start);
        }
    }

    /// The conversation before section `index`'s own turns.
    pub fn history(&self, index: usize) -> Vec<ChatMessage> {
        self.drafts[..index]
            .iter()
            .flat_map(|d| d.turns.iter().cloned())
            .collect()
    }
}

/// Planned and written words of one section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerLine {
    /// Section title.
    pub title: String,
    /// Target words.
    pub planned: usize,
    /// Words written.
    pub written: usize,
    /// Where the section stands.
    pub state: SectionState,
    /// The chapter it belongs to (zero-based), in a plan with chapters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chapter: Option<usize>,
    /// Guard incidents while it was written.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub guarded: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Planned and written words of one chapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChapterLine {
    /// Chapter title.
    pub title: String,
    /// The chapter's target.
    pub planned: usize,
    /// Words written in its sections.
    pub written: usize,
    /// Sections planned in it so far.
    pub sections: usize,
}

impl Ledger {
    /// The ledger of these per-section lines, with their totals.
    pub fn from_lines(sections: Vec<LedgerLine>) -> Self {
        Self {
            planned: sections.iter().map(|l| l.planned).sum(),
            written: sections.iter().map(|l| l.written).sum(),
            guarded: sections.iter().map(|l| l.guarded).sum(),
            sections,
            chapters: Vec::new(),
        }
    }

    /// The ledger of these per-section lines of `plan`: with chapter totals when the plan
    /// has chapters, and the whole text's target as planned (chapters not planned yet
    /// count with their targets).
    pub fn of_plan(plan: &Plan, sections: Vec<LedgerLine>) -> Self {
        let mut ledger = Self::from_lines(sections);
        if !plan.has_chapters() {
            return ledger;
        }
        ledger.chapters = plan
            .chapters
            .iter()
            .enumerate()
            .map(|(c, chapter)| ChapterLine {
                title: chapter.title.clone(),
                planned: chapter.target_words,
                written: ledger.sections[plan.chapter_range(c)]
                    .iter()
                    .map(|l| l.written)
                    .sum(),
                sections: chapter.sections,
            })
            .collect();
        ledger.planned = plan.chapters.iter().map(|c| c.target_words).sum();
        ledger
    }
}

/// Planned and written words, per section and in total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// Sum of targets.
    pub planned: usize,
    /// Sum of words written.
    pub written: usize,
    /// Guard incidents, all sections together.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub guarded: u32,
    /// Per section.
    pub sections: Vec<LedgerLine>,
    /// Per chapter, in a plan with chapters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chapters: Vec<ChapterLine>,
}
