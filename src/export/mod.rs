//! Turning a document into files people read: Markdown (headings from the plan: chapters as
//! `#`, sections as `##`), plain text, standalone HTML, EPUB 3, DOCX, and the JSONL SFT record.
//!
//! Rendering is pure and in memory (`render` for the text formats a running `write` saves,
//! `export` for every format); `output` writes the file (atomically for regular files, through
//! for devices and FIFOs, following symbolic links), so a reader never sees half a file, a
//! crash never leaves one, and `-o /dev/null` stays a device. `outline` is the one map from
//! the plan to headings that every format reads. Summaries are never exported.

mod docx;
mod epub;
mod html;
pub mod outline;
mod output;
pub mod sft;

pub use output::{check_writable, is_replaced, write_atomic};

use crate::text::Language;
use crate::writer::Document;
use std::path::Path;

/// The text formats a running `write` or `resume` saves its document in as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown with `##` headings per section.
    Md,
    /// Plain text with titles on their own lines.
    Txt,
}

/// Every format `export` and the studio's export write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Markdown with `##` headings per section.
    Md,
    /// Plain text with titles on their own lines.
    Txt,
    /// One standalone HTML file: inline CSS, a table of contents, no external assets.
    Html,
    /// An EPUB 3 book: a page per section, a navigation document.
    Epub,
    /// A Word document with heading styles.
    Docx,
    /// One JSON line: the SFT record (instruction, full text, plan, counts, backend, timings).
    Jsonl,
}

impl ExportFormat {
    /// Every format, in the order help and messages list them.
    pub const ALL: [Self; 6] = [
        Self::Md,
        Self::Txt,
        Self::Html,
        Self::Epub,
        Self::Docx,
        Self::Jsonl,
    ];

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Md => "md",
            Self::Txt => "txt",
            Self::Html => "html",
            Self::Epub => "epub",
            Self::Docx => "docx",
            Self::Jsonl => "jsonl",
        }
    }

    /// The format an extension names (case-insensitive; `markdown`, `text` and `htm` too).
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "md" | "markdown" => Some(Self::Md),
            "txt" | "text" => Some(Self::Txt),
            "html" | "htm" | "xhtml" => Some(Self::Html),
            "epub" => Some(Self::Epub),
            "docx" => Some(Self::Docx),
            "jsonl" => Some(Self::Jsonl),
            _ => None,
        }
    }

    /// The format of `path`: `given` when there is one, else the extension's; a path with no
    /// extension is Markdown (as `export` always wrote), one with an unknown extension an
    /// error that names the known formats.
    pub fn for_path(path: &Path, given: Option<Self>) -> Result<Self, ExportError> {
        if let Some(format) = given {
            return Ok(format);
        }
        match path.extension() {
            None => Ok(Self::Md),
            Some(ext) => {
                let ext = ext.to_string_lossy();
                Self::from_extension(&ext).ok_or_else(|| ExportError::UnknownFormat {
                    extension: ext.into_owned(),
                })
            }
        }
    }

    /// The known formats as `md, txt, ...`, for messages.
    pub fn known() -> String {
        Self::ALL.map(Self::extension).join(", ")
    }
}

impl From<Format> for ExportFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Md => Self::Md,
            Format::Txt => Self::Txt,
        }
    }
}

/// What an export cannot do.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A file extension that names no format.
    #[error(
        "unknown export format \".{extension}\": the known ones are {known}; name the file \
         with one of those extensions or give --format",
        known = ExportFormat::known()
    )]
    UnknownFormat {
        /// The extension, without the dot.
        extension: String,
    },
    /// The EPUB or DOCX library failed to build the package.
    #[error("cannot build the {format} file: {reason}")]
    Package {
        /// `EPUB` or `DOCX`.
        format: &'static str,
        /// The library's message.
        reason: String,
    },
    /// The SFT record could not be encoded.
    #[error("cannot encode the SFT record: {0}")]
    Json(#[from] serde_json::Error),
}

/// What a document's file says about it beyond its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    /// The project's id: the EPUB's identifier and the SFT record's id.
    pub id: String,
    /// The title.
    pub title: String,
    /// The author, if one is set.
    pub author: Option<String>,
    /// The text's language.
    pub language: Language,
    /// When the project was created, seconds since the epoch.
    pub created: u64,
    /// Its last change, seconds since the epoch.
    pub modified: u64,
}

impl Meta {
    /// The BCP 47 tag of the language, for `lang` attributes and package metadata.
    pub fn language_tag(&self) -> &'static str {
        match self.language {
            Language::English => "en",
            Language::Chinese => "zh",
        }
    }
}

/// The document so far in `format`, as the file's bytes.
pub fn export(
    document: &Document,
    meta: &Meta,
    format: ExportFormat,
) -> Result<Vec<u8>, ExportError> {
    let parts = || outline::outline(document);
    match format {
        ExportFormat::Md => Ok(render(document, Format::Md).into_bytes()),
        ExportFormat::Txt => Ok(render(document, Format::Txt).into_bytes()),
        ExportFormat::Html => Ok(html::render(meta, &parts()).into_bytes()),
        ExportFormat::Epub => epub::render(meta, &parts()),
        ExportFormat::Docx => docx::render(meta, &parts()),
        ExportFormat::Jsonl => {
            let facts = sft::RunFacts {
                id: meta.id.clone(),
                timings: sft::Timings {
                    started: meta.created,
                    finished: meta.modified,
                    generation_secs: None,
                },
                usage: None,
            };
            Ok(sft::SftRecord::new(document, facts).to_line()?.into_bytes())
        }
    }
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
    for (section, heading) in outline::written_headings(document) {
        let text = section
            .and_then(|i| document.drafts.get(i))
            .map(|d| d.text())
            .unwrap_or_default();
        match format {
            Format::Md => {
                let hashes = "#".repeat(usize::from(heading.level));
                out.push_str(&format!("{hashes} {}\n\n", heading.title));
            }
            Format::Txt if section.is_none() => {
                out.push_str(&format!("{}\n\n", heading.title.to_uppercase()))
            }
            Format::Txt => out.push_str(&format!("{}\n\n", heading.title)),
        }
        if !text.trim().is_empty() {
            out.push_str(&format!("{}\n\n", text.trim()));
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
