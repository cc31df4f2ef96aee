//! Beyond the context window: the real binary writes against a server that enforces a small
//! window, and no request it accepts exceeds it; earlier sections are summarized (once, stored
//! beside their text, never exported); a window too small is refused before anything is
//! generated; a server's refusal for length shrinks the budget.

use crate::support::windowed::{Seen, WindowOptions, WindowedServer};
use crate::support::{assert_success, run_cli, strings};
use longwriter::text::count_words;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A plan in the AgentWrite line format: `n` sections of `each` words.
fn plan(n: usize, each: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "Paragraph {i} - Title: Part {i} - Main Point: Describe stage {i} of the keeper's years at the light. - Word Count: {each} words\n"
            )
        })
        .collect()
}

fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn count(events: &[Value], name: &str) -> usize {
    events.iter().filter(|e| e["event"] == name).count()
}

/// Every request fits the window: none refused, prompt plus `max_tokens` within it.
fn assert_all_fit(seen: &[Seen], window: usize) {
    assert!(!seen.is_empty());
    for (i, s) in seen.iter().enumerate() {
        assert!(
            !s.refused && s.prompt_tokens + s.max_tokens <= window,
            "request {i} ({}) takes {} + {} tokens in a window of {window}",
            s.kind,
            s.prompt_tokens,
            s.max_tokens
        );
    }
}

/// The document's `## Part i` sections, in order, each once; returns the words of the text.
fn assert_sections_in_order(doc: &str, n: usize) -> usize {
    let mut last = 0;
    for i in 1..=n {
        let heading = format!("## Part {i}\n");
        assert_eq!(doc.matches(&heading).count(), 1, "section {i} once");
        let at = doc.find(&heading).unwrap_or(0);
        assert!(at >= last, "section {i} out of order");
        last = at;
    }
    assert!(
        !doc.contains("SUMMARY") && !doc.contains("RECORD:"),
        "no summary is exported"
    );
    assert!(
        !doc.contains("maximum context length"),
        "no error text in the document"
    );
    doc.lines()
        .filter(|l| !l.starts_with('#'))
        .map(count_words)
        .sum()
}

