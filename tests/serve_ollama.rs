//! `longwriter serve` speaking Ollama's native API: the official `ollama` Python client (from
//! PyPI) lists, shows, chats and generates; our own Ollama backend streams through it, with the
//! server's auth, errors and `stream: false`; and, on the real Gemma 3 270M file, `longwriter
//! write --api ollama` writes a document through `serve --model`.

use crate::serve::{start, Running};
use crate::support::backend::ScriptedBackend;
use crate::support::scripted::Reply;
use crate::support::{binary, cached, listening_address, run_cli_env, strings};
use futures::future::BoxFuture;
use futures::StreamExt;
use longwriter::backend::ollama::{OllamaBackend, OllamaSettings};
use longwriter::backend::{
    Backend, BackendError, BackendInfo, ChatMessage, ChunkStream, ContextWindow, GenerationRequest,
    Sampling, StreamChunk,
};
use longwriter::server::ServerConfig;
use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const KEY: &str = "sk-ollama-test";
/// The window the wrapped scripted backend reports.
const WINDOW: usize = 4096;

/// The scripted backend with a context window, as the engine has.
struct Windowed(ScriptedBackend);

impl Backend for Windowed {
    fn info(&self) -> BackendInfo {
        self.0.info()
    }
    fn stream(&self, r: GenerationRequest) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        self.0.stream(r)
    }
    fn context_window(&self) -> Option<ContextWindow> {
        Some(ContextWindow::new(WINDOW, "test"))
    }
}

async fn serve(replies: Vec<Reply>) -> (ScriptedBackend, Running) {
    let scripted = ScriptedBackend::new(replies);
    let config = ServerConfig {
        api_key: Some(KEY.into()),
        ..ServerConfig::default()
    };
    let running = start(Arc::new(Windowed(scripted.clone())), config).await;
    (scripted, running)
}

