//! Text <-> token ids for GGUF models, matching llama.cpp token for token.
//! `Tokenizer::from_gguf` reads the `tokenizer.ggml.*` metadata and picks the
//! SentencePiece-style model (`llama`: Gemma, Llama 2) or byte-level BPE
//! (`gpt2`: Llama 3, Qwen 2/3, GLM-4). Special tokens in the text are split out
//! first (`special`), the rest goes to `spm` or `bpe`; `stream` turns generated
//! tokens back into whole characters. Pure: no I/O beyond the parsed file.

mod bpe;
mod pretokenize;
mod special;
mod spm;
mod stream;
mod unicode_tables;
mod vocab;

pub use pretokenize::PreTokenizer;
pub use stream::TokenOutputStream;

use crate::engine::gguf::GgufFile;
use special::{Fragment, SpecialMatcher};
use vocab::{attr, Vocab};

/// Why a tokenizer could not be built from a GGUF file.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// The file has no tokenizer (e.g. a bare weights file).
    #[error("the GGUF file has no tokenizer metadata (missing key {0})")]
    MissingKey(&'static str),
    /// `tokenizer.ggml.model` names a model we do not implement.
    #[error("unsupported tokenizer model {0:?} (supported: \"llama\", \"gpt2\")")]
    UnknownModel(String),
    /// `tokenizer.ggml.pre` names a pre-tokenizer we do not implement.
    #[error("unsupported BPE pre-tokenizer {0:?} (supported: llama-bpe/llama3, qwen2, glm4, chatglm-bpe, dbrx, gpt-2, default)")]
    UnknownPreTokenizer(String),
    /// A key holds the wrong kind of value.
    #[error("tokenizer metadata key {key} should be an {expected}")]
    WrongType {
        /// The key.
        key: &'static str,
        /// What it should hold.
        expected: &'static str,
    },
    /// A per-token array is shorter than the token list.
    #[error("tokenizer metadata key {key} has {len} entries for {n_tokens} tokens")]
    LengthMismatch {
        /// The key.
        key: &'static str,
        /// Its length.
        len: usize,
        /// The vocabulary size.
        n_tokens: usize,
    },
    /// Two tokens have the same text.
    #[error("duplicate token {text:?} in vocabulary (ids {first} and {second})")]
    DuplicateToken {
        /// The text.
        text: String,
        /// The first id.
        first: u32,
        /// The second id.
        second: u32,
    },
}

/// Which tokenization algorithm the file asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerModel {
    /// `llama`: SentencePiece-style score merges with byte fallback.
    Spm,
    /// `gpt2`: byte-level BPE with ranked merges.
    Bpe(PreTokenizer),
}

#[derive(Debug, Clone)]
enum Engine {
    Spm,
    Bpe(Box<bpe::Bpe>),
}

/// A tokenizer built from GGUF metadata.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    model: TokenizerModel,
    vocab: Vocab,
    engine: Engine,
    specials: SpecialMatcher,
    /// Per token: its bytes when rendered with special tokens shown.
    pieces: Vec<Vec<u8>>,
}

