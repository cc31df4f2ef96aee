//! Settings and backends for a command: the config file, then flags; the API key from the
//! environment variable the user named; a connected backend, retried while unreachable.

use super::serve::ServeArgs;
use super::{BackendArgs, CliError};
use crate::backend::openai::{OpenAiBackend, OpenAiSettings};
use crate::backend::{Backend, BackendError};
use crate::config::{self, ConfigFile, DEFAULT_BASE_URL};
use crate::prompt::Prompts;
use crate::writer::WriterSettings;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything a command needs before it talks to the model.
pub struct Setup {
    /// The settings file's values.
    pub file: ConfigFile,
    /// Templates, with the user's overrides.
    pub prompts: Arc<Prompts>,
    /// Generation settings.
    pub writer: WriterSettings,
}

/// Reads the config file and prompt overrides and applies the flags.
pub fn setup(args: &BackendArgs) -> Result<Setup, CliError> {
    let dir = config::config_dir();
    let path = args
        .config
        .clone()
        .or_else(|| dir.as_ref().map(|d| d.join("config.toml")));
    let file = match path {
        Some(p) => ConfigFile::load(&p).map_err(|e| CliError::Usage(e.to_string()))?,
        None => ConfigFile::default(),
    };
    let overrides = match &dir {
        Some(d) => config::prompt_overrides(d).map_err(|e| CliError::Usage(e.to_string()))?,
        None => Vec::new(),
    };
    let prompts = Prompts::with_overrides(overrides).map_err(|e| CliError::Usage(e.to_string()))?;
    let mut writer = WriterSettings {
        sampling: file.sampling(),
        retry: file.retry(),
        ..WriterSettings::default()
    };
    if let Some(t) = args.temperature {
        if !(0.0..=2.0).contains(&t) {
            return Err(CliError::Usage(format!(
                "--temperature {t} is outside 0..2"
            )));
        }
        writer.sampling.temperature = t;
    }
    if let Some(p) = args.top_p {
        if !(0.0..=1.0).contains(&p) || p == 0.0 {
            return Err(CliError::Usage(format!("--top-p {p} must be in (0, 1]")));
        }
        writer.sampling.top_p = p;
    }
    writer.sampling.seed = args.seed.or(writer.sampling.seed);
    Ok(Setup {
        file,
        prompts: Arc::new(prompts),
        writer,
    })
}

/// What a project records of the backend flags: the URL, model and key variable *name* (never
/// the key), flags over the config file.
pub fn backend_record(args: &BackendArgs, setup: &Setup) -> crate::store::BackendRecord {
    let file = &setup.file.backend;
    crate::store::BackendRecord {
        base_url: args.base_url.clone().or_else(|| file.base_url.clone()),
        model: args.model.clone().or_else(|| file.model.clone()),
        api_key_env: args
            .api_key_env
            .clone()
            .or_else(|| file.api_key_env.clone()),
        served_by: None,
    }
}

