//! Rolling memory: what stands in the conversation for sections that no longer fit.
//!
//! When the text so far outgrows the context window, the first `compacted` sections leave the
//! conversation and their summaries (made once per section, stored beside its text) stand in
//! for them, with a running record of what must stay consistent (names, places, dates, open
//! threads). Pure: parsing a summary reply, the fallback summary of a failed request, and which
//! summaries the memory block shows. The writer decides when to compact (see `budget`).

use crate::text::count_words;
use serde::{Deserialize, Serialize};

/// Most words a summary keeps.
pub const SUMMARY_WORDS: usize = 120;
/// Most words the running record keeps.
pub const RECORD_WORDS: usize = 160;

/// Word limits of one summary: a quarter of the section's words (30 to [`SUMMARY_WORDS`]), so
/// a summary is always much shorter than its text, and a record of about a twelfth of the
/// window's words (30 to [`RECORD_WORDS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most words of the summary.
    pub summary: usize,
    /// Most words of the record.
    pub record: usize,
}

impl Limits {
    /// The limits for a section of `section_words` in a window of about `window_words`.
    pub fn new(section_words: usize, window_words: usize) -> Self {
        Self {
            summary: (section_words / 4).clamp(30, SUMMARY_WORDS),
            record: (window_words / 12).clamp(30, RECORD_WORDS),
        }
    }
}

/// One section's summary and the running record as of its end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// What the section says, in brief.
    pub text: String,
    /// Names, places, dates and open threads of the text up to this section's end.
    #[serde(default)]
    pub record: String,
    /// The summary request failed and this is the section's opening and closing paragraphs.
    #[serde(default)]
    pub fallback: bool,
}

/// The document's memory: summaries per section and how many leading sections they replace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// One slot per plan section: its summary once made.
    pub summaries: Vec<Option<Summary>>,
    /// Sections `0..compacted` appear in the conversation as summaries, not as text.
    pub compacted: usize,
    /// Words of summaries the memory block shows (the most recent ones that fit).
    pub shown_words: usize,
    /// Plan entries the conversation shows from its first section on (0: the whole plan);
    /// set from the window before writing, so that a long plan leaves room for text.
    #[serde(default)]
    pub plan_horizon: usize,
}

impl Memory {
    /// Empty memory for `sections` sections.
    pub fn new(sections: usize) -> Self {
        Self {
            summaries: vec![None; sections],
            compacted: 0,
            shown_words: 0,
            plan_horizon: 0,
        }
    }

    /// The summary of section `index`, if made.
    pub fn summary(&self, index: usize) -> Option<&Summary> {
        self.summaries.get(index).and_then(Option::as_ref)
    }

    /// Forgets section `index`'s summary (its text is being rewritten) and stops compacting
    /// at it.
    pub fn forget(&mut self, index: usize) {
        if let Some(slot) = self.summaries.get_mut(index) {
            *slot = None;
        }
        self.compacted = self.compacted.min(index);
    }

    /// The summaries the memory block of a conversation compacted at `upto` shows: the most
    /// recent ones before `upto` whose words fit `shown_words`, oldest first, with their
    /// indexes; and how many older ones it leaves out (the record covers them).
    pub fn shown(&self, upto: usize) -> (Vec<(usize, &Summary)>, usize) {
        let mut shown = Vec::new();
        let mut words = 0;
        for index in (0..upto.min(self.summaries.len())).rev() {
            let Some(summary) = self.summary(index) else {
                continue;
            };
            words += count_words(&summary.text);
            if words > self.shown_words && !shown.is_empty() {
                break;
            }
            shown.push((index, summary));
        }
        shown.reverse();
        let omitted = shown.first().map_or(upto, |(i, _)| *i);
        (shown, omitted)
    }

    /// The running record as of the end of section `upto - 1`.
    pub fn record(&self, upto: usize) -> &str {
        (0..upto)
            .rev()
            .find_map(|i| self.summary(i))
            .map_or("", |s| s.record.as_str())
    }
}