impl Tokenizer {
    /// Builds the tokenizer from `tokenizer.ggml.*` keys.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Tokenizer, TokenizerError> {
        let name = gguf
            .get_str("tokenizer.ggml.model")
            .ok_or(TokenizerError::MissingKey("tokenizer.ggml.model"))?;
        let model = match name {
            "llama" => TokenizerModel::Spm,
            "gpt2" => {
                let pre = gguf.get_str("tokenizer.ggml.pre").unwrap_or("default");
                TokenizerModel::Bpe(
                    PreTokenizer::from_name(pre)
                        .ok_or_else(|| TokenizerError::UnknownPreTokenizer(pre.to_owned()))?,
                )
            }
            other => return Err(TokenizerError::UnknownModel(other.to_owned())),
        };
        let vocab = Vocab::load(gguf, &model)?;
        let engine = match model {
            TokenizerModel::Spm => Engine::Spm,
            TokenizerModel::Bpe(pre) => {
                let merges = vocab::string_array(gguf, "tokenizer.ggml.merges")?;
                Engine::Bpe(Box::new(bpe::Bpe::new(pre, merges)))
            }
        };
        let specials = SpecialMatcher::new(&vocab);
        let mut tokenizer = Tokenizer {
            model,
            vocab,
            engine,
            specials,
            pieces: Vec::new(),
        };
        tokenizer.pieces = (0..tokenizer.vocab.tokens.len() as u32)
            .map(|id| tokenizer.render(id))
            .collect();
        Ok(tokenizer)
    }

    /// The algorithm in use.
    pub fn model(&self) -> TokenizerModel {
        self.model
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.vocab.tokens.len()
    }

    /// The beginning-of-sequence token, if the vocabulary has one.
    pub fn bos_id(&self) -> Option<u32> {
        self.vocab.bos
    }

    /// The end-of-sequence token, if the vocabulary has one.
    pub fn eos_id(&self) -> Option<u32> {
        self.vocab.eos
    }

    /// The id of the token whose vocabulary text is exactly `text`.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.id(text)
    }

    /// The vocabulary text of token `id` (as stored: `▁` for spaces, byte characters for BPE).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.tokens.get(id as usize).map(|t| t.text.as_str())
    }

    /// Whether `id` is a control token (e.g. `<start_of_turn>`, `<eos>`).
    pub fn is_control(&self, id: u32) -> bool {
        self.vocab.has_attr(id, attr::CONTROL)
    }

    /// Tokenizes like llama-server's `/tokenize` and chat prompts: special
    /// token texts such as `<start_of_turn>` become single tokens. With
    /// `add_special`, BOS/EOS are added as the model's metadata asks.
    pub fn encode(&self, text: &str, add_special: bool) -> Vec<u32> {
        self.encode_with(text, add_special, true)
    }

    /// `encode` with control-token parsing chosen by `parse_special`
    /// (false: `<start_of_turn>` is tokenized as ordinary text).
    pub fn encode_with(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if add_special && self.vocab.add_bos {
            out.extend(self.vocab.bos);
        }
        let mut prev_special = true;
        for fragment in self.specials.partition(&self.vocab, text, parse_special) {
            match fragment {
                Fragment::Token(id) => {
                    out.push(id);
                    prev_special = true;
                }
                Fragment::Text(start, end) => {
                    self.encode_text(&text[start..end], prev_special, &mut out);
                    prev_special = false;
                }
            }
        }
        if add_special && self.vocab.add_eos {
            out.extend(self.vocab.eos);
        }
        out
    }

    fn encode_text(&self, text: &str, prev_special: bool, out: &mut Vec<u32>) {
        match &self.engine {
            Engine::Spm => {
                let prefix = if self.vocab.add_space_prefix && prev_special {
                    " "
                } else {
                    ""
                };
                let escaped = format!("{prefix}{text}").replace(' ', "\u{2581}");
                spm::tokenize(&self.vocab, &escaped, out);
            }
            Engine::Bpe(bpe) => bpe.tokenize(&self.vocab, text, out),
        }
    }

    /// The bytes token `id` stands for; empty for control/unknown tokens when
    /// `skip_special`, and for ids outside the vocabulary.
    pub fn token_bytes(&self, id: u32, skip_special: bool) -> &[u8] {
        if skip_special && self.vocab.has_attr(id, attr::CONTROL | attr::UNKNOWN) {
            return &[];
        }
        self.pieces.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// Concatenates the tokens' bytes (invalid UTF-8 becomes U+FFFD). No
    /// space clean-up is applied, so `decode(encode(x), false) == x`.
    pub fn decode(&self, tokens: &[u32], skip_special: bool) -> String {
        let mut bytes = Vec::with_capacity(tokens.len() * 4);
        for (i, &id) in tokens.iter().enumerate() {
            let piece = self.token_bytes(id, skip_special);
            // SPM with a space prefix: the first piece's added space is not text.
            let strip = i == 0 && self.vocab.add_space_prefix && piece.first() == Some(&b' ');
            bytes.extend_from_slice(if strip { &piece[1..] } else { piece });
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// llama.cpp's `token_to_piece(special = true)` for one token.
    fn render(&self, id: u32) -> Vec<u8> {
        let Some(token) = self.vocab.tokens.get(id as usize) else {
            return Vec::new();
        };
        let text = token.text.as_str();
        if token.attr & (attr::CONTROL | attr::UNKNOWN | attr::USER_DEFINED) != 0 {
            return text.as_bytes().to_vec();
        }
        if token.attr & attr::NORMAL != 0 {
            return match &self.engine {
                Engine::Spm => text.replace('\u{2581}', " ").into_bytes(),
                Engine::Bpe(bpe) => {
                    let mut out = Vec::with_capacity(text.len());
                    bpe.decode_text(text, &mut out);
                    out
                }
            };
        }
        if token.attr & attr::BYTE != 0 {
            let hex = text.get(3..5).and_then(|h| u8::from_str_radix(h, 16).ok());
            return hex.map(|b| vec![b]).unwrap_or_default();
        }
        Vec::new()
    }
}
