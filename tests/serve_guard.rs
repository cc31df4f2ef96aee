//! `longwriter serve` against web pages and abusive sockets: slow headers, idle keep-alive
//! connections and slow bodies are cut off after their (here short) timeouts, the connection
//! cap holds, non-JSON bodies get 415, foreign origins and hosts 403; the key's scheme is
//! case-insensitive and the proxy sends no empty `Authorization` header.

use crate::serve::{connect, start, Running};
use crate::support::scripted::ScriptedServer;
use futures::future::BoxFuture;
use longwriter::backend::{
    Backend, BackendError, BackendInfo, ChunkStream, FinishReason, GenerationRequest, StreamChunk,
};
use longwriter::server::ServerConfig;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for the server to act before calling it a failure (the timeouts
/// under test are a few hundred milliseconds).
const PATIENCE: Duration = Duration::from_secs(10);
const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(600);

/// A backend whose one reply comes after `delay`: slower than the connection timeouts.
struct Delayed {
    delay: Duration,
}

impl Backend for Delayed {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "fake".into(),
            model: "delayed".into(),
            endpoint: "memory".into(),
        }
    }

    fn stream(
        &self,
        _request: GenerationRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        let delay = self.delay;
        Box::pin(async move {
            let chunks = async_stream(delay);
            Ok(chunks)
        })
    }
}

fn async_stream(delay: Duration) -> ChunkStream {
    use futures::StreamExt;
    futures::stream::once(async move {
        tokio::time::sleep(delay).await;
        futures::stream::iter([
            Ok(StreamChunk::Delta("late but whole".into())),
            Ok(StreamChunk::Done {
                finish_reason: FinishReason::Stop,
                usage: None,
            }),
        ])
    })
    .flatten()
    .boxed()
}

async fn server(config: ServerConfig) -> (Running, String) {
    let backend = Delayed {
        delay: Duration::from_millis(10),
    };
    let running = start(Arc::new(backend), config).await;
    let addr = running.root.trim_start_matches("http://").to_string();
    (running, addr)
}

/// Reads until the peer closes; `Ok(bytes)` once it has, `Err` if it has not within PATIENCE.
async fn read_until_closed(stream: &mut TcpStream) -> Result<Vec<u8>, &'static str> {
    let mut all = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .map_err(|_| "the server kept the connection open")?;
    Ok(all)
}

/// Reads one response with a `Content-Length` body; returns its head and body.
async fn read_response(stream: &mut TcpStream) -> (String, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before a whole response");
            data.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&data).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    return (head.to_string(), body.to_string());
                }
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("a response")
}

