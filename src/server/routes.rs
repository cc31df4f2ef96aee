//! The handlers: parse the body, take a queue slot, start the backend's stream (a chat or a
//! raw completion), wait for its first chunk, and answer with SSE or one JSON object. The queue slot and the backend stream live inside the reply
//! body, so a client that hangs up drops both: generation stops and the slot frees.

use super::error::ApiError;
use super::request::{self, Endpoint, Generation};
use super::sse::{self, Encoder};
use super::App;
use crate::backend::{ChunkStream, FinishReason, StreamChunk, Usage};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::OwnedSemaphorePermit;

/// `POST /v1/chat/completions`.
pub async fn chat(State(app): State<Arc<App>>, body: Result<Bytes, BytesRejection>) -> Response {
    generate(app, Endpoint::Chat, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /v1/completions`.
pub async fn completion(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    generate(app, Endpoint::Completion, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `GET /v1/models`: the one served model, with its context window as vLLM's
/// `max_model_len` when the backend knows it (so clients can fit their requests).
pub async fn models(State(app): State<Arc<App>>) -> Response {
    let mut entry = json!({
        "id": app.policy.model,
        "object": "model",
        "created": 0,
        "owned_by": "longwriter",
    });
    if let Some(window) = app.backend.context_window() {
        entry["max_model_len"] = json!(window.tokens);
    }
    Json(json!({"object": "list", "data": [entry]})).into_response()
}

/// `GET /health`: open without a key, for load balancers and scripts.
pub async fn health(State(app): State<Arc<App>>) -> Response {
    Json(json!({"status": "ok", "model": app.policy.model})).into_response()
}

/// Any other route: an OpenAI-shaped 404.
pub async fn fallback(uri: Uri) -> Response {
    ApiError::no_route(uri.path()).into_response()
}

/// The permits a request holds: its queue slot and its generation slot.
pub(super) type Slots = (OwnedSemaphorePermit, OwnedSemaphorePermit);

/// The body, or the error for one that is too large or unreadable.
pub(super) fn read_body(app: &App, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(app.max_body),
        _ => ApiError::unreadable(&e.body_text()),
    })
}

/// Takes a queue slot (503 when the queue is full) and a generation slot, starts the
/// backend's stream and waits for its first chunk. The Ollama routes share it.
pub(super) async fn start(
    app: &Arc<App>,
    generation: Generation,
) -> Result<(ChunkStream, Slots), ApiError> {
    let queued = app
        .admit
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::overloaded(app.retry_after_secs))?;
    let running = tokio::select! {
        permit = app.run.clone().acquire_owned() => {
            permit.map_err(|_| ApiError::shutting_down())?
        }
        _ = app.stopping.cancelled() => return Err(ApiError::shutting_down()),
    };
    let started = match generation {
        Generation::Chat(request) => app.backend.stream(request).await,
        Generation::Completion(request) => app.backend.complete(request).await,
    };
    let stream = started.map_err(|e| backend_failure(app, &e))?;
    let stream = first_chunk(app, stream).await?;
    Ok((stream, (queued, running)))
}

async fn generate(
    app: Arc<App>,
    endpoint: Endpoint,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = read_body(&app, body)?;
    let parsed = request::parse(endpoint, &body, &app.policy)?;
    let (stream, slots) = start(&app, parsed.generation).await?;
    let encoder = Encoder {
        endpoint,
        id: reply_id(endpoint),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        model: app.policy.model.clone(),
    };
    if parsed.stream {
        Ok(stream_reply(
            app,
            encoder,
            stream,
            parsed.include_usage,
            slots,
        ))
    } else {
        whole_reply(&app, &encoder, stream).await
    }
}

/// Waits for the stream's first chunk before answering, so that a request the backend
/// refuses at once (a prompt longer than the engine's context, an upstream's error) gets its
/// own HTTP status, not a 200 whose stream carries an error event. The chunk is put back.
async fn first_chunk(app: &App, mut stream: ChunkStream) -> Result<ChunkStream, ApiError> {
    let first = tokio::select! {
        item = stream.next() => item,
        _ = app.stopping.cancelled() => return Err(ApiError::shutting_down()),
    };
    match first {
        Some(Ok(chunk)) => Ok(futures::stream::iter([Ok(chunk)]).chain(stream).boxed()),
        Some(Err(e)) => Err(backend_failure(app, &e)),
        None => Err(ended_early(app)),
    }
}

pub(super) fn backend_failure(app: &App, error: &crate::backend::BackendError) -> ApiError {
    tracing::warn!("backend error: {error}");
    ApiError::backend(error, app.proxied)
}

fn reply_id(endpoint: Endpoint) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    match endpoint {
        Endpoint::Chat => format!("chatcmpl-{nanos:x}"),
        Endpoint::Completion => format!("cmpl-{nanos:x}"),
    }
}

/// Collects the whole generation into one JSON reply.
async fn whole_reply(
    app: &App,
    encoder: &Encoder,
    mut stream: ChunkStream,
) -> Result<Response, ApiError> {
    let mut text = String::new();
    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            _ = app.stopping.cancelled() => return Err(ApiError::shutting_down()),
        };
        match item {
            Some(Ok(StreamChunk::Delta(t))) => text.push_str(&t),
            Some(Ok(StreamChunk::Done {
                finish_reason,
                usage,
            })) => {
                let reply = encoder.full(&text, &finish_reason, usage.unwrap_or_default());
                return Ok(Json(reply).into_response());
            }
            Some(Err(e)) => return Err(backend_failure(app, &e)),
            None => return Err(ended_early(app)),
        }
    }
}

pub(super) fn ended_early(app: &App) -> ApiError {
    let e = crate::backend::BackendError::Broken("the backend ended without finishing".into());
    backend_failure(app, &e)
}

/// What a streamed reply carries from one step to the next.
struct Streaming {
    /// Held until the body is dropped: finished, or the client gone. Declared first so the
    /// slot is free by the time the backend sees its stream dropped.
    _slots: Slots,
    app: Arc<App>,
    encoder: Encoder,
    stream: ChunkStream,
    include_usage: bool,
    finished: bool,
}

/// The SSE reply: the encoder's events for each chunk; an error event if the backend fails or
/// the server stops mid-stream (no `[DONE]` then, so clients see the stream was cut).
fn stream_reply(
    app: Arc<App>,
    encoder: Encoder,
    stream: ChunkStream,
    include_usage: bool,
    slots: Slots,
) -> Response {
    let head: Vec<String> = encoder.start().into_iter().collect();
    let state = Streaming {
        _slots: slots,
        app,
        encoder,
        stream,
        include_usage,
        finished: false,
    };
    let events = futures::stream::unfold(state, |mut s| async move {
        if s.finished {
            return None;
        }
        let events = step(&mut s).await;
        Some((events, s))
    });
    let body = futures::stream::iter(head)
        .chain(events.flat_map(futures::stream::iter))
        .map(|event| Ok::<_, Infallible>(Bytes::from(event)));
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// One step of a streamed reply: the events for the backend's next chunk.
async fn step(s: &mut Streaming) -> Vec<String> {
    let item = tokio::select! {
        item = s.stream.next() => Some(item),
        _ = s.app.stopping.cancelled() => None,
    };
    let error = match item {
        Some(Some(Ok(StreamChunk::Delta(text)))) if text.is_empty() => return Vec::new(),
        Some(Some(Ok(StreamChunk::Delta(text)))) => return vec![s.encoder.delta(&text)],
        Some(Some(Ok(StreamChunk::Done {
            finish_reason,
            usage,
        }))) => {
            s.finished = true;
            return finish_events(s, &finish_reason, usage);
        }
        Some(Some(Err(e))) => backend_failure(&s.app, &e),
        Some(None) => ended_early(&s.app),
        None => ApiError::shutting_down(),
    };
    s.finished = true;
    vec![sse::event(&error.body())]
}

fn finish_events(s: &Streaming, reason: &FinishReason, usage: Option<Usage>) -> Vec<String> {
    let mut events = vec![s.encoder.finish(reason)];
    if s.include_usage {
        events.push(s.encoder.usage(usage.unwrap_or_default()));
    }
    events.push(sse::DONE.to_string());
    events
}
