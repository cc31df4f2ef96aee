//! The hyper-parameters of the llama-style decoder (`llama`) and what sets its architectures
//! apart, following llama.cpp's graph for each: the RoPE pairing (adjacent for llama and the
//! GLMs, NEOX halves for Qwen, as in `llama_model_rope_type`), the block layout (`block`),
//! and the metadata defaults. Variants the decoder does not implement (mixtures of experts,
//! YaRN or LongRoPE scaling, multimodal RoPE) are refused here, by the key that announces them.

use super::block::BlockLayout;
use super::ops::RopeStyle;
use super::weights::{meta_f32, meta_usize};
use super::ModelError;
use candle_core::quantized::gguf_file;

/// The GGUF architectures this decoder runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `llama`: Llama 2/3/3.1, Mistral; adjacent-pair RoPE, optional `rope_freqs`.
    Llama,
    /// `qwen2`: q/k/v biases, NEOX RoPE.
    Qwen2,
    /// `qwen3`: per-head q/k norms, NEOX RoPE.
    Qwen3,
    /// `glm4`: post-attention and post-feed-forward norms, fused gate/up, partial
    /// adjacent-pair RoPE.
    Glm4,
    /// `chatglm`: GLM-4 without the post norms (GLM-4-9B and its LongWriter fine-tune).
    ChatGlm,
}

impl Family {
    /// The family of a `general.architecture` value, if this decoder runs it.
    pub fn from_architecture(arch: &str) -> Option<Self> {
        Some(match arch {
            "llama" => Self::Llama,
            "qwen2" => Self::Qwen2,
            "qwen3" => Self::Qwen3,
            "glm4" => Self::Glm4,
            "chatglm" => Self::ChatGlm,
            _ => return None,
        })
    }

    /// The `general.architecture` value, also the prefix of the family's metadata keys.
    pub fn architecture(self) -> &'static str {
        match self {
            Self::Llama => "llama",
            Self::Qwen2 => "qwen2",
            Self::Qwen3 => "qwen3",
            Self::Glm4 => "glm4",
            Self::ChatGlm => "chatglm",
        }
    }

    /// The RoPE pairing (llama.cpp's `llama_model_rope_type`).
    pub fn rope_style(self) -> RopeStyle {
        match self {
            Self::Llama | Self::Glm4 | Self::ChatGlm => RopeStyle::Adjacent,
            Self::Qwen2 | Self::Qwen3 => RopeStyle::Neox,
        }
    }

    /// The optional parts of the family's blocks.
    pub(super) fn layout(self) -> BlockLayout {
        BlockLayout {
            qk_norm: self == Self::Qwen3,
            post_norms: self == Self::Glm4,
            fused_gate_up: matches!(self, Self::Glm4 | Self::ChatGlm),
        }
    }
}

/// The hyper-parameters read from the GGUF metadata (`{arch}.*`).
#[derive(Debug, Clone)]
pub struct LlamaConfig {
    /// Which architecture.
    pub family: Family,
    /// Transformer blocks.
    pub layers: usize,
    /// Hidden width.
    pub hidden: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Inner width of the feed-forward.
    pub ffn: usize,
    /// Leading dimensions of each head that RoPE rotates (llama.cpp's `n_rot`).
    pub rotary_dims: usize,
    /// RMS norm epsilon.
    pub eps: f64,
    /// RoPE base.
    pub rope_base: f32,
    /// Linear RoPE scaling: positions are divided by this.
    pub rope_scale: f32,
    /// Positions the model was trained for.
    pub trained_context: usize,
}

