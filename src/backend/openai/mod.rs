//! The OpenAI-compatible backend: vLLM, llama.cpp's `llama-server`, OpenAI, our own server.
//!
//! Connection settings (base URL, API key as a secret, headers) are async-openai's
//! `OpenAIConfig`; the HTTP exchange is done here with reqwest so that the status code,
//! `Retry-After` and a non-JSON answer are never lost, and the SSE body is read by the bounded
//! reader of `sse` (under the timeouts of `stream`) into the tolerant wire types of `wire`,
//! which accept what real servers send (role-only chunks, empty deltas, usage chunks without
//! choices, vLLM's finish reasons, llama.cpp's `timings` and bare `error:` lines, errors
//! inside the stream). Raw completions go to the server's
//! `/completions`, or to its chat endpoint as one user message when it has no such route.

mod sse;
mod stream;
mod wire;

pub use sse::{SseError, SseItem, SseReader};
pub use stream::{decode_body, StreamLimits};

use super::{
    Backend, BackendError, BackendInfo, ChatMessage, ChunkStream, CompletionRequest, ContextWindow,
    GenerationRequest,
};
use async_openai::config::{Config, OpenAIConfig};
use futures::future::BoxFuture;
use std::time::Duration;

/// How to reach an OpenAI-compatible server. Its `Debug` hides the key.
#[derive(Clone)]
pub struct OpenAiSettings {
    /// API root, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    /// Model to ask for; `None` takes the first one the server lists.
    pub model: Option<String>,
    /// The API key's value, read from the environment variable the user named.
    pub api_key: Option<String>,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for OpenAiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiSettings")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// A connected OpenAI-compatible backend with its model resolved.
pub struct OpenAiBackend {
    config: OpenAIConfig,
    /// Whether an API key was given (without one no `Authorization` header is sent).
    has_key: bool,
    http: reqwest::Client,
    model: String,
    /// The window the server reported, if it did.
    window: Option<ContextWindow>,
    /// llama.cpp's `/tokenize`, when the server answered `/props` (so it is llama.cpp).
    tokenize_url: Option<String>,
    /// Timeouts and the longest line of a stream.
    limits: StreamLimits,
    /// Request fields sent as they are (a profile's `extra`).
    extra: serde_json::Map<String, serde_json::Value>,
}

/// Prompt tokens added per message for the chat template's role markers, when counting with
/// `/tokenize` (which sees the contents only).
const TEMPLATE_TOKENS_PER_MESSAGE: usize = 8;

impl OpenAiBackend {
    /// Checks the server (it must answer `/models` with JSON) and resolves the model.
    pub async fn connect(settings: OpenAiSettings) -> Result<Self, BackendError> {
        let base = settings.base_url.trim_end_matches('/').to_string();
        let has_key = settings.api_key.as_deref().is_some_and(|k| !k.is_empty());
        let mut config = OpenAIConfig::new().with_api_base(base);
        config = config.with_api_key(settings.api_key.unwrap_or_default());
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| BackendError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        let mut backend = Self {
            config,
            has_key,
            http,
            model: String::new(),
            window: None,
            tokenize_url: None,
            limits: StreamLimits {
                connect: settings.connect_timeout,
                ..StreamLimits::default()
            },
            extra: serde_json::Map::new(),
        };
        let body = backend.models_body().await?;
        let url = backend.config.url("/models");
        let available = wire::parse_model_list(&body).map_err(|_| BackendError::NotAnApi {
            url: url.clone(),
            excerpt: excerpt(&body),
        })?;
        backend.model = choose_model(settings.model, available, &url)?;
        backend.window = wire::max_model_len(&body, &backend.model)
            .map(|n| ContextWindow::new(n, "the server's /v1/models max_model_len"));
        if let Some(n_ctx) = backend.props_n_ctx().await {
            backend.window = Some(ContextWindow::new(n_ctx, "llama.cpp /props n_ctx per slot"));
            backend.tokenize_url = Some(format!("{}/tokenize", backend.server_root()));
        }
        Ok(backend)
    }

    /// This backend with other stream timeouts (the connect timeout is `settings`').
    pub fn with_limits(mut self, limits: StreamLimits) -> Self {
        self.limits = StreamLimits {
            connect: self.limits.connect,
            ..limits
        };
        self
    }

    /// This backend sending `extra` in every generation request, over the fields it sets
    /// itself (vLLM's `min_tokens`, `repetition_penalty`, ...).
    pub fn with_extra(mut self, extra: serde_json::Map<String, serde_json::Value>) -> Self {
        self.extra = extra;
        self
    }

