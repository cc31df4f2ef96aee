//! `longwriter eval`: runs LongBench-Write or LongWrite-Ruler through the same pipeline as
//! `write` (each document a project in the store, so an interrupted run resumes where it
//! stopped) and scores the results with `crate::eval`: S_l per length bucket and overall, the
//! judge-free proxies, and S_q with a judge backend. The run's folder (`--out`) holds
//! `state.json` (prompt id → project id) and the reports `report.json` and `report.txt`.

use super::connect::{self, Setup};
use super::documents::{self, Batch, RunState};
use super::job;
use super::{BackendArgs, CliError, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};
use crate::backend::Backend;
use crate::eval::dataset::{self, Item, Suite};
use crate::eval::document::score;
use crate::eval::report::{DocumentResult, Outcome, Report, Verdict};
use crate::eval::score::Bucket;
use crate::store::{self, JobState, Project, Store};
use crate::text::Language;
use crate::writer::Document;
use clap::Args;
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

mod judge;
use judge::{judge_all, judge_backend};

/// `longwriter eval` flags.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Which benchmark: longbench-write (120 prompts) or ruler (LongWrite-Ruler, 48 prompts).
    #[arg(value_enum)]
    pub suite: Suite,
    /// Your own prompts instead of the embedded ones: JSONL lines {"prompt": …, "length": …}.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Only the prompts in this language: en or zh.
    #[arg(long, value_name = "LANG", value_parser = parse_lang)]
    pub lang: Option<Language>,
    /// Only the prompts whose required length is in this bucket: 0-500, 500-2k, 2k-4k, 4k-20k.
    #[arg(long, value_name = "BUCKET")]
    pub bucket: Option<Bucket>,
    /// Only the first N prompts (after --lang and --bucket).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Documents written at once (1-64).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// The run's folder (state and reports); default: ./eval-SUITE[-LANG][-BUCKET].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A judge for the quality score S_q: base URL of an OpenAI-compatible server.
    #[arg(long, value_name = "URL")]
    pub judge_base_url: Option<String>,
    /// The judge's model name.
    #[arg(long, value_name = "NAME", requires = "judge_base_url")]
    pub judge_model: Option<String>,
    /// Name of the environment variable that holds the judge's API key.
    #[arg(long, value_name = "VAR", requires = "judge_base_url")]
    pub judge_api_key_env: Option<String>,
    /// Print the report as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

fn parse_lang(s: &str) -> Result<Language, String> {
    match s.to_ascii_lowercase().as_str() {
        "en" | "english" => Ok(Language::English),
        "zh" | "chinese" => Ok(Language::Chinese),
        _ => Err(format!("unknown language {s:?}: use en or zh")),
    }
}

/// The prompts of the run and the lines skipped as unusable.
fn load_items(e: &EvalArgs) -> Result<(String, Vec<Item>, Vec<String>), CliError> {
    let (source, items, skipped) = match &e.file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|err| {
                CliError::Usage(format!(
                    "cannot read the prompt file {}: {err}",
                    path.display()
                ))
            })?;
            let parsed = dataset::parse(&text, "prompt");
            let skipped = parsed
                .skipped
                .iter()
                .map(|l| format!("{}: {l}", path.display()))
                .collect();
            let items = dataset::filter_language(parsed.items, e.lang);
            (path.display().to_string(), items, skipped)
        }
        None => (
            e.suite.name().to_string(),
            dataset::embedded(e.suite, e.lang),
            Vec::new(),
        ),
    };
    let duplicates = dataset::duplicate_ids(&items);
    if !duplicates.is_empty() {
        return Err(CliError::Usage(format!(
            "{source}: the ids {} occur more than once: give every line its own \"id\"",
            duplicates.join(", ")
        )));
    }
    let mut items = dataset::filter_bucket(items, e.bucket);
    items.truncate(e.limit.unwrap_or(usize::MAX));
    if items.is_empty() {
        return Err(CliError::Usage(format!(
            "{source}: no prompt is left after --lang, --bucket and --limit"
        )));
    }
    Ok((source, items, skipped))
}

