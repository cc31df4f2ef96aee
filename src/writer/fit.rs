//! Fitting requests into the context window: measure, compact, summarize, shrink.
//!
//! Every request is measured before it is sent (exactly where the backend counts, else by
//! the calibrated estimate of `budget`). A section request that does not fit compacts the
//! conversation: the first sections are replaced by their summaries (made here, once, in
//! order, each updating the running record), several at a time so that the verbatim text left
//! fills only part of the room and the next sections can grow into the rest (one cache break
//! per compaction). A request the server still refuses for its length shrinks the budget and is
//! rebuilt. A window that cannot hold one minimal section is refused with the numbers.

use super::budget::{Budget, DEFAULT_WINDOW, MIN_GENERATION_TOKENS};
use super::completion::document_request;
use super::conversation::{compacted_opening, plan_horizon, section_request, summary_request};
use super::document::Document;
use super::generate::{Ending, Generated, Request, Sink};
use super::memory::{fallback_summary, parse_summary, Limits, Summary, ECHO_RUN, RECORD_WORDS};
use super::{Job, JobEvent, Writer, WriterError};
use crate::backend::{ChatMessage, ContextWindow, GenerationRequest};
use crate::text::tokens_per_word;

/// Share of the room (window less `max_tokens`) a conversation fills right after a
/// compaction; the rest is where the next sections grow before the next compaction.
const LOW_WATER: f64 = 0.55;
/// Refusals for length tolerated per request before giving up.
const MAX_OVERFLOWS: u32 = 4;
/// The shortest answer a summary request may be given room for.
const MIN_SUMMARY_TOKENS: usize = 160;
/// Attempts at a summary before the fallback stands in.
const SUMMARY_ATTEMPTS: u32 = 2;

/// What the writer knows about the window, shared by its clones.
#[derive(Debug, Default)]
pub(super) struct BudgetState {
    budget: Option<Budget>,
    /// Whether the backend counts tokens itself; `None` until asked once.
    counts: Option<bool>,
}

/// Where a section request's deltas go, as `Sink` wants them.
pub(super) struct SectionSink<'a> {
    pub before: &'a str,
    pub max_words: usize,
    pub words_before: usize,
    /// The section's guard; told each request's prompts before it is sent.
    pub guard: Option<&'a mut super::guard::Guard>,
}

impl Writer {
    /// The budget, learned on first use: the user's window, else the backend's, else the
    /// default with a warning.
    pub(super) fn budget(&self, job: &Job) -> Budget {
        let mut state = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = &state.budget {
            return b.clone();
        }
        let window = match (job.settings.context, self.backend.context_window()) {
            (Some(n), _) => ContextWindow::new(n, "--context or [backend] context"),
            (None, Some(w)) => w,
            (None, None) => {
                self.emit(JobEvent::Warning {
                    message: format!(
                        "the server does not say how large its context window is; assuming \
                         {DEFAULT_WINDOW} tokens. If it is larger, say so with --context N \
                         (or [backend] context in config.toml) for fewer summaries"
                    ),
                });
                ContextWindow::new(DEFAULT_WINDOW, "the default for servers that do not say")
            }
        };
        let budget = Budget::new(window);
        state.budget = Some(budget.clone());
        budget
    }

    fn update_budget(&self, f: impl FnOnce(&mut Budget)) {
        let mut state = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = state.budget.as_mut() {
            f(b);
        }
    }

    /// Prompt tokens of `messages`: the backend's count where it has one, else the estimate.
    pub(super) async fn measure(&self, job: &Job, messages: &[ChatMessage]) -> usize {
        let counts = self.budget.lock().map(|s| s.counts).unwrap_or(None);
        if counts != Some(false) {
            let counted = self.backend.count_tokens(messages).await;
            if let Ok(mut state) = self.budget.lock() {
                state.counts = Some(counted.is_some());
            }
            if let Some(n) = counted {
                return n;
            }
        }
        self.budget(job).estimate(messages)
    }

    /// Learns from the prompt tokens a server reported for `messages`.
    fn calibrate(&self, messages: &[ChatMessage], generated: &Generated) {
        if let Some(usage) = generated.usage {
            self.update_budget(|b| b.calibrate(messages, usage.prompt_tokens));
        }
    }

