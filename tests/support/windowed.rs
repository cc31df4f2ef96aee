//! A scripted OpenAI-compatible server that enforces a context window, for the context budget
//! tests and the 100,000-word measurement (`examples/windowed_server.rs` includes this file).
//!
//! It counts a prompt as one token per 3.5 characters plus 4 per message (its own
//! "tokenizer"), refuses with vLLM's 400 "maximum context length" any request whose prompt plus
//! `max_tokens` exceeds the window, records every request's size, and answers by itself: the
//! plan request with the plan it was given, a summary request (its prompt asks for `SUMMARY:`)
//! with a short summary and record, and every other request with filler prose of about the
//! words its `max_tokens` allows. Optionally it says its window in `/props` (llama.cpp) or in
//! `/v1/models` (vLLM), and serves llama.cpp's `/tokenize`.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct WindowOptions {
    /// The window, in the server's tokens.
    pub window: usize,
    /// The reply to the plan request.
    pub plan: String,
    /// Say the window in `/props` and serve `/tokenize`, as llama.cpp does.
    pub llama_cpp: bool,
    /// Say the window as `max_model_len` in `/v1/models`, as vLLM does.
    pub vllm: bool,
    /// Answer this many summary requests with a 500 before answering them.
    pub failing_summaries: usize,
    /// Answer the section request with this number (1-based, counted over the server's
    /// life) with a 500, once.
    pub fail_section: Option<usize>,
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Prompt tokens, by the server's count.
    pub prompt_tokens: usize,
    /// The `max_tokens` asked.
    pub max_tokens: usize,
    /// What it was: "plan", "summary" or "section".
    pub kind: &'static str,
    /// Whether it was refused for its length.
    pub refused: bool,
}

#[derive(Default)]
struct Inner {
    seen: Vec<Seen>,
    failing_summaries: usize,
    sections: usize,
}

/// A running window-enforcing server.
#[derive(Clone)]
pub struct WindowedServer {
    /// API root, e.g. `http://127.0.0.1:PORT/v1`.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Clone)]
struct AppState {
    options: Arc<WindowOptions>,
    inner: Arc<Mutex<Inner>>,
}

impl WindowedServer {
    /// Starts the server on a loopback port.
    pub async fn start(options: WindowOptions) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        Self::serve(listener, options)
    }

    /// Serves on `listener`.
    pub fn serve(listener: tokio::net::TcpListener, options: WindowOptions) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            seen: Vec::new(),
            failing_summaries: options.failing_summaries,
            sections: 0,
        }));
        let state = AppState {
            options: Arc::new(options.clone()),
            inner: inner.clone(),
        };
        let mut app = Router::new()
            .route("/v1/models", get(models))
            .route("/v1/chat/completions", post(chat));
        if options.llama_cpp {
            app = app
                .route("/props", get(props))
                .route("/tokenize", post(tokenize));
        }
        let app = app.with_state(state);
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/v1"),
            inner,
        }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().expect("lock").seen.clone()
    }
}

/// The server's token count of a text.
pub fn tokens_of(text: &str) -> usize {
    (text.chars().count() * 2).div_ceil(7)
}

fn prompt_tokens(messages: &[Value]) -> usize {
    messages
        .iter()
        .map(|m| tokens_of(m["content"].as_str().unwrap_or("")) + 4)
        .sum()
}

async fn models(State(state): State<AppState>) -> Response {
    let mut entry = json!({"id": "windowed", "object": "model"});
    if state.options.vllm {
        entry["max_model_len"] = json!(state.options.window);
    }
    Json(json!({"object": "list", "data": [entry]})).into_response()
}

async fn props(State(state): State<AppState>) -> Response {
    Json(json!({"default_generation_settings": {"n_ctx": state.options.window}, "total_slots": 1}))
        .into_response()
}

async fn tokenize(Json(body): Json<Value>) -> Response {
    let n = tokens_of(body["content"].as_str().unwrap_or(""));
    Json(json!({"tokens": vec![1; n]})).into_response()
}

async fn chat(State(state): State<AppState>, Json(body): Json<Value>) -> Response {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let prompt = prompt_tokens(&messages);
    let max_tokens = body["max_tokens"].as_u64().unwrap_or(0) as usize;
    let last = messages
        .last()
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    let kind = if last.contains("SUMMARY:") {
        "summary"
    } else if messages.len() == 1 && last.contains("Word Count") {
        "plan"
    } else {
        "section"
    };
    let window = state.options.window;
    let refused = prompt + max_tokens > window;
    let fail_summary = {
        let mut inner = state.inner.lock().expect("lock");
        inner.seen.push(Seen {
            prompt_tokens: prompt,
            max_tokens,
            kind,
            refused,
        });
        let mut fail = kind == "summary" && inner.failing_summaries > 0 && !refused;
        if fail {
            inner.failing_summaries -= 1;
        }
        if kind == "section" && !refused {
            inner.sections += 1;
            fail |= state.options.fail_section == Some(inner.sections);
        }
        fail
    };
    if refused {
        let message = format!(
            "This model's maximum context length is {window} tokens. However, you requested {} tokens ({prompt} in the messages, {max_tokens} in the completion). Please reduce the length of the messages or completion.",
            prompt + max_tokens
        );
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": message, "type": "BadRequestError", "code": 400}})),
        )
            .into_response();
    }
    if fail_summary {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"message": "failed on cue"}})),
        )
            .into_response();
    }
    let text = match kind {
        "plan" => state.options.plan.clone(),
        "summary" => summary_reply(last),
        // Seeded by the request too: two sections asked with the same number of turns (after
        // a compaction) must not get the same text, which the writer would drop as a copy.
        _ => filler(
            ((max_tokens.saturating_sub(32)) as f64 / 1.4) as usize,
            messages.len() ^ super::prose::seed_of(last) as usize,
        ),
    };
    sse(&text, prompt)
}

/// A summary naming the section it was asked about, and a record.
fn summary_reply(prompt: &str) -> String {
    let number = prompt
        .split_whitespace()
        .nth(3)
        .unwrap_or("?")
        .trim_matches(|c: char| !c.is_ascii_digit());
    format!(
        "SUMMARY: Section {number} follows the keeper through another season of storms and repairs at the light.\n\
         RECORD: Keeper Ada Lane; Skerry Rock light; 1902 onwards; open thread: the lost logbook (as of section {number})."
    )
}

/// `words` words of plain prose in eight-word sentences; `seed` varies the wording.
pub fn filler(words: usize, seed: usize) -> String {
    let n = words.max(1);
    let picked = super::prose::filler_words(seed as u64, n);
    let mut out = String::with_capacity(n * 7);
    for (i, word) in picked.iter().enumerate() {
        out.push_str(word);
        out.push_str(if i % 8 == 7 || i + 1 == n { ". " } else { " " });
    }
    out.trim_end().to_string()
}

/// The reply as one SSE body: role, the text in pieces of about 40 words, finish and usage.
fn sse(text: &str, prompt: usize) -> Response {
    let mut events = vec![json!({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})];
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    for piece in words.chunks(40) {
        events.push(json!({"choices": [{"index": 0, "delta": {"content": piece.concat()}}]}));
    }
    events.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    events.push(json!({"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": tokens_of(text)}}));
    let mut body: Vec<u8> = Vec::new();
    for e in events {
        body.extend_from_slice(format!("data: {e}\n\n").as_bytes());
    }
    body.extend_from_slice(b"data: [DONE]\n\n");
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from(Bytes::from(body)))
        .expect("valid response")
}