fn default_out(e: &EvalArgs) -> PathBuf {
    let mut name = format!("eval-{}", e.suite.name());
    if let Some(file) = &e.file {
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
        name = format!("eval-{}", stem.unwrap_or_else(|| "file".into()));
    }
    match e.lang {
        Some(Language::English) => name.push_str("-en"),
        Some(Language::Chinese) => name.push_str("-zh"),
        None => {}
    }
    if let Some(b) = e.bucket {
        name = format!("{name}-{}", b.label());
    }
    PathBuf::from(name)
}

/// What every document of the run shares.
struct Run {
    args: BackendArgs,
    setup: Setup,
    backend: Arc<dyn Backend>,
    store: Store,
    state: RunState,
    cancel: CancellationToken,
    total: usize,
}

/// `longwriter eval`.
pub async fn eval(args: &BackendArgs, e: EvalArgs) -> Result<i32, CliError> {
    let (source, items, skipped) = load_items(&e)?;
    for line in &skipped {
        eprintln!("longwriter: skipped {line}");
    }
    let setup = connect::setup(args)?;
    if let Some(url) = &e.judge_base_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(CliError::Usage(format!(
                "--judge-base-url {url:?} is not an http:// or https:// URL (e.g. http://127.0.0.1:8000/v1)"
            )));
        }
    }
    // The engine (--local) decodes as many documents in one batch as run at once.
    let slots = usize::from(e.concurrency).min(items.len()).clamp(1, 64);
    let backend = connect::backend_with_slots(args, &setup, slots).await?;
    let dir = e.out.clone().unwrap_or_else(|| default_out(&e));
    std::fs::create_dir_all(&dir).map_err(|e| {
        CliError::Usage(format!(
            "cannot create the eval folder {}: {e}",
            dir.display()
        ))
    })?;
    let state = RunState::open(&dir.join("state.json"), "eval")?;
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    let run = Arc::new(Run {
        args: args.clone(),
        setup,
        backend,
        store: Store::open_default().map_err(job::store_error)?,
        state,
        cancel: cancel.clone(),
        total: items.len(),
    });
    eprintln!(
        "longwriter: eval of {} prompt(s) from {source}, {} at once; state in {}",
        items.len(),
        e.concurrency,
        dir.display()
    );
    let results: Vec<Option<DocumentResult>> = futures::stream::iter(items.into_iter().enumerate())
        .map(|(n, item)| {
            let run = run.clone();
            async move { run_item(&run, n, item).await }
        })
        .buffered(usize::from(e.concurrency))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let interrupted = cancel.is_cancelled() || results.iter().any(Option::is_none);
    let mut documents: Vec<DocumentResult> = results.into_iter().flatten().collect();
    if let (Some(url), false) = (&e.judge_base_url, interrupted) {
        match judge_backend(args, &e, url).await {
            Ok(judge) => judge_all(judge.as_ref(), &run.store, &run.cancel, &mut documents).await,
            Err(err) => {
                eprintln!("longwriter: the judge cannot be used, so S_q is missing: {err}");
                for doc in documents.iter_mut().filter(|d| d.written > 0) {
                    doc.verdict = Verdict::Missing {
                        reason: err.to_string(),
                    };
                }
            }
        }
    }
    let report = Report::new(source, documents, skipped);
    write_reports(&dir, &report)?;
    if e.json {
        let json =
            serde_json::to_string_pretty(&report).map_err(|e| CliError::Failed(e.to_string()))?;
        println!("{json}");
    } else {
        print!("{}", report.table());
    }
    if interrupted {
        eprintln!(
            "longwriter: interrupted; the run goes on where it stopped with the same command"
        );
        return Ok(EXIT_INTERRUPTED);
    }
    let failed = report.failures().count();
    if failed > 0 || report.judge_missing > 0 {
        eprintln!(
            "longwriter: {failed} document(s) failed, {} judge verdict(s) missing; rerunning the same command retries them",
            report.judge_missing
        );
        return Ok(EXIT_FAILED);
    }
    Ok(EXIT_OK)
}

