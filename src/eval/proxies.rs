//! Quality proxies that need no judge: repetition (the share of repeated word 4-grams within a
//! section) and echo (the share of output sentences that reproduce text the writer itself sent
//! in its prompts). Both catch the failure modes a reader sees first in small-model output:
//! loops, and the model copying our instructions back instead of writing.
//!
//! Tokens are lower-cased runs of letters and digits; each CJK ideograph is a token of its own,
//! so the measures work for Chinese too. Pure.

use crate::text::is_cjk_ideograph;
use serde::Serialize;
use std::collections::HashSet;

/// The n of the n-grams both proxies use.
pub const N: usize = 4;

/// A sentence is echoed when at least this share of its 4-grams occur in the prompts.
pub const ECHO_SHARE: f64 = 0.5;

/// Splits `text` into lower-cased tokens.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if is_cjk_ideograph(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() && (c == '\'' || c == '’') {
            word.push('\'');
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn grams(tokens: &[String]) -> impl Iterator<Item = &[String]> {
    tokens.windows(N)
}

/// How much of a text repeats itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Repetition {
    /// Word 4-grams in the text.
    pub ngrams: usize,
    /// Of those, occurrences of a 4-gram seen earlier in the same text.
    pub repeated: usize,
}

impl Repetition {
    /// Measures one section.
    pub fn of(text: &str) -> Self {
        let tokens = tokens(text);
        let mut seen = HashSet::new();
        let mut r = Self::default();
        for gram in grams(&tokens) {
            r.ngrams += 1;
            if !seen.insert(gram) {
                r.repeated += 1;
            }
        }
        r
    }

    /// Repeated 4-grams as a share of all, 0 for a text too short to have any.
    pub fn share(self) -> f64 {
        ratio(self.repeated, self.ngrams)
    }
}

/// The sum over sections (each measured within itself).
impl std::ops::Add for Repetition {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            ngrams: self.ngrams + other.ngrams,
            repeated: self.repeated + other.repeated,
        }
    }
}

/// The sum over sections or documents.
impl std::ops::Add for Echo {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            sentences: self.sentences + other.sentences,
            echoed: self.echoed + other.echoed,
        }
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The 4-grams of the text the writer sent (instruction, plan, step turns), to recognise echoes.
#[derive(Debug, Default)]
pub struct EchoIndex {
    grams: HashSet<Vec<String>>,
}

/// How much of an output reproduces the prompts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Echo {
    /// Sentences long enough to judge (at least 4 tokens).
    pub sentences: usize,
    /// Of those, sentences of which at least half the 4-grams occur in the prompts.
    pub echoed: usize,
}

impl Echo {
    /// Echoed sentences as a share of the sentences judged.
    pub fn share(self) -> f64 {
        ratio(self.echoed, self.sentences)
    }
}

impl EchoIndex {
    /// Indexes the texts the writer sent.
    pub fn new<'a>(prompts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut grams_set = HashSet::new();
        for prompt in prompts {
            let tokens = tokens(prompt);
            grams_set.extend(grams(&tokens).map(<[String]>::to_vec));
        }
        Self { grams: grams_set }
    }

    /// Measures the echo in `output`.
    pub fn measure(&self, output: &str) -> Echo {
        let mut echo = Echo::default();
        for sentence in sentences(output) {
            let tokens = tokens(sentence);
            if tokens.len() < N {
                continue;
            }
            echo.sentences += 1;
            let total = tokens.len() + 1 - N;
            let found = grams(&tokens).filter(|g| self.grams.contains(*g)).count();
            if found as f64 >= ECHO_SHARE * total as f64 {
                echo.echoed += 1;
            }
        }
        echo
    }
}

/// Splits text into sentences at end punctuation (Latin and CJK) and line breaks.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split(['.', '!', '?', '。', '！', '？', '\n'])
        .filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_english_and_chinese() {
        assert_eq!(tokens("Don't STOP, now-2!"), ["don't", "stop", "now", "2"]);
        assert_eq!(tokens("灯塔 keeper"), ["灯", "塔", "keeper"]);
    }

    #[test]
    fn a_loop_is_mostly_repeats() {
        let fresh = Repetition::of("The keeper climbed the stairs at dusk and lit the great lamp.");
        assert_eq!(fresh.repeated, 0);
        let looped = Repetition::of(&"the lamp burned all night. ".repeat(10));
        // 50 tokens, 47 4-grams, of which only 5 are distinct.
        assert_eq!((looped.ngrams, looped.repeated), (47, 42));
        assert!(looped.share() > 0.89);
        let both = fresh + looped;
        assert_eq!(both.ngrams, fresh.ngrams + 47);
        assert_eq!(Repetition::of("too short").share(), 0.0);
    }

    #[test]
    fn echoed_instructions_are_found_and_prose_is_not() {
        let index = EchoIndex::new([
            "Write a 1000-word story about a lighthouse keeper.",
            "Now write section 1 of 3, \"The storm\": the keeper faces a storm.",
        ]);
        let output = "Now write section 1 of 3. The storm came in from the west at noon. \
                      Write a story about a lighthouse keeper! Ok.";
        let echo = index.measure(output);
        assert_eq!(echo.sentences, 3, "\"Ok\" is too short to judge");
        assert_eq!(echo.echoed, 2);
        assert!((echo.share() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(index.measure("").share(), 0.0);
    }
}
