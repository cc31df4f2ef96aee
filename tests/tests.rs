//! Integration tests: one binary, topic modules, shared support.

mod support;

mod backend_protocol;
mod cli_errors;
mod cli_write;
mod engine;
mod plan;
mod real_model;
mod store;
mod studio;
