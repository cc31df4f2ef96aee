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
                guarded: self.guarded.get(i).copied().unwrap_or(0),
            })
            .collect();
        Ledger::from_lines(sections)
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
    /// Guard incidents while it was written.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub guarded: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Ledger {
    /// The ledger of these per-section lines, with their totals.
    pub fn from_lines(sections: Vec<LedgerLine>) -> Self {
        Self {
            planned: sections.iter().map(|l| l.planned).sum(),
            written: sections.iter().map(|l| l.written).sum(),
            guarded: sections.iter().map(|l| l.guarded).sum(),
            sections,
        }
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
}
