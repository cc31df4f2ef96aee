//! One document's results: the text a reader gets (section headings and text) and its
//! measures (S_l, repetition, echo against the writer's own prompts, sections off target).
//! Pure: the command line hands in the document as the store holds it.

use super::dataset::Item;
use super::proxies::{EchoIndex, Repetition};
use super::report::{DocumentResult, Outcome, Verdict};
use super::score::{length_score, Bucket};
use crate::backend::Role;
use crate::text::count_words;
use crate::writer::Document;

/// The document as a reader gets it: each section's heading and text. (Not the export, whose
/// fallback-plan note is ours, not the model's.)
pub fn response_text(document: &Document) -> String {
    let mut out = String::new();
    for (section, draft) in document.plan.sections.iter().zip(&document.drafts) {
        let text = draft.text();
        if text.trim().is_empty() {
            continue;
        }
        out.push_str(&format!("## {}\n\n{}\n\n", section.title, text.trim()));
    }
    out
}

/// Scores one prompt's document; `None` (no plan was made) scores 0.
pub fn score(
    item: &Item,
    project: String,
    document: Option<&Document>,
    outcome: Outcome,
) -> DocumentResult {
    let mut result = DocumentResult {
        id: item.id.clone(),
        project,
        required: item.length,
        written: 0,
        bucket: Bucket::of(item.length),
        s_l: 0.0,
        outcome,
        repetition: Repetition::default(),
        echo: Default::default(),
        sections_off_target: 0,
        sections: 0,
        verdict: Verdict::NotJudged,
        response: String::new(),
    };
    let Some(doc) = document else {
        return result;
    };
    result.response = response_text(doc);
    result.written = count_words(&result.response);
    result.s_l = length_score(item.length, result.written);
    result.sections = doc.plan.sections.len();
    // What the writer itself sent: the user turns of the conversation (the instruction, the
    // plan, each step and continue request).
    let sent: Vec<&str> = doc
        .drafts
        .iter()
        .flat_map(|d| &d.turns)
        .filter(|t| t.role == Role::User)
        .map(|t| t.content.as_str())
        .collect();
    let index = EchoIndex::new(sent);
    for (section, draft) in doc.plan.sections.iter().zip(&doc.drafts) {
        let text = draft.text();
        result.repetition = result.repetition + Repetition::of(&text);
        result.echo = result.echo + index.measure(&text);
        let words = count_words(&text);
        if words * 2 < section.target_words || words > section.target_words * 2 {
            result.sections_off_target += 1;
        }
    }
    result
}
