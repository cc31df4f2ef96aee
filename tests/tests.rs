//! Integration tests: one binary, topic modules, shared support.

mod support;

mod backend_protocol;
mod cli_errors;
mod cli_write;
mod real_model;
mod studio;
