//! A preallocated key/value cache for one attention layer: two context-sized tensors and a
//! length. Appending writes in place; truncating sets the length, so reusing a prefix of the
//! previous sequence costs nothing. Every layer keeps the full context (sliding-window layers
//! apply their window when attending), which keeps any truncation valid.

use candle_core::{DType, Device, Result, Tensor};

/// Keys and values of shape `(kv_heads, context, head_dim)`, valid up to `len`.
pub struct KvCache {
    keys: Tensor,
    values: Tensor,
    len: usize,
}

impl KvCache {
    /// An empty cache for `context` positions.
    pub fn new(kv_heads: usize, context: usize, head_dim: usize, dev: &Device) -> Result<Self> {
        Ok(Self {
            keys: Tensor::zeros((kv_heads, context, head_dim), DType::F32, dev)?,
            values: Tensor::zeros((kv_heads, context, head_dim), DType::F32, dev)?,
            len: 0,
        })
    }

    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Forgets everything from position `len` on.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Writes `k` and `v` of shape `(kv_heads, n, head_dim)` at the end and returns the keys
    /// and values of positions `start..len` (views, no copy).
    pub fn append(&mut self, k: &Tensor, v: &Tensor, start: usize) -> Result<(Tensor, Tensor)> {
        let n = k.dim(1)?;
        self.keys.slice_set(&k.contiguous()?, 1, self.len)?;
        self.values.slice_set(&v.contiguous()?, 1, self.len)?;
        self.len += n;
        let span = self.len - start;
        Ok((
            self.keys.narrow(1, start, span)?.contiguous()?,
            self.values.narrow(1, start, span)?.contiguous()?,
        ))
    }
}
