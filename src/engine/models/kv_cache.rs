//! A preallocated key/value cache for one attention layer: two context-sized tensors and a
//! length. Appending writes in place; truncating sets the length, so reusing a prefix of the
//! previous sequence costs nothing. Every layer keeps the full context (sliding-window layers
//! apply their window when attending), which keeps any truncation valid. A model holds one set
//! of caches per slot (`Caches`), so several sequences can decode side by side. On the CPU the
//! cache is f16, as llama.cpp's default, which halves its memory and the bytes attention
//! reads; on GPUs it stays f32.

use candle_core::{CpuStorage, DType, Device, Result, Storage, Tensor};
use half::f16;

/// Keys and values of shape `(kv_heads, context, head_dim)`, valid up to `len`.
pub struct KvCache {
    keys: Tensor,
    values: Tensor,
    len: usize,
    kv_heads: usize,
    context: usize,
}

impl KvCache {
    /// An empty cache for `context` positions.
    pub fn new(kv_heads: usize, context: usize, head_dim: usize, dev: &Device) -> Result<Self> {
        let dtype = if dev.is_cpu() { DType::F16 } else { DType::F32 };
        Ok(Self {
            keys: Tensor::zeros((kv_heads, context, head_dim), dtype, dev)?,
            values: Tensor::zeros((kv_heads, context, head_dim), dtype, dev)?,
            len: 0,
            kv_heads,
            context,
        })
    }

    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Key/value heads.
    pub fn kv_heads(&self) -> usize {
        self.kv_heads
    }

    /// The device the cache lives on.
    pub fn device(&self) -> &Device {
        self.keys.device()
    }

    /// Forgets everything from position `len` on.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Writes `k` and `v` of shape `(kv_heads, n, head_dim)` at the end.
    pub fn append(&mut self, k: &Tensor, v: &Tensor) -> Result<()> {
        let n = k.dim(1)?;
        if self.len + n > self.context {
            candle_core::bail!(
                "KV cache overflow: {} + {n} positions in a cache of {}",
                self.len,
                self.context
            );
        }
        let dtype = self.keys.dtype();
        self.keys
            .slice_set(&k.to_dtype(dtype)?.contiguous()?, 1, self.len)?;
        self.values
            .slice_set(&v.to_dtype(dtype)?.contiguous()?, 1, self.len)?;
        self.len += n;
        Ok(())
    }

    /// Copies of the keys and values of positions `start..len`, shape
    /// `(kv_heads, len - start, head_dim)`.
    pub fn keys_values(&self, start: usize) -> Result<(Tensor, Tensor)> {
        let span = self.len - start;
        Ok((
            self.keys.narrow(1, start, span)?.contiguous()?,
            self.values.narrow(1, start, span)?.contiguous()?,
        ))
    }

    /// Runs `f` on the whole key and value buffers of a CPU cache (f16, laid out
    /// `(kv_heads, context, head_dim)`) and the context size, without copying.
    pub fn with_cpu_slices<R>(&self, f: impl FnOnce(&[f16], &[f16], usize) -> R) -> Result<R> {
        let (ks, kl) = self.keys.storage_and_layout();
        let (vs, vl) = self.values.storage_and_layout();
        match (&*ks, &*vs) {
            (Storage::Cpu(CpuStorage::F16(k)), Storage::Cpu(CpuStorage::F16(v))) => {
                let n = self.keys.elem_count();
                let k = &k[kl.start_offset()..kl.start_offset() + n];
                let v = &v[vl.start_offset()..vl.start_offset() + n];
                Ok(f(k, v, self.context))
            }
            _ => candle_core::bail!("the KV cache is not an f16 CPU cache"),
        }
    }
}

/// Tokens one prefill pass computes unless a model is told otherwise.
const PREFILL_CHUNK: usize = 512;

/// The caches of every layer of a model, one set per slot (a sequence that decodes beside the
/// others, see `batch`), their shared context size and the prefill chunk: the state `Model`'s
/// methods read and reset, whatever the architecture. Slot 0 is the one the single-sequence
/// methods use.
pub struct Caches {
    /// `slots[slot][layer]`.
    slots: Vec<Vec<KvCache>>,
    layers: usize,
    kv_heads: usize,
    head_dim: usize,
    device: Device,
    context: usize,
    prefill_chunk: usize,
}

impl Caches {
    /// One slot of `layers` empty caches of `context` positions, prefilling `PREFILL_CHUNK`
    /// tokens a pass.
    pub fn new(
        layers: usize,
        kv_heads: usize,
        context: usize,
        head_dim: usize,
        dev: &Device,
    ) -> Result<Self> {
        let mut caches = Self {
            slots: Vec::new(),
            layers,
            kv_heads,
            head_dim,
            device: dev.clone(),
            context,
            prefill_chunk: PREFILL_CHUNK,
        };
        caches.set_slots(1)?;
        Ok(caches)
    }

    /// Makes `n` slots (at least 1): new ones start empty, slots from `n` on are dropped.
    pub fn set_slots(&mut self, n: usize) -> Result<()> {
        let n = n.max(1);
        self.slots.truncate(n);
        while self.slots.len() < n {
            let layers = (0..self.layers)
                .map(|_| KvCache::new(self.kv_heads, self.context, self.head_dim, &self.device))
                .collect::<Result<_>>()?;
            self.slots.push(layers);
        }
        Ok(())
    }

    /// Slots, each a sequence with its own cache.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Layer `i`'s cache in `slot`, to append to.
    pub fn layer_mut(&mut self, slot: usize, i: usize) -> &mut KvCache {
        &mut self.slots[slot][i]
    }

    /// Positions currently cached in `slot` (the same in every layer); 0 for a slot that does
    /// not exist.
    pub fn cached(&self, slot: usize) -> usize {
        self.slots
            .get(slot)
            .and_then(|layers| layers.first())
            .map_or(0, KvCache::len)
    }

    /// Positions each cache can hold.
    pub fn context(&self) -> usize {
        self.context
    }

    /// Tokens one prefill pass computes.
    pub fn prefill_chunk(&self) -> usize {
        self.prefill_chunk
    }

    /// Sets how many tokens one prefill pass computes (at least 1).
    pub fn set_prefill_chunk(&mut self, tokens: usize) {
        self.prefill_chunk = tokens.max(1);
    }

    /// Forgets `slot`'s positions from `len` on, in every layer.
    pub fn truncate(&mut self, slot: usize, len: usize) {
        for layer in self.slots.get_mut(slot).into_iter().flatten() {
            layer.truncate(len);
        }
    }
}
