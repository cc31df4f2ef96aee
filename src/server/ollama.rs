//! The Ollama routes of `longwriter serve`: `/api/chat`, `/api/generate`, `/api/tags`,
//! `/api/show` and `/api/version`, beside the OpenAI ones, so that Ollama's own clients can use
//! the server. They share the OpenAI routes' auth, limits, guard, queue and shutdown (`routes::
//! start`); only the body's shape (`ollama_wire`) and the errors' (`{"error": "..."}`) differ.

use super::error::ApiError;
use super::ollama_wire::{self, NdjsonEncoder, OllamaEndpoint, Timings, OLLAMA_VERSION};
use super::routes::{self, Slots};
use super::App;
use crate::backend::{ChunkStream, StreamChunk};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::time::Instant;

/// `POST /api/chat`.
pub async fn chat(State(app): State<Arc<App>>, body: Result<Bytes, BytesRejection>) -> Response {
    generate(app, OllamaEndpoint::Chat, body)
        .await
        .unwrap_or_else(error_reply)
}

/// `POST /api/generate`.
pub async fn generate_route(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    generate(app, OllamaEndpoint::Generate, body)
        .await
        .unwrap_or_else(error_reply)
}

/// `GET /api/tags`: the one served model.
pub async fn tags(State(app): State<Arc<App>>) -> Response {
    let entry = json!({
        "name": app.policy.model,
        "model": app.policy.model,
        "modified_at": ollama_wire::timestamp(SystemTime::UNIX_EPOCH),
        "size": 0,
        "digest": "",
        "details": details(&app),
    });
    Json(json!({ "models": [entry] })).into_response()
}

