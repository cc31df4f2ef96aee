//! The AgentWrite pipeline: plan the text, then write its sections in order.
//!
//! Knows the `Backend` trait, `plan`, `prompt` and `text`, never a concrete backend, the
//! terminal or HTTP. Every token and state change goes out as a `JobEvent`; the CLI, the studio
//! and the store consume the same events. See `conversation` for the request layout that keeps
//! servers' prefix caches warm.

pub mod budget;
mod completion;
mod contents;
mod conversation;
mod document;
mod events;
mod fit;
mod generate;
pub mod guard;
pub mod length;
mod limits;
pub mod memory;
mod planning;
mod section;

pub use document::{ChapterLine, Document, Ledger, LedgerLine, SectionDraft};
pub use events::JobEvent;
pub use guard::{GuardKind, GuardSettings};
pub use limits::{JobError, TargetWords, MAX_WORDS};
pub use memory::{Memory, Summary};

use crate::backend::{Backend, BackendError, PromptMode, RetryPolicy, Sampling};
use crate::plan::{self, Plan};
use crate::prompt::{PromptError, Prompts};
use crate::text::Language;
use generate::Generator;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// What to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The user's instruction.
    pub instruction: String,
    /// Requested total length, in words (字 for Chinese).
    pub target_words: usize,
    /// Language of the instruction, which sets the unit and token factor.
    pub language: Language,
    /// How to generate.
    pub settings: WriterSettings,
}

/// Generation settings of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriterSettings {
    /// Sampling for every request.
    pub sampling: Sampling,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
    /// Continuations allowed per section after `length` or a broken stream.
    pub max_continuations: u32,
    /// The context window in tokens, when the user set one (`--context`, `[backend]
    /// context`); else the backend's own, else [`budget::DEFAULT_WINDOW`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<usize>,
    /// Whether to plan in chapters (`--chapters`, `--no-chapters`, `[writer] chapters`).
    #[serde(default)]
    pub chapters: plan::ChapterMode,
    /// Chat or completion prompts, when the user chose (`--mode`, `[backend] mode`); else
    /// completion for a base model (`Backend::base_model`), chat otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PromptMode>,
    /// Loop, copy and echo guards on every section's stream (`[guards]` in config.toml).
    #[serde(default)]
    pub guards: GuardSettings,
}

impl Default for WriterSettings {
    fn default() -> Self {
        Self {
            sampling: Sampling::default(),
            retry: RetryPolicy::default(),
            max_continuations: 3,
            context: None,
            chapters: plan::ChapterMode::default(),
            mode: None,
            guards: GuardSettings::default(),
        }
    }
}

/// Rebuilds the conversation of section `index` from its saved text: the step request the
/// writer would have sent, then the text as one assistant turn. A store that keeps only text
/// uses it to resume; `write` then continues an unfinished section with a continue turn.
pub fn restore_draft(
    prompts: &Prompts,
    document: &Document,
    index: usize,
    text: String,
) -> Result<SectionDraft, PromptError> {
    let step = conversation::step_turn(prompts, document, index)?;
    Ok(SectionDraft {
        turns: vec![step, crate::backend::ChatMessage::assistant(text)],
    })
}

/// Why a job stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// The backend failed, after retries where they made sense.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A prompt template could not be rendered.
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// The user stopped the job.
    #[error("stopped by the user")]
    Cancelled,
    /// The context window cannot hold the instruction, the plan, one step and a minimal
    /// section.
    #[error(
        "the context window of {window} tokens ({origin}) is too small: the instruction, the \
         plan, one step and a minimal section need about {needed} tokens. Raise it: --context N \
         with the built-in engine; start llama-server with a larger -c, vLLM with a larger \
         --max-model-len, Ollama with a larger num_ctx; or, when the server's window is larger \
         than it says, --context N or [backend] context in config.toml. A shorter instruction \
         or a smaller target also needs less"
    )]
    ContextTooSmall {
        /// Tokens needed.
        needed: usize,
        /// The window.
        window: usize,
        /// Where the window came from.
        origin: String,
    },
}