    /// The request headers: the config's, without an `Authorization` header when there is no
    /// key (async-openai would send an empty `Bearer `, which some servers reject).
    fn headers(&self) -> reqwest::header::HeaderMap {
        let mut headers = self.config.headers();
        if !self.has_key {
            headers.remove(reqwest::header::AUTHORIZATION);
        }
        headers
    }

    /// The server root: the API base without its trailing `/v1`, where llama.cpp serves
    /// `/props` and `/tokenize`.
    fn server_root(&self) -> String {
        let base = self.config.api_base().trim_end_matches('/');
        base.strip_suffix("/v1").unwrap_or(base).to_string()
    }

    /// llama.cpp's context per slot from `/props`; `None` for servers without it.
    async fn props_n_ctx(&self) -> Option<usize> {
        let url = format!("{}/props", self.server_root());
        let response = self
            .http
            .get(&url)
            .headers(self.headers())
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        wire::props_n_ctx(&response.text().await.ok()?)
    }

    /// Exact token count of `messages` through llama.cpp's `/tokenize`, plus the template's
    /// role markers; `None` when the server has no such route or it fails.
    async fn tokenize(&self, messages: &[ChatMessage]) -> Option<usize> {
        let url = self.tokenize_url.as_ref()?;
        let content: String = messages
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let response = self
            .http
            .post(url)
            .headers(self.headers())
            .json(&serde_json::json!({ "content": content, "add_special": true }))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let tokens = wire::token_count(&response.text().await.ok()?)?;
        Some(tokens + TEMPLATE_TOKENS_PER_MESSAGE * (messages.len() + 1))
    }

    /// The models the server lists, in its order.
    pub async fn list_models(&self) -> Result<Vec<String>, BackendError> {
        let url = self.config.url("/models");
        let body = self.models_body().await?;
        wire::parse_model_list(&body).map_err(|_| BackendError::NotAnApi {
            url,
            excerpt: excerpt(&body),
        })
    }

    /// The raw answer of `/models`.
    async fn models_body(&self) -> Result<String, BackendError> {
        let url = self.config.url("/models");
        let response = self
            .http
            .get(&url)
            .headers(self.headers())
            .send()
            .await
            .map_err(|e| transport_error(&url, &e))?;
        let response = check_status(response).await?;
        response.text().await.map_err(|e| transport_error(&url, &e))
    }

    async fn open_stream(&self, request: GenerationRequest) -> Result<ChunkStream, BackendError> {
        let body = wire::chat_request_body(&self.model, &request);
        self.open("/chat/completions", &body).await
    }

    /// A raw completion on the server's `/completions`; a server without that route (404 or
    /// 405) gets the prompt as one chat message instead.
    async fn open_completion(
        &self,
        request: CompletionRequest,
    ) -> Result<ChunkStream, BackendError> {
        let mut body = wire::completion_request_body(&self.model, &request);
        // llama.cpp reads `logit_bias` entries as text to tokenize; vLLM and OpenAI want token
        // ids, which only the server knows, so they get the stop strings alone.
        if request.prose_only && self.tokenize_url.is_some() {
            body["logit_bias"] = wire::llama_markup_bias();
        }
        match self.open("/completions", &body).await {
            Err(BackendError::Status {
                status: 404 | 405, ..
            }) => self.open_stream(request.into_chat()).await,
            other => other,
        }
    }

    /// POSTs `body` to `path` under the API base and decodes the SSE answer.
    async fn open(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<ChunkStream, BackendError> {
        let url = self.config.url(path);
        let mut body = body.clone();
        for (key, value) in &self.extra {
            body[key] = value.clone();
        }
        let send = self
            .http
            .post(&url)
            .headers(self.headers())
            .json(&body)
            .send();
        let wait = self.limits.first_byte;
        let response = tokio::time::timeout(wait, send)
            .await
            .map_err(|_| {
                BackendError::Broken(format!(
                    "{url} did not answer within {}s (first-byte timeout; raise \
                     first_byte_timeout_secs if the server is just slow to start)",
                    wait.as_secs()
                ))
            })?
            .map_err(|e| transport_error(&url, &e))?;
        let response = check_status(response).await?;
        let is_sse = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.contains("event-stream"));
        if !is_sse {
            let text = response.text().await.unwrap_or_default();
            return Err(BackendError::NotAnApi {
                url,
                excerpt: excerpt(&text),
            });
        }
        Ok(decode_body(response.bytes_stream(), self.limits))
    }
}

impl Backend for OpenAiBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "openai".into(),
            model: self.model.clone(),
            endpoint: self.config.api_base().to_string(),
        }
    }

    fn stream(
        &self,
        request: GenerationRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        Box::pin(self.open_stream(request))
    }

    fn complete(
        &self,
        request: CompletionRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        Box::pin(self.open_completion(request))
    }

    fn context_window(&self) -> Option<ContextWindow> {
        self.window.clone()
    }

    fn count_tokens<'a>(&'a self, messages: &'a [ChatMessage]) -> BoxFuture<'a, Option<usize>> {
        Box::pin(self.tokenize(messages))
    }
}

