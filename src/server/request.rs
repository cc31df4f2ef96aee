//! Request parsing: a raw HTTP body becomes a checked `ParsedRequest`, or a `RequestError` that
//! names the offending parameter and the fix. Pure: no I/O, no tokio, no HTTP types; `error.rs`
//! maps the errors to status codes at the edge.
//!
//! Accepted shapes follow the OpenAI API as real clients send it: `content` as a string or as
//! an array of text parts, `stop` as a string or an array, `max_completion_tokens` as the newer
//! name of `max_tokens`, the `developer` role as `system`. Unknown fields are ignored, as
//! OpenAI-compatible servers do.

use crate::backend::{
    ChatMessage, CompletionRequest, FrequencyPenalty, GenerationRequest, MinP, PresencePenalty,
    RepetitionPenalty, Role, Sampling, SamplingValueError, Temperature, TopK, TopP,
};
use serde::Deserialize;
use serde_json::Value;

/// What a request may ask for, and what is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The id of the one served model; a request naming another gets `UnknownModel`.
    pub model: String,
    /// Largest `max_tokens` accepted; also the default when a request names none.
    pub max_tokens: u32,
    /// Largest number of messages in a chat request.
    pub max_messages: usize,
}

/// Which endpoint a body was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v1/chat/completions`: a conversation.
    Chat,
    /// `/v1/completions`: a prompt string, continued as is (`Backend::complete`).
    Completion,
}

/// What a request asks the backend for.
#[derive(Debug, Clone, PartialEq)]
pub enum Generation {
    /// An answer to a conversation (`/v1/chat/completions`).
    Chat(GenerationRequest),
    /// A raw continuation of a prompt (`/v1/completions`).
    Completion(CompletionRequest),
}

/// A checked request, ready for the backend.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRequest {
    /// What to generate.
    pub generation: Generation,
    /// Whether the client asked for SSE.
    pub stream: bool,
    /// Whether a streamed reply ends with a usage chunk (`stream_options.include_usage`).
    pub include_usage: bool,
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The body is not JSON, or a field has the wrong type.
    #[error("the request body is not valid JSON for this endpoint: {0}")]
    MalformedJson(String),
    /// A field is out of range or missing.
    #[error("{message}")]
    Invalid {
        /// The offending parameter, as OpenAI names it (e.g. `messages[2].role`).
        param: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The request names a model this server does not serve.
    #[error("the model {requested:?} does not exist here; this server serves {served:?}")]
    UnknownModel {
        /// What was asked for.
        requested: String,
        /// What is served.
        served: String,
    },
}

impl RequestError {
    fn invalid(param: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            param: param.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Deserialize)]
struct RawRequest {
    model: Option<String>,
    messages: Option<Vec<Value>>,
    prompt: Option<Value>,
    stream: Option<bool>,
    stream_options: Option<RawStreamOptions>,
    max_tokens: Option<i64>,
    max_completion_tokens: Option<i64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    seed: Option<u64>,
    top_k: Option<Value>,
    min_p: Option<f64>,
    /// vLLM's name.
    repetition_penalty: Option<f64>,
    /// llama.cpp's name for the same penalty.
    repeat_penalty: Option<f64>,
    /// llama.cpp's penalty window.
    repeat_last_n: Option<u32>,
    frequency_penalty: Option<f64>,
    presence_penalty: Option<f64>,
    stop: Option<Value>,
    n: Option<i64>,
}

#[derive(Deserialize)]
struct RawStreamOptions {
    include_usage: Option<bool>,
}

