//! Ollama's native API (`/api/chat`, `/api/generate`, `/api/tags`, `/api/show`), beside the
//! OpenAI-compatible backend in `openai`.
//!
//! Ollama's OpenAI endpoint cannot set the context size, and Ollama silently drops the front of
//! a prompt longer than its default window; the native API can. So every request here carries
//! `options.num_ctx`: the configured window, else the model's trained context from `/api/show`
//! (never Ollama's default). The NDJSON stream is decoded by `wire` through a bounded line
//! buffer; a stream that ends without `done: true`, or with `done_reason` `load` or `unload`,
//! is broken (the writer retries it), and a server that evidently cut the prompt anyway (its
//! `prompt_eval_count` far below what was sent) is logged as a warning.

mod wire;

pub use wire::MAX_LINE_BYTES;

use super::{
    Backend, BackendError, BackendInfo, ChatMessage, ChunkStream, CompletionRequest, ContextWindow,
    GenerationRequest, StreamChunk,
};
use futures::future::BoxFuture;
use futures::StreamExt;
use std::time::Duration;

/// The window used when neither the user nor `/api/show` gives one; it is still sent, so
/// Ollama's own default (2k or 4k) never applies.
pub const FALLBACK_CONTEXT: usize = 8192;

/// How to reach an Ollama server. Its `Debug` hides the key.
#[derive(Clone)]
pub struct OllamaSettings {
    /// Server root, e.g. `http://127.0.0.1:11434` (a trailing `/api` or `/v1` is dropped).
    pub base_url: String,
    /// Model to ask for; `None` takes the first one `/api/tags` lists.
    pub model: Option<String>,
    /// A bearer key, for an Ollama behind a proxy that checks one (or `longwriter serve`).
    pub api_key: Option<String>,
    /// The window to send as `num_ctx`; `None` asks `/api/show`.
    pub context: Option<usize>,
    /// `keep_alive` sent with each request (e.g. `"30m"`); `None`: the server's default.
    pub keep_alive: Option<String>,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for OllamaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OllamaSettings")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("context", &self.context)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

/// A connected Ollama backend with its model and window resolved.
pub struct OllamaBackend {
    root: String,
    api_key: Option<String>,
    http: reqwest::Client,
    model: String,
    window: ContextWindow,
    keep_alive: Option<String>,
}

impl OllamaBackend {
    /// Lists the models (`/api/tags`), checks or picks the model, and learns its context
    /// (`/api/show`) unless `settings.context` gives it.
    pub async fn connect(settings: OllamaSettings) -> Result<Self, BackendError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| BackendError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        let mut backend = Self {
            root: server_root(&settings.base_url),
            api_key: settings.api_key.filter(|k| !k.is_empty()),
            http,
            model: String::new(),
            window: ContextWindow::new(FALLBACK_CONTEXT, "a default"),
            keep_alive: settings.keep_alive,
        };
        let available = backend.list_models().await?;
        backend.model = choose_model(settings.model, available, &backend.url("/api/tags"))?;
        backend.window = match settings.context {
            Some(n) => ContextWindow::new(n, "the configured context (sent as num_ctx)"),
            None => match backend.show_context().await {
                Some(n) => {
                    ContextWindow::new(n, "Ollama /api/show context_length (sent as num_ctx)")
                }
                None => {
                    tracing::warn!(
                        "Ollama did not say the context length of {}; sending num_ctx = \
                         {FALLBACK_CONTEXT} (set [backend] context or --context)",
                        backend.model
                    );
                    ContextWindow::new(FALLBACK_CONTEXT, "a default num_ctx (Ollama did not say)")
                }
            },
        };
        Ok(backend)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.root)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        match &self.api_key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    /// The models the server has pulled, in its order.
    pub async fn list_models(&self) -> Result<Vec<String>, BackendError> {
        let url = self.url("/api/tags");
        let response = self
            .request(reqwest::Method::GET, "/api/tags")
            .send()
            .await
            .map_err(|e| transport_error(&url, &e))?;
        let body = check_status(response)
            .await?
            .text()
            .await
            .map_err(|e| transport_error(&url, &e))?;
        wire::parse_tags(&body).map_err(|_| BackendError::NotAnApi {
            url,
            excerpt: body.trim().chars().take(80).collect(),
        })
    }

    /// The model's trained context from `/api/show`; `None` when the server does not say.
    async fn show_context(&self) -> Option<usize> {
        let response = self
            .request(reqwest::Method::POST, "/api/show")
            .json(&serde_json::json!({ "model": self.model }))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        wire::show_context_length(&response.text().await.ok()?)
    }

