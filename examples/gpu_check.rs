//! The engine on a GPU against the engine on the CPU, on the real model: 16 greedy tokens for
//! each prompt of the greedy test (tests/data/engine/greedy.json, whose llama.cpp tokens are
//! compared too), the GPU's log-probabilities along the CPU's path (teacher-forced), the
//! prefix reuse on the GPU (a cached prefix plus the rest against a fresh prefill), and prefill
//! and decode tokens/s on both devices. scripts/gpu-check.sh builds and runs it.
//!
//! cargo run --release --features cuda --example gpu_check -- MODEL.gguf GREEDY.json [DEVICE]
//!
//! Exits 2 when it cannot run (no GPU, no model) and 1 when the devices disagree where they must not: a first-4-token difference on any
//! prompt, a top token that differs where the CPU's margin exceeds 0.5 nats, or a reused
//! prefix that changes the next token.

use candle_core::{Device, Tensor};
use longwriter::engine::device::DeviceChoice;
use longwriter::engine::models::{self, Model};
use std::time::Instant;

type Error = Box<dyn std::error::Error>;

/// One prompt of the greedy test.
struct Case {
    prompt: String,
    ids: Vec<u32>,
    llama_cpp: Vec<u32>,
}

fn main() {
    match run() {
        Ok(true) => println!("OK"),
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("gpu_check: {e}");
            std::process::exit(2);
        }
    }
}

/// The whole check; `Ok(false)` when a check failed (the output says which).
fn run() -> Result<bool, Error> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: gpu_check MODEL.gguf GREEDY.json [DEVICE (default cuda:0)]";
    let (model, golden) = (args.get(1).ok_or(usage)?, args.get(2).ok_or(usage)?);
    let choice: DeviceChoice = args.get(3).map_or("cuda:0", String::as_str).parse()?;
    let device = choice.open()?;
    let cases = read_cases(golden)?;
    let path = std::path::Path::new(model);
    let t = Instant::now();
    let mut gpu = models::load(path, 4096, &device)?;
    println!("loaded on {choice} in {:.1} s", t.elapsed().as_secs_f64());
    let mut cpu = models::load(path, 4096, &Device::Cpu)?;
    let mut failures = agreement(&mut *cpu, &mut *gpu, &choice, &cases)?;
    failures += prefix_reuse(&mut *gpu, &choice)?;
    for (name, model) in [
        (choice.to_string(), &mut gpu),
        ("cpu".to_string(), &mut cpu),
    ] {
        let (prefill, decode) = speed(&mut **model)?;
        println!("speed {name}: prefill_tok_s={prefill:.1} decode_tok_s={decode:.1}");
    }
    if failures > 0 {
        println!("FAILED: {failures} check(s) above");
    }
    Ok(failures == 0)
}

fn read_cases(path: &str) -> Result<Vec<Case>, Error> {
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let cases = json
        .as_array()
        .ok_or("the greedy file is not a JSON array")?;
    cases
        .iter()
        .map(|c| {
            Ok(Case {
                prompt: c["prompt"].as_str().unwrap_or_default().to_string(),
                ids: serde_json::from_value(c["prompt_ids"].clone())?,
                llama_cpp: serde_json::from_value(c["greedy"].clone())?,
            })
        })
        .collect()
}

fn argmax(logits: &Tensor) -> Result<u32, Error> {
    Ok(logits.argmax(0)?.to_scalar::<u32>()?)
}

fn log_probs(logits: &Tensor) -> Result<Vec<f32>, Error> {
    let v = logits.to_device(&Device::Cpu)?.to_vec1::<f32>()?;
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = max + v.iter().map(|x| (x - max).exp()).sum::<f32>().ln();
    Ok(v.into_iter().map(|x| x - lse).collect())
}

/// `n` greedy tokens after `ids`, from an empty cache.
fn greedy(model: &mut dyn Model, ids: &[u32], n: usize) -> Result<Vec<u32>, Error> {
    model.truncate(0);
    let mut next = argmax(&model.forward(ids)?)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(next);
        next = argmax(&model.forward(&[next])?)?;
    }
    Ok(out)
}

