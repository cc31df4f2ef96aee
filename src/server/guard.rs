//! The checks a request passes before any route, against web pages and slow clients.
//!
//! A page in the user's browser can send "simple" requests to a loopback server without a CORS
//! preflight (a `text/plain` POST), and a DNS-rebinding page reaches it under its own host name.
//! So, as Ollama does: on a loopback bind the `Host` must be `localhost`, `127.0.0.1` or `[::1]`
//! (or a name given with `--allow-host`); an `Origin` header (only browsers send one) must be
//! the `--cors` origin; and a POST body must be declared JSON. `Gate::check` is pure;
//! `gate` is its middleware. `body_deadline` bounds how long a request body may take to arrive.

use super::error::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// The host names a loopback server always answers to.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// Who may send requests.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    /// The one origin allowed (`--cors`); requests with any other `Origin` are refused.
    pub origin: Option<HeaderValue>,
    /// Host names allowed besides the loopback ones (lower case, no port; `*` allows any);
    /// `None` checks no `Host` (a server bound to a non-loopback address).
    pub hosts: Option<Vec<String>>,
}

impl Gate {
    /// Checks a request's headers: `Host`, then `Origin`, then (for a POST) `Content-Type`.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
        if let Some(extra) = &self.hosts {
            if let Some(host) = headers.get(header::HOST) {
                let name = host_name(host.to_str().unwrap_or(""));
                let allowed = LOOPBACK_HOSTS.contains(&name.as_str())
                    || extra.iter().any(|h| h == "*" || *h == name);
                if !allowed {
                    return Err(ApiError::forbidden(&format!(
                        "this server listens on a loopback address and answers only to the \
                         host names localhost, 127.0.0.1 and [::1], not {name:?} (a web page \
                         may be trying to reach it); start it with --allow-host {name} to allow it"
                    )));
                }
            }
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            if self.origin.as_ref() != Some(origin) {
                let shown = origin.to_str().unwrap_or("?");
                return Err(ApiError::forbidden(&format!(
                    "requests from the web origin {shown:?} are not allowed; start the server \
                     with --cors {shown} to allow that origin"
                )));
            }
        }
        if method == Method::POST && !is_json(headers.get(header::CONTENT_TYPE)) {
            return Err(ApiError::unsupported_media_type());
        }
        Ok(())
    }
}

/// The host part of a `Host` header, lower case, without the port.
fn host_name(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => host[..=end].to_string(),
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
        _ => host,
    }
}

/// Whether a `Content-Type` declares JSON (`application/json`, any parameters, or `+json`).
fn is_json(value: Option<&HeaderValue>) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Refuses what `Gate::check` refuses.
pub async fn gate(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    match gate.check(request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// Gives the request body `timeout` (from the end of the head) to arrive in full; a body
/// still arriving then gets 408 and the connection is closed.
pub async fn body_deadline(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let expired = Arc::new(AtomicBool::new(false));
    let flag = expired.clone();
    let request = request.map(|body| {
        Body::new(Deadline {
            body,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            expired: flag,
        })
    });
    let response = next.run(request).await;
    if expired.load(Ordering::Relaxed) {
        let mut response = ApiError::body_timeout(timeout).into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    response
}

/// A request body that fails once its deadline passes.
struct Deadline {
    body: Body,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired.store(true, Ordering::Relaxed);
            let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "the body timed out");
            return Poll::Ready(Some(Err(axum::Error::new(e))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn loopback(extra: &[&str]) -> Gate {
        Gate {
            origin: None,
            hosts: Some(extra.iter().map(|h| h.to_string()).collect()),
        }
    }

    #[test]
    fn host_names_lose_their_ports() {
        assert_eq!(host_name("LocalHost:8000"), "localhost");
        assert_eq!(host_name("[::1]:8000"), "[::1]");
        assert_eq!(host_name("[::1]"), "[::1]");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name("attacker.example:80"), "attacker.example");
    }

    #[test]
    fn loopback_hosts_pass_and_others_are_refused() {
        let gate = loopback(&[]);
        for host in ["localhost:8000", "127.0.0.1:1", "[::1]:8000", "localhost"] {
            assert!(
                gate.check(&Method::GET, &headers(&[("host", host)]))
                    .is_ok(),
                "{host}"
            );
        }
        let refused = gate
            .check(&Method::GET, &headers(&[("host", "attacker.example:8000")]))
            .unwrap_err();
        assert_eq!(refused.status.as_u16(), 403);
        assert!(
            refused.message.contains("--allow-host attacker.example"),
            "{}",
            refused.message
        );
        let allowed = loopback(&["box.lan"]);
        assert!(allowed
            .check(&Method::GET, &headers(&[("host", "box.lan:80")]))
            .is_ok());
        assert!(loopback(&["*"])
            .check(&Method::GET, &headers(&[("host", "x.y")]))
            .is_ok());
        let public = Gate::default();
        assert!(public
            .check(&Method::GET, &headers(&[("host", "x.y")]))
            .is_ok());
    }

    #[test]
    fn origins_must_be_the_cors_origin() {
        let gate = Gate::default();
        assert!(
            gate.check(&Method::GET, &headers(&[])).is_ok(),
            "no Origin: not a browser"
        );
        let e = gate
            .check(
                &Method::GET,
                &headers(&[("origin", "https://evil.example")]),
            )
            .unwrap_err();
        assert_eq!(e.status.as_u16(), 403);
        assert!(
            e.message.contains("--cors https://evil.example"),
            "{}",
            e.message
        );
        let cors = Gate {
            origin: Some(HeaderValue::from_static("https://app.example")),
            hosts: None,
        };
        assert!(cors
            .check(&Method::GET, &headers(&[("origin", "https://app.example")]))
            .is_ok());
        assert!(cors
            .check(&Method::GET, &headers(&[("origin", "null")]))
            .is_err());
    }

    #[test]
    fn posts_must_declare_json() {
        let gate = Gate::default();
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/vnd.x+json",
        ] {
            let h = headers(&[("content-type", ok)]);
            assert!(gate.check(&Method::POST, &h).is_ok(), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ] {
            let e = gate
                .check(&Method::POST, &headers(&[("content-type", bad)]))
                .unwrap_err();
            assert_eq!(e.status.as_u16(), 415, "{bad}");
        }
        let e = gate.check(&Method::POST, &headers(&[])).unwrap_err();
        assert_eq!(e.status.as_u16(), 415, "no Content-Type");
        assert!(gate.check(&Method::GET, &headers(&[])).is_ok());
    }
}
