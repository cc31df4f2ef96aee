//! LongWriter Studio: writes very long texts with language models by the AgentWrite method.
//!
//! The library holds everything; `main.rs` only parses arguments and maps errors to exit codes.
//! Dependencies point one way: `text`, `plan` and `prompt` are pure; `backend` talks to model
//! servers; `writer` drives the AgentWrite pipeline over the `Backend` trait and knows no
//! concrete backend; `cli` is the only place that builds concrete backends.

pub mod backend;
pub mod batch;
pub mod cli;
pub mod config;
pub mod engine;
pub mod eval;
pub mod export;
pub mod plan;
pub mod prompt;
pub mod server;
pub mod store;
pub mod text;
pub mod tui;
pub mod writer;
