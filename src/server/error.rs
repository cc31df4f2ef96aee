//! The edge: every failure becomes an HTTP status and an OpenAI-shaped body,
//! `{"error": {"message", "type", "param", "code"}}`. Only this file picks status codes.
//!
//! Validation errors answer 400, as OpenAI does (not 422), so that clients written for OpenAI
//! show the message; a model that is not served answers 404 `model_not_found`; a full queue
//! answers 503 with `Retry-After`; a failing upstream answers 502, a failing built-in engine 500.

use super::request::RequestError;
use crate::backend::BackendError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// One error as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for a person.
    pub message: String,
    /// OpenAI's error type: `invalid_request_error`, `authentication_error`, `server_error`.
    pub kind: &'static str,
    /// The offending request parameter, if one is to blame.
    pub param: Option<String>,
    /// A machine-readable code, e.g. `model_not_found`.
    pub code: Option<&'static str>,
    /// Seconds to wait before trying again (sent as `Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
            retry_after: None,
        }
    }

    fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// 401: the key is missing or wrong.
    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "authentication_error", message).code("invalid_api_key")
    }

    /// 413: the body is over `--max-body`.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!("the request body is larger than this server accepts ({limit} bytes, set by --max-body)"),
        )
        .code("request_too_large")
    }

    /// 403: a request from where this server does not take requests (a web page's `Origin`,
    /// a `Host` a loopback server does not answer to).
    pub fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "invalid_request_error", message).code("forbidden")
    }

    /// 415: a POST body not declared as JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request_error",
            "the request body must be JSON: send it with `Content-Type: application/json`",
        )
        .code("unsupported_media_type")
    }

    /// 408: the body did not arrive in time.
    pub fn body_timeout(timeout: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request_error",
            format!(
                "the request body did not arrive within {}s (set by --body-timeout)",
                timeout.as_secs_f64()
            ),
        )
        .code("request_timeout")
    }

    /// 400: the body could not be read at all.
    pub fn unreadable(reason: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            format!("cannot read the request body: {reason}"),
        )
    }

    /// 503: every slot of the queue is taken.
    pub fn overloaded(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "the server is busy: its request queue is full (--queue); try again shortly",
        )
        .code("overloaded");
        e.retry_after = Some(retry_after);
        e
    }

    /// 503: the server is stopping.
    pub fn shutting_down() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "the server is shutting down",
        )
        .code("shutting_down")
    }

    /// 404: no such route.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("no route {path}; this server answers /v1/chat/completions, /v1/completions, /v1/models, /health and Ollama's /api/chat, /api/generate, /api/tags, /api/show and /api/version"),
        )
        .code("unknown_url")
    }

    /// A backend failure: 502 when the backend is an upstream server (`proxied`), else 500;
    /// an upstream that is itself overloaded passes its 503 and `Retry-After` on.
    pub fn backend(error: &BackendError, proxied: bool) -> Self {
        let failed = if proxied {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        match error {
            BackendError::Invalid(m) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", m.clone())
            }
            BackendError::Status {
                status: 429 | 503,
                retry_after,
                ..
            } => {
                let mut e = Self::overloaded(retry_after.unwrap_or(1));
                e.message = format!("the model backend is busy: {error}");
                e
            }
            _ => Self::new(
                failed,
                "server_error",
                format!("the model backend failed: {error}"),
            )
            .code("backend_error"),
        }
    }

    /// The OpenAI-shaped body.
    pub fn body(&self) -> Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }})
    }
}

impl From<RequestError> for ApiError {
    fn from(error: RequestError) -> Self {
        let message = error.to_string();
        match error {
            RequestError::MalformedJson(_) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
                    .code("invalid_json")
            }
            RequestError::Invalid { param, .. } => {
                let mut e = Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
                    .code("invalid_value");
                e.param = Some(param);
                e
            }
            RequestError::UnknownModel { .. } => {
                let mut e = Self::new(StatusCode::NOT_FOUND, "invalid_request_error", message)
                    .code("model_not_found");
                e.param = Some("model".into());
                e
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_errors_map_to_statuses() {
        let invalid = ApiError::from(RequestError::Invalid {
            param: "n".into(),
            message: "n = 2".into(),
        });
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
        assert_eq!(invalid.body()["error"]["param"], "n");
        let model = ApiError::from(RequestError::UnknownModel {
            requested: "a".into(),
            served: "b".into(),
        });
        assert_eq!(model.status, StatusCode::NOT_FOUND);
        assert_eq!(model.body()["error"]["code"], "model_not_found");
    }

    #[test]
    fn backend_errors_map_by_kind() {
        let broken = BackendError::Broken("eof".into());
        assert_eq!(
            ApiError::backend(&broken, true).status,
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            ApiError::backend(&broken, false).status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let busy = BackendError::Status {
            status: 429,
            message: "slow down".into(),
            retry_after: Some(4),
        };
        let e = ApiError::backend(&busy, true);
        assert_eq!(
            (e.status, e.retry_after),
            (StatusCode::SERVICE_UNAVAILABLE, Some(4))
        );
    }
}
