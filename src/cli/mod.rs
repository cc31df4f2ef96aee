//! The command line: subcommands, their flags, and the one place that builds concrete backends.
//!
//! Raw flags become validated settings here (an empty instruction or an absurd `--words` is a
//! usage error before anything is sent); `main` only maps `CliError` to an exit code.

mod backends;
mod batch;
pub mod completions;
mod connect;
pub mod detach;
mod documents;
mod eval;
mod export;
mod job;
mod progress;
mod projects;
mod run;
mod serve;
mod studio;

pub use backends::BackendsArgs;
pub use batch::BatchArgs;
pub use completions::{CompletionsArgs, ManArgs};
pub use detach::{ResumeArgs, WorkerArgs};
pub use eval::EvalArgs;
pub use export::ExportArgs;
pub use projects::{ListArgs, ProjectArg, RmArgs};
pub use serve::ServeArgs;

use crate::backend::{
    FrequencyPenalty, MinP, PresencePenalty, RepetitionPenalty, Temperature, TopK, TopP,
};
use crate::export::Format;
use crate::writer::TargetWords;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

/// Exit code of a finished job.
pub const EXIT_OK: i32 = 0;
/// Exit code of a job that failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code of a usage or configuration error.
pub const EXIT_USAGE: i32 = 2;
/// Exit code after Ctrl-C.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Command-line errors, each with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags, bad configuration, unusable server or output: nothing was generated.
    #[error("{0}")]
    Usage(String),
    /// The job started and failed; what was written is kept.
    #[error("{0}")]
    Failed(String),
    /// The user pressed Ctrl-C; what was written is kept.
    #[error("{0}")]
    Interrupted(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) => EXIT_USAGE,
            Self::Failed(_) => EXIT_FAILED,
            Self::Interrupted(_) => EXIT_INTERRUPTED,
        }
    }
}

