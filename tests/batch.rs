//! `longwriter batch` end to end with the real binary: the global concurrency limit (the
//! answering server counts simultaneous requests), resume after `kill -9` mid-run with no lost,
//! duplicated or torn record, an endpoint of a fleet dying mid-batch, and the bad-input
//! refusals (bad lines, duplicate ids, another run's output).

use crate::support::answering::{AnsweringServer, Answers};
use crate::support::{binary, run_cli, strings};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const SECTIONS: usize = 2;
const WORDS: usize = 60;

fn answers(piece_delay_ms: u64) -> Answers {
    Answers {
        sections: SECTIONS,
        words: WORDS,
        piece_delay_ms,
        die_at: None,
    }
}

/// A prompt file of `n` prompts with ids `p1`…`pN`.
fn prompts(dir: &Path, n: usize) -> PathBuf {
    let lines: Vec<String> = (1..=n)
        .map(|i| {
            serde_json::json!({"id": format!("p{i}"), "prompt": format!("Write about harbour number {i}"), "length": SECTIONS * WORDS})
                .to_string()
        })
        .collect();
    let path = dir.join("prompts.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// The output's records by id; panics on a line that is not a whole record.
fn records(out: &Path) -> HashMap<String, Value> {
    let text = std::fs::read_to_string(out).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "a torn last line");
    let mut by_id = HashMap::new();
    for line in text.lines() {
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("a torn line {line:?}: {e}"));
        let id = record["id"].as_str().unwrap().to_string();
        assert!(by_id.insert(id.clone(), record).is_none(), "{id} twice");
    }
    by_id
}

