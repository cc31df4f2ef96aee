//! Gemma 3 on candle: quantized matmuls straight from the GGUF (Q5_0 and Q4_0 requantized to
//! Q8_0 at load, because candle's CPU kernels have SIMD paths for Q8_0 but not for Q5_0),
//! embedding scaled by sqrt(hidden), q/k norms, two RoPE bases (local layers vs global
//! layers), sliding-window attention in prefill and decode, grouped-query attention by
//! reshaping the queries (no repeated keys), a tied output matrix and optional soft-capping.

use super::attention::{attend, Spec};
use super::batch::{last_rows, per_span, Span};
use super::kv_cache::Caches;
use super::matrix::{Embedding, Matrix};
use super::ops::{gelu_mul, rms_norm, Rotary};
use super::weights::{meta_f32, meta_usize, Loader};
use super::{ModelError, Stack};
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use std::io::{Read, Seek};

/// The hyper-parameters read from the GGUF metadata.
#[derive(Debug, Clone)]
pub struct Gemma3Config {
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
    /// RMS norm epsilon.
    pub eps: f64,
    /// Sliding window of the local layers.
    pub window: usize,
    /// Every `pattern`-th layer is global, the others local.
    pub pattern: usize,
    /// RoPE base of the global layers.
    pub rope_global: f32,
    /// RoPE base of the local layers.
    pub rope_local: f32,
    /// Linear RoPE scaling of the global layers.
    pub rope_scale: f32,
    /// Positions the model was trained for.
    pub trained_context: usize,
    /// Soft cap on the final logits, if any.
    pub final_softcap: Option<f64>,
    /// Soft cap on attention scores, if any.
    pub attn_softcap: Option<f64>,
}

struct Layer {
    wq: Matrix,
    wk: Matrix,
    wv: Matrix,
    wo: Matrix,
    q_norm: Tensor,
    k_norm: Tensor,
    attn_norm: Tensor,
    post_attn_norm: Tensor,
    ffn_norm: Tensor,
    post_ffn_norm: Tensor,
    gate: Matrix,
    up: Matrix,
    down: Matrix,
    /// `Some(window)` on local layers.
    window: Option<usize>,
}

/// A loaded Gemma 3 model with its KV cache.
pub struct Gemma3 {
    config: Gemma3Config,
    embedding: Embedding,
    output: Matrix,
    output_norm: Tensor,
    layers: Vec<Layer>,
    rope_local: Rotary,
    rope_global: Rotary,
    caches: Caches,
    device: Device,
}

impl Gemma3Config {
    /// Reads the `gemma3.*` keys.
    pub fn from_gguf(ct: &gguf_file::Content) -> Result<Self, ModelError> {
        let k = |s: &str| format!("gemma3.{s}");
        let heads = meta_usize(ct, &k("attention.head_count"))?;
        Ok(Self {
            layers: meta_usize(ct, &k("block_count"))?,
            hidden: meta_usize(ct, &k("embedding_length"))?,
            heads,
            kv_heads: meta_usize(ct, &k("attention.head_count_kv"))?,
            head_dim: meta_usize(ct, &k("attention.key_length"))?,
            eps: meta_f32(ct, &k("attention.layer_norm_rms_epsilon")).unwrap_or(1e-6) as f64,
            window: meta_usize(ct, &k("attention.sliding_window")).unwrap_or(4096),
            pattern: meta_usize(ct, &k("attention.sliding_window_pattern")).unwrap_or(6),
            rope_global: meta_f32(ct, &k("rope.freq_base")).unwrap_or(1_000_000.0),
            rope_local: meta_f32(ct, &k("rope.local_freq_base")).unwrap_or(10_000.0),
            rope_scale: meta_f32(ct, &k("rope.scaling.factor")).unwrap_or(1.0),
            trained_context: meta_usize(ct, &k("context_length")).unwrap_or(32_768),
            final_softcap: meta_f32(ct, &k("final_logit_softcapping")).map(f64::from),
            attn_softcap: meta_f32(ct, &k("attn_logit_softcapping")).map(f64::from),
        })
    }

    /// Whether layer `i` uses the sliding window (llama.cpp: all but every `pattern`-th).
    pub fn is_local(&self, i: usize) -> bool {
        self.pattern > 0 && !(i + 1).is_multiple_of(self.pattern)
    }
}

