//! The built-in inference engine's pure building blocks: reading GGUF model
//! files (`gguf`) and turning text into token ids and back exactly as
//! llama.cpp does (`tokenizer`). Nothing here does network I/O or needs a GPU.

pub mod gguf;
pub mod tokenizer;