const HEALTH: &str = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let (_server, addr) = server(ServerConfig {
        header_timeout: SHORT,
        idle_timeout: LONG,
        ..ServerConfig::default()
    })
    .await;
    // A slowloris client: half a request head, then nothing.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: local")
        .await
        .unwrap();
    let started = Instant::now();
    read_until_closed(&mut slow).await.unwrap();
    assert!(
        started.elapsed() >= SHORT / 2,
        "closed only after the timeout"
    );
    // A client that connects and sends nothing at all is cut off the same way.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    read_until_closed(&mut silent).await.unwrap();
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_but_slow_replies_are_not() {
    let (_server, addr) = server(ServerConfig {
        header_timeout: LONG,
        idle_timeout: SHORT,
        ..ServerConfig::default()
    })
    .await;
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(HEALTH.as_bytes()).await.unwrap();
    let (head, _) = read_response(&mut idle).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(
        read_until_closed(&mut idle).await.unwrap(),
        b"",
        "closed, nothing more"
    );

    // A reply that takes longer than both timeouts (a long prefill) is not cut.
    let backend = Delayed { delay: SHORT * 3 };
    let slow = start(
        Arc::new(backend),
        ServerConfig {
            header_timeout: SHORT,
            idle_timeout: SHORT,
            ..ServerConfig::default()
        },
    )
    .await;
    let reply = reqwest::Client::new()
        .post(format!("{}/chat/completions", slow.url))
        .json(&serde_json::json!({"messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "late but whole");
}

#[tokio::test]
async fn a_slow_body_gets_408_and_the_connection_closes() {
    let (_server, addr) = server(ServerConfig {
        body_timeout: SHORT,
        header_timeout: LONG,
        idle_timeout: LONG,
        ..ServerConfig::default()
    })
    .await;
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"messages\"";
    slow.write_all(head.as_bytes()).await.unwrap();
    let reply = String::from_utf8(read_until_closed(&mut slow).await.unwrap()).unwrap();
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("--body-timeout"), "{reply}");
}

#[tokio::test]
async fn the_connection_cap_holds_until_a_connection_closes() {
    let (server, addr) = server(ServerConfig {
        max_connections: 1,
        idle_timeout: SHORT,
        header_timeout: LONG,
        ..ServerConfig::default()
    })
    .await;
    // The one slot: a keep-alive connection, served and then idle.
    let mut first = TcpStream::connect(&addr).await.unwrap();
    first.write_all(HEALTH.as_bytes()).await.unwrap();
    read_response(&mut first).await;
    let started = Instant::now();
    let second = reqwest::Client::new()
        .get(format!("{}/health", server.root))
        .timeout(PATIENCE)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200);
    assert!(
        started.elapsed() >= SHORT / 2,
        "the second connection waited for the first to go idle and close ({:?})",
        started.elapsed()
    );
    assert_eq!(read_until_closed(&mut first).await.unwrap(), b"");
}

/// Sends `request` on a fresh connection and returns the status line's code.
async fn status_of(addr: &str, request: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let (head, body) = read_response(&mut stream).await;
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    if code >= 400 {
        let json: serde_json::Value = serde_json::from_str(&body).expect("an OpenAI error body");
        assert!(json["error"]["message"].is_string(), "{body}");
    }
    code
}

fn post(host: &str, content_type: Option<&str>, origin: Option<&str>) -> String {
    let body = r#"{"messages": [{"role": "user", "content": "hi"}]}"#;
    let mut request = format!("POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\n");
    if let Some(t) = content_type {
        request.push_str(&format!("Content-Type: {t}\r\n"));
    }
    if let Some(o) = origin {
        request.push_str(&format!("Origin: {o}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    request
}

#[tokio::test]
async fn web_pages_get_415_and_403() {
    let (_server, addr) = server(ServerConfig::default()).await;
    let json = Some("application/json");
    let local = format!("localhost:{}", addr.rsplit(':').next().unwrap());
    assert_eq!(status_of(&addr, &post(&local, json, None)).await, 200);
    assert_eq!(status_of(&addr, &post(&addr, json, None)).await, 200);
    // A form or text/plain POST needs no CORS preflight: refused as not JSON.
    assert_eq!(
        status_of(&addr, &post(&local, Some("text/plain"), None)).await,
        415
    );
    assert_eq!(status_of(&addr, &post(&local, None, None)).await, 415);
    // A page's origin, with no --cors: refused.
    let evil = Some("https://evil.example");
    assert_eq!(status_of(&addr, &post(&local, json, evil)).await, 403);
    // DNS rebinding: the page's own host name on our loopback port.
    assert_eq!(
        status_of(&addr, &post("attacker.example:80", json, None)).await,
        403
    );
    let get = |host: &str| format!("GET /v1/models HTTP/1.1\r\nHost: {host}\r\n\r\n");
    assert_eq!(status_of(&addr, &get("attacker.example")).await, 403);
    assert_eq!(status_of(&addr, &get("[::1]:8000")).await, 200);

    let (_server, addr) = server(ServerConfig {
        allowed_hosts: vec!["box.lan".into()],
        cors_origin: Some("https://app.example".into()),
        ..ServerConfig::default()
    })
    .await;
    assert_eq!(status_of(&addr, &get("box.lan")).await, 200);
    assert_eq!(status_of(&addr, &get("attacker.example")).await, 403);
    let app = Some("https://app.example");
    assert_eq!(status_of(&addr, &post("box.lan", json, app)).await, 200);
    assert_eq!(status_of(&addr, &post("box.lan", json, evil)).await, 403);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let (server, _addr) = server(ServerConfig {
        api_key: Some("sk-test-1".into()),
        ..ServerConfig::default()
    })
    .await;
    let http = reqwest::Client::new();
    for (value, status) in [
        ("Bearer sk-test-1", 200),
        ("bearer sk-test-1", 200),
        ("BEARER sk-test-1", 200),
        ("bearer sk-wrong", 401),
    ] {
        let response = http
            .get(format!("{}/models", server.url))
            .header("authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{value}");
        if status == 401 {
            let body = response.text().await.unwrap();
            assert!(body.contains("incorrect API key"), "{body}");
        }
    }
}

#[tokio::test]
async fn no_empty_authorization_header_without_a_key() {
    let upstream = ScriptedServer::start(vec![]).await;
    connect(&upstream.url, None).await;
    connect(&upstream.url, Some("sk-up")).await;
    assert_eq!(
        upstream.authorizations(),
        vec![None, Some("Bearer sk-up".to_string())]
    );
}
