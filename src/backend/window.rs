//! What a backend knows of its context window, and how servers say a request was too long.
//!
//! Pure: the window a backend learned (from the engine's model, llama.cpp's `/props`, vLLM's
//! `/v1/models`) travels as a `ContextWindow`; a refusal for length is recognised from the
//! status and the words of the error (vLLM and OpenAI: "maximum context length", llama.cpp:
//! "exceeds the available context size", Ollama: "prompt too long", our engine: "the context
//! holds"), with the numbers the message gives where it gives them.

use super::BackendError;
use serde::{Deserialize, Serialize};

/// A context window in tokens and where the number came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextWindow {
    /// Tokens the prompt and the generated text share.
    pub tokens: usize,
    /// Where it was learned, for messages: "llama.cpp /props n_ctx", "--context", ….
    pub source: String,
}

impl ContextWindow {
    /// A window of `tokens` learned from `source`.
    pub fn new(tokens: usize, source: impl Into<String>) -> Self {
        Self {
            tokens,
            source: source.into(),
        }
    }
}

/// A server's refusal of a request for its length, with what it said of the sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overflow {
    /// The window the server named, if it did.
    pub window: Option<usize>,
    /// The prompt tokens it counted, if it said.
    pub prompt_tokens: Option<usize>,
}

/// Phrases by which servers refuse a request that does not fit their context.
const OVERFLOW_PHRASES: &[&str] = &[
    "maximum context length",
    "context length",
    "exceeds the available context",
    "context size",
    "context window",
    "context holds",
    "prompt too long",
    "prompt is too long",
    "too many tokens",
    "exceed_context_size",
];

impl BackendError {
    /// The refusal of a request for its length (HTTP 400/413/422 or our engine's refusal whose
    /// words say so), with the numbers found in the message.
    pub fn overflow(&self) -> Option<Overflow> {
        let message = match self {
            Self::Status {
                status: 400 | 413 | 422,
                message,
                ..
            }
            | Self::Invalid(message)
            | Self::InStream(message) => message,
            _ => return None,
        };
        let lower = message.to_lowercase();
        if !OVERFLOW_PHRASES.iter().any(|p| lower.contains(p)) {
            return None;
        }
        Some(Overflow {
            window: number_after(
                &lower,
                &[
                    "maximum context length is",
                    "n_ctx=",
                    "context holds",
                    "n_ctx\":",
                ],
            ),
            prompt_tokens: number_after(
                &lower,
                &[
                    "the prompt is",
                    "n_prompt_tokens=",
                    "tokens (",
                    "input tokens",
                ],
            ),
        })
    }
}

/// The first number after any of `cues` in `text`.
fn number_after(text: &str, cues: &[&str]) -> Option<usize> {
    cues.iter().find_map(|cue| {
        let at = text.find(cue)? + cue.len();
        let digits: String = text[at..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .filter(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(message: &str) -> BackendError {
        BackendError::Status {
            status: 400,
            message: message.into(),
            retry_after: None,
        }
    }

    #[test]
    fn vllm_and_openai_refusals_give_their_numbers() {
        let e = status(
            "This model's maximum context length is 8192 tokens. However, you requested 9000 \
             tokens (7000 in the messages, 2000 in the completion).",
        );
        assert_eq!(
            e.overflow(),
            Some(Overflow {
                window: Some(8192),
                prompt_tokens: Some(7000)
            })
        );
    }

    #[test]
    fn llama_cpp_ollama_and_engine_refusals_are_recognised() {
        let llama = status("the request exceeds the available context size, try increasing it (n_prompt_tokens=9001, n_ctx=8192)");
        assert_eq!(llama.overflow().and_then(|o| o.window), Some(8192));
        assert_eq!(llama.overflow().and_then(|o| o.prompt_tokens), Some(9001));
        assert!(
            status("prompt too long; exceeded max context length by 12 tokens")
                .overflow()
                .is_some()
        );
        let engine = BackendError::Invalid(
            "the prompt is 8254 tokens and the context holds 8192 (…)".into(),
        );
        assert_eq!(
            engine.overflow(),
            Some(Overflow {
                window: Some(8192),
                prompt_tokens: Some(8254)
            })
        );
    }

    #[test]
    fn other_errors_are_not_overflows() {
        assert_eq!(status("model not found").overflow(), None);
        let busy = BackendError::Status {
            status: 503,
            message: "maximum context length".into(),
            retry_after: None,
        };
        assert_eq!(busy.overflow(), None);
    }
}
