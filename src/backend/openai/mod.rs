//! The OpenAI-compatible backend: vLLM, llama.cpp's `llama-server`, OpenAI, our own server.
//!
//! Connection settings (base URL, API key as a secret, headers) are async-openai's
//! `OpenAIConfig`; the HTTP exchange is done here with reqwest so that the status code,
//! `Retry-After` and a non-JSON answer are never lost, and the SSE body is decoded by
//! eventsource-stream into the tolerant wire types of `wire`, which accept what real servers
//! send (role-only chunks, empty deltas, usage chunks without choices, vLLM's finish reasons,
//! llama.cpp's `timings`, errors inside the stream). Raw completions go to the server's
//! `/completions`, or to its chat endpoint as one user message when it has no such route.

mod wire;

use super::{
    Backend, BackendError, BackendInfo, ChunkStream, CompletionRequest, GenerationRequest,
    StreamChunk,
};
use async_openai::config::{Config, OpenAIConfig};
use eventsource_stream::Eventsource;
use futures::future::BoxFuture;
use futures::StreamExt;
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
}

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
        };
        let available = backend.list_models().await?;
        backend.model = choose_model(settings.model, available, &backend.config.url("/models"))?;
        Ok(backend)
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

    /// The models the server lists, in its order.
    pub async fn list_models(&self) -> Result<Vec<String>, BackendError> {
        let url = self.config.url("/models");
        let response = self
            .http
            .get(&url)
            .headers(self.headers())
            .send()
            .await
            .map_err(|e| transport_error(&url, &e))?;
        let response = check_status(response).await?;
        let body = response
            .text()
            .await
            .map_err(|e| transport_error(&url, &e))?;
        wire::parse_model_list(&body).map_err(|_| BackendError::NotAnApi {
            url,
            excerpt: excerpt(&body),
        })
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
        let body = wire::completion_request_body(&self.model, &request);
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
        let response = self
            .http
            .post(&url)
            .headers(self.headers())
            .json(body)
            .send()
            .await
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
        let events = response.bytes_stream().eventsource();
        Ok(decode_events(events))
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
}

/// Turns SSE events into chunks: ends at `[DONE]` or at the first `Done`, and reports a stream
/// that ends without either as broken.
fn decode_events<S, E>(events: S) -> ChunkStream
where
    S: futures::Stream<Item = Result<eventsource_stream::Event, E>> + Send + 'static,
    E: std::fmt::Display,
{
    let state = (Box::pin(events), wire::ChunkDecoder::default(), false);
    futures::stream::unfold(state, |(mut events, mut decoder, finished)| async move {
        if finished {
            return None;
        }
        loop {
            let item = match events.next().await {
                Some(Ok(event)) => event,
                Some(Err(e)) => {
                    return Some((
                        Err(BackendError::Broken(e.to_string())),
                        (events, decoder, true),
                    ))
                }
                None => {
                    return match decoder.finish() {
                        Some(done) => Some((Ok(done), (events, decoder, true))),
                        None => Some((
                            Err(BackendError::Broken(
                                "the server closed the stream before it finished".into(),
                            )),
                            (events, decoder, true),
                        )),
                    }
                }
            };
            match decoder.feed(&item.data) {
                Ok(wire::Decoded::Nothing) => continue,
                Ok(wire::Decoded::Chunk(chunk)) => {
                    return Some((Ok(chunk), (events, decoder, false)))
                }
                Ok(wire::Decoded::End) => {
                    let item = decoder.finish().ok_or_else(|| {
                        BackendError::Broken(
                            "the server sent [DONE] without a finish reason".into(),
                        )
                    });
                    return Some((item, (events, decoder, true)));
                }
                Err(e) => return Some((Err(e), (events, decoder, true))),
            }
        }
    })
    .filter(|item| {
        futures::future::ready(!matches!(item, Ok(StreamChunk::Delta(d)) if d.is_empty()))
    })
    .boxed()
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
    fn excerpt_is_short_and_char_safe() {
        let long = "é".repeat(200);
        assert_eq!(excerpt(&long).chars().count(), 81);
    }
}
