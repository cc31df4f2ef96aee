//! The batch's display: one indicatif bar on a terminal (documents done/total, words,
//! aggregate tok/s, ETA, failures), plain lines otherwise, JSON lines with `--json`; the
//! summary table at the end. Owns the run's counts: `show` returns the final `Summary`.

use crate::batch::{Failure, Summary};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::io::IsTerminal;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedReceiver;

/// What happens in a batch, in the order it happens.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A line of the input was skipped.
    Skipped {
        /// Where and why.
        line: String,
    },
    /// The documents start.
    Begin {
        /// The endpoints in rotation.
        endpoints: Vec<String>,
        /// Documents at once.
        concurrency: u16,
        /// The output file.
        out: String,
    },
    /// A document started (or resumed) on an endpoint.
    Started {
        /// The prompt's id.
        id: String,
        /// Its project in the store (`longwriter attach` follows it).
        project: String,
        /// Where it is written.
        endpoint: String,
    },
    /// A piece of text was streamed (not shown in JSON).
    #[serde(skip)]
    Piece,
    /// The server reported completion tokens for a section (not shown in JSON).
    #[serde(skip)]
    Tokens(u64),
    /// A document was appended to the output.
    Done {
        /// The prompt's id.
        id: String,
        /// Its words.
        words: usize,
    },
    /// A document failed; the next run retries it.
    Failed {
        /// The prompt's id.
        id: String,
        /// Why.
        reason: String,
    },
    /// Every document was tried, or the run was stopped.
    End {
        /// Stopped by a signal.
        interrupted: bool,
    },
}

/// How the run is shown.
pub enum Mode {
    /// JSON lines on stdout.
    Json,
    /// Plain lines on stderr.
    Plain,
    /// A bar on stderr.
    Bar(ProgressBar),
}

impl Mode {
    /// JSON with `json`, a bar when stderr is a terminal, else plain lines.
    pub fn new(json: bool) -> Self {
        if json {
            return Self::Json;
        }
        if !std::io::stderr().is_terminal() {
            return Self::Plain;
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("{bar:30} {pos}/{len} documents · {msg} · ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Self::Bar(bar)
    }

    fn say(&self, line: &str) {
        match self {
            Self::Json => {}
            Self::Plain => eprintln!("longwriter: {line}"),
            Self::Bar(bar) => bar.println(line),
        }
    }
}

/// Shows events until the channel closes; returns the run's summary, also printed as a table
/// on stdout (or, with `--json`, as a last `summary` event).
pub async fn show(
    mut events: UnboundedReceiver<Event>,
    mode: Mode,
    mut summary: Summary,
    todo: usize,
) -> Summary {
    let clock = Instant::now();
    if let Mode::Bar(bar) = &mode {
        bar.set_length(todo as u64);
    }
    let mut shown_at = 0u64;
    while let Some(event) = events.recv().await {
        summary.seconds = clock.elapsed().as_secs_f64();
        if let Mode::Json = mode {
            if let Ok(json) = serde_json::to_string(&event) {
                if !matches!(event, Event::Piece | Event::Tokens(_)) {
                    println!("{json}");
                }
            }
        }
        let tried = summary.written + summary.failures.len();
        let piece = matches!(event, Event::Piece);
        match event {
            Event::Skipped { line } => mode.say(&format!("skipped {line}")),
            Event::Begin {
                endpoints,
                concurrency,
                out,
            } => mode.say(&format!(
                "batch of {todo} document(s) ({} already in {out}), {concurrency} at once on {}",
                summary.already,
                endpoints.join(", ")
            )),
            Event::Started {
                id,
                project,
                endpoint,
            } => mode.say(&format!("{id}: project {project} on {endpoint}")),
            Event::Piece => summary.pieces += 1,
            Event::Tokens(n) => summary.completion_tokens += n,
            Event::Done { id, words } => {
                summary.written += 1;
                summary.words += words;
                mode.say(&format!(
                    "[{}/{todo}] {id} done: {words} words; {:.1} tok/s in all",
                    tried + 1,
                    summary.tokens_per_second()
                ));
            }
            Event::Failed { id, reason } => {
                mode.say(&format!("[{}/{todo}] {id} failed: {reason}", tried + 1));
                summary.failures.push(Failure { id, reason });
            }
            Event::End { interrupted } => summary.interrupted = interrupted,
        }
        if let Mode::Bar(bar) = &mode {
            // The message is rebuilt every few pieces, not on each one.
            if piece && summary.pieces < shown_at + 16 {
                continue;
            }
            shown_at = summary.pieces;
            bar.set_position((summary.written + summary.failures.len()) as u64);
            bar.set_message(format!(
                "{} words · {:.1} tok/s · {} failed",
                summary.words,
                summary.tokens_per_second(),
                summary.failures.len()
            ));
        }
    }
    summary.seconds = clock.elapsed().as_secs_f64();
    match &mode {
        Mode::Json => {
            let json = serde_json::json!({"event": "summary", "summary": summary});
            println!("{json}");
        }
        Mode::Bar(bar) => {
            bar.finish_and_clear();
            print!("{}", summary.table());
        }
        Mode::Plain => print!("{}", summary.table()),
    }
    summary
}