/// `POST /api/show`: the served model, with its context window as
/// `model_info["longwriter.context_length"]` when the backend knows it.
pub async fn show(State(app): State<Arc<App>>, body: Result<Bytes, BytesRejection>) -> Response {
    let wanted = routes::read_body(&app, body).and_then(|b| {
        let value: Value = serde_json::from_slice(&b)
            .map_err(|e| ApiError::from(super::RequestError::MalformedJson(e.to_string())))?;
        Ok(value
            .get("model")
            .or_else(|| value.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string())
    });
    let wanted = match wanted {
        Ok(w) => w,
        Err(e) => return error_reply(e),
    };
    if !ollama_wire::names_model(&wanted, &app.policy.model) {
        return error_reply(not_found(&app, &wanted));
    }
    let mut info = json!({ "general.architecture": "longwriter" });
    if let Some(window) = app.backend.context_window() {
        info["longwriter.context_length"] = json!(window.tokens);
    }
    Json(json!({
        "modelfile": "",
        "parameters": "",
        "template": "",
        "details": details(&app),
        "model_info": info,
        "capabilities": ["completion"],
        "modified_at": ollama_wire::timestamp(SystemTime::UNIX_EPOCH),
    }))
    .into_response()
}

/// `GET /api/version`.
pub async fn version() -> Response {
    Json(json!({"version": OLLAMA_VERSION, "longwriter": env!("CARGO_PKG_VERSION")}))
        .into_response()
}

fn details(app: &App) -> Value {
    json!({
        "parent_model": "",
        "format": "gguf",
        "family": app.backend.info().kind,
        "families": null,
        "parameter_size": "",
        "quantization_level": "",
    })
}

/// Ollama's error shape: the status and `{"error": "..."}`, with `Retry-After` when set.
fn error_reply(error: ApiError) -> Response {
    let mut response = (error.status, Json(json!({"error": error.message}))).into_response();
    if let Some(secs) = error.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Ollama's words for a model it does not have.
fn not_found(app: &App, wanted: &str) -> ApiError {
    let mut e = ApiError::from(super::RequestError::UnknownModel {
        requested: wanted.to_string(),
        served: app.policy.model.clone(),
    });
    e.message = format!(
        "model {wanted:?} not found, try pulling it first (this server serves {:?})",
        app.policy.model
    );
    e
}

async fn generate(
    app: Arc<App>,
    endpoint: OllamaEndpoint,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let began = Instant::now();
    let body = routes::read_body(&app, body)?;
    let parsed = ollama_wire::parse(endpoint, &body, &app.policy).map_err(|e| match e {
        super::RequestError::UnknownModel { requested, .. } => not_found(&app, &requested),
        other => ApiError::from(other),
    })?;
    let model: String = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("model").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| app.policy.model.clone());
    let encoder = NdjsonEncoder { endpoint, model };
    let Some(generation) = parsed.generation else {
        return Ok(Json(encoder.loaded(SystemTime::now())).into_response());
    };
    let (stream, slots) = routes::start(&app, generation).await?;
    let state = Streaming {
        _slots: slots,
        app,
        encoder,
        stream,
        began,
        first: Instant::now(),
        text: String::new(),
        finished: false,
    };
    if parsed.stream {
        Ok(stream_reply(state))
    } else {
        whole_reply(state).await
    }
}

/// What a reply carries from one chunk to the next.
struct Streaming {
    /// Held until the body is dropped (see `routes::Streaming`).
    _slots: Slots,
    app: Arc<App>,
    encoder: NdjsonEncoder,
    stream: ChunkStream,
    /// When the request arrived.
    began: Instant,
    /// When the first chunk was there.
    first: Instant,
    /// The text so far (kept for a whole reply only).
    text: String,
    finished: bool,
}

/// What one step of the backend's stream gives.
enum Step {
    Text(String),
    Done(Value),
    Failed(ApiError),
}

impl Streaming {
    async fn step(&mut self) -> Step {
        let item = tokio::select! {
            item = self.stream.next() => Some(item),
            _ = self.app.stopping.cancelled() => None,
        };
        let error = match item {
            Some(Some(Ok(StreamChunk::Delta(text)))) => return Step::Text(text),
            Some(Some(Ok(StreamChunk::Done {
                finish_reason,
                usage,
            }))) => {
                self.finished = true;
                let now = Instant::now();
                let timings = Timings {
                    total: now - self.began,
                    prompt_eval: self.first - self.began,
                    eval: now - self.first,
                };
                let usage = usage.unwrap_or_default();
                let text = std::mem::take(&mut self.text);
                let last =
                    self.encoder
                        .done(&text, &finish_reason, usage, timings, SystemTime::now());
                return Step::Done(last);
            }
            Some(Some(Err(e))) => routes::backend_failure(&self.app, &e),
            Some(None) => routes::ended_early(&self.app),
            None => ApiError::shutting_down(),
        };
        self.finished = true;
        Step::Failed(error)
    }
}

/// The NDJSON reply: a line per chunk, then the last line; an `{"error": …}` line (and no
/// `done: true`) when the backend fails or the server stops mid-stream.
fn stream_reply(state: Streaming) -> Response {
    let lines = futures::stream::unfold(state, |mut s| async move {
        if s.finished {
            return None;
        }
        let line = match s.step().await {
            Step::Text(text) if text.is_empty() => String::new(),
            Step::Text(text) => s.encoder.delta(&text, SystemTime::now()),
            Step::Done(last) => ollama_wire::line(&last),
            Step::Failed(e) => ollama_wire::line(&json!({"error": e.message})),
        };
        Some((line, s))
    })
    .filter(|line| futures::future::ready(!line.is_empty()))
    .map(|line| Ok::<_, Infallible>(Bytes::from(line)));
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response()
}

/// The whole generation as one object (`stream: false`).
async fn whole_reply(mut state: Streaming) -> Result<Response, ApiError> {
    loop {
        match state.step().await {
            Step::Text(text) => state.text.push_str(&text),
            Step::Done(last) => return Ok((StatusCode::OK, Json(last)).into_response()),
            Step::Failed(e) => return Err(e),
        }
    }
}