/// LongWriter Studio: plan and write very long texts with any language model.
#[derive(Debug, Parser)]
#[command(name = "longwriter", version, about, long_about = None)]
pub struct Cli {
    /// Backend and generation flags, shared by every command.
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Studio theme: dark, light, high-contrast, or NAME.toml in <config dir>/themes (a name,
    /// not a path).
    #[arg(long, value_name = "NAME", value_parser = theme_name)]
    pub theme: Option<String>,
    /// Open this saved project (id, unique id prefix, or title) in the studio.
    #[arg(value_name = "PROJECT")]
    pub project: Option<String>,
    /// What to do; without one, the studio opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How to reach the model.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// API root of an OpenAI-compatible server (vLLM, llama-server, OpenAI, `longwriter serve`).
    /// `batch` takes it more than once: a fleet of servers of one model.
    #[arg(long, global = true, env = "LONGWRITER_BASE_URL", value_name = "URL",
          action = clap::ArgAction::Append)]
    pub base_url: Option<String>,
    /// The server's API: openai (vLLM, llama-server, OpenAI, `longwriter serve`) or ollama
    /// (Ollama's native API, e.g. --base-url http://127.0.0.1:11434); default: `[backend] api`,
    /// else openai.
    #[arg(long, global = true, value_name = "API")]
    pub api: Option<crate::backend::ApiKind>,
    /// Every `--base-url` given, in order (`base_url` is the first); filled by `Cli::parse_args`.
    #[arg(skip)]
    pub fleet: Vec<String>,
    /// Model name; default: the first model the server lists. With --local: the GGUF file.
    #[arg(long, global = true, value_name = "NAME")]
    pub model: Option<String>,
    /// Run the model in-process with the built-in engine (needs the `candle` feature) instead
    /// of talking to a server.
    #[arg(long, global = true)]
    pub local: bool,
    /// With --local: CPU threads for the engine (default: the physical cores).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// With --local (and `serve --model`): where the engine runs: cpu, cuda, cuda:N (the NVIDIA
    /// GPU of index N; needs the `cuda` feature) or metal (needs the `metal` feature).
    #[arg(
        long,
        global = true,
        env = "LONGWRITER_DEVICE",
        value_name = "DEVICE",
        default_value = "cpu"
    )]
    pub device: crate::engine::device::DeviceChoice,
    /// Context window in tokens. With the built-in engine: its KV cache positions (default:
    /// the model's trained context within a 1 GiB cache budget); with a server: overrides
    /// what the server reports (llama.cpp's /props, vLLM's /v1/models) and the config's
    /// `[backend] context`.
    #[arg(long, global = true, value_name = "TOKENS")]
    pub context: Option<usize>,
    /// Plan in chapters first, then each chapter's sections when it starts (the default
    /// above 20,000 words; `[generation] chapters` in config.toml).
    #[arg(long, global = true, conflicts_with = "no_chapters")]
    pub chapters: bool,
    /// Plan sections only, however long the text.
    #[arg(long, global = true)]
    pub no_chapters: bool,
    /// With --local: a built-in chat template (gemma, llama3, llama2, glm4, chatml) instead of
    /// the model file's own, or `none`: a base model, written in completion mode.
    #[arg(long, global = true, value_name = "NAME")]
    pub chat_template: Option<String>,
    /// How to prompt: `chat` (step instructions) or `completion` (a document to continue, for
    /// base models). Default: completion for an engine model without a chat template, else
    /// chat; `[backend] mode` in config.toml.
    #[arg(long, global = true, value_name = "MODE")]
    pub mode: Option<crate::backend::PromptMode>,
    /// Name of the environment variable holding the API key (the key itself never goes on the
    /// command line).
    #[arg(long, global = true, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Sampling temperature, 0..=2.
    #[arg(long, global = true, value_name = "T")]
    pub temperature: Option<Temperature>,
    /// Nucleus sampling mass, in (0, 1].
    #[arg(long, global = true, value_name = "P")]
    pub top_p: Option<TopP>,
    /// Keep only the K most likely tokens (at least 1); default: the server's.
    #[arg(long, global = true, value_name = "K")]
    pub top_k: Option<TopK>,
    /// Drop tokens below P times the most likely one's probability, 0..=1.
    #[arg(long, global = true, value_name = "P")]
    pub min_p: Option<MinP>,
    /// Penalty on recently used tokens, (0, 2], 1 is off (llama.cpp, vLLM, the engine).
    #[arg(long, global = true, value_name = "R")]
    pub repetition_penalty: Option<RepetitionPenalty>,
    /// OpenAI frequency penalty, -2..=2, 0 is off.
    #[arg(long, global = true, value_name = "F", allow_negative_numbers = true)]
    pub frequency_penalty: Option<FrequencyPenalty>,
    /// OpenAI presence penalty, -2..=2, 0 is off.
    #[arg(long, global = true, value_name = "F", allow_negative_numbers = true)]
    pub presence_penalty: Option<PresencePenalty>,
    /// How many recent tokens the penalties look at (llama.cpp, Ollama, the engine; 64 there
    /// unless set, 256 for sections in completion mode).
    #[arg(long, global = true, value_name = "N")]
    pub repeat_last_n: Option<u32>,
    /// Sampling seed, for servers that honour it.
    #[arg(long, global = true, value_name = "N")]
    pub seed: Option<u64>,
    /// Settings file instead of the one in the config folder.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A named backend, `[profiles.NAME]` in config.toml, followed by the file's `fallback`
    /// list (default: the file's `profile`).
    #[arg(long, global = true, env = "LONGWRITER_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask the model for a plan and print it.
    Plan(PlanArgs),
    /// Plan and write a whole document (a new project in the store).
    Write(WriteArgs),
    /// List the projects in the store.
    List(ListArgs),
    /// Show a project: state, plan, words per section.
    Show(ProjectArg),
    /// Continue a stopped, failed or interrupted project where it left off.
    Resume(ResumeArgs),
    /// Export a project's text so far to a file.
    Export(ExportArgs),
    /// Delete a project.
    Rm(RmArgs),
    /// Stop a running (for example detached) project cleanly.
    Stop(ProjectArg),
    /// Follow a running project live, read-only, until it ends.
    Attach(ProjectArg),
    /// Serve an OpenAI-compatible API (over the built-in engine or an upstream server).
    Serve(ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(CompletionsArgs),
    /// Run LongBench-Write or LongWrite-Ruler through the pipeline and score it (S_l, S_q).
    Eval(EvalArgs),
    /// Write a document for every prompt of a JSONL file, many at once (over several servers
    /// with --base-url given more than once); each finished one is appended to --out as one
    /// SFT record line. Rerun to resume.
    Batch(BatchArgs),
    /// Print the man page (roff) on stdout, or write every page into a folder with --dir.
    Man(ManArgs),
    /// Check every profile of config.toml: reachable, models, context, time to first token.
    Backends(BackendsArgs),
    /// Internal: the background worker of a detached run.
    #[command(name = "__worker", hide = true)]
    Worker(WorkerArgs),
}

/// Flags of `plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// What to write.
    pub instruction: String,
    /// Total length in words (字 for Chinese), 1 to 200,000; default: read from the
    /// instruction.
    #[arg(long, value_name = "N")]
    pub words: Option<TargetWords>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `write`.
#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// What to write.
    pub instruction: String,
    /// Total length in words (字 for Chinese), 1 to 200,000; default: read from the
    /// instruction.
    #[arg(long, value_name = "N")]
    pub words: Option<TargetWords>,
    /// Output file; default: the document goes to stdout at the end.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
    /// Print the job's events as JSON lines on stdout instead of progress bars.
    #[arg(long)]
    pub json: bool,
    /// Write in a background worker that survives the terminal; prints the project id.
    #[arg(long)]
    pub detach: bool,
}

