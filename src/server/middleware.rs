//! The layers around every route: the access log (method, path, status, latency — never
//! bodies, queries or keys), bearer-key auth checked in constant time, and CORS headers only
//! when `--cors` names an origin.

use super::error::ApiError;
use super::App;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;

/// Logs one line per request: method, path, status, latency.
pub async fn access_log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        latency_ms = start.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// Whether `presented` equals `expected`, in time that does not depend on where they differ
/// (only on their lengths, which a key's format already tells).
pub fn keys_match(presented: &str, expected: &str) -> bool {
    presented.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// Requires `Authorization: Bearer <key>` on every route but `/health` and CORS preflights,
/// when the server has a key.
pub async fn require_key(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let Some(expected) = app.api_key.as_deref() else {
        return next.run(request).await;
    };
    if request.uri().path() == "/health" || request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    match presented {
        Some(key) if keys_match(key, expected) => next.run(request).await,
        Some(_) => ApiError::unauthorized("incorrect API key").into_response(),
        None => ApiError::unauthorized("missing API key: send it as `Authorization: Bearer <key>`")
            .into_response(),
    }
}

/// The token of an `Authorization: Bearer <token>` value; the scheme is matched in any case
/// (RFC 7235: auth schemes are case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Adds `Access-Control-Allow-Origin` for the configured origin and answers preflights.
pub async fn cors(State(origin): State<HeaderValue>, request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return response;
    }
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    response
}

#[cfg(test)]
mod tests {
    use super::{bearer_token, keys_match};

    #[test]
    fn bearer_scheme_in_any_case() {
        for value in [
            "Bearer sk-1",
            "bearer sk-1",
            "BEARER  sk-1 ",
            " Bearer sk-1",
        ] {
            assert_eq!(bearer_token(value), Some("sk-1"), "{value:?}");
        }
        assert_eq!(bearer_token("Basic c2stMQ=="), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearersk-1"), None);
    }

    #[test]
    fn keys_match_only_when_equal() {
        assert!(keys_match("sk-abc", "sk-abc"));
        assert!(!keys_match("sk-abd", "sk-abc"));
        assert!(!keys_match("sk-ab", "sk-abc"));
        assert!(!keys_match("", "sk-abc"));
    }
}
