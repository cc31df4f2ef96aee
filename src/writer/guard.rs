//! Guards while streaming: a pure detector, fed a section's text as it arrives, that says when
//! the model has started to loop, to copy an earlier section or to echo the writer's own
//! instructions, and where the good text ends.
//!
//! Words are compared, not characters: lower-cased runs of letters and digits (each CJK
//! character a word of its own), punctuation and spacing ignored. A loop is an n-gram (or a
//! sentence of at least four words) that comes back more often than allowed within the
//! section; a copy is a run of `copy_words` words that stands in an earlier section; an echo
//! is a run of `echo_words` words of what the writer sent (the instruction, the plan, the step
//! and continue requests). Short common phrases, list markers and a refrain or two stay below
//! these thresholds. `section` stops the request, trims the text back to the sentence before
//! the bad part and asks again with a nudge; this module does no I/O.

use crate::backend::{ChatMessage, Role};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// The `[guards]` table of `config.toml`, and the writer's guard settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardSettings {
    /// Whether the guards watch the stream at all.
    pub enabled: bool,
    /// Words in the n-grams a loop is counted by.
    pub ngram: usize,
    /// How many times an n-gram or a sentence may come back within a section before it is a
    /// loop (occurrences after the first).
    pub repeats: usize,
    /// Words in a run that, found in an earlier section, is a copy.
    pub copy_words: usize,
    /// Words in a run that, found in the writer's own requests, is an echo.
    pub echo_words: usize,
    /// Regenerations of a section after incidents; then the trimmed text is kept.
    pub retries: u32,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            ngram: 8,
            repeats: 4,
            copy_words: 16,
            echo_words: 10,
            retries: 2,
        }
    }
}

/// A guard setting too small to mean anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[guards] {key} = {value} is too small: use at least {min} (default {default}), or enabled = false to turn the guards off")]
pub struct GuardSettingError {
    /// The key.
    pub key: &'static str,
    /// The value given.
    pub value: usize,
    /// The least accepted.
    pub min: usize,
    /// The default.
    pub default: usize,
}

impl GuardSettings {
    /// Refuses values that would flag ordinary prose (an n-gram of two words, a copy of three).
    pub fn check(&self) -> Result<(), GuardSettingError> {
        let d = Self::default();
        for (key, value, min, default) in [
            ("ngram", self.ngram, 4, d.ngram),
            ("repeats", self.repeats, 1, d.repeats),
            ("copy_words", self.copy_words, 6, d.copy_words),
            ("echo_words", self.echo_words, 5, d.echo_words),
        ] {
            if value < min {
                return Err(GuardSettingError {
                    key,
                    value,
                    min,
                    default,
                });
            }
        }
        Ok(())
    }
}

/// What a guard caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardKind {
    /// The section repeats itself.
    Loop,
    /// The section copies an earlier one.
    Copy,
    /// The section reproduces the writer's instructions.
    Echo,
}

impl GuardKind {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Loop => "loop",
            Self::Copy => "copy",
            Self::Echo => "echo",
        }
    }
}

/// One detection: what, where the good text ends, and the offending words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// What was caught.
    pub kind: GuardKind,
    /// Bytes of the generated text (this request's, not the section's earlier text) to keep:
    /// up to the end of the sentence before the bad part.
    pub keep: usize,
    /// The offending words as they stood, shortened, for messages.
    pub quote: String,
}

/// Sentences shorter than this never count as a loop on their own ("In the end.").
const MIN_SENTENCE_WORDS: usize = 4;

/// What a section's text is checked against: the earlier sections and the requests. Built
/// once per section (the earlier sections) and per request (the prompts).
#[derive(Debug, Clone)]
pub struct Guard {
    settings: GuardSettings,
    earlier: HashSet<u64>,
    prompts: HashSet<u64>,
}