fn settings(root: &str) -> OllamaSettings {
    OllamaSettings {
        base_url: root.to_string(),
        model: None,
        api_key: Some(KEY.into()),
        context: None,
        keep_alive: None,
        connect_timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn the_official_ollama_python_client_lists_shows_chats_and_generates() {
    if std::env::var_os("LONGWRITER_SKIP_PYTHON_CLIENT").is_some() {
        eprintln!("python client test skipped: LONGWRITER_SKIP_PYTHON_CLIENT is set");
        return;
    }
    let python = cached("LONGWRITER_PYTHON", "venv/bin/python");
    assert!(
        python.exists(),
        "missing {}: run scripts/setup-test-model.sh first (it installs `ollama` there)",
        python.display()
    );
    let (scripted, server) = serve(vec![
        Reply::text("Hello from the lighthouse, said the keeper."),
        Reply::length("Once upon a time there was a keeper"),
    ])
    .await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/ollama_client.py"
    );
    let output = Command::new(&python)
        .args([script, &server.root, KEY, "12"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "python failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "MODELS script", "{stdout}");
    assert_eq!(lines[1], format!("CONTEXT {WINDOW}"), "{stdout}");
    assert_eq!(
        lines[2], r#"CHAT stop 10 7 "Hello from the lighthouse, said the keeper.""#,
        "{stdout}"
    );
    assert_eq!(
        lines[3], r#"GENERATE length 8 "Once upon a time there was a keeper""#,
        "{stdout}"
    );
    assert!(
        lines[4].starts_with("ERROR 404 model \"no-such-model\" not found"),
        "{stdout}"
    );
    let requests = scripted.requests();
    assert_eq!(requests[0].max_tokens, 12);
    assert_eq!(requests[0].sampling.temperature, 0.0);
    assert_eq!(requests[0].sampling.seed, Some(1));
    assert_eq!(
        requests[1].messages,
        vec![ChatMessage::user("Once upon a time")]
    );
}

#[tokio::test]
async fn our_ollama_backend_streams_through_serve_and_sees_its_errors() {
    let (_, server) = serve(vec![
        Reply::length("The keeper climbed the stairs"),
        Reply::Broken {
            text: "The lamp flickered and".into(),
        },
    ])
    .await;
    let backend = OllamaBackend::connect(settings(&server.root))
        .await
        .unwrap();
    assert_eq!(backend.info().model, "script");
    assert_eq!(backend.context_window().map(|w| w.tokens), Some(WINDOW));
    let request = GenerationRequest {
        messages: vec![ChatMessage::user("Write")],
        max_tokens: 50,
        sampling: Sampling::default(),
        stop: Vec::new(),
    };
    let mut items = Vec::new();
    let mut stream = backend.stream(request.clone()).await.unwrap();
    while let Some(item) = stream.next().await {
        items.push(item);
    }
    let text: String = items
        .iter()
        .filter_map(|i| match i {
            Ok(StreamChunk::Delta(d)) => Some(d.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "The keeper climbed the stairs");
    assert!(matches!(
        items.last(),
        Some(Ok(StreamChunk::Done { finish_reason: longwriter::backend::FinishReason::Length, usage: Some(u) })) if u.completion_tokens == 5
    ));
    // The backend breaks mid-stream: the text so far, then the server's error line.
    let mut stream = backend.stream(request).await.unwrap();
    let mut text = String::new();
    let end = loop {
        match stream.next().await {
            Some(Ok(StreamChunk::Delta(d))) => text.push_str(&d),
            other => break other,
        }
    };
    assert_eq!(text, "The lamp flickered and");
    assert!(
        matches!(&end, Some(Err(BackendError::InStream(m))) if m.contains("ended without finishing")),
        "{end:?}"
    );
}

#[tokio::test]
async fn serve_answers_ollamas_routes_whole_with_auth_and_ollamas_errors() {
    let (_, server) = serve(vec![Reply::text("One whole reply.")]).await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{}{path}", server.root))
            .bearer_auth(KEY)
            .json(&body)
            .send()
    };
    let reply = post(
        "/api/chat",
        json!({"model": "script:latest", "stream": false, "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .await
    .unwrap();
    assert_eq!(reply.status(), 200);
    let reply: Value = reply.json().await.unwrap();
    assert_eq!(reply["message"]["content"], "One whole reply.");
    assert_eq!(
        (reply["done"].clone(), reply["done_reason"].clone()),
        (json!(true), json!("stop"))
    );
    assert_eq!(reply["model"], "script:latest");
    assert!(reply["total_duration"].as_u64().is_some() && reply["eval_count"] == 3);
    let load = post("/api/generate", json!({"model": "script"}))
        .await
        .unwrap();
    let load: Value = load.json().await.unwrap();
    assert_eq!(
        (load["done_reason"].clone(), load["response"].clone()),
        (json!("load"), json!(""))
    );
    let bad = post(
        "/api/chat",
        json!({"model": "script", "messages": [{"role": "user", "content": "x"}], "options": {"num_predict": 100000}}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert!(
        bad["error"].as_str().unwrap().contains("num_predict"),
        "{bad}"
    );
    let version: Value = http
        .get(format!("{}/api/version", server.root))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(version["version"].as_str().is_some(), "{version}");
    let open = http
        .get(format!("{}/api/tags", server.root))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 401, "the Ollama routes need the key too");
}

/// `serve --model <gemma> --context 2048` as a child process; `None` when the real model is
/// skipped.
async fn engine_serve() -> Option<(tokio::process::Child, String)> {
    if std::env::var_os("LONGWRITER_SKIP_REAL_MODEL").is_some() || !cfg!(feature = "candle") {
        eprintln!("real-model Ollama test skipped");
        return None;
    }
    let model = cached("GEMMA_GGUF", "models/gemma-3-270m-q4_k_m.gguf");
    assert!(
        model.exists(),
        "missing {}: run scripts/setup-test-model.sh",
        model.display()
    );
    let config = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary())
        .args([
            "serve",
            "--port",
            "0",
            "--api-key-env",
            "OLLAMA_TEST_KEY",
            "--context",
            "2048",
        ])
        .args(["--model", model.to_str().unwrap()])
        .env("OLLAMA_TEST_KEY", KEY)
        .env("LONGWRITER_CONFIG_DIR", config.path())
        .env("LONGWRITER_LOG", "info")
        .env_remove("LONGWRITER_BASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = listening_address(&mut lines, Duration::from_secs(120), "serve loads Gemma").await;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Some((child, url.trim_end_matches("/v1").to_string()))
}

#[tokio::test]
async fn write_with_api_ollama_through_serve_on_the_real_model() {
    let Some((_child, root)) = engine_serve().await else {
        return;
    };
    let backend = OllamaBackend::connect(settings(&root)).await.unwrap();
    assert_eq!(backend.context_window().map(|w| w.tokens), Some(2048));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.md");
    let args = [
        "write",
        "Write a 150-word story about a lighthouse keeper",
        "--api",
        "ollama",
        "--base-url",
        &root,
        "--api-key-env",
        "OLLAMA_TEST_KEY",
        "--temperature",
        "0.7",
        "--seed",
        "3",
        // Gemma 270M is a base model: completion mode (`/api/generate` with `raw`), as a base
        // model behind a server is run; in chat mode what survives the guards depends on the
        // CPU's float rounding.
        "--mode",
        "completion",
        "-o",
        out.to_str().unwrap(),
    ];
    let output = run_cli_env(strings(&args), dir.path(), &[("OLLAMA_TEST_KEY", KEY)]).await;
    crate::support::assert_success(&output);
    let doc = std::fs::read_to_string(&out).unwrap();
    let words = doc.split_whitespace().count();
    assert!(doc.starts_with("## "), "no heading from the plan: {doc}");
    assert!(words > 30, "only {words} words: {doc}");
    println!("write --api ollama through serve --model: {words} words");
}
