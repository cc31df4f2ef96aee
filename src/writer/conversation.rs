//! The request layout: one conversation per document.
//!
//! The first user turn holds the instruction, the whole plan and the step for section 1; then
//! each section adds its assistant text and the next step as a user turn. So request k followed
//! by the text generated for it is exactly the beginning of request k+1, and a server with a
//! prefix cache computes only the new step. (AgentWrite's original layout puts the step after
//! the text in one message, which makes every step recompute the paragraph just written.)

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

fn language_name(language: Language) -> &'static str {
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
            "count": plan.sections.len(),
            "title": section.title,
            "main_point": section.main_point,
            "target_words": section.target_words,
            "unit": unit(document.language),
            "is_first": index == 0,
            "is_last": index + 1 == plan.sections.len(),
        }),
    )?;
    if index > 0 {
        return Ok(ChatMessage::user(step));
    }
    let header = prompts.render(
        "write.md",
        &json!({
            "instruction": document.instruction,
            "target_words": document.target_words,
            "unit": unit(document.language),
            "language": language_name(document.language),
            "sections": plan_entries(plan),
        }),
    )?;
    Ok(ChatMessage::user(format!("{header}\n\n{step}")))
}

fn plan_entries(plan: &Plan) -> Vec<serde_json::Value> {
    plan.sections
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"number": i + 1, "title": s.title, "main_point": s.main_point, "target_words": s.target_words}))
        .collect()
}

/// The user turn that asks to continue a section that stopped early.
pub fn continue_turn(
    prompts: &Prompts,
    document: &Document,
    index: usize,
    words_written: usize,
) -> Result<ChatMessage, PromptError> {
    let section = &document.plan.sections[index];
    let remaining = section.target_words.saturating_sub(words_written).max(1);
    let content = prompts.render(
        "continue.md",
        &json!({
            "number": index + 1,
            "title": section.title,
            "words_written": words_written,
            "words_remaining": remaining,
            "unit": unit(document.language),
        }),
    )?;
    Ok(ChatMessage::user(content))
}

/// The request for the next generation of section `index`: the history, then the section's
/// own turns so far (which end with a user turn).
pub fn section_request(
    document: &Document,
    index: usize,
    job: &Job,
    words_wanted: usize,
) -> GenerationRequest {
    let mut messages = document.history(index);
    messages.extend(document.drafts[index].turns.iter().cloned());
    GenerationRequest {
        messages,
        max_tokens: token_budget(words_wanted, document.language),
        sampling: job.settings.sampling.clone(),
        stop: Vec::new(),
    }
}
