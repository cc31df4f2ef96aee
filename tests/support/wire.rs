//! A scripted backend at the level of the wire, in the test process: each request gets the
//! next scripted answer, either an error before any byte (refused connection, HTTP status
//! with headers and body, read by the real `status_error`) or a body of byte pieces, waits,
//! resets and stalls, read by the real SSE decoder (`decode_body`) under real timeouts. No
//! socket, so tokio's paused clock drives every timeout and wait.

use futures::future::BoxFuture;
use futures::StreamExt;
use longwriter::backend::openai::{decode_body, status_error, StreamLimits};
use longwriter::backend::{Backend, BackendError, BackendInfo, ChunkStream, GenerationRequest};
use serde_json::json;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One part of a scripted body.
#[derive(Debug, Clone)]
pub enum Piece {
    /// These bytes, in one read.
    Bytes(Vec<u8>),
    /// Nothing for this long.
    Wait(Duration),
    /// The connection is reset (an I/O error).
    Reset,
    /// Nothing ever again, with the connection open.
    Stall,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Wire {
    /// The connection is refused.
    Refused,
    /// An HTTP error: status, headers, body.
    Status(u16, Vec<(&'static str, String)>, String),
    /// A 200 with this body.
    Body(Vec<Piece>),
}

/// Limits for the tests: the defaults, with a 4 KiB line bound.
pub fn limits() -> StreamLimits {
    StreamLimits {
        max_line: 4096,
        ..StreamLimits::default()
    }
}

/// A backend that answers each request with the next `Wire`.
#[derive(Clone)]
pub struct WireBackend {
    name: &'static str,
    script: Arc<Mutex<VecDeque<Wire>>>,
}

impl WireBackend {
    /// A backend called `name` (its endpoint) answering with `script`, in order; once it runs
    /// out, every connection is refused.
    pub fn new(name: &'static str, script: Vec<Wire>) -> Self {
        Self {
            name,
            script: Arc::new(Mutex::new(script.into())),
        }
    }
}

impl Backend for WireBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "openai".into(),
            model: "wire".into(),
            endpoint: self.name.into(),
        }
    }

    fn stream(&self, _: GenerationRequest) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        let next = self.script.lock().expect("lock").pop_front();
        let url = format!("http://{}/v1/chat/completions", self.name);
        Box::pin(async move {
            match next.unwrap_or(Wire::Refused) {
                Wire::Refused => Err(BackendError::Unreachable {
                    url,
                    reason: "Connection refused (os error 111)".into(),
                }),
                Wire::Status(code, headers, body) => {
                    let header = |name: &str| {
                        headers
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case(name))
                            .map(|(_, v)| v.clone())
                    };
                    Err(status_error(
                        code,
                        header("retry-after").as_deref(),
                        header("retry-after-ms").as_deref(),
                        &body,
                    ))
                }
                Wire::Body(pieces) => Ok(decode_body(body(pieces), limits())),
            }
        })
    }
}

/// The byte stream of `pieces`.
fn body(
    pieces: Vec<Piece>,
) -> futures::stream::BoxStream<'static, Result<Vec<u8>, std::io::Error>> {
    futures::stream::unfold(VecDeque::from(pieces), |mut pieces| async move {
        loop {
            match pieces.pop_front()? {
                Piece::Bytes(b) => return Some((Ok(b), pieces)),
                Piece::Wait(d) => tokio::time::sleep(d).await,
                Piece::Reset => {
                    let e = std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "connection reset by peer",
                    );
                    return Some((Err(e), VecDeque::new()));
                }
                Piece::Stall => futures::future::pending::<()>().await,
            }
        }
    })
    .boxed()
}

/// The SSE events of `text` as OpenAI streams it: a role chunk, one delta per word (with its
/// space), and, with a `finish`, the finish chunk, a usage chunk and `[DONE]`.
pub fn events(text: &str, finish: Option<&str>) -> Vec<u8> {
    let mut out =
        sse(json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}));
    for word in text.split_inclusive(' ') {
        out.extend(sse(
            json!({"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": null}]}),
        ));
    }
    if let Some(finish) = finish {
        out.extend(sse(
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}),
        ));
        out.extend(sse(
            json!({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5}}),
        ));
        out.extend(b"data: [DONE]\n\n");
    }
    out
}

/// One `data:` event.
pub fn sse(value: serde_json::Value) -> Vec<u8> {
    format!("data: {value}\n\n").into_bytes()
}

/// A whole, well-formed answer of `text`, in one read.
pub fn reply(text: &str) -> Wire {
    Wire::Body(vec![Piece::Bytes(events(text, Some("stop")))])
}
