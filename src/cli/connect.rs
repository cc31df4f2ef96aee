//! Settings and backends for a command: the config file, then flags; the API key from the
//! environment variable the user named; the built-in engine when no server is configured (or
//! with `--local`), else a connected server backend, retried while unreachable. This is the one
//! place that knows whether the engine is built in (feature `candle`).

use super::serve::ServeArgs;
use super::{BackendArgs, CliError};
use crate::backend::fallback::{FallbackBackend, Link};
use crate::backend::ollama::{OllamaBackend, OllamaSettings};
use crate::backend::openai::{OpenAiBackend, OpenAiSettings, StreamLimits};
use crate::backend::{ApiKind, Backend, BackendError};
use crate::config::{self, ConfigFile, Profile, ProfileKind};
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
    if let Some(var) = &args.api_key_env {
        check_key_var("--api-key-env", var)?;
    }
    let dir = config::config_dir();
    let file = match (&args.config, &dir) {
        (Some(given), _) => ConfigFile::load_given(given),
        (None, Some(d)) => ConfigFile::load(&d.join("config.toml")),
        (None, None) => Ok(ConfigFile::default()),
    }
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let overrides = match &dir {
        Some(d) => config::prompt_overrides(d).map_err(|e| CliError::Usage(e.to_string()))?,
        None => Vec::new(),
    };
    let prompts = Prompts::with_overrides(overrides).map_err(|e| CliError::Usage(e.to_string()))?;
    let mut writer = WriterSettings {
        sampling: file.sampling(),
        retry: file.retry(),
        guards: file.guards.clone(),
        ..WriterSettings::default()
    };
    let chain = file
        .profile_set()
        .chain(args.profile.as_deref())
        .map_err(|e| CliError::Usage(format!("{}: {e}", config_label(args))))?;
    let first = chain
        .first()
        .filter(|_| args.base_url.is_none() && !args.local);
    if let Some((_, profile)) = first {
        writer.sampling = profile.sampling(&writer.sampling);
    }
    // Checked by their types when the flags were parsed.
    if let Some(t) = args.temperature {
        writer.sampling.temperature = t.get();
    }
    if let Some(p) = args.top_p {
        writer.sampling.top_p = p.get();
    }
    let s = &mut writer.sampling;
    s.top_k = args.top_k.map(u32::from).or(s.top_k);
    s.min_p = args.min_p.map(f32::from).or(s.min_p);
    s.repetition_penalty = args
        .repetition_penalty
        .map(f32::from)
        .or(s.repetition_penalty);
    s.frequency_penalty = args
        .frequency_penalty
        .map(f32::from)
        .or(s.frequency_penalty);
    s.presence_penalty = args.presence_penalty.map(f32::from).or(s.presence_penalty);
    s.repeat_last_n = args.repeat_last_n.or(s.repeat_last_n);
    writer.sampling.seed = args.seed.or(writer.sampling.seed);
    writer.context = args
        .context
        .or(first.and_then(|(_, p)| p.context))
        .or(file.backend.context);
    writer.chapters = match (args.chapters, args.no_chapters) {
        (true, _) => crate::plan::ChapterMode::Always,
        (_, true) => crate::plan::ChapterMode::Never,
        _ => file.generation.chapters.unwrap_or_default(),
    };
    writer.mode = args.mode.or(file.backend.mode);
    if writer.context == Some(0) {
        return Err(CliError::Usage(
            "--context 0 leaves no room for a prompt; give the window in tokens (e.g. --context 8192)".into(),
        ));
    }
    Ok(Setup {
        file,
        prompts: Arc::new(prompts),
        writer,
    })
}

/// Where a command's text comes from, decided once from the flags, the environment and the
/// config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An OpenAI-compatible server at this API root (`--base-url`, `LONGWRITER_BASE_URL`, or
    /// `[backend] base_url`).
    Server(String),
    /// The profiles of config.toml, in fallback order (`--profile`, `LONGWRITER_PROFILE`, the
    /// file's `profile`, then its `fallback` list).
    Profiles(Vec<String>),
    /// The built-in engine: asked for with `--local`, or the default because no server is
    /// configured.
    Engine {
        /// Whether `--local` asked for it (for messages).
        asked: bool,
    },
}

/// Whether this build has the built-in engine (feature `candle`).
const ENGINE_BUILT_IN: bool = cfg!(feature = "candle");