/// The result of writing: the document as far as it got, and how it ended.
#[derive(Debug)]
pub struct WriteOutcome {
    /// Every section's text so far, the unfinished one included.
    pub document: Document,
    /// `Ok` when every section is done.
    pub result: Result<(), WriterError>,
}

/// Runs jobs against one backend.
#[derive(Clone)]
pub struct Writer {
    backend: Arc<dyn Backend>,
    prompts: Arc<Prompts>,
    events: UnboundedSender<JobEvent>,
    cancel: CancellationToken,
    /// The context budget, learned on first use and shared by clones.
    budget: Arc<Mutex<fit::BudgetState>>,
}

impl Writer {
    /// A writer that sends its events to `events` and stops when `cancel` fires.
    pub fn new(
        backend: Arc<dyn Backend>,
        prompts: Arc<Prompts>,
        events: UnboundedSender<JobEvent>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            backend,
            prompts,
            events,
            cancel,
            budget: Arc::default(),
        }
    }

    fn generator(&self, job: &Job) -> Generator<'_> {
        Generator {
            backend: self.backend.as_ref(),
            retry: job.settings.retry,
            cancel: &self.cancel,
        }
    }

    fn emit(&self, event: JobEvent) {
        let _ = self.events.send(event);
    }

    /// Asks the model for a plan; re-asks once with the reason when the reply is unusable, then
    /// falls back to an even split, flagged in the plan and in a warning. A long text (see
    /// `WriterSettings::chapters`) gets its chapters here; their sections are planned by
    /// [`Writer::write`] as each chapter starts.
    pub async fn plan(&self, job: &Job) -> Result<Plan, WriterError> {
        self.emit(JobEvent::Started {
            backend: self.backend.info(),
            target_words: job.target_words,
        });
        // Completion mode plans by continuing a table of contents (of chapters for a long text).
        let plan = if self.completion(job) {
            self.plan_by_contents(job).await?
        } else {
            self.plan_job(job).await?
        };
        self.emit(JobEvent::PlanReady { plan: plan.clone() });
        Ok(plan)
    }

    /// Writes every section of `document` that is not written (done or stale), strictly in
    /// order; in a plan with chapters, plans each chapter's sections when it starts.
    pub async fn write(&self, job: &Job, mut document: Document) -> WriteOutcome {
        document.backend = Some(self.backend.info());
        self.set_horizon(job, &mut document);
        let mut index = 0;
        let mut chapter_shown = None;
        loop {
            if index == document.plan.sections.len() {
                let Some(chapter) = document.plan.next_unplanned() else {
                    break;
                };
                self.chapter_started(&document, chapter);
                chapter_shown = Some(chapter);
                if let Err(e) = self.plan_chapter(job, &mut document, chapter).await {
                    return self.failed(document, e);
                }
                continue;
            }
            // A stale section keeps its text until the user asks for a rewrite.
            if document.plan.sections[index].state.is_written() {
                index += 1;
                continue;
            }
            let chapter = document.plan.chapter_of(index);
            if let Some(c) = chapter.filter(|c| chapter_shown != Some(*c)) {
                self.chapter_started(&document, c);
                chapter_shown = chapter;
            }
            if let Err(e) = section::write_section(self, job, &mut document, index).await {
                document.plan.sections[index].state = match e {
                    WriterError::Cancelled => plan::SectionState::Writing,
                    _ => plan::SectionState::Failed,
                };
                return self.failed(document, e);
            }
            index += 1;
        }
        self.emit(JobEvent::Done {
            ledger: document.ledger(),
        });
        WriteOutcome {
            document,
            result: Ok(()),
        }
    }

    fn chapter_started(&self, document: &Document, chapter: usize) {
        let c = &document.plan.chapters[chapter];
        self.emit(JobEvent::ChapterStarted {
            chapter,
            title: c.title.clone(),
            target_words: c.target_words,
        });
    }

    fn failed(&self, document: Document, error: WriterError) -> WriteOutcome {
        self.emit(JobEvent::Failed {
            error: error.to_string(),
        });
        WriteOutcome {
            document,
            result: Err(error),
        }
    }
}
