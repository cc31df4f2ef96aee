//! Model implementations on candle tensors, loaded from GGUF files. `load` reads the
//! architecture from the file and builds the matching model: Gemma 3 (`gemma3`), or the
//! llama-style decoder (`llama`, configured by `llama_config`, its blocks read by `block`)
//! for `llama`, `qwen2`, `qwen3`, `glm4` and `chatglm`. Each model owns preallocated KV caches
//! (`kv_cache`) so a prompt that shares a prefix with the previous one only computes the new
//! tokens, and implements `Stack`, from which `Model` follows; one set of caches per slot lets
//! several sequences decode in one batched pass (`batch`). What the models share: `ops`,
//! `weights` (reading tensors), `matrix` (which kernel multiplies a weight: our Q8_0 kernel in
//! `q8`, or candle's) and `attention` (our CPU attention, its inner loops in `simd`). On a GPU
//! the same models run candle's kernels (see `matrix`, `attention`, `ops`), and `footprint`
//! says whether the model fits in the GPU's memory before it is loaded.

mod attention;
mod batch;
mod block;
mod footprint;
mod gemma3;
mod kv_cache;
mod llama;
mod llama_config;
mod matrix;
mod ops;
mod q8;
mod simd;
mod weights;

pub use batch::Item;
pub use gemma3::Gemma3;
pub use llama::Llama;
pub use llama_config::{Family, LlamaConfig};

