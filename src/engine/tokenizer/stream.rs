//! Incremental detokenization for streaming generation: tokens arrive one at
//! a time, but a token may carry only part of a UTF-8 character (byte-fallback
//! tokens, or BPE tokens that split a multi-byte character). The stream keeps
//! the incomplete tail and emits only whole characters, so that the text it
//! emits, concatenated, equals `Tokenizer::decode` of all tokens. Plays the
//! role of candle's `TokenOutputStream`, but works on bytes, not re-decoding.

use super::Tokenizer;

/// Turns a token stream into text chunks that are always whole characters.
#[derive(Debug, Clone)]
pub struct TokenOutputStream<'t> {
    tokenizer: &'t Tokenizer,
    skip_special: bool,
    pending: Vec<u8>,
}

impl<'t> TokenOutputStream<'t> {
    /// A stream over `tokenizer`; control tokens are dropped when `skip_special`.
    pub fn new(tokenizer: &'t Tokenizer, skip_special: bool) -> Self {
        TokenOutputStream {
            tokenizer,
            skip_special,
            pending: Vec::new(),
        }
    }

    /// Adds one token; returns the newly completed text, if any.
    pub fn push(&mut self, token: u32) -> Option<String> {
        self.pending
            .extend_from_slice(self.tokenizer.token_bytes(token, self.skip_special));
        let mut text = String::new();
        let mut consumed = 0;
        loop {
            match std::str::from_utf8(&self.pending[consumed..]) {
                Ok(valid) => {
                    text.push_str(valid);
                    consumed = self.pending.len();
                    break;
                }
                Err(e) => {
                    let valid_end = consumed + e.valid_up_to();
                    // The prefix up to valid_up_to() was just validated as UTF-8.
                    text.push_str(&String::from_utf8_lossy(&self.pending[consumed..valid_end]));
                    consumed = valid_end;
                    match e.error_len() {
                        // Invalid bytes: replaced as `from_utf8_lossy` would.
                        Some(n) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            consumed += n;
                        }
                        // An incomplete character at the end: wait for more bytes.
                        None => break,
                    }
                }
            }
        }
        self.pending.drain(..consumed);
        (!text.is_empty()).then_some(text)
    }

    /// Ends the stream: returns whatever is left (an incomplete character becomes U+FFFD).
    pub fn flush(&mut self) -> Option<String> {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        (!rest.is_empty()).then_some(rest)
    }
}
