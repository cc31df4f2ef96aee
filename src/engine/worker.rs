//! The thread that owns the model. `Worker::start` spawns it; it loads the GGUF and reports
//! readiness or the load error once; then requests arrive on a channel, each with its own
//! reply channel, and `batcher` runs them, up to `parallel` at once in batched steps. Each
//! slot keeps the KV cache of its last sequence, including the tokens it generated, and
//! computes only what follows the longest common prefix of the next prompt it takes.
//! A request whose reply channel is dropped is cancelled at the next token.

use super::device::{DeviceChoice, DeviceError};
use super::gguf::GgufFile;
use super::models::{self, Model, ModelError};
use super::sampler::SamplingParams;
use super::tokenizer::{Tokenizer, TokenizerError};
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use tokio::sync::mpsc;

/// What the engine needs to start.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// The GGUF file.
    pub model_path: PathBuf,
    /// KV cache positions (clamped to the model's trained context); `None`: the trained
    /// context capped by [`KV_BUDGET_BYTES`] (see [`default_context`]).
    pub context: Option<usize>,
    /// CPU threads for the matmuls and attention; `None`: the physical cores.
    pub threads: Option<usize>,
    /// Where the model runs.
    pub device: DeviceChoice,
    /// Sequences that decode together (slots, each with its own KV cache of `context`
    /// positions); at least 1. `serve --parallel`, `batch --local --concurrency`; 1 for
    /// `write --local`.
    pub parallel: usize,
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

/// The memory the default context may take for its KV cache (f16 keys and values of every
/// layer): 1 GiB. Gemma 3 270M (18 layers, one 256-wide KV head) needs 18 KiB a position, so its
/// default is its whole trained context, 32,768 positions (576 MiB); bigger models get fewer.
pub const KV_BUDGET_BYTES: usize = 1 << 30;

/// The context of each of `slots` sequences when none is asked for: the trained context
/// (`{arch}.context_length`), capped so the KV caches of all slots together fit
/// [`KV_BUDGET_BYTES`], at least 2,048 and a multiple of 1,024.
pub fn default_context(gguf: &GgufFile, slots: usize) -> usize {
    let arch = gguf.architecture().unwrap_or("llama");
    let get = |key: &str| {
        let key = format!("{arch}.{key}");
        gguf.get_u32(&key)
            .map(|n| n as usize)
            .or_else(|| gguf.get_u64(&key).map(|n| n as usize))
    };
    let trained = get("context_length").unwrap_or(8192);
    let layers = get("block_count").unwrap_or(32);
    let heads = get("attention.head_count").unwrap_or(32).max(1);
    let kv_heads = get("attention.head_count_kv").unwrap_or(heads);
    let head_dim = get("attention.key_length")
        .or_else(|| get("embedding_length").map(|e| e / heads))
        .unwrap_or(128);
    // Keys and values, f16, every layer.
    let per_position = (2 * layers * kv_heads * head_dim * 2).max(1);
    let fits = KV_BUDGET_BYTES / slots.max(1) / per_position / 1024 * 1024;
    trained.min(fits).max(2048)
}

/// A job and where its events go.
pub(crate) struct Request {
    /// The job.
    pub job: Job,
    /// Its events; dropping the receiver cancels it.
    pub reply: mpsc::UnboundedSender<Event>,
}

/// A handle on the engine thread.
#[derive(Clone)]
pub struct Worker {
    jobs: std_mpsc::Sender<Request>,
    context: usize,
    slots: usize,
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
        let slots = settings.parallel.max(1);
        let context = settings
            .context
            .unwrap_or_else(|| default_context(&gguf, slots));
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
            .spawn(move || match load(&settings, context) {
                Ok(model) => {
                    let _ = ready_tx.send(Ok((model.context(), model.slots())));
                    super::batcher::serve(model, tok, inbox);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| ModelError::Io {
                path: path.clone(),
                reason: format!("cannot start the engine thread: {e}"),
            })?;
        let (context, slots) = ready_rx.recv().map_err(|_| EngineError::Stopped)??;
        Ok(Worker {
            jobs,
            context,
            slots,
            tokenizer,
            gguf: std::sync::Arc::new(gguf),
        })
    }

    /// The context the model was loaded with, in positions.
    pub fn context(&self) -> usize {
        self.context
    }

    /// Sequences that decode together (`EngineSettings::parallel`).
    pub fn slots(&self) -> usize {
        self.slots
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
fn load(settings: &EngineSettings, context: usize) -> Result<Box<dyn Model>, EngineError> {
    let started = std::time::Instant::now();
    let device = settings.device.open()?;
    let model = models::load_slots(&settings.model_path, context, settings.parallel, &device)?;
    tracing::info!(
        "engine: loaded {} on {} in {:.1} s ({} positions of context in each of {} slots)",
        settings.model_path.display(),
        settings.device,
        started.elapsed().as_secs_f64(),
        model.context(),
        model.slots()
    );
    Ok(model)
}
