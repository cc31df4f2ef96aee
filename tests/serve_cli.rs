//! The `longwriter serve` process: the official `openai` Python client streams from it, an
//! unsafe bind is refused with exit 2, SIGTERM stops it with exit 0, and `longwriter write`
//! runs end to end through it.

use crate::support::prose::{agentwrite_plan, prose, tag};
use crate::support::scripted::{Reply, ScriptedServer};
use crate::support::{binary, cached, listening_address, run_cli, strings};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `longwriter serve`, killed on drop.
struct ServeProcess {
    child: Child,
    /// API root it printed, e.g. `http://127.0.0.1:PORT/v1`.
    url: String,
}

/// Starts `longwriter serve --port 0 ARGS` and waits for its "listening on" line.
async fn spawn_serve(args: &[&str], envs: &[(&str, &str)]) -> ServeProcess {
    let config = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary())
        .arg("serve")
        .args(["--port", "0"])
        .args(args)
        .envs(envs.iter().copied())
        .env("LONGWRITER_CONFIG_DIR", config.path())
        .env_remove("LONGWRITER_BASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let url = listening_address(
        &mut lines,
        Duration::from_secs(20),
        "serve prints its address",
    )
    .await;
    // Keep draining stderr so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    ServeProcess { child, url }
}

#[tokio::test]
async fn the_official_openai_python_client_streams_from_serve() {
    if std::env::var_os("LONGWRITER_SKIP_PYTHON_CLIENT").is_some() {
        eprintln!("python client test skipped: LONGWRITER_SKIP_PYTHON_CLIENT is set");
        return;
    }
    let python = cached("LONGWRITER_PYTHON", "venv/bin/python");
    assert!(
        python.exists(),
        "missing {}: run scripts/setup-test-model.sh first (it installs `openai` there)",
        python.display()
    );
    let text = "Lanterns swung above the quay while the ferry came in.";
    let upstream = ScriptedServer::start(vec![Reply::text(text)]).await;
    let serve = spawn_serve(
        &[
            "--upstream",
            &upstream.url,
            "--api-key-env",
            "SERVE_TEST_KEY",
        ],
        &[("SERVE_TEST_KEY", "sk-python")],
    )
    .await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/openai_client.py"
    );
    let output = Command::new(&python)
        .args([script, &serve.url, "sk-python"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout, format!("{text}\nFINISH stop 10 10\n"));
}

#[tokio::test]
async fn a_public_bind_without_a_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        "--upstream",
        "http://127.0.0.1:9/v1",
    ];
    let output = run_cli(strings(&args), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("without an API key") && stderr.contains("--insecure"),
        "{stderr}"
    );
    let gguf = ["serve", "--model", "model.gguf", "--port", "0"];
    let output = run_cli(strings(&gguf), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Without the engine the build says how to get it; with it, the missing file is named.
    let expected = if cfg!(feature = "candle") {
        "model.gguf"
    } else {
        "built without the built-in engine"
    };
    assert!(stderr.contains(expected), "{stderr}");
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_cuts_streams_and_exits_zero() {
    let upstream = ScriptedServer::start(vec![Reply::Stall {
        text: "Waiting for".into(),
    }])
    .await;
    let mut serve = spawn_serve(&["--upstream", &upstream.url], &[]).await;
    let body = serde_json::json!({"stream": true, "messages": [{"role": "user", "content": "x"}]});
    let mut response = reqwest::Client::new()
        .post(format!("{}/chat/completions", serve.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.chunk().await.unwrap().is_some());
    let pid = serve.child.id().unwrap() as libc::pid_t;
    // SAFETY: kill(2) on our own child's pid; no memory is shared.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(10), serve.child.wait())
        .await
        .expect("serve exits promptly after SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    // The in-flight stream ended (with an error event, not [DONE]) instead of hanging.
    let mut rest = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        rest.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!rest.contains("[DONE]"), "{rest}");
}

#[tokio::test]
async fn longwriter_write_runs_through_serve() {
    let texts: Vec<String> = (1..=2).map(|i| prose(&tag("Sec", i), 60)).collect();
    let mut replies = vec![Reply::text(agentwrite_plan(2, 60))];
    replies.extend(texts.iter().map(|t| Reply::text(t.clone())));
    let upstream = ScriptedServer::start(replies).await;
    let serve = spawn_serve(&["--upstream", &upstream.url], &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.md");
    let args = [
        "write",
        "Write a 120-word story about a lighthouse",
        "--base-url",
        &serve.url,
        "-o",
        out.to_str().unwrap(),
    ];
    let output = run_cli(strings(&args), dir.path()).await;
    crate::support::assert_success(&output);
    let doc = std::fs::read_to_string(&out).unwrap();
    for text in &texts {
        assert!(doc.contains(text.as_str()), "{doc}");
    }
    assert_eq!(upstream.remaining(), 0);
}

#[tokio::test]
async fn serve_with_neither_model_nor_upstream_looks_for_the_engines_model() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(strings(&["serve", "--port", "0"]), dir.path()).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = if cfg!(feature = "candle") {
        "scripts/fetch-model.sh"
    } else {
        "--upstream URL"
    };
    assert!(stderr.contains(expected), "{stderr}");
}
