//! `LocalBackend`: the `Backend` trait over the engine thread. It renders the conversation
//! with the chat template (or, for a raw completion, takes the prompt text as it is), submits a
//! job and turns the worker's events into stream chunks. Dropping the stream drops the reply
//! channel, which cancels the job at the next token.

use super::chat::{ChatError, ChatTemplate};
use super::sampler::SamplingParams;
use super::worker::{EngineError, EngineSettings, Event, Finish, Job, Worker};
use crate::backend::{
    Backend, BackendError, BackendInfo, ChatMessage, ChunkStream, CompletionRequest, ContextWindow,
    FinishReason, GenerationRequest, Sampling, StreamChunk, Usage,
};
use futures::future::BoxFuture;
use futures::StreamExt;

/// Everything that can go wrong building the local backend.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The engine did not start.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The chat template override is unknown.
    #[error(transparent)]
    Chat(#[from] ChatError),
}

/// The built-in engine as a backend.
pub struct LocalBackend {
    worker: Worker,
    template: ChatTemplate,
    info: BackendInfo,
    /// The model's tokenizer, shared with the counting threads.
    tokenizer: std::sync::Arc<super::tokenizer::Tokenizer>,
    /// Whether the context was asked for (`--context`) or is the default, for messages.
    window_source: &'static str,
    /// A base model: the file has no chat template, or `--chat-template none` said so.
    base: bool,
    /// The tokens with a `#` or a `\`, banned in a completion that is prose only; listed from
    /// the vocabulary when first needed.
    markup_tokens: std::sync::OnceLock<Vec<u32>>,
}

/// The `--chat-template` value that marks the model as a base model (completion mode).
pub const NO_TEMPLATE: &str = "none";

impl LocalBackend {
    /// Checks the model file and the template name as `start` would, without loading the
    /// weights (see `Worker::check`).
    pub fn check(settings: &EngineSettings, template: Option<&str>) -> Result<(), LocalError> {
        Worker::check(settings)?;
        if let Some(name) = template.filter(|n| *n != NO_TEMPLATE) {
            ChatTemplate::by_name(name)?;
        }
        Ok(())
    }

    /// Loads the model (blocking: call it off the async runtime) and picks the chat template:
    /// `template` by name, else the file's own, else the family's. A file without its own
    /// template, or `template` "none", makes a base model: the writer continues documents
    /// (`complete`), and chat requests (`serve`) still get the family's template.
    pub fn start(settings: EngineSettings, template: Option<&str>) -> Result<Self, LocalError> {
        let path = settings.model_path.clone();
        let window_source = match settings.context {
            Some(_) => "--context",
            None => "the model's trained context within the engine's memory budget",
        };
        let worker = Worker::start(settings)?;
        let own = worker.gguf().get_str("tokenizer.chat_template").is_some();
        let (template, base) = match template {
            Some(NO_TEMPLATE) => (ChatTemplate::from_gguf(worker.gguf()), true),
            Some(name) => (ChatTemplate::by_name(name)?, false),
            None => (ChatTemplate::from_gguf(worker.gguf()), !own),
        };
        let model = worker
            .gguf()
            .get_str("general.name")
            .map(str::to_string)
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "local".into());
        let tokenizer = std::sync::Arc::new(worker.tokenizer().clone());
        Ok(Self {
            tokenizer,
            worker,
            template,
            info: BackendInfo {
                kind: "local".into(),
                model,
                endpoint: path.display().to_string(),
            },
            window_source,
            base,
            markup_tokens: std::sync::OnceLock::new(),
        })
    }

    /// The job for a conversation: its text through the chat template.
    fn chat_job(&self, request: &GenerationRequest) -> Result<Job, BackendError> {
        let prompt = self
            .template
            .render(&request.messages)
            .map_err(|e| BackendError::Invalid(e.to_string()))?;
        Ok(job(
            prompt,
            request.max_tokens,
            &request.sampling,
            &request.stop,
        ))
    }

    /// The vocabulary's tokens whose text has a `#` (a Markdown heading starts with one) or a
    /// `\` (a base model penalized for repeating `"` writes `\"` instead).
    fn markup_tokens(&self) -> &[u32] {
        self.markup_tokens.get_or_init(|| {
            (0..self.tokenizer.vocab_size() as u32)
                .filter(|&id| {
                    self.tokenizer
                        .token_text(id)
                        .is_some_and(|t| t.contains(['#', '\\']))
                })
                .collect()
        })
    }

    /// Submits `job` and streams its events as chunks.
    fn run(&self, job: Job) -> Result<ChunkStream, BackendError> {
        let rx = self
            .worker
            .submit(job)
            .map_err(|e| BackendError::Broken(e.to_string()))?;
        let events =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
        Ok(events.map(chunk).boxed())
    }
}

