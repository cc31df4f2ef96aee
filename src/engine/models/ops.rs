//! Small tensor operations the models share, written on candle-core alone (no candle-nn):
//! RMS norm, Gemma's GELU gate, softmax, rotary embedding tables (NEOX or adjacent pairs, over
//! all or part of a head, with optional per-frequency factors) and the attention mask.

use candle_core::{CpuStorage, DType, Device, Result, Storage, Tensor, D};
use half::f16;

/// RMS norm over the last dimension. Gemma's GGUF files already store `1 + weight`.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Result<Tensor> {
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    let denom = (ms + eps)?.sqrt()?;
    x.broadcast_div(&denom)?.broadcast_mul(weight)
}

/// Runs `f` on the values of an f32 CPU tensor in row-major order: borrowed from its storage
/// when it is contiguous (the usual case, so the hot path copies nothing), else copied once.
pub fn with_f32_values<R>(x: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    {
        let (storage, layout) = x.storage_and_layout();
        if let (Storage::Cpu(CpuStorage::F32(v)), Some((start, end))) =
            (&*storage, layout.contiguous_offsets())
        {
            return Ok(f(&v[start..end]));
        }
    }
    let v = x.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
    Ok(f(&v))
}

/// `gelu(gate) * up`, Gemma's feed-forward gate. On the CPU it is llama.cpp's GELU: the tanh
/// form looked up in a table of every f16 input (so the input and the result are rounded to
/// f16), the identity from 10 up and zero from -10 down. The lookup is what makes it cheap:
/// computed directly, the tanh took 8% of a prefill. Elsewhere it is candle's tanh GELU.
pub fn gelu_mul(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    if !gate.device().is_cpu() {
        return gate.gelu()? * up;
    }
    if gate.shape() != up.shape() {
        candle_core::bail!("gelu_mul: gate {:?}, up {:?}", gate.shape(), up.shape());
    }
    let table = gelu_table();
    let out: Vec<f32> = with_f32_values(gate, |g| {
        with_f32_values(up, |u| {
            g.iter()
                .zip(u)
                .map(|(&x, &y)| {
                    let gelu = if x <= -10.0 {
                        0.0
                    } else if x >= 10.0 {
                        x
                    } else {
                        f16::from_bits(table[f16::from_f32(x).to_bits() as usize]).to_f32()
                    };
                    gelu * y
                })
                .collect()
        })
    })??;
    Tensor::from_vec(out, gate.shape().clone(), gate.device())
}

/// GELU (tanh form, in f32) of every f16 value, as f16 bits, indexed by the input's bits.
fn gelu_table() -> &'static [u16] {
    static TABLE: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        const SQRT_2_OVER_PI: f32 = 0.797_884_6;
        const COEF_A: f32 = 0.044715;
        (0..=u16::MAX)
            .map(|bits| {
                let x = f16::from_bits(bits).to_f32();
                let y = 0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (1.0 + COEF_A * x * x)).tanh());
                f16::from_f32(y).to_bits()
            })
            .collect()
    })
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

/// Which dimensions of a head a rotary embedding rotates together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent dimensions `(2i, 2i + 1)`: llama.cpp's `LLAMA_ROPE_TYPE_NORM` (llama, mistral,
    /// glm4, chatglm; the GGUF converter permutes Llama's Q/K rows to this order).
    Adjacent,
    /// The two halves `(i, i + n/2)` of the rotated dimensions: `LLAMA_ROPE_TYPE_NEOX`
    /// (qwen2, qwen3, gemma).
    Neox,
}