/// Reads a summary reply: the text before a `RECORD:` line is the summary (a `SUMMARY:` label
/// dropped), the rest the record; without a record the previous one stays. Both are cut to
/// their word limits at a sentence end. `None` for an empty reply.
pub fn parse_summary(reply: &str, previous_record: &str, limits: Limits) -> Option<Summary> {
    let marker = ["RECORD:", "Record:", "record:"]
        .iter()
        .filter_map(|m| reply.find(m))
        .min();
    let (summary, record) = match marker {
        Some(at) => (&reply[..at], reply[at + "record:".len()..].trim()),
        None => (reply, previous_record),
    };
    let summary = strip_label(summary.trim().trim_end_matches(['*', '#']).trim());
    if count_words(summary) < 3 {
        return None;
    }
    let record = if record.is_empty() {
        previous_record
    } else {
        record
    };
    Some(Summary {
        text: super::length::cut_to_words(summary, limits.summary).to_string(),
        record: super::length::cut_to_words(record, limits.record).to_string(),
        fallback: false,
    })
}

fn strip_label(text: &str) -> &str {
    let trimmed = text.trim_start_matches(['*', '#', ' ']);
    match trimmed.get(..8) {
        Some(head) if head.eq_ignore_ascii_case("summary:") => trimmed[8..].trim_start(),
        _ => text,
    }
}

/// What stands in for a summary the model did not give: the section's opening and closing
/// paragraphs (their first and last sentences when the paragraphs are long), flagged.
pub fn fallback_summary(text: &str, previous_record: &str, limits: Limits) -> Summary {
    let paragraphs: Vec<&str> = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let half = limits.summary / 2;
    let first = paragraphs.first().copied().unwrap_or("");
    let opening = super::length::cut_to_words(first, half);
    let closing = match paragraphs.last() {
        Some(last) if paragraphs.len() > 1 => tail_words(last, half),
        _ => String::new(),
    };
    let text = [opening, closing.as_str()]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" … ");
    Summary {
        text,
        record: super::length::cut_to_words(previous_record, limits.record).to_string(),
        fallback: true,
    }
}

/// Words in a row a summary may share with the summary request's own wording before it counts
/// as an echo of the request rather than a summary.
pub const ECHO_RUN: usize = 6;

/// Whether `text` has a run of `run` words that `source` has in the same order (case and
/// punctuation aside). A weak model asked for a summary often answers with the request
/// ("SUMMARY: what this section says or tells, in at most 80 words."), which must never stand
/// in for the section.
pub fn copies_run(text: &str, source: &str, run: usize) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let source = words(source);
    let runs: std::collections::HashSet<&[String]> = source.windows(run.max(1)).collect();
    words(text).windows(run.max(1)).any(|w| runs.contains(w))
}

/// Capitalized words that open clauses, not names ("…: The lamp").
const COMMON_CAPITALIZED: &[&str] = &[
    "The", "This", "That", "These", "Those", "There", "Then", "They", "Their", "And", "But", "For",
    "However", "When", "What", "Who", "Why", "How", "With", "From", "His", "Her", "Its", "Our",
    "You", "Your", "She", "One", "All", "Some", "Many", "Most", "After", "Before", "While",
];

/// The running record a summary made without a model carries: the names (capitalized words
/// not opening a sentence) and years of `previous` and `text`, the most frequent first, within
/// `limit` words.
pub fn names_record(previous: &str, text: &str, limit: usize) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut add = |name: &str, weight: usize| match counts.iter_mut().find(|(n, _)| n == name) {
        Some((_, count)) => *count += weight,
        None => counts.push((name.to_string(), weight)),
    };
    // What the previous record named counts as much as a few fresh mentions.
    let listed = previous.split_once(": ").map_or("", |(_, names)| names);
    for name in listed
        .trim_end_matches('.')
        .split(", ")
        .filter(|n| !n.is_empty())
    {
        add(name, 3);
    }
    for sentence in text.split_inclusive(['.', '!', '?', '\n']) {
        let words: Vec<&str> = sentence.split_whitespace().collect();
        for (i, raw) in words.iter().enumerate() {
            let word = raw.trim_matches(|c: char| !c.is_alphanumeric());
            let year = word.len() == 4 && word.chars().all(|c| c.is_ascii_digit());
            let name = i > 0
                && !COMMON_CAPITALIZED.contains(&word)
                && word.chars().count() > 2
                && word.chars().next().is_some_and(char::is_uppercase)
                && word.chars().skip(1).all(char::is_lowercase);
            if year || name {
                add(word, 1);
            }
        }
    }
    counts.retain(|(_, count)| *count > 1);
    // Most frequent first; ties keep the order of first mention.
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    let names: Vec<&str> = counts
        .iter()
        .map(|(n, _)| n.as_str())
        .take(limit.saturating_sub(2))
        .collect();
    match names.is_empty() {
        true => String::new(),
        false => format!("Names and years so far: {}.", names.join(", ")),
    }
}

