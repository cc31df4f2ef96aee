//! The OpenAI-compatible backend against protocol variants that real servers send.

use crate::support::scripted::{data, Reply, ScriptedServer};
use futures::StreamExt;
use longwriter::backend::openai::{OpenAiBackend, OpenAiSettings};
use longwriter::backend::{
    Backend, BackendError, ChatMessage, FinishReason, GenerationRequest, Sampling, StreamChunk,
};
use serde_json::json;
use std::time::Duration;

fn settings(url: &str) -> OpenAiSettings {
    OpenAiSettings {
        base_url: url.to_string(),
        model: None,
        api_key: None,
        connect_timeout: Duration::from_secs(5),
    }
}

fn request() -> GenerationRequest {
    GenerationRequest {
        messages: vec![ChatMessage::user("hi")],
        max_tokens: 16,
        sampling: Sampling::default(),
        stop: vec![],
    }
}

async fn collect(server: &ScriptedServer) -> (String, Vec<Result<StreamChunk, BackendError>>) {
    let backend = OpenAiBackend::connect(settings(&server.url))
        .await
        .expect("connects");
    let mut stream = backend.stream(request()).await.expect("stream opens");
    let mut text = String::new();
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        if let Ok(StreamChunk::Delta(d)) = &item {
            text.push_str(d);
        }
        items.push(item);
    }
    (text, items)
}

#[tokio::test]
async fn real_world_chunk_shapes_decode() {
    let pieces = vec![
        b": keep-alive\n\n".to_vec(),
        data(
            json!({"id": "1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
        ),
        data(json!({"choices": [{"index": 0, "delta": {"content": ""}}]})),
        data(
            json!({"choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": null}], "timings": {"predicted_n": 1}}),
        ),
        b": keep-alive\n\n".to_vec(),
        data(
            json!({"choices": [{"index": 0, "delta": {"content": " there"}, "finish_reason": "repetition"}]}),
        ),
        data(
            json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}),
        ),
        b"data: [DONE]\n\n".to_vec(),
    ];
    let server = ScriptedServer::start(vec![Reply::Raw(pieces)]).await;
    let (text, items) = collect(&server).await;
    assert_eq!(text, "Hello there");
    match items.last() {
        Some(Ok(StreamChunk::Done {
            finish_reason: FinishReason::Other(r),
            usage: Some(u),
        })) => {
            assert_eq!(r, "repetition");
            assert_eq!(u.completion_tokens, 2);
        }
        other => panic!("unexpected end: {other:?}"),
    }
    assert!(
        items
            .iter()
            .all(|i| !matches!(i, Ok(StreamChunk::Delta(d)) if d.is_empty())),
        "no empty deltas"
    );
}

#[tokio::test]
async fn utf8_split_across_reads_decodes() {
    let event =
        data(json!({"choices": [{"index": 0, "delta": {"content": "雷锋精神 — café 🚀"}}]}));
    // Split every few bytes, so multi-byte characters straddle the reads.
    let mut pieces: Vec<Vec<u8>> = event.chunks(3).map(|c| c.to_vec()).collect();
    pieces.push(data(
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    ));
    pieces.push(b"data: [DONE]\n\n".to_vec());
    let server = ScriptedServer::start(vec![Reply::Raw(pieces)]).await;
    let (text, items) = collect(&server).await;
    assert_eq!(text, "雷锋精神 — café 🚀");
    assert!(matches!(
        items.last(),
        Some(Ok(StreamChunk::Done {
            finish_reason: FinishReason::Stop,
            ..
        }))
    ));
}

#[tokio::test]
async fn an_error_inside_the_stream_is_an_error() {
    let pieces = vec![
        data(json!({"choices": [{"index": 0, "delta": {"content": "Part"}}]})),
        data(json!({"error": {"message": "CUDA out of memory", "type": "server_error"}})),
    ];
    let server = ScriptedServer::start(vec![Reply::Raw(pieces)]).await;
    let (text, items) = collect(&server).await;
    assert_eq!(text, "Part");
    assert!(
        matches!(items.last(), Some(Err(BackendError::InStream(m))) if m == "CUDA out of memory"),
        "{items:?}"
    );
}

#[tokio::test]
async fn a_stream_without_finish_is_broken() {
    let server = ScriptedServer::start(vec![Reply::Broken {
        text: "cut off here".into(),
    }])
    .await;
    let (text, items) = collect(&server).await;
    assert_eq!(text.trim(), "cut off here");
    assert!(
        matches!(items.last(), Some(Err(BackendError::Broken(_)))),
        "{items:?}"
    );
}

#[tokio::test]
async fn http_errors_keep_status_and_message() {
    let body = r#"{"error":{"code":400,"message":"the request exceeds the available context size","type":"exceed_context_size_error"}}"#;
    let server = ScriptedServer::start(vec![Reply::Status {
        code: 400,
        body: body.into(),
        retry_after: None,
    }])
    .await;
    let backend = OpenAiBackend::connect(settings(&server.url)).await.unwrap();
    let err = backend.stream(request()).await.err().expect("an error");
    assert!(
        matches!(&err, BackendError::Status { status: 400, message, .. } if message.contains("context size")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn the_request_carries_model_sampling_and_usage_option() {
    let server = ScriptedServer::start(vec![Reply::text("ok")]).await;
    let (_, _) = collect(&server).await;
    let body = &server.requests()[0];
    assert_eq!(body["model"], "scripted");
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_tokens"], 16);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(
        body["messages"][0],
        json!({"role": "user", "content": "hi"})
    );
}

#[tokio::test]
async fn sampling_controls_go_out_under_both_servers_names_only_when_set() {
    let server = ScriptedServer::start(vec![Reply::text("ok"), Reply::text("ok")]).await;
    let (_, _) = collect(&server).await;
    let backend = OpenAiBackend::connect(settings(&server.url))
        .await
        .expect("connects");
    let mut set = request();
    set.sampling = Sampling {
        top_k: Some(30),
        min_p: Some(0.05),
        repetition_penalty: Some(1.2),
        frequency_penalty: Some(0.5),
        presence_penalty: Some(-0.25),
        ..Sampling::default()
    };
    let mut stream = backend.stream(set).await.expect("stream opens");
    while stream.next().await.is_some() {}
    let bodies = server.requests();
    let plain = bodies[0].as_object().expect("an object");
    for name in [
        "top_k",
        "min_p",
        "repetition_penalty",
        "repeat_penalty",
        "frequency_penalty",
        "presence_penalty",
    ] {
        assert!(!plain.contains_key(name), "{name} sent unasked");
    }
    let body = &bodies[1];
    assert_eq!(body["top_k"], 30);
    assert_eq!(body["min_p"], json!(0.05f32));
    // vLLM reads repetition_penalty, llama.cpp's server repeat_penalty.
    assert_eq!(body["repetition_penalty"], json!(1.2f32));
    assert_eq!(body["repeat_penalty"], json!(1.2f32));
    assert_eq!(body["frequency_penalty"], 0.5);
    assert_eq!(body["presence_penalty"], -0.25);
}
