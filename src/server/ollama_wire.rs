//! Ollama's dialect of the server, pure: an `/api/chat` or `/api/generate` body becomes the
//! same checked request as an OpenAI one (it is translated and checked by `request::parse`, so
//! both dialects share every limit), and replies are formatted as Ollama's NDJSON lines and
//! objects. No I/O, no tokio, no HTTP types.
//!
//! Ollama's defaults differ from OpenAI's: `stream` is true unless sent false, temperature
//! 0.8 and top_p 0.9, and `num_predict` -1 means "as many as allowed".

use super::request::{self, Endpoint, Generation, Policy, RequestError};
use crate::backend::{FinishReason, Usage};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The Ollama version the routes follow, sent by `/api/version` (clients compare it).
pub const OLLAMA_VERSION: &str = "0.12.0";

/// Which Ollama endpoint a body was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OllamaEndpoint {
    /// `/api/chat`: a conversation; replies carry `message`.
    Chat,
    /// `/api/generate`: a prompt; replies carry `response`.
    Generate,
}

/// A checked Ollama request.
#[derive(Debug, Clone, PartialEq)]
pub struct OllamaRequest {
    /// What to generate; `None` for a request that only loads the model (an empty prompt or
    /// no messages), answered at once with `done_reason: "load"` as Ollama does.
    pub generation: Option<Generation>,
    /// Whether to answer with NDJSON lines (Ollama's default) or one object.
    pub stream: bool,
}

/// Whether `requested` names the served model (Ollama's implicit `:latest` tag allowed).
pub fn names_model(requested: &str, served: &str) -> bool {
    requested == served || requested.strip_suffix(":latest") == Some(served)
}

/// Parses and checks an Ollama body sent to `endpoint`.
pub fn parse(
    endpoint: OllamaEndpoint,
    body: &[u8],
    policy: &Policy,
) -> Result<OllamaRequest, RequestError> {
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| RequestError::MalformedJson(e.to_string()))?;
    let Some(object) = raw.as_object() else {
        return Err(RequestError::MalformedJson("expected a JSON object".into()));
    };
    let model = object.get("model").and_then(Value::as_str).unwrap_or("");
    if !names_model(model, &policy.model) {
        return Err(RequestError::UnknownModel {
            requested: model.to_string(),
            served: policy.model.clone(),
        });
    }
    let stream = object
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let empty = Value::Object(Default::default());
    let options = object.get("options").unwrap_or(&empty);
    let mut openai = json!({
        "temperature": options.get("temperature").cloned().unwrap_or(json!(0.8)),
        "top_p": options.get("top_p").cloned().unwrap_or(json!(0.9)),
    });
    for key in ["seed", "stop"] {
        if let Some(v) = options.get(key) {
            openai[key] = v.clone();
        }
    }
    if let Some(n) = options.get("num_predict").and_then(Value::as_i64) {
        if n >= 0 {
            openai["max_tokens"] = json!(n);
        }
    }
    let target = match endpoint {
        OllamaEndpoint::Chat => {
            let messages = object.get("messages").cloned().unwrap_or(json!([]));
            if messages.as_array().is_some_and(Vec::is_empty) {
                return Ok(OllamaRequest {
                    generation: None,
                    stream,
                });
            }
            openai["messages"] = messages;
            Endpoint::Chat
        }
        OllamaEndpoint::Generate => match generate_target(object, &mut openai) {
            Some(target) => target,
            None => {
                return Ok(OllamaRequest {
                    generation: None,
                    stream,
                })
            }
        },
    };
    let parsed =
        request::parse(target, openai.to_string().as_bytes(), policy).map_err(ollama_names)?;
    let mut generation = parsed.generation;
    extra_sampling(&mut generation, options);
    Ok(OllamaRequest {
        generation: Some(generation),
        stream,
    })
}

