//! `longwriter serve`: an OpenAI-compatible HTTP front over any `Backend` — the built-in engine
//! or an upstream server it proxies — that speaks Ollama's native API too (`ollama`, with its
//! pure wire format in `ollama_wire`).
//!
//! Laid out like mini-redis: `serve` takes a bound listener and a shutdown future (tests bind
//! port 0 and pass a channel); `request` turns a body into a checked request and `sse` formats
//! replies, both pure; `routes` connects them to the backend; `error` is the one place that
//! picks status codes; `middleware` logs, authenticates and adds CORS headers; `guard` refuses
//! web pages (Host, Origin, Content-Type) and slow bodies; `conn` accepts connections under a
//! cap and closes slow or idle ones. Nothing imports this module but `cli`.

mod conn;
mod error;
mod guard;
mod middleware;
mod ollama;
mod ollama_wire;
mod request;
mod routes;
pub mod shutdown;
mod sse;

pub use error::ApiError;
pub use guard::Gate;
pub use middleware::keys_match;
pub use request::{parse, Endpoint, Generation, ParsedRequest, Policy, RequestError};
pub use sse::Encoder;

use crate::backend::Backend;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::routing::{get, post};
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How the server behaves; `cli` builds it from the flags. Its `Debug` hides the key.
#[derive(Clone)]
pub struct ServerConfig {
    /// The key clients must present as `Authorization: Bearer`; `None` leaves the API open.
    pub api_key: Option<String>,
    /// The origin allowed by CORS; `None` sends no CORS headers.
    pub cors_origin: Option<String>,
    /// Largest request body in bytes.
    pub max_body: usize,
    /// Largest `max_tokens` (and the default).
    pub max_tokens: u32,
    /// Largest number of messages in a chat request.
    pub max_messages: usize,
    /// Requests admitted at once, generating or waiting; the next one gets 503.
    pub queue: usize,
    /// Requests generating at once (1 for the built-in engine, which runs one at a time).
    pub concurrency: usize,
    /// The `Retry-After` seconds sent with a 503.
    pub retry_after_secs: u64,
    /// How long in-flight replies get to end after the shutdown signal before the server stops.
    pub shutdown_grace: Duration,
    /// How long a request head may take, from the connection's accept or the first byte after
    /// a reply (slow-header clients are cut off after it).
    pub header_timeout: Duration,
    /// How long a keep-alive connection may sit idle between requests.
    pub idle_timeout: Duration,
    /// How long a request body may take to arrive, from the end of its head (408 after it).
    pub body_timeout: Duration,
    /// Connections open at once; more wait in the kernel's backlog until one closes.
    pub max_connections: usize,
    /// Host names a loopback server answers to besides localhost, 127.0.0.1 and [::1]
    /// (`*`: any). A server on a non-loopback address checks no `Host`.
    pub allowed_hosts: Vec<String>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("cors_origin", &self.cors_origin)
            .field("max_body", &self.max_body)
            .field("max_tokens", &self.max_tokens)
            .field("max_messages", &self.max_messages)
            .field("queue", &self.queue)
            .field("concurrency", &self.concurrency)
            .field("header_timeout", &self.header_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("max_connections", &self.max_connections)
            .field("allowed_hosts", &self.allowed_hosts)
            .finish_non_exhaustive()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            cors_origin: None,
            max_body: 1 << 20,
            max_tokens: 16_384,
            max_messages: 256,
            queue: 16,
            concurrency: 16,
            retry_after_secs: 1,
            shutdown_grace: Duration::from_secs(5),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            max_connections: 128,
            allowed_hosts: Vec::new(),
        }
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A setting cannot be used (e.g. a CORS origin that is not a valid header value).
    #[error("{0}")]
    Config(String),
    /// Accepting connections failed.
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// What every handler shares.
pub(crate) struct App {
    backend: Arc<dyn Backend>,
    /// Whether the backend is an upstream server (its failures are 502, not 500).
    proxied: bool,
    policy: Policy,
    api_key: Option<String>,
    /// Admission: one permit per queued or running request.
    admit: Arc<Semaphore>,
    /// Generation: one permit per running request.
    run: Arc<Semaphore>,
    retry_after_secs: u64,
    /// The body limit, named in the 413 message.
    max_body: usize,
    /// Cancelled at shutdown: in-flight replies end with an error event instead of hanging.
    stopping: CancellationToken,
}

/// Serves the API on `listener` until `shutdown` completes, then gives in-flight replies up to
/// `shutdown_grace` to end (streams are cut cleanly at once) and returns. On a loopback
/// listener only requests for a loopback host name (or `allowed_hosts`) are answered.
pub async fn serve(
    listener: TcpListener,
    backend: Arc<dyn Backend>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let loopback = listener.local_addr()?.ip().is_loopback();
    let stopping = CancellationToken::new();
    let router = router(backend, &config, loopback, stopping.clone())?;
    let limits = conn::Limits {
        header: config.header_timeout,
        idle: config.idle_timeout,
        max_connections: config.max_connections,
    };
    let signal = stopping.clone();
    let watch = async move {
        shutdown.await;
        signal.cancel();
        std::future::pending::<()>().await
    };
    let grace = config.shutdown_grace;
    tokio::select! {
        result = conn::run(listener, router, limits, stopping.clone()) => result.map_err(ServerError::Io),
        _ = watch => Ok(()),
        _ = async {
            stopping.cancelled().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("connections still open {grace:?} after shutdown; stopping anyway");
            Ok(())
        }
    }
}

/// Checks the settings that can be wrong before anything is contacted or bound: the CORS
/// origin must be a valid header value.
pub fn check_config(config: &ServerConfig) -> Result<(), ServerError> {
    cors_origin(config).map(|_| ())
}

fn cors_origin(config: &ServerConfig) -> Result<Option<HeaderValue>, ServerError> {
    let Some(origin) = &config.cors_origin else {
        return Ok(None);
    };
    let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
        && !origin.trim_end_matches('/').contains(char::is_whitespace);
    match HeaderValue::from_str(origin.trim_end_matches('/')) {
        Ok(value) if valid => Ok(Some(value)),
        _ => Err(ServerError::Config(format!(
            "--cors {origin:?} is not a valid origin: give the scheme, host and port of the web \
             page, e.g. --cors https://app.example or --cors http://localhost:3000"
        ))),
    }
}

/// The routes and layers over `backend`.
fn router(
    backend: Arc<dyn Backend>,
    config: &ServerConfig,
    loopback: bool,
    stopping: CancellationToken,
) -> Result<Router, ServerError> {
    let origin = cors_origin(config)?;
    let gate = Arc::new(Gate {
        origin: origin.clone(),
        hosts: loopback.then(|| {
            config
                .allowed_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect()
        }),
    });
    let info = backend.info();
    let app = Arc::new(App {
        proxied: info.kind == "openai" || info.kind == "ollama",
        policy: Policy {
            model: info.model,
            max_tokens: config.max_tokens,
            max_messages: config.max_messages,
        },
        backend,
        api_key: config.api_key.clone(),
        admit: Arc::new(Semaphore::new(config.queue.max(1))),
        run: Arc::new(Semaphore::new(config.concurrency.max(1))),
        retry_after_secs: config.retry_after_secs,
        max_body: config.max_body,
        stopping,
    });
    let mut router = Router::new()
        .route("/v1/chat/completions", post(routes::chat))
        .route("/v1/completions", post(routes::completion))
        .route("/v1/models", get(routes::models))
        .route("/health", get(routes::health))
        .route("/api/chat", post(ollama::chat))
        .route("/api/generate", post(ollama::generate_route))
        .route("/api/tags", get(ollama::tags))
        .route("/api/show", post(ollama::show))
        .route("/api/version", get(ollama::version))
        .fallback(routes::fallback)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::require_key,
        ))
        .layer(DefaultBodyLimit::max(config.max_body))
        .layer(axum::middleware::from_fn_with_state(
            config.body_timeout,
            guard::body_deadline,
        ))
        .with_state(app);
    if let Some(origin) = origin {
        router = router.layer(axum::middleware::from_fn_with_state(
            origin,
            middleware::cors,
        ));
    }
    Ok(router
        .layer(axum::middleware::from_fn_with_state(gate, guard::gate))
        .layer(axum::middleware::from_fn(middleware::access_log)))
}
