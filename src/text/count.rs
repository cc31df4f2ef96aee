//! Word counting and language detection.
//!
//! [`count_words`] reproduces, character for character, the length measure of
//! LongBench-Write's Python evaluator:
//! `len(re.findall(r'[\u4e00-\u9fff]', t)) + len(re.findall(r'\b[a-zA-Z]+\b', t))`.
//! [`detect_language`] reuses the same single pass to decide whether a text
//! is Chinese or English. Both run in one pass over the chars and allocate
//! nothing, so they are cheap enough to call on every generated token.

use super::Language;

/// Whether `c` is a CJK unified ideograph in the evaluator's range U+4E00..=U+9FFF.
pub(crate) fn is_cjk_ideograph(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// Whether `c` is a word character for Python 3's unicode `re` (`\w`):
/// alphanumeric or underscore. (Python excludes combining marks that Rust's
/// `Alphabetic` includes, e.g. Indic vowel signs; irrelevant for zh/en text.)
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        c.is_alphanumeric()
    }
}

/// Counts ideographs and ASCII-letter words plus, for language detection,
/// the non-whitespace chars, all in one pass.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    ideographs: usize,
    ascii_words: usize,
    non_whitespace: usize,
}

/// Counts words of a text that arrives in pieces (a token stream): after any sequence of
/// `push`es, `count` equals `count_words` of the pieces joined, at the cost of the new piece
/// only. The state carries the one-character context that `\b` needs across piece borders.
#[derive(Debug, Default, Clone)]
pub struct WordCounter {
    tally: Tally,
    /// Whether the previous char is a word char (start of text counts as not).
    prev_word: bool,
    /// Inside a maximal run of ASCII letters?
    in_run: bool,
    /// Did the current run start after a non-word char (a `\b`)?
    run_start_ok: bool,
}

impl WordCounter {
    /// Adds the next piece of the text.
    pub fn push(&mut self, piece: &str) {
        let t = &mut self.tally;
        for c in piece.chars() {
            if !c.is_whitespace() {
                t.non_whitespace += 1;
            }
            if c.is_ascii_alphabetic() {
                if !self.in_run {
                    self.in_run = true;
                    self.run_start_ok = !self.prev_word;
                }
                self.prev_word = true;
                continue;
            }
            let word = is_word_char(c);
            if self.in_run {
                // The run ends here; `\b` after it needs a non-word char.
                if self.run_start_ok && !word {
                    t.ascii_words += 1;
                }
                self.in_run = false;
            }
            if is_cjk_ideograph(c) {
                t.ideographs += 1;
            }
            self.prev_word = word;
        }
    }

    /// Words so far, counting a letter run at the end as if the text ended there.
    pub fn count(&self) -> usize {
        let t = self.finished();
        t.ideographs + t.ascii_words
    }

    fn finished(&self) -> Tally {
        let mut t = self.tally;
        if self.in_run && self.run_start_ok {
            t.ascii_words += 1;
        }
        t
    }
}

fn tally(text: &str) -> Tally {
    let mut counter = WordCounter::default();
    counter.push(text);
    counter.finished()
}

/// Counts words exactly as LongBench-Write's evaluator does: one per CJK
/// ideograph (U+4E00..=U+9FFF) plus one per maximal run of ASCII letters whose
/// neighbours (if any) are not word characters (so `abc123` counts 0,
/// `don't` counts 2 and the `abc` in `中文abc` counts 0).
pub fn count_words(text: &str) -> usize {
    let t = tally(text);
    t.ideographs + t.ascii_words
}

/// Detects the language of `text`: Chinese when it has ideographs and they are
/// at least 20% of the non-whitespace chars or outnumber the ASCII-letter
/// words; English otherwise (including for empty text).
pub fn detect_language(text: &str) -> Language {
    let t = tally(text);
    let chinese =
        t.ideographs > 0 && (t.ideographs * 5 >= t.non_whitespace || t.ideographs > t.ascii_words);
    if chinese {
        Language::Chinese
    } else {
        Language::English
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_in_pieces_matches_counting_the_whole() {
        let texts = [
            "hello, world",
            "abc123 don't",
            "中文abc 文字",
            "x_y a-b",
            "The end.",
        ];
        for text in texts {
            let chars: Vec<char> = text.chars().collect();
            for split in 0..=chars.len() {
                let (a, b): (String, String) = (
                    chars[..split].iter().collect(),
                    chars[split..].iter().collect(),
                );
                let mut counter = WordCounter::default();
                counter.push(&a);
                assert_eq!(counter.count(), count_words(&a), "{a:?}");
                counter.push(&b);
                assert_eq!(
                    counter.count(),
                    count_words(text),
                    "{text:?} split at {split}"
                );
            }
        }
    }

    #[test]
    fn count_words_table() {
        let cases: &[(&str, usize)] = &[
            ("", 0),
            ("hello", 1),
            ("hello, world", 2),
            ("hello world", 2),
            ("abc123", 0),
            ("123abc", 0),
            ("abc 123", 1),
            ("don't", 2),
            ("中文abc", 2),
            ("abc中文", 2),
            ("中文 abc", 3),
            ("中文，abc。", 3),
            ("snake_case word", 1),
            ("_abc", 0),
            ("abc_", 0),
            ("naïve", 0), // ï is a word char next to both runs
            ("café au lait", 2),
            ("e-mail", 2),
            ("2024年我们写了100字", 6),
            ("１２３abc", 0), // full-width digits are word chars
            ("«quoted» text", 2),
            ("a\u{00a0}b", 2), // no-break space is not a word char
            ("一二三四五", 5),
            ("\u{9fff}\u{4e00}\u{3400}\u{a000}", 2), // only U+4E00..=U+9FFF count
            ("The quick brown fox.", 4),
            ("x1 y2 z", 1),
            ("(abc)", 1),
            ("ABC-def", 2),
            ("Привет world", 1), // Cyrillic letters are word chars but not counted
            ("Приветworld", 0),
        ];
        for (text, want) in cases {
            assert_eq!(count_words(text), *want, "count_words({text:?})");
        }
    }

    #[test]
    fn count_words_long_text_is_linear() {
        let text = "word 字 ".repeat(100_000);
        assert_eq!(count_words(&text), 200_000);
    }

    #[test]
    fn detect_language_table() {
        let cases: &[(&str, Language)] = &[
            ("", Language::English),
            ("Write a 2000-word essay.", Language::English),
            ("写一篇2000字的文章", Language::Chinese),
            (
                "请以“fall in love with tea culture”为题写一篇300词的英语作文",
                Language::Chinese,
            ),
            (
                "The poet 李白 wrote many poems about the moon and wine.",
                Language::English,
            ),
            ("中 123", Language::Chinese),
            (
                "Rust 是一门系统编程语言，强调安全与性能。",
                Language::Chinese,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(detect_language(text), *want, "detect_language({text:?})");
        }
    }
}
