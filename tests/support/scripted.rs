//! A scripted OpenAI-compatible server: replays a list of replies in order, records every chat
//! request, and can misbehave on cue (HTTP errors, broken streams, HTML, errors inside the
//! stream, bytes split inside UTF-8 characters). It speaks Ollama's native API too (`ollama`).

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

pub mod ollama;

/// One scripted reply to a chat request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Stream `text` in chunks of `chunk_chars` characters, then finish with `finish`.
    Text { text: String, finish: &'static str },
    /// Answer with an HTTP error.
    Status {
        code: u16,
        body: String,
        retry_after: Option<u64>,
    },
    /// Stream `text`, then drop the connection without a finish reason.
    Broken { text: String },
    /// A raw SSE body, sent in the given byte pieces.
    Raw(Vec<Vec<u8>>),
    /// Stream `text`, then keep the connection open without sending anything more.
    Stall { text: String },
    /// Stream `text` like `Text`, waiting `delay_ms` before each piece (so a test can act
    /// mid-section); the send time of every piece is logged (see `sent`).
    Slow {
        text: String,
        finish: &'static str,
        delay_ms: u64,
    },
}

impl Reply {
    /// A normal reply ending with `stop`.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text {
            text: text.into(),
            finish: "stop",
        }
    }

    /// A reply cut by `max_tokens`.
    pub fn length(text: impl Into<String>) -> Self {
        Self::Text {
            text: text.into(),
            finish: "length",
        }
    }
}

#[derive(Default)]
struct Inner {
    replies: VecDeque<Reply>,
    requests: Vec<Value>,
    sent: Vec<(std::time::Instant, String)>,
    /// The `Authorization` header of each `/v1/models` request (`None`: not sent).
    authorizations: Vec<Option<String>>,
}

/// A running scripted server.
#[derive(Clone)]
pub struct ScriptedServer {
    /// API root, e.g. `http://127.0.0.1:PORT/v1`.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Clone)]
struct AppState {
    inner: Arc<Mutex<Inner>>,
    models: Arc<Vec<String>>,
    html: bool,
}

/// Which kind of server to start.
#[derive(Clone, Default)]
pub struct Options {
    /// Models listed by `/v1/models`; default `["scripted"]`.
    pub models: Option<Vec<String>>,
    /// Answer every route with an HTML page, like a web server that is not an API.
    pub html: bool,
    /// Also serve `/v1/completions` (raw prompts, `text` chunks), as vLLM and llama.cpp do.
    pub completions: bool,
    /// Answer `/props` with this context per slot, as llama.cpp's server does.
    pub props_n_ctx: Option<usize>,
}

impl ScriptedServer {
    /// Starts a server that answers with `replies` in order.
    pub async fn start(replies: Vec<Reply>) -> Self {
        Self::start_with(replies, Options::default()).await
    }

    /// Starts a server with options.
    pub async fn start_with(replies: Vec<Reply>, options: Options) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            replies: replies.into(),
            requests: Vec::new(),
            sent: Vec::new(),
            authorizations: Vec::new(),
        }));
        let state = AppState {
            inner: inner.clone(),
            models: Arc::new(options.models.unwrap_or_else(|| vec!["scripted".into()])),
            html: options.html,
        };
        let mut app = Router::new()
            .route("/v1/models", get(models))
            .route("/v1/chat/completions", post(chat));
        if options.completions {
            app = app.route("/v1/completions", post(completion));
        }
        if let Some(n_ctx) = options.props_n_ctx {
            let props = json!({"default_generation_settings": {"n_ctx": n_ctx}});
            app = app.route("/props", get(move || async move { Json(props) }));
        }
        let app = ollama::routes(app).fallback(fallback).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/v1"),
            inner,
        }
    }

    /// Every request received so far (chat and completions), as JSON bodies.
    pub fn requests(&self) -> Vec<Value> {
        self.inner.lock().expect("lock").requests.clone()
    }

    /// When each piece of a `Slow` reply was sent, with its text.
    pub fn sent(&self) -> Vec<(std::time::Instant, String)> {
        self.inner.lock().expect("lock").sent.clone()
    }

    /// The `Authorization` header of each `/v1/models` request so far (`None`: none sent).
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.inner.lock().expect("lock").authorizations.clone()
    }

    /// Replies not yet used.
    pub fn remaining(&self) -> usize {
        self.inner.lock().expect("lock").replies.len()
    }
}

const HTML: &str = "<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>";

async fn fallback(State(state): State<AppState>) -> Response {
    if state.html {
        return ([(header::CONTENT_TYPE, "text/html")], HTML).into_response();
    }
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": {"message": "no such route"}})),
    )
        .into_response()
}

