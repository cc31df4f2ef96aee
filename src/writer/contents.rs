//! Completion mode's plans: a table of contents for the model to continue. A base model asked
//! for a plan in a chat turn answers with fragments of the request ("A title page with a line
//! at the"); given the start of a document's contents it writes titles. The flat plan continues
//! `prompts/contents.md` ("N words in K sections. ## Contents 1."); a long text continues the
//! same page as a list of chapters, and each chapter's sections are planned when the chapter
//! starts by continuing `prompts/chapter-contents.md`: the chapters, what the written sections
//! said (their summaries) and the running record, then the chapter's heading and its own
//! contents. A list the model stops short is continued from the next number, one entry a
//! request (`Writer::continue_list`); a list with nothing usable gives the even fallback,
//! flagged in a warning (asking again would give the same continuation).

use super::conversation::{suggested_sections, unit};
use super::document::Document;
use super::generate::{Ending, Sink};
use super::planning::{drop_echoes, Asked};
use super::{Job, JobEvent, Writer, WriterError};
use crate::backend::CompletionRequest;
use crate::plan::{self, Plan, RawSection, Section};
use crate::prompt::{PromptError, Prompts};
use serde_json::json;

/// Where a table of contents stops: a heading or a long gap.
const CONTENTS_STOPS: &[&str] = &["\n#", "\n\n\n"];

/// Requests that continue a table of contents the model stopped short (at most).
const MAX_CONTENTS_TOP_UPS: usize = 8;

/// Room for one more contents entry.
const TOP_UP_TOKENS: u32 = 48;

/// Tries at a contents list with no usable entry, each with the seed moved on (the same seed
/// would give the same continuation).
const CONTENTS_ATTEMPTS: u32 = 3;

/// What a table of contents lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The sections of a text without chapters.
    Section,
    /// The chapters of a long text.
    Chapter,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Self::Section => "section",
            Self::Chapter => "chapter",
        }
    }

    /// How many entries to suggest for `words`.
    fn suggested(self, words: usize) -> usize {
        match self {
            Self::Section => suggested_sections(words),
            Self::Chapter => plan::suggested_chapters(words),
        }
    }
}

impl Writer {
    /// The plan of a new job in completion mode: its sections, or its chapters (without
    /// sections) for a long text.
    pub(super) async fn plan_by_contents(&self, job: &Job) -> Result<Plan, WriterError> {
        let part = match job.settings.chapters.applies(job.target_words) {
            true => Part::Chapter,
            false => Part::Section,
        };
        let request = contents_request(&self.prompts, job, part)?;
        let wanted = part.suggested(job.target_words);
        let entries = self.continue_list(job, request, wanted, &[]).await?;
        let basis = render_contents(&self.prompts, job, "", "", part)?;
        let raw = read_entries(&entries, &basis, &job.instruction);
        if part == Part::Chapter {
            let built = raw.and_then(|raw| {
                plan::build_chapters(raw, job.target_words).map_err(|e| e.to_string())
            });
            return Ok(self.or_even_chapters(job, built, Asked::Contents));
        }
        let built =
            raw.and_then(|raw| plan::build_plan(raw, job.target_words).map_err(|e| e.to_string()));
        Ok(self.or_even_plan(job, built, Asked::Contents))
    }

    /// `words` of sections for `chapter` in completion mode, from continuing the chapter's
    /// own contents; even sections when nothing usable comes.
    pub(super) async fn chapter_sections_by_contents(
        &self,
        job: &Job,
        document: &Document,
        chapter: usize,
        words: usize,
    ) -> Result<Vec<Section>, WriterError> {
        let request = chapter_contents_request(&self.prompts, document, job, chapter, words)?;
        // A base model continuing a chapter's contents often copies the chapters' list above
        // it, or an earlier chapter's sections: such titles are no new sections.
        let plan = &document.plan;
        let taken: Vec<&str> = plan
            .chapters
            .iter()
            .map(|c| c.title.as_str())
            .chain(plan.sections.iter().map(|s| s.title.as_str()))
            .collect();
        let entries = self
            .continue_list(job, request, suggested_sections(words), &taken)
            .await?;
        let basis = render_chapter_contents(&self.prompts, document, chapter, words, false)?;
        let built = read_entries(&entries, &basis, &document.instruction).and_then(|raw| {
            let plan = plan::build_plan(raw, words).map_err(|e| e.to_string())?;
            Ok(plan.sections)
        });
        Ok(self.or_even_sections(document, chapter, words, built, Asked::Contents))
    }