/// Greedy agreement per prompt, and the GPU's log-probabilities of the CPU's top-5 tokens
/// along the CPU's path. Returns the number of failed checks.
fn agreement(
    cpu: &mut dyn Model,
    gpu: &mut dyn Model,
    choice: &DeviceChoice,
    cases: &[Case],
) -> Result<usize, Error> {
    let (mut all16, mut first4, mut with_llama) = (0, 0, 0);
    let (mut confident, mut confident_same, mut worst) = (0, 0, 0f32);
    for case in cases {
        let ours = greedy(cpu, &case.ids, 16)?;
        let theirs = greedy(gpu, &case.ids, 16)?;
        let split = ours.iter().zip(&theirs).position(|(a, b)| a != b);
        all16 += usize::from(split.is_none());
        first4 += usize::from(ours[..4] == theirs[..4]);
        with_llama += usize::from(theirs == case.llama_cpp);
        println!(
            "{:?}: {choice} {:?}{}",
            case.prompt,
            theirs,
            split.map_or(String::new(), |i| format!(
                " (cpu differs from step {i}: {ours:?})"
            ))
        );
        cpu.truncate(0);
        gpu.truncate(0);
        let (mut c, mut g) = (cpu.forward(&case.ids)?, gpu.forward(&case.ids)?);
        for &token in &ours {
            let (lc, lg) = (log_probs(&c)?, log_probs(&g)?);
            let mut top: Vec<usize> = (0..lc.len()).collect();
            top.select_nth_unstable_by(5, |a, b| lc[*b].total_cmp(&lc[*a]));
            top.truncate(5);
            top.sort_by(|a, b| lc[*b].total_cmp(&lc[*a]));
            for &id in &top {
                worst = worst.max((lc[id] - lg[id]).abs());
            }
            if lc[top[0]] - lc[top[1]] > 0.5 {
                confident += 1;
                confident_same += usize::from(argmax(&g)? == top[0] as u32);
            }
            (c, g) = (cpu.forward(&[token])?, gpu.forward(&[token])?);
        }
    }
    let n = cases.len();
    println!(
        "agreement {choice} vs cpu: all 16 tokens {all16}/{n}, first 4 tokens {first4}/{n}; \
         {choice} vs llama.cpp: all 16 {with_llama}/{n}; teacher-forced: same top token at \
         {confident_same}/{confident} steps where the cpu's margin exceeds 0.5 nats, max \
         |log-prob diff| over the cpu's top-5 {worst:.3}"
    );
    Ok(usize::from(first4 < n) + usize::from(confident_same < confident))
}

/// Deterministic ordinary token ids, as the engine's benchmark uses.
fn filler(n: usize) -> Vec<u32> {
    std::iter::once(2)
        .chain((1..n as u32).map(|i| 1000 + (i * 7919) % 20000))
        .collect()
}

/// A prefix kept in the KV cache plus the rest against a fresh prefill of the whole: the
/// worker's prefix reuse, on the device. Returns the number of failed checks.
fn prefix_reuse(model: &mut dyn Model, choice: &DeviceChoice) -> Result<usize, Error> {
    let ids = filler(700);
    model.truncate(0);
    let fresh = model.forward(&ids)?;
    model.truncate(600);
    let reused = model.forward(&ids[600..])?;
    let diff = (&fresh - &reused)?.abs()?.max(0)?.to_scalar::<f32>()?;
    let same = argmax(&fresh)? == argmax(&reused)?;
    println!("prefix reuse on {choice}: 600 cached + 100 new vs 700 fresh: max |logit diff| {diff:.4}, same next token: {same}");
    Ok(usize::from(!same))
}

/// Prefill tokens/s on a 1,500-token prompt and decode tokens/s over 64 greedy steps after
/// it, after one warm-up of each (a GPU compiles and caches its kernels on first use).
fn speed(model: &mut dyn Model) -> Result<(f64, f64), Error> {
    let prompt = filler(1500);
    model.truncate(0);
    let warm = model.forward(&prompt[..64])?;
    argmax(&model.forward(&[argmax(&warm)?])?)?;
    model.truncate(0);
    let t = Instant::now();
    let mut logits = model.forward(&prompt)?;
    let mut next = argmax(&logits)?;
    let prefill = prompt.len() as f64 / t.elapsed().as_secs_f64();
    let steps = 64;
    let t = Instant::now();
    for _ in 0..steps {
        logits = model.forward(&[next])?;
        next = argmax(&logits)?;
    }
    Ok((prefill, steps as f64 / t.elapsed().as_secs_f64()))
}
