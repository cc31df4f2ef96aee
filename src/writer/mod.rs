//! The AgentWrite pipeline: plan the text, then write its sections in order.
//!
//! Knows the `Backend` trait, `plan`, `prompt` and `text`, never a concrete backend, the
//! terminal or HTTP. Every token and state change goes out as a `JobEvent`; the CLI, the studio
//! and the store consume the same events. See `conversation` for the request layout that keeps
//! servers' prefix caches warm.

pub mod budget;
mod conversation;
mod document;
mod events;
mod fit;
mod generate;
pub mod guard;
pub mod length;
mod limits;
pub mod memory;
mod section;

pub use document::{Document, Ledger, LedgerLine, SectionDraft};
pub use events::JobEvent;
pub use guard::{GuardKind, GuardSettings};
pub use limits::{JobError, TargetWords, MAX_WORDS};
pub use memory::{Memory, Summary};

use crate::backend::{Backend, BackendError, RetryPolicy, Sampling};
use crate::plan::{self, Plan};
use crate::prompt::{PromptError, Prompts};
use crate::text::Language;
use generate::{Generator, Sink};
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

/// Drops plan entries that only echo the plan request's own wording: its example lines with
/// `<placeholders>`, or sentences made (almost) entirely of the template's words. Weak and base
/// models often repeat the prompt instead of answering it, and such a "plan" would steer every
/// section into nonsense. Words of the user's instruction do not count as echoes.
fn drop_echoes(
    raw: Vec<plan::RawSection>,
    request: &str,
    instruction: &str,
) -> Vec<plan::RawSection> {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_lowercase)
            .collect()
    };
    let template: std::collections::HashSet<String> = words(&request.replace(instruction, " "))
        .into_iter()
        .collect();
    let echoes = |text: &str| {
        let point = words(text);
        let placeholder = text.contains('<') && text.contains('>');
        let copied = point.iter().filter(|w| template.contains(*w)).count();
        placeholder || (point.len() >= 4 && copied * 100 >= point.len() * 85)
    };
    raw.into_iter()
        .filter(|s| !echoes(&s.main_point) && !s.title.as_deref().is_some_and(echoes))
        .collect()
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
    /// falls back to an even split, flagged in the plan and in a warning.
    pub async fn plan(&self, job: &Job) -> Result<Plan, WriterError> {
        self.emit(JobEvent::Started {
            backend: self.backend.info(),
            target_words: job.target_words,
        });
        let mut reason = String::new();
        for attempt in 1..=2 {
            self.emit(JobEvent::Planning { attempt });
            let mut request = conversation::plan_request(&self.prompts, job, &reason)?;
            if attempt == 1 {
                self.check_window(job, &request).await?;
            }
            self.fit_plan(job, &mut request).await?;
            let sink = Sink::unstreamed(&self.events);
            let reply = self.generator(job).run(&request, sink).await?;
            if matches!(reply.ending, generate::Ending::Cancelled) {
                return Err(WriterError::Cancelled);
            }
            let raw = plan::parse_plan(&reply.text)
                .map(|raw| drop_echoes(raw, &request.messages[0].content, &job.instruction));
            let built = match raw {
                Ok(raw) if raw.is_empty() => Err(
                    "the reply only repeated the wording of the request and its \
                     example lines; write a plan for this text instead"
                        .to_string(),
                ),
                Ok(raw) => plan::build_plan(raw, job.target_words).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match built {
                Ok(plan) => {
                    self.emit(JobEvent::PlanReady { plan: plan.clone() });
                    return Ok(plan);
                }
                Err(e) => reason = e,
            }
        }
        let plan = plan::fallback_plan(job.target_words, job.language == Language::Chinese);
        self.emit(JobEvent::Warning {
            message: format!(
                "the model's plan could not be used twice ({reason}); writing {} evenly split sections instead",
                plan.sections.len()
            ),
        });
        self.emit(JobEvent::PlanReady { plan: plan.clone() });
        Ok(plan)
    }

    /// Writes every section of `document` that is not written (done or stale), strictly in order.
    pub async fn write(&self, job: &Job, mut document: Document) -> WriteOutcome {
        document.backend = Some(self.backend.info());
        self.set_horizon(job, &mut document);
        for index in 0..document.plan.sections.len() {
            // A stale section keeps its text until the user asks for a rewrite.
            if document.plan.sections[index].state.is_written() {
                continue;
            }
            if let Err(e) = section::write_section(self, job, &mut document, index).await {
                document.plan.sections[index].state = match e {
                    WriterError::Cancelled => plan::SectionState::Writing,
                    _ => plan::SectionState::Failed,
                };
                self.emit(JobEvent::Failed {
                    error: e.to_string(),
                });
                return WriteOutcome {
                    document,
                    result: Err(e),
                };
            }
        }
        self.emit(JobEvent::Done {
            ledger: document.ledger(),
        });
        WriteOutcome {
            document,
            result: Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(title: Option<&str>, point: &str) -> plan::RawSection {
        plan::RawSection {
            title: title.map(str::to_string),
            main_point: point.into(),
            target_words: Some(100),
        }
    }

    #[test]
    fn echoed_prompt_lines_are_dropped() {
        let instruction = "Write a 600-word essay on why lighthouses matter";
        let request = format!(
            "The request: {instruction}\nThe finished text must be about 600 words long.\n\
             Paragraph 1 - Title: <short title> - Main Point: <what this section says>"
        );
        let kept = drop_echoes(
            vec![
                raw(Some("<short title>"), "<what this section says>"),
                raw(
                    Some("The finished text must be long"),
                    "The finished text must be about long.",
                ),
                raw(None, "Explain why lighthouses matter to sailors"),
                raw(Some("Storms"), "How the keeper survived the storm of 1902."),
            ],
            &request,
            instruction,
        );
        let expected = vec![
            raw(None, "Explain why lighthouses matter to sailors"),
            raw(Some("Storms"), "How the keeper survived the storm of 1902."),
        ];
        assert_eq!(kept, expected);
    }
}
