//! How much memory a model needs on its device: the weights as the file stores them (a GPU
//! keeps the file's quantized formats) and the KV caches of every layer for the context.
//! `load` uses it to refuse, before reading a weight, a model that cannot fit in a GPU's free
//! memory, and to say how much was needed when an allocation fails anyway.

use candle_core::quantized::gguf_file;

/// Bytes a model needs, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// The tensors as stored in the file.
    pub weights: u64,
    /// Keys and values of every layer for `context` positions.
    pub kv_cache: u64,
    /// The KV cache positions counted (the asked context, clamped to the trained one).
    pub context: usize,
}

impl Footprint {
    /// The footprint of the model `ct` describes, architecture `arch`, with a KV cache of
    /// `context` positions of `kv_bytes` bytes per value (2 for f16, 4 for f32). Metadata the
    /// estimate cannot find counts as zero: it is a lower bound, never an error.
    pub fn of(ct: &gguf_file::Content, arch: &str, context: usize, kv_bytes: usize) -> Self {
        let weights = ct
            .tensor_infos
            .values()
            .map(|t| {
                let dtype = t.ggml_dtype;
                (t.shape.elem_count() / dtype.block_size() * dtype.type_size()) as u64
            })
            .sum();
        let key = |k: &str| {
            ct.metadata
                .get(&format!("{arch}.{k}"))
                .and_then(|v| v.to_u32().ok())
                .map(|v| v as usize)
        };
        let context = key("context_length").map_or(context, |trained| context.min(trained));
        let heads = key("attention.head_count").unwrap_or(0);
        let kv_heads = key("attention.head_count_kv").unwrap_or(heads);
        let head_dim = key("attention.key_length")
            .or_else(|| Some(key("embedding_length")? / heads.max(1)))
            .unwrap_or(0);
        let layers = key("block_count").unwrap_or(0);
        let kv_cache = (2 * layers * kv_heads * context * head_dim * kv_bytes) as u64;
        Self {
            weights,
            kv_cache,
            context,
        }
    }

    /// Weights and KV cache together.
    pub fn total(&self) -> u64 {
        self.weights + self.kv_cache
    }
}

/// `bytes` in GiB with two decimals, for messages.
pub fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Whether an error's text is a device's out-of-memory error (CUDA's
/// `CUDA_ERROR_OUT_OF_MEMORY`, or any "out of memory").
pub fn is_out_of_memory(text: &str) -> bool {
    text.contains("OUT_OF_MEMORY") || text.to_ascii_lowercase().contains("out of memory")
}

/// The message of `ModelError::OutOfMemory`.
pub fn out_of_memory_message(device: &str, needed: &Footprint, free: Option<u64>) -> String {
    let free = free.map_or_else(String::new, |f| {
        format!(", and {device} has {} free", gib(f))
    });
    format!(
        "out of memory on {device} loading the model: it needs about {} ({} of weights and {} of \
         KV cache for {} positions){free}; lower the context (--context), use a smaller \
         quantization of the model, free the GPU, or run on the CPU (--device cpu)",
        gib(needed.total()),
        gib(needed.weights),
        gib(needed.kv_cache),
        needed.context
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{gguf_file, GgmlDType};
    use std::collections::HashMap;

    fn content() -> gguf_file::Content {
        let mut metadata = HashMap::new();
        for (k, v) in [
            ("gemma3.block_count", 18u32),
            ("gemma3.attention.head_count", 4),
            ("gemma3.attention.head_count_kv", 1),
            ("gemma3.attention.key_length", 256),
            ("gemma3.context_length", 32_768),
        ] {
            metadata.insert(k.to_string(), gguf_file::Value::U32(v));
        }
        let tensor = |dtype, dims: &[usize]| gguf_file::TensorInfo {
            ggml_dtype: dtype,
            shape: dims.into(),
            offset: 0,
        };
        let tensor_infos = HashMap::from([
            // 64 Q8_0 blocks of 34 bytes and 8 Q4_K blocks of 144 bytes.
            ("a".to_string(), tensor(GgmlDType::Q8_0, &[16, 128])),
            ("b".to_string(), tensor(GgmlDType::Q4K, &[8, 256])),
            ("norm".to_string(), tensor(GgmlDType::F32, &[640])),
        ]);
        gguf_file::Content {
            magic: gguf_file::VersionedMagic::GgufV3,
            metadata,
            tensor_infos,
            tensor_data_offset: 0,
        }
    }

    #[test]
    fn counts_the_stored_weights_and_the_kv_cache() {
        let f = Footprint::of(&content(), "gemma3", 8192, 4);
        assert_eq!(f.weights, 64 * 34 + 8 * 144 + 640 * 4);
        assert_eq!(f.kv_cache, 2 * 18 * 8192 * 256 * 4);
        assert_eq!(f.context, 8192);
        assert_eq!(f.total(), f.weights + f.kv_cache);
        // The context is clamped to the trained one, as the models clamp it.
        assert_eq!(
            Footprint::of(&content(), "gemma3", 1 << 20, 2).context,
            32_768
        );
        // Another architecture's keys are absent: the weights alone.
        assert_eq!(Footprint::of(&content(), "llama", 8192, 2).kv_cache, 0);
    }

    #[test]
    fn recognises_out_of_memory_errors_and_says_how_much() {
        assert!(is_out_of_memory(
            "DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")"
        ));
        assert!(!is_out_of_memory(
            "DriverError(CUDA_ERROR_NO_DEVICE, \"no device\")"
        ));
        let needed = Footprint {
            weights: 3 << 30,
            kv_cache: 1 << 29,
            context: 8192,
        };
        let msg = out_of_memory_message("cuda:0", &needed, Some(1 << 30));
        assert!(
            msg.starts_with("out of memory on cuda:0 loading the model: it needs about 3.50 GiB")
                && msg.contains("3.00 GiB of weights and 0.50 GiB of KV cache for 8192 positions")
                && msg.contains("cuda:0 has 1.00 GiB free")
                && msg.contains("--context")
                && msg.contains("--device cpu"),
            "{msg}"
        );
    }
}
