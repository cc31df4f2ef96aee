//! Writing one section: generate, then continue or cut until its length is acceptable.
//!
//! A `length` stop below the target is continued; a section under 60% of its target is
//! continued once (in completion mode up to six times, while each continuation adds at least
//! 20 words or the section is still empty), each time with a fixed seed moved on; one past 150%
//! is cut at the last sentence end under that bound; a stream that breaks after some text is
//! continued from that text. A guard incident (a loop, a copy, an echo) drops the bad tail and
//! asks again with a nudge and a frequency penalty, a bounded number of times; then the
//! trimmed text stands.

use super::conversation::{continue_turn, guard_turn, step_turn};
use super::document::Document;
use super::fit::SectionSink;
use super::generate::{Ending, Generated};
use super::guard::{Guard, Incident};
use super::length::{cut_for_target, cut_to_words, is_short, upper_bound};
use super::{Job, JobEvent, Writer, WriterError};
use crate::backend::{ChatMessage, FinishReason, Role, Usage};
use crate::plan::SectionState;
use crate::text::count_words;

/// Continuations of a short section in completion mode (chat mode: one).
const SHORT_CONTINUATIONS_COMPLETION: u32 = 6;

/// Words a continuation of a short section must have added for another to be asked.
const MIN_PROGRESS: usize = 20;

/// In completion mode a model ends a section by starting the next heading. The `"\n#"` stop
/// string misses a heading at the very start of a generation (a continuation whose prompt
/// ended in a blank line), so a generation is cut at its first heading line here, as if it
/// had stopped there; a guarded one keeps its incident, and what it keeps ends there too.
fn cut_at_heading(mut generated: Generated) -> Generated {
    let at = if generated.text.trim_start().starts_with('#') {
        Some(0)
    } else {
        generated.text.find("\n#")
    };
    if let Some(at) = at {
        generated.text.truncate(at);
        if !matches!(generated.ending, Ending::Cancelled | Ending::Guarded(_)) {
            generated.ending = Ending::Finished(FinishReason::Stop);
        }
    }
    generated
}

