//! One generation with retries: sends a request, forwards deltas as events, and reports how it
//! ended. Connection failures and retryable statuses before any text are retried with backoff;
//! a stream that breaks after some text returns that text, and the section loop continues it.

use super::guard::{Guard, Incident};
use super::{JobEvent, WriterError};
use crate::backend::{
    Backend, BackendError, ChatMessage, CompletionRequest, FinishReason, GenerationRequest,
    RetryPolicy, StreamChunk, Usage,
};
use crate::text::WordCounter;
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// The longest `Retry-After` honoured; a server asking for more is retried after this.
const MAX_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(120);

/// How a generation ended.
#[derive(Debug)]
pub(crate) enum Ending {
    /// The server said it was done.
    Finished(FinishReason),
    /// The text passed the word bound; the stream was dropped.
    OverBound,
    /// The stream broke after some text arrived.
    Broken(BackendError),
    /// The user stopped the job after some text arrived; the text is kept.
    Cancelled,
    /// A guard caught a loop, a copy or an echo; the stream was dropped. The text is whole:
    /// the incident says how much of it is good.
    Guarded(Incident),
}

/// The text of one generation and how it ended.
#[derive(Debug)]
pub(crate) struct Generated {
    pub text: String,
    pub ending: Ending,
    pub usage: Option<Usage>,
}

/// Where deltas go, and how they are filtered first.
pub(crate) struct Sink<'a> {
    pub events: &'a UnboundedSender<JobEvent>,
    /// Section index for `Delta` events; `None` for the plan, whose text is not streamed.
    pub section: Option<usize>,
    /// Text already in the section, for trimming an echo at the seam of a continuation.
    pub before: Option<&'a str>,
    /// Stop once the generated text (plus `words_before`) passes this many words.
    pub max_words: Option<usize>,
    pub words_before: usize,
    /// Watches the text for loops, copies and echoes; `None` for unguarded requests.
    pub guard: Option<&'a Guard>,
}

impl<'a> Sink<'a> {
    /// A sink for a request whose text is not part of a section (the plan, a summary): no
    /// deltas, no seam, no word bound.
    pub fn unstreamed(events: &'a UnboundedSender<JobEvent>) -> Self {
        Self {
            events,
            section: None,
            before: None,
            max_words: None,
            words_before: 0,
            guard: None,
        }
    }
}

/// A request as it goes to the backend: a conversation (`Backend::stream`) or a document to
/// continue (`Backend::complete`, completion mode).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outgoing<'r> {
    Chat(&'r GenerationRequest),
    Text(&'r CompletionRequest),
}

impl<'r> From<&'r GenerationRequest> for Outgoing<'r> {
    fn from(request: &'r GenerationRequest) -> Self {
        Self::Chat(request)
    }
}

impl<'r> From<&'r CompletionRequest> for Outgoing<'r> {
    fn from(request: &'r CompletionRequest) -> Self {
        Self::Text(request)
    }
}

/// A section's request, owned: chat or completion, by the writer's mode.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    Chat(GenerationRequest),
    Text(CompletionRequest),
}

impl Request {
    /// The prompt as messages, for measuring and calibrating (a completion is one message).
    pub fn messages(&self) -> Vec<ChatMessage> {
        match self {
            Self::Chat(r) => r.messages.clone(),
            Self::Text(r) => vec![ChatMessage::user(r.prompt.clone())],
        }
    }

    /// The generation limit.
    pub fn max_tokens(&self) -> u32 {
        match self {
            Self::Chat(r) => r.max_tokens,
            Self::Text(r) => r.max_tokens,
        }
    }

    /// Lowers the generation limit to what the window leaves.
    pub fn set_max_tokens(&mut self, max_tokens: u32) {
        match self {
            Self::Chat(r) => r.max_tokens = max_tokens,
            Self::Text(r) => r.max_tokens = max_tokens,
        }
    }
}

impl<'r> From<&'r Request> for Outgoing<'r> {
    fn from(request: &'r Request) -> Self {
        match request {
            Request::Chat(r) => Self::Chat(r),
            Request::Text(r) => Self::Text(r),
        }
    }
}

pub(crate) struct Generator<'a> {
    pub backend: &'a dyn Backend,
    pub retry: RetryPolicy,
    pub cancel: &'a CancellationToken,
}

