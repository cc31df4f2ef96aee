//! End to end: the real binary writes documents against the scripted server.

use crate::support::scripted::{Reply, ScriptedServer};
use crate::support::{run_cli, strings};
use longwriter::text::count_words;
use serde_json::Value;

/// A tag of letters only for section `i` (digits would not count as words).
pub fn tag(prefix: &str, i: usize) -> String {
    format!("{prefix}{}", char::from(b'a' + (i % 26) as u8))
}

/// `n` words of prose in sentences of eight words, each sentence starting with `tag`.
pub fn prose(tag: &str, n: usize) -> String {
    let filler = [
        "river", "stone", "light", "harbor", "winter", "signal", "keeper",
    ];
    let mut words = Vec::with_capacity(n);
    for i in 0..n {
        let w = if i % 8 == 0 {
            tag.to_string()
        } else {
            filler[i % filler.len()].to_string()
        };
        words.push(if i % 8 == 7 || i + 1 == n {
            format!("{w}.")
        } else {
            w
        });
    }
    words.join(" ")
}

/// A plan in the AgentWrite line format, `n` sections of `each` words.
pub fn agentwrite_plan(n: usize, each: usize) -> String {
    let mut out = String::from("Here is the plan:\n\n");
    for i in 1..=n {
        out.push_str(&format!(
            "Paragraph {i} - Title: Part {i} - Main Point: Describe stage {i} of the lighthouse's life. - Word Count: {each} words\n"
        ));
    }
    out
}

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
async fn a_section_cut_by_length_is_continued_without_a_duplicated_seam() {
    let first = prose("Alpha", 40);
    let second_a = prose("Beta", 40);
    // The model echoes the last words of the partial text before going on.
    let echo_tail = second_a
        .split(' ')
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join(" ");
    let second_b_new = prose("Gamma", 40);
    let replies = vec![
        Reply::text(agentwrite_plan(2, 60)),
        Reply::text(first.clone()),
        Reply::length(second_a.clone()),
        Reply::text(format!("{echo_tail} {second_b_new}")),
    ];
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.md");
    let output = run_cli(
        strings(&[
            "write",
            "A story",
            "--words",
            "120",
            "--base-url",
            &server.url,
            "-o",
            out.to_str().unwrap(),
        ]),
        dir.path(),
    )
    .await;
    crate::support::assert_success(&output);
    let doc = std::fs::read_to_string(&out).unwrap();
    let expected = format!("## Part 2\n\n{second_a}\n\n{second_b_new}\n");
    assert!(
        doc.contains(&expected),
        "continuation not joined cleanly:\n{doc}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    let continuation = requests[3]["messages"].as_array().unwrap();
    let n = continuation.len();
    assert_eq!(continuation[n - 2]["role"], "assistant");
    assert_eq!(continuation[n - 2]["content"], second_a.as_str());
    assert_eq!(continuation[n - 1]["role"], "user");
    assert!(
        continuation[n - 1]["content"]
            .as_str()
            .unwrap()
            .contains("Continue"),
        "{:?}",
        continuation[n - 1]
    );
}

#[tokio::test]
async fn each_request_extends_the_previous_one_over_ten_sections() {
    let texts: Vec<String> = (1..=10).map(|i| prose(&tag("S", i), 60)).collect();
    let mut replies = vec![Reply::text(agentwrite_plan(10, 60))];
    replies.extend(texts.iter().map(|t| Reply::text(t.clone())));
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.md");
    let output = run_cli(
        strings(&[
            "write",
            "A 600-word chronicle",
            "--base-url",
            &server.url,
            "-o",
            out.to_str().unwrap(),
        ]),
        dir.path(),
    )
    .await;
    crate::support::assert_success(&output);
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        11,
        "one plan request and ten section requests"
    );
    let sections: Vec<&Vec<Value>> = requests[1..]
        .iter()
        .map(|r| r["messages"].as_array().unwrap())
        .collect();
    let first = sections[0];
    assert_eq!(first.len(), 1);
    let head = first[0]["content"].as_str().unwrap();
    assert!(
        head.contains("A 600-word chronicle") && head.contains("Part 10"),
        "instruction and whole plan first"
    );
    for k in 0..9 {
        let (this, next) = (sections[k], sections[k + 1]);
        assert_eq!(
            &next[..this.len()],
            &this[..],
            "request {} is not a prefix of request {}",
            k + 1,
            k + 2
        );
        assert_eq!(next[this.len()]["role"], "assistant");
        assert_eq!(
            next[this.len()]["content"],
            texts[k].as_str(),
            "request {} carries section {}'s text verbatim",
            k + 2,
            k + 1
        );
        assert_eq!(
            next.len(),
            this.len() + 2,
            "only the text and the new step are added"
        );
        assert_eq!(next[this.len() + 1]["role"], "user");
    }
}

