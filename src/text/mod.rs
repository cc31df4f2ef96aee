//! Text measurement for long-form generation.
//!
//! Counts words the way LongBench-Write scores them ([`count_words`]), tells
//! Chinese from English ([`detect_language`]), reads the requested output
//! length from an instruction ([`extract_target_length`],
//! [`target_length_or_default`]) and converts word targets into token budgets
//! ([`tokens_per_word`]). Everything here is pure: no I/O, no allocation on
//! the counting hot path.

mod count;
mod cues;
mod length;
pub(crate) mod numerals;

pub(crate) use count::is_cjk_ideograph;
pub use count::{count_words, detect_language, WordCounter};
pub use length::extract_target_length;

/// Language of a text, decided by its share of CJK ideographs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English (or any text without a meaningful share of CJK ideographs).
    English,
    /// Chinese.
    Chinese,
}

/// Target length used when an instruction states none: 2000 words (or 字).
///
/// 2000 is the most frequent requested length among LongBench-Write's 120
/// prompts (13 of them; the median is 1550) and a typical full-article
/// length. It
/// is also about the output length the LongWriter paper found ordinary models
/// struggle to exceed, so the default neither under-asks nor forces a long
/// multi-section plan on a prompt that never asked for one.
pub const DEFAULT_TARGET_WORDS: usize = 2000;

/// The requested output length of `instruction`, or
/// [`DEFAULT_TARGET_WORDS`] when it states none.
pub fn target_length_or_default(instruction: &str) -> usize {
    extract_target_length(instruction).unwrap_or(DEFAULT_TARGET_WORDS)
}

/// Conservative tokens per counted word, for sizing `max_tokens` budgets.
///
/// English: 1.4 tokens per word. Common BPE tokenizers (GPT-4's cl100k,
/// Llama 3, Qwen, GLM-4) average about 1.3 tokens per English word; 1.4 adds
/// room for punctuation, Markdown and numbers, which [`count_words`] does not
/// count.
///
/// Chinese: 1.3 tokens per counted 字. Tokenizers with large Chinese
/// vocabularies (Qwen, GLM-4, o200k) need about 0.7-1.0 tokens per
/// character, older ones (cl100k, Llama 2) up to about 1.5; Chinese
/// punctuation is not counted but costs tokens too. 1.3 covers current
/// long-output models without truncation while not wildly over-reserving.
/// Over-reserving only wastes headroom; under-reserving truncates the text.
pub fn tokens_per_word(lang: Language) -> f64 {
    match lang {
        Language::English => 1.4,
        Language::Chinese => 1.3,
    }
}

#[cfg(test)]
mod length_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Record {
        prompt: String,
        length: usize,
    }

    /// Path of a LongBench-Write data file, from the crate root.
    fn data_path(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/longbench-write")
            .join(name)
    }

    /// Runs `target_length_or_default` on every prompt of `name`; prints the
    /// misses and returns (matches, total).
    fn score_file(name: &str) -> (usize, usize) {
        let path = data_path(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut matches = 0;
        let mut total = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let rec: Record = serde_json::from_str(line).expect("valid JSONL record");
            total += 1;
            let got = target_length_or_default(&rec.prompt);
            if got == rec.length {
                matches += 1;
            } else {
                let prefix: String = rec.prompt.chars().take(70).collect();
                eprintln!(
                    "MISS {name}: expected {} got {got}: {}",
                    rec.length,
                    prefix.replace('\n', " ")
                );
            }
        }
        eprintln!("{name}: {matches}/{total} target lengths match");
        (matches, total)
    }

    #[test]
    fn longbench_write_target_lengths() {
        let (matches, total) = score_file("longbench_write.jsonl");
        assert_eq!(total, 120);
        assert!(
            matches >= 112,
            "only {matches}/{total} target lengths match"
        );
    }

    #[test]
    fn longwrite_ruler_target_lengths() {
        let (matches, total) = score_file("longwrite_ruler.jsonl");
        assert_eq!(matches, total);
    }

    #[test]
    fn default_and_factors() {
        assert_eq!(
            target_length_or_default("Write a poem."),
            DEFAULT_TARGET_WORDS
        );
        assert_eq!(target_length_or_default("写一篇3000字的文章"), 3000);
        assert!(tokens_per_word(Language::English) >= 1.3);
        assert!(tokens_per_word(Language::Chinese) >= 1.0);
        let json = serde_json::to_string(&Language::Chinese).expect("serialize");
        assert_eq!(json, "\"chinese\"");
        let back: Language = serde_json::from_str("\"english\"").expect("deserialize");
        assert_eq!(back, Language::English);
    }
}
