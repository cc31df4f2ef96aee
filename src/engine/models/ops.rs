//! Small tensor operations the models share, written on candle-core alone (no candle-nn):
//! RMS norm, softmax, NEOX-style rotary embedding tables and the attention mask.

use candle_core::{DType, Device, Result, Tensor, D};

/// RMS norm over the last dimension. Gemma's GGUF files already store `1 + weight`.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Result<Tensor> {
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    let denom = (ms + eps)?.sqrt()?;
    x.broadcast_div(&denom)?.broadcast_mul(weight)
}

/// Softmax over the last dimension.
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?;
    let e = x.broadcast_sub(&max)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}

/// Cosine and sine tables for positions `0..context`, shape `(context, head_dim / 2)`.
pub struct Rotary {
    cos: Tensor,
    sin: Tensor,
}

impl Rotary {
    /// Tables for `base` with positions divided by `scale` (linear RoPE scaling).
    pub fn new(
        head_dim: usize,
        base: f32,
        scale: f32,
        context: usize,
        dev: &Device,
    ) -> Result<Self> {
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(context * half);
        let mut sin = Vec::with_capacity(context * half);
        for pos in 0..context {
            for i in 0..half {
                let inv = 1f64 / (base as f64).powf(2.0 * i as f64 / head_dim as f64);
                let angle = pos as f64 / scale as f64 * inv;
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        Ok(Self {
            cos: Tensor::from_vec(cos, (context, half), dev)?,
            sin: Tensor::from_vec(sin, (context, half), dev)?,
        })
    }

    /// Rotates `x` of shape `(len, heads, head_dim)` for positions `pos..pos + len`, NEOX
    /// style (the two halves of each head form the pairs).
    pub fn apply(&self, x: &Tensor, pos: usize) -> Result<Tensor> {
        let (len, _heads, head_dim) = x.dims3()?;
        let half = head_dim / 2;
        let cos = self.cos.narrow(0, pos, len)?.unsqueeze(1)?;
        let sin = self.sin.narrow(0, pos, len)?.unsqueeze(1)?;
        let x1 = x.narrow(2, 0, half)?;
        let x2 = x.narrow(2, half, half)?;
        let a = (x1.broadcast_mul(&cos)? - x2.broadcast_mul(&sin)?)?;
        let b = (x2.broadcast_mul(&cos)? + x1.broadcast_mul(&sin)?)?;
        Tensor::cat(&[a, b], 2)
    }
}

/// The additive mask for queries at `pos..pos + len` over keys `start..pos + len`: `-inf`
/// where a key is in the future or, with a `window`, `window` or more positions back.
pub fn attention_mask(
    pos: usize,
    len: usize,
    start: usize,
    window: Option<usize>,
    dev: &Device,
) -> Result<Tensor> {
    let keys = pos + len - start;
    let mut mask = Vec::with_capacity(len * keys);
    for i in 0..len {
        let q = pos + i;
        for k in start..pos + len {
            let visible = k <= q && window.is_none_or(|w| q - k < w);
            mask.push(if visible { 0f32 } else { f32::NEG_INFINITY });
        }
    }
    Tensor::from_vec(mask, (len, keys), dev)?.to_dtype(DType::F32)
}
