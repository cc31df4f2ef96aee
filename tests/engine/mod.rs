//! The engine's pure parts: GGUF metadata reading and the tokenizer, on synthetic files and
//! against llama.cpp's own tokenization of a golden set (Gemma 3 270M).

mod golden;
mod synthetic;