fn choose_model(
    wanted: Option<String>,
    available: Vec<String>,
    url: &str,
) -> Result<String, BackendError> {
    match wanted {
        Some(model) if available.is_empty() || available.contains(&model) => Ok(model),
        Some(model) => Err(BackendError::UnknownModel {
            model,
            url: url.to_string(),
            available,
        }),
        None => available
            .into_iter()
            .next()
            .ok_or_else(|| BackendError::NoModels {
                url: url.to_string(),
            }),
    }
}

async fn check_status(response: reqwest::Response) -> Result<reqwest::Response, BackendError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (after, after_ms) = (header("retry-after"), header("retry-after-ms"));
    let body = response.text().await.unwrap_or_default();
    Err(status_error(
        status.as_u16(),
        after.as_deref(),
        after_ms.as_deref(),
        &body,
    ))
}

/// The error of an HTTP error answer: its status, the body's message (with OpenAI's
/// `insufficient_quota` code kept, which makes a 429 permanent), and the wait it asked for,
/// from `retry-after-ms` (OpenAI's, rounded up to seconds) or `Retry-After` (seconds).
pub fn status_error(
    status: u16,
    retry_after: Option<&str>,
    retry_after_ms: Option<&str>,
    body: &str,
) -> BackendError {
    let ms = retry_after_ms
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| (ms / 1000.0).ceil() as u64);
    let secs = retry_after.and_then(|v| v.trim().parse::<u64>().ok());
    let mut message = wire::error_message(body);
    if status == 429
        && body.contains("insufficient_quota")
        && !message.contains("insufficient_quota")
    {
        message = format!("insufficient_quota: {message}");
    }
    BackendError::Status {
        status,
        message,
        retry_after: ms.or(secs),
    }
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

fn excerpt(body: &str) -> String {
    let trimmed = body.trim();
    match trimmed.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &trimmed[..i]),
        None => trimmed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_choice() {
        let list = vec!["a".to_string(), "b".to_string()];
        assert_eq!(choose_model(None, list.clone(), "u").unwrap(), "a");
        assert_eq!(
            choose_model(Some("b".into()), list.clone(), "u").unwrap(),
            "b"
        );
        let err = choose_model(Some("c".into()), list, "u").unwrap_err();
        assert!(err.to_string().contains("available: a, b"), "{err}");
        assert!(matches!(
            choose_model(None, vec![], "u"),
            Err(BackendError::NoModels { .. })
        ));
    }

    #[test]
    fn debug_hides_the_key() {
        let s = OpenAiSettings {
            base_url: "http://h/v1".into(),
            model: None,
            api_key: Some("sk-secret-123".into()),
            connect_timeout: std::time::Duration::from_secs(1),
        };
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("sk-secret-123") && shown.contains("<redacted>"),
            "{shown}"
        );
    }

    #[test]
    fn statuses_with_waits_and_quota() {
        let e = status_error(429, Some("7"), None, "{}");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.is_retryable());
        let e = status_error(429, Some("7"), Some("1500"), "{}");
        assert_eq!(
            e.retry_after(),
            Some(Duration::from_secs(2)),
            "ms wins, rounded up"
        );
        let quota = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        let e = status_error(429, None, None, quota);
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("permanent"), "{e}");
        for code in [400, 401, 403, 404] {
            let e = status_error(code, None, None, r#"{"error":{"message":"no"}}"#);
            assert!(
                !e.is_retryable() && e.to_string().contains("permanent"),
                "{e}"
            );
        }
    }

    #[test]
    fn excerpt_is_short_and_char_safe() {
        let long = "é".repeat(200);
        assert_eq!(excerpt(&long).chars().count(), 81);
    }
}
