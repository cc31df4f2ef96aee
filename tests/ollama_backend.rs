//! Our Ollama backend (`--api ollama`) against the scripted server's Ollama routes, replaying
//! transcripts in Ollama's exact NDJSON format (tests/data/transcripts/ollama-*.ndjson):
//! a normal stream, `done_reason` length, `load`, an `{"error": …}` line, a prompt the server
//! cut (its `prompt_eval_count` far below what was sent), and a stream without `done: true`.
//! Then the real binary writes a document through it.

use crate::support::prose::{agentwrite_plan, prose, tag};
use crate::support::scripted::ollama::SHOW_CONTEXT;
use crate::support::scripted::{Options, Reply, ScriptedServer};
use crate::support::{run_cli, strings};
use futures::StreamExt;
use longwriter::backend::ollama::{OllamaBackend, OllamaSettings};
use longwriter::backend::{
    Backend, BackendError, ChatMessage, CompletionRequest, FinishReason, GenerationRequest,
    Sampling, StreamChunk,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The bytes of a recorded transcript.
fn transcript(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/data/transcripts/ollama-{name}.ndjson",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A transcript sent in pieces of `size` bytes (1: every byte separately).
fn pieces(name: &str, size: usize) -> Reply {
    Reply::Raw(transcript(name).chunks(size).map(<[u8]>::to_vec).collect())
}

async fn server(replies: Vec<Reply>) -> ScriptedServer {
    let options = Options {
        models: Some(vec!["gemma3:270m".into()]),
        ..Options::default()
    };
    ScriptedServer::start_with(replies, options).await
}

fn settings(server: &ScriptedServer, context: Option<usize>) -> OllamaSettings {
    OllamaSettings {
        base_url: server.url.trim_end_matches("/v1").to_string(),
        model: Some("gemma3:270m".into()),
        api_key: None,
        context,
        keep_alive: Some("30m".into()),
        connect_timeout: Duration::from_secs(5),
    }
}

fn request(prompt: &str) -> GenerationRequest {
    GenerationRequest {
        messages: vec![ChatMessage::user(prompt)],
        max_tokens: 200,
        sampling: Sampling {
            seed: Some(5),
            top_k: Some(30),
            repetition_penalty: Some(1.1),
            ..Sampling::default()
        },
        stop: Vec::new(),
    }
}

/// The text of a stream and how it ended: the finish, or the error.
async fn collect(
    backend: &OllamaBackend,
    prompt: &str,
) -> (String, Result<FinishReason, BackendError>) {
    let mut stream = backend
        .stream(request(prompt))
        .await
        .expect("the stream starts");
    let mut text = String::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamChunk::Delta(d)) => text.push_str(&d),
            Ok(StreamChunk::Done { finish_reason, .. }) => return (text, Ok(finish_reason)),
            Err(e) => return (text, Err(e)),
        }
    }
    (text, Err(BackendError::Broken("no end".into())))
}

