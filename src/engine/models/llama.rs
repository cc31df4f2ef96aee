//! The llama-style decoder on candle, for every GGUF architecture built from the same pre-norm
//! block: `llama` (Llama 2, 3, 3.1 and Mistral, which GGUF files label `llama`), `qwen2`,
//! `qwen3`, `glm4` (GLM-4-0414) and `chatglm` (GLM-4-9B, LongWriter-glm4-9b). What sets them
//! apart (RoPE pairing and width, Llama 3.1's `rope_freqs` factors, the block layout) is in
//! `llama_config`, read once at load; the block weights are in `block`. Like `gemma3`, it
//! prefills in chunks into a preallocated KV cache (`kv_cache`) and does grouped-query
//! attention by reshaping the queries.

use super::attention::{attend, Spec};
use super::batch::{last_rows, per_span, Span};
use super::block::{BlockDims, BlockWeights, Linear};
use super::kv_cache::Caches;
use super::llama_config::{Family, LlamaConfig};
use super::matrix::Embedding;
use super::ops::{rms_norm, Rotary};
use super::weights::Loader;
use super::{ModelError, Stack};
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use std::io::{Read, Seek};

/// A loaded llama-style model with its KV cache.
pub struct Llama {
    config: LlamaConfig,
    embedding: Embedding,
    output: Linear,
    output_norm: Tensor,
    blocks: Vec<BlockWeights>,
    rope: Rotary,
    caches: Caches,
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
        let (embedding, output) = embedding_and_output(&mut ld, config.hidden)?;
        ld.check_shape("output_norm.weight", &[config.hidden])?;
        let output_norm = ld.vector("output_norm.weight")?;
        let dims = BlockDims {
            hidden: config.hidden,
            head_dim: config.head_dim,
            q_width: config.heads * config.head_dim,
            kv_width: config.kv_heads * config.head_dim,
            ffn: config.ffn,
        };
        let blocks = (0..config.layers)
            .map(|i| BlockWeights::load(&mut ld, i, dims, family.layout()))
            .collect::<Result<Vec<_>, _>>()?;
        let rope = rope(&mut ld, &config, context, device)?;
        let caches = Caches::new(
            config.layers,
            config.kv_heads,
            context,
            config.head_dim,
            device,
        )?;
        Ok(Self {
            config,
            embedding,
            output,
            output_norm,
            blocks,
            rope,
            caches,
            device: device.clone(),
        })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// The stacked rows of `spans` through every block; the logits of each span's last row.
    fn run_spans(&mut self, ids: &[u32], spans: &[Span]) -> Result<Tensor, ModelError> {
        let mut x = self.embedding.forward(ids, &self.device)?;
        for i in 0..self.blocks.len() {
            x = self.block_forward(i, &x, spans)?;
        }
        let x = rms_norm(&last_rows(&x, spans)?, &self.output_norm, self.config.eps)?;
        Ok(self.output.forward(&x)?)
    }

    fn block_forward(
        &mut self,
        i: usize,
        x: &Tensor,
        spans: &[Span],
    ) -> Result<Tensor, ModelError> {
        let eps = self.config.eps;
        let h = rms_norm(x, &self.blocks[i].attn_norm, eps)?;
        let h = self.attention(i, &h, spans)?;
        let w = &self.blocks[i];
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

    /// The projections on all rows at once; rotation, the cache and attention per span.
    fn attention(&mut self, i: usize, x: &Tensor, spans: &[Span]) -> Result<Tensor, ModelError> {
        let c = &self.config;
        let (heads, kv_heads, hd) = (c.heads, c.kv_heads, c.head_dim);
        let (eps, style) = (c.eps, c.family.rope_style());
        let w = &self.blocks[i];
        let (q_all, k_all, v_all) = w.qkv.forward(x, heads * hd, kv_heads * hd)?;
        let (rope, caches) = (&self.rope, &mut self.caches);
        let out = per_span(spans, |s| {
            let rows = |t: &Tensor, h: usize| t.narrow(0, s.row, s.len)?.reshape((s.len, h, hd));
            let mut q = rows(&q_all, heads)?;
            let mut k = rows(&k_all, kv_heads)?;
            let v = rows(&v_all, kv_heads)?;
            if let (Some(qn), Some(kn)) = (&w.q_norm, &w.k_norm) {
                q = rms_norm(&q, qn, eps)?;
                k = rms_norm(&k, kn, eps)?;
            }
            let q = rope.apply_style(&q, s.pos, style)?;
            let k = rope.apply_style(&k, s.pos, style)?;
            let cache = caches.layer_mut(s.slot, i);
            cache.append(&k.transpose(0, 1)?, &v.transpose(0, 1)?)?;
            // llama.cpp scales the scores in the softmax, after the f16 key product.
            let spec = Spec {
                pos: s.pos,
                window: None,
                scale: 1.0 / (hd as f32).sqrt(),
                softcap: None,
            };
            Ok(attend(&q, cache, spec)?)
        })?;
        Ok(w.wo.forward(&out)?)
    }
}

/// The token embedding and the output matrix: `output.weight` (with `output.bias` when
/// present), else the embedding itself (tied).
fn embedding_and_output<R: Read + Seek>(
    ld: &mut Loader<'_, R>,
    hidden: usize,
) -> Result<(Embedding, Linear), ModelError> {
    let embedding = ld.embedding("token_embd.weight")?;
    let vocab = match embedding.dims() {
        (vocab, width) if width == hidden => vocab,
        dims => {
            return Err(ModelError::Tensor {
                name: "token_embd.weight".into(),
                reason: format!("has shape {dims:?}, expected [vocab, {hidden}]"),
            })
        }
    };
    let output = if ld.has("output.weight") {
        Linear::load(ld, "output", vocab, hidden)?
    } else {
        Linear::from_matmul(embedding.as_matrix()?, None)
    };
    Ok((embedding, output))
}

/// The rotary tables for `context` positions, with Llama 3.1's `rope_freqs.weight` factors
/// when a `llama` file has them (llama.cpp reads them for no other family here).
fn rope<R: Read + Seek>(
    ld: &mut Loader<'_, R>,
    config: &LlamaConfig,
    context: usize,
    device: &Device,
) -> Result<Rotary, ModelError> {
    let factors = if config.family == Family::Llama && ld.has("rope_freqs.weight") {
        ld.check_shape("rope_freqs.weight", &[config.rotary_dims / 2])?;
        Some(ld.vector("rope_freqs.weight")?.to_vec1::<f32>()?)
    } else {
        None
    };
    Ok(Rotary::with_factors(
        config.rotary_dims,
        config.rope_base,
        config.rope_scale,
        factors.as_deref(),
        context,
        device,
    )?)
}

impl Stack for Llama {
    fn caches(&self) -> &Caches {
        &self.caches
    }

    fn caches_mut(&mut self) -> &mut Caches {
        &mut self.caches
    }

    fn forward_spans(&mut self, ids: &[u32], spans: &[Span]) -> Result<Tensor, ModelError> {
        self.run_spans(ids, spans)
    }
}
