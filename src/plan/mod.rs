//! The writing plan of the AgentWrite method: the model first proposes a list
//! of sections (a main point and a word count each), which is read tolerantly
//! by [`parse_plan`], then validated, rescaled to the requested length and
//! split or merged into sane sizes by [`build_plan`]. When the model's plan
//! cannot be used at all, [`fallback_plan`] gives an even split. This module
//! holds the public types; the work happens in the submodules.

use serde::{Deserialize, Serialize};

mod chapter;
mod count;
mod entry;
mod json;
mod label;
mod lines;
mod parse;
mod piece;
mod table;
mod text;
mod validate;

#[cfg(test)]
mod tests;

pub use chapter::{
    build_chapters, fallback_chapters, fallback_sections, suggested_chapters, Chapter, ChapterMode,
    CHAPTER_THRESHOLD, MAX_CHAPTERS,
};
pub use parse::parse_plan;
pub use validate::{build_plan, fallback_plan, section_bounds};

/// The most sections a plan may have.
pub const MAX_SECTIONS: usize = 200;

/// Where a section is in the writing process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SectionState {
    /// In the plan, not yet scheduled.
    #[default]
    Planned,
    /// Scheduled for writing.
    Queued,
    /// Being written now.
    Writing,
    /// Written.
    Done,
    /// Writing failed.
    Failed,
    /// Written, but an earlier section changed since, so it may need a rewrite.
    Stale,
}

impl SectionState {
    /// The section has finished text (in the store: its own file): done, or stale, which
    /// keeps its text until the user asks for a rewrite.
    pub fn is_written(self) -> bool {
        matches!(self, Self::Done | Self::Stale)
    }
}

/// One validated section of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// A short heading for the section.
    pub title: String,
    /// What the section has to say.
    pub main_point: String,
    /// How many words the section should have (always at least 1).
    pub target_words: usize,
    /// Where the section is in the writing process.
    #[serde(default)]
    pub state: SectionState,
}

/// A validated writing plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The sections, in writing order.
    pub sections: Vec<Section>,
    /// True when the model's plan could not be used and an even split was substituted.
    #[serde(default)]
    pub fallback: bool,
    /// The chapters of a hierarchical plan, in order (empty for a flat plan); each owns the
    /// next `sections` entries of `sections`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chapters: Vec<Chapter>,
}

impl Plan {
    /// The sum of all section targets; in a plan with chapters, of the chapter targets (the
    /// sections of chapters not started yet are not planned).
    pub fn total_target(&self) -> usize {
        if self.has_chapters() {
            return self.chapters.iter().map(|c| c.target_words).sum();
        }
        self.sections.iter().map(|s| s.target_words).sum()
    }

    /// The number of sections.
    pub fn len(&self) -> usize {
        self.sections.len()
    }

    /// True when the plan has no sections.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }
}

/// A section as read from the model's reply, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSection {
    /// The heading the model gave, if any.
    pub title: Option<String>,
    /// What the section has to say (never empty when produced by [`parse_plan`]).
    pub main_point: String,
    /// The word count the model gave, if any.
    pub target_words: Option<usize>,
}

/// Why a plan could not be read or built. The messages name the problem and
/// what the model should do instead, because they are sent back in a re-ask.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    /// The reply had no text at all.
    #[error(
        "the reply was empty; write the plan as a list with one entry per paragraph, \
         e.g. \"Paragraph 1 - Main Point: ... - Word Count: 500 words\""
    )]
    EmptyReply,
    /// Nothing in the reply looked like a plan entry.
    #[error(
        "no plan entries could be read from the reply{}; write one entry per line in the \
         form \"Paragraph 1 - Main Point: <what the paragraph covers> - Word Count: <number> words\"",
        excerpt_note(.excerpt)
    )]
    NoSections {
        /// The start of the reply, to show the model what was received.
        excerpt: String,
    },
    /// The plan has more sections than [`MAX_SECTIONS`].
    #[error(
        "the plan has {found} sections but at most {max} are allowed; merge related points \
         so that the plan has no more than {max} entries"
    )]
    TooManySections {
        /// How many sections the plan had.
        found: usize,
        /// The most allowed.
        max: usize,
    },
    /// The requested total length was zero words.
    #[error("the requested total word count is 0; a plan needs a target of at least 1 word")]
    ZeroTotalWords,
}

fn excerpt_note(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!(" (it began: \"{excerpt}\")")
    }
}