impl Rotary {
    /// Tables for the first `rotated` dimensions of a head (llama.cpp's `n_rot`), base `base`,
    /// positions divided by `scale`, and the angle of pair `i` divided by `factors[i]` when
    /// given (Llama 3.1's `rope_freqs.weight`; a zero factor counts as 1, as in ggml).
    pub fn with_factors(
        rotated: usize,
        base: f32,
        scale: f32,
        factors: Option<&[f32]>,
        context: usize,
        dev: &Device,
    ) -> Result<Self> {
        let half = rotated / 2;
        if let Some(f) = factors {
            if f.len() < half {
                candle_core::bail!("{} rope factors for {half} frequencies", f.len());
            }
        }
        let inv: Vec<f64> = (0..half)
            .map(|i| {
                let factor = factors.map_or(1.0, |f| f[i]);
                let factor = if factor == 0.0 { 1.0 } else { factor as f64 };
                1f64 / (base as f64).powf(2.0 * i as f64 / rotated as f64) / factor
            })
            .collect();
        let mut cos = Vec::with_capacity(context * half);
        let mut sin = Vec::with_capacity(context * half);
        for pos in 0..context {
            for f in &inv {
                let angle = pos as f64 / scale as f64 * f;
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        Ok(Self {
            cos: Tensor::from_vec(cos, (context, half), dev)?,
            sin: Tensor::from_vec(sin, (context, half), dev)?,
        })
    }

    /// Rotates the first `2 * tables' width` dimensions of `x` (shape `(len, heads, head_dim)`)
    /// for positions `pos..pos + len` in `style`; the other dimensions pass through unchanged,
    /// as ggml does when `n_rot < head_dim` (GLM-4's partial rotary).
    pub fn apply_style(&self, x: &Tensor, pos: usize, style: RopeStyle) -> Result<Tensor> {
        let (len, heads, head_dim) = x.dims3()?;
        let half = self.cos.dim(1)?;
        let rotated = 2 * half;
        if rotated > head_dim {
            candle_core::bail!("rotary tables for {rotated} dimensions, heads of {head_dim}");
        }
        let cos = self.cos.narrow(0, pos, len)?;
        let sin = self.sin.narrow(0, pos, len)?;
        let r = x.narrow(2, 0, rotated)?;
        let out = match style {
            RopeStyle::Neox => {
                let (cos, sin) = (cos.unsqueeze(1)?, sin.unsqueeze(1)?);
                let x1 = r.narrow(2, 0, half)?;
                let x2 = r.narrow(2, half, half)?;
                let a = (x1.broadcast_mul(&cos)? - x2.broadcast_mul(&sin)?)?;
                let b = (x2.broadcast_mul(&cos)? + x1.broadcast_mul(&sin)?)?;
                Tensor::cat(&[a, b], 2)?
            }
            RopeStyle::Adjacent => {
                let cos = cos.reshape((len, 1, half, 1))?;
                let sin = sin.reshape((len, 1, half, 1))?;
                let pairs = r.contiguous()?.reshape((len, heads, half, 2))?;
                let x1 = pairs.narrow(3, 0, 1)?;
                let x2 = pairs.narrow(3, 1, 1)?;
                let a = (x1.broadcast_mul(&cos)? - x2.broadcast_mul(&sin)?)?;
                let b = (x2.broadcast_mul(&cos)? + x1.broadcast_mul(&sin)?)?;
                Tensor::cat(&[a, b], 3)?.reshape((len, heads, rotated))?
            }
        };
        if rotated == head_dim {
            Ok(out)
        } else {
            Tensor::cat(&[out, x.narrow(2, rotated, head_dim - rotated)?], 2)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_gate_is_llama_cpp_s_table() {
        let gate = [-12.0f32, -1.0, 0.0, 0.5, 1.0, 3.0, 12.0];
        let up = [2.0f32; 7];
        let dev = Device::Cpu;
        let g = Tensor::new(&gate[..], &dev).unwrap();
        let u = Tensor::new(&up[..], &dev).unwrap();
        let got = gelu_mul(&g, &u).unwrap().to_vec1::<f32>().unwrap();
        let exact = |x: f32| 0.5 * x * (1.0 + (0.797_884_6 * x * (1.0 + 0.044715 * x * x)).tanh());
        for (&x, &y) in gate.iter().zip(&got) {
            let want = if x <= -10.0 {
                0.0
            } else if x >= 10.0 {
                2.0 * x
            } else {
                2.0 * f16::from_f32(exact(f16::from_f32(x).to_f32())).to_f32()
            };
            assert_eq!(y, want, "gelu({x}) * 2");
            assert!(
                (y - 2.0 * exact(x)).abs() <= 2e-3 * (1.0 + x.abs()),
                "gelu({x})"
            );
        }
    }
}