/// A causal language model with its own KV caches, one per slot: what the worker needs from
/// every architecture. The single-sequence methods (`forward`, `truncate`, `cached`) work on
/// slot 0; `forward_batch` runs several slots in one pass (see `batch`).
pub trait Model: Send {
    /// Runs `ids` after the cached positions of slot 0 (in chunks) and returns the logits of
    /// the last one, shape `(vocab,)`.
    fn forward(&mut self, ids: &[u32]) -> Result<candle_core::Tensor, ModelError> {
        let (cached, context, chunk) = (self.cached(), self.context(), self.prefill_chunk());
        in_chunks(ids, cached, context, chunk, |part| {
            let logits = self.forward_batch(&[Item { slot: 0, ids: part }])?;
            Ok(logits.squeeze(0)?)
        })
    }
    /// Runs each item's tokens after its slot's cached positions, all in one pass, and returns
    /// the logits of each item's last token, shape `(items, vocab)`. A slot appears at most
    /// once; the items' tokens must fit in their slots.
    fn forward_batch(&mut self, items: &[Item<'_>]) -> Result<candle_core::Tensor, ModelError>;
    /// Forgets slot 0's cache from position `len` on.
    fn truncate(&mut self, len: usize) {
        self.truncate_slot(0, len)
    }
    /// Forgets `slot`'s cache from position `len` on, so its next tokens continue from there.
    fn truncate_slot(&mut self, slot: usize, len: usize);
    /// Positions currently in slot 0's KV cache.
    fn cached(&self) -> usize {
        self.cached_in(0)
    }
    /// Positions currently in `slot`'s KV cache.
    fn cached_in(&self, slot: usize) -> usize;
    /// Positions each slot's KV cache can hold.
    fn context(&self) -> usize;
    /// Slots (sequences with their own KV cache).
    fn slots(&self) -> usize;
    /// Makes `n` slots (at least 1), allocating the new ones' caches.
    fn set_slots(&mut self, n: usize) -> Result<(), ModelError>;
    /// Tokens one prefill pass computes.
    fn prefill_chunk(&self) -> usize;
    /// Sets how many tokens one prefill pass computes (at least 1).
    fn set_prefill_chunk(&mut self, tokens: usize);
}

/// What an architecture implements; `Model` follows from it.
trait Stack: Send {
    /// The model's KV caches.
    fn caches(&self) -> &kv_cache::Caches;
    /// The model's KV caches, to reset.
    fn caches_mut(&mut self) -> &mut kv_cache::Caches;
    /// Runs the rows of `spans` (from `batch::spans`) whose stacked token ids are `ids`, and
    /// returns the logits of each span's last token, shape `(spans, vocab)`.
    fn forward_spans(
        &mut self,
        ids: &[u32],
        spans: &[batch::Span],
    ) -> Result<candle_core::Tensor, ModelError>;
}

impl<T: Stack> Model for T {
    fn forward_batch(&mut self, items: &[Item<'_>]) -> Result<candle_core::Tensor, ModelError> {
        let spans = batch::spans(items, self.caches())?;
        self.forward_spans(&batch::stacked_ids(items), &spans)
    }

    fn truncate_slot(&mut self, slot: usize, len: usize) {
        self.caches_mut().truncate(slot, len)
    }

    fn cached_in(&self, slot: usize) -> usize {
        self.caches().cached(slot)
    }

    fn context(&self) -> usize {
        self.caches().context()
    }

    fn slots(&self) -> usize {
        self.caches().slots()
    }

    fn set_slots(&mut self, n: usize) -> Result<(), ModelError> {
        Ok(self.caches_mut().set_slots(n)?)
    }

    fn prefill_chunk(&self) -> usize {
        self.caches().prefill_chunk()
    }

    fn set_prefill_chunk(&mut self, tokens: usize) {
        self.caches_mut().set_prefill_chunk(tokens)
    }
}

use candle_core::quantized::gguf_file;
use candle_core::Device;
use std::path::Path;

/// The architectures `load` can run.
pub const SUPPORTED_ARCHITECTURES: &[&str] =
    &["gemma3", "llama", "qwen2", "qwen3", "glm4", "chatglm"];

/// Everything that can go wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file cannot be opened or read.
    #[error("cannot read the model file {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The system's words.
        reason: String,
    },
    /// The file is not a complete GGUF file.
    #[error("{path} is not a valid GGUF model file ({reason}); is the download complete? scripts/fetch-model.sh installs a known-good one")]
    Corrupt {
        /// The file.
        path: String,
        /// What the parser said.
        reason: String,
    },
    /// The architecture has no implementation here.
    #[error("model architecture {arch:?} is not supported by the built-in engine (supported: {}); run it with llama-server or vLLM and --base-url instead", SUPPORTED_ARCHITECTURES.join(", "))]
    UnsupportedArchitecture {
        /// `general.architecture` from the file.
        arch: String,
    },
    /// The file uses a variant of a supported architecture that the engine does not implement
    /// (a mixture of experts, YaRN rope scaling, ...).
    #[error("{feature} is not supported by the built-in engine; run this model with llama-server or vLLM and --base-url instead")]
    UnsupportedFeature {
        /// What the file uses, and the key or tensor that says so.
        feature: String,
    },
    /// A metadata key holds a value the architecture cannot work with.
    #[error("the GGUF metadata key {key} is invalid: {reason}")]
    InvalidMetadata {
        /// The key.
        key: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// A metadata key the architecture needs is missing or has the wrong type.
    #[error("the GGUF file lacks metadata key {0} (or it has the wrong type)")]
    Metadata(String),
    /// A tensor is missing or malformed.
    #[error("tensor {name}: {reason}")]
    Tensor {
        /// The tensor's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The sequence would not fit in the context.
    #[error("{needed} tokens do not fit in the context of {context} tokens; shorten the prompt or raise the context size")]
    ContextFull {
        /// Tokens the sequence would hold.
        needed: usize,
        /// The context size.
        context: usize,
    },
    /// The device ran out of memory loading the model (or would: it has less free than the
    /// model needs).
    #[error("{}", footprint::out_of_memory_message(device, needed, *free))]
    OutOfMemory {
        /// The device, as `--device` names it.
        device: String,
        /// What the model needs.
        needed: footprint::Footprint,
        /// Free memory on the device, where the driver says.
        free: Option<u64>,
    },
    /// A tensor operation failed.
    #[error("tensor computation failed: {0}")]
    Compute(#[from] candle_core::Error),
}

/// Checks that `ids` fit after `cached` positions in a context of `context`, then runs them
/// through `step` in chunks of `chunk` tokens and returns the last chunk's logits: the prefill
/// loop every architecture shares.
fn in_chunks(
    ids: &[u32],
    cached: usize,
    context: usize,
    chunk: usize,
    mut step: impl FnMut(&[u32]) -> Result<candle_core::Tensor, ModelError>,
) -> Result<candle_core::Tensor, ModelError> {
    let needed = cached + ids.len();
    let full = || ModelError::ContextFull { needed, context };
    if needed > context || ids.is_empty() {
        return Err(full());
    }
    let mut last = None;
    for part in ids.chunks(chunk) {
        last = Some(step(part)?);
    }
    last.ok_or_else(full)
}

/// Reads a GGUF file's header and builds the model it describes, with a context of
/// `context` tokens (clamped to what the model was trained for). On a GPU, a model that needs
/// more than the free memory is refused before any weight is read, and an allocation that
/// fails anyway is reported with the memory the model needs.
pub fn load(path: &Path, context: usize, device: &Device) -> Result<Box<dyn Model>, ModelError> {
    load_slots(path, context, 1, device)
}

/// `load` with `slots` KV caches of `context` positions each (at least one), for that many
/// sequences decoding together; the memory check on a GPU counts every slot's cache.
pub fn load_slots(
    path: &Path,
    context: usize,
    slots: usize,
    device: &Device,
) -> Result<Box<dyn Model>, ModelError> {
    let display = path.display().to_string();
    let mut file = std::fs::File::open(path).map_err(|e| ModelError::Io {
        path: display.clone(),
        reason: e.to_string(),
    })?;
    let content = gguf_file::Content::read(&mut file).map_err(|e| ModelError::Corrupt {
        path: display.clone(),
        reason: e.to_string(),
    })?;
    let arch = match content.metadata.get("general.architecture") {
        Some(gguf_file::Value::String(s)) => s.clone(),
        _ => return Err(ModelError::Metadata("general.architecture".into())),
    };
    let kv_bytes = if device.is_cpu() { 2 } else { 4 };
    let mut needed = footprint::Footprint::of(&content, &arch, context, kv_bytes);
    needed.kv_cache *= slots.max(1) as u64;
    let free = crate::engine::device::free_memory(device);
    let out_of_memory = || ModelError::OutOfMemory {
        device: device_name(device),
        needed,
        free,
    };
    if free.is_some_and(|free| needed.total() > free) {
        return Err(out_of_memory());
    }
    let model = match (arch.as_str(), Family::from_architecture(&arch)) {
        ("gemma3", _) => Gemma3::from_gguf(&content, &mut file, context, device)
            .map(|m| Box::new(m) as Box<dyn Model>),
        (_, Some(family)) => Llama::from_gguf(&content, &mut file, family, context, device)
            .map(|m| Box::new(m) as Box<dyn Model>),
        _ => Err(ModelError::UnsupportedArchitecture { arch }),
    }
    .map_err(|e| match e {
        e if !device.is_cpu() && footprint::is_out_of_memory(&e.to_string()) => out_of_memory(),
        ModelError::Compute(c) => ModelError::Corrupt {
            path: display,
            reason: c.to_string(),
        },
        other => other,
    });
    let mut model = model?;
    model.set_slots(slots).map_err(|e| match e {
        e if !device.is_cpu() && footprint::is_out_of_memory(&e.to_string()) => out_of_memory(),
        other => other,
    })?;
    Ok(model)
}

/// `device` as `--device` names it, for messages.
fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}