impl LlamaConfig {
    /// Reads the family's keys, with llama.cpp's defaults where it has them, and refuses
    /// variants this decoder does not implement.
    pub fn from_gguf(ct: &gguf_file::Content, family: Family) -> Result<Self, ModelError> {
        let arch = family.architecture();
        let k = |s: &str| format!("{arch}.{s}");
        let invalid = |key: &str, reason: String| ModelError::InvalidMetadata {
            key: k(key),
            reason,
        };
        let hidden = meta_usize(ct, &k("embedding_length"))?;
        let heads = meta_usize(ct, &k("attention.head_count"))?;
        if heads == 0 {
            return Err(invalid("attention.head_count", "no attention heads".into()));
        }
        let kv_heads = meta_usize(ct, &k("attention.head_count_kv")).unwrap_or(heads);
        if kv_heads == 0 || heads % kv_heads != 0 {
            return Err(invalid(
                "attention.head_count_kv",
                format!("{kv_heads} key/value heads cannot serve {heads} query heads"),
            ));
        }
        let head_dim = meta_usize(ct, &k("attention.key_length")).unwrap_or(hidden / heads);
        if meta_usize(ct, &k("attention.value_length")).is_ok_and(|v| v != head_dim) {
            return Err(ModelError::UnsupportedFeature {
                feature: format!(
                    "value heads of another width than key heads ({arch}.attention.value_length)"
                ),
            });
        }
        let rotary_dims = meta_usize(ct, &k("rope.dimension_count")).unwrap_or(head_dim);
        if rotary_dims > head_dim || !rotary_dims.is_multiple_of(2) {
            return Err(invalid(
                "rope.dimension_count",
                format!("{rotary_dims} rotated dimensions in heads of {head_dim}"),
            ));
        }
        refuse_unsupported(ct, arch)?;
        let eps = meta_f32(ct, &k("attention.layer_norm_rms_epsilon"))
            .ok_or_else(|| ModelError::Metadata(k("attention.layer_norm_rms_epsilon")))?;
        Ok(Self {
            family,
            layers: meta_usize(ct, &k("block_count"))?,
            hidden,
            heads,
            kv_heads,
            head_dim,
            ffn: meta_usize(ct, &k("feed_forward_length"))?,
            rotary_dims,
            eps: eps as f64,
            rope_base: meta_f32(ct, &k("rope.freq_base")).unwrap_or(10_000.0),
            rope_scale: rope_scale(ct, arch)?,
            trained_context: meta_usize(ct, &k("context_length"))?,
        })
    }
}

/// Refuses variants of the family this decoder does not implement: mixtures of experts
/// (Mixtral files are `llama`) and multimodal RoPE (GLM-4.1V files are `glm4`).
fn refuse_unsupported(ct: &gguf_file::Content, arch: &str) -> Result<(), ModelError> {
    if meta_usize(ct, &format!("{arch}.expert_count")).is_ok_and(|n| n > 0) {
        return Err(ModelError::UnsupportedFeature {
            feature: format!("a mixture-of-experts model ({arch}.expert_count)"),
        });
    }
    let sections = format!("{arch}.rope.dimension_sections");
    if let Some(gguf_file::Value::Array(values)) = ct.metadata.get(&sections) {
        if values.iter().any(|s| s.to_u32().is_ok_and(|v| v > 0)) {
            return Err(ModelError::UnsupportedFeature {
                feature: format!("multimodal RoPE ({sections})"),
            });
        }
    }
    Ok(())
}

/// The linear RoPE scaling factor; other scaling types (YaRN, LongRoPE) are refused.
fn rope_scale(ct: &gguf_file::Content, arch: &str) -> Result<f32, ModelError> {
    let key = format!("{arch}.rope.scaling.type");
    let kind = match ct.metadata.get(&key) {
        None => "linear",
        Some(gguf_file::Value::String(s)) => s.as_str(),
        Some(_) => return Err(ModelError::Metadata(key)),
    };
    let factor = meta_f32(ct, &format!("{arch}.rope.scaling.factor"))
        .or_else(|| meta_f32(ct, &format!("{arch}.rope.scale_linear")))
        .filter(|f| *f > 0.0)
        .unwrap_or(1.0);
    match kind {
        "none" => Ok(1.0),
        "linear" => Ok(factor),
        other => Err(ModelError::UnsupportedFeature {
            feature: format!("RoPE scaling {other:?} ({key})"),
        }),
    }
}
