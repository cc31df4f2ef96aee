//! Target-length extraction from writing instructions.
//!
//! A length is a number followed by a length unit (`words`, `-word`, `字`,
//! `词`, `个汉字`, `pages`) or preceded by a length key (`字数：`, `篇幅`,
//! `word count:`). Every such candidate is scored from its context: hedges
//! (`不少于`, `左右`, `at least`) and totals (`共`, `in total`) raise it,
//! wording that points at source material (`以下`, `this`) lowers it, and a
//! per-item length (`每篇400字`, `各写1000字`, `500 words each`) is multiplied
//! by the number of items when the instruction states it (`五篇`, `两部分`,
//! `3 essays`). The best-scoring candidate wins; ties go to the larger value.
//! Numbers with other units (`2024年`, `5 days`, `90分钟`, `Top 10`) are never
//! lengths. Ranges (`100至200字`, `1,000-1,500 words`) give their upper bound.

use super::cues::{
    CLASSIFIERS, HEDGES_AFTER, HEDGES_BEFORE, LENGTH_KEYS, NOT_ITEMS, RANGE_SEPARATORS,
    SOURCE_MARKS, TARGET_VERBS, TOTALS_AFTER, TOTALS_BEFORE,
};
use super::numerals::{ascii_word, normalized_chars, scan_numbers, NumKind, NumToken};

/// Words assumed per page for page-based requests ("a 50-page novel"):
/// a typical double-spaced manuscript or printed novel page.
const WORDS_PER_PAGE: f64 = 250.0;

/// Smallest plausible requested length; smaller numbers are item counts.
const MIN_LENGTH: f64 = 10.0;
/// Largest plausible requested length.
const MAX_LENGTH: f64 = 10_000_000.0;
/// Largest plausible number of items for a per-item multiplier.
const MAX_ITEMS: f64 = 100.0;

/// Unit of a length candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Words,
    Pages,
}

/// A number read as a possible requested length.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    token: usize,
    value: f64,
    score: i32,
    unit_end: usize,
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn skip_spaces(cs: &[char], mut j: usize) -> usize {
    while cs.get(j).is_some_and(|&c| is_space(c)) {
        j += 1;
    }
    j
}

/// Whether the char at `j` ends a clause.
fn is_break(cs: &[char], j: usize) -> bool {
    match cs[j] {
        '。' | '！' | '？' | '；' | ';' | '!' | '?' | '\n' | '，' | ',' | '、' => true,
        '.' => cs.get(j + 1).is_none_or(|c| c.is_whitespace()),
        _ => false,
    }
}

