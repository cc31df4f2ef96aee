//! The `Backend` trait: one generation request in, a stream of text chunks out.
//!
//! The writer sees only this trait; `cli` builds the concrete implementations (`openai`,
//! `ollama`). A request carries the whole conversation, so a server with prefix caching can
//! reuse the KV cache of the previous request. Dropping the returned stream cancels the request.

pub mod fallback;
pub mod fleet;
mod kind;
pub mod ollama;
pub mod openai;
mod retry;
mod sampling;
mod window;

pub use kind::ApiKind;
pub use retry::RetryPolicy;
pub use sampling::{
    FrequencyPenalty, MinP, PresencePenalty, RepetitionPenalty, SamplingValueError, Temperature,
    TopK, TopP,
};
pub use window::{ContextWindow, Overflow};

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

/// Who speaks a message in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that frame the whole conversation.
    System,
    /// The writer's side: the instruction, the plan, each step.
    User,
    /// The model's side: the text it generated.
    Assistant,
}

/// One message of a chat conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl ChatMessage {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Sampling settings shared by every request of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Softmax temperature; 0 means greedy where the server supports it.
    pub temperature: f32,
    /// Nucleus sampling mass.
    pub top_p: f32,
    /// Seed for reproducible sampling, where the server honours it.
    pub seed: Option<u64>,
    /// Keep only the k most likely tokens; `None` leaves the server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Drop tokens below this fraction of the most likely token's probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f32>,
    /// Multiplicative penalty on tokens already generated (llama.cpp, vLLM, Ollama; 1 is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f32>,
    /// Additive penalty growing with a token's count so far (OpenAI semantics; 0 is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f32>,
    /// Additive penalty on any token already present (OpenAI semantics; 0 is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f32>,
    /// How many recent tokens the penalties look at (llama.cpp's and Ollama's
    /// `repeat_last_n`; the engine's); `None` leaves the server's default (64 in llama.cpp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_last_n: Option<u32>,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            temperature: 0.7,
            top_p: 0.9,
            seed: None,
            top_k: None,
            min_p: None,
            repetition_penalty: None,
            frequency_penalty: None,
            presence_penalty: None,
            repeat_last_n: None,
        }
    }
}

/// How the writer speaks to the model: chat turns (instruct models) or a document to continue
/// (base models; see `writer`'s completion mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PromptMode {
    /// Chat requests with step instructions (`/v1/chat/completions`).
    Chat,
    /// Raw completions of a document-shaped prompt (`/v1/completions`, or the engine directly).
    Completion,
}

/// One generation request.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationRequest {
    /// The whole conversation so far; the model answers its last user turn.
    pub messages: Vec<ChatMessage>,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
    /// Sampling settings.
    pub sampling: Sampling,
    /// Strings that end generation.
    pub stop: Vec<String>,
}

/// One raw completion request: a prompt continued as it is, with no chat template (the
/// `/v1/completions` endpoint of `longwriter serve`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompletionRequest {
    /// The text to continue.
    pub prompt: String,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
    /// Sampling settings.
    pub sampling: Sampling,
    /// Strings that end generation.
    pub stop: Vec<String>,
    /// The text is prose: tokens that start a Markdown heading (`#`) or an escape (`\`, as in
    /// `\"` for a quote) are banned where the backend can ban tokens (the engine: every token
    /// containing either; llama.cpp's server: `logit_bias` on `#` to `####`, `\` and `\"`).
    /// Elsewhere the stop strings end the text at a heading.
    pub prose_only: bool,
}

impl CompletionRequest {
    /// The prompt as a one-message conversation, for backends that only speak chat.
    pub fn into_chat(self) -> GenerationRequest {
        GenerationRequest {
            messages: vec![ChatMessage::user(self.prompt)],
            max_tokens: self.max_tokens,
            sampling: self.sampling,
            stop: self.stop,
        }
    }
}

/// Why a generation ended, as the server said it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended on its own or hit a stop string.
    Stop,
    /// `max_tokens` was reached.
    Length,
    /// Anything else a server reports (vLLM's `abort` or `repetition`, for example).
    Other(String),
}

impl FinishReason {
    /// Reads a server's finish reason string.
    pub fn parse(reason: &str) -> Self {
        match reason {
            "stop" | "eos" | "end_turn" => Self::Stop,
            "length" | "max_tokens" => Self::Length,
            other => Self::Other(other.to_string()),
        }
    }
}

/// Token counts reported by the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
}

/// One item of a generation stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamChunk {
    /// Generated text, always whole characters.
    Delta(String),
    /// The end of the generation.
    Done {
        /// Why it ended.
        finish_reason: FinishReason,
        /// Token counts, when the server sent them.
        usage: Option<Usage>,
    },
}

/// The stream of one generation; dropping it cancels the request.
pub type ChunkStream = BoxStream<'static, Result<StreamChunk, BackendError>>;

/// What the user sees about the backend that is serving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// Kind of backend, e.g. "openai".
    pub kind: String,
    /// The model in use.
    pub model: String,
    /// Where it is reached.
    pub endpoint: String,
}

