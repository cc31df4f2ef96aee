//! Commands on stored projects: `list`, `show`, `rm`, `stop` and `attach` (`export` has its
//! own module).
//!
//! All of them read the store without taking the project's lock (so they work while a writer
//! runs), except `rm`, which refuses while one does.

use super::job::{open_project, store_error};
use super::{CliError, EXIT_OK};
use crate::store::{self, format_time, lock::live_holder, Snapshot, Store};
use crate::text::count_words;
use clap::Args;
use futures::StreamExt;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Names one project.
#[derive(Debug, Clone, Args)]
pub struct ProjectArg {
    /// Project id, unique id prefix, or title.
    pub project: String,
}

/// Flags of `list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// One JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `rm`.
#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    /// Project id, unique id prefix, or title.
    pub project: String,
    /// Delete without asking.
    #[arg(long, short)]
    pub yes: bool,
}

/// `longwriter list`.
pub fn list(a: ListArgs) -> Result<i32, CliError> {
    let store = Store::open_default().map_err(store_error)?;
    let projects = store.list();
    if a.json {
        let json =
            serde_json::to_string_pretty(&projects).map_err(|e| CliError::Failed(e.to_string()))?;
        println!("{json}");
        return Ok(EXIT_OK);
    }
    if projects.is_empty() {
        eprintln!("no projects yet in {}", store.root().display());
        return Ok(EXIT_OK);
    }
    let mut out = format!(
        "{:<10}  {:<11}  {:>15}  {:<20}  TITLE\n",
        "ID", "STATE", "WORDS", "UPDATED"
    );
    for p in &projects {
        let words = format!("{}/{}", p.words, p.target_words);
        let title = p
            .error
            .as_deref()
            .filter(|_| p.state == "damaged")
            .and_then(|e| e.lines().next());
        out.push_str(&format!(
            "{:<10}  {:<11}  {:>15}  {:<20}  {}\n",
            p.id,
            p.state,
            words,
            format_time(p.updated),
            title.unwrap_or(&p.title)
        ));
    }
    print!("{out}");
    Ok(EXIT_OK)
}

/// `longwriter show`.
pub fn show(a: ProjectArg) -> Result<i32, CliError> {
    let project = open_project(&a.project)?;
    let m = &project.manifest;
    let holder = live_holder(project.dir());
    let journal = project.read_journal().map_err(store_error)?;
    let mut out = format!("{} \"{}\"\n", m.id, m.title);
    out.push_str(&format!(
        "state:       {}\n",
        store::display_state(m.state, holder.as_ref())
    ));
    if let Some(h) = &holder {
        out.push_str(&format!("writer:      {h}\n"));
    }
    // The error of a failed job; a stop is not an error, and a live writer has moved on.
    let failed = m.state == store::JobState::Failed && holder.is_none();
    if let (Some(e), true) = (&m.error, failed) {
        out.push_str(&format!("last error:  {e}\n"));
    }
    out.push_str(&format!("instruction: {}\n", m.instruction));
    out.push_str(&format!("target:      {} words\n", m.target_words));
    if let Some(b) = &m.backend.served_by {
        out.push_str(&format!(
            "backend:     {} {} at {}\n",
            b.kind, b.model, b.endpoint
        ));
    }
    out.push_str(&format!(
        "created:     {}\nupdated:     {}\nfolder:      {}\n",
        format_time(m.created),
        format_time(m.updated),
        project.dir().display()
    ));
    if let Some(plan) = &m.plan {
        out.push_str("sections:\n");
        for (i, s) in plan.sections.iter().enumerate() {
            let written = match project.read_section(i) {
                Some(text) if s.state.is_written() => count_words(&text),
                _ => count_words(&journal.text_of(i)),
            };
            if let Some(c) = plan
                .chapter_of(i)
                .filter(|c| plan.chapter_range(*c).start == i)
            {
                out.push_str(&chapter_line(plan, c));
            }
            let guarded = m
                .ledger
                .as_ref()
                .and_then(|l| l.sections.get(i))
                .map_or(0, |l| l.guarded);
            let guarded = match guarded {
                0 => String::new(),
                n => format!(" (guarded {n})"),
            };
            out.push_str(&format!(
                "  {:>3}. {:<8} {:>6} / {:<6} {}{guarded}\n",
                i + 1,
                format!("{:?}", s.state).to_lowercase(),
                written,
                s.target_words,
                s.title
            ));
        }
        for c in (0..plan.chapters.len()).filter(|c| plan.chapters[*c].sections == 0) {
            out.push_str(&chapter_line(plan, c));
        }
    }
    print!("{out}");
    Ok(EXIT_OK)
}

