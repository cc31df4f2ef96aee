//! The weights of one block of the llama-style decoder (`llama`), in every layout llama.cpp
//! accepts for the families it covers: separate `attn_q`/`attn_k`/`attn_v` or one fused
//! `attn_qkv`, each with an optional bias; optional per-head q/k norms (Qwen 3); optional
//! norms after attention and after the feed-forward (GLM-4); a SwiGLU feed-forward with
//! separate gate and up matrices, or one `ffn_up` whose rows hold the gate then the up half
//! (GLM-4, ChatGLM). Loading only reads tensors; `llama` runs them.

use super::matrix::Matrix;
use super::weights::Loader;
use super::ModelError;
use candle_core::Tensor;
use std::io::{Read, Seek};

/// A matrix for `x @ W^T` and its optional bias.
pub struct Linear {
    weight: Matrix,
    bias: Option<Tensor>,
}

impl Linear {
    /// `{name}.weight` of shape `(rows, cols)` and, when the file has it, `{name}.bias`.
    pub fn load<R: Read + Seek>(
        ld: &mut Loader<'_, R>,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Self, ModelError> {
        let weight_name = format!("{name}.weight");
        let bias_name = format!("{name}.bias");
        ld.check_shape(&weight_name, &[rows, cols])?;
        let bias = if ld.has(&bias_name) {
            ld.check_shape(&bias_name, &[rows])?;
            Some(ld.vector(&bias_name)?)
        } else {
            None
        };
        Ok(Self {
            weight: ld.matmul(&weight_name)?,
            bias,
        })
    }

    /// A matrix built elsewhere (the output tied to the embedding) with an optional bias.
    pub fn from_matmul(weight: Matrix, bias: Option<Tensor>) -> Self {
        Self { weight, bias }
    }

    /// `x @ W^T + b` for `x` of shape `(len, in)`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = self.weight.forward(x)?;
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

/// The query, key and value projections.
pub enum Qkv {
    /// Three matrices.
    Separate {
        /// Queries.
        q: Linear,
        /// Keys.
        k: Linear,
        /// Values.
        v: Linear,
    },
    /// One matrix whose rows are the queries, then the keys, then the values.
    Fused(Linear),
}

impl Qkv {
    /// Queries `(len, q_width)`, keys and values `(len, kv_width)` of `x`.
    pub fn forward(
        &self,
        x: &Tensor,
        q_width: usize,
        kv_width: usize,
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        match self {
            Self::Separate { q, k, v } => Ok((q.forward(x)?, k.forward(x)?, v.forward(x)?)),
            Self::Fused(w) => {
                let qkv = w.forward(x)?;
                Ok((
                    qkv.narrow(1, 0, q_width)?,
                    qkv.narrow(1, q_width, kv_width)?,
                    qkv.narrow(1, q_width + kv_width, kv_width)?,
                ))
            }
        }
    }
}

/// The SwiGLU feed-forward: `down(silu(gate(x)) * up(x))`.
pub enum FeedForward {
    /// Separate gate and up matrices (llama, qwen).
    Gated {
        /// The gate, passed through SiLU.
        gate: Linear,
        /// The up projection.
        up: Linear,
        /// The down projection.
        down: Linear,
    },
    /// One `ffn_up` of twice the width: the first half of its outputs is the gate, the second
    /// the up projection (ggml's `swiglu` of an unsplit tensor).
    Fused {
        /// Gate and up together.
        gate_up: Linear,
        /// The down projection.
        down: Linear,
    },
}

impl FeedForward {
    /// The block's feed-forward output for `x` of shape `(len, hidden)`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Gated { gate, up, down } => {
                down.forward(&(gate.forward(x)?.silu()? * up.forward(x)?)?)
            }
            Self::Fused { gate_up, down } => {
                let both = gate_up.forward(x)?;
                let half = both.dim(1)? / 2;
                let gated = (both.narrow(1, 0, half)?.silu()? * both.narrow(1, half, half)?)?;
                down.forward(&gated)
            }
        }
    }
}

/// The widths a block's tensors must have, from the metadata.
#[derive(Debug, Clone, Copy)]
pub struct BlockDims {
    /// Hidden width (`embedding_length`).
    pub hidden: usize,
    /// Width of one head (`attention.key_length`).
    pub head_dim: usize,
    /// Query heads times the head width.
    pub q_width: usize,
    /// Key/value heads times the head width.
    pub kv_width: usize,
    /// Inner width of the feed-forward (`feed_forward_length`).
    pub ffn: usize,
}

