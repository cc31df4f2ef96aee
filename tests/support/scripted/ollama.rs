//! The scripted server's Ollama routes: `/api/tags` lists the scripted models, `/api/show`
//! gives a Gemma 3 `model_info` with a 32768-token context, and `/api/chat` and
//! `/api/generate` answer with the next scripted reply as NDJSON (`Raw` pieces are sent as they
//! are, e.g. a recorded transcript; `Text` becomes Ollama's lines; `Status` an HTTP error).

use super::{AppState, Reply};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// The context length `/api/show` reports.
pub const SHOW_CONTEXT: usize = 32_768;

/// Adds the Ollama routes to `router`.
pub(super) fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/api/tags", get(tags))
        .route("/api/show", post(show))
        .route("/api/chat", post(chat))
        .route("/api/generate", post(chat))
}

async fn tags(State(state): State<AppState>) -> Response {
    let models: Vec<Value> = state
        .models
        .iter()
        .map(|m| json!({"name": m, "model": m, "size": 1, "digest": "d", "details": {"family": "gemma3"}}))
        .collect();
    Json(json!({ "models": models })).into_response()
}

async fn show() -> Response {
    Json(json!({
        "details": {"family": "gemma3"},
        "model_info": {"general.architecture": "gemma3", "gemma3.context_length": SHOW_CONTEXT},
    }))
    .into_response()
}

async fn chat(State(state): State<AppState>, Json(body): Json<Value>) -> Response {
    let reply = {
        let mut inner = state.inner.lock().expect("lock");
        inner.requests.push(body);
        inner.replies.pop_front()
    };
    match reply {
        Some(Reply::Raw(pieces)) => ndjson(pieces),
        Some(Reply::Text { text, finish }) => ndjson(lines(&text, Some(finish))),
        Some(Reply::Broken { text }) => ndjson(lines(&text, None)),
        Some(Reply::Status { code, body, .. }) => {
            let status = StatusCode::from_u16(code).expect("valid status");
            (status, body).into_response()
        }
        other => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": format!("script has no Ollama reply here: {other:?}")})),
        )
            .into_response(),
    }
}

/// Ollama's lines for `text`: word-sized `message` lines, then the `done` line (none when
/// `finish` is `None`).
fn lines(text: &str, finish: Option<&str>) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = text
        .split_inclusive(' ')
        .map(|piece| line(json!({"model": "scripted", "created_at": "2025-01-01T00:00:00Z", "message": {"role": "assistant", "content": piece}, "done": false})))
        .collect();
    if let Some(finish) = finish {
        let words = text.split_whitespace().count();
        out.push(line(json!({"model": "scripted", "created_at": "2025-01-01T00:00:00Z", "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": finish, "prompt_eval_count": 10, "eval_count": words})));
    }
    out
}

fn line(value: Value) -> Vec<u8> {
    format!("{value}\n").into_bytes()
}

fn ndjson(pieces: Vec<Vec<u8>>) -> Response {
    let stream = futures::stream::iter(
        pieces
            .into_iter()
            .map(|p| Ok::<_, std::io::Error>(Bytes::from(p))),
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from_stream(stream))
        .expect("valid response")
}