/// Fills `openai` for `/api/generate`: a raw prompt goes to `complete`; one with the model's
/// template is a chat turn (with `system` first, when given). `None`: an empty prompt.
fn generate_target(
    object: &serde_json::Map<String, Value>,
    openai: &mut Value,
) -> Option<Endpoint> {
    let prompt = object.get("prompt").cloned().unwrap_or(json!(""));
    if prompt.as_str() == Some("") {
        return None;
    }
    if object.get("raw").and_then(Value::as_bool) == Some(true) {
        openai["prompt"] = prompt;
        return Some(Endpoint::Completion);
    }
    let mut messages = Vec::new();
    if let Some(system) = object.get("system").filter(|s| s.as_str() != Some("")) {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.push(json!({"role": "user", "content": prompt}));
    openai["messages"] = json!(messages);
    Some(Endpoint::Chat)
}

/// Ollama's sampling options that the OpenAI body does not carry.
fn extra_sampling(generation: &mut Generation, options: &Value) {
    let sampling = match generation {
        Generation::Chat(r) => &mut r.sampling,
        Generation::Completion(r) => &mut r.sampling,
    };
    let number = |key: &str| options.get(key).and_then(Value::as_f64);
    sampling.top_k = number("top_k").filter(|k| *k > 0.0).map(|k| k as u32);
    sampling.min_p = number("min_p").map(|p| p as f32);
    sampling.repetition_penalty = number("repeat_penalty").map(|p| p as f32);
    sampling.frequency_penalty = number("frequency_penalty").map(|p| p as f32);
    sampling.presence_penalty = number("presence_penalty").map(|p| p as f32);
}

/// Renames OpenAI's parameters in an error to Ollama's.
fn ollama_names(error: RequestError) -> RequestError {
    match error {
        RequestError::Invalid { param, message } => {
            let rename = |s: &str| match s {
                "max_tokens" => "options.num_predict".to_string(),
                "temperature" | "top_p" | "stop" | "seed" => format!("options.{s}"),
                other => other.to_string(),
            };
            RequestError::Invalid {
                message: message.replace("max_tokens", "num_predict"),
                param: rename(&param),
            }
        }
        other => other,
    }
}

/// How long a generation took, for the durations (in nanoseconds) of the last line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// From the request to the end.
    pub total: Duration,
    /// From the request to the first token (the prompt's evaluation).
    pub prompt_eval: Duration,
    /// From the first token to the end.
    pub eval: Duration,
}

/// Formats replies of one request.
#[derive(Debug, Clone)]
pub struct NdjsonEncoder {
    /// Which endpoint: the text goes in `message.content` or in `response`.
    pub endpoint: OllamaEndpoint,
    /// The model name the client asked for, echoed back as Ollama does.
    pub model: String,
}

impl NdjsonEncoder {
    /// One line of generated text.
    pub fn delta(&self, text: &str, now: SystemTime) -> String {
        line(&self.object(text, now, false))
    }

    /// The last object: the text (all of it, for a whole reply), `done_reason` and the counts.
    pub fn done(
        &self,
        text: &str,
        reason: &FinishReason,
        usage: Usage,
        timings: Timings,
        now: SystemTime,
    ) -> Value {
        let mut value = self.object(text, now, true);
        value["done_reason"] = json!(match reason {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Other(other) => other.as_str(),
        });
        let nanos = |d: Duration| d.as_nanos() as u64;
        value["total_duration"] = json!(nanos(timings.total));
        value["load_duration"] = json!(0);
        value["prompt_eval_count"] = json!(usage.prompt_tokens);
        value["prompt_eval_duration"] = json!(nanos(timings.prompt_eval));
        value["eval_count"] = json!(usage.completion_tokens);
        value["eval_duration"] = json!(nanos(timings.eval));
        value
    }

    /// The answer to a request that only loads the model.
    pub fn loaded(&self, now: SystemTime) -> Value {
        let mut value = self.object("", now, true);
        value["done_reason"] = json!("load");
        value
    }

    fn object(&self, text: &str, now: SystemTime, done: bool) -> Value {
        let mut value = json!({"model": self.model, "created_at": timestamp(now)});
        match self.endpoint {
            OllamaEndpoint::Chat => {
                value["message"] = json!({"role": "assistant", "content": text});
            }
            OllamaEndpoint::Generate => value["response"] = json!(text),
        }
        value["done"] = json!(done);
        value
    }
}

/// One NDJSON line.
pub fn line(value: &Value) -> String {
    format!("{value}\n")
}

