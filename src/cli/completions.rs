//! `longwriter completions SHELL` and `longwriter man`: shell completion scripts and man pages,
//! generated from the one clap definition (`Cli`) so that they can never disagree with the
//! flags `--help` shows.
//!
//! Both are rendered into memory first (clap_complete panics when its writer fails, and
//! `longwriter completions bash | head` must not panic) and then written to stdout or files.

use super::{Cli, CliError, EXIT_OK};
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Flags of `completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Flags of `man`.
#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Write longwriter.1 and one page per subcommand (longwriter-write.1, …) into this folder
    /// instead of printing longwriter.1 on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The completion script for `shell`, for the binary named `longwriter`.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut visible_command(), "longwriter", &mut script);
    script
}

/// `Cli` as users see it: the same arguments and subcommands without the hidden ones (the
/// detached worker), which clap_complete would otherwise offer at `longwriter <TAB>`.
fn visible_command() -> clap::Command {
    let full = Cli::command();
    let mut visible = clap::Command::new("longwriter")
        .version(env!("CARGO_PKG_VERSION"))
        .args(full.get_arguments().cloned())
        .groups(full.get_groups().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = full.get_about() {
        visible = visible.about(about.clone());
    }
    visible
}

/// The man page `longwriter(1)` as roff: synopsis, every global flag, and the subcommands.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    // No `help` pseudo-subcommand: it has no page of its own (generate_to leaves it out too).
    clap_mangen::Man::new(Cli::command().disable_help_subcommand(true)).render(&mut page)?;
    Ok(page)
}

/// Writes `longwriter.1` and a page per visible subcommand (`longwriter-write.1`, …) into `dir`.
pub fn write_man_pages(dir: &Path) -> std::io::Result<()> {
    clap_mangen::generate_to(Cli::command(), dir)
}

/// Runs `longwriter completions SHELL`: the script on stdout.
pub fn completions(args: CompletionsArgs) -> Result<i32, CliError> {
    print(&completion_script(args.shell))
}

/// Runs `longwriter man [--dir DIR]`.
pub fn man(args: ManArgs) -> Result<i32, CliError> {
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .and_then(|()| write_man_pages(&dir))
                .map_err(|e| {
                    CliError::Usage(format!(
                        "cannot write the man pages into {}: {e}; pass a writable folder to --dir",
                        dir.display()
                    ))
                })?;
            Ok(EXIT_OK)
        }
        None => {
            let page = man_page()
                .map_err(|e| CliError::Failed(format!("cannot render the man page: {e}")))?;
            print(&page)
        }
    }
}

/// Writes generated text to stdout; a closed pipe is an error message, not a panic.
fn print(bytes: &[u8]) -> Result<i32, CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Failed(format!("cannot write to standard output: {e}")))?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;
    use std::process::Command;

    /// The subcommands a user can type; the hidden `__worker` is not one of them.
    const SUBCOMMANDS: &[&str] = &[
        "plan",
        "write",
        "list",
        "show",
        "resume",
        "export",
        "rm",
        "stop",
        "attach",
        "serve",
        "completions",
        "man",
    ];

    #[test]
    fn every_shell_gets_a_script_naming_every_subcommand() {
        for shell in Shell::value_variants() {
            let script = String::from_utf8(completion_script(*shell)).expect("UTF-8 script");
            assert!(script.contains("longwriter"), "{shell}: {script}");
            for sub in SUBCOMMANDS {
                assert!(script.contains(sub), "{shell} script lacks `{sub}`");
            }
            assert!(
                !script.contains("__worker"),
                "{shell} offers the hidden worker"
            );
            assert!(
                script.contains("--base-url"),
                "{shell} lacks the global flags"
            );
        }
    }

    /// Each script that a shell installed here can parse must parse (`bash -n`, `zsh -n`,
    /// `fish --no-execute`); shells that are not installed are skipped, and said so.
    #[test]
    fn completion_scripts_parse_in_their_shells() {
        let dir = tempfile::tempdir().expect("temp dir");
        let checks: [(Shell, &str, &[&str]); 3] = [
            (Shell::Bash, "bash", &["-n"]),
            (Shell::Zsh, "zsh", &["-n"]),
            (Shell::Fish, "fish", &["--no-execute"]),
        ];
        for (shell, program, flags) in checks {
            let path = dir.path().join(format!("longwriter.{program}"));
            std::fs::write(&path, completion_script(shell)).expect("write script");
            match Command::new(program).args(flags).arg(&path).output() {
                Ok(out) => assert!(
                    out.status.success(),
                    "{program} rejects its script: {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
                Err(e) => eprintln!("{program} not run ({e}); its script is not syntax-checked"),
            }
        }
    }

    #[test]
    fn man_page_is_roff_naming_every_subcommand() {
        let page = String::from_utf8(man_page().expect("render")).expect("UTF-8 page");
        assert!(page.contains(".TH longwriter 1"), "{page}");
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
            assert!(page.contains(section), "no {section}: {page}");
        }
        for sub in SUBCOMMANDS {
            assert!(
                page.contains(&format!("longwriter\\-{sub}(1)")),
                "no {sub}: {page}"
            );
        }
        assert!(!page.contains("__worker"));
    }

    /// `man -l` formats the page without a warning (skipped where `man` is not installed).
    #[test]
    fn man_formats_the_page_without_warnings() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("longwriter.1");
        std::fs::write(&path, man_page().expect("render")).expect("write page");
        let out = match Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&path)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
        {
            Ok(out) => out,
            Err(e) => return eprintln!("man not run ({e}); the page is not formatted"),
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "man -l: {stderr}"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        for sub in SUBCOMMANDS {
            assert!(text.contains(sub), "formatted page lacks {sub}: {text}");
        }
    }

    #[test]
    fn man_dir_writes_a_page_per_subcommand() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_man_pages(dir.path()).expect("write pages");
        assert!(dir.path().join("longwriter.1").is_file());
        for sub in SUBCOMMANDS {
            let page = dir.path().join(format!("longwriter-{sub}.1"));
            assert!(page.is_file(), "no {}", page.display());
        }
        assert!(!dir.path().join("longwriter-__worker.1").exists());
    }
}