/// The heading line of chapter `c` in `show`: its number, target, sections and title.
fn chapter_line(plan: &crate::plan::Plan, c: usize) -> String {
    let chapter = &plan.chapters[c];
    let sections = match chapter.sections {
        0 => "sections not planned yet".to_string(),
        n => format!("{n} section(s)"),
    };
    format!(
        "  chapter {}: {} ({} words, {sections})\n",
        c + 1,
        chapter.title,
        chapter.target_words
    )
}

/// `longwriter rm`.
pub fn rm(a: RmArgs) -> Result<i32, CliError> {
    let store = Store::open_default().map_err(store_error)?;
    let dir = store.find(&a.project).map_err(store_error)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(h) = live_holder(&dir) {
        return Err(CliError::Usage(format!(
            "project {name} is being written by {h}; `longwriter stop {name}` first"
        )));
    }
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::Usage(format!(
                "refusing to delete project {name} without confirmation: stdin is not a terminal; add --yes"
            )));
        }
        eprint!("Delete project {name} and all its text? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("kept");
            return Ok(EXIT_OK);
        }
    }
    std::fs::remove_dir_all(&dir)
        .map_err(|e| CliError::Failed(format!("cannot delete {}: {e}", dir.display())))?;
    eprintln!("longwriter: deleted project {name}");
    Ok(EXIT_OK)
}

/// `longwriter stop`: asks the project's writer to save and exit, and waits until it has.
pub async fn stop(a: ProjectArg) -> Result<i32, CliError> {
    let project = open_project(&a.project)?;
    let Some(holder) = live_holder(project.dir()) else {
        eprintln!("longwriter: project {} is not running", project.id());
        return Ok(EXIT_OK);
    };
    if holder.host != store::lock::hostname() {
        return Err(CliError::Usage(format!(
            "project {} is written by {holder}; stop it on that machine",
            project.id()
        )));
    }
    let pid = libc::pid_t::try_from(holder.pid)
        .map_err(|_| CliError::Failed(format!("bad pid {}", holder.pid)))?;
    // SAFETY: sends SIGTERM to the pid recorded in the lock; no memory is involved.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        return Err(CliError::Failed(format!(
            "cannot signal {holder}: {}",
            std::io::Error::last_os_error()
        )));
    }
    let started = Instant::now();
    while live_holder(project.dir()).is_some() {
        if started.elapsed() > Duration::from_secs(30) {
            return Err(CliError::Failed(format!(
                "{holder} did not stop within 30 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    eprintln!(
        "longwriter: stopped project {}; `longwriter resume {}` continues",
        project.id(),
        project.id()
    );
    Ok(EXIT_OK)
}

/// `longwriter attach`: prints the document live as the writer produces it, until the job
/// ends. Read-only; any number of attachers can follow one project.
pub async fn attach(a: ProjectArg) -> Result<i32, CliError> {
    let project = open_project(&a.project)?;
    if live_holder(project.dir()).is_none() {
        eprintln!(
            "longwriter: project {} is not running; showing what is saved",
            project.id()
        );
    }
    let mut printer = Printer::default();
    let mut snapshots = Box::pin(store::follow(
        project.dir().to_path_buf(),
        Duration::from_millis(50),
    ));
    let mut last = None;
    while let Some(snapshot) = snapshots.next().await {
        printer.print(&snapshot);
        last = Some(snapshot);
    }
    let state = last
        .and_then(|s| s.manifest)
        .map_or("unknown", |m| m.state.label());
    eprintln!("\nlongwriter: project {} ended: {state}", project.id());
    Ok(EXIT_OK)
}

/// Prints the growing document once, section by section, only what is new.
#[derive(Default)]
struct Printer {
    /// The section being printed.
    section: usize,
    /// Bytes of it printed.
    printed: usize,
    heading_done: bool,
}

impl Printer {
    fn print(&mut self, s: &Snapshot) {
        let Some(m) = &s.manifest else { return };
        let Some(plan) = &m.plan else { return };
        let mut out = std::io::stdout().lock();
        while self.section < plan.sections.len() {
            let i = self.section;
            let text: String = match (s.sections.get(i).cloned().flatten(), &s.current) {
                (Some(done), _) => done.to_string(),
                (None, Some((c, t))) if *c == i => t.clone(),
                _ => break,
            };
            if !self.heading_done {
                let chapter = plan.chapter_of(i);
                if let Some(c) = chapter.filter(|c| plan.chapter_range(*c).start == i) {
                    let _ = write!(out, "# {}\n\n", plan.chapters[c].title);
                }
                let _ = write!(out, "## {}\n\n", plan.sections[i].title);
                self.heading_done = true;
            }
            if text.len() >= self.printed && text.is_char_boundary(self.printed) {
                let _ = write!(out, "{}", &text[self.printed..]);
                self.printed = text.len();
            }
            if s.sections.get(i).is_some_and(Option::is_some) {
                let _ = write!(out, "\n\n");
                self.section += 1;
                self.printed = 0;
                self.heading_done = false;
            } else {
                break;
            }
        }
        let _ = out.flush();
    }
}