/// An RFC 3339 UTC timestamp with nanoseconds, as Ollama's `created_at`.
pub fn timestamp(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60,
        since.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            model: "gemma".into(),
            max_tokens: 100,
            max_messages: 4,
        }
    }

    fn parse_json(endpoint: OllamaEndpoint, body: Value) -> Result<OllamaRequest, RequestError> {
        parse(endpoint, body.to_string().as_bytes(), &policy())
    }

    #[test]
    fn a_chat_body_gets_ollamas_defaults_and_options() {
        let r = parse_json(
            OllamaEndpoint::Chat,
            json!({"model": "gemma:latest", "messages": [{"role": "user", "content": "hi"}],
                   "options": {"num_predict": 7, "top_k": 20, "repeat_penalty": 1.2, "seed": 3, "num_ctx": 4096}}),
        )
        .unwrap();
        assert!(r.stream);
        let Some(Generation::Chat(c)) = r.generation else {
            panic!("expected a chat request");
        };
        assert_eq!(
            (c.max_tokens, c.sampling.seed, c.sampling.top_k),
            (7, Some(3), Some(20))
        );
        assert_eq!(c.sampling.repetition_penalty, Some(1.2));
        assert!((c.sampling.temperature - 0.8).abs() < 1e-6);
        let r = parse_json(
            OllamaEndpoint::Chat,
            json!({"model": "gemma", "stream": false, "messages": [{"role": "user", "content": "hi"}], "options": {"num_predict": -1}}),
        )
        .unwrap();
        assert!(!r.stream);
        assert!(matches!(r.generation, Some(Generation::Chat(c)) if c.max_tokens == 100));
    }

    #[test]
    fn generate_is_raw_or_templated_and_empty_only_loads() {
        let raw = parse_json(
            OllamaEndpoint::Generate,
            json!({"model": "gemma", "prompt": "Once", "raw": true}),
        )
        .unwrap();
        assert!(matches!(raw.generation, Some(Generation::Completion(c)) if c.prompt == "Once"));
        let chat = parse_json(
            OllamaEndpoint::Generate,
            json!({"model": "gemma", "prompt": "Hi", "system": "Be brief"}),
        )
        .unwrap();
        assert!(matches!(chat.generation, Some(Generation::Chat(c)) if c.messages.len() == 2));
        let load = parse_json(OllamaEndpoint::Generate, json!({"model": "gemma"})).unwrap();
        assert_eq!(load.generation, None);
    }

    #[test]
    fn errors_name_ollamas_parameters_and_the_model() {
        let r = parse_json(
            OllamaEndpoint::Chat,
            json!({"model": "llama3", "messages": []}),
        );
        assert!(matches!(r, Err(RequestError::UnknownModel { .. })));
        let r = parse_json(
            OllamaEndpoint::Chat,
            json!({"model": "gemma", "messages": [{"role": "user", "content": "x"}], "options": {"num_predict": 1000}}),
        );
        assert!(
            matches!(r, Err(RequestError::Invalid { param, message }) if param == "options.num_predict" && message.contains("num_predict"))
        );
        assert!(matches!(
            parse(OllamaEndpoint::Chat, b"[1]", &policy()),
            Err(RequestError::MalformedJson(_))
        ));
    }

    #[test]
    fn lines_and_last_objects_are_ollamas() {
        let enc = NdjsonEncoder {
            endpoint: OllamaEndpoint::Chat,
            model: "gemma".into(),
        };
        let at = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        let delta: Value = serde_json::from_str(enc.delta("Hi", at).trim_end()).unwrap();
        assert_eq!(delta["message"]["content"], "Hi");
        assert_eq!(
            (delta["done"].clone(), delta["created_at"].clone()),
            (json!(false), json!("2023-11-14T22:13:20.000000005Z"))
        );
        let usage = Usage {
            prompt_tokens: 5,
            completion_tokens: 9,
        };
        let timings = Timings {
            total: Duration::from_millis(3),
            prompt_eval: Duration::from_millis(1),
            eval: Duration::from_millis(2),
        };
        let done = enc.done("", &FinishReason::Length, usage, timings, at);
        assert_eq!(
            (done["done_reason"].clone(), done["eval_count"].clone()),
            (json!("length"), json!(9))
        );
        assert_eq!(done["total_duration"], 3_000_000);
        let gen = NdjsonEncoder {
            endpoint: OllamaEndpoint::Generate,
            model: "gemma".into(),
        };
        assert_eq!(gen.loaded(at)["done_reason"], "load");
        assert_eq!(gen.loaded(at)["response"], "");
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000000000Z"
        );
    }
}
