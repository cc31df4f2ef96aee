//! The `plan` and `write` commands: validate, connect, run the pipeline, show its events, and
//! save the document after every section so that a crash or Ctrl-C keeps what was written.

use super::connect::{self, Setup};
use super::detach;
use super::job::{self, RunOptions};
use super::progress::{show_events, OutputFile, Reporter};
use super::{BackendArgs, CliError, PlanArgs, WriteArgs, EXIT_OK};
use crate::export;
use crate::plan::Plan;
use crate::store::{NewProject, Store};
use crate::writer::{Job, JobError, TargetWords, Writer, WriterError, MAX_WORDS};
use std::path::Path;
use tokio::sync::mpsc::unbounded_channel;
use tokio_util::sync::CancellationToken;

/// Makes the job (which checks the instruction and the length); its refusals are usage errors.
fn make_job(instruction: &str, words: Option<TargetWords>, setup: &Setup) -> Result<Job, CliError> {
    Job::new(instruction, words, setup.writer.clone()).map_err(|e| match e {
        // `--words` was checked by clap: an out-of-range length is the instruction's own.
        JobError::OutOfRange(n) => CliError::Usage(format!(
            "the instruction asks for {n} words, which is out of range: pass --words with a length between 1 and {MAX_WORDS}"
        )),
        JobError::EmptyInstruction => CliError::Usage(format!(
            "{e}; for example: longwriter write \"A 3000-word history of tea\""
        )),
        JobError::NotANumber(_) => CliError::Usage(e.to_string()),
    })
}

fn job_error(e: WriterError) -> CliError {
    match e {
        WriterError::Cancelled => CliError::Interrupted("stopped by Ctrl-C".into()),
        WriterError::Prompt(p) => CliError::Usage(p.to_string()),
        e @ WriterError::ContextTooSmall { .. } => CliError::Usage(e.to_string()),
        WriterError::Backend(b) => CliError::Failed(b.to_string()),
    }
}

/// Cancels `token` on Ctrl-C.
fn cancel_on_ctrl_c(token: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            token.cancel();
        }
    });
}

/// `longwriter plan`.
pub async fn plan(args: &BackendArgs, p: PlanArgs) -> Result<i32, CliError> {
    let setup = connect::setup(args)?;
    let job = make_job(&p.instruction, p.words, &setup)?;
    let backend = connect::backend(args, &setup).await?;
    let (tx, rx) = unbounded_channel();
    let cancel = CancellationToken::new();
    cancel_on_ctrl_c(cancel.clone());
    let shower = tokio::spawn(show_events(rx, Reporter::new(false), None, None));
    let writer = Writer::new(backend, setup.prompts.clone(), tx, cancel);
    let result = writer.plan(&job).await;
    drop(writer);
    let _ = shower.await;
    let plan = result.map_err(job_error)?;
    if p.json {
        let json =
            serde_json::to_string_pretty(&plan).map_err(|e| CliError::Failed(e.to_string()))?;
        println!("{json}");
    } else {
        print!("{}", plan_listing(&plan));
    }
    Ok(EXIT_OK)
}

/// A plan as numbered lines for people.
fn plan_listing(plan: &Plan) -> String {
    let mut out = String::new();
    for (i, s) in plan.sections.iter().enumerate() {
        out.push_str(&format!(
            "{:>3}. {} ({} words)\n     {}\n",
            i + 1,
            s.title,
            s.target_words,
            s.main_point
        ));
    }
    for (i, c) in plan.chapters.iter().enumerate() {
        out.push_str(&format!(
            "Chapter {}. {} ({} words)\n     {}\n",
            i + 1,
            c.title,
            c.target_words,
            c.main_point
        ));
    }
    match plan.has_chapters() {
        true => out.push_str(&format!(
            "Total: {} words in {} chapter(s); each chapter's sections are planned when it starts",
            plan.total_target(),
            plan.chapters.len()
        )),
        false => out.push_str(&format!(
            "Total: {} words in {} section(s)",
            plan.total_target(),
            plan.sections.len()
        )),
    }
    if plan.fallback {
        out.push_str(" (fallback plan: the model's plan could not be used)");
    }
    out.push('\n');
    out
}

/// `longwriter write`: connects, creates the project in the store, then runs it here or, with
/// `--detach`, in a background worker.
pub async fn write(args: &BackendArgs, w: WriteArgs) -> Result<i32, CliError> {
    let setup = connect::setup(args)?;
    let job = make_job(&w.instruction, w.words, &setup)?;
    let output = w.output.as_ref().map(|path| OutputFile {
        path: path.clone(),
        format: w.format,
    });
    if let Some(out) = &output {
        check_output(&out.path)?;
    }
    // A detached run's worker connects (or loads the model) itself; here it is only checked.
    let backend = if w.detach {
        connect::check(args, &setup).await?;
        None
    } else {
        Some(connect::backend(args, &setup).await?)
    };
    let store = Store::open_default().map_err(job::store_error)?;
    let project = store
        .create(NewProject {
            instruction: job.instruction.clone(),
            target_words: job.target_words,
            language: job.language,
            settings: job.settings.clone(),
            backend: connect::backend_record(args, &setup),
        })
        .map_err(job::store_error)?;
    eprintln!(
        "longwriter: project {} \"{}\" in {}",
        project.id(),
        project.manifest.title,
        project.dir().display()
    );
    let Some(backend) = backend else {
        return detach::start(&project, args, output.as_ref()).await;
    };
    let lock = job::lock(&project)?;
    let options = RunOptions {
        json: w.json,
        output,
        print: true,
        restart_section: false,
        detached: false,
    };
    job::run(project, lock, &setup, backend, options).await
}

fn check_output(path: &Path) -> Result<(), CliError> {
    export::check_writable(path).map_err(|e| {
        CliError::Usage(format!(
            "cannot write the output file {}: {e}. Choose another path with -o",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Section, SectionState};

    fn setup() -> Setup {
        Setup {
            file: Default::default(),
            prompts: std::sync::Arc::new(crate::prompt::Prompts::builtin()),
            writer: Default::default(),
        }
    }

    #[test]
    fn empty_instruction_is_a_usage_error() {
        let err = make_job("   ", None, &setup()).unwrap_err();
        assert_eq!(err.exit_code(), super::super::EXIT_USAGE);
        assert!(err.to_string().contains("instruction is empty"));
    }

    #[test]
    fn absurd_lengths_are_refused() {
        let err = make_job("Write 900000 words on tea", None, &setup()).unwrap_err();
        assert_eq!(err.exit_code(), super::super::EXIT_USAGE);
        assert!(err.to_string().contains("--words"), "{err}");
        assert_eq!(
            make_job("Write 3000 words on tea", None, &setup())
                .unwrap()
                .target_words,
            3000
        );
    }

    #[test]
    fn listing_shows_total_and_fallback() {
        let plan = Plan {
            sections: vec![Section {
                title: "A".into(),
                main_point: "p".into(),
                target_words: 5,
                state: SectionState::Planned,
            }],
            fallback: true,
            chapters: Vec::new(),
        };
        let text = plan_listing(&plan);
        assert!(text.contains("  1. A (5 words)"));
        assert!(text.contains("Total: 5 words in 1 section(s) (fallback plan"));
    }
}
