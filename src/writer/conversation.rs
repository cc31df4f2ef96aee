//! The request layout: one conversation per document.
//!
//! The first user turn holds the instruction, the whole plan and the step for section 1; then
//! each section adds its assistant text and the next step as a user turn. So request k followed
//! by the text generated for it is exactly the beginning of request k+1, and a server with a
//! prefix cache computes only the new step. (AgentWrite's original layout puts the step after
//! the text in one message, which makes every step recompute the paragraph just written.)
//!
//! When the first `c` sections are compacted (see `memory`), the conversation starts at
//! section `c` instead: its first user turn holds the instruction, the plan from section c+1
//! on, the memory block (summaries and the running record) and the step of section c+1, and
//! the turns go on from there as before. The prefix changes only when `c` does.

use super::document::Document;
use super::length::token_budget;
use super::Job;
use crate::backend::{ChatMessage, GenerationRequest};
use crate::plan::Plan;
use crate::prompt::{PromptError, Prompts};
use crate::text::Language;
use serde_json::json;

/// The unit lengths are counted in.
pub fn unit(language: Language) -> &'static str {
    match language {
        Language::English => "words",
        Language::Chinese => "字",
    }
}

pub(super) fn language_name(language: Language) -> &'static str {
    match language {
        Language::English => "english",
        Language::Chinese => "chinese",
    }
}

/// Sections to suggest to the planner: about 600 words each.
pub fn suggested_sections(target_words: usize) -> usize {
    target_words
        .div_ceil(600)
        .clamp(1, crate::plan::MAX_SECTIONS)
}

/// The plan request; `retry_reason` is empty on the first try.
pub fn plan_request(
    prompts: &Prompts,
    job: &Job,
    retry_reason: &str,
) -> Result<GenerationRequest, PromptError> {
    let content = prompts.render(
        "plan.md",
        &json!({
            "instruction": job.instruction,
            "target_words": job.target_words,
            "unit": unit(job.language),
            "language": language_name(job.language),
            "suggested_sections": suggested_sections(job.target_words),
            "retry_reason": retry_reason,
        }),
    )?;
    let sections = suggested_sections(job.target_words);
    Ok(GenerationRequest {
        messages: vec![ChatMessage::user(content)],
        max_tokens: (sections as u32).saturating_mul(80).clamp(512, 16_000),
        sampling: job.settings.sampling.clone(),
        stop: Vec::new(),
    })
}

/// The user turn that asks for section `index`; the first one also carries the instruction
/// and the plan.
pub fn step_turn(
    prompts: &Prompts,
    document: &Document,
    index: usize,
) -> Result<ChatMessage, PromptError> {
    let plan = &document.plan;
    let section = &plan.sections[index];
    let step = prompts.render(
        "step.md",
        &json!({
            "number": index + 1,
            "count": plan.is_complete().then_some(plan.sections.len()),
            "chapter": chapter_of(plan, index),
            "title": section.title,
            "main_point": section.main_point,
            "target_words": section.target_words,
            "unit": unit(document.language),
            "is_first": index == 0,
            "is_last": index + 1 == plan.sections.len() && plan.is_complete(),
        }),
    )?;
    if index > 0 {
        return Ok(ChatMessage::user(step));
    }
    let header = header(prompts, document, 0)?;
    Ok(ChatMessage::user(format!("{header}\n\n{step}")))
}

/// The chapter of section `index`, for the step: its number, title and point.
fn chapter_of(plan: &Plan, index: usize) -> Option<serde_json::Value> {
    let c = plan.chapter_of(index)?;
    let chapter = &plan.chapters[c];
    Some(json!({
        "number": c + 1,
        "count": plan.chapters.len(),
        "title": chapter.title,
        "main_point": chapter.main_point,
    }))
}

/// The chapters of `plan`, numbered, for the templates (empty for a flat plan).
pub fn chapter_entries(plan: &Plan) -> Vec<serde_json::Value> {
    plan.chapters
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"number": i + 1, "title": c.title, "main_point": c.main_point, "target_words": c.target_words}))
        .collect()
}

