//! `longwriter eval` end to end against the scripted server: every document a project, S_l per
//! bucket and overall equal to the paper's formula computed here by hand, a failed document
//! scored 0 and listed, a rerun that writes nothing again, and the bad-input refusals.

use crate::support::prose::{agentwrite_plan, prose, tag};
use crate::support::scripted::{Reply, ScriptedServer};
use crate::support::{run_cli, strings};
use serde_json::Value;

/// The paper's length score, written out again here so the test does not trust the crate's.
fn paper_score(x: f64, y: f64) -> f64 {
    if y > x {
        100.0 * (1.0 - (y / x - 1.0) / 3.0).max(0.0)
    } else {
        100.0 * (1.0 - (x / y - 1.0) / 2.0).max(0.0)
    }
}

fn close(a: &Value, b: f64) -> bool {
    (a.as_f64().unwrap_or(f64::NAN) - b).abs() < 1e-6
}

const PROMPTS: &str = r#"{"prompt": "Write a 200-word note about harbour lights", "length": 200, "type": "test"}
{"prompt": "Write a 600-word essay about keepers", "length": 600, "id": "keepers"}
this line is not JSON
{"prompt": "Write a 3000-word history of fog signals", "length": 3000}
"#;

#[tokio::test]
async fn scores_as_the_paper_does_and_resumes_without_rewriting() {
    // Document 1: two sections of 100 words; document 2: three of 250 (150 more than asked);
    // document 3: the server refuses its plan (400), so it fails and scores 0.
    let mut replies = vec![Reply::text(agentwrite_plan(2, 100))];
    replies.extend((0..2).map(|i| Reply::text(prose(&tag("Noteq", i), 100))));
    replies.push(Reply::text(agentwrite_plan(3, 200)));
    replies.extend((0..3).map(|i| Reply::text(prose(&tag("Essayq", i), 250))));
    // Once for the first run, once for the rerun.
    let refusal = Reply::Status {
        code: 400,
        body: r#"{"error": {"message": "bad request"}}"#.into(),
        retry_after: None,
    };
    replies.extend([refusal.clone(), refusal]);
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prompts.jsonl");
    std::fs::write(&file, PROMPTS).unwrap();
    let out = dir.path().join("run");
    let args = strings(&[
        "eval",
        "longbench-write",
        "--file",
        file.to_str().unwrap(),
        "--base-url",
        &server.url,
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let output = run_cli(args.clone(), dir.path()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a failed document: exit 1\n{stderr}"
    );
    assert!(stderr.contains("line 3: not a JSON object"), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("the JSON report");
    let docs = report["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 3);
    // Each section's heading "## Part N" adds the one word "Part".
    let written = [2 * 100 + 2, 3 * 250 + 3, 0];
    let required = [200.0, 600.0, 3000.0];
    let mut by_hand = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        assert_eq!(doc["written"], written[i], "{doc}");
        let s_l = if written[i] == 0 {
            0.0
        } else {
            paper_score(required[i], written[i] as f64)
        };
        assert!(close(&doc["s_l"], s_l), "{} vs {s_l}", doc["s_l"]);
        by_hand.push(s_l);
    }
    assert_eq!(docs[0]["id"], "prompt-001");
    assert_eq!(docs[1]["id"], "keepers");
    assert_eq!(docs[2]["status"], "failed");
    assert_eq!(docs[1]["status"], "finished");
    assert_eq!(
        docs[0]["repetition"]["ngrams"].as_u64().map(|n| n > 0),
        Some(true)
    );
    let buckets = report["buckets"].as_array().unwrap();
    let labels: Vec<_> = buckets
        .iter()
        .map(|b| b["bucket"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["0-500", "500-2k", "2k-4k"]);
    assert!(close(&buckets[1]["s_l"], by_hand[1]));
    let overall = by_hand.iter().sum::<f64>() / 3.0;
    assert!(close(&report["overall"]["s_l"], overall));
    assert_eq!(report["s_q"], Value::Null);
    let table = std::fs::read_to_string(out.join("report.txt")).unwrap();
    assert!(
        table.contains(&format!("overall        3 {:>7.1}", overall)),
        "{table}"
    );
    assert!(table.contains("failed prompt-004"), "{table}");

    // The rerun finds the two finished projects and writes nothing for them; the failed one
    // is retried (and refused again).
    let before = server.requests().len();
    let output = run_cli(args, dir.path()).await;
    assert_eq!(output.status.code(), Some(1));
    let again: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(again["documents"][0]["project"], docs[0]["project"]);
    assert_eq!(again["documents"][1]["written"], written[1]);
    let chat_requests = server.requests().len() - before;
    assert_eq!(chat_requests, 1, "only the failed document asks again");
    assert_eq!(server.remaining(), 0);
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| run_cli(strings(args), dir.path());
    let out = run(&["eval", "ruler", "--bucket", "3k-9k"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0-500, 500-2k, 2k-4k, 4k-20k"));
    let out = run(&["eval", "ruler", "--lang", "de"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use en or zh"));
    let dupes = dir.path().join("dupes.jsonl");
    std::fs::write(
        &dupes,
        "{\"prompt\": \"a\", \"length\": 5, \"id\": 1}\n{\"prompt\": \"b\", \"length\": 5, \"id\": 1}\n",
    )
    .unwrap();
    let out = run(&["eval", "longbench-write", "--file", dupes.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the ids 1 occur more than once"),
        "{stderr}"
    );
    let out = run(&[
        "eval",
        "ruler",
        "--judge-base-url",
        "ftp://judge",
        "--limit",
        "1",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--judge-base-url"));
}