/// Up to `max` chars before `start`, within the same clause, lower-cased.
fn before(cs: &[char], start: usize, max: usize) -> String {
    let mut lo = start;
    while lo > 0 && start - lo < max && !is_break(cs, lo - 1) {
        lo -= 1;
    }
    cs[lo..start]
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Up to `max` chars from `end`, within the same clause, lower-cased.
fn after(cs: &[char], end: usize, max: usize) -> String {
    let mut hi = end;
    while hi < cs.len() && hi - end < max && !is_break(cs, hi) {
        hi += 1;
    }
    cs[end..hi].iter().map(|c| c.to_ascii_lowercase()).collect()
}

fn contains_any(s: &str, pats: &[&str]) -> bool {
    pats.iter().any(|p| s.contains(p))
}

/// Whether `s` contains `word` as a whole ASCII word.
fn has_word(s: &str, word: &str) -> bool {
    s.match_indices(word).any(|(i, _)| {
        let pre = s[..i].chars().next_back();
        let post = s[i + word.len()..].chars().next();
        !pre.is_some_and(|c| c.is_ascii_alphabetic())
            && !post.is_some_and(|c| c.is_ascii_alphabetic())
    })
}

/// The length unit right after a number ending at `end`, and where it ends.
fn unit_after(cs: &[char], end: usize) -> Option<(Unit, usize)> {
    let mut j = skip_spaces(cs, end);
    if cs.get(j) == Some(&'+') {
        j = skip_spaces(cs, j + 1);
    }
    let mut k = j;
    if matches!(cs.get(k), Some('多' | '余' | '来')) {
        k += 1;
    }
    if cs.get(k) == Some(&'个') {
        k += 1;
    }
    if matches!(cs.get(k), Some('汉' | '单')) {
        k += 1;
    }
    match cs.get(k) {
        Some('字') if !matches!(cs.get(k + 1), Some('节' | '母')) => {
            return Some((Unit::Words, k + 1))
        }
        Some('词') => return Some((Unit::Words, k + 1)),
        _ => {}
    }
    if matches!(cs.get(j), Some('-' | '‐' | '‑' | '–' | '—')) {
        j = skip_spaces(cs, j + 1);
    }
    let (mut w, mut wend) = ascii_word(cs, j);
    let chinese = w == "chinese";
    if chinese || w == "english" {
        (w, wend) = ascii_word(cs, skip_spaces(cs, wend));
    }
    match w.as_str() {
        "word" | "words" => Some((Unit::Words, wend)),
        "character" | "characters" if chinese => Some((Unit::Words, wend)),
        "page" | "pages" => Some((Unit::Pages, wend)),
        _ => None,
    }
}

/// Whether a bare number at `start..end` is introduced by a length key and
/// not followed by another unit (`字数：2000左右`, `word count: 1500`).
fn keyed_length(cs: &[char], start: usize, end: usize) -> bool {
    if !contains_any(&before(cs, start, 12), &LENGTH_KEYS) {
        return false;
    }
    match cs.get(skip_spaces(cs, end)) {
        None => true,
        Some(&c) => {
            c.is_ascii_punctuation()
                || "，。；！？）)】」』、：”’\n".contains(c)
                || "左以上多余".contains(c)
        }
    }
}

/// Score adjustment from the words around a candidate.
fn context_score(cs: &[char], t: &NumToken, unit_end: usize) -> i32 {
    let near = before(cs, t.start, 16);
    let close = before(cs, t.start, 8);
    let next = after(cs, unit_end, 12);
    let mut score = 0;
    if contains_any(&near, &HEDGES_BEFORE) || contains_any(&next, &HEDGES_AFTER) {
        score += 1;
    }
    if contains_any(&near, &TOTALS_BEFORE) || contains_any(&next, &TOTALS_AFTER) {
        score += 3;
    }
    if contains_any(&near, &TARGET_VERBS) {
        score += 2;
    }
    if contains_any(&close, &SOURCE_MARKS) {
        score -= 3;
    }
    score
}

/// How a per-item length names its items.
enum PerItem {
    /// `每篇`, `每节课`: counts are numbers followed by one of these chars.
    Every(Vec<char>),
    /// `各`, `分别`, `each`, `per`: counts are numbers followed by an item noun.
    Each,
}

/// Detects a per-item length (`每篇400字`, `各写1000字`, `500 words each`).
fn per_item(cs: &[char], t: &NumToken, unit_end: usize) -> Option<PerItem> {
    let near: Vec<char> = before(cs, t.start, 10).chars().collect();
    if let Some(p) = near.iter().rposition(|&c| c == '每') {
        let classifiers: Vec<char> = near[p + 1..]
            .iter()
            .take(2)
            .copied()
            .filter(|c| !c.is_ascii() && !"约大概为在写".contains(*c))
            .collect();
        if !classifiers.is_empty() {
            return Some(PerItem::Every(classifiers));
        }
    }
    let close = before(cs, t.start, 5);
    if close.contains('各') || close.contains("分别") {
        return Some(PerItem::Each);
    }
    let clause = before(cs, t.start, 40);
    let next = after(cs, unit_end, 12);
    let next = next.trim_start();
    let each_before = ["each", "every", "per"]
        .iter()
        .any(|w| has_word(&clause, w));
    let each_after = [
        "each", "apiece", "per ", "for each", "a day", "a piece", "every",
    ]
    .iter()
    .any(|w| next.starts_with(w));
    (each_before || each_after).then_some(PerItem::Each)
}

/// Whether the number `t` names a count of items of the given kind.
fn is_item_count(cs: &[char], t: &NumToken, kind: &PerItem) -> bool {
    if !(2.0..=MAX_ITEMS).contains(&t.value) || unit_after(cs, t.end).is_some() {
        return false;
    }
    let j = skip_spaces(cs, t.end);
    match kind {
        PerItem::Every(classifiers) => {
            let preceded_by_every = before(cs, t.start, 3).contains('每');
            let c1 = cs.get(j).copied();
            let c2 = cs.get(j + 1).copied();
            !preceded_by_every && [c1, c2].iter().flatten().any(|c| classifiers.contains(c))
        }
        PerItem::Each => match cs.get(j) {
            Some(&c) if c.is_ascii_alphabetic() => {
                j > t.end && t.kind != NumKind::Chinese && {
                    let (w, _) = ascii_word(cs, j);
                    !NOT_ITEMS.contains(&w.as_str())
                }
            }
            Some(&c) => CLASSIFIERS.contains(c),
            None => false,
        },
    }
}

/// The number of items a per-item length at token `idx` applies to: the
/// nearest count before it, else the nearest after it.
fn item_count(cs: &[char], tokens: &[NumToken], idx: usize, kind: &PerItem) -> Option<f64> {
    let counts = |t: &&NumToken| is_item_count(cs, t, kind);
    tokens[..idx]
        .iter()
        .rev()
        .find(counts)
        .or_else(|| tokens[idx + 1..].iter().find(counts))
        .map(|t| t.value)
}

/// Reads token `idx` as a length candidate, if it is one.
fn candidate(cs: &[char], tokens: &[NumToken], idx: usize) -> Option<Candidate> {
    let t = &tokens[idx];
    if t.single_cjk {
        return None;
    }
    let (unit, unit_end, base) = match unit_after(cs, t.end) {
        Some((unit, end)) => (unit, end, if unit == Unit::Pages { 7 } else { 10 }),
        None if t.kind != NumKind::English && keyed_length(cs, t.start, t.end) => {
            (Unit::Words, t.end, 9)
        }
        None => return None,
    };
    let mut value = t.value;
    if unit == Unit::Pages {
        value *= WORDS_PER_PAGE;
    }
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&value) {
        return None;
    }
    let mut score = base + context_score(cs, t, unit_end);
    if let Some(kind) = per_item(cs, t, unit_end) {
        match item_count(cs, tokens, idx, &kind) {
            Some(n) => {
                value *= n;
                score += 1;
            }
            None => score -= 2,
        }
    }
    Some(Candidate {
        token: idx,
        value,
        score,
        unit_end,
    })
}

