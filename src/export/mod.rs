//! Turning a document into files: markdown (section titles as `##` headings, chapter titles as
//! `#` headings above them) and plain text.
//!
//! Pure rendering here; `output` writes the file (atomically for regular files, through for
//! devices and FIFOs, following symbolic links), so a reader never sees half a file, a crash
//! never leaves one, and `-o /dev/null` stays a device.

mod output;

pub use output::{check_writable, is_replaced, write_atomic};

use crate::writer::Document;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown with `##` headings per section.
    Md,
    /// Plain text with titles on their own lines.
    Txt,
}

const FALLBACK_NOTE: &str =
    "The model's plan could not be used, so this text follows an evenly split fallback plan.";

/// Renders the document's text so far, the unfinished section included.
pub fn render(document: &Document, format: Format) -> String {
    let mut out = String::new();
    if document.plan.fallback {
        match format {
            Format::Md => out.push_str(&format!("<!-- longwriter: {FALLBACK_NOTE} -->\n\n")),
            Format::Txt => out.push_str(&format!("[longwriter: {FALLBACK_NOTE}]\n\n")),
        }
    }
    let mut chapter_shown = None;
    for (i, (section, draft)) in document
        .plan
        .sections
        .iter()
        .zip(&document.drafts)
        .enumerate()
    {
        let text = draft.text();
        if text.trim().is_empty() {
            continue;
        }
        let chapter = document.plan.chapter_of(i);
        if let Some(c) = chapter.filter(|c| chapter_shown != Some(*c)) {
            chapter_shown = chapter;
            let title = &document.plan.chapters[c].title;
            match format {
                Format::Md => out.push_str(&format!("# {title}\n\n")),
                Format::Txt => out.push_str(&format!("{}\n\n", title.to_uppercase())),
            }
        }
        match format {
            Format::Md => out.push_str(&format!("## {}\n\n{}\n\n", section.title, text.trim())),
            Format::Txt => out.push_str(&format!("{}\n\n{}\n\n", section.title, text.trim())),
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ChatMessage;
    use crate::plan::{Plan, Section, SectionState};
    use crate::text::Language;
    use crate::writer::SectionDraft;

    fn doc(fallback: bool) -> Document {
        let section = |t: &str| Section {
            title: t.into(),
            main_point: "p".into(),
            target_words: 10,
            state: SectionState::Done,
        };
        let plan = Plan {
            sections: vec![section("One"), section("Two")],
            fallback,
            chapters: Vec::new(),
        };
        let mut d = Document::new("i".into(), 20, Language::English, plan);
        d.drafts[0] = SectionDraft {
            turns: vec![
                ChatMessage::user("s"),
                ChatMessage::assistant("First text."),
            ],
        };
        d.drafts[1] = SectionDraft {
            turns: vec![ChatMessage::user("s"), ChatMessage::assistant("Second.")],
        };
        d
    }

    #[test]
    fn chapters_are_headings_above_their_sections() {
        let mut d = doc(false);
        d.plan.chapters = vec![crate::plan::Chapter {
            title: "Early days".into(),
            main_point: "p".into(),
            target_words: 20,
            sections: 2,
            planned: true,
        }];
        let md = render(&d, Format::Md);
        assert!(md.starts_with("# Early days\n\n## One\n\n"), "{md}");
        assert_eq!(md.matches("# Early days").count(), 1);
        let txt = render(&d, Format::Txt);
        assert!(txt.starts_with("EARLY DAYS\n\nOne\n\n"), "{txt}");
    }

    #[test]
    fn markdown_has_headings_in_order() {
        assert_eq!(
            render(&doc(false), Format::Md),
            "## One\n\nFirst text.\n\n## Two\n\nSecond.\n"
        );
    }

    #[test]
    fn fallback_is_flagged() {
        assert!(render(&doc(true), Format::Md).starts_with("<!-- longwriter: The model's plan"));
        assert!(render(&doc(true), Format::Txt).starts_with("[longwriter:"));
    }
}
