//! Tolerant wire types for the OpenAI chat and completions APIs and a pure decoder of SSE `data` payloads.
//!
//! Real servers differ from the spec: a role-only first chunk, empty deltas, a usage chunk with
//! empty `choices`, finish reasons such as `abort` or `repetition`, extra fields like
//! llama.cpp's `timings`, no `created`, and `{"error": …}` inside the stream. Every field is
//! optional here; unknown fields are ignored. No I/O.

use crate::backend::{
    BackendError, CompletionRequest, FinishReason, GenerationRequest, Sampling, StreamChunk, Usage,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The JSON body of a streaming chat request.
pub fn chat_request_body(model: &str, request: &GenerationRequest) -> Value {
    let mut body = streaming_body(model, request.max_tokens, &request.sampling, &request.stop);
    body["messages"] = json!(request.messages);
    body
}

/// The JSON body of a streaming raw completion (`/v1/completions`).
pub fn completion_request_body(model: &str, request: &CompletionRequest) -> Value {
    let mut body = streaming_body(model, request.max_tokens, &request.sampling, &request.stop);
    body["prompt"] = json!(request.prompt);
    body
}

/// What chat and completion requests share: the model, the limits, sampling and streaming.
fn streaming_body(model: &str, max_tokens: u32, sampling: &Sampling, stop: &[String]) -> Value {
    let mut body = json!({
        "model": model,
        "max_tokens": max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "stream": true,
        "stream_options": { "include_usage": true },
    });
    if let Some(seed) = sampling.seed {
        body["seed"] = json!(seed);
    }
    // Sent only when set: OpenAI itself refuses the fields it does not know (top_k, min_p,
    // the repetition penalty). llama.cpp's server calls the repetition penalty
    // `repeat_penalty`, vLLM `repetition_penalty`; each ignores the other's name.
    let extras = [
        (
            "frequency_penalty",
            sampling.frequency_penalty.map(|v| json!(v)),
        ),
        (
            "presence_penalty",
            sampling.presence_penalty.map(|v| json!(v)),
        ),
        ("top_k", sampling.top_k.map(|v| json!(v))),
        ("min_p", sampling.min_p.map(|v| json!(v))),
        (
            "repetition_penalty",
            sampling.repetition_penalty.map(|v| json!(v)),
        ),
        (
            "repeat_penalty",
            sampling.repetition_penalty.map(|v| json!(v)),
        ),
        // llama.cpp's penalty window; vLLM's penalty covers the whole text and ignores it.
        ("repeat_last_n", sampling.repeat_last_n.map(|v| json!(v))),
    ];
    for (name, value) in extras {
        if let Some(value) = value {
            body[name] = value;
        }
    }
    if !stop.is_empty() {
        body["stop"] = json!(stop);
    }
    body
}

/// llama.cpp's `logit_bias` that bans the tokens a Markdown heading or an escape starts with
/// (see `CompletionRequest::prose_only`): each text is tokenized by the server, and `false`
/// means never.
pub fn llama_markup_bias() -> Value {
    json!([
        ["#", false],
        ["##", false],
        ["###", false],
        ["####", false],
        ["\\", false],
        ["\\\"", false]
    ])
}

#[derive(Deserialize)]
struct ModelList {
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
}

/// Reads the ids of a `/models` answer.
pub fn parse_model_list(body: &str) -> Result<Vec<String>, serde_json::Error> {
    let list: ModelList = serde_json::from_str(body)?;
    Ok(list.data.into_iter().map(|m| m.id).collect())
}

/// vLLM's `max_model_len` of `model` in a `/models` answer.
pub fn max_model_len(body: &str, model: &str) -> Option<usize> {
    let value: Value = serde_json::from_str(body).ok()?;
    let entries = value.get("data")?.as_array()?;
    let entry = entries
        .iter()
        .find(|m| m.get("id").and_then(Value::as_str) == Some(model))?;
    entry.get("max_model_len")?.as_u64().map(|n| n as usize)
}

/// llama.cpp's context per slot in a `/props` answer: `default_generation_settings.n_ctx`
/// (or a top-level `n_ctx` in older servers).
pub fn props_n_ctx(body: &str) -> Option<usize> {
    let value: Value = serde_json::from_str(body).ok()?;
    value
        .get("default_generation_settings")
        .and_then(|s| s.get("n_ctx"))
        .or_else(|| value.get("n_ctx"))
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .map(|n| n as usize)
}

/// The number of tokens in a `/tokenize` answer (`{"tokens": [...]}`).
pub fn token_count(body: &str) -> Option<usize> {
    let value: Value = serde_json::from_str(body).ok()?;
    value.get("tokens")?.as_array().map(Vec::len)
}

/// The most useful message in an error body: `error.message`, `error` as a string,
/// `message`, `detail`, or the start of the body itself.
pub fn error_message(body: &str) -> String {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        if let Some(message) = message_of(&value) {
            return message;
        }
    }
    let trimmed = body.trim();
    let short: String = trimmed.chars().take(200).collect();
    if short.is_empty() {
        "(empty body)".into()
    } else {
        short
    }
}

