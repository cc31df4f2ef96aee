//! The thread that owns the model. `Worker::start` spawns it; it loads the GGUF and reports
//! readiness or the load error once; then requests arrive on a channel, each with its own
//! reply channel. It keeps the KV cache of the last sequence, including the tokens it
//! generated, and computes only what follows the longest common prefix of the next prompt.
//! A request whose reply channel is dropped is cancelled at the next token.

use super::device::{DeviceChoice, DeviceError};
use super::gguf::GgufFile;
use super::models::{self, Model, ModelError};
use super::sampler::{Sampler, SamplingParams};
use super::tokenizer::{TokenOutputStream, Tokenizer, TokenizerError};
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use tokio::sync::mpsc;

/// What the engine needs to start.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// The GGUF file.
    pub model_path: PathBuf,
    /// KV cache positions (clamped to the model's trained context).
    pub context: usize,
    /// CPU threads for the matmuls and attention; `None`: the physical cores.
    pub threads: Option<usize>,
    /// Where the model runs.
    pub device: DeviceChoice,
}

/// Everything that can go wrong starting the engine or generating.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The model could not be loaded or run.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The device is not built in, or cannot be opened.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The tokenizer metadata is missing or unusable.
    #[error("{path}: {source}")]
    Tokenizer {
        /// The file.
        path: String,
        /// The tokenizer's error.
        source: TokenizerError,
    },
    /// The worker thread is gone.
    #[error("the engine thread stopped")]
    Stopped,
    /// The prompt leaves no room in the context for a generated token.
    #[error("the prompt is {tokens} tokens and the context holds {context} (the prompt and at least one generated token must fit); shorten the prompt or raise the context size (--context)")]
    PromptTooLong {
        /// Tokens in the prompt.
        tokens: usize,
        /// The context size.
        context: usize,
    },
}

/// One generation request: the rendered prompt and how to continue it.
#[derive(Debug, Clone)]
pub struct Job {
    /// The prompt text, special tokens written out (`<start_of_turn>` ...).
    pub prompt: String,
    /// Upper bound on generated tokens.
    pub max_tokens: usize,
    /// Sampling settings.
    pub sampling: SamplingParams,
    /// Strings that end generation (not included in the text).
    pub stop: Vec<String>,
}

/// Why a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// End of turn, end of sequence or a stop string.
    Stop,
    /// `max_tokens` or the context was reached.
    Length,
}

/// Token counts of one generation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Prompt tokens actually computed (the rest came from the KV cache).
    pub prompt_computed: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
}

/// What the worker sends back for a job.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Generated text, whole characters.
    Text(String),
    /// The end, with the counts.
    Done(Finish, Counts),
    /// The job cannot be run as asked (e.g. its prompt does not fit in the context); nothing
    /// was generated.
    Refused(String),
    /// The job failed.
    Error(String),
}

