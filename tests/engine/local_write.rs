//! `longwriter write --local --model <gguf>` end to end on the real Gemma 3 270M file, and
//! how much of each prompt the KV-cache prefix reuse saved over a 10-section document.
//! Skipped when LONGWRITER_SKIP_REAL_MODEL is set.

use crate::support::{binary, cached};

#[test]
fn write_local_produces_a_document_and_reuses_prefixes() {
    if std::env::var_os("LONGWRITER_SKIP_REAL_MODEL").is_some() {
        eprintln!("local write test skipped: LONGWRITER_SKIP_REAL_MODEL is set");
        return;
    }
    let model = cached("GEMMA_GGUF", "models/gemma-3-270m-q4_k_m.gguf");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.md");
    let output = std::process::Command::new(binary())
        .args([
            "write",
            "Write a 400-word guide to keeping bees, in 10 sections",
        ])
        .args([
            "--local",
            "--model",
            model.to_str().unwrap(),
            "--words",
            "400",
        ])
        .args(["--context", "8192", "--temperature", "0.7", "--seed", "1"])
        .args(["-o", out.to_str().unwrap()])
        .env("LONGWRITER_CONFIG_DIR", dir.path())
        .env("LONGWRITER_DATA", dir.path().join("data"))
        .env("LONGWRITER_LOG", "longwriter::engine=debug")
        .env("NO_COLOR", "1")
        .env_remove("LONGWRITER_BASE_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let doc = std::fs::read_to_string(&out).unwrap();
    assert!(doc.split_whitespace().count() > 100, "{doc}");
    let (mut sent, mut computed) = (0u64, 0u64);
    for line in stderr
        .lines()
        .filter_map(|l| l.split("local engine:").nth(1))
    {
        let nums: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|s| s.parse().ok())
            .collect();
        if let [p, c, _g, ..] = nums[..] {
            sent += p;
            computed += c;
        }
    }
    println!(
        "prompt tokens sent {sent}, computed {computed} ({:.0}% reused)",
        100.0 * (sent - computed) as f64 / sent.max(1) as f64
    );
    assert!(sent > 0 && computed < sent, "{stderr}");
}

/// With no server configured and no `--model`, the engine runs the first GGUF in the data
/// directory's `models/` (where scripts/fetch-model.sh installs Gemma).
#[test]
fn without_a_server_the_engine_uses_the_data_dirs_model() {
    if std::env::var_os("LONGWRITER_SKIP_REAL_MODEL").is_some() {
        eprintln!("local plan test skipped: LONGWRITER_SKIP_REAL_MODEL is set");
        return;
    }
    let model = cached("GEMMA_GGUF", "models/gemma-3-270m-q4_k_m.gguf");
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("data/models");
    std::fs::create_dir_all(&models).unwrap();
    std::os::unix::fs::symlink(&model, models.join("gemma.gguf")).unwrap();
    let output = std::process::Command::new(binary())
        .args([
            "plan",
            "Write a 300-word story about a lighthouse keeper",
            "--json",
        ])
        .args(["--context", "2048", "--temperature", "0.7", "--seed", "1"])
        .env("LONGWRITER_CONFIG_DIR", dir.path())
        .env("LONGWRITER_DATA", dir.path().join("data"))
        .env_remove("LONGWRITER_BASE_URL")
        .env_remove("LONGWRITER_MODEL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(!plan["sections"].as_array().unwrap().is_empty(), "{plan}");
}
