//! Ollama's native wire format, pure: request bodies for `/api/chat` and `/api/generate`, the
//! answers of `/api/tags` and `/api/show`, and a decoder of the NDJSON stream with a bounded
//! line buffer. No I/O.
//!
//! The stream is one JSON object per line: `{"model", "created_at", "message": {"role",
//! "content"}, "done": false}` for chat (`"response"` for generate), then a last line with
//! `"done": true`, `"done_reason"` and the metrics (`prompt_eval_count`, `eval_count`,
//! durations in nanoseconds). Errors come as `{"error": "..."}`, as a whole body or as a line.

use crate::backend::{
    BackendError, ChatMessage, CompletionRequest, FinishReason, GenerationRequest, Sampling,
    StreamChunk, Usage,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// Longest NDJSON line accepted (a line is one token's object, rarely above a kilobyte).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// What every request carries besides its prompt: the context and how long the model stays
/// loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOptions {
    /// `options.num_ctx`: always sent, so Ollama's small default window never applies.
    pub num_ctx: usize,
    /// `keep_alive` (e.g. `"30m"`); `None` leaves the server's default.
    pub keep_alive: Option<String>,
}

/// The body of a streaming `/api/chat` request. `truncate: false` asks a recent Ollama to
/// refuse a prompt longer than `num_ctx` instead of silently dropping its front.
pub fn chat_body(model: &str, request: &GenerationRequest, opts: &RequestOptions) -> Value {
    let mut body = json!({
        "model": model,
        "messages": request.messages,
        "stream": true,
        "truncate": false,
        "options": options(request.max_tokens, &request.sampling, &request.stop, opts.num_ctx),
    });
    if let Some(keep) = &opts.keep_alive {
        body["keep_alive"] = json!(keep);
    }
    body
}

/// The body of a streaming raw `/api/generate` request (`raw: true`: no template).
pub fn generate_body(model: &str, request: &CompletionRequest, opts: &RequestOptions) -> Value {
    let mut body = json!({
        "model": model,
        "prompt": request.prompt,
        "raw": true,
        "stream": true,
        "options": options(request.max_tokens, &request.sampling, &request.stop, opts.num_ctx),
    });
    if let Some(keep) = &opts.keep_alive {
        body["keep_alive"] = json!(keep);
    }
    body
}

/// The `options` object: Ollama's names for the sampling settings.
fn options(max_tokens: u32, sampling: &Sampling, stop: &[String], num_ctx: usize) -> Value {
    let mut options = json!({
        "num_ctx": num_ctx,
        "num_predict": max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
    });
    let extra = [
        ("seed", sampling.seed.map(|s| json!(s))),
        ("top_k", sampling.top_k.map(|k| json!(k))),
        ("min_p", sampling.min_p.map(|p| json!(p))),
        (
            "repeat_penalty",
            sampling.repetition_penalty.map(|p| json!(p)),
        ),
        (
            "frequency_penalty",
            sampling.frequency_penalty.map(|p| json!(p)),
        ),
        (
            "presence_penalty",
            sampling.presence_penalty.map(|p| json!(p)),
        ),
        ("repeat_last_n", sampling.repeat_last_n.map(|n| json!(n))),
    ];
    for (key, value) in extra {
        if let Some(value) = value {
            options[key] = value;
        }
    }
    if !stop.is_empty() {
        options["stop"] = json!(stop);
    }
    options
}

#[derive(Deserialize)]
struct Tags {
    models: Vec<TagEntry>,
}

#[derive(Deserialize)]
struct TagEntry {
    /// In every version.
    #[serde(default)]
    name: Option<String>,
    /// Newer versions add it, with the same value.
    #[serde(default)]
    model: Option<String>,
}

/// The model names of an `/api/tags` answer, in its order.
pub fn parse_tags(body: &str) -> Result<Vec<String>, serde_json::Error> {
    let tags: Tags = serde_json::from_str(body)?;
    Ok(tags
        .models
        .into_iter()
        .filter_map(|m| m.name.or(m.model))
        .collect())
}

/// Whether `wanted` is among `available`, where Ollama's implicit `:latest` tag counts.
pub fn has_model(available: &[String], wanted: &str) -> bool {
    let full = |name: &str| {
        if name.contains(':') {
            name.to_string()
        } else {
            format!("{name}:latest")
        }
    };
    available.iter().any(|m| full(m) == full(wanted))
}

/// The model's trained context from an `/api/show` answer: `model_info["<arch>.context_length"]`
/// with `<arch>` from `general.architecture` (or any `*.context_length` key).
pub fn show_context_length(body: &str) -> Option<usize> {
    let value: Value = serde_json::from_str(body).ok()?;
    let info = value.get("model_info")?.as_object()?;
    let by_arch = info
        .get("general.architecture")
        .and_then(Value::as_str)
        .and_then(|arch| info.get(&format!("{arch}.context_length")));
    by_arch
        .or_else(|| {
            info.iter()
                .find(|(k, _)| k.ends_with(".context_length"))
                .map(|(_, v)| v)
        })
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .map(|n| n as usize)
}

