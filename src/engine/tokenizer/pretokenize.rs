//! Pre-tokenizers for byte-level BPE: the word-splitting regexes llama.cpp
//! picks by `tokenizer.ggml.pre`, written out by hand (no regex engine) after
//! llama.cpp's own hand-written `unicode_regex_split_custom_*` functions.
//! Input is one text fragment; output is the byte ranges of its words, which
//! together cover the fragment exactly.

use super::unicode_tables::{LETTER, NUMBER, PUNCTUATION};

/// Which of llama.cpp's BPE pre-tokenizer types `tokenizer.ggml.pre` names: the
/// splitting rules, and the per-type flags llama.cpp sets with them (whole-word
/// lookup before merging, default BOS). Types that share rules but not flags are
/// separate variants, as they are in llama.cpp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreTokenizer {
    /// Llama 3 (`llama-bpe`, `llama3`, ...): numbers in groups of up to 3; words
    /// found whole in the vocabulary skip merging; BOS added by default.
    Llama3,
    /// DBRX and Smaug (`dbrx`, `smaug-bpe`): Llama 3's rules, but merges always
    /// apply and no BOS by default.
    Dbrx,
    /// GLM-4 as converted today (`glm4`): Llama 3's rules and whole-word lookup,
    /// no default BOS id.
    Glm4,
    /// Older GLM-4 conversions (`chatglm-bpe`): as `Glm4`, but merges always apply.
    ChatGlm,
    /// Qwen 2/3 (`qwen2`, ...): Llama 3's rules but one digit per word.
    Qwen2,
    /// GPT-2 (`gpt-2`, `olmo`, ...): the original GPT-2 regex.
    Gpt2,
    /// Missing or `default` pre-type: llama.cpp's four-regex fallback.
    Default,
}

impl PreTokenizer {
    /// Maps a `tokenizer.ggml.pre` value; `None` for unsupported ones.
    pub fn from_name(name: &str) -> Option<PreTokenizer> {
        Some(match name {
            "" | "default" => PreTokenizer::Default,
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral"
            | "midm-2.0" | "lfm2" => PreTokenizer::Llama3,
            "dbrx" | "smaug-bpe" => PreTokenizer::Dbrx,
            "glm4" => PreTokenizer::Glm4,
            "chatglm-bpe" => PreTokenizer::ChatGlm,
            "qwen2" | "deepseek-r1-qwen" | "megrez" | "stablelm2" | "hunyuan" => {
                PreTokenizer::Qwen2
            }
            "gpt-2" | "phi-2" | "mpt" | "olmo" | "jais" | "exaone4" => PreTokenizer::Gpt2,
            _ => return None,
        })
    }

    /// Whether llama.cpp sets `ignore_merges` (whole words found in the vocabulary win).
    pub fn ignores_merges(self) -> bool {
        matches!(self, PreTokenizer::Llama3 | PreTokenizer::Glm4)
    }

    /// Whether a BOS token is added unless the file says otherwise.
    pub fn adds_bos_by_default(self) -> bool {
        self == PreTokenizer::Llama3
    }

    /// Whether this is a GLM-4 variant (which has no default BOS id).
    pub fn is_glm(self) -> bool {
        matches!(self, PreTokenizer::Glm4 | PreTokenizer::ChatGlm)
    }

    /// Splits `text` into word byte ranges.
    pub fn split(self, text: &str) -> Vec<(usize, usize)> {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let whole = vec![(0, chars.len())];
        let spans = match self {
            PreTokenizer::Llama3
            | PreTokenizer::Dbrx
            | PreTokenizer::Glm4
            | PreTokenizer::ChatGlm => split_llama3(&chars, &whole, 3),
            PreTokenizer::Qwen2 => split_llama3(&chars, &whole, 1),
            PreTokenizer::Gpt2 => split_gpt2(&chars, &whole),
            PreTokenizer::Default => {
                let s = split_runs(&chars, &whole, |c| is_punct(c) || "$+<=>^~|".contains(c));
                let s = split_gpt2(&chars, &s);
                let s = split_runs(&chars, &s, is_number);
                split_ascii_triples(&chars, &s)
            }
        };
        let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
        spans
            .into_iter()
            .map(|(s, e)| (byte_at(s), byte_at(e)))
            .collect()
    }
}

fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let cp = c as u32;
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        in_table(LETTER, c)
    }
}

fn is_number(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_table(NUMBER, c)
    }
}

fn is_punct(c: char) -> bool {
    in_table(PUNCTUATION, c)
}

/// Character view of one span `[ini, end)`; `None` outside it, like llama.cpp's OUT_OF_RANGE.
struct Span<'a> {
    chars: &'a [(usize, char)],
    ini: usize,
    end: usize,
}

impl Span<'_> {
    fn at(&self, pos: usize) -> Option<char> {
        (self.ini <= pos && pos < self.end).then(|| self.chars[pos].1)
    }
    fn letter(&self, pos: usize) -> bool {
        self.at(pos).is_some_and(is_letter)
    }
    fn number(&self, pos: usize) -> bool {
        self.at(pos).is_some_and(is_number)
    }
    fn space(&self, pos: usize) -> bool {
        self.at(pos).is_some_and(char::is_whitespace)
    }
    /// `[^\s\p{L}\p{N}]`, false past the end.
    fn other(&self, pos: usize) -> bool {
        self.at(pos)
            .is_some_and(|c| !c.is_whitespace() && !is_letter(c) && !is_number(c))
    }
    /// Length of `'s|'t|'re|'ve|'m|'ll|'d` at `pos` (case-insensitive if asked).
    fn contraction(&self, pos: usize, any_case: bool) -> usize {
        if self.at(pos) != Some('\'') {
            return 0;
        }
        let lower = |p| {
            self.at(p)
                .map(|c: char| if any_case { c.to_ascii_lowercase() } else { c })
        };
        match (lower(pos + 1), lower(pos + 2)) {
            (Some('s' | 't' | 'm' | 'd'), _) => 2,
            (Some('r'), Some('e')) | (Some('v'), Some('e')) | (Some('l'), Some('l')) => 3,
            _ => 0,
        }
    }
    /// Whitespace run at `pos`: its length and the end of its last `\r`/`\n`.
    fn whitespace_run(&self, pos: usize) -> (usize, Option<usize>) {
        let mut n = 0;
        let mut last_newline = None;
        while self.space(pos + n) {
            if matches!(self.at(pos + n), Some('\r' | '\n')) {
                last_newline = Some(pos + n + 1);
            }
            n += 1;
        }
        (n, last_newline)
    }
    /// `\s+(?!\S)|\s+` for a run of `n` whitespace characters at `pos`.
    fn trailing_space_end(&self, pos: usize, n: usize) -> usize {
        if n > 1 && self.at(pos + n).is_some() {
            pos + n - 1
        } else {
            pos + n.max(1)
        }
    }
}

/// Applies `word` (returns the end of the word starting at `pos`) to every span.
fn split_with(
    chars: &[(usize, char)],
    spans: &[(usize, usize)],
    word: impl Fn(&Span, usize) -> usize,
) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(chars.len() / 3 + 1);
    for &(ini, end) in spans {
        let span = Span { chars, ini, end };
        let mut pos = ini;
        while pos < end {
            let next = word(&span, pos).clamp(pos + 1, end);
            out.push((pos, next));
            pos = next;
        }
    }
    out
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
/// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
fn split_llama3(
    chars: &[(usize, char)],
    spans: &[(usize, usize)],
    max_digits: usize,
) -> Vec<(usize, usize)> {
    split_with(chars, spans, |s, pos| {
        let c = s.at(pos).unwrap_or('\0');
        let n = s.contraction(pos, true);
        if n > 0 {
            return pos + n;
        }
        if !matches!(c, '\r' | '\n') && !is_number(c) && (is_letter(c) || s.letter(pos + 1)) {
            let mut p = pos + 1;
            while s.letter(p) {
                p += 1;
            }
            return p;
        }
        if is_number(c) {
            let mut p = pos;
            while s.number(p) && p - pos < max_digits {
                p += 1;
            }
            return p;
        }
        let start = pos + usize::from(c == ' ');
        if s.other(start) {
            let mut p = start;
            while s.other(p) {
                p += 1;
            }
            while matches!(s.at(p), Some('\r' | '\n')) {
                p += 1;
            }
            return p;
        }
        let (n, last_newline) = s.whitespace_run(pos);
        last_newline.unwrap_or_else(|| s.trailing_space_end(pos, n))
    })
}

