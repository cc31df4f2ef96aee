//! Teacher-forced comparison with llama.cpp's golden log-probabilities
//! (tests/data/engine/greedy.json): at every step, feeds llama.cpp's own token and reports
//! our log-probability of each of its top-5 tokens against its own, and whether our top token
//! is its top token. A diagnostic for the engine's numerics.
//!
//! cargo run --release --example logprob_diff -- MODEL.gguf

use candle_core::{Device, D};
use longwriter::engine::models;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: logprob_diff MODEL.gguf")?;
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("tests/data/engine/greedy.json")?)?;
    let mut model = models::load(std::path::Path::new(&path), 1024, &Device::Cpu)?;
    let mut worst = 0f32;
    let (mut same, mut steps) = (0, 0);
    for case in cases.as_array().ok_or("not a list")? {
        let ids: Vec<u32> = serde_json::from_value(case["prompt_ids"].clone())?;
        let golden: Vec<u32> = serde_json::from_value(case["greedy"].clone())?;
        let top: Vec<Vec<(u32, f32)>> = serde_json::from_value(case["top"].clone())?;
        model.truncate(0);
        let mut logits = model.forward(&ids)?;
        for (i, want) in golden.iter().enumerate() {
            let lp = candle_core::Tensor::log_sum_exp(&logits, D::Minus1)?.to_scalar::<f32>()?;
            let ours = logits.to_vec1::<f32>()?;
            let argmax = (0..ours.len())
                .max_by(|&a, &b| ours[a].total_cmp(&ours[b]))
                .unwrap_or(0);
            let diffs: Vec<String> = top[i]
                .iter()
                .map(|&(id, theirs)| {
                    let d = ours[id as usize] - lp - theirs;
                    worst = worst.max(d.abs());
                    format!("{id}:{d:+.3}")
                })
                .collect();
            steps += 1;
            if argmax as u32 == *want {
                same += 1;
            }
            let margin = top[i][0].1 - top[i][1].1;
            println!(
                "step {i:2} want {want:6} ours {argmax:6} margin {margin:.3}  {}",
                diffs.join(" ")
            );
            logits = model.forward(&[*want])?;
        }
        println!();
    }
    println!("top token agrees at {same}/{steps} steps; max |logprob diff| {worst:.4}");
    Ok(())
}
