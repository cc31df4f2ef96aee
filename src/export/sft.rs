//! The long-output SFT record: one finished document as one JSON line, in the LongWriter-6k
//! shape (`messages`: the user's instruction and the assistant's whole text) plus what a data
//! set needs to be filtered and audited (plan, word count, target, backend, model, timings,
//! token usage).
//!
//! One type for `export --format jsonl` and for the batch command, so that both write the same
//! record and a reader needs one parser.

use crate::backend::{ChatMessage, Usage};
use crate::plan::Plan;
use crate::text::count_words;
use crate::writer::Document;
use serde::{Deserialize, Serialize};

/// One document as a training record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SftRecord {
    /// The item's id (the project id for an export, the input's id in a batch).
    pub id: String,
    /// The user's instruction, then the assistant's full text (sections joined by blank lines,
    /// no headings added, no summaries).
    pub messages: Vec<ChatMessage>,
    /// The plan the text follows.
    pub plan: Plan,
    /// Words (字 for Chinese) of the assistant's text, by the LongBench-Write rule.
    pub word_count: usize,
    /// The requested length.
    pub target: usize,
    /// The kind of backend that wrote it (`openai`, `engine`, ...), when known.
    pub backend: Option<String>,
    /// The model that wrote it, when known.
    pub model: Option<String>,
    /// When it was written.
    pub timings: Timings,
    /// Tokens over all its requests, where the servers reported them.
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// When a document was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Start, seconds since the epoch.
    pub started: u64,
    /// End (or the last change), seconds since the epoch.
    pub finished: u64,
    /// Seconds spent generating, where measured (a batch measures it; a project records only
    /// its creation and last change, which may include pauses).
    #[serde(default)]
    pub generation_secs: Option<f64>,
}

/// What the document itself does not say about its run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFacts {
    /// The record's id.
    pub id: String,
    /// When it was written.
    pub timings: Timings,
    /// Token counts, where known.
    pub usage: Option<Usage>,
}

impl SftRecord {
    /// The record of `document` (its text so far) and the facts of its run.
    pub fn new(document: &Document, facts: RunFacts) -> Self {
        let text = super::outline::full_text(document);
        Self {
            id: facts.id,
            word_count: count_words(&text),
            messages: vec![
                ChatMessage::user(document.instruction.clone()),
                ChatMessage::assistant(text),
            ],
            plan: document.plan.clone(),
            target: document.target_words,
            backend: document.backend.as_ref().map(|b| b.kind.clone()),
            model: document.backend.as_ref().map(|b| b.model.clone()),
            timings: facts.timings,
            usage: facts.usage,
        }
    }

    /// The record as one JSON line, newline included (JSON escapes every line break inside
    /// strings, so the line is whole).
    pub fn to_line(&self) -> Result<String, serde_json::Error> {
        let mut line = serde_json::to_string(self)?;
        line.push('\n');
        Ok(line)
    }
}