impl Generator<'_> {
    /// Runs `request` to its end, retrying failures that happen before any text.
    pub async fn run<'r>(
        &self,
        request: impl Into<Outgoing<'r>>,
        sink: Sink<'_>,
    ) -> Result<Generated, WriterError> {
        let request = request.into();
        let mut attempt = 1;
        loop {
            match self.attempt(request, &sink).await {
                Ok(generated) => return Ok(generated),
                Err(WriterError::Backend(e))
                    if e.is_retryable() && attempt < self.retry.max_attempts =>
                {
                    attempt += 1;
                    self.wait_before(attempt, &e, sink.events).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Announces and sleeps before attempt `attempt`, unless cancelled.
    pub async fn wait_before(
        &self,
        attempt: u32,
        error: &BackendError,
        events: &UnboundedSender<JobEvent>,
    ) -> Result<(), WriterError> {
        // A server's Retry-After wins over our backoff, within a sane cap.
        let delay = match error.retry_after() {
            Some(asked) => asked.min(MAX_RETRY_AFTER),
            None => self.retry.delay(attempt),
        };
        let _ = events.send(JobEvent::Retrying {
            attempt,
            max_attempts: self.retry.max_attempts,
            delay_ms: delay.as_millis() as u64,
            error: error.to_string(),
        });
        tokio::select! {
            _ = self.cancel.cancelled() => Err(WriterError::Cancelled),
            _ = tokio::time::sleep(delay) => Ok(()),
        }
    }

    async fn attempt(
        &self,
        request: Outgoing<'_>,
        sink: &Sink<'_>,
    ) -> Result<Generated, WriterError> {
        let opened = match request {
            Outgoing::Chat(r) => self.backend.stream(r.clone()),
            Outgoing::Text(r) => self.backend.complete(r.clone()),
        };
        let mut stream = tokio::select! {
            _ = self.cancel.cancelled() => return Err(WriterError::Cancelled),
            s = opened => s?,
        };
        let mut seam = SeamFilter::new(sink.before);
        let mut watch = sink.guard.map(|g| g.watch(sink.before.unwrap_or("")));
        let mut text = String::new();
        // Counted as it streams: recounting the whole text per token would be quadratic.
        let mut words = WordCounter::default();
        loop {
            let item = tokio::select! {
                _ = self.cancel.cancelled() => {
                    let rest = seam.finish();
                    emit(sink, &rest);
                    text.push_str(&rest);
                    if text.is_empty() {
                        return Err(WriterError::Cancelled);
                    }
                    return Ok(Generated { text, ending: Ending::Cancelled, usage: None });
                }
                item = stream.next() => item,
            };
            let chunk = match item {
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => return self.broken(text, seam, e, sink),
                None => {
                    let e = BackendError::Broken("the stream ended without a finish reason".into());
                    return self.broken(text, seam, e, sink);
                }
            };
            match chunk {
                StreamChunk::Delta(delta) => {
                    if let Some(out) = seam.push(&delta) {
                        emit(sink, &out);
                        text.push_str(&out);
                        words.push(&out);
                        // Returning drops the stream, which cancels the request.
                        if let Some(incident) = watch.as_mut().and_then(|w| w.push(&out)) {
                            return Ok(Generated {
                                text,
                                ending: Ending::Guarded(incident),
                                usage: None,
                            });
                        }
                    }
                    if let Some(max) = sink.max_words {
                        if sink.words_before + words.count() > max {
                            return Ok(Generated {
                                text,
                                ending: Ending::OverBound,
                                usage: None,
                            });
                        }
                    }
                }
                StreamChunk::Done {
                    finish_reason,
                    usage,
                } => {
                    let rest = seam.finish();
                    emit(sink, &rest);
                    text.push_str(&rest);
                    return Ok(Generated {
                        text,
                        ending: Ending::Finished(finish_reason),
                        usage,
                    });
                }
            }
        }
    }

    fn broken(
        &self,
        mut text: String,
        mut seam: SeamFilter,
        e: BackendError,
        sink: &Sink<'_>,
    ) -> Result<Generated, WriterError> {
        let rest = seam.finish();
        emit(sink, &rest);
        text.push_str(&rest);
        if text.trim().is_empty() {
            Err(WriterError::Backend(e))
        } else {
            Ok(Generated {
                text,
                ending: Ending::Broken(e),
                usage: None,
            })
        }
    }
}

fn emit(sink: &Sink<'_>, text: &str) {
    if let (Some(index), false) = (sink.section, text.is_empty()) {
        let _ = sink.events.send(JobEvent::Delta {
            index,
            text: text.to_string(),
        });
    }
}

/// Holds back the start of a continuation until it is long enough to tell whether it repeats
/// the end of the text before it, then trims the echo and adds the right separator.
struct SeamFilter {
    before: Option<String>,
    held: String,
}

/// Bytes held back at the start of a continuation.
const HOLD_BYTES: usize = 400;

impl SeamFilter {
    fn new(before: Option<&str>) -> Self {
        Self {
            before: before.filter(|b| !b.is_empty()).map(str::to_string),
            held: String::new(),
        }
    }

    fn push(&mut self, delta: &str) -> Option<String> {
        if self.before.is_none() {
            return Some(delta.to_string());
        }
        self.held.push_str(delta);
        if self.held.len() < HOLD_BYTES {
            return None;
        }
        Some(self.release())
    }

    fn finish(&mut self) -> String {
        if self.before.is_none() {
            return String::new();
        }
        self.release()
    }

    fn release(&mut self) -> String {
        let Some(before) = self.before.take() else {
            return std::mem::take(&mut self.held);
        };
        let held = std::mem::take(&mut self.held);
        let skip = super::length::overlap(&before, &held);
        let rest = held[skip..].trim_start();
        if rest.is_empty() {
            return String::new();
        }
        format!("{}{}", super::length::seam(&before, rest), rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seam_filter_passes_first_generation_through() {
        let mut f = SeamFilter::new(None);
        assert_eq!(f.push("abc").as_deref(), Some("abc"));
        assert_eq!(f.finish(), "");
    }

    #[test]
    fn seam_filter_trims_echo_and_joins() {
        let mut f = SeamFilter::new(Some("It was a dark and stormy night"));
        assert_eq!(f.push("a dark and stormy "), None);
        assert_eq!(f.push("night, and the wind howled."), None);
        assert_eq!(f.finish(), ", and the wind howled.");
    }

    #[test]
    fn seam_filter_adds_a_space_between_words() {
        let mut f = SeamFilter::new(Some("The cat sat"));
        let _ = f.push("on the mat.");
        assert_eq!(f.finish(), " on the mat.");
    }

    #[test]
    fn seam_filter_releases_long_text() {
        let mut f = SeamFilter::new(Some("Before."));
        let long = "word ".repeat(100);
        let out = f.push(&long).expect("released past the hold size");
        assert!(out.starts_with("\n\nword"), "{out:?}");
        assert_eq!(f.push("more").as_deref(), Some("more"));
    }
}