/// `--local` wins; then a server named by the flag or `LONGWRITER_BASE_URL` (clap reads both
/// into `args.base_url`), then the profiles, then the config file's `[backend] base_url`; with
/// none, the built-in engine.
pub fn source(args: &BackendArgs, setup: &Setup) -> Source {
    if args.local {
        return Source::Engine { asked: true };
    }
    if let Some(url) = &args.base_url {
        return Source::Server(url.clone());
    }
    let chain = profile_chain(args, setup).unwrap_or_default();
    if !chain.is_empty() {
        return Source::Profiles(chain.into_iter().map(|(name, _)| name).collect());
    }
    match setup.file.backend.base_url.clone() {
        Some(url) => Source::Server(url),
        None => Source::Engine { asked: false },
    }
}

/// The profiles this command writes with, in order; empty when none is configured.
pub fn profile_chain(
    args: &BackendArgs,
    setup: &Setup,
) -> Result<Vec<(String, Profile)>, CliError> {
    setup
        .file
        .profile_set()
        .chain(args.profile.as_deref())
        .map_err(|e| CliError::Usage(format!("{}: {e}", config_label(args))))
}

/// The config file, for messages.
fn config_label(args: &BackendArgs) -> String {
    match (&args.config, config::config_dir()) {
        (Some(given), _) => given.display().to_string(),
        (None, Some(dir)) => dir.join("config.toml").display().to_string(),
        (None, None) => "config.toml".into(),
    }
}

/// What a project records of the backend flags: the URL, model and key variable *name* (never
/// the key), flags over the config file, and whether the built-in engine writes it (so that
/// `resume` and detached workers use it too). A local model file is recorded by its absolute
/// path, so a resume from another folder finds it.
pub fn backend_record(args: &BackendArgs, setup: &Setup) -> crate::store::BackendRecord {
    let file = &setup.file.backend;
    let source = source(args, setup);
    if let Source::Profiles(names) = &source {
        return crate::store::BackendRecord {
            profile: names.first().cloned(),
            ..Default::default()
        };
    }
    let local = matches!(source, Source::Engine { .. });
    let mut model = args.model.clone().or_else(|| file.model.clone());
    if local {
        model = model.map(|m| match std::path::absolute(&m) {
            Ok(abs) if abs.is_file() => abs.display().to_string(),
            _ => m,
        });
    }
    crate::store::BackendRecord {
        base_url: args.base_url.clone().or_else(|| file.base_url.clone()),
        model,
        api_key_env: args
            .api_key_env
            .clone()
            .or_else(|| file.api_key_env.clone()),
        local,
        served_by: None,
        profile: None,
        written_by: Default::default(),
    }
}

/// Checks that `backend` would succeed, for a run another process will make (`--detach`):
/// a server is connected to as `backend` does; a local model file is checked without loading
/// its weights, so they are loaded once, by the worker.
pub async fn check(args: &BackendArgs, setup: &Setup) -> Result<(), CliError> {
    match source(args, setup) {
        Source::Engine { asked } if ENGINE_BUILT_IN => {
            check_engine(find_local_model(args, setup, asked)?, args)
        }
        _ => backend(args, setup).await.map(|_| ()),
    }
}

/// The backend a command writes with: the built-in engine (`--local`, or no server
/// configured), else the server in its API (`--api`: OpenAI-compatible or Ollama), retried while it is unreachable, with the
/// model resolved.
pub async fn backend(args: &BackendArgs, setup: &Setup) -> Result<Arc<dyn Backend>, CliError> {
    backend_with_slots(args, setup, 1).await
}