    /// The numbered entries that continue `request` (a prompt ending with "1."), at most
    /// twice `wanted`: a model's own division is welcome, a runaway list is not. A reply with
    /// no usable entry is asked again with the seed moved on (`CONTENTS_ATTEMPTS` in all). A
    /// list the model stops short of `wanted` is continued from the next number, one entry a
    /// request, until a request gives no new title (at most `MAX_CONTENTS_TOP_UPS`); a top-up
    /// that fails leaves the entries so far. An entry with a title of `taken` is left out.
    async fn continue_list(
        &self,
        job: &Job,
        mut request: CompletionRequest,
        wanted: usize,
        taken: &[&str],
    ) -> Result<String, WriterError> {
        let taken: Vec<String> = taken
            .iter()
            .map(|t| title_key(&format!("0. {t}")))
            .collect();
        let fresh = |entry: &str| !taken.contains(&title_key(entry));
        let mut as_chat = request.clone().into_chat();
        self.check_window(job, &as_chat).await?;
        self.fit_plan(job, &mut as_chat).await?;
        request.max_tokens = as_chat.max_tokens;
        let seed = request.sampling.seed;
        let mut entries = String::new();
        for attempt in 0..CONTENTS_ATTEMPTS {
            self.emit(JobEvent::Planning {
                attempt: attempt + 1,
            });
            if attempt > 0 {
                request.sampling.seed = Some(seed.unwrap_or(0).wrapping_add(attempt.into()));
            }
            let sink = Sink::unstreamed(&self.events);
            let reply = self.generator(job).run(&request, sink).await?;
            if matches!(reply.ending, Ending::Cancelled) {
                return Err(WriterError::Cancelled);
            }
            // Numbered again from 1 once copies are left out.
            entries = contents_entries(&reply.text, wanted * 2)
                .lines()
                .filter(|e| fresh(e))
                .filter_map(|e| e.split_once(['.', ')']).map(|(_, title)| title.trim()))
                .enumerate()
                .map(|(i, title)| format!("{}. {title}", i + 1))
                .collect::<Vec<_>>()
                .join("\n");
            if !entries.is_empty() {
                break;
            }
        }
        let mut tries = 0;
        while (1..wanted).contains(&entries.lines().count())
            && tries < wanted.min(MAX_CONTENTS_TOP_UPS)
            && request.max_tokens >= 2 * TOP_UP_TOKENS
        {
            tries += 1;
            let count = entries.lines().count();
            let base = request.prompt.strip_suffix("1.").unwrap_or(&request.prompt);
            let next = CompletionRequest {
                prompt: format!("{base}{entries}\n{}.", count + 1),
                max_tokens: TOP_UP_TOKENS,
                ..request.clone()
            };
            // The entries so far are a plan, and the sections will meet the same server.
            let reply = match self
                .generator(job)
                .run(&next, Sink::unstreamed(&self.events))
                .await
            {
                Ok(reply) => reply,
                Err(WriterError::Cancelled) => return Err(WriterError::Cancelled),
                Err(_) => break,
            };
            if matches!(reply.ending, Ending::Cancelled) {
                return Err(WriterError::Cancelled);
            }
            match new_entry(&entries, &reply.text, count + 1).filter(|e| fresh(e)) {
                Some(entry) => entries = format!("{entries}\n{entry}"),
                None => break,
            }
        }
        Ok(entries)
    }
}