#[tokio::test]
async fn an_unusable_plan_is_re_asked_then_replaced_by_a_flagged_fallback() {
    let mut replies = vec![
        Reply::text("I cannot help with that."),
        Reply::text("Sorry, no."),
    ];
    replies.extend((0..20).map(|i| Reply::text(prose(&tag("F", i), 30))));
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.md");
    let output = run_cli(
        strings(&[
            "write",
            "Essay",
            "--words",
            "120",
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
    let requests = server.requests();
    let reask = requests[1]["messages"][0]["content"].as_str().unwrap();
    assert!(
        reask.contains("could not be used"),
        "the re-ask gives the reason: {reask}"
    );
    let events = events(&output.stdout);
    assert!(events.iter().any(
        |e| e["event"] == "warning" && e["message"].as_str().unwrap().contains("evenly split")
    ));
    let plan = &events.iter().find(|e| e["event"] == "plan_ready").unwrap()["plan"];
    assert_eq!(plan["fallback"], true);
    let doc = std::fs::read_to_string(&out).unwrap();
    assert!(
        doc.starts_with("<!-- longwriter: The model's plan could not be used"),
        "{doc}"
    );
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
async fn retries_after_429_and_503_then_succeeds() {
    let replies = vec![
        Reply::Status {
            code: 429,
            body: r#"{"error":{"message":"slow down"}}"#.into(),
            retry_after: Some(1),
        },
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
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(retries[0]["error"].as_str().unwrap().contains("429"));
    assert!(retries[1]["error"].as_str().unwrap().contains("503"));
    assert_eq!(retries[0]["delay_ms"], 1000, "Retry-After is honoured");
    assert_eq!(
        retries[1]["delay_ms"], 10,
        "backoff from the config otherwise"
    );
}

#[tokio::test]
async fn a_broken_stream_is_continued_from_the_text_received() {
    let part = prose("Half", 30);
    let rest = prose("Whole", 30);
    let replies = vec![
        Reply::text(agentwrite_plan(1, 60)),
        Reply::Broken { text: part.clone() },
        Reply::text(rest.clone()),
    ];
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[generation]\nretry_base_ms = 10\n",
    )
    .unwrap();
    let out = dir.path().join("doc.txt");
    let output = run_cli(
        strings(&[
            "write",
            "A note",
            "--words",
            "60",
            "--base-url",
            &server.url,
            "-o",
            out.to_str().unwrap(),
            "--format",
            "txt",
        ]),
        dir.path(),
    )
    .await;
    crate::support::assert_success(&output);
    let doc = std::fs::read_to_string(&out).unwrap();
    assert_eq!(doc, format!("Part 1\n\n{part}\n\n{rest}\n"));
}

#[tokio::test]
async fn an_overrun_is_cut_at_the_last_sentence_under_150_percent() {
    let long = prose("Over", 200);
    let server = ScriptedServer::start(vec![
        Reply::text(agentwrite_plan(1, 80)),
        Reply::text(long.clone()),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(
        strings(&[
            "write",
            "A note",
            "--words",
            "80",
            "--base-url",
            &server.url,
            "--json",
        ]),
        dir.path(),
    )
    .await;
    crate::support::assert_success(&output);
    let events = events(&output.stdout);
    let done = events
        .iter()
        .find(|e| e["event"] == "section_done")
        .unwrap();
    let text = done["text"].as_str().unwrap();
    assert_eq!(
        count_words(text),
        120,
        "cut to 120 words, the last full sentence under 1.5 x 80"
    );
    assert!(long.starts_with(text) && text.ends_with('.'), "{text}");
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
async fn a_short_section_is_continued_once_only() {
    let short_a = prose("Tiny", 24);
    let short_b = prose("Small", 16);
    let replies = vec![
        Reply::text(agentwrite_plan(1, 100)),
        Reply::text(short_a.clone()),
        Reply::text(short_b.clone()),
    ];
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(
        strings(&[
            "write",
            "A note",
            "--words",
            "100",
            "--base-url",
            &server.url,
            "--json",
        ]),
        dir.path(),
    )
    .await;
    crate::support::assert_success(&output);
    let events = events(&output.stdout);
    let continuing: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "continuing")
        .collect();
    assert_eq!(
        continuing.len(),
        1,
        "continued exactly once: {continuing:?}"
    );
    assert_eq!(continuing[0]["words"], 24);
    let done = events
        .iter()
        .find(|e| e["event"] == "section_done")
        .unwrap();
    assert_eq!(done["text"], format!("{short_a}\n\n{short_b}"));
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_length_stop_past_the_target_ends_at_a_sentence_near_it() {
    let long = prose("Near", 130);
    let replies = vec![
        Reply::text(agentwrite_plan(1, 100)),
        Reply::length(long.clone()),
    ];
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(
        strings(&[
            "write",
            "A note",
            "--words",
            "100",
            "--base-url",
            &server.url,
            "--json",
        ]),
        dir.path(),
    )
    .await;
    crate::support::assert_success(&output);
    let events = events(&output.stdout);
    let done = events
        .iter()
        .find(|e| e["event"] == "section_done")
        .unwrap();
    let text = done["text"].as_str().unwrap();
    assert_eq!(
        count_words(text),
        104,
        "the last sentence end within 110% of 100 words"
    );
    assert!(long.starts_with(text) && text.ends_with('.'));
}
