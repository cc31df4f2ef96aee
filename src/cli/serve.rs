//! `longwriter serve`: flags → checked settings → a backend → the HTTP server.
//!
//! Safety comes first and fails fast (exit 2) before any backend is built: a non-loopback bind
//! needs an API key (or `--insecure`), and a named key variable must be set. The backend comes
//! from `connect::serving_backend`, the one place that knows the built-in engine and upstreams.

use super::connect::{self, ServingBackend};
use super::{BackendArgs, CliError, EXIT_OK};
use crate::server::{self, ServerConfig};
use clap::Args;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Flags of `serve`. The global `--model` names a GGUF file for the built-in engine (or the
/// upstream's model), and the global `--api-key-env` names the variable holding the key that
/// clients must send.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// API root of an OpenAI-compatible server to serve through (a proxy); default: --base-url.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Name of the environment variable holding the upstream's API key.
    #[arg(long, value_name = "VAR")]
    pub upstream_key_env: Option<String>,
    /// Address to listen on; anything but loopback needs --api-key-env or --insecure.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free one; the address is printed on stderr).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Allow a non-loopback bind without an API key.
    #[arg(long)]
    pub insecure: bool,
    /// Largest max_tokens a request may ask for (also the default).
    #[arg(long, value_name = "N", default_value_t = 16_384)]
    pub max_tokens: u32,
    /// Largest request body, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Largest number of messages in a chat request.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_messages: usize,
    /// Requests admitted at once (generating or waiting); more get 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub queue: usize,
    /// Requests generating at once; default --parallel for the built-in engine, --queue for an
    /// upstream.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Built-in engine: sequences decoded together in one batch, each with its own KV cache of
    /// --context positions (default: the model's trained context within a 1 GiB budget shared
    /// by all of them). Like llama-server's -np.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub parallel: usize,
    /// Send CORS headers allowing this origin, e.g. https://app.example (none are sent without
    /// it); requests from any other web origin get 403.
    #[arg(long, value_name = "ORIGIN")]
    pub cors: Option<String>,
    /// On a loopback bind, also answer requests for this host name (repeatable; `*`: any).
    /// Others than localhost, 127.0.0.1 and [::1] get 403 (DNS rebinding).
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// Seconds a client may take to send a request head (slow clients are cut off).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a keep-alive connection may sit idle between requests.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub idle_timeout: u64,
    /// Seconds a client may take to send a request body (408 after that).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub body_timeout: u64,
    /// Connections open at once; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub max_connections: usize,
}

/// Runs `serve` until SIGINT or SIGTERM; exits 0 after a clean shutdown.
pub async fn serve(global: &BackendArgs, args: ServeArgs) -> Result<i32, CliError> {
    let api_key = client_key(global)?;
    if let Some(var) = &args.upstream_key_env {
        connect::check_key_var("--upstream-key-env", var)?;
    }
    let ip = parse_host(&args.host)?;
    if !ip.is_loopback() && api_key.is_none() && !args.insecure {
        return Err(CliError::Usage(format!(
            "refusing to listen on {ip} without an API key: anyone on the network could use the model. \
             Set one with --api-key-env VAR (export VAR=...), or pass --insecure if you mean it"
        )));
    }
    let mut config = settings(&args, api_key)?;
    // Everything that can be wrong with the flags is found before any upstream is contacted,
    // any model loaded or any port bound.
    server::check_config(&config).map_err(|e| CliError::Usage(e.to_string()))?;
    let ServingBackend { backend, local } = connect::serving_backend(global, &args).await?;
    config.concurrency = args
        .concurrency
        .unwrap_or(if local { args.parallel } else { args.queue })
        .max(1);
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, args.port))
        .await
        .map_err(|e| CliError::Usage(format!("cannot listen on {ip}:{}: {e}", args.port)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Failed(format!("cannot read the bound address: {e}")))?;
    eprintln!(
        "longwriter serve: listening on http://{addr}/v1 (model {:?}); Ctrl-C to stop",
        backend.info().model
    );
    server::serve(listener, backend, config, server::shutdown::signal())
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    eprintln!("longwriter serve: stopped");
    Ok(EXIT_OK)
}

/// The server's settings from the flags, checked (the concurrency is set once the backend is
/// known).
fn settings(args: &ServeArgs, api_key: Option<String>) -> Result<ServerConfig, CliError> {
    for (name, value) in [
        ("--queue", args.queue),
        ("--max-messages", args.max_messages),
        ("--max-body", args.max_body),
        ("--max-connections", args.max_connections),
        ("--header-timeout", args.header_timeout as usize),
        ("--idle-timeout", args.idle_timeout as usize),
        ("--body-timeout", args.body_timeout as usize),
    ] {
        if value == 0 {
            return Err(CliError::Usage(format!("{name} must be at least 1")));
        }
    }
    if let Some(bad) = args.allow_host.iter().find(|h| !valid_host_name(h)) {
        return Err(CliError::Usage(format!(
            "--allow-host {bad:?} is not a host name (give a name such as box.lan, without a \
             scheme or port, or * for any)"
        )));
    }
    Ok(ServerConfig {
        api_key,
        cors_origin: args.cors.clone(),
        max_body: args.max_body,
        max_tokens: args.max_tokens.max(1),
        max_messages: args.max_messages,
        queue: args.queue,
        header_timeout: Duration::from_secs(args.header_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        body_timeout: Duration::from_secs(args.body_timeout),
        max_connections: fit_descriptors(args.max_connections),
        allowed_hosts: args.allow_host.clone(),
        ..ServerConfig::default()
    })
}

/// Descriptors kept free for the listener, upstream connections, logs and the model file.
const SPARE_DESCRIPTORS: u64 = 32;

/// `max` lowered, with a warning, to what the process's open-file limit allows, so that the
/// cap (not `accept` failing with "Too many open files") is what holds connections back.
fn fit_descriptors(max: usize) -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the call to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return max;
    }
    let room = usize::try_from(limit.rlim_cur.saturating_sub(SPARE_DESCRIPTORS))
        .unwrap_or(usize::MAX)
        .max(1);
    if max > room {
        eprintln!(
            "longwriter serve: --max-connections {max} lowered to {room}: the open-file limit \
             is {} (raise it with ulimit -n)",
            limit.rlim_cur
        );
        return room;
    }
    max
}

fn valid_host_name(host: &str) -> bool {
    host == "*"
        || (!host.is_empty()
            && (host.starts_with('[') || !host.contains(':'))
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':')))
}

/// The key clients must present, from the variable `--api-key-env` names.
fn client_key(global: &BackendArgs) -> Result<Option<String>, CliError> {
    match &global.api_key_env {
        Some(var) => connect::read_key("--api-key-env", var).map(Some),
        None => Ok(None),
    }
}

fn parse_host(host: &str) -> Result<IpAddr, CliError> {
    if host == "localhost" {
        return Ok(IpAddr::from([127, 0, 0, 1]));
    }
    host.parse().map_err(|_| {
        CliError::Usage(format!(
            "--host {host:?} is not an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1)"
        ))
    })
}
