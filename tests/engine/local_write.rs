//! The built-in engine writing real documents on the Gemma 3 270M file, and how much of each
//! prompt the KV-cache prefix reuse saved over a 10-section document. Gemma 270M rarely plans
//! 10 sections when asked, so the project is created in the store with a 10-section plan and
//! written by `longwriter resume` (the same pipeline as `write` after its plan step). Skipped
//! when LONGWRITER_SKIP_REAL_MODEL is set.

use crate::support::cached;
use longwriter::backend::PromptMode;
use longwriter::plan::{Plan, Section, SectionState};
use longwriter::store::{BackendRecord, NewProject, Store};
use longwriter::writer::{GuardSettings, WriterSettings};
use std::path::{Path, PathBuf};
use std::process::Output;

fn skipped() -> bool {
    let skip = std::env::var_os("LONGWRITER_SKIP_REAL_MODEL").is_some();
    if skip {
        eprintln!("local write test skipped: LONGWRITER_SKIP_REAL_MODEL is set");
    }
    skip
}

fn gemma() -> PathBuf {
    cached("GEMMA_GGUF", "models/gemma-3-270m-q4_k_m.gguf")
}

/// A project in the store under `data` with a plan of `titles`, `words` words each, written
/// by whatever backend `record` names.
fn planned_project(data: &Path, titles: &[&str], words: usize, record: BackendRecord) -> String {
    planned_project_with(data, titles, words, record, WriterSettings::default())
}

/// [`planned_project`] with these writer settings.
fn planned_project_with(
    data: &Path,
    titles: &[&str],
    words: usize,
    record: BackendRecord,
    settings: WriterSettings,
) -> String {
    let mut project = Store::at(data)
        .create(NewProject {
            instruction: format!(
                "Write a {}-word guide to keeping bees, in {} sections",
                words * titles.len(),
                titles.len()
            ),
            target_words: words * titles.len(),
            language: longwriter::text::Language::English,
            settings,
            backend: record,
        })
        .unwrap();
    project.manifest.plan = Some(Plan {
        sections: titles
            .iter()
            .map(|t| Section {
                title: t.to_string(),
                main_point: format!("Explain {} to a beginner beekeeper.", t.to_lowercase()),
                target_words: words,
                state: SectionState::Planned,
            })
            .collect(),
        fallback: false,
        chapters: Vec::new(),
    });
    project.save_manifest().unwrap();
    project.id().to_string()
}

