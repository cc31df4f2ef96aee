//! The events a job emits: every token, every state change, every retry.
//!
//! The CLI's progress bars and `--json` lines, the studio and the store all consume the same
//! stream. Serialized as JSON lines with an `event` tag.

use super::document::Ledger;
use super::guard::GuardKind;
use super::memory::Summary;
use crate::backend::{BackendInfo, Usage};
use crate::plan::Plan;
use serde::{Deserialize, Serialize};

/// One thing that happened in a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JobEvent {
    /// The job started on this backend.
    Started {
        /// Who serves.
        backend: BackendInfo,
        /// Requested total.
        target_words: usize,
    },
    /// The plan request was sent.
    Planning {
        /// 1 for the first try, 2 for the re-ask.
        attempt: u32,
    },
    /// The plan is ready (possibly a fallback, see `plan.fallback`).
    PlanReady {
        /// The validated plan.
        plan: Plan,
    },
    /// A chapter began (in a plan with chapters): its sections are planned next, unless they
    /// are already.
    ChapterStarted {
        /// Zero-based chapter index.
        chapter: usize,
        /// Its title.
        title: String,
        /// Its target.
        target_words: usize,
    },
    /// A chapter's sections were planned; `plan` is the whole plan with them added.
    ChapterPlanned {
        /// Zero-based chapter index.
        chapter: usize,
        /// Sections the chapter now has.
        sections: usize,
        /// The whole plan as it now stands.
        plan: Plan,
    },
    /// A section began.
    SectionStarted {
        /// Zero-based index.
        index: usize,
        /// Its title.
        title: String,
        /// Its target.
        target_words: usize,
    },
    /// Generated text for a section.
    Delta {
        /// Zero-based index.
        index: usize,
        /// The text, whole characters.
        text: String,
    },
    /// The section stopped short or at `length` and is being continued.
    Continuing {
        /// Zero-based index.
        index: usize,
        /// Words so far.
        words: usize,
        /// Why.
        reason: String,
    },
    /// Who wrote a section: each backend that sent part of its text, in order (more than one
    /// when a fallback chain handed the job on mid-section). Sent just before `SectionDone`.
    WrittenBy {
        /// Zero-based index.
        index: usize,
        /// Each backend, as `Backend::serving` names it.
        backends: Vec<String>,
    },
    /// A guard caught a loop, a copy of an earlier section or an echo of the writer's own
    /// instructions: the request was stopped and the bad tail dropped; `text` is the section
    /// as it stands now (consumers replace what they streamed with it).
    Guarded {
        /// Zero-based index.
        index: usize,
        /// What was caught.
        kind: GuardKind,
        /// The offending words, shortened.
        quote: String,
        /// Words dropped from the stream.
        dropped_words: usize,
        /// Words of the section kept.
        words: usize,
        /// Incidents in this section so far, this one included.
        incident: u32,
        /// Whether the section is generated again (else the trimmed text is kept as it is).
        retrying: bool,
        /// The section's text after the cut.
        text: String,
    },
    /// A section is finished; `text` is final (an overrun may have been cut).
    SectionDone {
        /// Zero-based index.
        index: usize,
        /// Words in the final text.
        words: usize,
        /// The final text.
        text: String,
        /// Token counts summed over the section's requests, where reported.
        usage: Option<Usage>,
    },
    /// A finished section was summarized for the rolling memory (made once; stored beside the
    /// section's text, never exported).
    Summarized {
        /// Zero-based index.
        index: usize,
        /// The summary and the running record as of the section's end.
        summary: Summary,
    },
    /// The conversation was compacted: its first `summarized` sections are now replaced by
    /// their summaries.
    Compacted {
        /// Sections replaced by summaries.
        summarized: usize,
        /// Prompt tokens of the section request after the compaction.
        prompt_tokens: usize,
        /// The window, in tokens.
        window: usize,
    },
    /// A request failed and will be tried again.
    Retrying {
        /// The coming attempt (2 for the first retry).
        attempt: u32,
        /// Attempts allowed.
        max_attempts: u32,
        /// Wait before it, in milliseconds.
        delay_ms: u64,
        /// What failed.
        error: String,
    },
    /// Something the user should know that does not stop the job.
    Warning {
        /// The message.
        message: String,
    },
    /// The job stopped on an error; the text written so far is kept.
    Failed {
        /// The error.
        error: String,
    },
    /// Every section is written.
    Done {
        /// The final ledger.
        ledger: Ledger,
    },
}
