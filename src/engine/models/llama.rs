//! The llama-style decoder on candle, for every GGUF architecture built from the same pre-norm
//! block: `llama` (Llama 2, 3, 3.1 and Mistral, which GGUF files label `llama`), `qwen2`,
//! `qwen3`, `glm4` (GLM-4-0414) and `chatglm` (GLM-4-9B, LongWriter-glm4-9b). A `Family`
//! says what sets each apart, following llama.cpp's graph for it: the RoPE pairing (adjacent
//! for llama and the GLMs, NEOX halves for Qwen), partial rotary (`rope.dimension_count`),
//! Llama 3.1's `rope_freqs` factors, and the block layout (`block`). Like `gemma3`, it
//! prefills in chunks into a preallocated KV cache (`kv_cache`) and does grouped-query
//! attention by reshaping the queries.

use super::block::{BlockDims, BlockLayout, BlockWeights, Linear};
use super::kv_cache::KvCache;
use super::ops::{attention_mask, rms_norm, softmax_last, RopeStyle, Rotary};
use super::weights::{meta_f32, meta_usize, Loader};
use super::{Model, ModelError};
use candle_core::quantized::{gguf_file, QMatMul, QTensor};
use candle_core::{Device, Tensor, D};
use std::io::{Read, Seek};
use std::sync::Arc;

