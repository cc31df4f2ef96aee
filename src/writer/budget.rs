//! The context budget: how many tokens a request may take, and how many it takes.
//!
//! The window comes from the user (`--context`, `[backend] context`), else the backend (the
//! engine's context, llama.cpp's `/props`, vLLM's `max_model_len`), else [`DEFAULT_WINDOW`]
//! with a warning. A request is measured exactly where the backend can count (the engine's
//! tokenizer, llama.cpp's `/tokenize`), else estimated from its characters, calibrated by the
//! `usage.prompt_tokens` servers report, with a margin. Prompt plus `max_tokens` must fit the
//! window. A server that still refuses a request for its length shrinks the budget. Pure.

use crate::backend::{ChatMessage, ContextWindow, Overflow};

/// The window assumed when neither the user nor the backend says: small enough for most
/// servers run with their defaults (Ollama, llama.cpp's older default, many hosted models).
pub const DEFAULT_WINDOW: usize = 4096;
/// Tokens a request needs for one minimal section (about 150 words) to be worth sending.
pub const MIN_GENERATION_TOKENS: usize = 240;
/// The estimate's factor before any calibration: generous, as a guess must not overflow.
const UNCALIBRATED: f64 = 1.3;
/// Margin over a calibrated estimate.
const CALIBRATED_MARGIN: f64 = 1.06;
/// Tokens counted per message for the chat template's role markers in an estimate.
const TOKENS_PER_MESSAGE: usize = 8;

/// A window and what the writer has learned about measuring requests against it.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// Tokens prompt and generation share.
    pub window: usize,
    /// Where the window came from, for messages.
    pub source: String,
    /// Reported prompt tokens per raw estimated token: the largest seen, when any.
    ratio: Option<f64>,
}

impl Budget {
    /// A budget over `window`.
    pub fn new(window: ContextWindow) -> Self {
        Self {
            window: window.tokens,
            source: window.source,
            ratio: None,
        }
    }

    /// The prompt tokens of `messages` as estimated (no backend count): raw, times the
    /// calibrated ratio and a margin, or a generous factor before calibration.
    pub fn estimate(&self, messages: &[ChatMessage]) -> usize {
        let raw = raw_estimate(messages) as f64;
        let factor = self.ratio.map_or(UNCALIBRATED, |r| r * CALIBRATED_MARGIN);
        (raw * factor).ceil() as usize
    }

    /// Learns from a server's `usage.prompt_tokens` for `messages`. Ratios are kept within
    /// 0.8..3 so a server that reports nonsense cannot make the estimate reckless.
    pub fn calibrate(&mut self, messages: &[ChatMessage], reported: u64) {
        let raw = raw_estimate(messages);
        if raw < 64 || reported == 0 {
            return;
        }
        let seen = (reported as f64 / raw as f64).clamp(0.8, 3.0);
        self.ratio = Some(self.ratio.map_or(seen, |r| r.max(seen)));
    }

    /// After a refusal for length of a request measured at `measured` tokens with
    /// `max_tokens`: takes the window the server named, else shrinks it by a tenth; and when
    /// the server counted the prompt, raises the ratio so the estimate would have matched.
    pub fn shrink(&mut self, overflow: Overflow, messages: &[ChatMessage], measured: usize) {
        let named = overflow.window.filter(|w| *w < self.window);
        self.window = named.unwrap_or(self.window * 9 / 10);
        self.source = format!(
            "{} (shrunk after the server refused a request)",
            self.source
        );
        if let Some(counted) = overflow.prompt_tokens.filter(|c| *c > measured) {
            self.calibrate(messages, counted as u64);
        }
    }

    /// Whether a prompt of `prompt` tokens leaves room for `max_tokens`.
    pub fn fits(&self, prompt: usize, max_tokens: u32) -> bool {
        prompt + max_tokens as usize <= self.window
    }

    /// Tokens left for generation after a prompt of `prompt` tokens.
    pub fn room(&self, prompt: usize) -> usize {
        self.window.saturating_sub(prompt)
    }
}

/// A plain guess at the tokens of `messages`: a token per four ASCII characters, one per
/// other character (CJK text is about one token per character), and the role markers.
pub fn raw_estimate(messages: &[ChatMessage]) -> usize {
    let text: usize = messages
        .iter()
        .map(|m| {
            let ascii = m.content.bytes().filter(u8::is_ascii).count();
            let other = m.content.chars().filter(|c| !c.is_ascii()).count();
            ascii.div_ceil(4) + other
        })
        .sum();
    text + TOKENS_PER_MESSAGE * (messages.len() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(window: usize) -> Budget {
        Budget::new(ContextWindow::new(window, "test"))
    }

    #[test]
    fn estimates_are_generous_until_calibrated() {
        let messages = vec![ChatMessage::user("word ".repeat(400))];
        let mut b = budget(8192);
        let raw = raw_estimate(&messages);
        assert_eq!(raw, 500 + 16);
        assert!(b.estimate(&messages) > raw);
        b.calibrate(&messages, 600);
        let calibrated = b.estimate(&messages);
        assert!((600..=650).contains(&calibrated), "{calibrated}");
        b.calibrate(&messages, 10);
        assert_eq!(b.estimate(&messages), calibrated, "the largest ratio stays");
    }

    #[test]
    fn a_refusal_shrinks_the_window() {
        let messages = vec![ChatMessage::user("x".repeat(4000))];
        let mut b = budget(8192);
        b.shrink(Overflow::default(), &messages, 1000);
        assert_eq!(b.window, 7372);
        b.shrink(
            Overflow {
                window: Some(4096),
                prompt_tokens: Some(3000),
            },
            &messages,
            1300,
        );
        assert_eq!(b.window, 4096);
        assert!(b.estimate(&messages) >= 3000);
        assert!(b.fits(3000, 1096) && !b.fits(3000, 1097));
        assert_eq!(b.room(5000), 0);
    }
}
