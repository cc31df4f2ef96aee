//! `longwriter` with no subcommand: connect like `write` does, then open the studio; with a
//! project name (`longwriter <project>`), open that saved project in it. The studio's profile
//! picker connects a profile here, as `--profile` would.

use super::detach::{spawn_worker, WorkerSpawn};
use super::job::{self, store_error};
use super::{connect, BackendArgs, CliError, EXIT_OK, EXIT_USAGE};
use crate::config;
use crate::config::ProfileKind;
use crate::store::Store;
use crate::tui::state::ProfileRow;
use crate::tui::{self, Exit, HandOff, ProfileBackend, Studio, TuiError, UseProfile};
use std::io::IsTerminal;
use std::sync::Arc;

/// Exit code after SIGHUP (128 + 1).
const EXIT_HANGUP: i32 = 129;

/// Runs the studio, on `project` if one is named; returns the exit code.
pub async fn run(
    args: &BackendArgs,
    theme: Option<String>,
    project: Option<String>,
) -> Result<i32, CliError> {
    let store = Store::open_default().map_err(store_error)?;
    let opened = project.as_deref().map(job::open_project).transpose()?;
    if !std::io::stdout().is_terminal() {
        return Err(CliError::Usage(TuiError::NotATerminal.to_string()));
    }
    let args = match &opened {
        Some(p) => job::project_backend_args(args, p),
        None => args.clone(),
    };
    let setup = connect::setup(&args)?;
    let backend = connect::backend(&args, &setup).await?;
    let record = connect::backend_record(&args, &setup);
    let key_var = record.api_key_env.clone();
    let secrets = key_var
        .and_then(|v| std::env::var(v).ok())
        .into_iter()
        .collect();
    // The studio calls its hand-off on the blocking pool, where waiting for the worker on the
    // runtime's handle holds no runtime worker.
    let runtime = tokio::runtime::Handle::current();
    let spawn = WorkerSpawn::new(&args);
    let hand_off: HandOff = Arc::new(move |project| {
        runtime
            .block_on(spawn_worker(project, &spawn))
            .map_err(|e| e.to_string())
    });
    let profiles = profile_rows(&setup.file.profile_set());
    let profile = record.profile.clone();
    let use_profile = use_profile(&args);
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
        store,
        record,
        hand_off: Some(hand_off),
        open: opened.map(|p| p.dir().to_path_buf()),
        profiles,
        profile,
        use_profile: Some(use_profile),
    };
    match tui::run(studio).await {
        Ok(Exit::Normal) => Ok(EXIT_OK),
        Ok(Exit::HungUp) => Ok(EXIT_HANGUP),
        Ok(Exit::TerminalLost) => Ok(EXIT_USAGE),
        Err(TuiError::NotATerminal) => Err(CliError::Usage(TuiError::NotATerminal.to_string())),
        Err(e) => Err(CliError::Failed(e.to_string())),
    }
}

/// The config file's profiles as the picker lists them: name, kind, URL (or model file).
fn profile_rows(profiles: &config::Profiles) -> Vec<ProfileRow> {
    profiles
        .by_name
        .iter()
        .map(|(name, p)| ProfileRow {
            name: name.clone(),
            kind: p.kind.as_str().to_string(),
            place: match p.kind {
                ProfileKind::Local => p.model.clone().unwrap_or_else(|| "(default model)".into()),
                _ => p.url.clone().unwrap_or_default(),
            },
        })
        .collect()
}

/// Connects a profile chosen in the studio's picker as `--profile NAME` would: the config file
/// read again, then the profile and its fallback list. The flags that name another backend
/// (`--base-url`, `--local`, `--model`, `--api-key-env`, `--api`) are dropped: the choice wins.
fn use_profile(args: &BackendArgs) -> UseProfile {
    let args = BackendArgs {
        base_url: None,
        fleet: Vec::new(),
        local: false,
        model: None,
        api_key_env: None,
        api: None,
        ..args.clone()
    };
    Arc::new(move |name: String| {
        let args = BackendArgs {
            profile: Some(name),
            ..args.clone()
        };
        Box::pin(async move {
            let setup = connect::setup(&args).map_err(|e| e.to_string())?;
            let backend = connect::backend(&args, &setup)
                .await
                .map_err(|e| e.to_string())?;
            Ok(ProfileBackend {
                backend,
                record: connect::backend_record(&args, &setup),
                settings: setup.writer,
            })
        })
    })
}
