//! Showing a job's events: indicatif bars on a terminal, plain lines otherwise, JSON lines for
//! scripts.
//!
//! Bars go to stderr and only when stderr is a terminal; `--json` prints every event on stdout.
//! `show_events` drives a `Reporter` from a job's event channel and, with an `OutputFile`,
//! saves the document after every section; `run` (plan, write), `job` (the recorded run) and
//! `detach` (resume, the worker) all show their jobs through it.

use super::CliError;
use crate::backend::ChatMessage;
use crate::export::{self, Format};
use crate::writer::{Document, JobEvent, SectionDraft};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedReceiver;

/// How events are shown.
pub enum Reporter {
    /// One JSON object per line on stdout.
    Json,
    /// Plain lines on stderr.
    Plain(Tally),
    /// A progress bar on stderr.
    Bar(ProgressBar, Tally),
}

/// Counts that feed the progress display.
#[derive(Default)]
pub struct Tally {
    sections: usize,
    current: usize,
    target: usize,
    words_done: usize,
    words_current: usize,
    deltas: u64,
    started: Option<Instant>,
    section_words: crate::text::WordCounter,
}

impl Tally {
    fn written(&self) -> usize {
        self.words_done + self.words_current
    }

    fn rate_line(&self) -> String {
        let Some(started) = self.started else {
            return String::new();
        };
        let secs = started.elapsed().as_secs_f64().max(0.001);
        let tok_s = self.deltas as f64 / secs;
        let words_s = self.written() as f64 / secs;
        let eta = if words_s > 0.0 && self.target > self.written() {
            format_secs((self.target - self.written()) as f64 / words_s)
        } else {
            "-".into()
        };
        format!("{tok_s:.1} tok/s · ETA {eta}")
    }

    /// Updates the counts; returns a line worth printing in plain mode.
    fn apply(&mut self, event: &JobEvent) -> Option<String> {
        match event {
            JobEvent::Started {
                backend,
                target_words,
            } => {
                self.target = *target_words;
                Some(format!(
                    "{} model {} at {}",
                    backend.kind, backend.model, backend.endpoint
                ))
            }
            JobEvent::Planning { attempt } => Some(format!("planning (attempt {attempt})")),
            JobEvent::PlanReady { plan } => {
                self.sections = plan.sections.len();
                self.target = plan.total_target();
                self.started = Some(Instant::now());
                let parts = match plan.has_chapters() {
                    true => format!("{} chapter(s)", plan.chapters.len()),
                    false => format!("{} section(s)", plan.sections.len()),
                };
                Some(format!(
                    "plan: {parts}, {} words{}",
                    plan.total_target(),
                    if plan.fallback { " (fallback)" } else { "" }
                ))
            }
            JobEvent::ChapterStarted {
                chapter,
                title,
                target_words,
            } => Some(format!(
                "chapter {} {title:?} ({target_words} words)",
                chapter + 1
            )),
            JobEvent::ChapterPlanned {
                chapter,
                sections,
                plan,
            } => {
                self.sections = plan.sections.len();
                Some(format!(
                    "chapter {} planned: {sections} section(s)",
                    chapter + 1
                ))
            }
            JobEvent::SectionStarted {
                index,
                title,
                target_words,
            } => {
                self.current = *index;
                self.words_current = 0;
                self.section_words = Default::default();
                Some(format!(
                    "section {}/{} {title:?} ({target_words} words)",
                    index + 1,
                    self.sections
                ))
            }
            JobEvent::Delta { text, .. } => {
                self.deltas += 1;
                self.section_words.push(text);
                self.words_current = self.section_words.count();
                None
            }
            JobEvent::SectionDone { index, words, .. } => {
                self.words_done += words;
                self.words_current = 0;
                self.section_words = Default::default();
                Some(format!(
                    "section {}/{} done: {words} words · {}",
                    index + 1,
                    self.sections,
                    self.rate_line()
                ))
            }
            JobEvent::Guarded {
                index,
                kind,
                quote,
                dropped_words,
                words,
                retrying,
                text,
                ..
            } => {
                self.section_words = Default::default();
                self.section_words.push(text);
                self.words_current = self.section_words.count();
                let then = if *retrying {
                    "writing the rest again"
                } else {
                    "keeping what is left"
                };
                Some(format!(
                    "section {} guard ({}): \"{quote}\"; dropped {dropped_words} words, kept {words}; {then}",
                    index + 1,
                    kind.name()
                ))
            }
            JobEvent::Continuing {
                index,
                words,
                reason,
            } => Some(format!(
                "section {} continued at {words} words: {reason}",
                index + 1
            )),
            JobEvent::Retrying {
                attempt,
                max_attempts,
                delay_ms,
                error,
            } => Some(format!(
                "retrying {attempt}/{max_attempts} in {:.1} s: {error}",
                *delay_ms as f64 / 1000.0
            )),
            JobEvent::Summarized { index, summary } => Some(format!(
                "section {} summarized for the rolling memory{}",
                index + 1,
                if summary.fallback { " (fallback: opening and closing paragraphs)" } else { "" }
            )),
            JobEvent::Compacted {
                summarized,
                prompt_tokens,
                window,
            } => Some(format!(
                "context: sections 1-{summarized} now stand as summaries ({prompt_tokens} of {window} tokens)"
            )),
            JobEvent::WrittenBy { index, backends } if backends.len() > 1 => Some(format!(
                "section {} written by {}",
                index + 1,
                backends.join(", then ")
            )),
            JobEvent::WrittenBy { .. } => None,
            JobEvent::Warning { message } => Some(format!("warning: {message}")),
            JobEvent::Failed { error } => Some(format!("failed: {error}")),
            JobEvent::Done { ledger } => Some(ledger_table(ledger)),
        }
    }
}