impl Guard {
    /// A guard for a section written after `earlier` sections.
    pub fn new<'t>(settings: GuardSettings, earlier: impl IntoIterator<Item = &'t str>) -> Self {
        let mut set = HashSet::new();
        for text in earlier {
            insert_windows(&mut set, text, settings.copy_words);
        }
        Self {
            settings,
            earlier: set,
            prompts: HashSet::new(),
        }
    }

    /// Sets what the writer sent in this request: every turn but the model's own.
    pub fn set_prompts(&mut self, messages: &[ChatMessage]) {
        self.prompts.clear();
        for m in messages.iter().filter(|m| m.role != Role::Assistant) {
            insert_windows(&mut self.prompts, &m.content, self.settings.echo_words);
        }
    }

    /// Starts watching one request's stream; `before` is the section's text so far.
    pub fn watch(&self, before: &str) -> Watch<'_> {
        let mut watch = Watch {
            guard: self,
            text: String::new(),
            origin: before.len(),
            scanned: 0,
            words: Vec::new(),
            first_new: 0,
            grams: HashMap::new(),
            sentences: HashMap::new(),
            sentence_from: 0,
            boundary: 0,
            after_end: false,
        };
        watch.text.push_str(before);
        watch.scan(false);
        watch.first_new = watch.words.len();
        watch
    }
}

/// A word of the text: its hash, its bytes, and where its sentence starts.
#[derive(Debug, Clone, Copy)]
struct Word {
    hash: u64,
    start: usize,
    end: usize,
    sentence: usize,
}

/// How often an n-gram or sentence has been seen, and where it first came back.
#[derive(Debug, Clone, Copy)]
struct Seen {
    count: usize,
    /// Word index of the first repetition.
    again: usize,
}

/// One request's stream under watch.
#[derive(Debug)]
pub struct Watch<'g> {
    guard: &'g Guard,
    /// The section's text: what was there before, then this request's.
    text: String,
    /// Where this request's text starts in `text`.
    origin: usize,
    /// Bytes of `text` cut into words (a word at the end may still grow).
    scanned: usize,
    words: Vec<Word>,
    /// Index of the first word of this request.
    first_new: usize,
    grams: HashMap<u64, Seen>,
    sentences: HashMap<u64, Seen>,
    /// Index of the first word of the current sentence.
    sentence_from: usize,
    /// Byte offset where the current sentence starts.
    boundary: usize,
    /// Just after a sentence end: closing quotes and brackets still belong to it.
    after_end: bool,
}