/// The instruction and the plan from section `from` on.
fn header(prompts: &Prompts, document: &Document, from: usize) -> Result<String, PromptError> {
    let count = document.plan.sections.len();
    let shown = match document.memory.plan_horizon {
        0 => count,
        h => h.min(count),
    };
    let end = (from + shown).min(count);
    prompts.render(
        "write.md",
        &json!({
            "instruction": document.instruction,
            "target_words": document.target_words,
            "unit": unit(document.language),
            "language": language_name(document.language),
            "sections": plan_entries(&document.plan, from, end),
            "written_before": from,
            "later": count - end,
            "chapters": chapter_entries(&document.plan),
            "last_title": document.plan.sections.last().map_or("", |s| s.title.as_str()),
        }),
    )
}

fn plan_entries(plan: &Plan, from: usize, end: usize) -> Vec<serde_json::Value> {
    plan.sections[from.min(end)..end]
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"number": from + i + 1, "title": s.title, "main_point": s.main_point, "target_words": s.target_words}))
        .collect()
}

/// The plan entries a conversation can afford to show: all when the whole plan takes at most
/// an eighth of `window_tokens` (estimated at `tokens_per_entry` each), else as many as fit
/// in that eighth, at least 6.
pub fn plan_horizon(sections: usize, tokens_per_entry: usize, window_tokens: usize) -> usize {
    let affordable = window_tokens / 8 / tokens_per_entry.max(1);
    if sections <= affordable {
        0
    } else {
        affordable.max(6)
    }
}

/// The first user turn of a conversation compacted at `upto` (> 0): the instruction, the
/// plan from section `upto + 1` on, the memory block and the step of section `upto + 1`.
pub fn compacted_opening(
    prompts: &Prompts,
    document: &Document,
    upto: usize,
) -> Result<ChatMessage, PromptError> {
    let memory = &document.memory;
    let (shown, omitted) = memory.shown(upto);
    let summaries: Vec<serde_json::Value> = shown
        .iter()
        .map(|(i, s)| json!({"number": i + 1, "title": document.plan.sections[*i].title, "summary": s.text}))
        .collect();
    let block = prompts.render(
        "memory.md",
        &json!({
            "last": upto,
            "omitted": omitted,
            "summaries": summaries,
            "record": memory.record(upto),
            "unit": unit(document.language),
        }),
    )?;
    let header = header(prompts, document, upto)?;
    let step = step_turn(prompts, document, upto)?;
    Ok(ChatMessage::user(format!(
        "{header}\n\n{block}\n\n{}",
        step.content
    )))
}

/// The conversation for section `index`: from its start, or from the compaction point (with
/// the compacted opening in place of that section's step turn), through section `index`'s
/// own turns so far.
pub fn messages(
    prompts: &Prompts,
    document: &Document,
    index: usize,
) -> Result<Vec<ChatMessage>, PromptError> {
    let upto = document.memory.compacted.min(index);
    // The opening is rendered afresh (its plan view follows the horizon), in place of the
    // step turn saved with the section.
    let opening = match upto {
        0 => step_turn(prompts, document, 0)?,
        _ => compacted_opening(prompts, document, upto)?,
    };
    let mut messages = vec![opening];
    for (i, draft) in document.drafts[upto..=index].iter().enumerate() {
        let skip = usize::from(i == 0);
        messages.extend(draft.turns.iter().skip(skip).cloned());
    }
    Ok(messages)
}

/// The summary request for section `index`, whose text is `text` (cut to fit by the caller).
pub fn summary_request(
    prompts: &Prompts,
    document: &Document,
    index: usize,
    text: &str,
    job: &Job,
    limits: super::memory::Limits,
) -> Result<GenerationRequest, PromptError> {
    let content = prompts.render(
        "summarize.md",
        &json!({
            "number": index + 1,
            "title": document.plan.sections[index].title,
            "instruction": document.instruction,
            "text": text,
            "record": document.memory.record(index),
            "summary_words": limits.summary * 2 / 3,
            "record_words": limits.record * 2 / 3,
            "language": language_name(document.language),
        }),
    )?;
    let words = limits.summary + limits.record;
    Ok(GenerationRequest {
        messages: vec![ChatMessage::user(content)],
        max_tokens: token_budget(words, document.language),
        sampling: job.settings.sampling.clone(),
        stop: Vec::new(),
    })
}