    fn too_small(&self, job: &Job, needed: usize) -> WriterError {
        let b = self.budget(job);
        WriterError::ContextTooSmall {
            needed,
            window: b.window,
            origin: b.source,
        }
    }

    /// Refuses, before anything is generated, a window that cannot hold the plan request or
    /// the instruction, a plan of the likely size, one step and a minimal section.
    pub(super) async fn check_window(
        &self,
        job: &Job,
        plan_request: &GenerationRequest,
    ) -> Result<(), WriterError> {
        let plan_prompt = self.measure(job, &plan_request.messages).await;
        let likely = crate::plan::fallback_plan(
            job.target_words,
            job.language == crate::text::Language::Chinese,
        );
        let mut document = Document::new(
            job.instruction.clone(),
            job.target_words,
            job.language,
            likely,
        );
        self.set_horizon(job, &mut document);
        let first = super::conversation::step_turn(&self.prompts, &document, 0)?;
        let write_prompt = self.measure(job, &[first]).await;
        let needed = (plan_prompt + 256).max(write_prompt + MIN_GENERATION_TOKENS);
        if needed > self.budget(job).window {
            return Err(self.too_small(job, needed));
        }
        Ok(())
    }

    /// Sets how many plan entries the conversation shows, from the window and the plan's size
    /// (see `plan_horizon`).
    pub(super) fn set_horizon(&self, job: &Job, document: &mut Document) {
        let sections = &document.plan.sections;
        let chars: usize = sections
            .iter()
            .map(|s| s.title.chars().count() + s.main_point.chars().count() + 24)
            .sum();
        let per_entry = chars.div_ceil(3 * sections.len().max(1));
        let window = self.budget(job).window;
        document.memory.plan_horizon = plan_horizon(sections.len(), per_entry, window);
    }

    /// Fits the plan request: its `max_tokens` is cut to the room the prompt leaves.
    pub(super) async fn fit_plan(
        &self,
        job: &Job,
        request: &mut GenerationRequest,
    ) -> Result<(), WriterError> {
        let prompt = self.measure(job, &request.messages).await;
        let room = self.budget(job).room(prompt);
        if room < 256 {
            return Err(self.too_small(job, prompt + 256));
        }
        request.max_tokens = request.max_tokens.min(room as u32);
        Ok(())
    }

