//! Completion mode: the document as text for a base model to continue.
//!
//! A model without a chat template (the default Gemma 3 270M) answers a chat-style step with
//! advice about writing, or with the step itself; given the beginning of a document it writes
//! the document. In this mode every request is a raw completion (`Backend::complete`) of a
//! document-shaped prompt (`prompts/document.md`): the title, the plan as a table of contents
//! with word counts, a block of summaries once the early sections are compacted (see
//! `memory`), the recent sections verbatim under their headings, then the next heading and the
//! section's text so far. Request k+1 is request k, its text and the next heading, so prefix
//! caches stay warm as in chat mode; the prefix changes only when the compaction point moves.
//! A section ends at the next heading (`SECTION_STOPS`), at `max_tokens`, or at the word bound,
//! and `section` continues or cuts it as in chat mode. The plan comes from continuing a table
//! of contents (`prompts/contents.md`). Drafts keep the same turns as in chat mode (so a project
//! can be resumed in either mode); only their text is used here.

use super::conversation::{suggested_sections, unit};
use super::document::Document;
use super::generate::{Ending, Sink};
use super::length::token_budget;
use super::planning::drop_echoes;
use super::{Job, JobEvent, Writer, WriterError};
use crate::backend::{CompletionRequest, PromptMode};
use crate::plan::{self, Plan};
use crate::prompt::{PromptError, Prompts};
use crate::text::Language;
use serde_json::json;

/// Where a section's generation stops: any new heading.
pub const SECTION_STOPS: &[&str] = &["\n#"];
/// Where the table of contents stops: a heading or a long gap.
const CONTENTS_STOPS: &[&str] = &["\n#", "\n\n\n"];
/// Words a title keeps.
const TITLE_WORDS: usize = 10;
/// Characters a title keeps when the text has no spaces (Chinese).
const TITLE_CHARS: usize = 40;
/// Verbs of a request that the document's subject line leaves out.
const VERBS: &[&str] = &[
    "please write",
    "write me",
    "write",
    "compose",
    "create",
    "draft",
    "produce",
    "generate",
    "tell me",
    "tell",
];

impl Writer {
    /// Whether this job is written in completion mode: as the user chose, else for a base model.
    pub(super) fn completion(&self, job: &Job) -> bool {
        match job.settings.mode {
            Some(mode) => mode == PromptMode::Completion,
            None => self.backend.base_model(),
        }
    }

    /// The plan from continuing a table of contents; the even fallback when the model gives no
    /// usable entry (asking again would give the same continuation).
    pub(super) async fn plan_by_contents(&self, job: &Job) -> Result<Plan, WriterError> {
        self.emit(JobEvent::Planning { attempt: 1 });
        let mut request = contents_request(&self.prompts, job)?;
        let mut as_chat = request.clone().into_chat();
        self.check_window(job, &as_chat).await?;
        self.fit_plan(job, &mut as_chat).await?;
        request.max_tokens = as_chat.max_tokens;
        let sink = Sink::unstreamed(&self.events);
        let reply = self.generator(job).run(&request, sink).await?;
        if matches!(reply.ending, Ending::Cancelled) {
            return Err(WriterError::Cancelled);
        }
        // Up to twice the sections suggested: a model's own division is welcome, a runaway
        // list is not.
        let wanted = suggested_sections(job.target_words);
        let most = wanted * 2;
        let mut entries = contents_entries(&reply.text, most);
        // A base model often stops the list after an entry or two: it is continued from the
        // next number, one entry a request, up to the suggested count.
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
            // A top-up that fails (after the generator's retries) leaves the list as it is:
            // the entries so far are a plan, and the sections will meet the same server.
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
            match new_entry(&entries, &reply.text, count + 1) {
                Some(entry) => entries = format!("{entries}\n{entry}"),
                None => break,
            }
        }
        let basis = echo_basis(&self.prompts, job)?;
        let built = plan::parse_plan(&entries)
            .map_err(|e| e.to_string())
            .map(|raw| drop_echoes(raw, &basis, &job.instruction))
            .and_then(|raw| plan::build_plan(raw, job.target_words).map_err(|e| e.to_string()));
        Ok(match built {
            Ok(plan) => plan,
            Err(reason) => {
                let plan = plan::fallback_plan(job.target_words, job.language == Language::Chinese);
                self.emit(JobEvent::Warning {
                    message: format!(
                        "the model's contents could not be used ({reason}); writing {} evenly \
                         split sections instead",
                        plan.sections.len()
                    ),
                });
                plan
            }
        })
    }
}

/// The title and the subject line of the document for `instruction`: "Write a 1,000-word story
/// about a lighthouse keeper" becomes "A story about a lighthouse keeper" and "A 1,000-word
/// story about a lighthouse keeper."; an instruction without a leading verb is its own subject.
pub fn title_and_subject(instruction: &str) -> (String, String) {
    let first = instruction.trim().lines().next().unwrap_or_default().trim();
    let rest = VERBS.iter().find_map(|verb| {
        let head = first.get(..verb.len())?;
        let rest = &first[verb.len()..];
        (head.eq_ignore_ascii_case(verb) && rest.starts_with(' ')).then(|| rest.trim())
    });
    let Some(rest) = rest.filter(|r| !r.is_empty()) else {
        return (short_title(first), instruction.trim().to_string());
    };
    let mut subject = capitalized(rest);
    if !subject.ends_with(['.', '!', '?']) {
        subject.push('.');
    }
    let without_length: Vec<&str> = rest
        .split_whitespace()
        .filter(|w| {
            let w = w.to_lowercase();
            !w.contains(|c: char| c.is_ascii_digit()) && !matches!(w.as_str(), "word" | "words")
        })
        .collect();
    (short_title(&without_length.join(" ")), subject)
}