fn message_of(value: &Value) -> Option<String> {
    let error = value.get("error").unwrap_or(value);
    if let Some(s) = error.as_str() {
        return Some(s.to_string());
    }
    let message = ["message", "detail", "msg"]
        .iter()
        .find_map(|key| error.get(key).and_then(Value::as_str).map(str::to_string))?;
    // llama.cpp gives the sizes of a request too long for its context beside the message.
    let sizes: Vec<String> = ["n_prompt_tokens", "n_ctx"]
        .iter()
        .filter_map(|key| {
            error
                .get(key)
                .and_then(Value::as_u64)
                .map(|n| format!("{key}={n}"))
        })
        .collect();
    if sizes.is_empty() {
        Some(message)
    } else {
        Some(format!("{message} ({})", sizes.join(", ")))
    }
}

#[derive(Deserialize, Default)]
struct WireChunk {
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize, Default)]
struct WireChoice {
    #[serde(default)]
    delta: Option<WireDelta>,
    /// `/v1/completions`-style servers put the text here.
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireDelta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// What one SSE payload amounts to.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// Nothing for the caller (role-only chunk, empty delta, usage remembered).
    Nothing,
    /// A chunk to pass on.
    Chunk(StreamChunk),
    /// `[DONE]`.
    End,
}