    fn options(&self) -> wire::RequestOptions {
        wire::RequestOptions {
            num_ctx: self.window.tokens,
            keep_alive: self.keep_alive.clone(),
        }
    }

    async fn open_chat(&self, request: GenerationRequest) -> Result<ChunkStream, BackendError> {
        let body = wire::chat_body(&self.model, &request, &self.options());
        let sent = wire::estimate_tokens(&request.messages);
        self.open("/api/chat", &body, sent).await
    }

    async fn open_generate(&self, request: CompletionRequest) -> Result<ChunkStream, BackendError> {
        let body = wire::generate_body(&self.model, &request, &self.options());
        let sent = wire::estimate_tokens(&[ChatMessage::user(request.prompt)]);
        self.open("/api/generate", &body, sent).await
    }

    /// POSTs `body` and decodes the NDJSON answer; `sent` is the prompt's estimated tokens,
    /// for the truncation check.
    async fn open(
        &self,
        path: &str,
        body: &serde_json::Value,
        sent: usize,
    ) -> Result<ChunkStream, BackendError> {
        let url = self.url(path);
        let response = self
            .request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error(&url, &e))?;
        let response = check_status(response).await?;
        let check = Truncation {
            sent,
            num_ctx: self.window.tokens,
        };
        Ok(decode_ndjson(response.bytes_stream(), check))
    }
}

impl Backend for OllamaBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "ollama".into(),
            model: self.model.clone(),
            endpoint: self.root.clone(),
        }
    }

    fn stream(
        &self,
        request: GenerationRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        Box::pin(self.open_chat(request))
    }

    fn complete(
        &self,
        request: CompletionRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        Box::pin(self.open_generate(request))
    }

    fn context_window(&self) -> Option<ContextWindow> {
        Some(self.window.clone())
    }
}

/// What the truncation check compares at the end of a stream.
#[derive(Debug, Clone, Copy)]
struct Truncation {
    sent: usize,
    num_ctx: usize,
}

impl Truncation {
    fn check(&self, evaluated: Option<u64>) {
        if let Some(evaluated) = evaluated {
            if wire::evidently_truncated(self.sent, evaluated, self.num_ctx) {
                tracing::warn!(
                    "Ollama evaluated {evaluated} prompt tokens of about {} sent (num_ctx {}): \
                     it evidently cut the prompt; raise the model's context ([backend] context \
                     or --context) or update Ollama, which refuses instead with truncate=false",
                    self.sent,
                    self.num_ctx
                );
            }
        }
    }
}

/// What the stream's unfold carries.
struct Decoding<S> {
    bytes: std::pin::Pin<Box<S>>,
    lines: wire::LineBuffer,
    /// Decoded items not yet handed out.
    ready: std::collections::VecDeque<Result<StreamChunk, BackendError>>,
    check: Truncation,
    ended: bool,
}

/// Turns the NDJSON body into chunks: ends at `done: true` (or the first error), and reports
/// a body that ends without it as broken.
fn decode_ndjson<S, B, E>(bytes: S, check: Truncation) -> ChunkStream
where
    S: futures::Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let state = Decoding {
        bytes: Box::pin(bytes),
        lines: wire::LineBuffer::new(MAX_LINE_BYTES),
        ready: Default::default(),
        check,
        ended: false,
    };
    futures::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(item) = s.ready.pop_front() {
                return Some((item, s));
            }
            if s.ended {
                return None;
            }
            let lines = match s.bytes.next().await {
                Some(Ok(bytes)) => s.lines.push(bytes.as_ref()),
                Some(Err(e)) => Err(BackendError::Broken(e.to_string())),
                None => match s.lines.finish() {
                    Ok(last) => {
                        let mut lines: Vec<String> = last.into_iter().collect();
                        lines.push(String::new());
                        Ok(lines)
                    }
                    Err(e) => Err(e),
                },
            };
            match lines {
                Ok(lines) => lines.iter().for_each(|line| accept(&mut s, line)),
                Err(e) => end(&mut s, Err(e)),
            }
        }
    })
    .filter(|item| {
        futures::future::ready(!matches!(item, Ok(StreamChunk::Delta(d)) if d.is_empty()))
    })
    .boxed()
}