/// Parses and checks a request body sent to `endpoint`.
pub fn parse(
    endpoint: Endpoint,
    body: &[u8],
    policy: &Policy,
) -> Result<ParsedRequest, RequestError> {
    let raw: RawRequest =
        serde_json::from_slice(body).map_err(|e| RequestError::MalformedJson(e.to_string()))?;
    if let Some(requested) = &raw.model {
        if requested != &policy.model {
            return Err(RequestError::UnknownModel {
                requested: requested.clone(),
                served: policy.model.clone(),
            });
        }
    }
    if let Some(n) = raw.n {
        if n != 1 {
            return Err(RequestError::invalid(
                "n",
                format!("n = {n} is not supported: this server generates one choice per request; send n = 1 or leave it out"),
            ));
        }
    }
    let max_tokens = max_tokens(raw.max_completion_tokens.or(raw.max_tokens), policy)?;
    let sampling = sampling(&raw)?;
    let stop = stop(raw.stop)?;
    let generation = match endpoint {
        Endpoint::Chat => Generation::Chat(GenerationRequest {
            messages: messages(raw.messages, policy.max_messages)?,
            max_tokens,
            sampling,
            stop,
        }),
        Endpoint::Completion => Generation::Completion(CompletionRequest {
            prompt: prompt(raw.prompt)?,
            max_tokens,
            sampling,
            stop,
            prose_only: false,
        }),
    };
    Ok(ParsedRequest {
        generation,
        stream: raw.stream.unwrap_or(false),
        include_usage: raw
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
    })
}

fn messages(raw: Option<Vec<Value>>, limit: usize) -> Result<Vec<ChatMessage>, RequestError> {
    let raw = raw.ok_or_else(|| {
        RequestError::invalid(
            "messages",
            "messages is required: send at least one message",
        )
    })?;
    if raw.is_empty() {
        return Err(RequestError::invalid(
            "messages",
            "messages is empty: send at least one message",
        ));
    }
    if raw.len() > limit {
        return Err(RequestError::invalid(
            "messages",
            format!(
                "{} messages is more than this server accepts ({limit}); shorten the conversation",
                raw.len()
            ),
        ));
    }
    raw.iter()
        .enumerate()
        .map(|(i, value)| message(i, value))
        .collect()
}

fn message(i: usize, value: &Value) -> Result<ChatMessage, RequestError> {
    let role_param = format!("messages[{i}].role");
    let role = match value.get("role").and_then(Value::as_str) {
        Some("system" | "developer") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some(other) => {
            return Err(RequestError::invalid(
                &role_param,
                format!("role {other:?} is not supported; use system, user or assistant"),
            ))
        }
        None => {
            return Err(RequestError::invalid(
                &role_param,
                "each message needs a role: system, user or assistant",
            ))
        }
    };
    let content_param = format!("messages[{i}].content");
    let content = match value.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => text_parts(parts, &content_param)?,
        Some(Value::Null) | None if role == Role::Assistant => String::new(),
        _ => {
            return Err(RequestError::invalid(
                &content_param,
                "content must be a string or an array of text parts",
            ))
        }
    };
    Ok(ChatMessage { role, content })
}

fn text_parts(parts: &[Value], param: &str) -> Result<String, RequestError> {
    let mut text = String::new();
    for part in parts {
        match (
            part.get("type").and_then(Value::as_str),
            part.get("text").and_then(Value::as_str),
        ) {
            (Some("text"), Some(t)) => text.push_str(t),
            _ => {
                return Err(RequestError::invalid(
                    param,
                    "only text content parts ({\"type\": \"text\", \"text\": ...}) are supported",
                ))
            }
        }
    }
    Ok(text)
}

fn prompt(raw: Option<Value>) -> Result<String, RequestError> {
    match raw {
        Some(Value::String(s)) => Ok(s),
        Some(Value::Array(items)) if items.len() == 1 => match &items[0] {
            Value::String(s) => Ok(s.clone()),
            _ => Err(RequestError::invalid("prompt", "prompt must be a string")),
        },
        Some(Value::Array(_)) => Err(RequestError::invalid(
            "prompt",
            "only one prompt per request is supported; send a single string",
        )),
        Some(_) => Err(RequestError::invalid("prompt", "prompt must be a string")),
        None => Err(RequestError::invalid("prompt", "prompt is required")),
    }
}

fn max_tokens(raw: Option<i64>, policy: &Policy) -> Result<u32, RequestError> {
    let Some(n) = raw else {
        return Ok(policy.max_tokens);
    };
    if n < 1 || n > i64::from(policy.max_tokens) {
        return Err(RequestError::invalid(
            "max_tokens",
            format!(
                "max_tokens = {n} is outside 1..={} (this server's limit, set by --max-tokens)",
                policy.max_tokens
            ),
        ));
    }
    Ok(n as u32)
}