/// The plan entries of a continued list, without those that only repeat the prompt's own
/// wording (`basis`); the reason when none is left.
fn read_entries(entries: &str, basis: &str, instruction: &str) -> Result<Vec<RawSection>, String> {
    plan::parse_plan(entries)
        .map_err(|e| e.to_string())
        .map(|raw| drop_echoes(raw, basis, instruction))
}

/// The request that continues the table of contents of `job`'s sections or chapters.
pub fn contents_request(
    prompts: &Prompts,
    job: &Job,
    part: Part,
) -> Result<CompletionRequest, PromptError> {
    let (title, subject) = super::completion::title_and_subject(&job.instruction);
    let prompt = render_contents(prompts, job, &title, &subject, part)?;
    Ok(list_request(prompt, part.suggested(job.target_words), job))
}

/// The request that continues the list `prompt` ends with, with room for about `entries`.
fn list_request(prompt: String, entries: usize, job: &Job) -> CompletionRequest {
    CompletionRequest {
        prompt,
        max_tokens: (entries as u32).saturating_mul(40).saturating_add(64),
        sampling: job.settings.sampling.clone(),
        stop: CONTENTS_STOPS.iter().map(|s| s.to_string()).collect(),
        prose_only: false,
    }
}

fn render_contents(
    prompts: &Prompts,
    job: &Job,
    title: &str,
    subject: &str,
    part: Part,
) -> Result<String, PromptError> {
    prompts.render(
        "contents.md",
        &json!({
            "title": title,
            "subject": subject,
            "target_words": job.target_words,
            "unit": unit(job.language),
            "sections": part.suggested(job.target_words),
            "part": part.name(),
        }),
    )
}

/// The request that continues the contents of `chapter` (`words` of it left to plan).
pub fn chapter_contents_request(
    prompts: &Prompts,
    document: &Document,
    job: &Job,
    chapter: usize,
    words: usize,
) -> Result<CompletionRequest, PromptError> {
    let prompt = render_chapter_contents(prompts, document, chapter, words, true)?;
    Ok(list_request(prompt, suggested_sections(words), job))
}

/// The page whose continuation lists `chapter`'s sections; without the model's and the user's
/// words (`full` false) it is the wording an echo would repeat.
fn render_chapter_contents(
    prompts: &Prompts,
    document: &Document,
    chapter: usize,
    words: usize,
    full: bool,
) -> Result<String, PromptError> {
    let plan = &document.plan;
    let (title, subject) = match full {
        true => super::completion::title_and_subject(&document.instruction),
        false => Default::default(),
    };
    let chapters: Vec<serde_json::Value> = match full {
        true => plan
            .chapters
            .iter()
            .enumerate()
            .map(
                |(i, c)| json!({"number": i + 1, "title": c.title, "target_words": c.target_words}),
            )
            .collect(),
        false => Vec::new(),
    };
    let done = plan.sections.len();
    let (shown, _) = document.memory.shown(done);
    let summaries: Vec<serde_json::Value> = match full {
        true => shown
            .iter()
            .map(|(i, s)| json!({"title": plan.sections[*i].title, "summary": s.text}))
            .collect(),
        false => Vec::new(),
    };
    let written: usize = plan.sections[plan.chapter_range(chapter)]
        .iter()
        .map(|s| s.target_words)
        .sum();
    let page = prompts.render(
        "chapter-contents.md",
        &json!({
            "title": title,
            "subject": subject,
            "unit": unit(document.language),
            "chapters": chapters,
            "summaries": summaries,
            "record": if full { document.memory.record(done) } else { "" },
            "number": chapter + 1,
            "chapter_title": if full { plan.chapters[chapter].title.as_str() } else { "" },
            "written": written,
            "words": words,
            "sections": suggested_sections(words),
        }),
    )?;
    Ok(super::completion::tidy(&page))
}

/// Words of a contents entry beyond which it is prose, not a title.
const MAX_TITLE_WORDS: usize = 15;