/// `backend`, with the built-in engine (when it is the one) decoding up to `slots` requests in
/// one batch: `batch --local --concurrency N` gives it N.
pub async fn backend_with_slots(
    args: &BackendArgs,
    setup: &Setup,
    slots: usize,
) -> Result<Arc<dyn Backend>, CliError> {
    let base_url = match source(args, setup) {
        Source::Server(url) => url,
        Source::Profiles(_) => return chain_backend(args, setup).await,
        Source::Engine { asked: false } if !ENGINE_BUILT_IN => {
            return Err(CliError::Usage(format!(
                "no server is configured, and this longwriter was built without the built-in \
                 engine (--no-default-features), so it cannot run a model itself.\n{USE_A_SERVER}\n\
                 Or rebuild with the engine: cargo install --path . (it is a default feature)"
            )))
        }
        Source::Engine { asked } => {
            return start_engine(find_local_model(args, setup, asked)?, args, slots.max(1)).await
        }
    };
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
        Some(var) => Some(read_key("--api-key-env", var)?),
        None => None,
    };
    let model = args
        .model
        .clone()
        .or_else(|| setup.file.backend.model.clone());
    let api = args.api.or(setup.file.backend.api).unwrap_or_default();
    let f = &setup.file.backend;
    let server = Server {
        api,
        base_url,
        model,
        api_key,
        context: setup.writer.context,
        keep_alive: f.keep_alive.clone(),
        limits: limits(
            f.connect_timeout_secs,
            f.first_byte_timeout_secs,
            f.idle_timeout_secs,
        ),
    };
    let policy = setup.writer.retry;
    let mut attempt = 1;
    loop {
        match server.connect().await {
            Ok(b) => return Ok(b),
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

/// Stream limits from a profile's or `[backend]`'s seconds, the defaults where unset.
fn limits(connect: Option<u64>, first_byte: Option<u64>, idle: Option<u64>) -> StreamLimits {
    let d = StreamLimits::default();
    let secs = |s: Option<u64>, default: Duration| s.map_or(default, Duration::from_secs);
    StreamLimits {
        connect: secs(connect, d.connect),
        first_byte: secs(first_byte, d.first_byte),
        idle: secs(idle, d.idle),
        max_line: d.max_line,
    }
}

/// The fallback chain over the chosen profiles, started on the first one that answers. The
/// command's flags (`--model`, `--api-key-env`, `--context`) apply to the first profile only.
async fn chain_backend(args: &BackendArgs, setup: &Setup) -> Result<Arc<dyn Backend>, CliError> {
    let chain = profile_chain(args, setup)?;
    let mut links = Vec::new();
    for (i, (name, profile)) in chain.into_iter().enumerate() {
        let mut link_args = args.clone();
        if i > 0 {
            (link_args.model, link_args.api_key_env, link_args.context) = (None, None, None);
        }
        let engine_model = match profile.kind {
            ProfileKind::Local => Some(local_model(&profile, &link_args, setup)),
            _ => None,
        };
        let link_name = name.clone();
        links.push(Link {
            name,
            connect: Arc::new(move || {
                let (name, profile, args) = (link_name.clone(), profile.clone(), link_args.clone());
                let engine_model = engine_model.clone();
                Box::pin(async move { profile_backend(&name, &profile, &args, engine_model).await })
            }),
        });
    }
    let chain = FallbackBackend::new(links).map_err(|e| CliError::Usage(e.to_string()))?;
    chain
        .prepare()
        .await
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(Arc::new(chain))
}

/// The GGUF file of a `local` profile: its `model`, else where the engine finds one.
fn local_model(profile: &Profile, args: &BackendArgs, setup: &Setup) -> Result<PathBuf, String> {
    let args = BackendArgs {
        model: args.model.clone().or_else(|| profile.model.clone()),
        ..args.clone()
    };
    find_local_model(&args, setup, true).map_err(|e| e.to_string())
}

/// How to reach the server of an `openai` profile, flags in `args` over its values.
pub fn openai_settings(
    name: &str,
    profile: &Profile,
    args: &BackendArgs,
) -> Result<(OpenAiSettings, StreamLimits), BackendError> {
    let key_var = args
        .api_key_env
        .clone()
        .or_else(|| profile.api_key_env.clone());
    let api_key = match &key_var {
        Some(var) => Some(
            read_key(&format!("profiles.{name}.api_key_env"), var)
                .map_err(|e| BackendError::Invalid(e.to_string()))?,
        ),
        None => None,
    };
    let limits = limits(
        profile.connect_timeout_secs,
        profile.first_byte_timeout_secs,
        profile.idle_timeout_secs,
    );
    let settings = OpenAiSettings {
        base_url: profile.url.clone().unwrap_or_default(),
        model: args.model.clone().or_else(|| profile.model.clone()),
        api_key,
        connect_timeout: limits.connect,
    };
    Ok((settings, limits))
}

/// Builds the backend of one profile: the one place a profile becomes a backend. Flags in
/// `args` win over the profile's values. `engine_model` is the GGUF file of a `local` one.
pub async fn profile_backend(
    name: &str,
    profile: &Profile,
    args: &BackendArgs,
    engine_model: Option<Result<PathBuf, String>>,
) -> Result<Arc<dyn Backend>, BackendError> {
    let url = profile.url.clone().unwrap_or_default();
    match profile.kind {
        ProfileKind::Openai => {
            let (settings, limits) = openai_settings(name, profile, args)?;
            let backend = OpenAiBackend::connect(settings)
                .await?
                .with_limits(limits)
                .with_extra(profile.extra_json());
            Ok(Arc::new(backend))
        }
        ProfileKind::Ollama => {
            let (settings, limits) = openai_settings(name, profile, args)?;
            Server {
                api: ApiKind::Ollama,
                base_url: url,
                model: settings.model,
                api_key: settings.api_key,
                context: args.context.or(profile.context),
                keep_alive: None,
                limits,
            }
            .connect()
            .await
        }
        ProfileKind::Local => {
            let model = engine_model
                .unwrap_or_else(|| Err("no model file".into()))
                .map_err(BackendError::Invalid)?;
            let args = BackendArgs {
                context: args.context.or(profile.context),
                ..args.clone()
            };
            start_engine(model, &args, 1)
                .await
                .map_err(|e| BackendError::Unreachable {
                    url: format!("the built-in engine (profile {name})"),
                    reason: e.to_string(),
                })
        }
    }
}

/// A server to connect to, in the API it speaks.
struct Server {
    api: ApiKind,
    base_url: String,
    model: Option<String>,
    api_key: Option<String>,
    /// The window the user set (`--context`, `[backend] context`): Ollama's `num_ctx`.
    context: Option<usize>,
    /// Ollama's `keep_alive`.
    keep_alive: Option<String>,
    /// Connect, first-byte and idle timeouts.
    limits: StreamLimits,
}

impl Server {
    async fn connect(&self) -> Result<Arc<dyn Backend>, BackendError> {
        let connect_timeout = self.limits.connect;
        Ok(match self.api {
            ApiKind::Openai => Arc::new(
                OpenAiBackend::connect(OpenAiSettings {
                    base_url: self.base_url.clone(),
                    model: self.model.clone(),
                    api_key: self.api_key.clone(),
                    connect_timeout,
                })
                .await?
                .with_limits(self.limits),
            ),
            ApiKind::Ollama => Arc::new(
                OllamaBackend::connect(OllamaSettings {
                    base_url: self.base_url.clone(),
                    model: self.model.clone(),
                    api_key: self.api_key.clone(),
                    context: self.context,
                    keep_alive: self.keep_alive.clone(),
                    connect_timeout,
                })
                .await?,
            ),
        })
    }
}

/// The API key in the environment variable `var`, which `flag` named. A `var` that is not a
/// variable name is most likely the key itself, pasted in the wrong place: it is never echoed
/// (stderr ends up in logs).
pub fn read_key(flag: &str, var: &str) -> Result<String, CliError> {
    check_key_var(flag, var)?;
    match std::env::var(var) {
        Ok(key) if !key.trim().is_empty() => Ok(key.trim().to_string()),
        _ => Err(CliError::Usage(format!(
            "{flag} names {var}, but that environment variable is not set (export {var}=...)"
        ))),
    }
}

/// Checks that `var`, given to `flag`, is an environment variable's name; the error never
/// shows it, since a value that is not a name is most likely the key itself.
pub fn check_key_var(flag: &str, var: &str) -> Result<(), CliError> {
    let is_name = var
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if is_name {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "{flag} takes the NAME of an environment variable that holds the key, and what was \
         given is not a variable name (not shown: it may be the key itself). Put the key in a \
         variable and name it: export LW_KEY=... then {flag} LW_KEY"
    )))
}

