//! Turning a document into files: markdown (section titles as headings) and plain text.
//!
//! Pure rendering plus one atomic file write (temp file in the same folder, fsync, rename), so a
//! reader never sees half a file and a crash never leaves one.

use crate::writer::Document;
use std::io::Write;
use std::path::Path;

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
    for (section, draft) in document.plan.sections.iter().zip(&document.drafts) {
        let text = draft.text();
        if text.trim().is_empty() {
            continue;
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

/// Checks, before any generation, that `path` can be written: its folder exists and takes a new
/// file, and an existing file there is writable.
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    let dir = parent_dir(path);
    if path.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    let (probe_path, _) = tempfile_in(dir)?;
    drop(Probe(probe_path));
    if path.exists() {
        std::fs::OpenOptions::new().append(true).open(path)?;
    }
    Ok(())
}

/// Writes `contents` to `path` atomically.
pub fn write_atomic(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let (tmp_path, mut file) = tempfile_in(dir)?;
    let result = (|| {
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp_path, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp_path);
    }
    result
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates a new hidden temp file in `dir`; the caller removes or renames it.
fn tempfile_in(dir: &Path) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(".longwriter-{}-{n}.tmp", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

/// A writability probe that cleans up after itself.
struct Probe(std::path::PathBuf);

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
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

    #[test]
    fn atomic_write_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.md");
        check_writable(&path).unwrap();
        write_atomic(&path, "hello").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello");
        assert!(check_writable(&dir.path().join("missing/out.md")).is_err());
        assert!(check_writable(dir.path()).is_err());
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp files left behind");
    }
}
