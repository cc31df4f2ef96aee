//! The vocabulary as llama.cpp's `llama_vocab::impl::load` builds it from the
//! `tokenizer.ggml.*` keys: token texts, scores and attributes, special ids and
//! the add-BOS/EOS/space-prefix flags, including llama.cpp's fix-ups (control
//! attribute forced on end-of-generation and FIM tokens by name).

use super::{TokenizerError, TokenizerModel};
use crate::engine::gguf::{GgufFile, Value};
use std::collections::HashMap;

/// Token attribute bits, numbered as llama.cpp's `llama_token_attr`.
pub(super) mod attr {
    pub const UNKNOWN: u32 = 1 << 0;
    pub const UNUSED: u32 = 1 << 1;
    pub const NORMAL: u32 = 1 << 2;
    pub const CONTROL: u32 = 1 << 3;
    pub const USER_DEFINED: u32 = 1 << 4;
    pub const BYTE: u32 = 1 << 5;
}

/// Token texts llama.cpp marks as control tokens whatever the file says
/// (end-of-generation and fill-in-the-middle markers, found by name).
const FORCED_CONTROL: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
    "<|fim_pad|>",
    "<fim-pad>",
    "<fim_pad>",
    "<PAD>",
    "[PAD]",
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
    "<|file_sep|>",
];

/// One vocabulary entry.
#[derive(Debug, Clone)]
pub(super) struct TokenData {
    pub text: String,
    pub score: f32,
    pub attr: u32,
}

/// Vocabulary plus the flags that steer encoding.
#[derive(Debug, Clone)]
pub(super) struct Vocab {
    pub tokens: Vec<TokenData>,
    pub token_to_id: HashMap<String, u32>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub unk: Option<u32>,
    pub add_bos: bool,
    pub add_eos: bool,
    pub add_space_prefix: bool,
}

impl Vocab {
    /// Reads the vocabulary for `model` from `gguf`.
    pub fn load(gguf: &GgufFile, model: &TokenizerModel) -> Result<Vocab, TokenizerError> {
        let texts = string_array(gguf, "tokenizer.ggml.tokens")?;
        let n = texts.len();
        let scores = number_array(gguf, "tokenizer.ggml.scores", n)?;
        let types = number_array(gguf, "tokenizer.ggml.token_type", n)?;
        let mut tokens = Vec::with_capacity(n);
        let mut token_to_id = HashMap::with_capacity(n);
        for (i, text) in texts.into_iter().enumerate() {
            let id = i as u32;
            let text = if text.is_empty() {
                format!("[EMPTY_{i}]")
            } else {
                text
            };
            if let Some(first) = token_to_id.insert(text.clone(), id) {
                return Err(TokenizerError::DuplicateToken {
                    text,
                    first,
                    second: id,
                });
            }
            let score = scores.as_ref().map_or(0.0, |s| s[i] as f32);
            let attr = types
                .as_ref()
                .map_or(attr::NORMAL, |t| attr_from_type(t[i]));
            tokens.push(TokenData { text, score, attr });
        }
        for name in FORCED_CONTROL {
            if let Some(&id) = token_to_id.get(*name) {
                tokens[id as usize].attr |= attr::CONTROL;
            }
        }
        for name in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let Some(&id) = token_to_id.get(name) {
                tokens[id as usize].attr = attr::USER_DEFINED;
            }
        }
        let mut vocab = Vocab {
            tokens,
            token_to_id,
            bos: None,
            eos: None,
            unk: None,
            add_bos: false,
            add_eos: false,
            add_space_prefix: false,
        };
        vocab.load_flags(gguf, model);
        Ok(vocab)
    }

    /// Special ids and add-flags: llama.cpp's per-model defaults, then the file's keys.
    fn load_flags(&mut self, gguf: &GgufFile, model: &TokenizerModel) {
        let (bos, eos, unk) = match model {
            TokenizerModel::Spm => (Some(1), Some(2), Some(0)),
            TokenizerModel::Bpe(pre) if pre.is_glm() => (None, Some(11), None),
            TokenizerModel::Bpe(_) => (Some(11), Some(11), None),
        };
        let n = self.tokens.len() as u32;
        let pick = |key: &str, default: Option<u32>| {
            let default = default.filter(|&id| id < n);
            match gguf.get_u32(key) {
                Some(id) if id < n => Some(id),
                _ => default,
            }
        };
        self.bos = pick("tokenizer.ggml.bos_token_id", bos);
        self.eos = pick("tokenizer.ggml.eos_token_id", eos);
        self.unk = pick("tokenizer.ggml.unknown_token_id", unk);
        let (add_bos, space) = match model {
            TokenizerModel::Spm => (true, true),
            TokenizerModel::Bpe(pre) => (pre.adds_bos_by_default(), false),
        };
        self.add_space_prefix = gguf
            .get_bool("tokenizer.ggml.add_space_prefix")
            .unwrap_or(space);
        self.add_bos = gguf
            .get_bool("tokenizer.ggml.add_bos_token")
            .unwrap_or(add_bos);
        self.add_eos = gguf
            .get_bool("tokenizer.ggml.add_eos_token")
            .unwrap_or(false);
        // llama.cpp refuses such files; we simply add nothing.
        self.add_bos &= self.bos.is_some();
        self.add_eos &= self.eos.is_some();
    }

    /// The id of the token whose text is exactly `text`.
    pub fn id(&self, text: &str) -> Option<u32> {
        self.token_to_id.get(text).copied()
    }

    /// Whether token `id` has any of the attribute bits in `mask`.
    pub fn has_attr(&self, id: u32, mask: u32) -> bool {
        self.tokens
            .get(id as usize)
            .is_some_and(|t| t.attr & mask != 0)
    }
}

/// Maps a GGUF `token_type` to llama.cpp's attribute bits.
fn attr_from_type(token_type: f64) -> u32 {
    match token_type as i64 {
        1 => attr::NORMAL,
        2 => attr::UNKNOWN,
        3 => attr::CONTROL,
        4 => attr::USER_DEFINED,
        5 => attr::UNUSED,
        6 => attr::BYTE,
        _ => 0,
    }
}

/// The string array under `key` (required).
pub(super) fn string_array(
    gguf: &GgufFile,
    key: &'static str,
) -> Result<Vec<String>, TokenizerError> {
    let (_, items) = gguf.get_array(key).ok_or(TokenizerError::MissingKey(key))?;
    items
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or(TokenizerError::WrongType {
            key,
            expected: "array of strings",
        })
}

/// The numeric array under `key` (optional), at least `n` long.
fn number_array(
    gguf: &GgufFile,
    key: &'static str,
    n: usize,
) -> Result<Option<Vec<f64>>, TokenizerError> {
    let Some(value) = gguf.metadata(key) else {
        return Ok(None);
    };
    let wrong = TokenizerError::WrongType {
        key,
        expected: "array of numbers",
    };
    let Value::Array(_, items) = value else {
        return Err(wrong);
    };
    let numbers = items
        .iter()
        .map(Value::as_f64)
        .collect::<Option<Vec<_>>>()
        .ok_or(wrong)?;
    if numbers.len() < n {
        return Err(TokenizerError::LengthMismatch {
            key,
            len: numbers.len(),
            n_tokens: n,
        });
    }
    Ok(Some(numbers))
}