/// Runs `longwriter ARGS` with `dir` as config folder and `dir/data` as data folder, the engine's
/// per-request token counts on stderr.
fn longwriter(dir: &Path, args: &[&str], envs: &[(&str, &Path)]) -> Output {
    std::process::Command::new(crate::support::binary())
        .args(args)
        .args(["--context", "8192", "--temperature", "0.7", "--seed", "1"])
        .env("LONGWRITER_CONFIG_DIR", dir)
        .env("LONGWRITER_DATA", dir.join("data"))
        .env("LONGWRITER_LOG", "longwriter::engine=debug")
        .env("NO_COLOR", "1")
        .env_remove("LONGWRITER_BASE_URL")
        .env_remove("LONGWRITER_MODEL")
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

/// The number just before `label` in `line` (`"380 prompt tokens"` -> 380).
fn number_before(line: &str, label: &str) -> Option<u64> {
    let head = &line[..line.find(label)?];
    let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    head[head.len() - digits..].parse().ok()
}

/// The engine's per-request counts (`engine: request: P prompt tokens, C computed, …`, logged
/// once the prompt is in, so requests the writer cuts short by dropping the stream count too),
/// printed and summed: (P, C).
fn prompt_tokens(stderr: &str) -> (u64, u64) {
    let (mut sent, mut computed) = (0, 0);
    for line in stderr.lines().filter(|l| l.contains("longwriter::engine")) {
        let (Some(p), Some(c)) = (
            number_before(line, " prompt tokens"),
            number_before(line, " computed"),
        ) else {
            continue;
        };
        println!("  request: {p} prompt tokens, {c} computed");
        sent += p;
        computed += c;
    }
    (sent, computed)
}

#[test]
fn a_ten_section_document_reuses_the_kv_cache_prefix() {
    if skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // `--local` with no `--model`: the engine takes the first GGUF in the data dir's models/.
    let models = dir.path().join("data/models");
    std::fs::create_dir_all(&models).unwrap();
    std::os::unix::fs::symlink(gemma(), models.join("gemma.gguf")).unwrap();
    let titles = [
        "Why Keep Bees",
        "Choosing a Site",
        "The Hive",
        "Protective Gear",
        "Getting Bees",
        "Hive Inspections",
        "Feeding",
        "Pests and Disease",
        "Harvesting Honey",
        "Winter",
    ];
    let id = planned_project(&dir.path().join("data"), &titles, 40, Default::default());
    let out = dir.path().join("doc.md");
    let output = longwriter(
        dir.path(),
        &["resume", &id, "--local", "-o", out.to_str().unwrap()],
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let doc = std::fs::read_to_string(&out).unwrap();
    assert_eq!(doc.matches("## ").count(), 10, "{doc}");
    assert!(doc.split_whitespace().count() > 200, "{doc}");
    let (sent, computed) = prompt_tokens(&stderr);
    println!(
        "prefix reuse, 10-section document: {computed} of {sent} prompt tokens computed ({:.0}% reused from the KV cache)",
        100.0 * (sent - computed) as f64 / sent.max(1) as f64
    );
    // Each section's prompt is the previous one plus its text plus the next step, so most of
    // it is in the cache already; without reuse every prompt would be computed in full.
    assert!(sent > 0 && computed * 2 < sent, "{stderr}");
}

#[test]
fn without_a_server_the_engine_writes_with_longwriter_model() {
    if skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let id = planned_project(
        &dir.path().join("data"),
        &["A Short Note"],
        25,
        Default::default(),
    );
    let out = dir.path().join("note.md");
    // No --local, no server anywhere: the engine writes, with the model LONGWRITER_MODEL names.
    let output = longwriter(
        dir.path(),
        &["resume", &id, "-o", out.to_str().unwrap()],
        &[("LONGWRITER_MODEL", &gemma())],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // The engine's own log lines say it generated.
    assert!(prompt_tokens(&stderr).0 > 0, "{stderr}");
    let doc = std::fs::read_to_string(&out).unwrap();
    assert!(doc.split_whitespace().count() > 5, "{doc}");
}

#[test]
fn a_detached_local_run_loads_the_model_once_in_its_worker() {
    if skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = gemma();
    let args = [
        "write",
        "A short note about bees",
        "--words",
        "60",
        "--local",
        "--model",
        model.to_str().unwrap(),
        "--detach",
    ];
    let output = longwriter(dir.path(), &args, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // The parent only checked the file; the weights are loaded by the worker alone.
    assert!(!stderr.contains("engine: loaded"), "{stderr}");
    let id = String::from_utf8_lossy(&output.stdout).trim().to_string();
    // `attach` follows the worker to its end.
    let attach = std::process::Command::new(crate::support::binary())
        .args(["attach", &id])
        .env("LONGWRITER_CONFIG_DIR", dir.path())
        .env("LONGWRITER_DATA", dir.path().join("data"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        attach.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&attach.stderr)
    );
    let project = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("worker.log").exists())
        .expect("the project folder has the worker's log");
    let log = std::fs::read_to_string(project.join("worker.log")).unwrap();
    assert_eq!(log.matches("engine: loaded").count(), 1, "{log}");
}

#[test]
fn a_detached_local_run_with_a_broken_model_fails_before_detaching() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.gguf");
    std::fs::write(&bad, b"GGUF but not really").unwrap();
    let args = ["write", "A note", "--words", "60", "--local", "--model"];
    let output = longwriter(
        dir.path(),
        &[&args[..], &[bad.to_str().unwrap(), "--detach"]].concat(),
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("broken.gguf"), "{stderr}");
    assert!(output.stdout.is_empty(), "no project id is printed");
}

/// The CI run of the rolling memory on the real model: a window so small (640 tokens) that the
/// second section only fits once the first is summarized. The summaries are stored beside
/// the sections and are not in the exported document.
#[test]
fn a_tiny_window_forces_summaries_on_the_real_model() {
    if skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let titles = ["The Keeper Arrives", "The Last Night"];
    // This test is about the window: summaries forced by a 640-token context. It runs the
    // setting it was written for, chat prompts with no guards, so that what Gemma 270M writes
    // (tests/engine/completion_write.rs tries completion mode) cannot empty a section.
    let settings = WriterSettings {
        mode: Some(PromptMode::Chat),
        guards: GuardSettings {
            enabled: false,
            ..GuardSettings::default()
        },
        ..WriterSettings::default()
    };
    let id = planned_project_with(
        &dir.path().join("data"),
        &titles,
        150,
        Default::default(),
        settings,
    );
    let out = dir.path().join("doc.md");
    let gemma = gemma();
    let output = std::process::Command::new(crate::support::binary())
        .args(["resume", &id, "--local", "--model", gemma.to_str().unwrap()])
        .args([
            "-o",
            out.to_str().unwrap(),
            "--context",
            "640",
            "--seed",
            "1",
        ])
        .env("LONGWRITER_CONFIG_DIR", dir.path())
        .env("LONGWRITER_DATA", dir.path().join("data"))
        .env("NO_COLOR", "1")
        .env_remove("LONGWRITER_BASE_URL")
        .env_remove("LONGWRITER_MODEL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let doc = std::fs::read_to_string(&out).unwrap();
    assert_eq!(doc.matches("## ").count(), 2, "{doc}");
    let project = Store::at(dir.path().join("data")).find(&id).unwrap();
    let summaries: Vec<String> = (1..=2)
        .filter_map(|n| {
            std::fs::read_to_string(project.join(format!("sections/{n:03}.summary.json"))).ok()
        })
        .collect();
    assert!(
        !summaries.is_empty(),
        "at least one section was summarized: {stderr}"
    );
    for json in &summaries {
        let summary: serde_json::Value = serde_json::from_str(json).unwrap();
        let text = summary["text"].as_str().unwrap_or_default();
        assert!(!text.trim().is_empty(), "{json}");
        let fallback = summary["fallback"] == true;
        assert!(
            fallback || text.len() < 40 || !doc.contains(text),
            "a summary is never exported: {text}"
        );
    }
}