impl Gemma3 {
    /// Builds the model from a parsed GGUF header and its file, with a KV cache for
    /// `context` positions (at most the trained context).
    pub fn from_gguf<R: Read + Seek>(
        ct: &gguf_file::Content,
        reader: &mut R,
        context: usize,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let config = Gemma3Config::from_gguf(ct)?;
        let context = context.clamp(1, config.trained_context.max(1));
        let mut ld = Loader::new(ct, reader, device);
        let embedding = ld.embedding("token_embd.weight")?;
        let output = if ld.has("output.weight") {
            ld.matmul("output.weight")?
        } else {
            embedding.as_matrix()?
        };
        let output_norm = ld.vector("output_norm.weight")?;
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let p = |s: &str| format!("blk.{i}.{s}.weight");
            layers.push(Layer {
                wq: ld.matmul(&p("attn_q"))?,
                wk: ld.matmul(&p("attn_k"))?,
                wv: ld.matmul(&p("attn_v"))?,
                wo: ld.matmul(&p("attn_output"))?,
                q_norm: ld.vector(&p("attn_q_norm"))?,
                k_norm: ld.vector(&p("attn_k_norm"))?,
                attn_norm: ld.vector(&p("attn_norm"))?,
                post_attn_norm: ld.vector(&p("post_attention_norm"))?,
                ffn_norm: ld.vector(&p("ffn_norm"))?,
                post_ffn_norm: ld.vector(&p("post_ffw_norm"))?,
                gate: ld.matmul(&p("ffn_gate"))?,
                up: ld.matmul(&p("ffn_up"))?,
                down: ld.matmul(&p("ffn_down"))?,
                window: config.is_local(i).then_some(config.window),
            });
        }
        let rope_local = Rotary::new(config.head_dim, config.rope_local, 1.0, context, device)?;
        let rope_global = Rotary::new(
            config.head_dim,
            config.rope_global,
            config.rope_scale,
            context,
            device,
        )?;
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
            layers,
            rope_local,
            rope_global,
            caches,
            device: device.clone(),
        })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &Gemma3Config {
        &self.config
    }

    /// The stacked rows of `spans` through every layer; the logits of each span's last row.
    fn run_spans(&mut self, ids: &[u32], spans: &[Span]) -> Result<Tensor, ModelError> {
        let mut x =
            (self.embedding.forward(ids, &self.device)? * (self.config.hidden as f64).sqrt())?;
        for i in 0..self.layers.len() {
            x = self.layer_forward(i, &x, spans)?;
        }
        let x = last_rows(&x, spans)?;
        let x = rms_norm(&x, &self.output_norm, self.config.eps)?;
        let mut logits = self.output.forward(&x)?;
        if let Some(cap) = self.config.final_softcap {
            logits = ((logits / cap)?.tanh()? * cap)?;
        }
        Ok(logits)
    }

    fn layer_forward(
        &mut self,
        i: usize,
        x: &Tensor,
        spans: &[Span],
    ) -> Result<Tensor, ModelError> {
        let eps = self.config.eps;
        let layer = &self.layers[i];
        let h = rms_norm(x, &layer.attn_norm, eps)?;
        let h = self.attention(i, &h, spans)?;
        let layer = &self.layers[i];
        let x = (x + rms_norm(&h, &layer.post_attn_norm, eps)?)?;
        let h = rms_norm(&x, &layer.ffn_norm, eps)?;
        let gated = gelu_mul(&layer.gate.forward(&h)?, &layer.up.forward(&h)?)?;
        let h = layer.down.forward(&gated)?;
        Ok((x + rms_norm(&h, &layer.post_ffn_norm, eps)?)?)
    }

    /// The projections on all rows at once; rotation, the cache and attention per span.
    fn attention(&mut self, i: usize, x: &Tensor, spans: &[Span]) -> Result<Tensor, ModelError> {
        let c = &self.config;
        let (heads, kv_heads, hd) = (c.heads, c.kv_heads, c.head_dim);
        // Gemma 3 27B scales by hidden / heads, the others by the head width.
        let scale = if c.layers == 62 {
            1.0 / ((c.hidden / heads) as f64).sqrt()
        } else {
            1.0 / (hd as f64).sqrt()
        };
        let (eps, softcap) = (c.eps, c.attn_softcap);
        let layer = &self.layers[i];
        let rope = if layer.window.is_some() {
            &self.rope_local
        } else {
            &self.rope_global
        };
        let (q_all, k_all, v_all) = (
            layer.wq.forward(x)?,
            layer.wk.forward(x)?,
            layer.wv.forward(x)?,
        );
        let caches = &mut self.caches;
        let out = per_span(spans, |s| {
            let rows = |t: &Tensor, h: usize| t.narrow(0, s.row, s.len)?.reshape((s.len, h, hd));
            let q = rope.apply(&rms_norm(&rows(&q_all, heads)?, &layer.q_norm, eps)?, s.pos)?;
            let k = rope.apply(
                &rms_norm(&rows(&k_all, kv_heads)?, &layer.k_norm, eps)?,
                s.pos,
            )?;
            let v = rows(&v_all, kv_heads)?;
            let cache = caches.layer_mut(s.slot, i);
            cache.append(&k.transpose(0, 1)?, &v.transpose(0, 1)?)?;
            // The queries are scaled before attention, as llama.cpp does for Gemma.
            let spec = Spec {
                pos: s.pos,
                window: layer.window,
                scale: 1.0,
                softcap: softcap.map(|c| c as f32),
            };
            Ok(attend(&(q * scale)?, cache, spec)?)
        })?;
        Ok(layer.wo.forward(&out)?)
    }
}

impl Stack for Gemma3 {
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