/// The parsed header and tokenizer of the model file, after the checks `Worker::check` names.
fn inspect(settings: &EngineSettings) -> Result<(GgufFile, Tokenizer), EngineError> {
    let path = settings.model_path.display().to_string();
    if !settings.model_path.is_file() {
        return Err(ModelError::Io {
            path,
            reason: "no such file".into(),
        }
        .into());
    }
    let gguf = GgufFile::open(&settings.model_path).map_err(|e| ModelError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if let Some(arch) = gguf.architecture() {
        if !models::SUPPORTED_ARCHITECTURES.contains(&arch) {
            return Err(ModelError::UnsupportedArchitecture { arch: arch.into() }.into());
        }
    }
    let tokenizer = Tokenizer::from_gguf(&gguf).map_err(|source| EngineError::Tokenizer {
        path: path.clone(),
        source,
    })?;
    Ok((gguf, tokenizer))
}

struct Request {
    job: Job,
    reply: mpsc::UnboundedSender<Event>,
}

/// A handle on the engine thread.
#[derive(Clone)]
pub struct Worker {
    jobs: std_mpsc::Sender<Request>,
    tokenizer: Tokenizer,
    gguf: std::sync::Arc<GgufFile>,
}

impl Worker {
    /// Checks what can be checked without loading the weights: the file exists, its GGUF
    /// header parses, its architecture is supported and its tokenizer builds. For a caller
    /// that hands the model to another process (`write --detach`).
    pub fn check(settings: &EngineSettings) -> Result<(), EngineError> {
        settings.device.built()?;
        inspect(settings).map(|_| ())
    }

    /// Starts the thread and waits until the model is loaded (or failed to load).
    pub fn start(settings: EngineSettings) -> Result<Worker, EngineError> {
        let path = settings.model_path.display().to_string();
        settings.device.built()?;
        let (gguf, tokenizer) = inspect(&settings)?;
        // candle's matmuls and our attention use candle's pool, sized from CANDLE_NUM_THREADS,
        // which the binary sets before any thread starts (`threads::set_candle_threads`); the
        // rest uses rayon's global pool, configured here. Both can be set once per process,
        // before first use. Default: the physical cores.
        let n = settings
            .threads
            .unwrap_or_else(super::threads::physical_cores);
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
        let (jobs, inbox) = std_mpsc::channel::<Request>();
        let (ready_tx, ready_rx) = std_mpsc::channel();
        let tok = tokenizer.clone();
        std::thread::Builder::new()
            .name("longwriter-engine".into())
            .spawn(move || match load(&settings) {
                Ok(model) => {
                    let _ = ready_tx.send(Ok(()));
                    serve(model, tok, inbox);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| ModelError::Io {
                path: path.clone(),
                reason: format!("cannot start the engine thread: {e}"),
            })?;
        ready_rx.recv().map_err(|_| EngineError::Stopped)??;
        Ok(Worker {
            jobs,
            tokenizer,
            gguf: std::sync::Arc::new(gguf),
        })
    }

    /// The tokenizer built from the file.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The file's metadata.
    pub fn gguf(&self) -> &GgufFile {
        &self.gguf
    }

    /// Queues a job; its events arrive on the returned receiver. Dropping it cancels the job.
    pub fn submit(&self, job: Job) -> Result<mpsc::UnboundedReceiver<Event>, EngineError> {
        let (reply, rx) = mpsc::unbounded_channel();
        self.jobs
            .send(Request { job, reply })
            .map_err(|_| EngineError::Stopped)?;
        Ok(rx)
    }
}

/// Opens the device and loads the model onto it, on the engine thread (a GPU context belongs
/// to the thread that made it).
fn load(settings: &EngineSettings) -> Result<Box<dyn Model>, EngineError> {
    let started = std::time::Instant::now();
    let device = settings.device.open()?;
    let model = models::load(&settings.model_path, settings.context, &device)?;
    tracing::info!(
        "engine: loaded {} on {} in {:.1} s ({} positions of context)",
        settings.model_path.display(),
        settings.device,
        started.elapsed().as_secs_f64(),
        model.context()
    );
    Ok(model)
}

/// The token ids in the model's KV cache, position by position.
struct Session {
    model: Box<dyn Model>,
    tokenizer: Tokenizer,
    cached: Vec<u32>,
}

fn serve(model: Box<dyn Model>, tokenizer: Tokenizer, inbox: std_mpsc::Receiver<Request>) {
    let mut session = Session {
        model,
        tokenizer,
        cached: Vec::new(),
    };
    while let Ok(Request { job, reply }) = inbox.recv() {
        if reply.is_closed() {
            cancelled(Counts::default());
            continue;
        }
        match session.generate(&job, &reply) {
            Ok(()) => {}
            Err(e @ EngineError::PromptTooLong { .. }) => {
                let _ = reply.send(Event::Refused(e.to_string()));
            }
            Err(e) => {
                session.model.truncate(0);
                session.cached.clear();
                let _ = reply.send(Event::Error(e.to_string()));
            }
        }
    }
}

/// Tokens that end a turn in the families we know.
const END_OF_TURN: &[&str] = &[
    "<end_of_turn>",
    "<|eot_id|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|user|>",
];

/// Logs a job whose receiver went away (a client that hung up, a writer that cut a section):
/// generation stops here.
fn cancelled(counts: Counts) {
    tracing::info!(
        "engine: request cancelled after {} generated tokens (its receiver is gone)",
        counts.completion_tokens
    );
}

/// Length of the longest common prefix.
fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// How many bytes at the end of `text` could begin a stop string.
fn held_back(text: &str, stop: &[String]) -> usize {
    stop.iter()
        .flat_map(|s| {
            (1..s.len())
                .rev()
                .filter(move |&n| s.is_char_boundary(n))
                .map(move |n| &s[..n])
        })
        .filter(|prefix| text.ends_with(prefix))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

impl Session {
    fn generate(
        &mut self,
        job: &Job,
        reply: &mpsc::UnboundedSender<Event>,
    ) -> Result<(), EngineError> {
        let ids = self
            .tokenizer
            .encode_with(&job.prompt, !self.starts_with_bos(&job.prompt), true);
        let context = self.model.context();
        if ids.len() >= context {
            return Err(EngineError::PromptTooLong {
                tokens: ids.len(),
                context,
            });
        }
        // At least one prompt token must be computed to get the next token's logits.
        let reuse = common_prefix(&self.cached, &ids).min(ids.len() - 1);
        self.model.truncate(reuse);
        self.cached.truncate(reuse);
        let mut logits = self.model.forward(&ids[reuse..])?;
        self.cached.extend_from_slice(&ids[reuse..]);
        let mut counts = Counts {
            prompt_tokens: ids.len(),
            prompt_computed: ids.len() - reuse,
            completion_tokens: 0,
        };
        // Logged when the prompt is in, before generation: a job cut short still shows.
        tracing::debug!(
            "engine: request: {} prompt tokens, {} computed, {reuse} from the KV cache",
            counts.prompt_tokens,
            counts.prompt_computed
        );
        let stops: Vec<u32> = END_OF_TURN
            .iter()
            .filter_map(|t| self.tokenizer.token_id(t))
            .chain(self.tokenizer.eos_id())
            .collect();
        let mut sampler = Sampler::new(job.sampling.clone());
        let mut stream = TokenOutputStream::new(&self.tokenizer, true);
        let mut pending = String::new();
        let finish = loop {
            if counts.completion_tokens >= job.max_tokens || self.cached.len() >= context {
                break Finish::Length;
            }
            if reply.is_closed() {
                cancelled(counts);
                return Ok(());
            }
            let mut values = logits.to_vec1::<f32>().map_err(ModelError::from)?;
            let token = sampler.sample(&mut values, &self.cached);
            counts.completion_tokens += 1;
            if stops.contains(&token) {
                break Finish::Stop;
            }
            if let Some(text) = stream.push(token) {
                pending.push_str(&text);
            }
            if let Some(at) = job
                .stop
                .iter()
                .filter_map(|s| pending.find(s.as_str()))
                .min()
            {
                pending.truncate(at);
                let _ = reply.send(Event::Text(std::mem::take(&mut pending)));
                break Finish::Stop;
            }
            let keep = held_back(&pending, &job.stop);
            let out: String = pending.drain(..pending.len() - keep).collect();
            if !out.is_empty() && reply.send(Event::Text(out)).is_err() {
                cancelled(counts);
                return Ok(());
            }
            logits = self.model.forward(&[token])?;
            self.cached.push(token);
        };
        if let Some(rest) = stream.flush() {
            pending.push_str(&rest);
        }
        if !pending.is_empty() {
            let _ = reply.send(Event::Text(pending));
        }
        tracing::debug!(
            "engine: request done ({finish:?}), {} generated",
            counts.completion_tokens
        );
        let _ = reply.send(Event::Done(finish, counts));
        Ok(())
    }

    fn starts_with_bos(&self, prompt: &str) -> bool {
        self.tokenizer
            .bos_id()
            .and_then(|id| self.tokenizer.token_text(id))
            .is_some_and(|bos| !bos.is_empty() && prompt.starts_with(bos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_back_a_possible_stop_start() {
        let stop = vec!["\n\n###".to_string()];
        assert_eq!(held_back("abc\n\n#", &stop), 3);
        assert_eq!(held_back("abc", &stop), 0);
        assert_eq!(common_prefix(&[1, 2, 3], &[1, 2, 4]), 2);
    }
}
