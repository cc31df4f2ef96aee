//! `longwriter batch PROMPTS.jsonl --out DATA.jsonl`: many documents at once, each a project
//! in the store (so a rerun resumes the half-done ones), each finished one appended to the
//! output as one `batch::record::BatchRecord` line.
//!
//! Documents run under one global `--concurrency` limit; the sections of one document stay in
//! order (each is one writer job). With `--base-url` given more than once the documents spread
//! over the endpoints through a `backend::fleet::Fleet`. The run's state file
//! (`DATA.jsonl.state.json`: prompt id → project) sits beside the output. Shown by `show`.

mod show;

use super::connect::{self, Setup};
use super::documents::{self, Batch, RunState};
use super::job::{self, StopSignal};
use super::{BackendArgs, CliError, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};
use crate::backend::fleet::{Fleet, Lease};
use crate::backend::{Backend, Usage};
use crate::batch::output::Output;
use crate::batch::record::{BatchRecord, Timings};
use crate::batch::{self as core, Summary};
use crate::eval::dataset::{self, Item};
use crate::store::{self, JobState, Project, Store};
use crate::writer::{Document, JobEvent, WriterError};
use clap::Args;
use futures::StreamExt;
use show::{Event, Mode};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio_util::sync::CancellationToken;

/// How long an endpoint that failed stays out of rotation before it is tried again.
const ENDPOINT_REST: Duration = Duration::from_secs(30);

/// `longwriter batch` flags.
#[derive(Debug, Clone, Args)]
pub struct BatchArgs {
    /// The prompts: JSONL lines {"prompt": …, "length"?: …, "id"?: …} (LongBench-Write's files
    /// work as they are).
    #[arg(value_name = "PROMPTS")]
    pub prompts: PathBuf,
    /// The output: one JSON line per finished document, appended; a rerun skips the prompts
    /// already there.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Documents written at once, over all endpoints (1-256).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Add to an output file that holds another run's records.
    #[arg(long)]
    pub append: bool,
    /// Only the first N prompts.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print the run's events as JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What every document of the run shares.
struct Run {
    args: BackendArgs,
    setup: Setup,
    store: Store,
    state: RunState,
    fleet: Arc<Fleet>,
    output: Output,
    cancel: CancellationToken,
    events: UnboundedSender<Event>,
}

/// `longwriter batch`.
pub async fn batch(args: &BackendArgs, b: BatchArgs) -> Result<i32, CliError> {
    let (items, skipped) = load_items(&b)?;
    let (output, done) = open_output(&b, &items)?;
    let todo: Vec<Item> = items
        .iter()
        .filter(|i| !done.contains(&i.id))
        .cloned()
        .collect();
    let setup = connect::setup(args)?;
    // The engine (--local) decodes as many documents in one batch as run at once (at most
    // serve's --parallel maximum, 64).
    let slots = usize::from(b.concurrency).min(todo.len()).clamp(1, 64);
    let fleet = connect_fleet(args, &setup, todo.is_empty(), slots).await?;
    let state = RunState::open(&state_path(&b.out), "batch")?;
    let stop = StopSignal::install(false);
    let (events, shown) = unbounded_channel();
    let mode = Mode::new(b.json);
    let total = Summary {
        total: items.len(),
        already: items.len() - todo.len(),
        ..Summary::default()
    };
    let shower = tokio::spawn(show::show(shown, mode, total, todo.len()));
    for line in skipped {
        let _ = events.send(Event::Skipped { line });
    }
    let run = Arc::new(Run {
        args: args.clone(),
        setup,
        store: Store::open_default().map_err(job::store_error)?,
        state,
        fleet,
        output,
        cancel: stop.token.clone(),
        events: events.clone(),
    });
    let _ = events.send(Event::Begin {
        endpoints: run.fleet.status().into_iter().map(|s| s.endpoint).collect(),
        concurrency: b.concurrency,
        out: b.out.display().to_string(),
    });
    futures::stream::iter(todo)
        .map(|item| {
            let run = run.clone();
            async move { run_one(&run, item).await }
        })
        .buffer_unordered(usize::from(b.concurrency))
        .for_each(|()| async {})
        .await;
    let _ = events.send(Event::End {
        interrupted: stop.token.is_cancelled(),
    });
    drop(events);
    drop(run);
    let summary = shower
        .await
        .map_err(|e| CliError::Failed(format!("the progress display failed: {e}")))?;
    if summary.interrupted {
        eprintln!("longwriter: interrupted; the same command goes on where it stopped");
        return Ok(EXIT_INTERRUPTED);
    }
    if !summary.failures.is_empty() {
        eprintln!(
            "longwriter: {} document(s) failed; the same command retries them",
            summary.failures.len()
        );
        return Ok(EXIT_FAILED);
    }
    Ok(EXIT_OK)
}

/// The state file beside the output: `DATA.jsonl.state.json`.
fn state_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".state.json");
    out.with_file_name(name)
}

