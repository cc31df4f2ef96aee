//! End to end: the real binary writes documents against the scripted HTTP server. Only the
//! command line's wiring is tested here (flags, config file, output file, `--json` events,
//! exit codes, signals); what the writer does with the text is tested without the binary, on
//! the paused clock, in `writer`.

use crate::support::prose::{agentwrite_plan, prose, tag};
use crate::support::scripted::{Reply, ScriptedServer};
use crate::support::{run_cli, strings};
use longwriter::text::count_words;
use serde_json::Value;

fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line: {l:?}: {e}")))
        .collect()
}

#[tokio::test]
async fn plan_then_five_sections_in_order_with_ledger() {
    let texts: Vec<String> = (1..=5).map(|i| prose(&tag("Sec", i), 100)).collect();
    let mut replies = vec![Reply::text(agentwrite_plan(5, 100))];
    replies.extend(texts.iter().map(|t| Reply::text(t.clone())));
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.md");
    let output = run_cli(
        strings(&[
            "write",
            "Write a 500-word story about a lighthouse",
            "--base-url",
            &server.url,
            "-o",
            out.to_str().unwrap(),
            "--json",
        ]),
        dir.path(),
    )
    .await;
    crate::support::assert_success(&output);
    let doc = std::fs::read_to_string(&out).unwrap();
    let mut last = 0;
    for (i, text) in texts.iter().enumerate() {
        let heading = format!("## Part {}\n\n{}\n", i + 1, text);
        let at = doc
            .find(&heading)
            .unwrap_or_else(|| panic!("section {} missing or altered in:\n{doc}", i + 1));
        assert!(at >= last, "section {} out of order", i + 1);
        last = at;
    }
    let events = events(&output.stdout);
    let done = events
        .iter()
        .find(|e| e["event"] == "done")
        .expect("a done event");
    assert_eq!(done["ledger"]["planned"], 500);
    let written: usize = texts.iter().map(|t| count_words(t)).sum();
    assert_eq!(done["ledger"]["written"], written);
    assert_eq!(done["ledger"]["sections"].as_array().unwrap().len(), 5);
    for line in done["ledger"]["sections"].as_array().unwrap() {
        assert_eq!(line["planned"], 100);
        assert_eq!(line["written"], 100);
        assert_eq!(line["state"], "done");
    }
    let deltas = events.iter().filter(|e| e["event"] == "delta").count();
    assert!(
        deltas >= 5 * 5,
        "tokens are streamed as deltas, got {deltas}"
    );
    assert_eq!(server.remaining(), 0);
}

#[tokio::test]
async fn plan_command_prints_the_parsed_plan() {
    let server = ScriptedServer::start(vec![
        Reply::text(agentwrite_plan(3, 300)),
        Reply::text(agentwrite_plan(3, 300)),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(
        strings(&["plan", "A 900-word guide to tea", "--base-url", &server.url]),
        dir.path(),
    )
    .await;
    crate::support::assert_success(&output);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("  1. Part 1 (300 words)"), "{text}");
    assert!(text.contains("Total: 900 words in 3 section(s)"), "{text}");
    let output = run_cli(
        strings(&[
            "plan",
            "A 900-word guide to tea",
            "--base-url",
            &server.url,
            "--json",
        ]),
        dir.path(),
    )
    .await;
    let plan: Value = serde_json::from_slice(&output.stdout).expect("plan --json is JSON");
    assert_eq!(plan["sections"].as_array().unwrap().len(), 3);
    assert_eq!(
        plan["sections"][2]["main_point"],
        "Describe stage 3 of the lighthouse's life."
    );
}

#[tokio::test]
async fn a_server_failing_mid_run_keeps_the_text_and_exits_1() {
    let first = prose("Kept", 50);
    let replies = vec![
        Reply::text(agentwrite_plan(2, 50)),
        Reply::text(first.clone()),
        Reply::Status {
            code: 400,
            body: r#"{"error":{"message":"context length exceeded"}}"#.into(),
            retry_after: None,
        },
    ];
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.md");
    let output = run_cli(
        strings(&[
            "write",
            "A story",
            "--words",
            "100",
            "--base-url",
            &server.url,
            "-o",
            out.to_str().unwrap(),
        ]),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("HTTP 400") && stderr.contains("context length exceeded"),
        "{stderr}"
    );
    let doc = std::fs::read_to_string(&out).unwrap();
    assert!(doc.contains(&first), "the finished section is kept: {doc}");
}

#[tokio::test]
async fn the_config_file_sets_the_retry_backoff() {
    // Retry-After and the retry loop itself are tested on the paused clock in `writer`; here
    // only the HTTP status and `retry_base_ms` reach the writer, with no wait over 10 ms.
    let replies = vec![
        Reply::text(agentwrite_plan(1, 40)),
        Reply::Status {
            code: 503,
            body: "busy".into(),
            retry_after: None,
        },
        Reply::text(prose("Late", 40)),
    ];
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[generation]\nretry_base_ms = 10\n",
    )
    .unwrap();
    let output = run_cli(
        strings(&[
            "write",
            "A note",
            "--words",
            "40",
            "--base-url",
            &server.url,
            "--json",
        ]),
        dir.path(),
    )
    .await;
    crate::support::assert_success(&output);
    let events = events(&output.stdout);
    let retries: Vec<&Value> = events.iter().filter(|e| e["event"] == "retrying").collect();
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert!(retries[0]["error"].as_str().unwrap().contains("503"));
    let delay = retries[0]["delay_ms"].as_u64().unwrap();
    assert!(
        (5..=10).contains(&delay),
        "backoff from the config, jittered to half..all: {delay}"
    );
}