/// The entry numbered `number` that `reply` continues the contents `entries` with, unless it
/// has no title, is prose rather than a title, or repeats an earlier one (the list is then
/// done).
pub fn new_entry(entries: &str, reply: &str, number: usize) -> Option<String> {
    let prefix = format!("{number}.");
    let text = format!("{prefix}{reply}");
    let line = text.lines().next()?.trim_end();
    let title = line[prefix.len()..].trim();
    let seen = entries.lines().any(|l| title_key(l) == title_key(line));
    let usable = !title.is_empty()
        && !title.starts_with(|c: char| c.is_ascii_digit() || c == '#')
        && title_key(line).split_whitespace().count() <= MAX_TITLE_WORDS;
    (usable && !seen).then(|| line.to_string())
}

/// The numbered entries at the start of a continued table of contents (the prompt ends with
/// "1."), at most `max` of them, sub-entries ("1.1.") left out; the first line that is not a
/// numbered entry ends it.
pub fn contents_entries(reply: &str, max: usize) -> String {
    let text = format!("1.{reply}");
    let mut entries = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        let numbered = digits > 0 && matches!(line[digits..].chars().next(), Some('.' | ')'));
        if !numbered || entries.len() == max.max(1) {
            break;
        }
        // A number with no title ("1." left empty) is no entry; "1.1." is a sub-entry.
        let rest = &line[digits + 1..];
        let sub = rest.starts_with(|c: char| c.is_ascii_digit());
        if rest.trim().is_empty() || sub {
            continue;
        }
        // A title that comes back ("The first lighthouses, 15", "…, 19") is a loop: the list
        // ends before it.
        if entries
            .iter()
            .any(|e: &&str| title_key(e) == title_key(line))
        {
            break;
        }
        entries.push(line);
    }
    without_page_numbers(entries).join("\n")
}

/// `entries` without their page numbers, when every entry of two or more ends with a number
/// that never goes down and is not just the entry's own (a contents page: "1. Introduction
/// 4", "2. A history of lighthouses 6"); as they are otherwise ("2. Chapter 2" is a title).
fn without_page_numbers(entries: Vec<&str>) -> Vec<String> {
    let page = |entry: &str| -> Option<(usize, usize)> {
        let (head, number) = entry.trim_end().rsplit_once(' ')?;
        let number = number.parse().ok()?;
        // The entry's own number and a title must be left.
        (head.split_whitespace().count() >= 2).then_some((head.len(), number))
    };
    let pages: Option<Vec<(usize, usize)>> = entries.iter().map(|e| page(e)).collect();
    match pages {
        Some(pages)
            if pages.len() >= 2
                && pages.windows(2).all(|w| w[0].1 <= w[1].1)
                && pages.iter().enumerate().any(|(i, p)| p.1 != i + 1) =>
        {
            let strip = |(entry, (end, _)): (&str, (usize, usize))| {
                entry[..end].trim_end_matches([',', '.', ' ']).to_string()
            };
            entries.into_iter().zip(pages).map(strip).collect()
        }
        _ => entries.into_iter().map(str::to_string).collect(),
    }
}

/// What makes two entries the same: the title without its number, its word count, a page
/// number after a comma or a dash ("The first lighthouses, 15"; "Chapter 2" keeps its 2),
/// trailing punctuation, and case.
fn title_key(entry: &str) -> String {
    let title = entry
        .split_once(['.', ')'])
        .map_or(entry, |(_, t)| t)
        .split(" (")
        .next()
        .unwrap_or_default()
        .trim();
    let unnumbered = title
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end();
    let title = match unnumbered.strip_suffix([',', ';', ':', '-', '–', '.']) {
        Some(rest) if unnumbered.len() < title.len() => rest,
        _ => title,
    };
    title
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || c == ' ')
        .to_lowercase()
}

#[cfg(test)]
#[path = "contents_tests.rs"]
mod tests;
