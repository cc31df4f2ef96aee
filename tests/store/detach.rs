//! Detached runs: `write --detach` returns at once with the id, the worker writes the store,
//! two `attach`es follow it live at the same time, and `stop` ends a worker cleanly.

use super::common::{cli, project_dir, section_file, wait_for};
use crate::support::prose::{agentwrite_plan, prose};
use crate::support::scripted::{Reply, ScriptedServer};
use std::io::Read;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Output of a child read as it arrives: (when, total bytes so far) and the bytes.
type Reads = Arc<Mutex<(Vec<(Instant, usize)>, Vec<u8>)>>;

fn follow_stdout(child: &mut std::process::Child) -> Reads {
    let reads: Reads = Arc::default();
    let mut stdout = child.stdout.take().unwrap();
    let sink = reads.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut r = sink.lock().unwrap();
            r.1.extend_from_slice(&buf[..n]);
            let total = r.1.len();
            r.0.push((Instant::now(), total));
        }
    });
    reads
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_run_is_followed_live_by_two_attachers() {
    let texts: Vec<String> = ["Uno", "Dos"].iter().map(|t| prose(t, 80)).collect();
    let mut replies = vec![Reply::text(agentwrite_plan(2, 80))];
    replies.extend(texts.iter().map(|t| Reply::Slow {
        text: t.clone(),
        finish: "stop",
        delay_ms: 40,
    }));
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = cli(
        dir.path(),
        &[
            "write",
            "A story",
            "--words",
            "160",
            "--base-url",
            &server.url,
            "--detach",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "write --detach returns at once"
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!id.is_empty());
    let mut attachers: Vec<_> = (0..2)
        .map(|_| {
            cli(dir.path(), &["attach", &id])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let reads: Vec<Reads> = attachers.iter_mut().map(follow_stdout).collect();
    for a in &mut attachers {
        let done = wait_for(Duration::from_secs(30), || a.try_wait().unwrap().is_some());
        assert!(done, "attach exits when the job ends");
    }
    let sent = server.sent();
    let mut latencies = Vec::new();
    for r in &reads {
        let r = r.lock().unwrap();
        let output = String::from_utf8_lossy(&r.1).into_owned();
        let mut last = 0;
        for (i, text) in texts.iter().enumerate() {
            let at = output
                .find(text.as_str())
                .unwrap_or_else(|| panic!("section {i} in:\n{output}"));
            assert!(at >= last);
            last = at;
        }
        latencies.extend(latencies_of(&r.0, &output, &texts, &sent));
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let worst = latencies[latencies.len() - 1];
    eprintln!(
        "attach latency over {} tokens: median {median:?}, p90 {:?}, max {worst:?}",
        latencies.len(),
        latencies[latencies.len() * 9 / 10]
    );
    assert!(median < Duration::from_millis(250), "median {median:?}");
    let project = project_dir(dir.path()).unwrap();
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(section_file(&project, i).as_ref(), Some(text));
    }
}

/// For every content piece the server sent, how long until an attacher had printed it.
fn latencies_of(
    reads: &[(Instant, usize)],
    output: &str,
    texts: &[String],
    sent: &[(Instant, String)],
) -> Vec<Duration> {
    let mut out = Vec::new();
    let mut section = 0;
    let mut so_far = 0;
    for (when, piece) in sent {
        if piece.contains("[DONE]") {
            section += 1;
            so_far = 0;
            continue;
        }
        let Some(content) = super::common::content_of(piece) else {
            continue;
        };
        so_far += content.len();
        let Some(text) = texts.get(section) else {
            break;
        };
        let Some(start) = output.find(text.as_str()) else {
            continue;
        };
        let needed = start + so_far;
        if let Some((seen, _)) = reads.iter().find(|(_, total)| *total >= needed) {
            out.push(seen.saturating_duration_since(*when));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_a_detached_worker_and_resume_finishes_it() {
    let text = prose("Halt", 300);
    let server = ScriptedServer::start(vec![
        Reply::text(agentwrite_plan(1, 300)),
        Reply::Slow {
            text: text.clone(),
            finish: "stop",
            delay_ms: 30,
        },
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        dir.path(),
        &[
            "write",
            "A story",
            "--words",
            "300",
            "--base-url",
            &server.url,
            "--detach",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let project = project_dir(dir.path()).unwrap();
    assert!(wait_for(Duration::from_secs(10), || {
        !super::common::journal_text(&project, 0).is_empty()
    }));
    let list = cli(dir.path(), &["list", "--json"]).output().unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed[0]["state"], "writing");
    let stop = cli(dir.path(), &["stop", &id]).output().unwrap();
    assert_eq!(
        stop.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let show = cli(dir.path(), &["show", &id]).output().unwrap();
    assert!(String::from_utf8_lossy(&show.stdout).contains("state:       stopped"));
    let journaled = super::common::journal_text(&project, 0);
    assert!(text.starts_with(&journaled));
    let rest = prose(
        "Rest",
        300 - longwriter::text::count_words(&journaled).min(290),
    );
    let resume_server = ScriptedServer::start(vec![Reply::text(rest.clone())]).await;
    let out = cli(
        dir.path(),
        &["resume", &id, "--base-url", &resume_server.url],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = section_file(&project, 0).unwrap();
    assert!(file.starts_with(journaled.trim_end()));
    assert!(file.ends_with(rest.as_str()));
}
