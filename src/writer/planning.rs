//! Asking the model for plans: the flat section plan, the chapter plan of a long text, and one
//! chapter's sections when that chapter starts (seeing the summaries, made first for every
//! written section that has none, and the running record so far). Every plan request is asked
//! twice at most, the second time with the reason the first reply could not be used; then a
//! fallback plan is used, flagged in a warning.

use super::conversation::{self, chapter_entries, unit};
use super::document::Document;
use super::generate::{Ending, Sink};
use super::{Job, JobEvent, Writer, WriterError};
use crate::backend::{ChatMessage, GenerationRequest};
use crate::plan::{self, Chapter, Plan, RawSection, Section};
use crate::prompt::{PromptError, Prompts};
use crate::text::Language;
use serde_json::json;

impl Writer {
    /// Asks for a plan twice at most: `request` renders the request (given the reason the
    /// previous reply failed, empty at first) and `build` turns the reply's entries into the
    /// plan. `Ok(Err(reason))` when both replies were unusable.
    async fn ask<T>(
        &self,
        job: &Job,
        request: impl Fn(&str) -> Result<GenerationRequest, PromptError>,
        build: impl Fn(Vec<RawSection>) -> Result<T, String>,
    ) -> Result<Result<T, String>, WriterError> {
        let mut reason = String::new();
        for attempt in 1..=2 {
            self.emit(JobEvent::Planning { attempt });
            let mut request = request(&reason)?;
            if attempt == 1 {
                self.check_window(job, &request).await?;
            }
            self.fit_plan(job, &mut request).await?;
            let sink = Sink::unstreamed(&self.events);
            let reply = self.generator(job).run(&request, sink).await?;
            if matches!(reply.ending, Ending::Cancelled) {
                return Err(WriterError::Cancelled);
            }
            let raw = plan::parse_plan(&reply.text)
                .map(|raw| drop_echoes(raw, &request.messages[0].content, &job.instruction));
            let built = match raw {
                Ok(raw) if raw.is_empty() => Err("the reply only repeated the wording of the \
                     request and its example lines; write a plan for this text instead"
                    .to_string()),
                Ok(raw) => build(raw),
                Err(e) => Err(e.to_string()),
            };
            match built {
                Ok(plan) => return Ok(Ok(plan)),
                Err(e) => reason = e,
            }
        }
        Ok(Err(reason))
    }

    /// The plan of a new job: flat, or its chapters (without sections) for a long text.
    pub(super) async fn plan_job(&self, job: &Job) -> Result<Plan, WriterError> {
        if job.settings.chapters.applies(job.target_words) {
            let asked = self
                .ask(
                    job,
                    |reason| chapters_request(&self.prompts, job, reason),
                    |raw| plan::build_chapters(raw, job.target_words).map_err(|e| e.to_string()),
                )
                .await?;
            return Ok(self.or_even_chapters(job, asked, Asked::Chat));
        }
        let asked = self
            .ask(
                job,
                |reason| conversation::plan_request(&self.prompts, job, reason),
                |raw| plan::build_plan(raw, job.target_words).map_err(|e| e.to_string()),
            )
            .await?;
        Ok(self.or_even_plan(job, asked, Asked::Chat))
    }

    /// Plans the (rest of the) sections of `chapter`, the first chapter not planned yet, and
    /// adds them to the document. A chapter whose kept (written) sections already cover its
    /// target gets no more.
    pub(super) async fn plan_chapter(
        &self,
        job: &Job,
        document: &mut Document,
        chapter: usize,
    ) -> Result<(), WriterError> {
        let words = document.plan.words_to_plan(chapter);
        let sections = match words {
            0 if document.plan.chapters[chapter].sections > 0 => Vec::new(),
            _ => {
                self.summarize_written(job, document).await?;
                let words = words.max(1);
                match self.completion(job) {
                    true => {
                        self.chapter_sections_by_contents(job, document, chapter, words)
                            .await?
                    }
                    false => self.chapter_sections(job, document, chapter, words).await?,
                }
            }
        };
        document.add_chapter_sections(chapter, sections);
        self.set_horizon(job, document);
        self.emit(JobEvent::ChapterPlanned {
            chapter,
            sections: document.plan.chapters[chapter].sections,
            plan: document.plan.clone(),
        });
        Ok(())
    }

