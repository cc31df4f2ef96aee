//! The prompt sets `eval` runs: LongBench-Write (120 prompts, or its 60-prompt English subset)
//! and LongWrite-Ruler (48 prompts up to 30,000 words), embedded from `data/longbench-write/`,
//! or a user's own file in the same JSONL format (`{"prompt": …, "length": …, "type"?: …}`).
//!
//! Pure: the caller reads a user's file and hands its text in. A bad line is reported with its
//! number and skipped; the rest of the file is used.

use super::Bucket;
use crate::text::{detect_language, Language};
use serde::Deserialize;

const LONGBENCH_WRITE: &str = include_str!("../../data/longbench-write/longbench_write.jsonl");
const LONGBENCH_WRITE_EN: &str =
    include_str!("../../data/longbench-write/longbench_write_en.jsonl");
const LONGWRITE_RULER: &str = include_str!("../../data/longbench-write/longwrite_ruler.jsonl");

/// Which benchmark to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Suite {
    /// LongBench-Write: 120 prompts (60 English, 60 Chinese), 100 to 20,000 words.
    LongbenchWrite,
    /// LongWrite-Ruler: 48 prompts (24 English, 24 Chinese), 1,000 to 30,000 words.
    Ruler,
}

impl Suite {
    /// The name used in reports and folder names.
    pub fn name(self) -> &'static str {
        match self {
            Self::LongbenchWrite => "longbench-write",
            Self::Ruler => "ruler",
        }
    }
}

/// One prompt of a benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Stable id: the suite's name and the 1-based line number, or the line's own `id`.
    pub id: String,
    /// The writing instruction.
    pub prompt: String,
    /// The required length: English words, or Chinese characters.
    pub length: usize,
    /// The prompt's category (`type` in the files), empty when absent.
    pub kind: String,
    /// The prompt's language.
    pub language: Language,
}

/// A line of a prompt file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

#[derive(Deserialize)]
struct RawLine {
    prompt: Option<String>,
    length: Option<serde_json::Value>,
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<serde_json::Value>,
}

/// A parsed prompt file: the usable items and the lines that were skipped.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Items in file order.
    pub items: Vec<Item>,
    /// Lines skipped, with the reason.
    pub skipped: Vec<LineError>,
}

/// Parses a JSONL prompt file. Ids default to `{prefix}-{line:03}`; blank lines are ignored.
pub fn parse(text: &str, prefix: &str) -> Parsed {
    parse_with(text, prefix, true)
}

/// `parse` for `batch`, where `length` may be left out: the length the prompt states, else the
/// writer's default, as `write` does.
pub fn parse_lenient(text: &str, prefix: &str) -> Parsed {
    parse_with(text, prefix, false)
}

fn parse_with(text: &str, prefix: &str, length_required: bool) -> Parsed {
    let mut parsed = Parsed::default();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line, prefix, number, length_required) {
            Ok(item) => parsed.items.push(item),
            Err(reason) => parsed.skipped.push(LineError {
                line: number,
                reason,
            }),
        }
    }
    parsed
}

fn parse_line(
    line: &str,
    prefix: &str,
    number: usize,
    length_required: bool,
) -> Result<Item, String> {
    let raw: RawLine =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object ({e})"))?;
    let prompt = raw
        .prompt
        .filter(|p| !p.trim().is_empty())
        .ok_or("no \"prompt\" (a non-empty string) on this line")?;
    let length = match raw.length {
        Some(serde_json::Value::Number(n)) => n.as_u64().filter(|&n| n > 0).ok_or(format!(
            "\"length\" must be a positive whole number, not {n}"
        ))? as usize,
        Some(other) => {
            return Err(format!(
                "\"length\" must be a positive whole number, not {other}"
            ))
        }
        None if !length_required => crate::text::target_length_or_default(&prompt),
        None => crate::text::extract_target_length(&prompt).ok_or(
            "no \"length\", and the prompt states none: add \"length\": WORDS to the line",
        )?,
    };
    let id = match raw.id {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(other) => return Err(format!("\"id\" must be a string or a number, not {other}")),
        None => format!("{prefix}-{number:03}"),
    };
    Ok(Item {
        id,
        language: detect_language(&prompt),
        prompt,
        length,
        kind: raw.kind.unwrap_or_default(),
    })
}