/// Tokens computed per forward pass during prefill.
const PREFILL_CHUNK: usize = 512;

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
    fn layout(self) -> BlockLayout {
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
        if rotary_dims > head_dim || rotary_dims % 2 != 0 {
            return Err(invalid(
                "rope.dimension_count",
                format!("{rotary_dims} rotated dimensions in heads of {head_dim}"),
            ));
        }
        if meta_usize(ct, &k("expert_count")).is_ok_and(|n| n > 0) {
            return Err(ModelError::UnsupportedFeature {
                feature: format!("a mixture-of-experts model ({arch}.expert_count)"),
            });
        }
        if let Some(gguf_file::Value::Array(sections)) =
            ct.metadata.get(&k("rope.dimension_sections"))
        {
            if sections.iter().any(|s| s.to_u32().is_ok_and(|v| v > 0)) {
                return Err(ModelError::UnsupportedFeature {
                    feature: format!("multimodal RoPE ({arch}.rope.dimension_sections)"),
                });
            }
        }
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

struct Block {
    weights: BlockWeights,
    cache: KvCache,
}

/// A loaded llama-style model with its KV cache.
pub struct Llama {
    config: LlamaConfig,
    embedding: Arc<QTensor>,
    output: Linear,
    output_norm: Tensor,
    blocks: Vec<Block>,
    rope: Rotary,
    context: usize,
    prefill_chunk: usize,
    device: Device,
}

impl Llama {
    /// Builds the model of `family` from a parsed GGUF header and its file, with a KV cache
    /// for `context` positions (at most the trained context).
    pub fn from_gguf<R: Read + Seek>(
        ct: &gguf_file::Content,
        reader: &mut R,
        family: Family,
        context: usize,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let config = LlamaConfig::from_gguf(ct, family)?;
        let context = context.clamp(1, config.trained_context.max(1));
        let mut ld = Loader::new(ct, reader, device);
        let embedding = Arc::new(ld.qtensor("token_embd.weight")?);
        let vocab = match embedding.shape().dims() {
            [vocab, hidden] if *hidden == config.hidden => *vocab,
            dims => {
                return Err(ModelError::Tensor {
                    name: "token_embd.weight".into(),
                    reason: format!("has shape {dims:?}, expected (vocab, {})", config.hidden),
                })
            }
        };
        let output = if ld.has("output.weight") {
            Linear::load(&mut ld, "output", vocab, config.hidden)?
        } else {
            Linear::from_matmul(QMatMul::from_arc(embedding.clone())?, None)
        };
        ld.check_shape("output_norm.weight", &[config.hidden])?;
        let output_norm = ld.vector("output_norm.weight")?;
        let factors = if family == Family::Llama && ld.has("rope_freqs.weight") {
            ld.check_shape("rope_freqs.weight", &[config.rotary_dims / 2])?;
            Some(ld.vector("rope_freqs.weight")?.to_vec1::<f32>()?)
        } else {
            None
        };
        let dims = BlockDims {
            hidden: config.hidden,
            head_dim: config.head_dim,
            q_width: config.heads * config.head_dim,
            kv_width: config.kv_heads * config.head_dim,
            ffn: config.ffn,
        };
        let mut blocks = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            blocks.push(Block {
                weights: BlockWeights::load(&mut ld, i, dims, family.layout())?,
                cache: KvCache::new(config.kv_heads, context, config.head_dim, device)?,
            });
        }
        let rope = Rotary::with_factors(
            config.rotary_dims,
            config.rope_base,
            config.rope_scale,
            factors.as_deref(),
            context,
            device,
        )?;
        Ok(Self {
            config,
            embedding,
            output,
            output_norm,
            blocks,
            rope,
            context,
            prefill_chunk: PREFILL_CHUNK,
            device: device.clone(),
        })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// Sets how many tokens one prefill pass computes (at least 1).
    pub fn set_prefill_chunk(&mut self, tokens: usize) {
        self.prefill_chunk = tokens.max(1);
    }

    /// Positions the KV cache can hold.
    pub fn context(&self) -> usize {
        self.context
    }

    /// Positions currently in the KV cache.
    pub fn cached(&self) -> usize {
        self.blocks.first().map_or(0, |b| b.cache.len())
    }

    /// Forgets the cache from position `len` on, so the next tokens continue from there.
    pub fn truncate(&mut self, len: usize) {
        for block in &mut self.blocks {
            block.cache.truncate(len);
        }
    }

    /// Runs `ids` after the cached positions (in chunks) and returns the logits of the last
    /// one, shape `(vocab,)`.
    pub fn forward(&mut self, ids: &[u32]) -> Result<Tensor, ModelError> {
        let needed = self.cached() + ids.len();
        let full = ModelError::ContextFull {
            needed,
            context: self.context,
        };
        if needed > self.context || ids.is_empty() {
            return Err(full);
        }
        let mut last = None;
        for chunk in ids.chunks(self.prefill_chunk) {
            last = Some(self.forward_chunk(chunk)?);
        }
        last.ok_or(full)
    }

    fn forward_chunk(&mut self, ids: &[u32]) -> Result<Tensor, ModelError> {
        let pos = self.cached();
        let len = ids.len();
        let mut x = self.embedding.embedding(&Tensor::new(ids, &self.device)?)?;
        // One token sees every cached key: no mask needed.
        let mask = if len > 1 {
            Some(attention_mask(pos, len, 0, None, &self.device)?)
        } else {
            None
        };
        for i in 0..self.blocks.len() {
            x = self.block_forward(i, &x, pos, mask.as_ref())?;
        }
        let x = rms_norm(
            &x.narrow(0, len - 1, 1)?,
            &self.output_norm,
            self.config.eps,
        )?;
        Ok(self.output.forward(&x)?.squeeze(0)?)
    }

    fn block_forward(
        &mut self,
        i: usize,
        x: &Tensor,
        pos: usize,
        mask: Option<&Tensor>,
    ) -> Result<Tensor, ModelError> {
        let eps = self.config.eps;
        let h = rms_norm(x, &self.blocks[i].weights.attn_norm, eps)?;
        let h = self.attention(i, &h, pos, mask)?;
        let w = &self.blocks[i].weights;
        let h = match &w.post_attn_norm {
            Some(norm) => rms_norm(&h, norm, eps)?,
            None => h,
        };
        let x = (x + h)?;
        let h = w.ffn.forward(&rms_norm(&x, &w.ffn_norm, eps)?)?;
        let h = match &w.post_ffn_norm {
            Some(norm) => rms_norm(&h, norm, eps)?,
            None => h,
        };
        Ok((x + h)?)
    }

    fn attention(
        &mut self,
        i: usize,
        x: &Tensor,
        pos: usize,
        mask: Option<&Tensor>,
    ) -> Result<Tensor, ModelError> {
        let c = &self.config;
        let (heads, kv_heads, hd) = (c.heads, c.kv_heads, c.head_dim);
        let (eps, style) = (c.eps, c.family.rope_style());
        let len = x.dim(0)?;
        let block = &mut self.blocks[i];
        let w = &block.weights;
        let (q, k, v) = w.qkv.forward(x, heads * hd, kv_heads * hd)?;
        let mut q = q.reshape((len, heads, hd))?;
        let mut k = k.reshape((len, kv_heads, hd))?;
        let v = v.reshape((len, kv_heads, hd))?;
        if let (Some(qn), Some(kn)) = (&w.q_norm, &w.k_norm) {
            q = rms_norm(&q, qn, eps)?;
            k = rms_norm(&k, kn, eps)?;
        }
        let q = self.rope.apply_style(&q, pos, style)?;
        let k = self.rope.apply_style(&k, pos, style)?;
        let (k, v) = block
            .cache
            .append(&k.transpose(0, 1)?, &v.transpose(0, 1)?, 0)?;
        // Grouped-query attention: the `group` query heads of one kv head become rows.
        let group = heads / kv_heads;
        let scale = 1.0 / (hd as f64).sqrt();
        let q = (q.transpose(0, 1)?.contiguous()? * scale)?.reshape((kv_heads, group * len, hd))?;
        let mut scores = q.matmul(&k.t()?)?;
        if let Some(mask) = mask {
            let keys = scores.dim(D::Minus1)?;
            scores = scores
                .reshape((kv_heads, group, len, keys))?
                .broadcast_add(mask)?
                .reshape((kv_heads, group * len, keys))?;
        }
        let out = softmax_last(&scores)?.matmul(&v)?;
        let out = out
            .reshape((heads, len, hd))?
            .transpose(0, 1)?
            .reshape((len, heads * hd))?;
        Ok(block.weights.wo.forward(&out)?)
    }
}

impl Model for Llama {
    fn forward(&mut self, ids: &[u32]) -> Result<Tensor, ModelError> {
        Llama::forward(self, ids)
    }

    fn truncate(&mut self, len: usize) {
        Llama::truncate(self, len)
    }

    fn cached(&self) -> usize {
        Llama::cached(self)
    }

    fn context(&self) -> usize {
        Llama::context(self)
    }
}
