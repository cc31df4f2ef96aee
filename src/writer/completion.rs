//! Completion mode: the document as text for a base model to continue.
//!
//! A model without a chat template (the default Gemma 3 270M) answers a chat-style step with
//! advice about writing, or with the step itself; given the beginning of a document it writes
//! the document. In this mode every request is a raw completion (`Backend::complete`) of a
//! document-shaped prompt (`prompts/document.md`): the title, the plan as a table of contents
//! (titles only: a base model copies word counts into its text), a block of summaries once the
//! early sections are compacted (see `memory`), the recent sections verbatim under their
//! headings, then the next heading and the section's text so far. Request k+1 is request k,
//! its text and the next heading, so prefix caches stay warm as in chat mode; the prefix
//! changes only when the compaction point moves. A section's requests carry a repetition
//! penalty unless the user chose one, and ask for prose only (no heading, no escape, where the
//! backend can ban tokens): without them a base model loops or ends a section after a
//! paragraph. A section ends at the next heading (`SECTION_STOPS`), at `max_tokens`, or at the
//! word bound, and `section` continues or cuts it as in chat mode. The plans come from
//! continuing tables of contents (`contents`). Drafts keep the same turns as in chat mode (so
//! a project can be resumed in either mode); only their text is used here.

use super::conversation::unit;
use super::document::Document;
use super::length::token_budget;
use super::{Job, Writer};
use crate::backend::{CompletionRequest, PromptMode};
use crate::prompt::{PromptError, Prompts};
use serde_json::json;

/// Where a section's generation stops: any new heading.
pub const SECTION_STOPS: &[&str] = &["\n#"];
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
pub(super) fn tidy(text: &str) -> String {
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

/// The repetition penalty of a section's text when the user set none. Without one, Gemma 3
/// 270M continuing a document loops ("I had to be a lighthouse keeper." to the end of the
/// budget); with 1.15 over the last 256 tokens it writes on (see docs/completion.md).
pub const SECTION_REPETITION_PENALTY: f32 = 1.15;

/// The penalty window of a section's text when the user set none.
pub const SECTION_REPEAT_LAST_N: u32 = 256;

/// The completion request for section `index`: `document_prompt`, room for `words_wanted`,
/// stopping at the next heading (which the backends that can ban tokens do not let the model
/// start), with the section's repetition penalty unless the user chose one.
pub fn document_request(
    prompts: &Prompts,
    document: &Document,
    index: usize,
    job: &Job,
    words_wanted: usize,
) -> Result<CompletionRequest, PromptError> {
    let mut sampling = job.settings.sampling.clone();
    sampling
        .repetition_penalty
        .get_or_insert(SECTION_REPETITION_PENALTY);
    sampling.repeat_last_n.get_or_insert(SECTION_REPEAT_LAST_N);
    Ok(CompletionRequest {
        prompt: document_prompt(prompts, document, index)?,
        max_tokens: token_budget(words_wanted, document.language),
        sampling,
        stop: SECTION_STOPS.iter().map(|s| s.to_string()).collect(),
        prose_only: true,
    })
}

#[cfg(test)]
#[path = "completion_tests.rs"]
mod tests;
