//! Integration tests: one binary, topic modules, shared support.

mod support;

mod backend_protocol;
mod batch;
mod chapters;
mod cli_completions;
mod cli_errors;
mod cli_eval;
mod cli_hardening;
mod cli_profiles;
mod cli_write;
mod completion;
mod context;
mod engine;
mod export;
mod faults;
mod guards;
mod ollama_backend;
mod plan;
mod real_model;
mod serve;
mod serve_cli;
#[cfg(feature = "candle")]
mod serve_engine;
mod serve_guard;
mod serve_limits;
mod serve_ollama;
mod store;
mod studio;
mod studio_chapters;
mod studio_keeps;
mod writer;
