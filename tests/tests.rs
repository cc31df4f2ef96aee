//! Integration tests: one binary, topic modules, shared support.

mod support;

mod backend_protocol;
mod batch;
mod cli_completions;
mod cli_errors;
mod cli_eval;
mod cli_hardening;
mod cli_write;
mod context;
mod engine;
mod plan;
mod real_model;
mod serve;
mod serve_cli;
#[cfg(feature = "candle")]
mod serve_engine;
mod serve_guard;
mod serve_limits;
mod store;
mod studio;
mod studio_keeps;
mod writer;
