//! The built-in inference engine. Pure building blocks: reading GGUF model files (`gguf`) and
//! turning text into token ids and back exactly as llama.cpp does (`tokenizer`), and the
//! `--device` choice (`device`). With the
//! `candle` feature: the models on candle tensors (`models`) run by a worker thread that owns
//! them (`worker`) in batched steps (`batcher`), rendered chat templates (`chat`), sampling (`sampler`) and the
//! `LocalBackend` the CLI registers.

pub mod chat;
pub mod device;
pub mod gguf;
pub mod sampler;
pub mod threads;
pub mod tokenizer;

#[cfg(feature = "candle")]
pub mod batcher;
#[cfg(feature = "candle")]
pub mod local;
#[cfg(feature = "candle")]
pub mod models;
#[cfg(feature = "candle")]
pub mod worker;
