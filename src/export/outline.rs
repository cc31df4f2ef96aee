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
    /// 1 for chapters (in a plan with chapters), 2 for sections.
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

/// The level of chapter headings, in a plan with chapters.
pub const CHAPTER_LEVEL: u8 = 1;

/// The level of section headings: below the title and the chapters.
pub const SECTION_LEVEL: u8 = 2;

/// The headings of `plan` in order, each with the section whose text follows it: a chapter's
/// heading (level 1, no section: `None`) before the first section of each chapter, then one
/// level-2 heading per section.
pub fn headings(plan: &Plan) -> Vec<(Option<usize>, Heading)> {
    let mut out = Vec::with_capacity(plan.sections.len() + plan.chapters.len());
    let mut shown = None;
    for (i, s) in plan.sections.iter().enumerate() {
        let chapter = plan.chapter_of(i);
        if let Some(c) = chapter.filter(|c| shown != Some(*c)) {
            shown = chapter;
            out.push((
                None,
                Heading {
                    level: CHAPTER_LEVEL,
                    title: plan.chapters[c].title.trim().to_string(),
                    anchor: format!("c{:03}", c + 1),
                },
            ));
        }
        let heading = Heading {
            level: SECTION_LEVEL,
            title: s.title.trim().to_string(),
            anchor: format!("s{:03}", i + 1),
        };
        out.push((Some(i), heading));
    }
    out
}

/// The headings of the text written so far: sections with text, and the chapters that hold
/// at least one of them.
pub fn written_headings(document: &Document) -> Vec<(Option<usize>, Heading)> {
    let has_text = |i: usize| {
        document
            .drafts
            .get(i)
            .is_some_and(|d| !d.text().trim().is_empty())
    };
    let kept: Vec<_> = headings(&document.plan)
        .into_iter()
        .filter(|(section, _)| section.is_none_or(has_text))
        .collect();
    // A chapter heading stays when a section heading follows it before the next chapter.
    let mut out = Vec::with_capacity(kept.len());
    for (k, item) in kept.iter().enumerate() {
        let followed = kept.get(k + 1).is_some_and(|(s, _)| s.is_some());
        if item.0.is_some() || followed {
            out.push(item.clone());
        }
    }
    out
}

/// The document's parts in reading order; sections with no text yet are left out (the
/// document so far, the unfinished section included), and so are chapters with none.
pub fn outline(document: &Document) -> Vec<Part> {
    written_headings(document)
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