/// Connects to the OpenAI-compatible server the flags and file name, retrying while it is
/// unreachable, and resolves the model.
pub async fn backend(args: &BackendArgs, setup: &Setup) -> Result<Arc<dyn Backend>, CliError> {
    if args.local {
        return local_backend(args, setup).await;
    }
    let base_url = args
        .base_url
        .clone()
        .or_else(|| setup.file.backend.base_url.clone())
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(CliError::Usage(format!(
            "--base-url {base_url:?} is not an http:// or https:// URL (e.g. http://127.0.0.1:8000/v1)"
        )));
    }
    let key_var = args
        .api_key_env
        .clone()
        .or_else(|| setup.file.backend.api_key_env.clone());
    let api_key = match &key_var {
        Some(var) => match std::env::var(var) {
            Ok(key) if !key.is_empty() => Some(key),
            _ => {
                return Err(CliError::Usage(format!(
                    "--api-key-env names {var}, but that environment variable is not set (export {var}=...)"
                )))
            }
        },
        None => None,
    };
    let settings = OpenAiSettings {
        base_url,
        model: args
            .model
            .clone()
            .or_else(|| setup.file.backend.model.clone()),
        api_key,
        connect_timeout: Duration::from_secs(10),
    };
    let policy = setup.writer.retry;
    let mut attempt = 1;
    loop {
        match OpenAiBackend::connect(settings.clone()).await {
            Ok(b) => return Ok(Arc::new(b)),
            Err(e @ BackendError::Unreachable { .. }) if attempt < policy.max_attempts.min(3) => {
                attempt += 1;
                let delay = policy.delay(attempt).min(Duration::from_secs(2));
                tracing::info!("{e}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(CliError::Usage(e.to_string())),
        }
    }
}

/// The backend `serve` puts its HTTP front over.
pub struct ServingBackend {
    /// The backend.
    pub backend: Arc<dyn Backend>,
    /// Whether it is the built-in engine (which generates one request at a time).
    pub local: bool,
}

/// Builds the backend of `serve`: the built-in engine for `--model FILE.gguf`, else a proxy to
/// `--upstream` (or `--base-url`). This is the engine's registration point.
pub async fn serving_backend(
    args: &BackendArgs,
    serve: &ServeArgs,
) -> Result<ServingBackend, CliError> {
    let gguf = args
        .model
        .as_deref()
        .filter(|m| m.to_ascii_lowercase().ends_with(".gguf"));
    if let Some(path) = gguf {
        return Ok(ServingBackend {
            backend: start_engine(PathBuf::from(path), args).await?,
            local: true,
        });
    }
    let Some(upstream) = serve.upstream.clone().or_else(|| args.base_url.clone()) else {
        return Err(CliError::Usage(
            "serve needs a model: --model FILE.gguf (built-in engine) or --upstream URL \
             (an OpenAI-compatible server to serve through)"
                .into(),
        ));
    };
    let upstream_args = BackendArgs {
        base_url: Some(upstream),
        api_key_env: serve.upstream_key_env.clone(),
        ..args.clone()
    };
    let setup = setup(&upstream_args)?;
    Ok(ServingBackend {
        backend: backend(&upstream_args, &setup).await?,
        local: false,
    })
}

/// Where `--local` finds its model: `--model`, the config file's `[backend] model`,
/// `LONGWRITER_MODEL`, then the first `*.gguf` in the data directory's `models/`.
pub fn find_local_model(args: &BackendArgs, setup: &Setup) -> Result<PathBuf, CliError> {
    let named = args
        .model
        .clone()
        .or_else(|| setup.file.backend.model.clone())
        .or_else(|| {
            std::env::var("LONGWRITER_MODEL")
                .ok()
                .filter(|s| !s.is_empty())
        });
    if let Some(path) = named {
        return Ok(PathBuf::from(path));
    }
    let models = config::data_dir().map(|d| d.join("models"));
    if let Some(dir) = &models {
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
                .collect();
            found.sort();
            if let Some(first) = found.into_iter().next() {
                return Ok(first);
            }
        }
    }
    let dir = models.map_or_else(
        || "the data directory's models/".into(),
        |d| d.display().to_string(),
    );
    Err(CliError::Usage(format!(
        "--local needs a GGUF model: pass --model FILE.gguf, set [backend] model in the config or LONGWRITER_MODEL, or run scripts/fetch-model.sh to install Gemma 3 270M into {dir}"
    )))
}

/// `--local`: the built-in engine over the model `find_local_model` names.
async fn local_backend(args: &BackendArgs, setup: &Setup) -> Result<Arc<dyn Backend>, CliError> {
    start_engine(find_local_model(args, setup)?, args).await
}

/// The one place the built-in engine is registered (for `--local` and for `serve --model`).
#[cfg(feature = "candle")]
async fn start_engine(
    model_path: PathBuf,
    args: &BackendArgs,
) -> Result<Arc<dyn Backend>, CliError> {
    use crate::engine::local::LocalBackend;
    use crate::engine::worker::EngineSettings;
    let settings = EngineSettings {
        model_path,
        context: args.context,
        threads: args.threads,
    };
    let template = args.chat_template.clone();
    let started =
        tokio::task::spawn_blocking(move || LocalBackend::start(settings, template.as_deref()))
            .await
            .map_err(|e| CliError::Usage(format!("the engine thread panicked: {e}")))?;
    match started {
        Ok(b) => Ok(Arc::new(b)),
        Err(e) => Err(CliError::Usage(e.to_string())),
    }
}

/// Without the engine, say how to get it.
#[cfg(not(feature = "candle"))]
async fn start_engine(
    model_path: PathBuf,
    _args: &BackendArgs,
) -> Result<Arc<dyn Backend>, CliError> {
    Err(CliError::Usage(format!(
        "cannot run {}: this longwriter was built without the built-in engine; rebuild with \
         `--features candle` (e.g. cargo install longwriter --features candle), or serve the file \
         with an OpenAI-compatible server (llama-server -m FILE) and use --base-url / --upstream",
        model_path.display()
    )))
}