/// Whether the text between two positions is a range separator.
fn is_range_separator(cs: &[char], from: usize, to: usize) -> bool {
    if from > to {
        return false;
    }
    let between: String = cs[from..to].iter().collect::<String>().to_lowercase();
    RANGE_SEPARATORS.contains(&between.trim())
}

/// Extracts the requested output length (English words or Chinese
/// characters) from a writing instruction, or `None` when it states none.
///
/// Handles English and Chinese phrasings (`a 5,000-word essay`, `no less than
/// 2000 words`, `不少于800字`, `两千字`, `1.5万字`, `字数：2000`), ranges (upper
/// bound), pages (250 words each) and per-item lengths with an item count
/// (`五篇日记……每篇400字左右` gives 2000).
pub fn extract_target_length(instruction: &str) -> Option<usize> {
    let cs = normalized_chars(instruction);
    let tokens = scan_numbers(&cs);
    let mut cands: Vec<Candidate> = (0..tokens.len())
        .filter_map(|i| candidate(&cs, &tokens, i))
        .collect();
    // The lower bound of a range is not the target.
    let lows: Vec<usize> = cands
        .windows(2)
        .filter(|w| {
            w[1].token == w[0].token + 1
                && is_range_separator(&cs, w[0].unit_end, tokens[w[1].token].start)
        })
        .map(|w| w[0].token)
        .collect();
    cands.retain(|c| !lows.contains(&c.token));
    cands
        .iter()
        .max_by(|a, b| a.score.cmp(&b.score).then(a.value.total_cmp(&b.value)))
        .map(|c| c.value.round() as usize)
}