/// Decodes one line into `s.ready`; an empty line stands for the end of the body.
fn accept<S>(s: &mut Decoding<S>, line: &str) {
    if s.ended {
        return;
    }
    if line.is_empty() {
        let broken = "the server closed the stream before it said done: true";
        return end(s, Err(BackendError::Broken(broken.into())));
    }
    match wire::decode_line(line) {
        Ok(wire::Decoded::Delta(text)) => s.ready.push_back(Ok(StreamChunk::Delta(text))),
        Ok(wire::Decoded::Done {
            text,
            chunk,
            prompt_eval_count,
        }) => {
            s.check.check(prompt_eval_count);
            s.ready.push_back(Ok(StreamChunk::Delta(text)));
            end(s, Ok(chunk));
        }
        Err(e) => end(s, Err(e)),
    }
}

fn end<S>(s: &mut Decoding<S>, item: Result<StreamChunk, BackendError>) {
    s.ready.push_back(item);
    s.ended = true;
}

/// The server root of `base_url`: without a trailing `/`, `/api` or `/v1`.
fn server_root(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let base = base
        .strip_suffix("/api")
        .or_else(|| base.strip_suffix("/v1"))
        .unwrap_or(base);
    base.to_string()
}

/// The model asked for, which must be pulled, or the first one listed.
fn choose_model(
    wanted: Option<String>,
    available: Vec<String>,
    url: &str,
) -> Result<String, BackendError> {
    match wanted {
        Some(model) if wire::has_model(&available, &model) => Ok(model),
        Some(model) => Err(BackendError::Invalid(format!(
            "the model {model:?} is not pulled on the Ollama server at {url} (it has: {}); \
             run `ollama pull {model}` there, or pass one of those with --model",
            if available.is_empty() {
                "none".to_string()
            } else {
                available.join(", ")
            }
        ))),
        None => available.into_iter().next().ok_or_else(|| {
            BackendError::Invalid(format!(
                "the Ollama server at {url} has no models; pull one there (e.g. `ollama pull \
                 gemma3:270m`) and pass it with --model"
            ))
        }),
    }
}

async fn check_status(response: reqwest::Response) -> Result<reqwest::Response, BackendError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = response.text().await.unwrap_or_default();
    Err(BackendError::Status {
        status: status.as_u16(),
        message: wire::error_message(&body),
        retry_after,
    })
}

fn transport_error(url: &str, e: &reqwest::Error) -> BackendError {
    if e.is_connect() || e.is_timeout() || e.is_request() {
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = s.to_string();
            source = s.source();
        }
        BackendError::Unreachable {
            url: url.to_string(),
            reason,
        }
    } else {
        BackendError::Broken(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_model_choice() {
        assert_eq!(server_root("http://h:11434/"), "http://h:11434");
        assert_eq!(server_root("http://h:11434/api"), "http://h:11434");
        assert_eq!(server_root("http://h:11434/v1/"), "http://h:11434");
        let list = vec!["gemma3:270m".to_string()];
        assert_eq!(
            choose_model(None, list.clone(), "u").unwrap(),
            "gemma3:270m"
        );
        let err = choose_model(Some("llama3".into()), list, "u").unwrap_err();
        assert!(err.to_string().contains("ollama pull llama3"), "{err}");
        assert!(!err.is_retryable());
        let none = choose_model(None, vec![], "u").unwrap_err();
        assert!(none.to_string().contains("ollama pull"), "{none}");
    }

    fn decode(pieces: &[&str]) -> Vec<Result<StreamChunk, BackendError>> {
        let bytes: Vec<Result<Vec<u8>, std::io::Error>> =
            pieces.iter().map(|p| Ok(p.as_bytes().to_vec())).collect();
        let check = Truncation {
            sent: 10,
            num_ctx: 100,
        };
        futures::executor::block_on(decode_ndjson(futures::stream::iter(bytes), check).collect())
    }

    #[test]
    fn a_stream_without_done_is_broken_and_text_split_anywhere_is_whole() {
        let items = decode(&[
            "{\"message\":{\"content\":\"Hé",
            "llo\"},\"done\":false}\n{\"message\":{\"content\":\"!\"},\"done\":true,\"done_reason\":\"stop\"}\n",
        ]);
        assert_eq!(items.len(), 3, "{items:?}");
        assert!(matches!(&items[0], Ok(StreamChunk::Delta(t)) if t == "Héllo"));
        assert!(matches!(&items[2], Ok(StreamChunk::Done { .. })));
        let cut = decode(&["{\"message\":{\"content\":\"Hi\"},\"done\":false}"]);
        assert!(matches!(&cut[0], Ok(StreamChunk::Delta(t)) if t == "Hi"));
        assert!(matches!(&cut[1], Err(BackendError::Broken(_))), "{cut:?}");
    }
}