/// The last `words` words of `text`.
fn tail_words(text: &str, words: usize) -> String {
    let all: Vec<&str> = text.split_whitespace().collect();
    all[all.len().saturating_sub(words)..].join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_that_repeats_the_request_is_an_echo() {
        let request = "Answer in exactly two parts and nothing else:\nSUMMARY: what this section \
                       says or tells, in at most 80 words.";
        assert!(copies_run(
            "under the supervision of the person responsible. SUMMARY: What this section says or tells",
            request,
            ECHO_RUN
        ));
        assert!(!copies_run(
            "The keeper lights the lamp and tells of the storm that sank the Mary.",
            request,
            ECHO_RUN
        ));
    }

    #[test]
    fn the_record_without_a_model_lists_the_names_and_years_that_recur() {
        let text = "In 1805 the keeper Ada Grey came to Skerry. Grey lit the lamp: The lamp \
                    of Skerry burned until 1805 ended. Then Grey wrote to Edinburgh: The lamp.";
        let record = names_record("", text, 30);
        assert_eq!(record, "Names and years so far: 1805, Grey, Skerry.");
        // The previous record's names stay, ahead of names seen once more.
        let next = names_record(&record, "Later Ada came back to Skerry and to Leith.", 30);
        assert_eq!(next, "Names and years so far: Skerry, 1805, Grey.");
        assert_eq!(names_record("", "Nothing here recurs.", 30), "");
    }

    const WIDE: Limits = Limits {
        summary: SUMMARY_WORDS,
        record: RECORD_WORDS,
    };

    fn summary(text: &str, record: &str) -> Option<Summary> {
        Some(Summary {
            text: text.into(),
            record: record.into(),
            fallback: false,
        })
    }

    #[test]
    fn replies_split_into_summary_and_record() {
        let reply = "SUMMARY: Ada reaches the lighthouse and meets Tom.\n\nRECORD: Ada (keeper), Tom (boy); Skerry Rock, 1902; open: the lost letter.";
        let s = parse_summary(reply, "old", WIDE).expect("a summary");
        assert_eq!(s.text, "Ada reaches the lighthouse and meets Tom.");
        assert!(s.record.starts_with("Ada (keeper)"), "{}", s.record);
        let bare = parse_summary("Ada climbs the tower at dusk.", "old", WIDE).expect("a summary");
        assert_eq!(bare.record, "old");
        assert_eq!(parse_summary("  ", "old", WIDE), None);
    }

    #[test]
    fn long_replies_are_cut() {
        let reply = format!(
            "{} RECORD: {}",
            "Word is here. ".repeat(100),
            "Name. ".repeat(400)
        );
        let s = parse_summary(&reply, "", WIDE).expect("a summary");
        assert!(count_words(&s.text) <= SUMMARY_WORDS);
        assert!(count_words(&s.record) <= RECORD_WORDS);
        let small = Limits::new(160, 400);
        assert_eq!(
            small,
            Limits {
                summary: 40,
                record: 33
            }
        );
        let s = parse_summary(&reply, "", small).expect("a summary");
        assert!(count_words(&s.text) <= 40 && count_words(&s.record) <= 33);
        assert_eq!(Limits::new(5000, 50_000), WIDE);
    }

    #[test]
    fn the_fallback_keeps_opening_and_closing() {
        let text = "It began at dawn.\n\nThe middle part.\n\nAnd so it ended at night.";
        let s = fallback_summary(text, "rec", WIDE);
        assert_eq!(s.text, "It began at dawn. … And so it ended at night.");
        assert!(s.fallback);
        assert_eq!(s.record, "rec");
    }

    #[test]
    fn the_memory_block_shows_recent_summaries_that_fit() {
        let mut memory = Memory::new(4);
        memory.summaries = vec![
            summary("one two three four", "r1"),
            summary("five six seven eight", "r2"),
            summary("nine ten eleven twelve", "r3"),
            None,
        ];
        memory.shown_words = 8;
        let (shown, omitted) = memory.shown(3);
        assert_eq!(
            shown.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(omitted, 1);
        assert_eq!(memory.record(3), "r3");
        memory.forget(1);
        assert_eq!(memory.compacted, 0);
        assert_eq!(memory.record(2), "r1");
    }
}