fn sampling(raw: &RawRequest) -> Result<Sampling, RequestError> {
    // OpenAI's documented defaults, not the writer's: a client that sends nothing expects them.
    // The ranges are the ones flags and config.toml are checked against.
    let temperature = Temperature::try_from(raw.temperature.unwrap_or(1.0) as f32)
        .map_err(|e| RequestError::invalid("temperature", e.to_string()))?;
    let top_p = TopP::try_from(raw.top_p.unwrap_or(1.0) as f32)
        .map_err(|e| RequestError::invalid("top_p", e.to_string()))?;
    let top_k = match &raw.top_k {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_i64()
                .ok_or_else(|| SamplingValueError::TopK(value.to_string()))
                .and_then(TopK::try_from)
                .map_err(|e| RequestError::invalid("top_k", e.to_string()))?,
        ),
    };
    let (repetition_param, repetition) = match (raw.repetition_penalty, raw.repeat_penalty) {
        (Some(r), _) => ("repetition_penalty", Some(r)),
        (None, r) => ("repeat_penalty", r),
    };
    Ok(Sampling {
        temperature: temperature.get(),
        top_p: top_p.get(),
        seed: raw.seed,
        top_k: top_k.map(TopK::get),
        min_p: checked::<MinP>("min_p", raw.min_p)?.map(f32::from),
        repetition_penalty: checked::<RepetitionPenalty>(repetition_param, repetition)?
            .map(f32::from),
        frequency_penalty: checked::<FrequencyPenalty>("frequency_penalty", raw.frequency_penalty)?
            .map(f32::from),
        presence_penalty: checked::<PresencePenalty>("presence_penalty", raw.presence_penalty)?
            .map(f32::from),
        repeat_last_n: raw.repeat_last_n,
    })
}

/// `value` as the checked type `T`, or an `Invalid` naming `param`.
fn checked<T: TryFrom<f32, Error = SamplingValueError>>(
    param: &str,
    value: Option<f64>,
) -> Result<Option<T>, RequestError> {
    value
        .map(|v| T::try_from(v as f32).map_err(|e| RequestError::invalid(param, e.to_string())))
        .transpose()
}

