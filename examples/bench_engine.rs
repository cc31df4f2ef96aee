//! Measures the built-in engine on a GGUF: prefill tokens/s on a ~1,500-token prompt and
//! decode tokens/s over 64 greedy steps. Used by scripts/bench-engine.sh.
//!
//! cargo run --release --features candle --example bench_engine -- MODEL.gguf [THREADS]

use candle_core::Device;
use longwriter::engine::models;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: bench_engine MODEL.gguf [THREADS]")?;
    if let Some(n) = args.get(2) {
        std::env::set_var("CANDLE_NUM_THREADS", n);
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.parse()?)
            .build_global()?;
    }
    let mut model = models::load(std::path::Path::new(path), 4096, &Device::Cpu)?;
    let prompt: Vec<u32> = std::iter::once(2)
        .chain((1..1500u32).map(|i| 1000 + (i * 7919) % 20000))
        .collect();
    let t = Instant::now();
    let mut logits = model.forward(&prompt)?;
    let prefill = prompt.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let steps = 64;
    for _ in 0..steps {
        let next = logits.argmax(0)?.to_scalar::<u32>()?;
        logits = model.forward(&[next])?;
    }
    let decode = steps as f64 / t.elapsed().as_secs_f64();
    println!("engine prefill_tok_s={prefill:.1} decode_tok_s={decode:.1}");
    Ok(())
}