impl Cli {
    /// Parses `argv` as `try_parse_from` does, and also keeps every `--base-url` given (clap's
    /// derive keeps only the first) in `backend.fleet`.
    pub fn parse_args<I, T>(argv: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut matches = Self::command().try_get_matches_from(argv)?;
        let fleet: Vec<String> = matches
            .get_many::<String>("base_url")
            .map(|urls| urls.cloned().collect())
            .unwrap_or_default();
        let mut cli = Self::from_arg_matches_mut(&mut matches)?;
        cli.backend.fleet = fleet;
        Ok(cli)
    }
}

/// Runs the parsed command line; returns the exit code.
pub async fn run(cli: Cli) -> Result<i32, CliError> {
    if cli.backend.fleet.len() > 1 && !matches!(cli.command, Some(Command::Batch(_))) {
        return Err(CliError::Usage(format!(
            "--base-url was given {} times; only `batch` spreads its work over several servers: give one --base-url",
            cli.backend.fleet.len()
        )));
    }
    match cli.command {
        Some(Command::Plan(args)) => run::plan(&cli.backend, args).await,
        Some(Command::Write(args)) => run::write(&cli.backend, args).await,
        Some(Command::List(args)) => projects::list(args),
        Some(Command::Show(args)) => projects::show(args),
        Some(Command::Resume(args)) => detach::resume(&cli.backend, args).await,
        Some(Command::Export(args)) => export::export(args),
        Some(Command::Rm(args)) => projects::rm(args),
        Some(Command::Stop(args)) => projects::stop(args).await,
        Some(Command::Attach(args)) => projects::attach(args).await,
        Some(Command::Serve(args)) => serve::serve(&cli.backend, args).await,
        Some(Command::Completions(args)) => completions::completions(args),
        Some(Command::Eval(args)) => eval::eval(&cli.backend, args).await,
        Some(Command::Batch(args)) => batch::batch(&cli.backend, args).await,
        Some(Command::Man(args)) => completions::man(args),
        Some(Command::Backends(args)) => backends::backends(&cli.backend, args).await,
        Some(Command::Worker(args)) => detach::worker(&cli.backend, args).await,
        None => studio::run(&cli.backend, cli.theme, cli.project).await,
    }
}

/// `--theme`'s parser: a theme name, never a path.
fn theme_name(name: &str) -> Result<String, String> {
    crate::tui::theme::check_name(name)
        .map(|()| name.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(args: &[&str]) -> String {
        let argv = std::iter::once("longwriter").chain(args.iter().copied());
        match Cli::try_parse_from(argv) {
            Ok(_) => panic!("{args:?} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn flags_are_range_checked_by_their_types() {
        assert!(refusal(&["--temperature", "3", "list"]).contains("outside 0..=2"));
        assert!(refusal(&["--top-p", "0", "list"]).contains("outside (0, 1]"));
        assert!(refusal(&["write", "x", "--words", "0"]).contains("out of range"));
        let cli = Cli::try_parse_from(["longwriter", "--temperature", "0", "plan", "x"])
            .expect("a valid command line");
        assert_eq!(cli.backend.temperature.map(Temperature::get), Some(0.0));
    }

    #[test]
    fn sampling_controls_are_checked_when_parsed() {
        assert!(refusal(&["--top-k", "0", "list"]).contains("at least 1"));
        assert!(refusal(&["--min-p", "2", "list"]).contains("outside 0..=1"));
        assert!(refusal(&["--repetition-penalty", "0", "list"]).contains("(0, 2]"));
        assert!(refusal(&["--frequency-penalty", "3", "list"]).contains("frequency penalty 3"));
        assert!(refusal(&["--presence-penalty", "x", "list"]).contains("not a number"));
        let cli = Cli::try_parse_from([
            "longwriter",
            "--top-k",
            "40",
            "--min-p",
            "0.05",
            "--repetition-penalty",
            "1.1",
            "--frequency-penalty",
            "0.5",
            "--presence-penalty",
            "-0.5",
            "list",
        ])
        .expect("valid sampling flags");
        assert_eq!(cli.backend.top_k.map(TopK::get), Some(40));
        assert_eq!(cli.backend.min_p.map(MinP::get), Some(0.05));
        assert_eq!(cli.backend.repetition_penalty.map(f32::from), Some(1.1));
        assert_eq!(cli.backend.frequency_penalty.map(f32::from), Some(0.5));
        assert_eq!(cli.backend.presence_penalty.map(f32::from), Some(-0.5));
    }
}