/// A job for `prompt` as the worker sees it: the text tokenized with special tokens parsed and
/// a BOS token added when the model asks for one (and the text does not start with it), as
/// llama.cpp's `/completion` does.
fn job(prompt: String, max_tokens: u32, sampling: &Sampling, stop: &[String]) -> Job {
    Job {
        prompt,
        max_tokens: max_tokens as usize,
        sampling: sampling_params(sampling),
        stop: stop.to_vec(),
    }
}

/// The engine's sampler settings for `sampling`: what the request leaves out keeps the
/// engine's defaults (top-k 40, min-p 0.05, repetition penalty 1.1, no frequency or presence
/// penalty).
fn sampling_params(sampling: &Sampling) -> SamplingParams {
    let d = SamplingParams::default();
    SamplingParams {
        temperature: sampling.temperature,
        top_p: sampling.top_p,
        seed: sampling.seed.unwrap_or(0x5eed),
        top_k: sampling.top_k.map_or(d.top_k, |k| k as usize),
        min_p: sampling.min_p.unwrap_or(d.min_p),
        repeat_penalty: sampling.repetition_penalty.unwrap_or(d.repeat_penalty),
        frequency_penalty: sampling.frequency_penalty.unwrap_or(d.frequency_penalty),
        presence_penalty: sampling.presence_penalty.unwrap_or(d.presence_penalty),
        repeat_last_n: sampling
            .repeat_last_n
            .map_or(d.repeat_last_n, |n| n as usize),
        ..d
    }
}

fn chunk(event: Event) -> Result<StreamChunk, BackendError> {
    match event {
        Event::Text(text) => Ok(StreamChunk::Delta(text)),
        Event::Done(finish, counts) => Ok(StreamChunk::Done {
            finish_reason: match finish {
                Finish::Stop => FinishReason::Stop,
                Finish::Length => FinishReason::Length,
            },
            usage: Some(Usage {
                prompt_tokens: counts.prompt_tokens as u64,
                completion_tokens: counts.completion_tokens as u64,
            }),
        }),
        Event::Refused(e) => Err(BackendError::Invalid(e)),
        Event::Error(e) => Err(BackendError::Broken(format!("the engine failed: {e}"))),
    }
}

impl Backend for LocalBackend {
    fn info(&self) -> BackendInfo {
        self.info.clone()
    }

    fn stream(
        &self,
        request: GenerationRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        Box::pin(async move { self.run(self.chat_job(&request)?) })
    }

    fn base_model(&self) -> bool {
        self.base
    }

    fn context_window(&self) -> Option<ContextWindow> {
        Some(ContextWindow::new(
            self.worker.context(),
            self.window_source,
        ))
    }

    /// Exact: the conversation through the chat template and the model's tokenizer, as the
    /// worker will see it, on a blocking thread (a long prompt takes milliseconds).
    fn count_tokens<'a>(&'a self, messages: &'a [ChatMessage]) -> BoxFuture<'a, Option<usize>> {
        Box::pin(async move {
            let prompt = self.template.render(messages).ok()?;
            let tokenizer = self.tokenizer.clone();
            let count = tokio::task::spawn_blocking(move || {
                let bos = tokenizer
                    .bos_id()
                    .and_then(|id| tokenizer.token_text(id))
                    .is_none_or(|b| !prompt.starts_with(b));
                tokenizer.encode_with(&prompt, bos, true).len()
            });
            count.await.ok()
        })
    }

    /// The prompt text as it is: no chat template, and no repetition penalty (the OpenAI API
    /// has none, and llama.cpp's `/completion` applies none by default), so greedy output can be
    /// compared with llama.cpp's.
    fn complete(
        &self,
        request: CompletionRequest,
    ) -> BoxFuture<'_, Result<ChunkStream, BackendError>> {
        let CompletionRequest {
            prompt,
            max_tokens,
            sampling,
            stop,
            prose_only,
        } = request;
        let mut job = job(prompt, max_tokens, &sampling, &stop);
        if sampling.repetition_penalty.is_none() {
            job.sampling.repeat_penalty = 1.0;
        }
        if prose_only {
            job.sampling.banned = self.markup_tokens().to_vec();
        }
        Box::pin(async move { self.run(job) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requests_sampling_controls_reach_the_engine() {
        let d = SamplingParams::default();
        let plain = sampling_params(&Sampling::default());
        assert_eq!(
            (plain.top_k, plain.min_p, plain.repeat_penalty),
            (d.top_k, d.min_p, d.repeat_penalty)
        );
        let set = sampling_params(&Sampling {
            top_k: Some(7),
            min_p: Some(0.2),
            repetition_penalty: Some(1.3),
            frequency_penalty: Some(0.5),
            presence_penalty: Some(-0.25),
            seed: Some(9),
            ..Sampling::default()
        });
        assert_eq!((set.top_k, set.min_p, set.repeat_penalty), (7, 0.2, 1.3));
        assert_eq!(
            (set.frequency_penalty, set.presence_penalty, set.seed),
            (0.5, -0.25, 9)
        );
    }
}
