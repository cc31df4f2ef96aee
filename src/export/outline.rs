//! The document as every format reads it: headings and paragraphs in reading order.
//!
//! `outline` is the one place that maps the plan to headings, so that a new level (chapters
//! above sections) changes this file and no format: each format only knows heading levels
//! (1 the highest) and paragraphs. Summaries are never part of it: only the sections' text.

use crate::plan::Plan;
use crate::writer::Document;

/// One heading of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// 1 for the highest level a plan has (chapters, once plans have them), 2 for sections.
    pub level: u8,
    /// The title as planned.
    pub title: String,
    /// A stable, unique id for links and file names (`s001` for section 1).
    pub anchor: String,
}

/// A heading with the paragraphs under it, up to the next heading (none for a heading that
/// only groups the sections below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The heading.
    pub heading: Heading,
    /// Its paragraphs, trimmed, none empty.
    pub paragraphs: Vec<String>,
}

/// The level of section headings: below the title (and, once plans have them, chapters).
pub const SECTION_LEVEL: u8 = 2;

/// The headings of `plan` in order, each with the section whose text follows it. One per
/// section today; chapters slot in here as level-1 headings with no section (`None`) before
/// the first section of each chapter.
pub fn headings(plan: &Plan) -> Vec<(Option<usize>, Heading)> {
    plan.sections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let heading = Heading {
                level: SECTION_LEVEL,
                title: s.title.trim().to_string(),
                anchor: format!("s{:03}", i + 1),
            };
            (Some(i), heading)
        })
        .collect()
}

/// The document's parts in reading order; sections with no text yet are left out (the
/// document so far, the unfinished section included).
pub fn outline(document: &Document) -> Vec<Part> {
    headings(&document.plan)
        .into_iter()
        .filter_map(|(section, heading)| {
            let Some(i) = section else {
                return Some(Part {
                    heading,
                    paragraphs: Vec::new(),
                });
            };
            let paragraphs = paragraphs(&document.drafts.get(i)?.text());
            (!paragraphs.is_empty()).then_some(Part {
                heading,
                paragraphs,
            })
        })
        .collect()
}

/// The paragraphs of a section's text: its non-blank lines, trimmed. Models separate
/// paragraphs by blank lines in English and often by single line breaks in Chinese; both end
/// up as one paragraph per line.
pub fn paragraphs(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The document's whole text: its sections' text joined by blank lines, without headings (what
/// the model wrote, as the SFT record's assistant turn).
pub fn full_text(document: &Document) -> String {
    document
        .drafts
        .iter()
        .map(|d| d.text().trim().to_string())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_split_on_lines_and_drop_blanks() {
        assert_eq!(
            paragraphs("  One.\n\nTwo\n第三段。\n   \n"),
            vec!["One.", "Two", "第三段。"]
        );
    }
}
