//! A scripted `Backend` in the test process: replays the same `Reply` list as the scripted
//! HTTP server, with no server, socket or binary in between, so a test can build a `Writer`
//! directly and run it on tokio's paused clock. Text arrives in the same word-sized pieces as
//! the server's SSE deltas; every request is recorded as the writer sent it.

use super::scripted::Reply;
use futures::future::BoxFuture;
use futures::StreamExt;
use longwriter::backend::{
    Backend, BackendError, BackendInfo, ChunkStream, CompletionRequest, FinishReason,
    GenerationRequest, StreamChunk, Usage,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Inner {
    replies: VecDeque<Reply>,
    requests: Vec<GenerationRequest>,
    completions: Vec<CompletionRequest>,
    base: bool,
}

/// A backend that answers each request with the next scripted reply.
#[derive(Clone, Default)]
pub struct ScriptedBackend {
    inner: Arc<Mutex<Inner>>,
}

impl ScriptedBackend {
    /// A backend that will answer with `replies`, in order; once they run out it answers
    /// HTTP 500 "script exhausted", as the scripted server does.
    pub fn new(replies: Vec<Reply>) -> Self {
        let inner = Inner {
            replies: replies.into(),
            ..Inner::default()
        };
        Self {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    /// A backend like `new` that says it serves a base model (`Backend::base_model`), so the
    /// writer uses completion mode unless told otherwise.
    pub fn base(replies: Vec<Reply>) -> Self {
        let backend = Self::new(replies);
        backend.inner.lock().expect("lock").base = true;
        backend
    }

    /// Every raw completion request so far, in order.
    pub fn completions(&self) -> Vec<CompletionRequest> {
        self.inner.lock().expect("lock").completions.clone()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<GenerationRequest> {
        self.inner.lock().expect("lock").requests.clone()
    }

    /// Replies not used yet.
    pub fn remaining(&self) -> usize {
        self.inner.lock().expect("lock").replies.len()
    }
}

impl Backend for ScriptedBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "scripted".into(),
            model: "script".into(),
            endpoint: "in-process".into(),
        }
    }

    fn stream(
        &self,
        request: GenerationRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        let reply = {
            let mut inner = self.inner.lock().expect("lock");
            inner.requests.push(request);
            inner.replies.pop_front()
        };
        Box::pin(async move { answer(reply) })
    }

    fn complete(
        &self,
        request: CompletionRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        let reply = {
            let mut inner = self.inner.lock().expect("lock");
            inner.completions.push(request);
            inner.replies.pop_front()
        };
        Box::pin(async move { answer(reply) })
    }

    fn base_model(&self) -> bool {
        self.inner.lock().expect("lock").base
    }
}

fn answer(reply: Option<Reply>) -> Result<ChunkStream, BackendError> {
    let Some(reply) = reply else {
        return Err(status(500, "script exhausted", None));
    };
    Ok(match reply {
        Reply::Text { text, finish } => {
            let end = done(finish, &text);
            deltas(&text)
                .chain(futures::stream::iter([Ok(end)]))
                .boxed()
        }
        // Like a dropped connection: the text, then the end of the stream without a finish.
        Reply::Broken { text } => deltas(&text),
        Reply::Stall { text } => deltas(&text).chain(futures::stream::pending()).boxed(),
        Reply::Slow {
            text,
            finish,
            delay_ms,
        } => {
            let end = done(finish, &text);
            deltas(&text)
                .chain(futures::stream::iter([Ok(end)]))
                .then(move |item| async move {
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                    item
                })
                .boxed()
        }
        Reply::Status {
            code,
            body,
            retry_after,
        } => return Err(status(code, &body, retry_after)),
        Reply::Raw(_) => {
            return Err(BackendError::Invalid(
                "Reply::Raw is SSE bytes: use the scripted HTTP server for it".into(),
            ))
        }
    })
}

fn status(code: u16, message: &str, retry_after: Option<u64>) -> BackendError {
    BackendError::Status {
        status: code,
        message: message.to_string(),
        retry_after,
    }
}

/// `text` in the scripted server's pieces: cut after a space once a piece passes 12 bytes.
fn deltas(text: &str) -> futures::stream::BoxStream<'static, Result<StreamChunk, BackendError>> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for c in text.chars() {
        piece.push(c);
        if c == ' ' && piece.len() > 12 {
            pieces.push(Ok(StreamChunk::Delta(std::mem::take(&mut piece))));
        }
    }
    if !piece.is_empty() {
        pieces.push(Ok(StreamChunk::Delta(piece)));
    }
    futures::stream::iter(pieces).boxed()
}

fn done(finish: &str, text: &str) -> StreamChunk {
    StreamChunk::Done {
        finish_reason: FinishReason::parse(finish),
        usage: Some(Usage {
            prompt_tokens: 10,
            completion_tokens: text.split_whitespace().count() as u64,
        }),
    }
}
