//! `longwriter eval`: LongBench-Write and LongWrite-Ruler, scored as the LongWriter paper scores
//! them. `dataset` holds the embedded prompt sets, `score` the length score S_l and its buckets,
//! `judge` the quality score S_q from a judge model's reply, `proxies` the judge-free measures
//! (repetition and echo), `document` one document's measures, `report` the table and JSON. All
//! of it is pure; the command line runs the documents through the same pipeline as `write` and
//! hands the texts in.

pub mod dataset;
pub mod document;
pub mod judge;
pub mod proxies;
pub mod report;
pub mod score;

pub use score::Bucket;
