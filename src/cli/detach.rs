//! `resume`, detached runs and the hidden worker.
//!
//! `write --detach` and `resume --detach` start `longwriter __worker <id>` in a new session
//! (setsid, SIGHUP ignored, stdin from /dev/null, stdout and stderr to the project's
//! `worker.log`), wait until it holds the project's lock, print the id and return; the worker
//! outlives the terminal. The API key reaches the worker only through the environment variable
//! whose *name* the manifest records; it is never written to disk. `spawn_worker` is also the
//! studio's hand-off: it detaches a project the studio was writing.

use super::job::{self, RunOptions};
use super::progress::OutputFile;
use super::{BackendArgs, CliError, EXIT_OK};
use crate::engine::device::DeviceChoice;
use crate::export::Format;
use crate::store::{lock::live_holder, JobState, Project};
use clap::Args;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Flags of `resume`.
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// Project id, unique id prefix, or title.
    pub project: String,
    /// Write the section in progress again from its start instead of continuing its text.
    #[arg(long)]
    pub restart_section: bool,
    /// Continue in a background worker that survives the terminal.
    #[arg(long)]
    pub detach: bool,
    /// Also export the document here at the end.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Export format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
    /// Print the job's events as JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Flags of the hidden `__worker` command.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Project id.
    pub project: String,
    /// Start the section in progress over.
    #[arg(long)]
    pub restart_section: bool,
    /// Export here at the end.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Export format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
}

/// `longwriter resume`.
pub async fn resume(args: &BackendArgs, r: ResumeArgs) -> Result<i32, CliError> {
    let project = job::open_project(&r.project)?;
    let output = r.output.map(|path| OutputFile {
        path,
        format: r.format,
    });
    if r.detach {
        if let Some(holder) = live_holder(project.dir()) {
            return Err(CliError::Usage(format!(
                "project {} is being written by {holder}; follow it with `longwriter attach {}`",
                project.id(),
                project.id()
            )));
        }
        let mut spawn = WorkerSpawn::new(args);
        spawn.output = output;
        spawn.restart_section = r.restart_section;
        let pid = spawn_worker(&project, &spawn).await?;
        println!("{}", project.id());
        eprintln!(
            "longwriter: project {} continues in the background (pid {pid}); `longwriter attach {}` follows it",
            project.id(),
            project.id()
        );
        return Ok(EXIT_OK);
    }
    let lock = job::lock(&project)?;
    eprintln!(
        "longwriter: resuming project {} \"{}\"",
        project.id(),
        project.manifest.title
    );
    let (setup, backend) = job::connect_project(args, &project).await?;
    let options = RunOptions {
        json: r.json,
        output,
        print: false,
        restart_section: r.restart_section,
        detached: false,
    };
    job::run(project, lock, &setup, backend, options).await
}

/// The hidden `__worker` command: runs a project in the background process.
pub async fn worker(args: &BackendArgs, w: WorkerArgs) -> Result<i32, CliError> {
    let mut project = job::open_project(&w.project)?;
    let lock = job::lock(&project)?;
    eprintln!(
        "longwriter worker: pid {} writing project {}",
        std::process::id(),
        project.id()
    );
    let (setup, backend) = match job::connect_project(args, &project).await {
        Ok(pair) => pair,
        Err(e) => {
            project.manifest.state = JobState::Failed;
            project.manifest.error = Some(e.to_string());
            let _ = project.save_manifest();
            return Err(e);
        }
    };
    let options = RunOptions {
        json: false,
        output: w.output.map(|path| OutputFile {
            path,
            format: w.format,
        }),
        print: false,
        restart_section: w.restart_section,
        detached: true,
    };
    job::run(project, lock, &setup, backend, options).await
}

/// `write --detach`: the project exists; start its worker and return.
pub(super) async fn start(
    project: &Project,
    args: &BackendArgs,
    output: Option<&OutputFile>,
) -> Result<i32, CliError> {
    let mut spawn = WorkerSpawn::new(args);
    spawn.output = output.cloned();
    let pid = spawn_worker(project, &spawn).await?;
    println!("{}", project.id());
    eprintln!(
        "longwriter: writing in the background (pid {pid}, log {}); `longwriter attach {}` follows it, `longwriter stop {}` ends it",
        project.log_path().display(),
        project.id(),
        project.id()
    );
    Ok(EXIT_OK)
}

/// What a worker is started with.
#[derive(Clone)]
pub struct WorkerSpawn {
    config: Option<PathBuf>,
    /// The engine's device, passed on as `--device` (so the worker's environment cannot
    /// override the flag the user gave).
    device: DeviceChoice,
    output: Option<OutputFile>,
    restart_section: bool,
}

impl WorkerSpawn {
    /// A worker reading settings from the `--config` of `args` (or the default config file),
    /// on the engine device of `args`.
    pub fn new(args: &BackendArgs) -> Self {
        Self {
            config: args.config.clone(),
            device: args.device,
            output: None,
            restart_section: false,
        }
    }
}

/// Starts a background worker for `project` and waits until it holds the project's lock;
/// returns its pid. The worker inherits this process's environment (so the API key's variable)
/// and nothing else: no terminal, no session, no open pipes.
pub async fn spawn_worker(project: &Project, spawn: &WorkerSpawn) -> Result<u32, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Failed(format!("cannot find the longwriter binary: {e}")))?;
    let log_path = project.log_path();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| CliError::Failed(format!("cannot open {}: {e}", log_path.display())))?;
    let log_err = log
        .try_clone()
        .map_err(|e| CliError::Failed(format!("cannot open {}: {e}", log_path.display())))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("__worker").arg(project.id());
    cmd.arg("--device").arg(spawn.device.to_string());
    if let Some(config) = &spawn.config {
        cmd.arg("--config").arg(absolute(config));
    }
    if let Some(out) = &spawn.output {
        cmd.arg("--output").arg(absolute(&out.path));
        cmd.arg("--format").arg(match out.format {
            Format::Md => "md",
            Format::Txt => "txt",
        });
    }
    if spawn.restart_section {
        cmd.arg("--restart-section");
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log_err);
    // SAFETY: only async-signal-safe calls (setsid, signal) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = tokio::process::Command::from(cmd)
        .spawn()
        .map_err(|e| CliError::Failed(format!("cannot start the background worker: {e}")))?;
    let pid = child.id().unwrap_or_default();
    // The lock file is the worker's only sign of life, so it is looked at on a timer; the
    // worker's exit is awaited as the event it is. Both wait without holding a thread.
    let mut look = tokio::time::interval(LOOK_EVERY);
    let give_up = tokio::time::sleep(START_WITHIN);
    tokio::pin!(give_up);
    loop {
        tokio::select! {
            _ = look.tick() => {
                if live_holder(project.dir()).is_some_and(|h| h.pid == pid) {
                    return Ok(pid);
                }
            }
            status = child.wait() => {
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                return Err(CliError::Failed(format!(
                    "the background worker exited ({status}) before starting; see {}:\n{}",
                    log_path.display(),
                    tail(&log_path)
                )));
            }
            _ = &mut give_up => {
                return Err(CliError::Failed(format!(
                    "the background worker (pid {pid}) did not start within {} s; see {}",
                    START_WITHIN.as_secs(),
                    log_path.display()
                )));
            }
        }
    }
}

/// How often the lock is looked at while a worker starts.
const LOOK_EVERY: Duration = Duration::from_millis(20);
/// How long a worker may take to load its settings, connect and take the lock.
const START_WITHIN: Duration = Duration::from_secs(15);

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