#[tokio::test]
async fn ctrl_c_stops_cleanly_and_keeps_the_text() {
    use std::io::BufRead;
    let first = prose("Done", 60);
    let partial = prose("Partial", 20);
    let replies = vec![
        Reply::text(agentwrite_plan(2, 60)),
        Reply::text(first.clone()),
        Reply::Stall {
            text: partial.clone(),
        },
    ];
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.md");
    let mut child = std::process::Command::new(crate::support::binary())
        .args([
            "write",
            "A story",
            "--words",
            "120",
            "--base-url",
            &server.url,
            "--json",
        ])
        .arg("-o")
        .arg(&out)
        .env("LONGWRITER_CONFIG_DIR", dir.path())
        .env("LONGWRITER_DATA", dir.path().join("data"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let pid = child.id().to_string();
    let wanted = partial.clone();
    let status = tokio::task::spawn_blocking(move || {
        let mut streamed = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
            if event["event"] == "delta" && event["index"] == 1 {
                streamed.push_str(event["text"].as_str().unwrap());
                if streamed.trim_end() == wanted.trim_end() {
                    let _ = std::process::Command::new("kill")
                        .args(["-INT", &pid])
                        .status();
                }
            }
        }
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(130));
    let doc = std::fs::read_to_string(&out).unwrap();
    assert!(doc.contains(&first), "the finished section is kept: {doc}");
    assert!(
        doc.contains(partial.trim_end()),
        "the half-written section is kept: {doc}"
    );
}

#[tokio::test]
async fn sampling_flags_and_config_keys_reach_every_request() {
    let mut replies = vec![Reply::text(agentwrite_plan(1, 60))];
    replies.push(Reply::text(prose("Tuned", 60)));
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[generation]\ntop_k = 25\nmin_p = 0.1\nfrequency_penalty = 0.3\n",
    )
    .unwrap();
    let output = run_cli(
        strings(&[
            "write",
            "Write a 60-word note about a lighthouse",
            "--base-url",
            &server.url,
            "--top-k",
            "40",
            "--repetition-penalty",
            "1.15",
            "--presence-penalty",
            "0.2",
            "-o",
            dir.path().join("doc.md").to_str().unwrap(),
        ]),
        dir.path(),
    )
    .await;
    crate::support::assert_success(&output);
    let bodies = server.requests();
    assert_eq!(bodies.len(), 2, "a plan and one section");
    for body in &bodies {
        assert_eq!(body["top_k"], 40, "the flag wins over the file");
        assert_eq!(body["min_p"], serde_json::json!(0.1f32));
        assert_eq!(body["frequency_penalty"], serde_json::json!(0.3f32));
        assert_eq!(body["presence_penalty"], serde_json::json!(0.2f32));
        assert_eq!(body["repetition_penalty"], serde_json::json!(1.15f32));
        assert_eq!(body["repeat_penalty"], serde_json::json!(1.15f32));
    }
    let refused = run_cli(
        strings(&["write", "x", "--base-url", &server.url, "--min-p", "7"]),
        dir.path(),
    )
    .await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("min-p 7 is outside 0..=1"));
}