/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
fn split_gpt2(chars: &[(usize, char)], spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    split_with(chars, spans, |s, pos| {
        let n = s.contraction(pos, false);
        if n > 0 {
            return pos + n;
        }
        let start = pos + usize::from(s.at(pos) == Some(' '));
        for class in [Span::letter, Span::number, Span::other] {
            if class(s, start) {
                let mut p = start;
                while class(s, p) {
                    p += 1;
                }
                return p;
            }
        }
        let (n, _) = s.whitespace_run(pos);
        s.trailing_space_end(pos, n)
    })
}

/// Splits each span into maximal runs matching `class` and the gaps between them.
fn split_runs(
    chars: &[(usize, char)],
    spans: &[(usize, usize)],
    class: impl Fn(char) -> bool,
) -> Vec<(usize, usize)> {
    split_with(chars, spans, |s, pos| {
        let hit = s.at(pos).is_some_and(&class);
        let mut p = pos;
        while s.at(p).is_some_and(|c| class(c) == hit) {
            p += 1;
        }
        p
    })
}

/// `[0-9][0-9][0-9]`: splits out ASCII digit triples, left to right.
fn split_ascii_triples(chars: &[(usize, char)], spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let digit = |s: &Span, p: usize| s.at(p).is_some_and(|c| c.is_ascii_digit());
    let triple = |s: &Span, p: usize| (p..p + 3).all(|q| digit(s, q));
    split_with(chars, spans, |s, pos| {
        if triple(s, pos) {
            return pos + 3;
        }
        let mut p = pos + 1;
        while s.at(p).is_some() && !triple(s, p) {
            p += 1;
        }
        p
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// llama.cpp's classes, as `scripts/golden-bpe.py --unicode` found them by tokenizing.
    const LLAMA_CPP_CLASSES: &str =
        include_str!("../../../tests/data/tokenizer/llama-cpp-unicode.txt");

    fn llama_cpp_ranges(class: &str) -> Vec<(u32, u32)> {
        let line = LLAMA_CPP_CLASSES
            .lines()
            .find(|l| l.split_whitespace().next() == Some(class))
            .unwrap_or_else(|| panic!("no {class} line"));
        line.split_whitespace()
            .skip(1)
            .map(|range| {
                let (lo, hi) = range.split_once('-').expect("lo-hi");
                let hex = |h| u32::from_str_radix(h, 16).expect("hex");
                (hex(lo), hex(hi))
            })
            .collect()
    }

    /// A class name in the file and our predicate for it.
    type Class = (&'static str, fn(char) -> bool);

    #[test]
    fn character_classes_match_llama_cpp_on_every_code_point() {
        let classes: [Class; 4] = [
            ("letter", is_letter),
            ("number", is_number),
            ("punctuation", is_punct),
            ("whitespace", char::is_whitespace),
        ];
        for (class, ours) in classes {
            let theirs = llama_cpp_ranges(class);
            let differ: Vec<u32> = (0..=0x10FFFF)
                .filter_map(char::from_u32)
                .filter(|&c| ours(c) != in_table(&theirs, c))
                .map(u32::from)
                .collect();
            assert!(
                differ.is_empty(),
                "{class}: {} code points differ from llama.cpp, e.g. {:X?}",
                differ.len(),
                &differ[..differ.len().min(8)]
            );
        }
    }
}