    /// Summarizes every written section that has no summary yet, so that a chapter is planned
    /// knowing what the earlier ones told (summaries are otherwise made only when the text no
    /// longer fits the window). They are stored and serve the compaction later; the
    /// conversation of the next section does not change, so no cached prefix is lost.
    async fn summarize_written(
        &self,
        job: &Job,
        document: &mut Document,
    ) -> Result<(), WriterError> {
        if document.memory.shown_words == 0 {
            document.memory.shown_words = self.shown_words(job, document);
        }
        for k in 0..document.plan.sections.len() {
            let written = document.plan.sections[k].state.is_written();
            if written && document.memory.summary(k).is_none() && document.drafts[k].words() > 0 {
                self.summarize(job, document, k).await?;
            }
        }
        Ok(())
    }

    /// Asks for `words` of sections of `chapter`; falls back to even sections.
    async fn chapter_sections(
        &self,
        job: &Job,
        document: &Document,
        chapter: usize,
        words: usize,
    ) -> Result<Vec<Section>, WriterError> {
        let asked = self
            .ask(
                job,
                |reason| chapter_request(&self.prompts, document, job, chapter, reason),
                |raw| {
                    let plan = plan::build_plan(raw, words).map_err(|e| e.to_string())?;
                    Ok(plan.sections)
                },
            )
            .await?;
        Ok(self.or_even_sections(document, chapter, words, asked, Asked::Chat))
    }

    /// `built`, else the even fallback plan, flagged and announced.
    pub(super) fn or_even_plan(
        &self,
        job: &Job,
        built: Result<Plan, String>,
        asked: Asked,
    ) -> Plan {
        built.unwrap_or_else(|reason| {
            let plan = plan::fallback_plan(job.target_words, job.language == Language::Chinese);
            let what = format!("{} evenly split sections", plan.sections.len());
            self.warn_fallback(&reason, what, asked);
            plan
        })
    }

    /// A plan of the `built` chapters, else of even ones, flagged and announced.
    pub(super) fn or_even_chapters(
        &self,
        job: &Job,
        built: Result<Vec<Chapter>, String>,
        asked: Asked,
    ) -> Plan {
        match built {
            Ok(chapters) => Plan::of_chapters(chapters, false),
            Err(reason) => {
                let chinese = job.language == Language::Chinese;
                let chapters = plan::fallback_chapters(job.target_words, chinese);
                let what = format!("{} even chapters", chapters.len());
                self.warn_fallback(&reason, what, asked);
                Plan::of_chapters(chapters, true)
            }
        }
    }

    /// The `built` sections of `chapter`, else `words` of even ones, announced.
    pub(super) fn or_even_sections(
        &self,
        document: &Document,
        chapter: usize,
        words: usize,
        built: Result<Vec<Section>, String>,
        asked: Asked,
    ) -> Vec<Section> {
        built.unwrap_or_else(|reason| {
            let sections = plan::fallback_sections(&document.plan.chapters[chapter], words);
            let what = format!(
                "{} even sections for chapter {}",
                sections.len(),
                chapter + 1
            );
            self.warn_fallback(&reason, what, asked);
            sections
        })
    }

    fn warn_fallback(&self, reason: &str, what: String, asked: Asked) {
        let message = match asked {
            Asked::Chat => format!(
                "the model's plan could not be used twice ({reason}); writing {what} instead"
            ),
            Asked::Contents => {
                format!("the model's contents could not be used ({reason}); writing {what} instead")
            }
        };
        self.emit(JobEvent::Warning { message });
    }
}

/// How an unusable plan was asked for, which its fallback's warning says.
#[derive(Debug, Clone, Copy)]
pub(super) enum Asked {
    /// Chat requests, each asked twice.
    Chat,
    /// A table of contents to continue (completion mode).
    Contents,
}