    /// Sends the next generation of section `index`, fitted into the window (compacting and
    /// summarizing as needed), and rebuilds and resends it while the server refuses it for
    /// its length.
    pub(super) async fn run_section(
        &self,
        job: &Job,
        document: &mut Document,
        index: usize,
        words_wanted: usize,
        mut sink: SectionSink<'_>,
    ) -> Result<Generated, WriterError> {
        let mut overflows = 0;
        loop {
            let (request, measured) = self.fit_section(job, document, index, words_wanted).await?;
            if let Some(guard) = sink.guard.as_deref_mut() {
                guard.set_prompts(&echo_basis(&request, document));
            }
            let out = Sink {
                events: &self.events,
                section: Some(index),
                before: Some(sink.before),
                max_words: Some(sink.max_words),
                words_before: sink.words_before,
                guard: sink.guard.as_deref(),
            };
            match self.generator(job).run(&request, out).await {
                Ok(generated) => {
                    self.calibrate(&request.messages(), &generated);
                    return Ok(generated);
                }
                Err(WriterError::Backend(e))
                    if overflows < MAX_OVERFLOWS && e.overflow().is_some() =>
                {
                    overflows += 1;
                    let overflow = e.overflow().unwrap_or_default();
                    self.update_budget(|b| b.shrink(overflow, &request.messages(), measured));
                    let window = self.budget(job).window;
                    self.emit(JobEvent::Warning {
                        message: format!(
                            "the server refused a request of about {measured} prompt tokens for its length ({e}); \
                             writing within {window} tokens from now on"
                        ),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The request for section `index` and its measured prompt tokens, compacting until it
    /// fits; at the last resort (only this section verbatim) its `max_tokens` is cut.
    async fn fit_section(
        &self,
        job: &Job,
        document: &mut Document,
        index: usize,
        words_wanted: usize,
    ) -> Result<(Request, usize), WriterError> {
        let completion = self.completion(job);
        loop {
            let mut request = if completion {
                Request::Text(document_request(
                    &self.prompts,
                    document,
                    index,
                    job,
                    words_wanted,
                )?)
            } else {
                Request::Chat(section_request(
                    &self.prompts,
                    document,
                    index,
                    job,
                    words_wanted,
                )?)
            };
            let prompt = self.measure(job, &request.messages()).await;
            let budget = self.budget(job);
            if budget.fits(prompt, request.max_tokens()) {
                return Ok((request, prompt));
            }
            if document.memory.compacted < index {
                self.compact(job, document, index, request.max_tokens())
                    .await?;
                continue;
            }
            let room = budget.room(prompt);
            if room < MIN_GENERATION_TOKENS {
                return Err(self.too_small(job, prompt + MIN_GENERATION_TOKENS));
            }
            request.set_max_tokens(room as u32);
            return Ok((request, prompt));
        }
    }

    /// Moves the compaction point past as many sections as it takes for the conversation of
    /// section `index` to fill at most `LOW_WATER` of the room, summarizing them first.
    async fn compact(
        &self,
        job: &Job,
        document: &mut Document,
        index: usize,
        max_tokens: u32,
    ) -> Result<(), WriterError> {
        let budget = self.budget(job);
        let room = budget.window.saturating_sub(max_tokens as usize) as f64 * LOW_WATER;
        let shown_words = self.shown_words(job, document);
        document.memory.shown_words = shown_words;
        // Room for the summaries and the record still to be made.
        let allowance =
            ((shown_words + RECORD_WORDS) as f64 * tokens_per_word(document.language)) as usize;
        let verbatim: Vec<usize> = document.drafts[..=index]
            .iter()
            .map(|d| budget.estimate(&d.turns))
            .collect();
        let from = document.memory.compacted + 1;
        let mut upto = index;
        for candidate in from..=index {
            let opening = compacted_opening(&self.prompts, document, candidate)?;
            let fixed = budget.estimate(std::slice::from_ref(&opening)) + allowance;
            let kept: usize = verbatim[candidate..].iter().sum();
            if (fixed + kept) as f64 <= room {
                upto = candidate;
                break;
            }
        }
        for k in 0..upto {
            if document.memory.summary(k).is_none() {
                self.summarize(job, document, k).await?;
            }
        }
        document.memory.compacted = upto;
        let messages = super::conversation::messages(&self.prompts, document, index)?;
        let prompt_tokens = self.measure(job, &messages).await;
        self.emit(JobEvent::Compacted {
            summarized: upto,
            prompt_tokens,
            window: budget.window,
        });
        Ok(())
    }

    /// Words of summaries a memory block shows: about a 24th of the window, 60 to 600.
    pub(super) fn shown_words(&self, job: &Job, document: &Document) -> usize {
        let window = self.budget(job).window as f64;
        ((window / 24.0 / tokens_per_word(document.language)) as usize).clamp(60, 600)
    }

    /// Makes section `index`'s summary: asked of the model (twice at most), else its opening
    /// and closing paragraphs, flagged in a warning. A reply that repeats the request's own
    /// wording is no summary. In completion mode the model is not asked (a base model answers
    /// a summary request with the request): the opening and closing paragraphs stand in, with
    /// a record of the names and years that recur. Stored in the document and announced.
    pub(super) async fn summarize(
        &self,
        job: &Job,
        document: &mut Document,
        index: usize,
    ) -> Result<(), WriterError> {
        let text = document.drafts[index].text();
        let previous = document.memory.record(index).to_string();
        let window_words = self.budget(job).window as f64 / tokens_per_word(document.language);
        let limits = Limits::new(crate::text::count_words(&text), window_words as usize);
        if self.completion(job) {
            let mut summary = fallback_summary(&text, &previous, limits);
            summary.record = super::memory::names_record(&previous, &text, limits.record);
            self.store_summary(document, index, summary);
            return Ok(());
        }
        let mut summary = None;
        let mut failure = String::from("the replies held no summary");
        for _ in 0..SUMMARY_ATTEMPTS {
            let fitted = match self.fit_summary(job, document, index, &text, limits).await {
                Ok(request) => request,
                Err(e @ WriterError::ContextTooSmall { .. }) => {
                    failure = e.to_string();
                    break;
                }
                Err(e) => return Err(e),
            };
            let sink = Sink::unstreamed(&self.events);
            match self.generator(job).run(&fitted, sink).await {
                Ok(Generated {
                    ending: Ending::Cancelled,
                    ..
                })
                | Err(WriterError::Cancelled) => return Err(WriterError::Cancelled),
                Ok(reply) => {
                    self.calibrate(&fitted.messages, &reply);
                    // The request's own wording: without the section, the instruction and
                    // the record, which a summary may quote.
                    let mut wording = fitted.messages[0].content.clone();
                    for quoted in [&text, &document.instruction, &previous] {
                        if !quoted.trim().is_empty() {
                            wording = wording.replace(quoted.as_str(), " ");
                        }
                    }
                    let echoes = |s: &str| super::memory::copies_run(s, &wording, ECHO_RUN);
                    let parsed = parse_summary(&reply.text, &previous, limits);
                    let echoed = parsed
                        .as_ref()
                        .is_some_and(|s| echoes(&s.text) || echoes(&s.record));
                    summary = parsed.filter(|_| !echoed);
                    if echoed {
                        failure = "the reply repeated the request instead of summarizing".into();
                    }
                }
                Err(e) => failure = e.to_string(),
            }
            if summary.is_some() {
                break;
            }
        }
        let summary = summary.unwrap_or_else(|| {
            self.emit(JobEvent::Warning {
                message: format!(
                    "section {}: the summary request failed ({failure}); its opening and closing \
                     paragraphs stand in for it",
                    index + 1
                ),
            });
            fallback_summary(&text, &previous, limits)
        });
        self.store_summary(document, index, summary);
        Ok(())
    }

    fn store_summary(&self, document: &mut Document, index: usize, summary: Summary) {
        let slots = &mut document.memory.summaries;
        if slots.len() < document.plan.sections.len() {
            slots.resize(document.plan.sections.len(), None);
        }
        slots[index] = Some(summary.clone());
        self.emit(JobEvent::Summarized { index, summary });
    }

    /// The summary request of section `index`, its text cut (opening and closing kept) until
    /// the request fits the window.
    async fn fit_summary(
        &self,
        job: &Job,
        document: &Document,
        index: usize,
        text: &str,
        limits: Limits,
    ) -> Result<GenerationRequest, WriterError> {
        let mut words: Vec<&str> = text.split_whitespace().collect();
        let mut shown = text.to_string();
        loop {
            let mut request = summary_request(&self.prompts, document, index, &shown, job, limits)?;
            let prompt = self.measure(job, &request.messages).await;
            let budget = self.budget(job);
            if budget.fits(prompt, request.max_tokens) {
                return Ok(request);
            }
            // A shorter answer first, then a shorter text to summarize.
            if budget.room(prompt) >= MIN_SUMMARY_TOKENS {
                request.max_tokens = budget.room(prompt) as u32;
                return Ok(request);
            }
            if words.len() < 40 {
                return Err(self.too_small(job, prompt + request.max_tokens as usize));
            }
            let keep = words.len() * 3 / 4;
            let head = keep / 2;
            let tail: Vec<&str> = words[words.len() - (keep - head)..].to_vec();
            words.truncate(head);
            words.extend(tail);
            shown = format!("{} … {}", words[..head].join(" "), words[head..].join(" "));
        }
    }
}

/// What the echo guard compares a stream with: everything the writer sent, except, in a
/// completion prompt, the document's own text, which the model continues (repeating that is a
/// loop or a copy, which those guards catch, not an echo of the writer's instructions).
fn echo_basis(request: &Request, document: &Document) -> Vec<ChatMessage> {
    let mut messages = request.messages();
    if matches!(request, Request::Text(_)) {
        for message in &mut messages {
            for draft in &document.drafts {
                let text = draft.text();
                let text = text.trim();
                if !text.is_empty() {
                    message.content = message.content.replace(text, "\n");
                }
            }
        }
    }
    messages
}
