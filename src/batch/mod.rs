//! Batch generation of long-output SFT data: many prompts, each written by the AgentWrite
//! pipeline as its own project in the store, each finished document appended to a JSONL file
//! as one `BatchRecord`.
//!
//! This module holds the parts without a terminal or a backend: the record (`record`), the
//! never-torn output file (`output`), which of a file's records belong to this run
//! (`foreign`, `done_ids`), and the run's counts and summary table (`Summary`). The command
//! itself (flags, connecting, running documents at once over a `backend::fleet::Fleet`, the
//! progress display) is `cli::batch`.

pub mod output;
pub mod record;

use crate::eval::dataset::Item;
use output::{Existing, Present};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Whether `record` is this input's: its id is there, with the same instruction.
fn ours(record: &Present, prompts: &HashMap<&str, &str>) -> bool {
    prompts.get(record.id.as_str()) == Some(&record.prompt.trim())
}

fn prompts(items: &[Item]) -> HashMap<&str, &str> {
    items
        .iter()
        .map(|i| (i.id.as_str(), i.prompt.trim()))
        .collect()
}

/// The records of `existing` that another run wrote: an id this input does not have, or the
/// same id with another instruction. (Lines that are not records are in `other_lines`.)
pub fn foreign<'a>(existing: &'a Existing, items: &[Item]) -> Vec<&'a Present> {
    let prompts = prompts(items);
    existing
        .records
        .iter()
        .filter(|r| !ours(r, &prompts))
        .collect()
}

/// The ids of `items` whose record is already in the file (same id, same instruction).
pub fn done_ids(existing: &Existing, items: &[Item]) -> HashSet<String> {
    let prompts = prompts(items);
    existing
        .records
        .iter()
        .filter(|r| ours(r, &prompts))
        .map(|r| r.id.clone())
        .collect()
}

/// A document that failed in this run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The prompt's id.
    pub id: String,
    /// What went wrong (never written to the output).
    pub reason: String,
}

/// The run's counts, for the progress display and the summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Prompts in the input.
    pub total: usize,
    /// Already in the output when the run started.
    pub already: usize,
    /// Written (appended) by this run.
    pub written: usize,
    /// Failed in this run; retried by the next.
    pub failures: Vec<Failure>,
    /// Words appended by this run.
    pub words: usize,
    /// Completion tokens the servers reported in this run.
    pub completion_tokens: u64,
    /// Generated pieces streamed in this run (a token each on most servers).
    pub pieces: u64,
    /// Seconds the run has taken.
    pub seconds: f64,
    /// Whether the run was stopped before every document was tried.
    pub interrupted: bool,
}

impl Summary {
    /// Documents of the input that are in the output now.
    pub fn done(&self) -> usize {
        self.already + self.written
    }

    /// Aggregate generation speed over the whole run: reported completion tokens, else
    /// streamed pieces, per second.
    pub fn tokens_per_second(&self) -> f64 {
        let tokens = if self.completion_tokens > 0 {
            self.completion_tokens
        } else {
            self.pieces
        };
        tokens as f64 / self.seconds.max(0.001)
    }

    /// The table printed at the end.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<28} {:>10}\n{:<28} {:>10}\n{:<28} {:>10}\n{:<28} {:>10}\n{:<28} {:>10}\n{:<28} {:>10}\n{:<28} {:>10.1}\n{:<28} {:>10.1}\n",
            "prompts",
            self.total,
            "already in the output",
            self.already,
            "written now",
            self.written,
            "failed",
            self.failures.len(),
            "words written now",
            self.words,
            "completion tokens",
            self.completion_tokens,
            "seconds",
            self.seconds,
            "aggregate tok/s",
            self.tokens_per_second(),
        );
        for f in &self.failures {
            out.push_str(&format!("failed {}: {}\n", f.id, f.reason));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Language;

    fn item(id: &str, prompt: &str) -> Item {
        Item {
            id: id.into(),
            prompt: prompt.into(),
            length: 100,
            kind: String::new(),
            language: Language::English,
        }
    }

    fn present(id: &str, prompt: &str) -> Present {
        Present {
            id: id.into(),
            prompt: prompt.into(),
        }
    }

    #[test]
    fn records_of_this_input_are_done_and_others_are_foreign() {
        let items = [item("a", "Write A"), item("b", "Write B")];
        let existing = Existing {
            records: vec![
                present("a", "Write A"),
                present("b", "Write something else"),
                present("z", "Write Z"),
            ],
            ..Existing::default()
        };
        let foreign: Vec<_> = foreign(&existing, &items)
            .iter()
            .map(|p| p.id.clone())
            .collect();
        assert_eq!(foreign, ["b", "z"]);
        assert_eq!(
            done_ids(&existing, &items),
            HashSet::from(["a".to_string()])
        );
    }

    #[test]
    fn the_table_lists_failures_and_the_aggregate_rate() {
        let summary = Summary {
            total: 3,
            already: 1,
            written: 1,
            failures: vec![Failure {
                id: "c".into(),
                reason: "server answered HTTP 400".into(),
            }],
            completion_tokens: 500,
            pieces: 9,
            seconds: 10.0,
            ..Summary::default()
        };
        assert_eq!(summary.done(), 2);
        assert_eq!(summary.tokens_per_second(), 50.0);
        let table = summary.table();
        assert!(
            table.contains("aggregate tok/s                    50.0"),
            "{table}"
        );
        assert!(
            table.contains("failed c: server answered HTTP 400"),
            "{table}"
        );
    }
}