fn stop(raw: Option<Value>) -> Result<Vec<String>, RequestError> {
    let list = match raw {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(RequestError::invalid("stop", "stop must hold strings")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(RequestError::invalid(
                "stop",
                "stop must be a string or an array of strings",
            ))
        }
    };
    if list.len() > 4 {
        return Err(RequestError::invalid(
            "stop",
            "at most 4 stop sequences are supported",
        ));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> Policy {
        Policy {
            model: "m".into(),
            max_tokens: 100,
            max_messages: 3,
        }
    }

    fn chat(body: Value) -> Result<ParsedRequest, RequestError> {
        parse(Endpoint::Chat, body.to_string().as_bytes(), &policy())
    }

    fn chat_request(parsed: ParsedRequest) -> GenerationRequest {
        match parsed.generation {
            Generation::Chat(r) => r,
            other => panic!("expected a chat request, got {other:?}"),
        }
    }

    fn param_of(result: Result<ParsedRequest, RequestError>) -> String {
        match result {
            Err(RequestError::Invalid { param, .. }) => param,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_chat_request_gets_the_defaults() {
        let r = chat(json!({"messages": [{"role": "user", "content": "hi"}]})).unwrap();
        assert!(!r.stream && !r.include_usage);
        let g = chat_request(r);
        assert_eq!(g.messages, vec![ChatMessage::user("hi")]);
        assert_eq!(g.max_tokens, 100);
        assert_eq!(g.sampling.temperature, 1.0);
    }

    #[test]
    fn real_client_variants_are_accepted() {
        let r = chat(json!({
            "model": "m", "stream": true, "stream_options": {"include_usage": true},
            "max_completion_tokens": 7, "temperature": 0, "top_p": 0.5, "seed": 3, "n": 1,
            "stop": "END", "frequency_penalty": 0,
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": null}
            ]
        }))
        .unwrap();
        assert!(r.stream && r.include_usage);
        let g = chat_request(r);
        assert_eq!(g.max_tokens, 7);
        assert_eq!(g.stop, vec!["END".to_string()]);
        assert_eq!(g.messages[0].role, Role::System);
        assert_eq!(g.messages[1].content, "ab");
        assert_eq!(g.sampling.seed, Some(3));
        assert_eq!(g.sampling.frequency_penalty, Some(0.0));
    }

    #[test]
    fn sampling_controls_are_read_and_checked() {
        let msg = json!([{"role": "user", "content": "x"}]);
        let g = chat_request(
            chat(json!({
                "messages": msg, "top_k": 20, "min_p": 0.1, "repetition_penalty": 1.2,
                "frequency_penalty": 0.5, "presence_penalty": -0.5
            }))
            .unwrap(),
        );
        let s = g.sampling;
        assert_eq!(
            (s.top_k, s.min_p, s.repetition_penalty),
            (Some(20), Some(0.1), Some(1.2))
        );
        assert_eq!(
            (s.frequency_penalty, s.presence_penalty),
            (Some(0.5), Some(-0.5))
        );
        let llama = chat_request(chat(json!({"messages": msg, "repeat_penalty": 1.1})).unwrap());
        assert_eq!(llama.sampling.repetition_penalty, Some(1.1));
        let none = chat_request(chat(json!({"messages": msg})).unwrap()).sampling;
        assert_eq!((none.top_k, none.repetition_penalty), (None, None));
        for (body, param) in [
            (json!({"messages": msg, "top_k": 0}), "top_k"),
            (json!({"messages": msg, "top_k": "many"}), "top_k"),
            (json!({"messages": msg, "min_p": 1.5}), "min_p"),
            (
                json!({"messages": msg, "repeat_penalty": 0}),
                "repeat_penalty",
            ),
            (
                json!({"messages": msg, "repetition_penalty": 3}),
                "repetition_penalty",
            ),
            (
                json!({"messages": msg, "frequency_penalty": 2.5}),
                "frequency_penalty",
            ),
            (
                json!({"messages": msg, "presence_penalty": -2.5}),
                "presence_penalty",
            ),
        ] {
            assert_eq!(param_of(chat(body)), param);
        }
    }

    #[test]
    fn malformed_json_is_its_own_error() {
        let r = parse(Endpoint::Chat, b"{not json", &policy());
        assert!(matches!(r, Err(RequestError::MalformedJson(_))));
        let r = chat(json!({"messages": "hi"}));
        assert!(matches!(r, Err(RequestError::MalformedJson(_))));
    }

    #[test]
    fn each_limit_names_its_parameter() {
        let msg = json!([{"role": "user", "content": "x"}]);
        assert_eq!(param_of(chat(json!({"messages": msg, "n": 2}))), "n");
        assert_eq!(
            param_of(chat(json!({"messages": msg, "max_tokens": 101}))),
            "max_tokens"
        );
        assert_eq!(
            param_of(chat(json!({"messages": msg, "max_tokens": 0}))),
            "max_tokens"
        );
        assert_eq!(
            param_of(chat(json!({"messages": msg, "temperature": 2.5}))),
            "temperature"
        );
        assert_eq!(
            param_of(chat(json!({"messages": msg, "top_p": 0}))),
            "top_p"
        );
        assert_eq!(param_of(chat(json!({"messages": []}))), "messages");
        assert_eq!(param_of(chat(json!({}))), "messages");
        let four = vec![json!({"role": "user", "content": "x"}); 4];
        assert_eq!(param_of(chat(json!({"messages": four}))), "messages");
        assert_eq!(
            param_of(chat(
                json!({"messages": [{"role": "user", "content": "x"}, {"role": "tool", "content": "y"}]})
            )),
            "messages[1].role"
        );
    }

    #[test]
    fn another_model_is_unknown() {
        let r = chat(json!({"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}));
        assert!(matches!(r, Err(RequestError::UnknownModel { .. })));
    }

    #[test]
    fn a_completion_prompt_stays_raw_text() {
        let body = json!({"prompt": ["Once"], "max_tokens": 5, "stop": "\n"}).to_string();
        let r = parse(Endpoint::Completion, body.as_bytes(), &policy()).unwrap();
        let Generation::Completion(c) = r.generation else {
            panic!("expected a completion request");
        };
        assert_eq!((c.prompt.as_str(), c.max_tokens), ("Once", 5));
        assert_eq!(c.stop, vec!["\n".to_string()]);
        let body = json!({"prompt": ["a", "b"]}).to_string();
        let r = parse(Endpoint::Completion, body.as_bytes(), &policy());
        assert_eq!(param_of(r), "prompt");
    }
}
