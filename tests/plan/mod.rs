//! The plan parser and validation on realistic model replies (table tests), rescaling,
//! splitting, merging and a randomized robustness run.

mod build;
mod cases_json_zh_messy;
mod cases_markdown;
mod common;
mod robust;