/// The chapter plan request of a long text; `retry_reason` is empty on the first try.
pub fn chapters_request(
    prompts: &Prompts,
    job: &Job,
    retry_reason: &str,
) -> Result<GenerationRequest, PromptError> {
    let chapters = plan::suggested_chapters(job.target_words);
    let content = prompts.render(
        "chapters.md",
        &json!({
            "instruction": job.instruction,
            "target_words": job.target_words,
            "unit": unit(job.language),
            "language": conversation::language_name(job.language),
            "suggested_chapters": chapters,
            "retry_reason": retry_reason,
        }),
    )?;
    Ok(GenerationRequest {
        messages: vec![ChatMessage::user(content)],
        max_tokens: (chapters as u32).saturating_mul(120).clamp(512, 8_000),
        sampling: job.settings.sampling.clone(),
        stop: Vec::new(),
    })
}

/// The request for the sections of `chapter`: the chapter outline, the latest summaries and
/// the running record of the text so far, and the words left to plan in the chapter.
pub fn chapter_request(
    prompts: &Prompts,
    document: &Document,
    job: &Job,
    chapter: usize,
    retry_reason: &str,
) -> Result<GenerationRequest, PromptError> {
    let plan = &document.plan;
    let Chapter {
        title, main_point, ..
    } = &plan.chapters[chapter];
    let words = plan.words_to_plan(chapter).max(1);
    let written: usize = plan.sections[plan.chapter_range(chapter)]
        .iter()
        .map(|s| s.target_words)
        .sum();
    let done = plan.sections.len();
    let (shown, _) = document.memory.shown(done);
    let summaries: Vec<serde_json::Value> = shown
        .iter()
        .map(|(i, s)| json!({"title": plan.sections[*i].title, "summary": s.text}))
        .collect();
    let sections = conversation::suggested_sections(words);
    let content = prompts.render(
        "chapter.md",
        &json!({
            "instruction": document.instruction,
            "target_words": document.target_words,
            "unit": unit(document.language),
            "language": conversation::language_name(document.language),
            "chapters": chapter_entries(plan),
            "summaries": summaries,
            "record": document.memory.record(done),
            "number": chapter + 1,
            "title": title,
            "main_point": main_point,
            "written": written,
            "words": words,
            "suggested_sections": sections,
            "retry_reason": retry_reason,
        }),
    )?;
    Ok(GenerationRequest {
        messages: vec![ChatMessage::user(content)],
        max_tokens: (sections as u32).saturating_mul(80).clamp(512, 16_000),
        sampling: job.settings.sampling.clone(),
        stop: Vec::new(),
    })
}

/// Drops plan entries that only echo the plan request's own wording: its example lines with
/// `<placeholders>`, or sentences made (almost) entirely of the template's words. Weak and base
/// models often repeat the prompt instead of answering it, and such a "plan" would steer every
/// section into nonsense. Words of the user's instruction do not count as echoes.
pub(super) fn drop_echoes(
    raw: Vec<RawSection>,
    request: &str,
    instruction: &str,
) -> Vec<RawSection> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::{Summary, WriterSettings};

    #[test]
    fn a_chapter_request_sees_the_outline_the_summaries_and_the_record() {
        let prompts = Prompts::builtin();
        let plan = Plan::of_chapters(plan::fallback_chapters(25_000, false), false);
        let mut doc = Document::new(
            "Write about a keeper".into(),
            25_000,
            Language::English,
            plan,
        );
        let first = plan::fallback_sections(&doc.plan.chapters[0], 5_000);
        doc.add_chapter_sections(0, first);
        doc.memory.summaries[6] = Some(Summary {
            text: "The keeper arrives in the storm.".into(),
            record: "Keeper: Ana. Place: Ushant.".into(),
            fallback: false,
        });
        doc.memory.shown_words = 100;
        let job = Job {
            instruction: doc.instruction.clone(),
            target_words: 25_000,
            language: Language::English,
            settings: WriterSettings::default(),
        };
        let request = chapter_request(&prompts, &doc, &job, 1, "").expect("a request");
        let text = &request.messages[0].content;
        assert!(text.contains("Plan chapter 2, \"Chapter 2\""), "{text}");
        assert!(
            text.contains("5. Chapter 5: Bring the threads together"),
            "{text}"
        );
        assert!(text.contains("The keeper arrives in the storm."), "{text}");
        assert!(text.contains("Keeper: Ana. Place: Ushant."), "{text}");
        assert!(text.contains("about 9 sections of 5000 words"), "{text}");
    }

    fn raw(title: Option<&str>, point: &str) -> RawSection {
        RawSection {
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