/// Accumulates the finish reason and usage, which servers send in separate chunks and in
/// either order.
#[derive(Default)]
pub struct ChunkDecoder {
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl ChunkDecoder {
    /// Decodes one SSE `data` payload.
    pub fn feed(&mut self, data: &str) -> Result<Decoded, BackendError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(Decoded::Nothing);
        }
        if data == "[DONE]" {
            return Ok(Decoded::End);
        }
        let chunk: WireChunk = serde_json::from_str(data).map_err(|e| {
            let short: String = data.chars().take(120).collect();
            BackendError::Malformed(format!("{e} in {short:?}"))
        })?;
        if let Some(error) = chunk.error {
            let message = message_of(&error).unwrap_or_else(|| error.to_string());
            return Err(BackendError::InStream(message));
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(Usage {
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
            });
        }
        let mut text = String::new();
        for choice in chunk.choices {
            if let Some(content) = choice.delta.and_then(|d| d.content).or(choice.text) {
                text.push_str(&content);
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finish = Some(FinishReason::parse(&reason));
            }
        }
        if text.is_empty() {
            Ok(Decoded::Nothing)
        } else {
            Ok(Decoded::Chunk(StreamChunk::Delta(text)))
        }
    }

    /// The final chunk, once a finish reason was seen.
    pub fn finish(&mut self) -> Option<StreamChunk> {
        self.finish.take().map(|finish_reason| StreamChunk::Done {
            finish_reason,
            usage: self.usage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(payloads: &[&str]) -> (String, Option<StreamChunk>, Vec<BackendError>) {
        let mut decoder = ChunkDecoder::default();
        let (mut text, mut errors) = (String::new(), Vec::new());
        for p in payloads {
            match decoder.feed(p) {
                Ok(Decoded::Chunk(StreamChunk::Delta(d))) => text.push_str(&d),
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        (text, decoder.finish(), errors)
    }

    #[test]
    fn vllm_style_stream_with_usage_chunk() {
        let (text, done, errors) = feed_all(&[
            r#"{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            r#"{"id":"x","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}"#,
            r#"{"id":"x","choices":[{"index":0,"delta":{"content":" world"},"finish_reason":"length"}]}"#,
            r#"{"id":"x","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}"#,
            "[DONE]",
        ]);
        assert_eq!(text, "Hello world");
        assert!(errors.is_empty());
        assert_eq!(
            done,
            Some(StreamChunk::Done {
                finish_reason: FinishReason::Length,
                usage: Some(Usage {
                    prompt_tokens: 12,
                    completion_tokens: 2
                })
            })
        );
    }

    #[test]
    fn llama_cpp_timings_and_no_created() {
        let (text, done, _) = feed_all(&[
            r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hi"}}],"object":"chat.completion.chunk"}"#,
            r#"{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"timings":{"prompt_n":5,"predicted_per_second":60.1},"usage":{"completion_tokens":1,"prompt_tokens":5,"total_tokens":6}}"#,
        ]);
        assert_eq!(text, "Hi");
        assert!(matches!(
            done,
            Some(StreamChunk::Done {
                finish_reason: FinishReason::Stop,
                ..
            })
        ));
    }

    #[test]
    fn vllm_abort_and_repetition_are_kept() {
        for reason in ["abort", "repetition"] {
            let payload = format!(r#"{{"choices":[{{"delta":{{}},"finish_reason":"{reason}"}}]}}"#);
            let (_, done, _) = feed_all(&[&payload]);
            assert!(
                matches!(done, Some(StreamChunk::Done { finish_reason: FinishReason::Other(r), .. }) if r == reason)
            );
        }
    }

    #[test]
    fn error_inside_stream_is_an_error() {
        let (_, _, errors) = feed_all(&[r#"{"error":{"message":"out of memory","code":500}}"#]);
        assert!(matches!(&errors[0], BackendError::InStream(m) if m == "out of memory"));
    }

    #[test]
    fn malformed_chunk_is_reported() {
        let (_, _, errors) = feed_all(&["{not json"]);
        assert!(matches!(errors[0], BackendError::Malformed(_)));
    }

    #[test]
    fn windows_and_token_counts_from_llama_cpp_and_vllm() {
        let props = r#"{"default_generation_settings":{"n_ctx":8192,"params":{}},"total_slots":1}"#;
        assert_eq!(props_n_ctx(props), Some(8192));
        assert_eq!(props_n_ctx(r#"{"n_ctx":4096}"#), Some(4096));
        assert_eq!(props_n_ctx(r#"{"error":"no"}"#), None);
        let models = r#"{"data":[{"id":"a","max_model_len":32768},{"id":"b"}]}"#;
        assert_eq!(max_model_len(models, "a"), Some(32768));
        assert_eq!(max_model_len(models, "b"), None);
        assert_eq!(token_count(r#"{"tokens":[1,2,3]}"#), Some(3));
        let refusal = r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9001,"n_ctx":8192}}"#;
        let message = error_message(refusal);
        assert!(
            message.ends_with("(n_prompt_tokens=9001, n_ctx=8192)"),
            "{message}"
        );
    }

    #[test]
    fn error_messages_from_bodies() {
        assert_eq!(
            error_message(r#"{"error":{"message":"bad key","type":"auth"}}"#),
            "bad key"
        );
        assert_eq!(error_message(r#"{"error":"overloaded"}"#), "overloaded");
        assert_eq!(error_message(r#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(error_message("<html>nope</html>"), "<html>nope</html>");
        assert_eq!(error_message(""), "(empty body)");
    }

    #[test]
    fn model_lists() {
        let ids = parse_model_list(
            r#"{"object":"list","data":[{"id":"gemma","meta":{"n_ctx":8192}}],"models":[]}"#,
        )
        .unwrap();
        assert_eq!(ids, vec!["gemma"]);
        assert!(parse_model_list("<!DOCTYPE html>").is_err());
    }
}
