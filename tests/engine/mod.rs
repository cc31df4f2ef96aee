//! The engine's pure parts: GGUF metadata reading and the tokenizer, on synthetic files and
//! against llama.cpp's own tokenization of golden sets (Gemma 3 270M in `golden`, small
//! byte-level BPE vocabularies per pre-tokenizer in `golden_bpe`); with `candle`, the model
//! itself against llama.cpp (`model`), and the other architectures on tiny synthetic models
//! (`arch`, `tiny_model`) against `llama-server` (`llama_cpp`), and batched decoding of several
//! sequences (`batching`).

#[cfg(feature = "candle")]
mod arch;
#[cfg(feature = "candle")]
mod batching;
#[cfg(feature = "candle")]
mod completion_write;
mod golden;
mod golden_bpe;
#[cfg(feature = "candle")]
mod llama_cpp;
#[cfg(feature = "candle")]
mod load_errors;
#[cfg(feature = "candle")]
mod local_write;
#[cfg(feature = "candle")]
mod model;
mod synthetic;
#[cfg(feature = "candle")]
mod tiny_model;