/// The input's prompts, and its unusable lines (reported, skipped); duplicate ids refuse the
/// whole run before anything starts.
fn load_items(b: &BatchArgs) -> Result<(Vec<Item>, Vec<String>), CliError> {
    let path = &b.prompts;
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::Usage(format!(
            "cannot read the prompt file {}: {e}",
            path.display()
        ))
    })?;
    let parsed = dataset::parse_lenient(&text, "prompt");
    let skipped = parsed
        .skipped
        .iter()
        .map(|l| format!("{}: {l}", path.display()))
        .collect();
    let duplicates = dataset::duplicate_ids(&parsed.items);
    if !duplicates.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: the ids {} occur more than once: give every line its own \"id\"; nothing was started",
            path.display(),
            duplicates.join(", ")
        )));
    }
    let mut items = parsed.items;
    items.truncate(b.limit.unwrap_or(usize::MAX));
    if items.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: no usable prompt (each line needs {{\"prompt\": …}})",
            path.display()
        )));
    }
    Ok((items, skipped))
}

/// Opens and locks the output; refuses another run's file unless `--append`. Returns the
/// ids already written.
fn open_output(
    b: &BatchArgs,
    items: &[Item],
) -> Result<(Output, std::collections::HashSet<String>), CliError> {
    let (output, existing) = Output::open(&b.out).map_err(|e| CliError::Usage(e.to_string()))?;
    if existing.cut_bytes > 0 {
        eprintln!(
            "longwriter: {}: cut {} bytes of a partial last line (a run died mid-write); that document is written again",
            b.out.display(),
            existing.cut_bytes
        );
    }
    let foreign = core::foreign(&existing, items);
    if !b.append && (!foreign.is_empty() || !existing.other_lines.is_empty()) {
        let what = match (foreign.first(), existing.other_lines.first()) {
            (Some(r), _) => format!("its record {:?} is not one of this prompt file's", r.id),
            (None, Some(line)) => format!("its line {line} is not a batch record"),
            (None, None) => String::new(),
        };
        return Err(CliError::Usage(format!(
            "{} belongs to another run ({what}): pass --append to add to it, or choose another --out",
            b.out.display()
        )));
    }
    Ok((output, core::done_ids(&existing, items)))
}

/// The endpoints: every `--base-url` when it was given more than once (those unreachable now
/// are left out of this run), else the one backend the flags name (the engine with `slots`
/// sequences decoded together).
async fn connect_fleet(
    args: &BackendArgs,
    setup: &Setup,
    nothing_to_do: bool,
    slots: usize,
) -> Result<Arc<Fleet>, CliError> {
    let mut urls: Vec<String> = Vec::new();
    for url in &args.fleet {
        if !urls.contains(url) {
            urls.push(url.clone());
        }
    }
    if nothing_to_do {
        return Ok(Fleet::new(Vec::new(), ENDPOINT_REST));
    }
    if urls.len() < 2 {
        let backend = connect::backend_with_slots(args, setup, slots).await?;
        return Ok(Fleet::new(vec![backend], ENDPOINT_REST));
    }
    let tries = urls.iter().map(|url| {
        let one = BackendArgs {
            base_url: Some(url.clone()),
            fleet: Vec::new(),
            local: false,
            ..args.clone()
        };
        async move { (url, connect::backend(&one, setup).await) }
    });
    let mut members: Vec<Arc<dyn Backend>> = Vec::new();
    for (url, result) in futures::future::join_all(tries).await {
        match result {
            Ok(b) => members.push(b),
            Err(e) => eprintln!("longwriter: {url} is left out of this run: {e}"),
        }
    }
    let Some(first) = members.first() else {
        return Err(CliError::Usage(format!(
            "none of the {} --base-url servers could be reached",
            urls.len()
        )));
    };
    let model = first.info().model;
    if let Some(other) = members.iter().find(|m| m.info().model != model) {
        return Err(CliError::Usage(format!(
            "the endpoints serve different models ({} at {}, {} at {}): a fleet is several servers of one model; pass --model",
            model,
            first.info().endpoint,
            other.info().model,
            other.info().endpoint
        )));
    }
    Ok(Fleet::new(members, ENDPOINT_REST))
}

