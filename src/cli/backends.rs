//! `longwriter backends`: checks every profile of config.toml (is it reachable, which models
//! it serves, its context length, the time to the first token of a tiny request) and prints a
//! table, or JSON with `--json`.

use super::connect::{self, openai_settings, profile_backend};
use super::{BackendArgs, CliError, EXIT_OK};
use crate::backend::openai::OpenAiBackend;
use crate::backend::{
    Backend, BackendError, ChatMessage, GenerationRequest, Sampling, StreamChunk,
};
use crate::config::{Profile, ProfileKind};
use clap::Args;
use futures::StreamExt;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Flags of `backends`.
#[derive(Debug, Clone, Args)]
pub struct BackendsArgs {
    /// Print the checks as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What the check of one profile found.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileCheck {
    /// The profile's name.
    pub profile: String,
    /// `openai`, `ollama` or `local`.
    pub kind: String,
    /// Its URL, or the engine's model file.
    pub at: String,
    /// Whether it answered.
    pub reachable: bool,
    /// The model it writes with.
    pub model: Option<String>,
    /// Every model the server lists.
    pub models: Vec<String>,
    /// Its context length in tokens, where it reports one.
    pub context: Option<usize>,
    /// Milliseconds to the first token of a tiny request.
    pub first_token_ms: Option<u64>,
    /// What went wrong.
    pub error: Option<String>,
}

/// The longest wait for the tiny request's first token.
const PROBE_LIMIT: Duration = Duration::from_secs(120);

/// Runs `backends`; exit 0 when every profile answered, 1 when one did not.
pub async fn backends(global: &BackendArgs, args: BackendsArgs) -> Result<i32, CliError> {
    let setup = connect::setup(global)?;
    let set = setup.file.profile_set();
    if set.by_name.is_empty() {
        return Err(CliError::Usage(
            "no profiles are defined: add [profiles.NAME] tables to config.toml (see \
             docs/profiles.md), e.g.\n[profiles.gpu]\nkind = \"openai\"\nurl = \
             \"http://127.0.0.1:8000/v1\""
                .into(),
        ));
    }
    let mut checks = Vec::new();
    for (name, profile) in &set.by_name {
        let model = match profile.kind {
            ProfileKind::Local => Some(
                connect::find_local_model(
                    &BackendArgs {
                        model: profile.model.clone().or_else(|| global.model.clone()),
                        ..global.clone()
                    },
                    &setup,
                    true,
                )
                .map_err(|e| e.to_string()),
            ),
            _ => None,
        };
        checks.push(check_profile(name, profile, global, model).await);
    }
    if args.json {
        let text = serde_json::to_string_pretty(&checks)
            .map_err(|e| CliError::Usage(format!("cannot print JSON: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", table(&checks));
    }
    Ok(if checks.iter().all(|c| c.reachable) {
        EXIT_OK
    } else {
        1
    })
}

async fn check_profile(
    name: &str,
    profile: &Profile,
    args: &BackendArgs,
    engine_model: Option<Result<std::path::PathBuf, String>>,
) -> ProfileCheck {
    let at = match (&profile.url, &engine_model) {
        (Some(url), _) => url.clone(),
        (None, Some(Ok(path))) => path.display().to_string(),
        _ => "-".into(),
    };
    let mut check = ProfileCheck {
        profile: name.to_string(),
        kind: profile.kind.as_str().into(),
        at,
        reachable: false,
        model: None,
        models: Vec::new(),
        context: None,
        first_token_ms: None,
        error: None,
    };
    let built = match profile.kind {
        ProfileKind::Openai => connect_listing(name, profile, args, &mut check).await,
        _ => profile_backend(name, profile, args, engine_model).await,
    };
    let backend = match built {
        Ok(b) => b,
        Err(e) => {
            check.error = Some(e.to_string());
            return check;
        }
    };
    check.reachable = true;
    check.model = Some(backend.info().model);
    check.context = backend.context_window().map(|w| w.tokens);
    match first_token(backend.as_ref()).await {
        Ok(ms) => check.first_token_ms = Some(ms),
        Err(e) => check.error = Some(e),
    }
    check
}

/// Connects an `openai` profile and notes the models its server lists.
async fn connect_listing(
    name: &str,
    profile: &Profile,
    args: &BackendArgs,
    check: &mut ProfileCheck,
) -> Result<Arc<dyn Backend>, BackendError> {
    let (settings, limits) = openai_settings(name, profile, args)?;
    let backend = OpenAiBackend::connect(settings).await?.with_limits(limits);
    check.models = backend.list_models().await.unwrap_or_default();
    Ok(Arc::new(backend))
}

/// Milliseconds to the first token of a tiny request.
async fn first_token(backend: &dyn Backend) -> Result<u64, String> {
    let request = GenerationRequest {
        messages: vec![ChatMessage::user("Say OK.")],
        max_tokens: 4,
        sampling: Sampling {
            temperature: 0.0,
            ..Sampling::default()
        },
        stop: Vec::new(),
    };
    let started = Instant::now();
    let probe = async {
        let mut stream = backend.stream(request).await.map_err(|e| e.to_string())?;
        match stream.next().await {
            Some(Ok(StreamChunk::Delta(_) | StreamChunk::Done { .. })) => {
                Ok(started.elapsed().as_millis() as u64)
            }
            Some(Err(e)) => Err(e.to_string()),
            None => Err("the stream ended without a token".to_string()),
        }
    };
    tokio::time::timeout(PROBE_LIMIT, probe)
        .await
        .map_err(|_| format!("no token within {}s", PROBE_LIMIT.as_secs()))?
}

/// The checks as an aligned text table, errors under it.
pub fn table(checks: &[ProfileCheck]) -> String {
    let mut rows = vec![[
        "PROFILE",
        "KIND",
        "AT",
        "STATUS",
        "MODEL",
        "MODELS",
        "CONTEXT",
        "FIRST TOKEN",
    ]
    .map(String::from)];
    for c in checks {
        rows.push([
            c.profile.clone(),
            c.kind.clone(),
            c.at.clone(),
            if c.reachable { "ok" } else { "unreachable" }.into(),
            c.model.clone().unwrap_or_else(|| "-".into()),
            if c.models.is_empty() {
                "-".into()
            } else {
                c.models.len().to_string()
            },
            c.context.map_or_else(|| "-".into(), |n| n.to_string()),
            c.first_token_ms
                .map_or_else(|| "-".into(), |ms| format!("{ms} ms")),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    for c in checks {
        if let Some(e) = &c.error {
            out.push_str(&format!("{}: {e}\n", c.profile));
        }
    }
    out
}
