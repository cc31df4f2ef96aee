//! The body of a streaming answer as chunks: bytes through the bounded SSE reader and the
//! tolerant chunk decoder, with a first-byte timeout (long enough for a slow prefill) and an
//! idle timeout between reads, and no total timeout. Ends at `[DONE]` or at the first finish;
//! a body that ends without either is a broken stream.

use super::sse::{SseItem, SseReader};
use super::wire;
use crate::backend::{BackendError, ChunkStream, StreamChunk};
use futures::{Stream, StreamExt};
use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

/// How long a stream may be silent, and how long a line may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Time allowed to connect.
    pub connect: Duration,
    /// Time allowed from the request to the first byte of the body (a slow prefill).
    pub first_byte: Duration,
    /// Time allowed between two reads once the body flows.
    pub idle: Duration,
    /// The longest line of the body, in bytes.
    pub max_line: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(300),
            idle: Duration::from_secs(120),
            max_line: 1 << 20,
        }
    }
}

type Bytes<B, E> = Pin<Box<dyn Stream<Item = Result<B, E>> + Send>>;

struct State<B, E> {
    bytes: Bytes<B, E>,
    reader: SseReader,
    decoder: wire::ChunkDecoder,
    pending: VecDeque<SseItem>,
    limits: StreamLimits,
    started: bool,
    ended: bool,
    finished: bool,
}

/// Decodes the body `bytes` of a streaming answer into chunks, under `limits`.
pub fn decode_body<S, B, E>(bytes: S, limits: StreamLimits) -> ChunkStream
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let state = State {
        bytes: Box::pin(bytes),
        reader: SseReader::new(limits.max_line),
        decoder: wire::ChunkDecoder::default(),
        pending: VecDeque::new(),
        limits,
        started: false,
        ended: false,
        finished: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        if state.finished {
            return None;
        }
        let item = next_chunk(&mut state).await;
        if !matches!(item, Ok(StreamChunk::Delta(_))) {
            state.finished = true;
        }
        Some((item, state))
    })
    .filter(|item| {
        futures::future::ready(!matches!(item, Ok(StreamChunk::Delta(d)) if d.is_empty()))
    })
    .boxed()
}

/// The next chunk: a delta, the final `Done`, or the error that ends the stream.
async fn next_chunk<B: AsRef<[u8]>, E: std::fmt::Display>(
    state: &mut State<B, E>,
) -> Result<StreamChunk, BackendError> {
    loop {
        if let Some(item) = state.pending.pop_front() {
            let data = match item {
                SseItem::Data(data) => data,
                SseItem::Error(payload) => {
                    return Err(BackendError::InStream(wire::error_message(&payload)))
                }
            };
            match state.decoder.feed(&data)? {
                wire::Decoded::Nothing => continue,
                wire::Decoded::Chunk(chunk) => return Ok(chunk),
                wire::Decoded::End => return done(&mut state.decoder, "[DONE]"),
            }
        }
        if state.ended {
            return done(&mut state.decoder, "the end of the stream");
        }
        read_more(state).await?;
    }
}

/// Reads the next bytes into `pending`, within the first-byte or idle timeout.
async fn read_more<B: AsRef<[u8]>, E: std::fmt::Display>(
    state: &mut State<B, E>,
) -> Result<(), BackendError> {
    let (wait, what) = if state.started {
        (state.limits.idle, "idle timeout between chunks")
    } else {
        (state.limits.first_byte, "first-byte timeout")
    };
    let read = tokio::time::timeout(wait, state.bytes.next())
        .await
        .map_err(|_| {
            BackendError::Broken(format!(
                "the server sent nothing for {}s ({what}; raise {} if the server is just slow)",
                wait.as_secs(),
                if state.started {
                    "idle_timeout_secs"
                } else {
                    "first_byte_timeout_secs"
                }
            ))
        })?;
    let sse = |e: super::sse::SseError| BackendError::Malformed(e.to_string());
    match read {
        Some(Ok(bytes)) => {
            state.started = true;
            state
                .pending
                .extend(state.reader.feed(bytes.as_ref()).map_err(sse)?);
        }
        Some(Err(e)) => return Err(BackendError::Broken(e.to_string())),
        None => {
            state.ended = true;
            state.pending.extend(state.reader.finish().map_err(sse)?);
        }
    }
    Ok(())
}

/// The final chunk once `what` ended the stream: `Done` when a finish reason came, else the
/// stream is broken.
fn done(decoder: &mut wire::ChunkDecoder, what: &str) -> Result<StreamChunk, BackendError> {
    decoder.finish().ok_or_else(|| {
        BackendError::Broken(format!(
            "the server closed the stream before it finished ({what} came without a finish reason)"
        ))
    })
}
