//! The Gemma 3 model on the real 270M GGUF: greedy continuations agree with llama.cpp's
//! (tests/data/engine/greedy.json, written by scripts/golden-greedy.py), decode after prefill
//! matches a longer prefill past the 512-token window, and a reused prefix matches a fresh
//! prefill. Skipped when LONGWRITER_SKIP_REAL_MODEL is set.

use candle_core::{Device, Tensor};
use longwriter::engine::models::{self, Model};
use std::path::PathBuf;

fn model_path() -> PathBuf {
    crate::support::cached("GEMMA_GGUF", "models/gemma-3-270m-q4_k_m.gguf")
}

fn load(context: usize) -> Option<Box<dyn Model>> {
    if std::env::var_os("LONGWRITER_SKIP_REAL_MODEL").is_some() {
        eprintln!("model test skipped: LONGWRITER_SKIP_REAL_MODEL is set");
        return None;
    }
    Some(models::load(&model_path(), context, &Device::Cpu).expect("model loads"))
}

fn argmax(logits: &Tensor) -> u32 {
    logits.argmax(0).unwrap().to_scalar::<u32>().unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// Deterministic token ids (ordinary vocabulary, no specials) for long sequences.
fn filler(n: usize) -> Vec<u32> {
    let mut ids = vec![2u32];
    ids.extend((1..n as u32).map(|i| 1000 + (i * 7919) % 20000));
    ids
}

/// Log-softmax of one logits vector.
fn log_probs(logits: &Tensor) -> Vec<f32> {
    let v = logits.to_vec1::<f32>().unwrap();
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = max + v.iter().map(|x| (x - max).exp()).sum::<f32>().ln();
    v.into_iter().map(|x| x - lse).collect()
}

/// The middle value (0 for none).
fn median(values: &mut [f32]) -> f32 {
    values.sort_by(f32::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Free-running greedy continuations against llama.cpp's (the measure), and a
/// teacher-forced comparison that feeds llama.cpp's own tokens and checks our log-probabilities
/// of its top-5 tokens at every step. The golden file was made by llama-server with its default
/// f16 KV cache and flash attention off, the arithmetic our kernels reproduce.
#[test]
fn greedy_agrees_with_llama_cpp() {
    let Some(mut model) = load(1024) else { return };
    // LONGWRITER_GREEDY_GOLDEN points the comparison at another llama.cpp run (see
    // scripts/llama-self-agreement.py); the committed file is the default.
    let golden = std::env::var("LONGWRITER_GREEDY_GOLDEN")
        .unwrap_or_else(|_| "tests/data/engine/greedy.json".into());
    let data = std::fs::read_to_string(&golden).unwrap();
    let cases: serde_json::Value = serde_json::from_str(&data).unwrap();
    let (mut agreeing, mut first4) = (0, 0);
    let (mut steps, mut confident, mut confident_same, mut worst) = (0, 0, 0, 0f32);
    let mut diffs = Vec::new();
    for case in cases.as_array().unwrap() {
        let ids: Vec<u32> = serde_json::from_value(case["prompt_ids"].clone()).unwrap();
        let golden: Vec<u32> = serde_json::from_value(case["greedy"].clone()).unwrap();
        let top: Vec<Vec<(u32, f32)>> = serde_json::from_value(case["top"].clone()).unwrap();
        model.truncate(0);
        let mut next = argmax(&model.forward(&ids).unwrap());
        let mut ours = Vec::new();
        for _ in 0..golden.len() {
            ours.push(next);
            next = argmax(&model.forward(&[next]).unwrap());
        }
        let split = ours.iter().zip(&golden).position(|(a, b)| a != b);
        match split {
            None => agreeing += 1,
            Some(i) => println!(
                "{:?}: differs at step {i}: llama.cpp {} vs ours {}, llama.cpp's margin there \
                 {:.3} nats",
                case["prompt"],
                golden[i],
                ours[i],
                top[i][0].1 - top[i][1].1
            ),
        }
        if ours[..4] == golden[..4] {
            first4 += 1;
        }
        // Teacher-forced: llama.cpp's prefix at every step.
        model.truncate(0);
        let mut logits = model.forward(&ids).unwrap();
        for (i, want) in golden.iter().enumerate() {
            let lp = log_probs(&logits);
            for &(id, theirs) in &top[i] {
                worst = worst.max((lp[id as usize] - theirs).abs());
                diffs.push((lp[id as usize] - theirs).abs());
            }
            steps += 1;
            if top[i][0].1 - top[i][1].1 > 0.5 {
                confident += 1;
                if argmax(&logits) == *want {
                    confident_same += 1;
                }
            }
            logits = model.forward(&[*want]).unwrap();
        }
    }
    println!(
        "greedy agreement: {agreeing}/5 (all 16 tokens), {first4}/5 (first 4 tokens); teacher-\
         forced: our top token is llama.cpp's at {confident_same}/{confident} steps where its \
         margin exceeds 0.5 nats ({steps} steps in all), |log-prob diff| over its top-5: \
         median {:.3}, max {worst:.3}",
        median(&mut diffs)
    );
    // This 270M model turns summation-order differences into ~0.1-0.3 nats by its last
    // layer (its activations reach 5e4), so near-ties flip and a free-running continuation
    // then goes its own way. llama.cpp against itself with another of its own kernels (flash
    // attention on, an f32 cache, or no weight repacking; scripts/llama-self-agreement.py)
    // agrees on all 16 tokens for only 2 or 3 of these 5 prompts. The engine reaches the
    // issue's 4 of 5 because it does llama.cpp's arithmetic where it matters (its activation
    // quantization and Q8_0 dot order, its f16 GELU table, f16 queries and weights in
    // attention); a change there may move this count, and the failure says where.
    assert!(
        agreeing >= 4,
        "all 16 greedy tokens agree on {agreeing} of 5 prompts (the issue asks for 4)"
    );
    assert_eq!(
        confident_same, confident,
        "top tokens differ where llama.cpp is confident"
    );
    assert!(worst < 1.0, "log-probabilities differ by up to {worst}");
    assert_eq!(
        first4, 5,
        "the first 4 greedy tokens should agree on every prompt"
    );
}

#[test]
fn decode_matches_prefill_past_the_window() {
    let Some(mut model) = load(1024) else { return };
    let ids = filler(700);
    let full = model.forward(&ids).unwrap();
    model.truncate(0);
    model.forward(&ids[..699]).unwrap();
    let stepped = model.forward(&ids[699..]).unwrap();
    let diff = max_abs_diff(&full, &stepped);
    println!("prefill(700) vs prefill(699)+decode(1): max abs diff {diff}");
    // Every kernel sums in the same order whatever the batch size: exactly equal.
    assert_eq!(diff, 0.0, "max abs diff {diff}");
    assert_eq!(argmax(&full), argmax(&stepped));
}

#[test]
fn reused_prefix_matches_fresh_prefill() {
    let Some(mut model) = load(1024) else { return };
    let ids = filler(640);
    let mut other = ids[..600].to_vec();
    other.extend(filler(50).iter().map(|t| t + 3));
    model.forward(&other).unwrap();
    model.truncate(600);
    let reused = model.forward(&ids[600..]).unwrap();
    model.truncate(0);
    let fresh = model.forward(&ids).unwrap();
    let diff = max_abs_diff(&reused, &fresh);
    println!("reused prefix vs fresh prefill: max abs diff {diff}");
    assert_eq!(diff, 0.0, "max abs diff {diff}");
    assert_eq!(argmax(&reused), argmax(&fresh));
}

#[test]
fn prompt_longer_than_the_context_is_refused() {
    let Some(mut model) = load(64) else { return };
    let err = model.forward(&filler(65)).unwrap_err();
    assert!(
        err.to_string().contains("do not fit in the context of 64"),
        "{err}"
    );
}
