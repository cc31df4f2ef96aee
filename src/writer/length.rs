//! Length control: token budgets from word targets, cuts at sentence ends, and seams.
//!
//! Pure functions over text. The writer asks for `max_tokens` from a section's remaining words,
//! cuts an overrun at the last sentence end under the bound, and joins a continuation to the
//! text before it without repeating what the model echoed.

use crate::text::{count_words, tokens_per_word, Language};

/// A section shorter than this share of its target is continued once.
pub const SHORT_RATIO: f64 = 0.6;
/// A section longer than this share of its target is cut.
pub const LONG_RATIO: f64 = 1.5;
/// Tokens added to every budget for formatting and the closing sentence.
const HEADROOM_TOKENS: f64 = 32.0;

/// The `max_tokens` for generating about `words` more words: the language's token factor
/// (itself a little generous) and fixed headroom. Models that do not stop on their own (base
/// models) are cut here, at about 1.1x the words, then trimmed to a sentence end; a section
/// cut short of its target is continued.
pub fn token_budget(words: usize, language: Language) -> u32 {
    let tokens = words as f64 * tokens_per_word(language) + HEADROOM_TOKENS;
    tokens.ceil().clamp(HEADROOM_TOKENS, 32_000.0) as u32
}

/// The most words a section may keep.
pub fn upper_bound(target_words: usize) -> usize {
    ((target_words as f64) * LONG_RATIO).ceil() as usize
}

/// Whether a finished section is short enough to continue once.
pub fn is_short(words: usize, target_words: usize) -> bool {
    (words as f64) < (target_words as f64) * SHORT_RATIO
}

/// Byte offsets just after each sentence end: `.`, `!`, `?`, `。`, `！`, `？`, `…`, optionally
/// followed by closing quotes or brackets, then whitespace or the end.
fn sentence_ends(text: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (_, c) = chars[i];
        let cjk_end = matches!(c, '。' | '！' | '？' | '…');
        if cjk_end || matches!(c, '.' | '!' | '?') {
            let mut j = i + 1;
            while j < chars.len()
                && matches!(
                    chars[j].1,
                    '"' | '\'' | '”' | '’' | ')' | '」' | '』' | '）' | '*'
                )
            {
                j += 1;
            }
            let end = chars.get(j).map_or(text.len(), |&(b, _)| b);
            if cjk_end || j == chars.len() || chars[j].1.is_whitespace() {
                ends.push(end);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    ends
}

/// Cuts `text` at the last sentence end at which it has at most `max_words` words. When no
/// sentence ends under the bound, it cuts at the last whitespace under it.
pub fn cut_to_words(text: &str, max_words: usize) -> &str {
    if count_words(text) <= max_words {
        return text;
    }
    let ends = sentence_ends(text);
    let fits = |end: &usize| count_words(&text[..*end]) <= max_words;
    if let Some(end) = ends.iter().rev().find(|e| fits(e)) {
        return text[..*end].trim_end();
    }
    let mut cut = 0;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if count_words(&text[..i]) > max_words {
                break;
            }
            cut = i;
        }
    }
    text[..cut].trim_end()
}

/// Cuts an unfinished last sentence off `text` (after a `length` stop), keeping at least one
/// sentence: text with no sentence end stays whole.
pub fn cut_to_sentence(text: &str) -> &str {
    match sentence_ends(text).last() {
        Some(&end) => text[..end].trim_end(),
        None => text,
    }
}

/// How many bytes at the start of `continuation` repeat the end of `before`: the longest
/// overlap of at least 12 bytes (so common short words do not count), on char boundaries,
/// ignoring whitespace at the seam.
pub fn overlap(before: &str, continuation: &str) -> usize {
    let before = before.trim_end();
    let lead = continuation.len() - continuation.trim_start().len();
    let cont = &continuation[lead..];
    let longest = before.len().min(cont.len()).min(2_000);
    for len in (12..=longest).rev() {
        if !cont.is_char_boundary(len) || !before.is_char_boundary(before.len() - len) {
            continue;
        }
        if before.ends_with(&cont[..len]) {
            return lead + len;
        }
    }
    0
}

/// What to put between the text so far and a continuation that starts at a fresh turn: a space
/// between words, nothing after whitespace or before punctuation, nothing between CJK text.
pub fn seam(before: &str, continuation: &str) -> &'static str {
    let (Some(last), Some(first)) = (before.chars().last(), continuation.chars().next()) else {
        return "";
    };
    if last.is_whitespace() || first.is_whitespace() {
        return "";
    }
    let cjk =
        |c: char| ('\u{3000}'..='\u{9fff}').contains(&c) || ('\u{ff00}'..='\u{ffef}').contains(&c);
    if cjk(last) || cjk(first) || matches!(first, ',' | '.' | ';' | ':' | '!' | '?' | ')') {
        return "";
    }
    if matches!(last, '.' | '!' | '?' | '"' | '”') {
        return "\n\n";
    }
    " "
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_grow_with_words() {
        assert!(token_budget(500, Language::English) > token_budget(100, Language::English));
        assert!(token_budget(0, Language::English) >= 32);
        assert_eq!(token_budget(usize::MAX / 4, Language::English), 32_000);
    }

    #[test]
    fn cut_keeps_whole_sentences_under_the_bound() {
        let text = "One two three. Four five six. Seven eight nine ten.";
        assert_eq!(cut_to_words(text, 7), "One two three. Four five six.");
        assert_eq!(cut_to_words(text, 3), "One two three.");
        assert_eq!(cut_to_words(text, 100), text);
        assert_eq!(cut_to_words("alpha beta gamma delta", 2), "alpha beta");
    }

    #[test]
    fn cut_handles_quotes_and_cjk() {
        assert_eq!(
            cut_to_words("He said \"go.\" Then more words here", 3),
            "He said \"go.\""
        );
        assert_eq!(cut_to_words("一二三。四五六。七八", 6), "一二三。四五六。");
    }

    #[test]
    fn decimals_are_not_sentence_ends() {
        assert_eq!(
            cut_to_sentence("Pi is 3.14 and more"),
            "Pi is 3.14 and more"
        );
        assert_eq!(cut_to_sentence("Done. Half a sent"), "Done.");
    }

    #[test]
    fn overlap_detects_echo() {
        let before = "The river ran cold through the valley";
        assert_eq!(
            overlap(before, " through the valley, and the birds"),
            " through the valley".len()
        );
        assert_eq!(overlap(before, "And then it rained."), 0);
        assert_eq!(overlap("short end", "end again"), 0);
    }

    #[test]
    fn seams() {
        assert_eq!(seam("word", "next"), " ");
        assert_eq!(seam("end.", "Next"), "\n\n");
        assert_eq!(seam("word ", "next"), "");
        assert_eq!(seam("中文", "继续"), "");
        assert_eq!(seam("word", ", next"), "");
    }
}