/// The user turn that asks to continue a section that stopped early.
pub fn continue_turn(
    prompts: &Prompts,
    document: &Document,
    index: usize,
    words_written: usize,
) -> Result<ChatMessage, PromptError> {
    let vars = progress_vars(document, index, words_written);
    Ok(ChatMessage::user(prompts.render("continue.md", &vars)?))
}

/// The user turn that asks for the rest of section `index` after a guard stopped it: why
/// (`kind`), and what to do instead.
pub fn guard_turn(
    prompts: &Prompts,
    document: &Document,
    index: usize,
    words_written: usize,
    kind: super::guard::GuardKind,
) -> Result<ChatMessage, PromptError> {
    let mut vars = progress_vars(document, index, words_written);
    vars["kind"] = json!(kind.name());
    Ok(ChatMessage::user(prompts.render("guard.md", &vars)?))
}

/// The variables of a request for the rest of section `index`: which section, the words
/// written and the words still wanted (at least one).
fn progress_vars(document: &Document, index: usize, words_written: usize) -> serde_json::Value {
    let section = &document.plan.sections[index];
    json!({
        "number": index + 1,
        "title": section.title,
        "words_written": words_written,
        "words_remaining": section.target_words.saturating_sub(words_written).max(1),
        "unit": unit(document.language),
    })
}

/// The request for the next generation of section `index`: the conversation (see
/// `messages`), which ends with a user turn.
pub fn section_request(
    prompts: &Prompts,
    document: &Document,
    index: usize,
    job: &Job,
    words_wanted: usize,
) -> Result<GenerationRequest, PromptError> {
    Ok(GenerationRequest {
        messages: messages(prompts, document, index)?,
        max_tokens: token_budget(words_wanted, document.language),
        sampling: job.settings.sampling.clone(),
        stop: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fallback_plan;
    use crate::writer::memory::Summary;
    use crate::writer::SectionDraft;

    fn document(sections: usize) -> (Prompts, Document) {
        let prompts = Prompts::builtin();
        let plan = fallback_plan(sections * 800, false);
        let mut doc = Document::new(
            "Write about a keeper".into(),
            sections * 800,
            Language::English,
            plan,
        );
        for i in 0..sections {
            let step = step_turn(&prompts, &doc, i).expect("step");
            doc.drafts[i] = SectionDraft {
                turns: vec![
                    step,
                    ChatMessage::assistant(format!("Text of section {}.", i + 1)),
                ],
            };
            doc.memory.summaries[i] = Some(Summary {
                text: format!("Summary of section {}.", i + 1),
                record: format!("Record after {}.", i + 1),
                fallback: false,
            });
        }
        doc.memory.shown_words = 100;
        (prompts, doc)
    }

    #[test]
    fn a_compacted_conversation_keeps_its_prefix_between_compactions() {
        let (prompts, mut doc) = document(6);
        doc.memory.compacted = 2;
        let third = messages(&prompts, &doc, 3).expect("messages");
        let fourth = messages(&prompts, &doc, 4).expect("messages");
        assert_eq!(
            fourth[..third.len()],
            third[..],
            "request k is the start of request k+1"
        );
        assert_eq!(fourth.len(), third.len() + 2);
        let opening = &third[0].content;
        assert!(
            opening.contains("Summary of section 1.") && opening.contains("Summary of section 2.")
        );
        assert!(opening.contains("Record after 2.") && !opening.contains("Record after 3."));
        assert!(!opening.contains("Text of section 1.") && !opening.contains("Text of section 2."));
        assert!(
            opening.contains("Write about a keeper"),
            "the instruction stays"
        );
        assert!(opening.contains("Now write section 3 of 6"), "{opening}");
        assert!(
            !opening.contains("1. Introduction: Introduce the topic"),
            "the plan starts after the summaries"
        );
        assert!(third.iter().any(|m| m.content == "Text of section 3."));
    }

    #[test]
    fn without_compaction_the_conversation_is_the_whole_history() {
        let (prompts, doc) = document(3);
        let all = messages(&prompts, &doc, 2).expect("messages");
        assert_eq!(all.len(), 6);
        assert!(all[0].content.contains("1. Introduction"));
        assert!(all.iter().all(|m| !m.content.contains("Summary of")));
    }
}
