//! `longwriter serve` in process: the server on a port-0 listener in front of the scripted
//! upstream (through our own `OpenAiBackend`) or a fake backend, spoken to over real HTTP.

use crate::support::scripted::{Options, Reply, ScriptedServer};
use futures::stream::BoxStream;
use futures::StreamExt;
use longwriter::backend::openai::{OpenAiBackend, OpenAiSettings};
use longwriter::backend::{
    Backend, BackendError, BackendInfo, ChatMessage, ChunkStream, FinishReason, GenerationRequest,
    Sampling, StreamChunk, Usage,
};
use longwriter::server::{self, ServerConfig};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// A running server; dropping it stops the server.
pub struct Running {
    /// API root, e.g. `http://127.0.0.1:PORT/v1`.
    pub url: String,
    /// Server root, e.g. `http://127.0.0.1:PORT`.
    pub root: String,
    _stop: oneshot::Sender<()>,
}

/// Starts the server over `backend` on a port-0 listener.
pub async fn start(backend: Arc<dyn Backend>, config: ServerConfig) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server::serve(listener, backend, config, async move {
        let _ = stopped.await;
    }));
    Running {
        url: format!("http://{addr}/v1"),
        root: format!("http://{addr}"),
        _stop: stop,
    }
}

/// Our own client, connected to `url`.
pub async fn connect(url: &str, key: Option<&str>) -> OpenAiBackend {
    OpenAiBackend::connect(OpenAiSettings {
        base_url: url.to_string(),
        model: None,
        api_key: key.map(str::to_string),
        connect_timeout: Duration::from_secs(5),
    })
    .await
    .expect("connect")
}

/// The server in front of the scripted upstream.
async fn proxy(replies: Vec<Reply>, config: ServerConfig) -> (ScriptedServer, Running) {
    proxy_with(replies, Options::default(), config).await
}

/// `proxy` to an upstream started with `options`.
async fn proxy_with(
    replies: Vec<Reply>,
    options: Options,
    config: ServerConfig,
) -> (ScriptedServer, Running) {
    let upstream = ScriptedServer::start_with(replies, options).await;
    let backend = connect(&upstream.url, None).await;
    let running = start(Arc::new(backend), config).await;
    (upstream, running)
}

fn request(text: &str) -> GenerationRequest {
    GenerationRequest {
        messages: vec![ChatMessage::user(text)],
        max_tokens: 100,
        sampling: Sampling::default(),
        stop: vec![],
    }
}

/// The `data:` payloads of an SSE body.
fn data_events(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(str::to_string)
        .collect()
}

fn chat_body(stream: bool) -> Value {
    json!({"model": "scripted", "stream": stream, "stream_options": {"include_usage": true},
           "messages": [{"role": "user", "content": "Say hello"}]})
}

#[tokio::test]
async fn our_client_streams_text_finish_and_usage_through_serve() {
    let text = "The harbor light turned slowly over the winter sea.";
    let (upstream, serve) = proxy(
        vec![Reply::text(text), Reply::length("Cut short here")],
        ServerConfig::default(),
    )
    .await;
    let client = connect(&serve.url, None).await;
    assert_eq!(client.info().model, "scripted");
    let mut stream = client.stream(request("Write")).await.unwrap();
    let (mut got, mut done) = (String::new(), None);
    while let Some(chunk) = stream.next().await {
        match chunk.unwrap() {
            StreamChunk::Delta(t) => got.push_str(&t),
            StreamChunk::Done {
                finish_reason,
                usage,
            } => done = Some((finish_reason, usage)),
        }
    }
    assert_eq!(got, text);
    let words = text.split_whitespace().count() as u64;
    let usage = Usage {
        prompt_tokens: 10,
        completion_tokens: words,
    };
    assert_eq!(done, Some((FinishReason::Stop, Some(usage))));
    assert_eq!(upstream.requests()[0]["messages"][0]["content"], "Write");

    // The raw wire: role chunk first, deltas, finish, usage with empty choices, [DONE].
    let body = reqwest::Client::new()
        .post(format!("{}/chat/completions", serve.url))
        .json(&chat_body(true))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = data_events(&body);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let json: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(json[0]["choices"][0]["delta"]["role"], "assistant");
    let finish = &json[json.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "length");
    let usage = &json[json.len() - 1];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], 10);
}