fn batch_args(prompts: &Path, out: &Path, urls: &[&str], extra: &[&str]) -> Vec<String> {
    let mut args = strings(&[
        "batch",
        prompts.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    for url in urls {
        args.extend(strings(&["--base-url", url]));
    }
    args.extend(strings(extra));
    args
}

/// Checks a record's shape; `exact`: its length is the plan's to the word (a document resumed
/// mid-section may run a little over).
fn check_record(record: &Value, id: &str, exact: bool) {
    let n: usize = id[1..].parse().unwrap();
    assert_eq!(record["messages"][0]["role"], "user");
    assert_eq!(
        record["messages"][0]["content"],
        format!("Write about harbour number {n}")
    );
    assert_eq!(record["messages"][1]["role"], "assistant");
    let text = record["messages"][1]["content"].as_str().unwrap();
    let words = record["word_count"].as_u64().unwrap() as usize;
    assert_eq!(words, longwriter::text::count_words(text));
    if exact {
        assert_eq!(words, SECTIONS * WORDS, "{text}");
    } else {
        assert!(words >= SECTIONS * WORDS, "{text}");
    }
    assert!(!text.contains("error") && !text.contains("broke"), "{text}");
    assert_eq!(record["target"], SECTIONS * WORDS);
    assert_eq!(record["model"], "answering");
    assert_eq!(
        record["plan"]["sections"].as_array().unwrap().len(),
        SECTIONS
    );
    // A document finished by a killed run and only appended now has no usage of this run.
    assert!(!exact || record["usage"]["completion_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn documents_run_at_once_up_to_the_limit_and_every_record_is_whole() {
    for concurrency in [1, 3] {
        let server = AnsweringServer::start(answers(15)).await;
        let dir = tempfile::tempdir().unwrap();
        let file = prompts(dir.path(), 6);
        let out = dir.path().join("data.jsonl");
        let c = concurrency.to_string();
        let output = run_cli(
            batch_args(&file, &out, &[&server.url], &["--concurrency", &c]),
            dir.path(),
        )
        .await;
        crate::support::assert_success(&output);
        assert_eq!(server.max_in_flight(), concurrency, "--concurrency {c}");
        let records = records(&out);
        assert_eq!(records.len(), 6);
        for (id, record) in &records {
            check_record(record, id, true);
            assert_eq!(record["backend"], server.url);
        }
        let table = String::from_utf8_lossy(&output.stdout);
        assert!(table.contains("written now"), "{table}");
        // Run again: everything is there, nothing is asked.
        let before = server.requests();
        let again = run_cli(
            batch_args(&file, &out, &[&server.url], &["--concurrency", &c]),
            dir.path(),
        )
        .await;
        crate::support::assert_success(&again);
        assert_eq!(server.requests(), before);
        assert_eq!(records_len(&out), 6);
    }
}

fn records_len(out: &Path) -> usize {
    records(out).len()
}

#[tokio::test]
async fn a_batch_killed_mid_run_resumes_without_losing_or_repeating_a_record() {
    use tokio::io::AsyncBufReadExt;
    let server = AnsweringServer::start(answers(60)).await;
    let dir = tempfile::tempdir().unwrap();
    let n = 6;
    let file = prompts(dir.path(), n);
    let out = dir.path().join("data.jsonl");
    let args = batch_args(&file, &out, &[&server.url], &["--concurrency", "2"]);
    let mut child = tokio::process::Command::new(binary())
        .args(&args)
        .env("LONGWRITER_CONFIG_DIR", dir.path())
        .env("LONGWRITER_DATA", dir.path().join("data"))
        .env_remove("LONGWRITER_BASE_URL")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    // Wait for the first finished document, then kill -9 while others are mid-section.
    let first_done = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains(" done: ") {
                return;
            }
        }
        panic!("the batch ended before a document was done");
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), first_done)
        .await
        .expect("a first document");
    // The documents in flight are runs the studio's dashboard lists (a live writer's pid).
    let pid = child.id().unwrap();
    let listed = async {
        loop {
            let list = run_cli(strings(&["list", "--json"]), dir.path()).await;
            let projects: Value = serde_json::from_slice(&list.stdout).unwrap();
            let live = projects.as_array().unwrap().iter().any(|p| p["pid"] == pid);
            if live {
                return;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), listed)
        .await
        .expect("a document of the batch listed as a live run");
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let after_kill = records(&out);
    assert!(
        !after_kill.is_empty() && after_kill.len() < n,
        "{}",
        after_kill.len()
    );
    let requests_before = server.requests();
    // As if the process had died in the middle of its next append.
    let mut bytes = std::fs::read(&out).unwrap();
    bytes.extend_from_slice(br#"{"id":"p9","messages":[{"role":"user","con"#);
    std::fs::write(&out, bytes).unwrap();

    let output = run_cli(args, dir.path()).await;
    crate::support::assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("partial last line"), "{stderr}");
    let records = records(&out);
    assert_eq!(records.len(), n);
    for (id, record) in &records {
        check_record(record, id, false);
    }
    for (id, record) in &after_kill {
        assert_eq!(
            &records[id], record,
            "a record written before the kill changed"
        );
    }
    // Half-done documents went on from the store: every document planned once, and at most
    // the two interrupted sections asked again.
    let full_run = n * (1 + SECTIONS);
    assert!(
        server.requests() <= full_run + 2,
        "{} requests for {full_run} (before the kill: {requests_before})",
        server.requests()
    );
    assert!(server.plans() <= n + 2, "{} plans", server.plans());
}

#[tokio::test]
async fn documents_of_an_endpoint_that_dies_continue_on_the_others() {
    let dying = AnsweringServer::start(Answers {
        die_at: Some(3),
        ..answers(15)
    })
    .await;
    let living = AnsweringServer::start(answers(15)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = prompts(dir.path(), 4);
    let out = dir.path().join("data.jsonl");
    let output = run_cli(
        batch_args(
            &file,
            &out,
            &[&dying.url, &living.url],
            &["--concurrency", "2", "--json"],
        ),
        dir.path(),
    )
    .await;
    crate::support::assert_success(&output);
    assert!(dying.dead());
    let records = records(&out);
    assert_eq!(records.len(), 4);
    for (id, record) in &records {
        check_record(record, id, false);
    }
    // Both endpoints took documents at first; after the death the living one finished them.
    let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let started: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "started")
        .map(|e| e["endpoint"].as_str().unwrap())
        .collect();
    assert!(started.contains(&dying.url.as_str()), "{started:?}");
    assert!(records.values().all(|r| r["backend"] == living.url));
    let summary = &events.last().unwrap()["summary"];
    assert_eq!(summary["written"], 4);
    assert_eq!(summary["failures"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn bad_lines_are_skipped_and_the_rest_goes_on() {
    let server = AnsweringServer::start(answers(0)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prompts.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"p1\", \"prompt\": \"Write about harbour number 1\", \"length\": 80}\n\
         this is not JSON\n\
         {\"id\": \"p5\", \"length\": 80}\n\
         {\"id\": \"p2\", \"prompt\": \"Write about harbour number 2\", \"length\": 80}\n",
    )
    .unwrap();
    let out = dir.path().join("data.jsonl");
    let output = run_cli(batch_args(&file, &out, &[&server.url], &[]), dir.path()).await;
    crate::support::assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2: not a JSON object"), "{stderr}");
    assert!(stderr.contains("line 3: no \"prompt\""), "{stderr}");
    let records = records(&out);
    let mut ids: Vec<_> = records.keys().cloned().collect();
    ids.sort();
    assert_eq!(ids, ["p1", "p2"]);
}

#[tokio::test]
async fn duplicate_ids_and_another_runs_output_are_refused() {
    let server = AnsweringServer::start(answers(0)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dup.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"a\", \"prompt\": \"Write 80 words on tea\"}\n{\"id\": \"a\", \"prompt\": \"Write 80 words on fog\"}\n",
    )
    .unwrap();
    let out = dir.path().join("data.jsonl");
    let output = run_cli(batch_args(&file, &out, &[&server.url], &[]), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the ids a occur more than once"),
        "{stderr}"
    );
    assert_eq!(server.requests(), 0);
    assert!(!out.exists());

    // Another run's output: refused, untouched; --append adds to it.
    let theirs = "{\"note\": \"someone else's data\"}\n";
    std::fs::write(&out, theirs).unwrap();
    let file = prompts(dir.path(), 1);
    let output = run_cli(batch_args(&file, &out, &[&server.url], &[]), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("belongs to another run"), "{stderr}");
    assert!(stderr.contains("--append"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), theirs);
    let output = run_cli(
        batch_args(&file, &out, &[&server.url], &["--append"]),
        dir.path(),
    )
    .await;
    crate::support::assert_success(&output);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with(theirs));
    assert_eq!(text.lines().count(), 2);

    // Several --base-url outside `batch`.
    let output = run_cli(
        strings(&[
            "plan",
            "x",
            "--base-url",
            &server.url,
            "--base-url",
            &server.url,
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("only `batch`"));
}