fn write_reports(dir: &Path, report: &Report) -> Result<(), CliError> {
    let json = serde_json::to_vec_pretty(report).map_err(|e| CliError::Failed(e.to_string()))?;
    for (name, bytes) in [
        ("report.json", json),
        ("report.txt", report.table().into_bytes()),
    ] {
        let path = dir.join(name);
        store::write_atomic(&path, &bytes)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
    }
    eprintln!("longwriter: reports in {}", dir.display());
    Ok(())
}

/// Writes (or continues, or only reads) one prompt's document and scores it. `None` when the
/// run was stopped before this document ended.
async fn run_item(run: &Run, n: usize, item: Item) -> Result<Option<DocumentResult>, CliError> {
    if run.cancel.is_cancelled() {
        return Ok(None);
    }
    let project = open_or_create(run, &item)?;
    let project_id = project.id().to_string();
    let (document, outcome) = if project.manifest.state == JobState::Done {
        let journal = project.read_journal().map_err(job::store_error)?;
        let doc = project
            .document(&run.setup.prompts, &journal, false)
            .map_err(job::store_error)?;
        (doc, Outcome::Finished)
    } else {
        write_document(run, project).await?
    };
    if matches!(&outcome, Outcome::Failed { .. }) && run.cancel.is_cancelled() {
        return Ok(None);
    }
    let result = score(&item, project_id, document.as_ref(), outcome);
    eprintln!(
        "longwriter: [{}/{}] {} {}: {} of {} {}, S_l {:.1}",
        n + 1,
        run.total,
        item.id,
        match &result.outcome {
            Outcome::Finished => "done",
            Outcome::Failed { .. } => "failed",
        },
        result.written,
        result.required,
        match item.language {
            Language::English => "words",
            Language::Chinese => "字",
        },
        result.s_l
    );
    Ok(Some(result))
}

fn open_or_create(run: &Run, item: &Item) -> Result<Project, CliError> {
    let batch = Batch {
        args: &run.args,
        setup: &run.setup,
        store: &run.store,
        state: &run.state,
    };
    documents::open_or_create(&batch, item)
}

/// Runs the project's job to its end through the store, as `write` and `resume` do.
async fn write_document(
    run: &Run,
    project: Project,
) -> Result<(Option<Document>, Outcome), CliError> {
    // The events are recorded by the store; eval shows one line per document, not each token.
    let (forward, mut events) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let end = documents::write(
        project,
        run.backend.clone(),
        &run.setup,
        &run.cancel,
        forward,
    )
    .await?;
    let outcome = match end.result {
        Ok(()) => Outcome::Finished,
        Err(e) => Outcome::Failed {
            reason: e.to_string(),
        },
    };
    Ok((end.document, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn eval_args(argv: &[&str]) -> Result<EvalArgs, clap::Error> {
        let argv = ["longwriter", "eval"].iter().chain(argv);
        match super::super::Cli::try_parse_from(argv)?.command {
            Some(super::super::Command::Eval(e)) => Ok(e),
            other => panic!("not eval: {other:?}"),
        }
    }

    #[test]
    fn filters_and_defaults() {
        let e = eval_args(&["longbench-write", "--lang", "en", "--bucket", "2k-4k"]).unwrap();
        let (source, items, _) = load_items(&e).unwrap();
        assert_eq!(source, "longbench-write");
        assert!(items.iter().all(|i| (2000..4000).contains(&i.length)));
        assert_eq!(
            default_out(&e),
            PathBuf::from("eval-longbench-write-en-2k-4k")
        );
        let e = eval_args(&["ruler", "--limit", "3"]).unwrap();
        assert_eq!(load_items(&e).unwrap().1.len(), 3);
    }

    #[test]
    fn bad_flags_are_named() {
        let err = eval_args(&["longbench-write", "--lang", "fr"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("use en or zh"), "{err}");
        let err = eval_args(&["ruler", "--bucket", "1k-3k"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("0-500, 500-2k, 2k-4k, 4k-20k"), "{err}");
        assert!(eval_args(&["poems"]).is_err());
        assert!(eval_args(&["ruler", "--concurrency", "0"]).is_err());
    }
}