#[tokio::test]
async fn non_streaming_chat_and_completions_are_whole_objects() {
    let (upstream, serve) = proxy(
        vec![Reply::text("Hello there."), Reply::text("Once upon")],
        ServerConfig::default(),
    )
    .await;
    let http = reqwest::Client::new();
    let reply: Value = http
        .post(format!("{}/chat/completions", serve.url))
        .json(&chat_body(false))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["object"], "chat.completion");
    assert_eq!(reply["choices"][0]["message"]["content"], "Hello there.");
    assert_eq!(reply["choices"][0]["finish_reason"], "stop");
    assert_eq!(reply["usage"]["completion_tokens"], 2);
    let body = http
        .post(format!("{}/completions", serve.url))
        .json(&json!({"prompt": "Tell", "stream": true}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = data_events(&body);
    let text: String = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|v| v["choices"][0]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, "Once upon");
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    // This upstream has no /v1/completions, so the prompt reached it as one user message.
    assert_eq!(
        upstream.requests()[1]["messages"],
        json!([{"role": "user", "content": "Tell"}])
    );
    let models: Value = http
        .get(format!("{}/models", serve.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "scripted");
}

#[tokio::test]
async fn completions_reach_an_upstream_that_has_them_as_raw_prompts() {
    let options = Options {
        completions: true,
        ..Options::default()
    };
    let replies = vec![Reply::text("upon a time")];
    let (upstream, serve) = proxy_with(replies, options, ServerConfig::default()).await;
    let reply: Value = reqwest::Client::new()
        .post(format!("{}/completions", serve.url))
        .json(&json!({"prompt": "Once ", "max_tokens": 8, "stop": ["."]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["choices"][0]["text"], "upon a time");
    let sent = &upstream.requests()[0];
    assert_eq!(sent["prompt"], "Once ");
    assert_eq!(sent["max_tokens"], 8);
    assert_eq!(sent["stop"], json!(["."]));
    assert!(sent.get("messages").is_none(), "sent as chat: {sent}");
}

#[tokio::test]
async fn four_concurrent_clients_all_complete() {
    let texts: Vec<String> = (0..4)
        .map(|i| format!("Reply number {i} is here."))
        .collect();
    let replies = texts
        .iter()
        .map(|t| Reply::Slow {
            text: t.clone(),
            finish: "stop",
            delay_ms: 20,
        })
        .collect();
    let config = ServerConfig {
        queue: 4,
        concurrency: 4,
        ..ServerConfig::default()
    };
    let (_upstream, serve) = proxy(replies, config).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = serve.url.clone();
        tasks.push(tokio::spawn(async move {
            let client = connect(&url, None).await;
            let mut stream = client.stream(request("go")).await.unwrap();
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                if let StreamChunk::Delta(t) = chunk.unwrap() {
                    text.push_str(&t);
                }
            }
            text
        }));
    }
    let mut got = Vec::new();
    for task in tasks {
        got.push(task.await.unwrap());
    }
    got.sort();
    assert_eq!(got, texts);
}

#[tokio::test]
async fn auth_requires_the_key_except_on_health() {
    let config = ServerConfig {
        api_key: Some("sk-test-123".into()),
        ..ServerConfig::default()
    };
    let (_upstream, serve) = proxy(vec![Reply::text("ok")], config).await;
    let http = reqwest::Client::new();
    let models = format!("{}/models", serve.url);
    let missing = http.get(&models).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");
    let wrong = http
        .get(&models)
        .bearer_auth("sk-test-124")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let chat = http
        .post(format!("{}/chat/completions", serve.url))
        .json(&chat_body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(chat.status(), 401);
    let right = http
        .get(&models)
        .bearer_auth("sk-test-123")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    let health = http
        .get(format!("{}/health", serve.root))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // Our own client, with the key, generates.
    let client = connect(&serve.url, Some("sk-test-123")).await;
    assert!(client.stream(request("hi")).await.is_ok());
    assert!(longwriter::server::keys_match("a", "a") && !longwriter::server::keys_match("a", "b"));
}

#[tokio::test]
async fn cors_headers_only_when_asked() {
    let (_upstream, plain) = proxy(vec![], ServerConfig::default()).await;
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{}/models", plain.url))
        .send()
        .await
        .unwrap();
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let config = ServerConfig {
        cors_origin: Some("https://app.example".into()),
        api_key: Some("k".into()),
        ..ServerConfig::default()
    };
    let (_upstream, cors) = proxy(vec![], config).await;
    let preflight = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/chat/completions", cors.url),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let response = http
        .get(format!("{}/models", cors.url))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        "https://app.example"
    );
}

/// A backend that streams a delta every few milliseconds forever and reports when its stream
/// is dropped (the server's way to stop generating).
pub struct Endless {
    /// Receives one message per dropped stream.
    pub dropped: mpsc::UnboundedSender<()>,
}

struct DropGuard(mpsc::UnboundedSender<()>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

impl Backend for Endless {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "fake".into(),
            model: "endless".into(),
            endpoint: "memory".into(),
        }
    }

    fn stream(
        &self,
        _request: GenerationRequest,
    ) -> futures::future::BoxFuture<'_, Result<ChunkStream, BackendError>> {
        let guard = DropGuard(self.dropped.clone());
        let stream: BoxStream<'static, _> = futures::stream::unfold(guard, |guard| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Some((Ok(StreamChunk::Delta("word ".into())), guard))
        })
        .boxed();
        Box::pin(async move { Ok(stream) })
    }
}