/// What the loop does after one generation.
enum Next {
    Continue(&'static str),
    CutToSentence,
    Finish,
}

pub(super) async fn write_section(
    writer: &Writer,
    job: &Job,
    document: &mut Document,
    index: usize,
) -> Result<(), WriterError> {
    let target = document.plan.sections[index].target_words;
    let bound = upper_bound(target);
    document.plan.sections[index].state = SectionState::Writing;
    document.memory.forget(index);
    let draft_has_text = document.drafts[index].words() > 0;
    if document.drafts[index].turns.is_empty() {
        let turn = step_turn(&writer.prompts, document, index)?;
        document.drafts[index].turns.push(turn);
    } else if document.drafts[index]
        .turns
        .last()
        .is_some_and(|t| t.role == Role::Assistant)
    {
        let words = document.drafts[index].words();
        let turn = continue_turn(&writer.prompts, document, index, words)?;
        document.drafts[index].turns.push(turn);
    }
    writer.emit(JobEvent::SectionStarted {
        index,
        title: document.plan.sections[index].title.clone(),
        target_words: target,
    });
    if draft_has_text {
        writer.emit(JobEvent::Delta {
            index,
            text: document.drafts[index].text(),
        });
    }
    let mut usage = None;
    let mut written_by: Vec<String> = Vec::new();
    let mut continuations = 0u32;
    // A short section is continued once in chat mode; a base model continuing a document
    // often ends a section after a paragraph by starting the next heading, so in completion
    // mode it is continued again while each continuation adds at least a sentence or two.
    let short_limit = if writer.completion(job) {
        SHORT_CONTINUATIONS_COMPLETION
    } else {
        1
    };
    let (mut short_continuations, mut words_at_short) = (0u32, 0usize);
    let settings = &job.settings.guards;
    let mut guard = settings.enabled.then(|| {
        let earlier: Vec<String> = document.drafts[..index].iter().map(|d| d.text()).collect();
        Guard::new(settings.clone(), earlier.iter().map(String::as_str))
    });
    let mut incidents = 0u32;
    loop {
        let before = document.drafts[index].text();
        let words_before = count_words(&before);
        let wanted = target.saturating_sub(words_before).max(24);
        let sink = SectionSink {
            before: &before,
            max_words: bound,
            words_before,
            guard: guard.as_mut(),
        };
        // Asking again (after an incident, or for more of a short section): a fixed seed moves
        // on, since the same seed on the same prompt gives the same text again.
        let again;
        let asked = match incidents + short_continuations {
            0 => job,
            tries => {
                again = retry_job(job, incidents > 0, tries);
                &again
            }
        };
        let generated = writer
            .run_section(asked, document, index, wanted, sink)
            .await?;
        usage = add_usage(usage, generated.usage);
        let generated = if writer.completion(job) {
            cut_at_heading(generated)
        } else {
            generated
        };
        note_backend(writer, document, &mut written_by);
        let generated = match generated.ending {
            Ending::Guarded(incident) => {
                incidents += 1;
                let retrying = incidents <= settings.retries;
                after_incident(
                    writer,
                    document,
                    index,
                    generated.text,
                    incident,
                    (incidents, retrying),
                )?;
                if retrying {
                    continue;
                }
                break;
            }
            ending => Generated {
                ending,
                ..generated
            },
        };
        document.drafts[index]
            .turns
            .push(ChatMessage::assistant(generated.text));
        let words = document.drafts[index].words();
        let next = match generated.ending {
            Ending::Cancelled => return Err(WriterError::Cancelled),
            Ending::OverBound => Next::Finish,
            Ending::Finished(FinishReason::Length)
                if words < target && continuations < job.settings.max_continuations =>
            {
                Next::Continue("the server stopped at max_tokens")
            }
            Ending::Finished(FinishReason::Length) => Next::CutToSentence,
            Ending::Broken(e) if continuations < job.settings.max_continuations => {
                writer
                    .generator(job)
                    .wait_before(continuations + 2, &e, &writer.events)
                    .await?;
                Next::Continue("the stream broke")
            }
            Ending::Broken(e) => return Err(e.into()),
            Ending::Guarded(_) => Next::Finish,
            Ending::Finished(_)
                if is_short(words, target)
                    && short_continuations < short_limit
                    && (short_continuations == 0
                        || words == 0
                        || words >= words_at_short + MIN_PROGRESS) =>
            {
                short_continuations += 1;
                words_at_short = words;
                Next::Continue("the section is under 60% of its target")
            }
            Ending::Finished(_) => Next::Finish,
        };
        match next {
            Next::Continue(reason) => {
                continuations += 1;
                writer.emit(JobEvent::Continuing {
                    index,
                    words,
                    reason: reason.to_string(),
                });
                let turn = continue_turn(&writer.prompts, document, index, words)?;
                document.drafts[index].turns.push(turn);
            }
            Next::CutToSentence => {
                trim_last_turn(document, index, |t| cut_for_target(t, target).len());
                break;
            }
            Next::Finish => break,
        }
    }
    let text = document.drafts[index].text();
    if count_words(&text) > bound {
        let keep = cut_to_words(&text, bound).len();
        trim_last_turn(document, index, |t| {
            keep.saturating_sub(text.len() - t.len())
        });
    }
    document.plan.sections[index].state = SectionState::Done;
    let text = document.drafts[index].text();
    writer.emit(JobEvent::WrittenBy {
        index,
        backends: written_by,
    });
    writer.emit(JobEvent::SectionDone {
        index,
        words: count_words(&text),
        text,
        usage,
    });
    Ok(())
}

/// Adds who wrote the last generation to `written_by`; when the backend changed since the
/// document last noted it (a fallback chain handed the job on), says so at once.
fn note_backend(writer: &Writer, document: &mut Document, written_by: &mut Vec<String>) {
    let serving = writer.backend.serving();
    let info = writer.backend.info();
    if document.backend.as_ref().is_some_and(|b| *b != info) {
        writer.emit(JobEvent::Warning {
            message: format!("the backend changed: {serving} writes now"),
        });
    }
    document.backend = Some(info);
    if written_by.last() != Some(&serving) {
        written_by.push(serving);
    }
}

/// The job for asking again, the `tries`-th time: a fixed seed moved on by `tries`, since the
/// same seed on the same prompt gives the same text again (a base model that opens a section
/// with the next heading does so every time); after a guard incident (`penalize`) also a
/// frequency penalty of at least 0.5 (every OpenAI-compatible server and the engine take it)
/// and a user's repetition penalty raised to at least 1.2 (set by the user, so the server takes
/// it).
fn retry_job(job: &Job, penalize: bool, tries: u32) -> Job {
    let mut job = job.clone();
    let s = &mut job.settings.sampling;
    if penalize {
        s.frequency_penalty = Some(s.frequency_penalty.unwrap_or(0.0).max(0.5));
        s.repetition_penalty = s.repetition_penalty.map(|r| r.max(1.2));
    }
    s.seed = s.seed.map(|seed| seed.wrapping_add(u64::from(tries)));
    job
}

/// Keeps the good part of a guarded generation, announces the incident and, when
/// `retrying`, asks for the rest of the section with a nudge. The bad tail is never stored.
fn after_incident(
    writer: &Writer,
    document: &mut Document,
    index: usize,
    text: String,
    incident: Incident,
    (count, retrying): (u32, bool),
) -> Result<(), WriterError> {
    let kept = text[..incident.keep.min(text.len())].to_string();
    let dropped_words = count_words(&text).saturating_sub(count_words(&kept));
    if !kept.trim().is_empty() {
        document.drafts[index]
            .turns
            .push(ChatMessage::assistant(kept));
    }
    document.count_incident(index);
    let words = document.drafts[index].words();
    let section = document.drafts[index].text();
    writer.emit(JobEvent::Guarded {
        index,
        kind: incident.kind,
        quote: incident.quote,
        dropped_words,
        words,
        incident: count,
        retrying,
        text: section,
    });
    if retrying {
        let nudge = guard_turn(&writer.prompts, document, index, words, incident.kind)?;
        let turns = &mut document.drafts[index].turns;
        let after_request = turns.last().is_some_and(|t| t.role == Role::User);
        // Roles alternate. With nothing kept, the nudge joins the continue request it follows;
        // the first turn is re-rendered for each request, so there an empty answer goes first.
        match (after_request, turns.len(), turns.last_mut()) {
            (true, 1, _) => {
                turns.push(ChatMessage::assistant(""));
                turns.push(nudge);
            }
            (true, _, Some(last)) => {
                last.content = format!("{}\n\n{}", last.content, nudge.content);
            }
            _ => turns.push(nudge),
        }
    } else {
        drop_unanswered(&mut document.drafts[index].turns);
    }
    Ok(())
}

/// Drops the requests left without an answer at the end of a section's turns (and the empty
/// answers before them), so that the next section's step follows an assistant turn; a step
/// with nothing kept gets an empty answer, as an empty reply would.
fn drop_unanswered(turns: &mut Vec<ChatMessage>) {
    while turns.len() > 1
        && turns
            .last()
            .is_some_and(|t| t.role == Role::User || t.content.is_empty())
    {
        turns.pop();
    }
    if turns.len() == 1 {
        turns.push(ChatMessage::assistant(""));
    }
}

/// Cuts the section's text to `keep(text)` bytes by shortening its assistant turns from the
/// end; `keep` sees the whole text and answers how many of its bytes stay.
fn trim_last_turn(document: &mut Document, index: usize, keep: impl Fn(&str) -> usize) {
    let text = document.drafts[index].text();
    let mut excess = text.len().saturating_sub(keep(&text));
    let turns = &mut document.drafts[index].turns;
    while excess > 0 {
        let Some(last) = turns
            .iter_mut()
            .rev()
            .find(|t| t.role == Role::Assistant && !t.content.is_empty())
        else {
            break;
        };
        if last.content.len() <= excess {
            excess -= last.content.len();
            last.content.clear();
        } else {
            let mut cut = last.content.len() - excess;
            while !last.content.is_char_boundary(cut) {
                cut -= 1;
            }
            last.content.truncate(cut);
            excess = 0;
        }
    }
    // Drop a trailing continue request whose answer was cut away entirely.
    while turns.len() > 1
        && turns
            .last()
            .is_some_and(|t| t.role == Role::Assistant && t.content.is_empty())
    {
        turns.pop();
        if turns.len() > 1 && turns.last().is_some_and(|t| t.role == Role::User) {
            turns.pop();
        }
    }
    if let Some(last) = turns.iter_mut().rev().find(|t| t.role == Role::Assistant) {
        let trimmed = last.content.trim_end().len();
        last.content.truncate(trimmed);
    }
}

fn add_usage(total: Option<Usage>, more: Option<Usage>) -> Option<Usage> {
    match (total, more) {
        (Some(a), Some(b)) => Some(Usage {
            prompt_tokens: a.prompt_tokens + b.prompt_tokens,
            completion_tokens: a.completion_tokens + b.completion_tokens,
        }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Language;
    use crate::writer::WriterSettings;

    fn job(seed: Option<u64>) -> Job {
        let mut settings = WriterSettings::default();
        settings.sampling.seed = seed;
        Job {
            instruction: "Write a story".into(),
            target_words: 300,
            language: Language::English,
            settings,
        }
    }

    #[test]
    fn each_retry_moves_a_fixed_seed_on_and_only_an_incident_penalizes_repeats() {
        let first = retry_job(&job(Some(7)), true, 1);
        let second = retry_job(&job(Some(7)), true, 2);
        assert_eq!(first.settings.sampling.seed, Some(8));
        assert_eq!(second.settings.sampling.seed, Some(9));
        assert_eq!(first.settings.sampling.frequency_penalty, Some(0.5));
        let more = retry_job(&job(Some(7)), false, 1);
        assert_eq!(more.settings.sampling.seed, Some(8));
        assert_eq!(more.settings.sampling.frequency_penalty, None);
        let unseeded = retry_job(&job(None), true, 1);
        assert_eq!(
            unseeded.settings.sampling.seed, None,
            "no seed stays random"
        );
    }
}