/// The message of an Ollama error body (`{"error": "..."}`), or the start of the body.
pub fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    if let Some(error) = parsed.as_ref().and_then(|v| v.get("error")) {
        return match error.as_str() {
            Some(s) => s.to_string(),
            None => error
                .get("message")
                .and_then(Value::as_str)
                .map_or_else(|| error.to_string(), str::to_string),
        };
    }
    let short: String = body.trim().chars().take(200).collect();
    if short.is_empty() {
        "(empty body)".into()
    } else {
        short
    }
}

/// Splits a byte stream into lines, holding at most `max` bytes of an unfinished line.
#[derive(Debug)]
pub struct LineBuffer {
    pending: Vec<u8>,
    max: usize,
}

impl LineBuffer {
    /// A buffer that refuses a line longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            pending: Vec::new(),
            max,
        }
    }

    /// Adds `bytes` and returns the lines they complete (without the newline; blank lines
    /// dropped). A line over the limit, or one that is not UTF-8, is an error.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, BackendError> {
        let mut lines = Vec::new();
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            self.pending.extend_from_slice(piece);
            if self.pending.len() > self.max + 1 {
                return Err(BackendError::Malformed(format!(
                    "a line of the stream is longer than {} bytes; is this an Ollama server?",
                    self.max
                )));
            }
            if piece.ends_with(b"\n") {
                let line = std::mem::take(&mut self.pending);
                if let Some(line) = Self::text(line)? {
                    lines.push(line);
                }
            }
        }
        Ok(lines)
    }

    /// The unfinished last line, once the stream has ended.
    pub fn finish(&mut self) -> Result<Option<String>, BackendError> {
        Self::text(std::mem::take(&mut self.pending))
    }

    fn text(line: Vec<u8>) -> Result<Option<String>, BackendError> {
        let line = String::from_utf8(line)
            .map_err(|e| BackendError::Malformed(format!("a line is not UTF-8: {e}")))?;
        let line = line.trim();
        Ok((!line.is_empty()).then(|| line.to_string()))
    }
}

#[derive(Deserialize, Default)]
struct WireLine {
    #[serde(default)]
    message: Option<WireMessage>,
    /// `/api/generate` puts the text here.
    #[serde(default)]
    response: Option<String>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    content: String,
}

/// What one NDJSON line amounts to.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// Generated text (possibly empty).
    Delta(String),
    /// The last line: the finish, the text it still carried, and the prompt tokens the server
    /// evaluated.
    Done {
        /// Text on the last line (usually empty).
        text: String,
        /// The end, with the counts.
        chunk: StreamChunk,
        /// `prompt_eval_count`, when sent.
        prompt_eval_count: Option<u64>,
    },
}

/// Decodes one line of an `/api/chat` or `/api/generate` stream. `done_reason` `stop` and
/// `length` finish; `load`, `unload`, an empty or a missing one mean the model did not
/// generate this section, which is a broken stream (retried), not a finish.
pub fn decode_line(line: &str) -> Result<Decoded, BackendError> {
    let wire: WireLine = serde_json::from_str(line).map_err(|e| {
        let short: String = line.chars().take(120).collect();
        BackendError::Malformed(format!("{e} in {short:?}"))
    })?;
    if let Some(error) = wire.error {
        let message = error_message(&json!({ "error": error }).to_string());
        return Err(BackendError::InStream(message));
    }
    let text = wire
        .message
        .map(|m| m.content)
        .or(wire.response)
        .unwrap_or_default();
    if !wire.done {
        return Ok(Decoded::Delta(text));
    }
    let finish_reason = match wire.done_reason.as_deref() {
        Some("stop") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        other => {
            return Err(BackendError::Broken(format!(
                "Ollama ended the stream with done_reason {} before the text was finished \
                 (the model was loaded or unloaded instead of generating)",
                other.map_or_else(|| "missing".to_string(), |r| format!("{r:?}"))
            )))
        }
    };
    let usage = match (wire.prompt_eval_count, wire.eval_count) {
        (None, None) => None,
        (p, e) => Some(Usage {
            prompt_tokens: p.unwrap_or(0),
            completion_tokens: e.unwrap_or(0),
        }),
    };
    Ok(Decoded::Done {
        text,
        chunk: StreamChunk::Done {
            finish_reason,
            usage,
        },
        prompt_eval_count: wire.prompt_eval_count,
    })
}

/// A rough token count of `messages` (four characters a token, plus the template's role
/// markers), for the truncation check when the server cannot count.
pub fn estimate_tokens(messages: &[ChatMessage]) -> usize {
    messages
        .iter()
        .map(|m| m.content.chars().count().div_ceil(4) + 8)
        .sum()
}