#[tokio::test]
async fn transcripts_replay_with_their_text_and_their_end() {
    let server = server(vec![
        pieces("normal", 1),
        pieces("length", 7),
        pieces("load", 64),
        pieces("error", 13),
        pieces("no-done", 5),
    ])
    .await;
    let backend = OllamaBackend::connect(settings(&server, None))
        .await
        .unwrap();
    let (text, end) = collect(&backend, "Tell it").await;
    assert_eq!(text, "The keeper climbed the stairs at dusk.");
    assert!(matches!(end, Ok(FinishReason::Stop)), "{end:?}");
    let (text, end) = collect(&backend, "Go on").await;
    assert_eq!(text, "Waves broke on the rocks");
    assert!(matches!(end, Ok(FinishReason::Length)), "{end:?}");
    let (text, end) = collect(&backend, "Again").await;
    assert_eq!(text, "");
    assert!(
        matches!(&end, Err(e @ BackendError::Broken(m)) if m.contains("\"load\"") && e.is_retryable()),
        "{end:?}"
    );
    let (text, end) = collect(&backend, "Once more").await;
    assert_eq!(text, "The lamp");
    assert!(
        matches!(&end, Err(BackendError::InStream(m)) if m.contains("unexpected EOF")),
        "{end:?}"
    );
    let (text, end) = collect(&backend, "Last").await;
    assert_eq!(text, "Night fell and");
    assert!(
        matches!(&end, Err(BackendError::Broken(m)) if m.contains("done: true")),
        "{end:?}"
    );
    // Every request carried the model's own context as num_ctx, and the sampling options.
    let requests = server.requests();
    assert_eq!(requests.len(), 5);
    for body in &requests {
        assert_eq!(body["options"]["num_ctx"], SHOW_CONTEXT, "{body}");
        assert_eq!(body["model"], "gemma3:270m");
        assert_eq!(body["keep_alive"], "30m");
        assert_eq!(body["truncate"], false);
        assert_eq!(body["options"]["num_predict"], 200);
        assert_eq!(body["options"]["top_k"], 30);
        assert_eq!(body["options"]["seed"], 5);
        assert!((body["options"]["repeat_penalty"].as_f64().unwrap() - 1.1).abs() < 1e-6);
    }
    assert_eq!(requests[0]["messages"][0]["content"], "Tell it");
    assert_eq!(
        backend.context_window().map(|w| w.tokens),
        Some(SHOW_CONTEXT)
    );
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_prompt_the_server_cut_is_warned_about_and_the_configured_context_is_sent() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = server(vec![pieces("truncated", 100), pieces("normal", 100)]).await;
    let backend = OllamaBackend::connect(settings(&server, Some(2048)))
        .await
        .unwrap();
    // About 10,000 tokens sent; the transcript says 2048 were evaluated.
    let long = "word ".repeat(8000);
    let (text, end) = collect(&backend, &long).await;
    assert_eq!(text, "He said");
    assert!(matches!(end, Ok(FinishReason::Stop)));
    let shown = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        shown.contains("WARN") && shown.contains("evaluated 2048 prompt tokens"),
        "{shown}"
    );
    // A short prompt with 38 tokens evaluated is no truncation.
    let before = shown.len();
    let _ = collect(&backend, "Tell it").await;
    let shown = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert_eq!(shown.len(), before, "{shown}");
    assert_eq!(server.requests()[0]["options"]["num_ctx"], 2048);
}

#[tokio::test]
async fn a_model_that_is_not_pulled_says_ollama_pull_and_raw_prompts_go_to_generate() {
    let server = server(vec![pieces("normal", 50)]).await;
    let mut missing = settings(&server, None);
    missing.model = Some("llama3.2".into());
    let err = OllamaBackend::connect(missing)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("ollama pull llama3.2"), "{err}");
    assert!(err.to_string().contains("gemma3:270m"), "{err}");
    let backend = OllamaBackend::connect(settings(&server, None))
        .await
        .unwrap();
    let raw = CompletionRequest {
        prompt: "Once upon a time".into(),
        max_tokens: 8,
        sampling: Sampling::default(),
        stop: vec!["\n".into()],
        prose_only: false,
    };
    let mut stream = backend.complete(raw).await.unwrap();
    let mut text = String::new();
    while let Some(Ok(StreamChunk::Delta(d))) = stream.next().await {
        text.push_str(&d);
    }
    assert_eq!(text, "The keeper climbed the stairs at dusk.");
    let body = &server.requests()[0];
    assert_eq!(
        (body["raw"].clone(), body["prompt"].clone()),
        (true.into(), "Once upon a time".into())
    );
    assert_eq!(body["options"]["stop"][0], "\n");
}

#[tokio::test]
async fn write_with_api_ollama_retries_a_load_and_continues_a_length() {
    let first = prose(&tag("Sec", 1), 60);
    let cut = first
        .match_indices(". ")
        .nth(2)
        .map_or(first.len() / 2, |(i, _)| i + 2);
    let (head, tail) = first.split_at(cut);
    let second = prose(&tag("Sec", 2), 60);
    let replies = vec![
        Reply::text(agentwrite_plan(2, 60)),
        pieces("load", 64),
        Reply::length(head.to_string()),
        Reply::text(tail.to_string()),
        Reply::text(second.clone()),
    ];
    let server = server(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.md");
    std::fs::write(
        dir.path().join("config.toml"),
        "[generation]\nretry_base_ms = 10\n",
    )
    .unwrap();
    let root = server.url.trim_end_matches("/v1").to_string();
    let args = [
        "write",
        "Write a 120-word story about a lighthouse",
        "--api",
        "ollama",
        "--base-url",
        &root,
        "--model",
        "gemma3:270m",
        "-o",
        out.to_str().unwrap(),
    ];
    let output = run_cli(strings(&args), dir.path()).await;
    crate::support::assert_success(&output);
    let doc = std::fs::read_to_string(&out).unwrap();
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(squash(&doc).contains(&squash(&first)), "{doc}");
    assert!(doc.contains(&second), "{doc}");
    assert_eq!(server.remaining(), 0);
    for body in server.requests() {
        assert_eq!(body["options"]["num_ctx"], SHOW_CONTEXT, "{body}");
    }
}