/// A source of generated text.
pub trait Backend: Send + Sync {
    /// What is serving, for the progress display and the output.
    fn info(&self) -> BackendInfo;

    /// Starts one generation. Errors before the first chunk come back here; errors during the
    /// stream come back as stream items.
    fn stream(
        &self,
        request: GenerationRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>>;

    /// Starts one raw completion of `request.prompt`. The default sends the prompt as one user
    /// message (so the model's chat template applies), for backends that only speak chat; the
    /// built-in engine continues the text itself.
    fn complete(
        &self,
        request: CompletionRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        self.stream(request.into_chat())
    }

    /// Whether the model continues text rather than answering a chat: the engine on a GGUF
    /// without `tokenizer.chat_template`, or with `--chat-template none`. The writer then uses
    /// completion mode unless `--mode` or `[backend] mode` says otherwise.
    fn base_model(&self) -> bool {
        false
    }

    /// The context window the backend learned when it started or connected (the engine's
    /// context, llama.cpp's `n_ctx` per slot, vLLM's `max_model_len`); `None` when it could
    /// not tell, and the writer falls back to the configured or a conservative window.
    fn context_window(&self) -> Option<ContextWindow> {
        None
    }

    /// The exact prompt tokens of `messages` as this backend will see them, where it can count
    /// them (the engine's tokenizer, llama.cpp's `/tokenize`); `None` means "estimate".
    fn count_tokens<'a>(&'a self, messages: &'a [ChatMessage]) -> BoxFuture<'a, Option<usize>> {
        let _ = messages;
        Box::pin(async { None })
    }

    /// Who writes right now, for messages and the project's record: the kind, model and
    /// endpoint; a fallback chain names the profile too.
    fn serving(&self) -> String {
        let info = self.info();
        format!("{} {} at {}", info.kind, info.model, info.endpoint)
    }
}

/// Whether a status and message say the account's quota is used up (OpenAI's
/// `insufficient_quota`), which no retry mends.
fn is_quota(status: u16, message: &str) -> bool {
    status == 429 && message.contains("insufficient_quota")
}

/// What a permanent status means for the user, after the server's message.
fn status_hint(status: u16, message: &str) -> &'static str {
    match status {
        _ if is_quota(status, message) => {
            " (permanent: the account's quota is used up; add credit or use another profile)"
        }
        400 => " (permanent: the server refused the request; it is not retried)",
        401 | 403 => " (permanent: check the API key and the variable --api-key-env names)",
        404 => " (permanent: check the URL and the model)",
        _ => "",
    }
}

/// Everything that can go wrong talking to a backend.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    /// No connection could be made.
    #[error("cannot reach the server at {url}: {reason}. Is it running? Point --base-url at it (e.g. http://127.0.0.1:8000/v1)")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// The transport's words.
        reason: String,
    },
    /// The server answered with an HTTP error status.
    #[error("server answered HTTP {status}: {message}{}", status_hint(*status, message))]
    Status {
        /// HTTP status code.
        status: u16,
        /// The server's message.
        message: String,
        /// Seconds the server asked us to wait (`Retry-After`), if it said.
        retry_after: Option<u64>,
    },
    /// The server answered something that is not the OpenAI API.
    #[error("the server at {url} did not answer with JSON (it sent {excerpt:?}); is --base-url the API root, e.g. http://127.0.0.1:8000/v1?")]
    NotAnApi {
        /// The URL asked.
        url: String,
        /// The start of what came back.
        excerpt: String,
    },
    /// The requested model is not served.
    #[error("model {model:?} is not served at {url}; available: {}. Pass one with --model", available.join(", "))]
    UnknownModel {
        /// What was asked for.
        model: String,
        /// Where.
        url: String,
        /// What the server lists.
        available: Vec<String>,
    },
    /// The server serves no model at all.
    #[error("the server at {url} lists no models; pass one with --model")]
    NoModels {
        /// Where.
        url: String,
    },
    /// The server reported an error inside the stream.
    #[error("server reported an error mid-stream: {0}")]
    InStream(String),
    /// The stream ended or broke before the server said it was done.
    #[error("the stream broke: {0}")]
    Broken(String),
    /// A chunk could not be read.
    #[error("malformed chunk from the server: {0}")]
    Malformed(String),
    /// The request itself is wrong (our side).
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl BackendError {
    /// The wait the server asked for before trying again, if any.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Status {
                retry_after: Some(secs),
                ..
            } => Some(std::time::Duration::from_secs(*secs)),
            _ => None,
        }
    }

    /// Whether trying again may succeed: connection failures, 408/429/5xx, broken streams; a
    /// 429 for a used-up quota (`insufficient_quota`) is permanent.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Broken(_) | Self::Malformed(_) | Self::InStream(_) => {
                true
            }
            Self::Status {
                status, message, ..
            } => matches!(status, 408 | 409 | 425 | 429 | 500..=599) && !is_quota(*status, message),
            Self::NotAnApi { .. }
            | Self::UnknownModel { .. }
            | Self::NoModels { .. }
            | Self::Invalid(_) => false,
        }
    }
}
