//! Times the tied output projection of a GGUF (token_embd as `x @ W^T` for one row): the
//! largest single matmul of a decode step on small models. Prints ms per call and GB/s.
//!
//! cargo run --release --example bench_output -- MODEL.gguf [THREADS]

use candle_core::quantized::{gguf_file, QMatMul};
use candle_core::{Device, Module, Tensor};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: bench_output MODEL.gguf [THREADS]")?;
    if let Some(n) = args.get(2) {
        std::env::set_var("CANDLE_NUM_THREADS", n);
    }
    let mut file = std::fs::File::open(path)?;
    let ct = gguf_file::Content::read(&mut file)?;
    let w = ct.tensor(&mut file, "token_embd.weight", &Device::Cpu)?;
    let bytes = w.storage_size_in_bytes();
    let (_, k) = w.shape().dims2()?;
    let mm = QMatMul::from_qtensor(w)?;
    let x = Tensor::randn(0f32, 1.0, (1, k), &Device::Cpu)?;
    mm.forward(&x)?;
    let runs = 30;
    let t = Instant::now();
    for _ in 0..runs {
        mm.forward(&x)?;
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    println!(
        "output projection: {ms:.2} ms per row, {:.1} GB/s",
        bytes as f64 / ms / 1e6
    );
    Ok(())
}