/// Which optional parts a family's blocks have.
#[derive(Debug, Clone, Copy)]
pub struct BlockLayout {
    /// Per-head RMS norms of queries and keys before the rotary embedding (Qwen 3).
    pub qk_norm: bool,
    /// RMS norms on the attention output and on the feed-forward output (GLM-4).
    pub post_norms: bool,
    /// One `ffn_up` holding gate and up (GLM-4, ChatGLM).
    pub fused_gate_up: bool,
}

/// The weights of one block.
pub struct BlockWeights {
    /// RMS norm before attention.
    pub attn_norm: Tensor,
    /// Query, key and value projections.
    pub qkv: Qkv,
    /// Per-head query norm, when the layout has one.
    pub q_norm: Option<Tensor>,
    /// Per-head key norm, when the layout has one.
    pub k_norm: Option<Tensor>,
    /// The attention output projection (with an optional bias).
    pub wo: Linear,
    /// RMS norm of the attention output, when the layout has one.
    pub post_attn_norm: Option<Tensor>,
    /// RMS norm before the feed-forward.
    pub ffn_norm: Tensor,
    /// The feed-forward.
    pub ffn: FeedForward,
    /// RMS norm of the feed-forward output, when the layout has one.
    pub post_ffn_norm: Option<Tensor>,
}

impl BlockWeights {
    /// Reads block `i` (`blk.{i}.*`) with the widths `dims` in `layout`; a tensor the layout
    /// needs and the file lacks, or one of the wrong shape, is an error naming it.
    pub fn load<R: Read + Seek>(
        ld: &mut Loader<'_, R>,
        i: usize,
        dims: BlockDims,
        layout: BlockLayout,
    ) -> Result<Self, ModelError> {
        let BlockDims {
            hidden,
            head_dim,
            q_width,
            kv_width,
            ffn,
        } = dims;
        let name = |s: &str| format!("blk.{i}.{s}");
        let qkv = if ld.has(&name("attn_qkv.weight")) {
            let rows = q_width + 2 * kv_width;
            Qkv::Fused(Linear::load(ld, &name("attn_qkv"), rows, hidden)?)
        } else {
            Qkv::Separate {
                q: Linear::load(ld, &name("attn_q"), q_width, hidden)?,
                k: Linear::load(ld, &name("attn_k"), kv_width, hidden)?,
                v: Linear::load(ld, &name("attn_v"), kv_width, hidden)?,
            }
        };
        let attn_norm = norm(ld, &name("attn_norm"), hidden)?;
        let ffn_norm = norm(ld, &name("ffn_norm"), hidden)?;
        let (q_norm, k_norm) = if layout.qk_norm {
            (
                Some(norm(ld, &name("attn_q_norm"), head_dim)?),
                Some(norm(ld, &name("attn_k_norm"), head_dim)?),
            )
        } else {
            (None, None)
        };
        let (post_attn_norm, post_ffn_norm) = if layout.post_norms {
            (
                Some(norm(ld, &name("post_attention_norm"), hidden)?),
                Some(norm(ld, &name("post_ffw_norm"), hidden)?),
            )
        } else {
            (None, None)
        };
        let ffn = if layout.fused_gate_up {
            FeedForward::Fused {
                gate_up: Linear::load(ld, &name("ffn_up"), 2 * ffn, hidden)?,
                down: Linear::load(ld, &name("ffn_down"), hidden, ffn)?,
            }
        } else {
            FeedForward::Gated {
                gate: Linear::load(ld, &name("ffn_gate"), ffn, hidden)?,
                up: Linear::load(ld, &name("ffn_up"), ffn, hidden)?,
                down: Linear::load(ld, &name("ffn_down"), hidden, ffn)?,
            }
        };
        Ok(Self {
            attn_norm,
            qkv,
            q_norm,
            k_norm,
            wo: Linear::load(ld, &name("attn_output"), hidden, q_width)?,
            post_attn_norm,
            ffn_norm,
            ffn,
            post_ffn_norm,
        })
    }
}

/// The norm weight `{name}.weight` of `width` values.
fn norm<R: Read + Seek>(
    ld: &mut Loader<'_, R>,
    name: &str,
    width: usize,
) -> Result<Tensor, ModelError> {
    let full = format!("{name}.weight");
    ld.check_shape(&full, &[width])?;
    ld.vector(&full)
}