impl Watch<'_> {
    /// Adds streamed text; returns the first incident it completes.
    pub fn push(&mut self, delta: &str) -> Option<Incident> {
        self.text.push_str(delta);
        let from = self.words.len();
        let mut found = self.scan(true);
        // Copies and echoes are looked for among the new words' windows.
        for i in from..self.words.len() {
            if found.is_some() {
                break;
            }
            found = self.copy_or_echo(i);
        }
        found
    }

    /// Cuts the unscanned text into words; with `check`, looks for loops as words complete.
    fn scan(&mut self, check: bool) -> Option<Incident> {
        let mut found = None;
        let mut word_start: Option<usize> = None;
        let rest = self.text[self.scanned..].to_string();
        let base = self.scanned;
        for (offset, c) in rest.char_indices() {
            let at = base + offset;
            let cjk = is_cjk(c);
            if c.is_alphanumeric() && !cjk {
                word_start.get_or_insert(at);
                continue;
            }
            if let Some(start) = word_start.take() {
                found = found.or(self.word(start, at, check));
            }
            if cjk {
                found = found.or(self.word(at, at + c.len_utf8(), check));
                self.after_end = false;
            } else if matches!(c, '.' | '!' | '?' | '\n' | '。' | '！' | '？') {
                found = found.or(self.end_sentence(check));
                self.boundary = at + c.len_utf8();
                self.after_end = true;
            } else if self.after_end && matches!(c, '"' | '\'' | '”' | '’' | ')' | ']' | '»') {
                self.boundary = at + c.len_utf8();
            } else {
                self.after_end = false;
            }
        }
        // A word at the very end may continue in the next delta.
        self.scanned = word_start.unwrap_or(self.text.len());
        found
    }

    fn word(&mut self, start: usize, end: usize, check: bool) -> Option<Incident> {
        self.after_end = false;
        self.words.push(Word {
            hash: hash_str(&self.text[start..end].to_lowercase()),
            start,
            end,
            sentence: self.boundary,
        });
        let n = self.guard.settings.ngram;
        let last = self.words.len() - 1;
        if self.words.len() < n {
            return None;
        }
        let gram = window_hash(&self.words[last + 1 - n..]);
        let seen = count(&mut self.grams, gram, last + 1 - n);
        (check && last >= self.first_new && seen.count > self.guard.settings.repeats + 1)
            .then(|| self.incident(GuardKind::Loop, seen.again, last))
    }

    fn end_sentence(&mut self, check: bool) -> Option<Incident> {
        let (from, to) = (self.sentence_from, self.words.len());
        self.sentence_from = to;
        if to - from < MIN_SENTENCE_WORDS {
            return None;
        }
        let seen = count(
            &mut self.sentences,
            window_hash(&self.words[from..to]),
            from,
        );
        (check && to > self.first_new && seen.count > self.guard.settings.repeats + 1)
            .then(|| self.incident(GuardKind::Loop, seen.again, to - 1))
    }

    fn copy_or_echo(&self, last: usize) -> Option<Incident> {
        if last < self.first_new {
            return None;
        }
        let s = &self.guard.settings;
        for (kind, n, set) in [
            (GuardKind::Copy, s.copy_words, &self.guard.earlier),
            (GuardKind::Echo, s.echo_words, &self.guard.prompts),
        ] {
            if last + 1 >= n && !set.is_empty() {
                let from = last + 1 - n;
                if set.contains(&window_hash(&self.words[from..=last])) {
                    return Some(self.incident(kind, from, last));
                }
            }
        }
        None
    }

    /// An incident whose bad part starts at word `from` (and is quoted up to word `to`).
    fn incident(&self, kind: GuardKind, from: usize, to: usize) -> Incident {
        let cut = self.words[from].sentence.max(self.origin);
        let keep = self.text[self.origin..cut].trim_end().len();
        let quoted = &self.text[self.words[from].start..self.words[to].end];
        let mut quote: String = quoted.chars().take(80).collect();
        if quote.len() < quoted.len() {
            quote.push('…');
        }
        Incident { kind, keep, quote }
    }
}

fn count(map: &mut HashMap<u64, Seen>, key: u64, at: usize) -> Seen {
    let seen = map.entry(key).or_insert(Seen {
        count: 0,
        again: at,
    });
    seen.count += 1;
    if seen.count == 2 {
        seen.again = at;
    }
    *seen
}

/// Adds the hash of every run of `n` words of `text`.
fn insert_windows(set: &mut HashSet<u64>, text: &str, n: usize) {
    let words = word_hashes(text);
    if words.len() < n || n == 0 {
        return;
    }
    for window in words.windows(n) {
        set.insert(combine(window.iter().copied()));
    }
}

/// The hashes of `text`'s words, as `Watch` cuts them.
fn word_hashes(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() && !is_cjk(c) {
            word.extend(c.to_lowercase());
            continue;
        }
        if !word.is_empty() {
            out.push(hash_str(&word));
            word.clear();
        }
        if is_cjk(c) {
            out.push(hash_str(&c.to_string()));
        }
    }
    if !word.is_empty() {
        out.push(hash_str(&word));
    }
    out
}

fn window_hash(words: &[Word]) -> u64 {
    combine(words.iter().map(|w| w.hash))
}

fn combine(hashes: impl Iterator<Item = u64>) -> u64 {
    hashes.fold(0xcbf2_9ce4_8422_2325, |h, w| {
        (h ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(17)
    })
}

fn hash_str(word: &str) -> u64 {
    // SipHash with fixed keys: the same words hash the same in every run.
    let mut h = std::hash::DefaultHasher::new();
    word.hash(&mut h);
    h.finish()
}

/// Han ideographs and kana count one word each, as `text::count_words` counts them.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