/// How one document ended in this run.
enum End {
    Written { words: usize },
    Failed(String),
    Stopped,
}

async fn run_one(run: &Run, item: Item) {
    if run.cancel.is_cancelled() {
        return;
    }
    let end = write_item(run, &item)
        .await
        .unwrap_or_else(|e| End::Failed(e.to_string()));
    let event = match end {
        End::Written { words } => Event::Done { id: item.id, words },
        End::Failed(reason) => Event::Failed {
            id: item.id,
            reason,
        },
        End::Stopped => return,
    };
    let _ = run.events.send(event);
}

/// Writes (or finishes, or only reads back) `item`'s document and appends its record.
async fn write_item(run: &Run, item: &Item) -> Result<End, CliError> {
    let batch = Batch {
        args: &run.args,
        setup: &run.setup,
        store: &run.store,
        state: &run.state,
    };
    let project = documents::open_or_create(&batch, item)?;
    let lease = Arc::new(run.fleet.lease());
    let _ = run.events.send(Event::Started {
        id: item.id.clone(),
        project: project.id().to_string(),
        endpoint: lease.endpoint(),
    });
    let started = store::now_secs();
    let clock = Instant::now();
    let (document, result, usage) = if project.manifest.state == JobState::Done {
        (read_back(run, &project)?, Ok(()), Usage::default())
    } else {
        write_project(run, project, lease.clone()).await?
    };
    match (result, document) {
        (Ok(()), Some(document)) => {
            let timings = Timings {
                started,
                finished: store::now_secs(),
                seconds: clock.elapsed().as_secs_f64(),
            };
            let mut record = BatchRecord::new(&item.id, &document, usage, timings);
            record.backend = lease.endpoint();
            if record.model.is_empty() {
                record.model = lease.info().model;
            }
            run.output
                .append(&record)
                .map_err(|e| CliError::Failed(e.to_string()))?;
            Ok(End::Written {
                words: record.word_count,
            })
        }
        (Err(WriterError::Cancelled), _) => Ok(End::Stopped),
        (Err(e), _) => Ok(End::Failed(e.to_string())),
        (Ok(()), None) => Ok(End::Failed("the finished project has no plan".into())),
    }
}

fn read_back(run: &Run, project: &Project) -> Result<Option<Document>, CliError> {
    let journal = project.read_journal().map_err(job::store_error)?;
    project
        .document(&run.setup.prompts, &journal, false)
        .map_err(job::store_error)
}

type Outcome = (Option<Document>, Result<(), WriterError>, Usage);

/// Runs the project's job over `lease`, counting its streamed pieces and reported tokens.
async fn write_project(
    run: &Run,
    project: Project,
    lease: Arc<Lease>,
) -> Result<Outcome, CliError> {
    let (forward, mut recorded) = unbounded_channel();
    let events = run.events.clone();
    let counter = tokio::spawn(async move {
        let mut usage = Usage::default();
        while let Some(event) = recorded.recv().await {
            match event {
                JobEvent::Delta { .. } => {
                    let _ = events.send(Event::Piece);
                }
                JobEvent::SectionDone { usage: Some(u), .. } => {
                    usage.prompt_tokens += u.prompt_tokens;
                    usage.completion_tokens += u.completion_tokens;
                    let _ = events.send(Event::Tokens(u.completion_tokens));
                }
                _ => {}
            }
        }
        usage
    });
    let written = documents::write(project, lease, &run.setup, &run.cancel, forward).await?;
    let usage = counter.await.unwrap_or_default();
    Ok((written.document, written.result, usage))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_file_sits_beside_the_output() {
        assert_eq!(
            state_path(Path::new("runs/data.jsonl")),
            PathBuf::from("runs/data.jsonl.state.json")
        );
    }
}