/// `text` up to its first clause break, at most `TITLE_WORDS` words, capitalized.
fn short_title(text: &str) -> String {
    let clause = text
        .split([
            ',', ';', ':', '.', '?', '!', '，', '。', '；', '：', '？', '！',
        ])
        .next()
        .unwrap_or_default();
    let words: Vec<&str> = clause.split_whitespace().take(TITLE_WORDS).collect();
    let title = match words.len() {
        0 | 1 => words.concat().chars().take(TITLE_CHARS).collect(),
        _ => words.join(" "),
    };
    capitalized(&title)
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The request that continues the table of contents for `job`.
pub fn contents_request(prompts: &Prompts, job: &Job) -> Result<CompletionRequest, PromptError> {
    let (title, subject) = title_and_subject(&job.instruction);
    let sections = suggested_sections(job.target_words);
    let prompt = render_contents(prompts, job, &title, &subject)?;
    Ok(CompletionRequest {
        prompt,
        max_tokens: (sections as u32).saturating_mul(40).saturating_add(64),
        sampling: job.settings.sampling.clone(),
        stop: CONTENTS_STOPS.iter().map(|s| s.to_string()).collect(),
    })
}

fn render_contents(
    prompts: &Prompts,
    job: &Job,
    title: &str,
    subject: &str,
) -> Result<String, PromptError> {
    prompts.render(
        "contents.md",
        &json!({
            "title": title,
            "subject": subject,
            "target_words": job.target_words,
            "unit": unit(job.language),
            "sections": suggested_sections(job.target_words),
        }),
    )
}

/// The contents prompt without the title and subject (which come from the user's words), so
/// that an entry made of them is not taken for an echo of our own wording.
fn echo_basis(prompts: &Prompts, job: &Job) -> Result<String, PromptError> {
    render_contents(prompts, job, "", "")
}

/// Requests that continue a table of contents the model stopped short (at most).
const MAX_CONTENTS_TOP_UPS: usize = 8;

/// Room for one more contents entry.
const TOP_UP_TOKENS: u32 = 48;

/// The entry numbered `number` that `reply` continues the contents `entries` with, unless it
/// has no title or repeats an earlier one (the list is then done).
pub fn new_entry(entries: &str, reply: &str, number: usize) -> Option<String> {
    let prefix = format!("{number}.");
    let text = format!("{prefix}{reply}");
    let line = text.lines().next()?.trim_end();
    let title = line[prefix.len()..].trim();
    // The title without its word count, to compare.
    let key = |t: &str| t.split(" (").next().unwrap_or(t).trim().to_lowercase();
    let seen = entries
        .lines()
        .filter_map(|l| l.split_once(['.', ')']).map(|(_, t)| key(t)))
        .any(|t| t == key(title));
    let usable = !title.is_empty() && !title.starts_with(|c: char| c.is_ascii_digit() || c == '#');
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
        if !rest.trim().is_empty() && !sub {
            entries.push(line);
        }
    }
    entries.join("\n")
}

/// The document so far as the prompt of section `index`'s next generation: the head (title,
/// contents, summaries of the compacted sections), the sections after the compaction point
/// under their headings, then section `index`'s heading and its text so far.
pub fn document_prompt(
    prompts: &Prompts,
    document: &Document,
    index: usize,
) -> Result<String, PromptError> {
    let upto = document.memory.compacted.min(index);
    let sections = &document.plan.sections;
    let (title, subject) = title_and_subject(&document.instruction);
    let contents: Vec<serde_json::Value> = sections
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"number": i + 1, "title": s.title, "target_words": s.target_words}))
        .collect();
    let (shown, _) = document.memory.shown(upto);
    let summaries: Vec<serde_json::Value> = shown
        .iter()
        .map(|(i, s)| json!({"number": i + 1, "title": sections[*i].title, "summary": s.text}))
        .collect();
    let head = prompts.render(
        "document.md",
        &json!({
            "title": title,
            "subject": subject,
            "unit": unit(document.language),
            "contents": contents,
            "last": upto,
            "summaries": summaries,
            "record": document.memory.record(upto),
        }),
    )?;
    let mut out = tidy(&head);
    out.push_str("\n\n");
    let done = sections.iter().zip(&document.drafts).enumerate();
    for (i, (section, draft)) in done.take(index).skip(upto) {
        let text = draft.text();
        out += &format!("## {}. {}\n\n{}\n\n", i + 1, section.title, text.trim());
    }
    out += &format!("## {}. {}\n\n", index + 1, sections[index].title);
    out += document.drafts[index].text().trim_start();
    Ok(out)
}

/// `text` with runs of blank lines cut to one and no trailing whitespace.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim().lines() {
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line.trim_end());
    }
    out
}

/// The completion request for section `index`: `document_prompt`, room for `words_wanted`,
/// stopping at the next heading.
pub fn document_request(
    prompts: &Prompts,
    document: &Document,
    index: usize,
    job: &Job,
    words_wanted: usize,
) -> Result<CompletionRequest, PromptError> {
    Ok(CompletionRequest {
        prompt: document_prompt(prompts, document, index)?,
        max_tokens: token_budget(words_wanted, document.language),
        sampling: job.settings.sampling.clone(),
        stop: SECTION_STOPS.iter().map(|s| s.to_string()).collect(),
    })
}

#[cfg(test)]
#[path = "completion_tests.rs"]
mod tests;