/// How to use a server instead of the built-in engine, for messages.
const USE_A_SERVER: &str =
    "To use a server (vLLM, llama-server, Ollama, OpenAI, `longwriter serve`): \
     pass --base-url URL (e.g. http://127.0.0.1:8000/v1), export LONGWRITER_BASE_URL=URL, or set \
     [backend] base_url in config.toml.";

/// The backend `serve` puts its HTTP front over.
pub struct ServingBackend {
    /// The backend.
    pub backend: Arc<dyn Backend>,
    /// Whether it is the built-in engine (which generates one request at a time).
    pub local: bool,
}

/// Builds the backend of `serve`: the built-in engine for `--model FILE.gguf`; else a proxy to
/// `--upstream`, `--base-url` (or `LONGWRITER_BASE_URL`) or the config's `[backend] base_url`;
/// with none of them, the built-in engine over the model `find_local_model` finds. This is
/// the engine's registration point.
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
            backend: start_engine(PathBuf::from(path), args, serve.parallel).await?,
            local: true,
        });
    }
    let settings = setup(args)?;
    let upstream = serve
        .upstream
        .clone()
        .or_else(|| args.base_url.clone())
        .or_else(|| settings.file.backend.base_url.clone());
    let Some(upstream) = upstream else {
        if !ENGINE_BUILT_IN {
            return Err(CliError::Usage(
                "serve needs a model: --upstream URL (an OpenAI-compatible server to serve \
                 through); this longwriter was built without the built-in engine, so it cannot \
                 serve a GGUF file itself"
                    .into(),
            ));
        }
        let model = find_local_model(args, &settings, false)?;
        return Ok(ServingBackend {
            backend: start_engine(model, args, serve.parallel).await?,
            local: true,
        });
    };
    let upstream_args = BackendArgs {
        base_url: Some(upstream),
        api_key_env: serve.upstream_key_env.clone(),
        local: false,
        ..args.clone()
    };
    let upstream_setup = setup(&upstream_args)?;
    Ok(ServingBackend {
        backend: backend(&upstream_args, &upstream_setup).await?,
        local: false,
    })
}

