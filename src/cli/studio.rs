//! `longwriter` with no subcommand: connect like `write` does, then open the studio.

use super::connect;
use super::{BackendArgs, CliError, EXIT_OK, EXIT_USAGE};
use crate::config;
use crate::tui::{self, Exit, Studio, TuiError};
use std::io::IsTerminal;

/// Exit code after SIGHUP (128 + 1).
const EXIT_HANGUP: i32 = 129;

/// Runs the studio; returns the exit code.
pub async fn run(args: &BackendArgs, theme: Option<String>) -> Result<i32, CliError> {
    if !std::io::stdout().is_terminal() {
        return Err(CliError::Usage(TuiError::NotATerminal.to_string()));
    }
    let setup = connect::setup(args)?;
    let backend = connect::backend(args, &setup).await?;
    let key_var = args
        .api_key_env
        .clone()
        .or_else(|| setup.file.backend.api_key_env.clone());
    let secrets = key_var
        .and_then(|v| std::env::var(v).ok())
        .into_iter()
        .collect();
    let studio = Studio {
        backend,
        prompts: setup.prompts.clone(),
        settings: setup.writer.clone(),
        theme: theme
            .or_else(|| setup.file.studio.theme.clone())
            .unwrap_or_else(|| "dark".into()),
        config_dir: config::config_dir(),
        keys: setup.file.keys.clone(),
        data_dir: config::data_dir(),
        secrets,
    };
    match tui::run(studio).await {
        Ok(Exit::Normal) => Ok(EXIT_OK),
        Ok(Exit::HungUp) => Ok(EXIT_HANGUP),
        Ok(Exit::TerminalLost) => Ok(EXIT_USAGE),
        Err(TuiError::NotATerminal) => Err(CliError::Usage(TuiError::NotATerminal.to_string())),
        Err(e) => Err(CliError::Failed(e.to_string())),
    }
}