fn project_dir(config: &Path) -> PathBuf {
    let projects = config.join("data").join("projects");
    let root = if projects.is_dir() {
        projects
    } else {
        config.join("data")
    };
    std::fs::read_dir(&root)
        .expect("the store exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.join("project.toml").is_file())
        .expect("a project")
}

async fn write(
    server: &WindowedServer,
    words: usize,
    extra: &[&str],
    config: &Path,
) -> std::process::Output {
    let out = config.join("doc.md");
    let instruction = format!("Write a {words}-word history of one lighthouse keeper");
    let mut args = vec!["write", &instruction, "--base-url", &server.url, "-o"];
    let out = out.to_str().unwrap().to_string();
    args.push(&out);
    args.push("--json");
    args.extend_from_slice(extra);
    run_cli(strings(&args), config).await
}

#[tokio::test]
async fn a_small_window_is_never_exceeded_and_earlier_sections_become_summaries() {
    let window = 3000;
    let server = WindowedServer::start(WindowOptions {
        window,
        plan: plan(20, 300),
        vllm: true,
        ..WindowOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let output = write(&server, 6000, &[], dir.path()).await;
    assert_success(&output);
    let seen = server.seen();
    assert_all_fit(&seen, window);
    let events = events(&output.stdout);
    let summaries = count(&events, "summarized");
    assert!(
        count(&events, "compacted") >= 1,
        "the conversation was compacted"
    );
    assert!(
        summaries >= 5,
        "earlier sections were summarized: {summaries}"
    );
    assert_eq!(
        summaries,
        seen.iter().filter(|s| s.kind == "summary").count(),
        "one summary request per summarized section, none made twice"
    );
    let compactions = count(&events, "compacted");
    assert!(
        compactions * 2 < summaries,
        "several sections per compaction: {compactions} for {summaries}"
    );
    let doc = std::fs::read_to_string(dir.path().join("doc.md")).unwrap();
    let words = assert_sections_in_order(&doc, 20);
    assert!((5700..=6300).contains(&words), "{words} words for 6,000");
    let project = project_dir(dir.path());
    let stored = std::fs::read_dir(project.join("sections"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".summary.json"))
        })
        .count();
    assert_eq!(
        stored, summaries,
        "summaries are stored beside the sections"
    );
}

#[tokio::test]
async fn llama_cpp_windows_are_read_from_props_and_counted_with_tokenize() {
    let window = 2600;
    let server = WindowedServer::start(WindowOptions {
        window,
        plan: plan(12, 250),
        llama_cpp: true,
        ..WindowOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let output = write(&server, 3000, &[], dir.path()).await;
    assert_success(&output);
    assert_all_fit(&server.seen(), window);
    let events = events(&output.stdout);
    assert!(count(&events, "compacted") >= 1);
    let warnings: Vec<&Value> = events.iter().filter(|e| e["event"] == "warning").collect();
    assert!(
        warnings.is_empty(),
        "the window is known, no warning: {warnings:?}"
    );
    let doc = std::fs::read_to_string(dir.path().join("doc.md")).unwrap();
    assert_sections_in_order(&doc, 12);
}

#[tokio::test]
async fn a_window_too_small_is_refused_before_anything_is_generated() {
    let server = WindowedServer::start(WindowOptions {
        window: 8192,
        plan: plan(10, 600),
        ..WindowOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let output = write(&server, 6000, &["--context", "400"], dir.path()).await;
    assert_ne!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let events = events(&output.stdout);
    let failed = events
        .iter()
        .find(|e| e["event"] == "failed")
        .map(|e| e["error"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| stderr.to_string());
    assert!(
        failed.contains("400 tokens")
            && failed.contains("too small")
            && failed.contains("--context"),
        "{failed}"
    );
    assert!(
        server.seen().is_empty(),
        "nothing was sent: {:?}",
        server.seen()
    );
}

#[tokio::test]
async fn a_refusal_for_length_shrinks_the_budget_and_the_text_goes_on() {
    let window = 2600;
    let server = WindowedServer::start(WindowOptions {
        window,
        plan: plan(12, 250),
        ..WindowOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // The user claims a window the server does not have.
    let output = write(&server, 3000, &["--context", "8192"], dir.path()).await;
    assert_success(&output);
    let seen = server.seen();
    assert!(
        seen.iter().any(|s| s.refused),
        "the server refused at least once"
    );
    let last_refused = seen.iter().rposition(|s| s.refused).unwrap_or(0);
    assert_all_fit(&seen[last_refused + 1..], window);
    let doc = std::fs::read_to_string(dir.path().join("doc.md")).unwrap();
    assert_sections_in_order(&doc, 12);
}

#[tokio::test]
async fn failed_summaries_are_replaced_by_opening_and_closing_paragraphs() {
    let window = 2600;
    let server = WindowedServer::start(WindowOptions {
        window,
        plan: plan(12, 250),
        vllm: true,
        failing_summaries: usize::MAX,
        ..WindowOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[generation]\nmax_attempts = 1\n",
    )
    .unwrap();
    let output = write(&server, 3000, &[], dir.path()).await;
    assert_success(&output);
    let events = events(&output.stdout);
    let summarized: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "summarized")
        .collect();
    assert!(!summarized.is_empty());
    assert!(summarized.iter().all(|e| e["summary"]["fallback"] == true));
    assert!(events.iter().any(|e| e["event"] == "warning"
        && e["message"]
            .as_str()
            .unwrap_or("")
            .contains("opening and closing paragraphs")));
    let doc = std::fs::read_to_string(dir.path().join("doc.md")).unwrap();
    assert_sections_in_order(&doc, 12);
}

#[tokio::test]
async fn resume_reuses_the_stored_summaries() {
    let window = 2600;
    let server = WindowedServer::start(WindowOptions {
        window,
        plan: plan(14, 250),
        vllm: true,
        fail_section: Some(10),
        ..WindowOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[generation]\nmax_attempts = 1\n",
    )
    .unwrap();
    let first = write(&server, 3500, &[], dir.path()).await;
    assert_ne!(first.status.code(), Some(0), "the tenth section fails");
    let before = count(&events(&first.stdout), "summarized");
    assert!(
        before >= 3,
        "sections were summarized before the failure: {before}"
    );
    let project = project_dir(dir.path());
    let id = project.file_name().unwrap().to_string_lossy().to_string();
    let out = dir.path().join("resumed.md");
    let args = [
        "resume",
        &id,
        "--base-url",
        &server.url,
        "-o",
        out.to_str().unwrap(),
    ];
    let resumed = run_cli(strings(&args), dir.path()).await;
    assert_success(&resumed);
    assert_all_fit(&server.seen(), window);
    let summaries = server.seen().iter().filter(|s| s.kind == "summary").count();
    let stored = std::fs::read_dir(project.join("sections"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".summary.json"))
        })
        .count();
    assert_eq!(
        summaries, stored,
        "no section was summarized twice across the resume"
    );
    let doc = std::fs::read_to_string(&out).unwrap();
    assert_sections_in_order(&doc, 14);
}