/// Where the built-in engine finds its model: `--model`, the config file's `[backend] model`,
/// `LONGWRITER_MODEL`, then the first `*.gguf` (by name) in the data directory's `models/`.
/// `asked` is whether `--local` asked for the engine (else it runs because no server is
/// configured); the messages say which.
pub fn find_local_model(
    args: &BackendArgs,
    setup: &Setup,
    asked: bool,
) -> Result<PathBuf, CliError> {
    let why = if asked {
        "--local runs the built-in engine"
    } else {
        "no server is configured (no --base-url, LONGWRITER_BASE_URL or [backend] base_url), \
         so longwriter runs its built-in engine"
    };
    let named = args
        .model
        .clone()
        .or_else(|| setup.file.backend.model.clone())
        .or_else(|| {
            std::env::var("LONGWRITER_MODEL")
                .ok()
                .filter(|s| !s.is_empty())
        });
    if let Some(name) = named {
        let path = PathBuf::from(&name);
        if !path.exists() && !name.to_ascii_lowercase().ends_with(".gguf") {
            return Err(CliError::Usage(format!(
                "the model {name:?} is not a GGUF file: {why}, which needs the path of a GGUF \
                 model file.\n{USE_A_SERVER}"
            )));
        }
        return Ok(path);
    }
    let models = config::data_dir().map(|d| d.join("models"));
    if let Some(dir) = &models {
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "gguf") && p.is_file())
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
        "no model to run: {why}, which needs a GGUF model file, and found none (no --model, \
         no [backend] model in config.toml, no LONGWRITER_MODEL, no *.gguf in {dir}).\n\
         To get one: scripts/fetch-model.sh (in the longwriter repository) installs Gemma 3 \
         270M (253 MB, sha256-checked) into {dir}; or pass --model FILE.gguf.\n{USE_A_SERVER}"
    )))
}

/// The engine's settings from the command line.
#[cfg(feature = "candle")]
fn engine_settings(
    model_path: PathBuf,
    args: &BackendArgs,
    parallel: usize,
) -> crate::engine::worker::EngineSettings {
    crate::engine::worker::EngineSettings {
        model_path,
        context: args.context,
        threads: args.threads,
        device: args.device,
        parallel,
    }
}

/// The one place the built-in engine is registered (for `--local` and for `serve --model`).
#[cfg(feature = "candle")]
async fn start_engine(
    model_path: PathBuf,
    args: &BackendArgs,
    parallel: usize,
) -> Result<Arc<dyn Backend>, CliError> {
    use crate::engine::local::LocalBackend;
    let settings = engine_settings(model_path, args, parallel);
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

/// `LocalBackend::check` on the engine settings of `args`.
#[cfg(feature = "candle")]
fn check_engine(model_path: PathBuf, args: &BackendArgs) -> Result<(), CliError> {
    let settings = engine_settings(model_path, args, 1);
    crate::engine::local::LocalBackend::check(&settings, args.chat_template.as_deref())
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// Without the engine there is nothing to check (`backend` says how to get it) but the device.
#[cfg(not(feature = "candle"))]
fn check_engine(_model_path: PathBuf, args: &BackendArgs) -> Result<(), CliError> {
    args.device
        .built()
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// Without the engine, say how to get it.
#[cfg(not(feature = "candle"))]
async fn start_engine(
    model_path: PathBuf,
    _args: &BackendArgs,
    _parallel: usize,
) -> Result<Arc<dyn Backend>, CliError> {
    Err(CliError::Usage(format!(
        "cannot run {}: this longwriter was built without the built-in engine \
         (--no-default-features); rebuild with the default features (cargo install --path .), \
         or serve the file with an OpenAI-compatible server (llama-server -m FILE) and use \
         --base-url / --upstream",
        model_path.display()
    )))
}
