//! The record `batch` appends for each finished document: one JSON line in the shape of
//! LongWriter-6k's SFT data (`messages`: the user's instruction and the assistant's whole
//! text), with the plan, the length reached and asked, who wrote it, timings and token usage.
//! Pure: built from a finished `Document`; only finished documents become records, so no error
//! text ever stands in for generated text.

use crate::backend::{Role, Usage};
use crate::plan::Plan;
use crate::text::count_words;
use crate::writer::Document;
use serde::{Deserialize, Serialize};

/// One message of the SFT conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `user` or `assistant`.
    pub role: Role,
    /// The instruction, or the whole generated text.
    pub content: String,
}

/// When the document was written.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Unix seconds when this run started on the document.
    pub started: u64,
    /// Unix seconds when the document was finished.
    pub finished: u64,
    /// Seconds this run spent writing it (a resumed document counts only this run's part).
    pub seconds: f64,
}

/// One finished document as a line of the output file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRecord {
    /// The prompt's id: a rerun skips the ids already in the output.
    pub id: String,
    /// `[user instruction, assistant text]`.
    pub messages: Vec<Message>,
    /// The plan the text follows.
    pub plan: Plan,
    /// Words (字 for Chinese) in the assistant text.
    pub word_count: usize,
    /// The length asked for.
    pub target: usize,
    /// The endpoint that finished it.
    pub backend: String,
    /// The model that wrote it.
    pub model: String,
    /// When and how long.
    pub timings: Timings,
    /// Tokens reported by the server for the requests of this run (sections written by an
    /// earlier, interrupted run are not counted again).
    pub usage: Usage,
}

/// The assistant text of a document: its sections in order, separated by blank lines, as
/// AgentWrite joins them (no headings: the plan is in the record beside it).
pub fn assistant_text(document: &Document) -> String {
    document
        .drafts
        .iter()
        .map(|d| d.text())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

impl BatchRecord {
    /// The record of finished `document` for prompt `id`.
    pub fn new(id: &str, document: &Document, usage: Usage, timings: Timings) -> Self {
        let text = assistant_text(document);
        let (backend, model) = match &document.backend {
            Some(b) => (b.endpoint.clone(), b.model.clone()),
            None => (String::new(), String::new()),
        };
        Self {
            id: id.to_string(),
            messages: vec![
                Message {
                    role: Role::User,
                    content: document.instruction.clone(),
                },
                Message {
                    role: Role::Assistant,
                    content: text.clone(),
                },
            ],
            plan: document.plan.clone(),
            word_count: count_words(&text),
            target: document.target_words,
            backend,
            model,
            timings,
            usage,
        }
    }

    /// The record as one JSON line, newline included (JSON escapes every newline inside).
    pub fn to_line(&self) -> Result<String, serde_json::Error> {
        let mut line = serde_json::to_string(self)?;
        line.push('\n');
        Ok(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{BackendInfo, ChatMessage};
    use crate::plan::{Section, SectionState};
    use crate::text::Language;

    fn document() -> Document {
        let section = |title: &str| Section {
            title: title.into(),
            main_point: "p".into(),
            target_words: 3,
            state: SectionState::Done,
        };
        let plan = Plan {
            sections: vec![section("A"), section("B")],
            fallback: false,
            chapters: Vec::new(),
        };
        let mut doc = Document::new("Write 6 words".into(), 6, Language::English, plan);
        let said = |content: &str| ChatMessage {
            role: Role::Assistant,
            content: content.into(),
        };
        doc.drafts[0].turns.push(said("one two three\n"));
        doc.drafts[1].turns.push(said("four five\nsix"));
        doc.backend = Some(BackendInfo {
            kind: "openai".into(),
            model: "m".into(),
            endpoint: "http://h:1/v1".into(),
        });
        doc
    }

    #[test]
    fn a_record_is_one_line_in_the_sft_shape() {
        let timings = Timings {
            started: 1,
            finished: 3,
            seconds: 2.0,
        };
        let usage = Usage {
            prompt_tokens: 5,
            completion_tokens: 7,
        };
        let record = BatchRecord::new("p1", &document(), usage, timings);
        let line = record.to_line().unwrap();
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.ends_with('\n'));
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["messages"][0]["role"], "user");
        assert_eq!(
            back["messages"][1]["content"],
            "one two three\n\nfour five\nsix"
        );
        assert_eq!(back["word_count"], 6);
        assert_eq!(back["target"], 6);
        assert_eq!(back["backend"], "http://h:1/v1");
        assert_eq!(back["model"], "m");
        assert_eq!(back["usage"]["completion_tokens"], 7);
        assert_eq!(back["plan"]["sections"][1]["title"], "B");
        let parsed: BatchRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed, record);
    }
}
