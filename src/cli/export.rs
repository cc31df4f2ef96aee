//! `longwriter export`: a stored project's text so far into a file people read, in the format
//! its extension (or `--format`) names, with the project's title and author (`--title` and
//! `--author` change them, in the project too when no writer holds it).
//!
//! Reads the store without the project's lock, like `show`, so it works while a writer runs.

use super::job::{open_project, store_error};
use super::{CliError, EXIT_OK};
use crate::export::{self, ExportFormat, Meta};
use crate::prompt::Prompts;
use crate::store::{lock::ProjectLock, Manifest, Project};
use clap::Args;
use std::path::PathBuf;

/// Flags of `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Project id, unique id prefix, or title.
    pub project: String,
    /// Output file; its extension picks the format (.md .txt .html .epub .docx .jsonl; none:
    /// Markdown).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Output format, whatever the file's extension.
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// The title to export under; saved in the project.
    #[arg(long)]
    pub title: Option<String>,
    /// The author to export under; saved in the project ("" removes it).
    #[arg(long)]
    pub author: Option<String>,
}

/// `longwriter export`.
pub fn export(a: ExportArgs) -> Result<i32, CliError> {
    let format =
        ExportFormat::for_path(&a.output, a.format).map_err(|e| CliError::Usage(e.to_string()))?;
    let title = match a.title.as_deref().map(str::trim) {
        Some("") => {
            return Err(CliError::Usage(
                "--title is empty: give the title to export under, or leave the flag out to \
                 keep the project's"
                    .into(),
            ))
        }
        t => t.map(str::to_string),
    };
    let author = a.author.as_deref().map(str::trim).map(str::to_string);
    export::check_writable(&a.output).map_err(|e| {
        CliError::Usage(format!(
            "cannot write {}: {e}. Choose another path with -o",
            a.output.display()
        ))
    })?;
    let mut project = open_project(&a.project)?;
    if title.is_some() || author.is_some() {
        retitle(&mut project, title, author)?;
    }
    let journal = project.read_journal().map_err(store_error)?;
    let document = project
        .document(&Prompts::builtin(), &journal, false)
        .map_err(store_error)?
        .ok_or_else(|| {
            CliError::Usage(format!(
                "project {} has no plan yet; nothing to export",
                project.id()
            ))
        })?;
    let bytes = export::export(&document, &meta_of(&project.manifest), format)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    export::write_atomic(&a.output, &bytes).map_err(|e| {
        CliError::Failed(format!(
            "cannot write {}: {e}; nothing was written there (the text stays in the project)",
            a.output.display()
        ))
    })?;
    eprintln!(
        "longwriter: exported {} words as {} to {}",
        document.ledger().written,
        format.extension(),
        a.output.display()
    );
    Ok(EXIT_OK)
}

/// What an export says about the project beyond its text.
pub fn meta_of(m: &Manifest) -> Meta {
    Meta {
        id: m.id.clone(),
        title: m.title.clone(),
        author: m.author.clone(),
        language: m.language,
        created: m.created,
        modified: m.updated,
    }
}

/// Sets the title and author for this export, and saves them in the project unless a writer
/// holds it (its next save would undo the change; then they serve this export only).
fn retitle(
    project: &mut Project,
    title: Option<String>,
    author: Option<String>,
) -> Result<(), CliError> {
    if let Some(t) = title {
        project.manifest.title = t;
    }
    if let Some(a) = author {
        project.manifest.author = (!a.is_empty()).then_some(a);
    }
    let edited = project.manifest.clone();
    match ProjectLock::acquire(project.dir(), project.id()) {
        Ok(lock) => {
            // Saved over the manifest as it is on disk now, so nothing else in it goes back.
            let mut fresh = Project::open(project.dir()).map_err(store_error)?;
            fresh.manifest.title = edited.title.clone();
            fresh.manifest.author = edited.author.clone();
            fresh.save_manifest().map_err(store_error)?;
            drop(lock);
            project.manifest = fresh.manifest;
        }
        Err(e) => eprintln!(
            "longwriter: the title and author serve this export only, not saved in project {}: \
             {e}",
            project.id()
        ),
    }
    Ok(())
}
