//! `longwriter serve` refusing what it should: bad requests and limits with their statuses and
//! OpenAI-shaped bodies, a full queue (503 + Retry-After), and a client that hangs up (the
//! backend's stream is dropped, so generation stops and the slot frees).

use crate::serve::{connect, start, Endless};
use crate::support::scripted::{Reply, ScriptedServer};
use longwriter::server::ServerConfig;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

async fn post(
    url: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, headers)
}

/// Checks the OpenAI error shape and returns its `error` object.
fn openai_error(body: &Value) -> &Value {
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(error["type"].is_string(), "{body}");
    let object = error.as_object().expect("error is an object");
    assert!(
        object.contains_key("param") && object.contains_key("code"),
        "{body}"
    );
    error
}

#[tokio::test]
async fn bad_requests_and_limits_answer_openai_errors() {
    let upstream = ScriptedServer::start(vec![]).await;
    let backend = connect(&upstream.url, None).await;
    let config = ServerConfig {
        max_tokens: 50,
        max_messages: 2,
        max_body: 2_000,
        ..ServerConfig::default()
    };
    let serve = start(Arc::new(backend), config).await;
    let chat = format!("{}/chat/completions", serve.url);
    let user = json!({"role": "user", "content": "hi"});
    let cases: Vec<(Value, u16, Option<&str>)> = vec![
        (json!({"messages": [user], "n": 2}), 400, Some("n")),
        (
            json!({"messages": [user], "max_tokens": 51}),
            400,
            Some("max_tokens"),
        ),
        (
            json!({"messages": [user, user, user]}),
            400,
            Some("messages"),
        ),
        (json!({"messages": []}), 400, Some("messages")),
        (
            json!({"messages": [{"role": "wizard", "content": "x"}]}),
            400,
            Some("messages[0].role"),
        ),
        (
            json!({"messages": [user], "temperature": 3}),
            400,
            Some("temperature"),
        ),
        (
            json!({"model": "gpt-9", "messages": [user]}),
            404,
            Some("model"),
        ),
    ];
    for (body, status, param) in cases {
        let (got, reply, _) = post(&chat, body.to_string()).await;
        assert_eq!(got, status, "{body} -> {reply}");
        let error = openai_error(&reply);
        assert_eq!(error["param"].as_str(), param, "{reply}");
        if param == Some("n") {
            assert!(error["message"].as_str().unwrap().contains("n = 2"));
        }
        if status == 404 {
            assert_eq!(error["code"], "model_not_found");
        }
    }
    let (got, reply, _) = post(&chat, "{\"messages\": [").await;
    assert_eq!(got, 400);
    assert_eq!(openai_error(&reply)["code"], "invalid_json");
    let big = json!({"messages": [{"role": "user", "content": "x".repeat(5_000)}]});
    let (got, reply, _) = post(&chat, big.to_string()).await;
    assert_eq!(got, 413);
    assert_eq!(openai_error(&reply)["code"], "request_too_large");
    let (got, reply, _) = post(&format!("{}/nowhere", serve.url), "{}").await;
    assert_eq!(got, 404);
    openai_error(&reply);
    assert!(
        upstream.requests().is_empty(),
        "nothing invalid reached the upstream"
    );
}

#[tokio::test]
async fn upstream_failures_answer_502() {
    let upstream = ScriptedServer::start(vec![Reply::Status {
        code: 500,
        body: "{\"error\": {\"message\": \"boom\"}}".into(),
        retry_after: None,
    }])
    .await;
    let serve = start(
        Arc::new(connect(&upstream.url, None).await),
        ServerConfig::default(),
    )
    .await;
    let body = json!({"messages": [{"role": "user", "content": "hi"}]});
    let (got, reply, _) = post(&format!("{}/chat/completions", serve.url), body.to_string()).await;
    assert_eq!(got, 502);
    assert_eq!(openai_error(&reply)["type"], "server_error");
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let upstream = ScriptedServer::start(vec![Reply::Stall {
        text: "Still thinking".into(),
    }])
    .await;
    let config = ServerConfig {
        queue: 1,
        concurrency: 1,
        retry_after_secs: 2,
        ..ServerConfig::default()
    };
    let serve = start(Arc::new(connect(&upstream.url, None).await), config).await;
    let chat = format!("{}/chat/completions", serve.url);
    let body = json!({"stream": true, "messages": [{"role": "user", "content": "hi"}]});
    // The first request holds the only slot: its headers have come, its stream stalls.
    let mut first = reqwest::Client::new()
        .post(&chat)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.chunk().await.unwrap().is_some());
    let (got, reply, headers) = post(&chat, body.to_string()).await;
    assert_eq!(got, 503, "{reply}");
    assert_eq!(openai_error(&reply)["code"], "overloaded");
    assert_eq!(headers.get("retry-after").unwrap(), "2");
    drop(first);
}

#[tokio::test]
async fn a_client_that_hangs_up_stops_generation() {
    let (dropped, mut drops) = mpsc::unbounded_channel();
    let config = ServerConfig {
        queue: 1,
        concurrency: 1,
        ..ServerConfig::default()
    };
    let serve = start(Arc::new(Endless { dropped }), config).await;
    let chat = format!("{}/chat/completions", serve.url);
    let body = json!({"stream": true, "messages": [{"role": "user", "content": "go on"}]});
    let mut response = reqwest::Client::new()
        .post(&chat)
        .json(&body)
        .send()
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(response.chunk().await.unwrap().is_some());
    }
    drop(response);
    let seen = tokio::time::timeout(Duration::from_secs(10), drops.recv()).await;
    assert_eq!(seen, Ok(Some(())), "the backend stream was not dropped");
    // The slot is free again: the next request is admitted, not refused with 503.
    let mut next = reqwest::Client::new()
        .post(&chat)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), 200);
    assert!(next.chunk().await.unwrap().is_some());
}