async fn models(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("<not text>").to_string());
    state
        .inner
        .lock()
        .expect("lock")
        .authorizations
        .push(authorization);
    if state.html {
        return ([(header::CONTENT_TYPE, "text/html")], HTML).into_response();
    }
    let data: Vec<Value> = state
        .models
        .iter()
        .map(|m| json!({"id": m, "object": "model"}))
        .collect();
    Json(json!({"object": "list", "data": data})).into_response()
}

async fn chat(
    State(state): State<AppState>,
    _headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let reply = {
        let mut inner = state.inner.lock().expect("lock");
        inner.requests.push(body);
        inner.replies.pop_front()
    };
    let Some(reply) = reply else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"message": "script exhausted"}})),
        )
            .into_response();
    };
    match reply {
        Reply::Text { text, finish } => sse(text_events(&text, Some(finish))),
        Reply::Broken { text } => sse(text_events(&text, None)),
        Reply::Raw(pieces) => sse(pieces),
        Reply::Slow {
            text,
            finish,
            delay_ms,
        } => slow(state.inner.clone(), &text, finish, delay_ms),
        Reply::Stall { text } => {
            let head = futures::stream::iter(
                text_events(&text, None)
                    .into_iter()
                    .map(|p| Ok(Bytes::from(p))),
            );
            let body = head.chain(futures::stream::pending::<Result<Bytes, std::io::Error>>());
            Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .body(Body::from_stream(body))
                .expect("valid response")
        }
        Reply::Status {
            code,
            body,
            retry_after,
        } => {
            let status = StatusCode::from_u16(code).expect("valid status");
            let mut response = (status, body).into_response();
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, secs.into());
            }
            response
        }
    }
}

/// `/v1/completions`: the next reply, which must be `Text`, as `text` chunks.
async fn completion(State(state): State<AppState>, Json(body): Json<Value>) -> Response {
    let reply = {
        let mut inner = state.inner.lock().expect("lock");
        inner.requests.push(body);
        inner.replies.pop_front()
    };
    let Some(Reply::Text { text, finish }) = reply else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"message": "script has no text reply for a completion"}})),
        )
            .into_response();
    };
    let mut events: Vec<Vec<u8>> = text
        .split_inclusive(' ')
        .map(|piece| data(json!({"choices": [{"index": 0, "text": piece}]})))
        .collect();
    events.push(data(
        json!({"choices": [{"index": 0, "text": "", "finish_reason": finish}]}),
    ));
    events.push(b"data: [DONE]\n\n".to_vec());
    sse(events)
}

/// The SSE pieces of a reply: a role chunk, the text in word-sized deltas, and the finish.
fn text_events(text: &str, finish: Option<&str>) -> Vec<Vec<u8>> {
    let mut events = vec![data(
        json!({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
    )];
    let mut piece = String::new();
    for c in text.chars() {
        piece.push(c);
        if c == ' ' && piece.len() > 12 {
            events.push(data(
                json!({"choices": [{"index": 0, "delta": {"content": piece}}]}),
            ));
            piece = String::new();
        }
    }
    if !piece.is_empty() {
        events.push(data(
            json!({"choices": [{"index": 0, "delta": {"content": piece}}]}),
        ));
    }
    if let Some(finish) = finish {
        events.push(data(
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}),
        ));
        let words = text.split_whitespace().count();
        events.push(data(
            json!({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": words}}),
        ));
        events.push(b"data: [DONE]\n\n".to_vec());
    }
    events
}

/// A `Slow` reply: the pieces of `text_events`, each after `delay_ms`, logged when sent.
fn slow(inner: Arc<Mutex<Inner>>, text: &str, finish: &str, delay_ms: u64) -> Response {
    let pieces = text_events(text, Some(finish));
    let stream = futures::stream::iter(pieces).then(move |piece| {
        let inner = inner.clone();
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            let shown = String::from_utf8_lossy(&piece).into_owned();
            inner
                .lock()
                .expect("lock")
                .sent
                .push((std::time::Instant::now(), shown));
            Ok::<_, std::io::Error>(Bytes::from(piece))
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .expect("valid response")
}

/// One SSE `data:` event.
pub fn data(value: Value) -> Vec<u8> {
    format!("data: {value}\n\n").into_bytes()
}

fn sse(pieces: Vec<Vec<u8>>) -> Response {
    let stream = futures::stream::iter(
        pieces
            .into_iter()
            .map(|p| Ok::<_, std::io::Error>(Bytes::from(p))),
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .expect("valid response")
}