/// The embedded prompts of `suite`. With `English` for LongBench-Write this is the paper's own
/// English subset file (one of its prompts is written in Chinese but asks for English).
pub fn embedded(suite: Suite, language: Option<Language>) -> Vec<Item> {
    let items = match (suite, language) {
        (Suite::LongbenchWrite, Some(Language::English)) => {
            // Ids follow the full file's line numbers, so a document keeps its id whichever
            // file it was read from.
            let full = parse(LONGBENCH_WRITE, suite.name()).items;
            let english = parse(LONGBENCH_WRITE_EN, suite.name()).items;
            return english
                .into_iter()
                .map(|mut item| {
                    if let Some(twin) = full.iter().find(|f| f.prompt == item.prompt) {
                        item.id = twin.id.clone();
                    }
                    item
                })
                .collect();
        }
        (Suite::LongbenchWrite, _) => parse(LONGBENCH_WRITE, suite.name()).items,
        (Suite::Ruler, _) => parse(LONGWRITE_RULER, suite.name()).items,
    };
    filter_language(items, language)
}

/// Keeps the items in `language` (all of them for `None`).
pub fn filter_language(items: Vec<Item>, language: Option<Language>) -> Vec<Item> {
    match language {
        None => items,
        Some(lang) => items.into_iter().filter(|i| i.language == lang).collect(),
    }
}

/// Keeps the items whose required length falls in `bucket`.
pub fn filter_bucket(items: Vec<Item>, bucket: Option<Bucket>) -> Vec<Item> {
    match bucket {
        None => items,
        Some(b) => items.into_iter().filter(|i| b.contains(i.length)).collect(),
    }
}

/// Ids that occur more than once, in order of their second occurrence.
pub fn duplicate_ids(items: &[Item]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut duplicates = Vec::new();
    for item in items {
        if !seen.insert(item.id.as_str()) && !duplicates.contains(&item.id) {
            duplicates.push(item.id.clone());
        }
    }
    duplicates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_files_parse_whole() {
        let all = parse(LONGBENCH_WRITE, "x");
        assert_eq!((all.items.len(), all.skipped.len()), (120, 0));
        assert_eq!(parse(LONGBENCH_WRITE_EN, "x").items.len(), 60);
        assert_eq!(parse(LONGWRITE_RULER, "x").items.len(), 48);
        assert!(duplicate_ids(&all.items).is_empty());
    }

    #[test]
    fn english_subset_keeps_the_full_files_ids() {
        let english = embedded(Suite::LongbenchWrite, Some(Language::English));
        assert_eq!(english.len(), 60);
        let full = embedded(Suite::LongbenchWrite, None);
        for item in &english {
            let twin = full
                .iter()
                .find(|f| f.id == item.id)
                .expect("same id in the full file");
            assert_eq!(twin.prompt, item.prompt);
        }
        let chinese = embedded(Suite::LongbenchWrite, Some(Language::Chinese));
        assert!(chinese.len() >= 55 && chinese.iter().all(|i| i.language == Language::Chinese));
    }

    #[test]
    fn ruler_lengths_and_buckets() {
        let ruler = embedded(Suite::Ruler, None);
        let max = ruler.iter().map(|i| i.length).max();
        assert_eq!(max, Some(30_000));
        let short = filter_bucket(ruler, Some(Bucket::Medium));
        assert!(short.iter().all(|i| (500..2000).contains(&i.length)));
        assert_eq!(short.len(), 8, "the 1,000-word prompts");
    }

    #[test]
    fn bad_lines_are_reported_by_number_and_skipped() {
        let text = "{\"prompt\": \"Write a 300-word note\", \"length\": 300}\n\
                    not json\n\
                    \n\
                    {\"length\": 5}\n\
                    {\"prompt\": \"Write a poem\", \"length\": -3}\n\
                    {\"prompt\": \"Write a 2000-word essay\", \"id\": \"mine\"}\n\
                    {\"prompt\": \"Write something\"}\n";
        let parsed = parse(text, "file");
        let ids: Vec<_> = parsed.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["file-001", "mine"]);
        assert_eq!(parsed.items[1].length, 2000, "length read from the prompt");
        let lines: Vec<_> = parsed.skipped.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4, 5, 7]);
        assert!(parsed.skipped[1].reason.contains("\"prompt\""));
        assert!(parsed.skipped[3]
            .to_string()
            .starts_with("line 7: no \"length\""));
    }

    #[test]
    fn duplicate_ids_are_found() {
        let text = "{\"prompt\": \"a\", \"length\": 1, \"id\": 7}\n\
                    {\"prompt\": \"b\", \"length\": 1, \"id\": \"7\"}\n";
        assert_eq!(duplicate_ids(&parse(text, "f").items), ["7"]);
    }
}