/// Whether a server that evaluated `evaluated` prompt tokens in a window of `num_ctx`
/// evidently dropped part of a prompt we measured at `sent`: it saw less than half of it,
/// and no more than its window (Ollama cuts a long prompt down to `num_ctx`).
pub fn evidently_truncated(sent: usize, evaluated: u64, num_ctx: usize) -> bool {
    let evaluated = evaluated as usize;
    evaluated > 0 && evaluated <= num_ctx && evaluated * 2 < sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_body_carries_the_context_and_every_sampling_option() {
        let request = GenerationRequest {
            messages: vec![ChatMessage::user("hi")],
            max_tokens: 300,
            sampling: Sampling {
                seed: Some(7),
                top_k: Some(40),
                repetition_penalty: Some(1.1),
                ..Sampling::default()
            },
            stop: vec!["END".into()],
        };
        let opts = RequestOptions {
            num_ctx: 8192,
            keep_alive: Some("30m".into()),
        };
        let body = chat_body("gemma3:270m", &request, &opts);
        let o = &body["options"];
        assert_eq!(o["num_ctx"], 8192);
        assert_eq!(o["num_predict"], 300);
        assert_eq!(
            (o["seed"].clone(), o["top_k"].clone()),
            (json!(7), json!(40))
        );
        assert!((o["repeat_penalty"].as_f64().unwrap() - 1.1).abs() < 1e-6);
        assert_eq!(o["stop"], json!(["END"]));
        assert!(o.get("min_p").is_none());
        assert_eq!(body["keep_alive"], "30m");
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(
            (body["stream"].clone(), body["truncate"].clone()),
            (json!(true), json!(false))
        );
    }

    #[test]
    fn tags_show_and_errors() {
        let tags = r#"{"models":[{"name":"gemma3:270m","model":"gemma3:270m","size":1},{"name":"llama3:latest"}]}"#;
        let names = parse_tags(tags).unwrap();
        assert_eq!(names, vec!["gemma3:270m", "llama3:latest"]);
        assert!(has_model(&names, "llama3") && has_model(&names, "gemma3:270m"));
        assert!(!has_model(&names, "gemma3"));
        let show = r#"{"model_info":{"general.architecture":"gemma3","gemma3.context_length":32768,"llama.context_length":1}}"#;
        assert_eq!(show_context_length(show), Some(32768));
        assert_eq!(
            show_context_length(r#"{"model_info":{"x.context_length":2048}}"#),
            Some(2048)
        );
        assert_eq!(show_context_length(r#"{"details":{}}"#), None);
        assert_eq!(
            error_message(r#"{"error":"model 'x' not found"}"#),
            "model 'x' not found"
        );
        assert_eq!(error_message("<html>"), "<html>");
    }

    #[test]
    fn line_buffer_joins_split_lines_and_bounds_them() {
        let mut lines = LineBuffer::new(16);
        assert!(lines.push(b"{\"a\":").unwrap().is_empty());
        assert_eq!(lines.push(b"1}\n\n{\"b\"").unwrap(), vec!["{\"a\":1}"]);
        assert_eq!(lines.finish().unwrap().as_deref(), Some("{\"b\""));
        let mut lines = LineBuffer::new(16);
        assert!(lines.push("é".as_bytes().split_at(1).0).unwrap().is_empty());
        assert!(matches!(
            lines.push(&[b'x'; 40]),
            Err(BackendError::Malformed(m)) if m.contains("longer than 16")
        ));
    }

    #[test]
    fn lines_decode_by_done_reason() {
        let delta = r#"{"model":"m","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant","content":"Hi"},"done":false}"#;
        assert_eq!(decode_line(delta).unwrap(), Decoded::Delta("Hi".into()));
        let gen = r#"{"model":"m","response":" there","done":false}"#;
        assert_eq!(decode_line(gen).unwrap(), Decoded::Delta(" there".into()));
        let done = r#"{"message":{"role":"assistant","content":""},"done":true,"done_reason":"length","prompt_eval_count":26,"eval_count":290,"eval_duration":4709213000}"#;
        let Decoded::Done {
            chunk,
            prompt_eval_count,
            ..
        } = decode_line(done).unwrap()
        else {
            panic!("expected the end");
        };
        assert_eq!(prompt_eval_count, Some(26));
        assert!(
            matches!(chunk, StreamChunk::Done { finish_reason: FinishReason::Length, usage: Some(u) } if u.completion_tokens == 290)
        );
        for line in [
            r#"{"message":{"content":""},"done":true,"done_reason":"load"}"#,
            r#"{"response":"","done":true,"done_reason":"unload"}"#,
            r#"{"message":{"content":""},"done":true}"#,
        ] {
            assert!(
                matches!(decode_line(line), Err(BackendError::Broken(_))),
                "{line}"
            );
        }
        let error = decode_line(r#"{"error":"an error was encountered while running the model"}"#);
        assert!(matches!(error, Err(BackendError::InStream(m)) if m.contains("running the model")));
        assert!(matches!(
            decode_line("{nope"),
            Err(BackendError::Malformed(_))
        ));
    }

    #[test]
    fn truncation_is_evident_only_when_much_less_was_read() {
        assert!(evidently_truncated(9000, 2048, 2048));
        assert!(!evidently_truncated(1000, 900, 2048));
        assert!(!evidently_truncated(9000, 0, 2048));
        assert!(!evidently_truncated(9000, 8000, 8192));
    }
}
