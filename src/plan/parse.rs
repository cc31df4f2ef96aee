//! The entry point of plan reading, [`parse_plan`]: normalises the reply
//! (line endings, invisible characters), reads it both as JSON and as text
//! lines, keeps the better reading, and drops repeated entries (base models
//! sometimes write their plan twice).

use super::{json, lines, text, PlanError, RawSection};

/// How much of the reply is quoted back in a [`PlanError::NoSections`].
const EXCERPT_CHARS: usize = 160;

/// Reads the plan entries in a model's reply, tolerating the AgentWrite line
/// format, markdown lists, headings and tables, JSON (fenced or not), Chinese
/// plans and chatter around the plan. Lines that are not plan entries are
/// ignored; word counts may be missing.
pub fn parse_plan(reply: &str) -> Result<Vec<RawSection>, PlanError> {
    let text = normalize(reply);
    if text.trim().is_empty() {
        return Err(PlanError::EmptyReply);
    }
    let from_json = json::parse_json(&text);
    let from_lines = lines::parse_lines(&text);
    let score = |s: &[RawSection]| {
        let counted = s.iter().filter(|r| r.target_words.is_some()).count();
        (counted, s.len())
    };
    let best = if score(&from_json) >= score(&from_lines) {
        from_json
    } else {
        from_lines
    };
    let sections = dedup(best);
    if sections.is_empty() {
        return Err(PlanError::NoSections {
            excerpt: text::excerpt(&text, EXCERPT_CHARS),
        });
    }
    Ok(sections)
}

/// Unifies line endings and drops byte-order marks and zero-width characters.
fn normalize(reply: &str) -> String {
    reply
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| !matches!(c, '\u{feff}' | '\u{200b}' | '\u{200c}' | '\u{200d}'))
        .map(|c| if c == '\u{a0}' { ' ' } else { c })
        .collect()
}

/// Drops entries whose main point repeats an earlier one.
fn dedup(sections: Vec<RawSection>) -> Vec<RawSection> {
    let mut out: Vec<RawSection> = Vec::with_capacity(sections.len());
    for s in sections {
        if !out.iter().any(|o| o.main_point == s.main_point) {
            out.push(s);
        }
    }
    out
}
