//! The reply encoder: OpenAI-shaped JSON for streamed chunks (as SSE `data:` events) and for
//! whole replies. Pure: it only formats; `routes.rs` drives it from the backend's stream.
//!
//! A chat stream is a role chunk, content deltas, a chunk carrying `finish_reason`, a usage chunk
//! with empty `choices` when the client asked for it, then `data: [DONE]`. A completion stream
//! is the same without the role chunk, with `text` in place of `delta`.

use super::request::Endpoint;
use crate::backend::{FinishReason, Usage};
use serde_json::{json, Value};

/// Formats the chunks and replies of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoder {
    /// Which API shape to speak.
    pub endpoint: Endpoint,
    /// The reply id, the same in every chunk of a stream.
    pub id: String,
    /// Unix seconds when the request started.
    pub created: u64,
    /// The served model id.
    pub model: String,
}

/// The event that ends every successful stream.
pub const DONE: &str = "data: [DONE]\n\n";

/// One SSE `data:` event holding `value`.
pub fn event(value: &Value) -> String {
    format!("data: {value}\n\n")
}

/// The wire name of a finish reason.
pub fn finish_reason(reason: &FinishReason) -> &str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::Other(other) => other,
    }
}

impl Encoder {
    fn object(&self, streamed: bool) -> &'static str {
        match (self.endpoint, streamed) {
            (Endpoint::Chat, true) => "chat.completion.chunk",
            (Endpoint::Chat, false) => "chat.completion",
            (Endpoint::Completion, _) => "text_completion",
        }
    }

    fn chunk(&self, choices: Value) -> String {
        event(&json!({
            "id": self.id,
            "object": self.object(true),
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }))
    }

    fn choice(&self, text: Option<&str>, finish: Option<&str>) -> Value {
        match self.endpoint {
            Endpoint::Chat => {
                let delta = match text {
                    Some(t) => json!({"content": t}),
                    None => json!({}),
                };
                json!({"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish})
            }
            Endpoint::Completion => json!({
                "index": 0, "text": text.unwrap_or(""), "logprobs": null, "finish_reason": finish
            }),
        }
    }

    /// The first event of a stream: the assistant role for chat, nothing for completions.
    pub fn start(&self) -> Option<String> {
        match self.endpoint {
            Endpoint::Chat => Some(self.chunk(json!([{
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": null,
                "finish_reason": null
            }]))),
            Endpoint::Completion => None,
        }
    }

    /// An event carrying generated text.
    pub fn delta(&self, text: &str) -> String {
        self.chunk(json!([self.choice(Some(text), None)]))
    }

    /// The event that says why generation ended.
    pub fn finish(&self, reason: &FinishReason) -> String {
        self.chunk(json!([self.choice(None, Some(finish_reason(reason)))]))
    }

    /// The usage event: empty `choices`, token counts.
    pub fn usage(&self, usage: Usage) -> String {
        event(&json!({
            "id": self.id,
            "object": self.object(true),
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage_value(usage),
        }))
    }

    /// A whole, non-streamed reply.
    pub fn full(&self, text: &str, reason: &FinishReason, usage: Usage) -> Value {
        let reason = finish_reason(reason);
        let choice = match self.endpoint {
            Endpoint::Chat => json!({
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": null,
                "finish_reason": reason,
            }),
            Endpoint::Completion => {
                json!({"index": 0, "text": text, "logprobs": null, "finish_reason": reason})
            }
        };
        json!({
            "id": self.id,
            "object": self.object(false),
            "created": self.created,
            "model": self.model,
            "choices": [choice],
            "usage": usage_value(usage),
        })
    }
}

fn usage_value(usage: Usage) -> Value {
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoder(endpoint: Endpoint) -> Encoder {
        Encoder {
            endpoint,
            id: "chatcmpl-1".into(),
            created: 7,
            model: "m".into(),
        }
    }

    fn parse(event: &str) -> Value {
        let body = event
            .strip_prefix("data: ")
            .and_then(|e| e.strip_suffix("\n\n"))
            .expect("an SSE data event");
        serde_json::from_str(body).expect("JSON")
    }

    #[test]
    fn a_chat_stream_has_role_deltas_finish_and_usage() {
        let e = encoder(Endpoint::Chat);
        let role = parse(&e.start().unwrap());
        assert_eq!(role["object"], "chat.completion.chunk");
        assert_eq!(role["choices"][0]["delta"]["role"], "assistant");
        let delta = parse(&e.delta("Hé \"x\"\n"));
        assert_eq!(delta["choices"][0]["delta"]["content"], "Hé \"x\"\n");
        assert!(delta["choices"][0]["finish_reason"].is_null());
        let fin = parse(&e.finish(&FinishReason::Length));
        assert_eq!(fin["choices"][0]["finish_reason"], "length");
        assert_eq!(fin["choices"][0]["delta"], json!({}));
        let usage = parse(&e.usage(Usage {
            prompt_tokens: 3,
            completion_tokens: 4,
        }));
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(usage["usage"]["total_tokens"], 7);
        assert_eq!(DONE, "data: [DONE]\n\n");
    }

    #[test]
    fn a_completion_stream_carries_text() {
        let e = encoder(Endpoint::Completion);
        assert!(e.start().is_none());
        let delta = parse(&e.delta("abc"));
        assert_eq!(delta["object"], "text_completion");
        assert_eq!(delta["choices"][0]["text"], "abc");
        let reason = FinishReason::Other("abort".into());
        assert_eq!(
            parse(&e.finish(&reason))["choices"][0]["finish_reason"],
            "abort"
        );
    }

    #[test]
    fn whole_replies_have_message_and_usage() {
        let usage = Usage {
            prompt_tokens: 1,
            completion_tokens: 2,
        };
        let chat = encoder(Endpoint::Chat).full("hi", &FinishReason::Stop, usage);
        assert_eq!(chat["object"], "chat.completion");
        assert_eq!(chat["choices"][0]["message"]["content"], "hi");
        assert_eq!(chat["usage"]["completion_tokens"], 2);
        let text = encoder(Endpoint::Completion).full("hi", &FinishReason::Stop, usage);
        assert_eq!(text["choices"][0]["text"], "hi");
    }
}