/// The word ledger as a small table: planned and written words per section and in total.
fn ledger_table(ledger: &crate::writer::Ledger) -> String {
    let mut out = String::from("done. Word ledger (planned / written):\n");
    for (i, line) in ledger.sections.iter().enumerate() {
        let first_of_chapter = line
            .chapter
            .filter(|c| i == 0 || ledger.sections[i - 1].chapter != Some(*c));
        if let Some(c) = first_of_chapter.and_then(|c| ledger.chapters.get(c).map(|l| (c, l))) {
            let (c, l) = c;
            out.push_str(&format!(
                "  chapter {} {:<38} {:>6} / {:<6}\n",
                c + 1,
                l.title.chars().take(38).collect::<String>(),
                l.planned,
                l.written
            ));
        }
        let title: String = line.title.chars().take(40).collect();
        let guarded = match line.guarded {
            0 => String::new(),
            n => format!(" guarded {n}"),
        };
        out.push_str(&format!(
            "  {:>3}. {title:<40} {:>6} / {:<6}{guarded}\n",
            i + 1,
            line.planned,
            line.written
        ));
    }
    out.push_str(&format!(
        "       {:<40} {:>6} / {:<6}",
        "total", ledger.planned, ledger.written
    ));
    if ledger.guarded > 0 {
        out.push_str(&format!(" guarded {}", ledger.guarded));
    }
    out
}

fn format_secs(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

impl Reporter {
    /// Picks the display: JSON when asked, a bar when stderr is a terminal, else plain lines.
    pub fn new(json: bool) -> Self {
        if json {
            return Self::Json;
        }
        if !std::io::stderr().is_terminal() {
            return Self::Plain(Tally::default());
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len} words · {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        Self::Bar(bar, Tally::default())
    }

    /// Shows one event.
    pub fn show(&mut self, event: &JobEvent) {
        match self {
            Self::Json => {
                if let Ok(line) = serde_json::to_string(event) {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}");
                    let _ = out.flush();
                }
            }
            Self::Plain(tally) => {
                if let Some(line) = tally.apply(event) {
                    eprintln!("longwriter: {line}");
                }
            }
            Self::Bar(bar, tally) => {
                let line = tally.apply(event);
                bar.set_length(tally.target as u64);
                bar.set_position(tally.written().min(tally.target.max(1)) as u64);
                bar.set_prefix(format!(
                    "section {}/{}",
                    (tally.current + 1).min(tally.sections.max(1)),
                    tally.sections
                ));
                bar.set_message(tally.rate_line());
                if let Some(line) = line {
                    bar.println(line);
                }
            }
        }
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Self::Bar(bar, _) = self {
            bar.finish_and_clear();
        }
    }
}

/// Where and how the document is saved while it is written.
#[derive(Clone)]
pub(super) struct OutputFile {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
}

impl OutputFile {
    /// Renders and replaces the file atomically.
    pub(super) fn save(&self, document: &Document) -> Result<(), CliError> {
        export::write_atomic(&self.path, export::render(document, self.format))
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", self.path.display())))
    }
}

/// Shows events until the writer is dropped; with an output file, saves the document after
/// every finished section from the events' own copy of the text.
pub(super) async fn show_events(
    mut rx: UnboundedReceiver<JobEvent>,
    mut reporter: Reporter,
    output: Option<OutputFile>,
    mut mirror: Option<Document>,
) {
    while let Some(event) = rx.recv().await {
        reporter.show(&event);
        match &event {
            JobEvent::PlanReady { plan } if mirror.is_none() => {
                mirror = Some(Document::new(
                    String::new(),
                    plan.total_target(),
                    crate::text::Language::English,
                    plan.clone(),
                ));
            }
            JobEvent::ChapterPlanned { plan, .. } => {
                if let Some(doc) = mirror.as_mut() {
                    doc.adopt_plan(plan.clone());
                }
            }
            JobEvent::SectionDone { index, text, .. } => {
                if let (Some(doc), Some(out)) = (mirror.as_mut(), &output) {
                    if let Some(draft) = doc.drafts.get_mut(*index) {
                        *draft = SectionDraft {
                            turns: vec![ChatMessage::assistant(text.clone())],
                        };
                    }
                    // A FIFO or a device gets the document once, at the end (a FIFO's reader
                    // reads one document; a device keeps no draft safe).
                    if !export::is_replaced(&out.path) {
                        continue;
                    }
                    if let Err(e) = out.save(doc) {
                        reporter.show(&JobEvent::Warning {
                            message: e.to_string(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    reporter.finish();
}
