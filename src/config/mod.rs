//! Layered settings: built-in defaults < the user's `config.toml` < command-line flags.
//!
//! Paths come from the `directories` crate (`LONGWRITER_CONFIG_DIR` overrides the config
//! folder). The file is parsed once into typed values; an unknown key or a wrong type is an
//! error that names the file and the key. Secrets never live here: the file names the
//! environment variable that holds the API key, not the key.

pub mod profiles;

use crate::backend::{
    FrequencyPenalty, MinP, PresencePenalty, RepetitionPenalty, RetryPolicy, Sampling, Temperature,
    TopK, TopP,
};
use crate::prompt::{TemplateOverride, BUILTIN};
pub use profiles::{Profile, ProfileKind, Profiles};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Errors reading settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS's words.
        reason: String,
    },
    /// `--config` names a file that does not exist.
    #[error("the config file {path} (given with --config) does not exist; check the path, or leave --config out to use the one in the config folder")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The file is not valid TOML or has a wrong key or value.
    #[error("{path}: {reason}\nFix the file or move it away to use the defaults.")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the key.
        reason: String,
    },
}

/// The `[backend]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendFile {
    /// API root.
    pub base_url: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// Name of the environment variable that holds the API key.
    pub api_key_env: Option<String>,
    /// The server's context window in tokens, when it does not report one (or reports it
    /// wrong); `--context` overrides it.
    pub context: Option<usize>,
    /// Seconds allowed to connect.
    pub connect_timeout_secs: Option<u64>,
    /// Seconds allowed before the first byte of an answer (a slow prefill).
    pub first_byte_timeout_secs: Option<u64>,
    /// Seconds allowed between two chunks of a stream.
    pub idle_timeout_secs: Option<u64>,
    /// The server's API: `openai` (the default) or `ollama`; `--api` overrides it.
    pub api: Option<crate::backend::ApiKind>,
    /// Ollama's `keep_alive` for each request (e.g. `"30m"`, `"-1"`), with `api = "ollama"`.
    pub keep_alive: Option<String>,
    /// `chat` or `completion` (a document to continue, for base models); `--mode` overrides it.
    pub mode: Option<crate::backend::PromptMode>,
}

/// The `[generation]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationFile {
    /// Sampling temperature, range-checked as the flag is.
    pub temperature: Option<Temperature>,
    /// Nucleus mass, range-checked as the flag is.
    pub top_p: Option<TopP>,
    /// Sampling seed.
    pub seed: Option<u64>,
    /// Top-k, at least 1, checked as the flag is.
    pub top_k: Option<TopK>,
    /// Min-p, 0..=1.
    pub min_p: Option<MinP>,
    /// Repetition penalty, (0, 2].
    pub repetition_penalty: Option<RepetitionPenalty>,
    /// Frequency penalty, -2..=2.
    pub frequency_penalty: Option<FrequencyPenalty>,
    /// Presence penalty, -2..=2.
    pub presence_penalty: Option<PresencePenalty>,
    /// Recent tokens the penalties look at.
    pub repeat_last_n: Option<u32>,
    /// Attempts per request, the first included.
    pub max_attempts: Option<u32>,
    /// Delay before the first retry, in milliseconds.
    pub retry_base_ms: Option<u64>,
    /// Plan in chapters: "auto" (above 20,000 words), "always" or "never".
    pub chapters: Option<crate::plan::ChapterMode>,
}

/// The whole `config.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The default profile (`--profile` and `LONGWRITER_PROFILE` override it).
    pub profile: Option<String>,
    /// Profiles to hand the job to, in order, when the one writing cannot be reached.
    #[serde(default)]
    pub fallback: Vec<String>,
    /// Named backends: `[profiles.NAME]`.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// Backend settings.
    #[serde(default)]
    pub backend: BackendFile,
    /// Generation settings.
    #[serde(default)]
    pub generation: GenerationFile,
    /// Studio settings.
    #[serde(default)]
    pub studio: StudioFile,
    /// Loop, copy and echo guards (see docs/guards.md).
    #[serde(default)]
    pub guards: crate::writer::GuardSettings,
    /// Key overrides for the studio: `[keys.CONTEXT]` tables of `"key" = "action"`. Kept as
    /// strings here so that one bad entry is reported by name while the rest still work.
    #[serde(default)]
    pub keys: BTreeMap<String, BTreeMap<String, String>>,
}

/// The `[studio]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudioFile {
    /// Theme name: a built-in one or `<config dir>/themes/NAME.toml`.
    pub theme: Option<String>,
}

impl ConfigFile {
    /// Parses the text of a config file; `path` is for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            reason: redact_quoted_lines(&e.to_string()),
        })?;
        profiles::check_file(&file.profile_set(), path)?;
        file.guards.check().map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(file)
    }

    /// The profile settings: the tables, the default and the fallback list.
    pub fn profile_set(&self) -> Profiles {
        Profiles {
            by_name: self.profiles.clone(),
            default: self.profile.clone(),
            fallback: self.fallback.clone(),
        }
    }

    /// Reads `path`, which the user named (`--config`): unlike `load`, a missing file is an
    /// error.
    pub fn load_given(path: &Path) -> Result<Self, ConfigError> {
        if !path.exists() {
            return Err(ConfigError::Missing {
                path: path.to_path_buf(),
            });
        }
        Self::load(path)
    }

    /// Reads `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        }
    }

    /// Sampling settings with the file's values over the defaults.
    pub fn sampling(&self) -> Sampling {
        let d = Sampling::default();
        Sampling {
            temperature: self
                .generation
                .temperature
                .map_or(d.temperature, Temperature::get),
            top_p: self.generation.top_p.map_or(d.top_p, TopP::get),
            seed: self.generation.seed.or(d.seed),
            top_k: self.generation.top_k.map(u32::from),
            min_p: self.generation.min_p.map(f32::from),
            repetition_penalty: self.generation.repetition_penalty.map(f32::from),
            frequency_penalty: self.generation.frequency_penalty.map(f32::from),
            presence_penalty: self.generation.presence_penalty.map(f32::from),
            repeat_last_n: self.generation.repeat_last_n,
        }
    }

    /// Retry settings with the file's values over the defaults.
    pub fn retry(&self) -> RetryPolicy {
        let d = RetryPolicy::default();
        RetryPolicy {
            max_attempts: self
                .generation
                .max_attempts
                .unwrap_or(d.max_attempts)
                .max(1),
            base_delay_ms: self.generation.retry_base_ms.unwrap_or(d.base_delay_ms),
            max_delay_ms: d.max_delay_ms,
            jitter_seed: Some(fresh_seed()),
        }
    }
}

/// A seed for this run's retry jitter, different between runs and processes.
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// Key names whose values are secrets (matched anywhere in the name, in lower case).
const SECRET_NAMES: [&str; 6] = ["key", "token", "secret", "password", "auth", "credential"];

/// Hides secrets in the file lines a TOML error quotes (`12 | api_key = "sk-..."`): a line
/// whose key names a secret, or whose value looks like an API key, keeps only its key. The
/// error goes to stderr, which ends up in logs.
fn redact_quoted_lines(message: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for line in message.lines() {
        let quoted = line.split_once('|').filter(|(number, _)| {
            let number = number.trim();
            !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
        });
        match quoted {
            Some((number, text)) if is_secret_line(text) => {
                let key = text.split('=').next().unwrap_or("").trim_end();
                out.push(format!("{number}| {} = <redacted>", key.trim_start()));
            }
            _ => out.push(redact_words(line)),
        }
    }
    out.join("\n")
}

/// `line` with every word that looks like an API key replaced (serde quotes a wrong value in
/// its message: `invalid type: string "sk-...", expected u64`).
fn redact_words(line: &str) -> String {
    let mut out = line.to_string();
    for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
        if looks_like_key(word) {
            out = out.replace(word, "<redacted>");
        }
    }
    out
}

fn is_secret_line(text: &str) -> bool {
    let Some((key, value)) = text.split_once('=') else {
        return looks_like_key(text);
    };
    let key = key.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|s| key.contains(s)) || looks_like_key(value)
}

/// Whether text contains something shaped like a provider's API key.
fn looks_like_key(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .any(|word| {
            [
                "sk-", "sk_", "hf_", "ghp_", "gho_", "xoxb-", "xoxp-", "AIza",
            ]
            .iter()
            .any(|prefix| word.starts_with(prefix) && word.len() >= prefix.len() + 8)
        })
}

/// The folder of `config.toml`, `prompts/` and `themes/`.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("LONGWRITER_CONFIG_DIR") {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "longwriter").map(|d| d.config_dir().to_path_buf())
}

/// The folder for crash reports and other data (`LONGWRITER_DATA` overrides it).
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("LONGWRITER_DATA") {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "longwriter").map(|d| d.data_dir().to_path_buf())
}

/// The user's prompt overrides: `<config>/prompts/<name>` for each built-in template name.
pub fn prompt_overrides(config_dir: &Path) -> Result<Vec<TemplateOverride>, ConfigError> {
    let mut overrides = Vec::new();
    for (name, _) in BUILTIN {
        let path = config_dir.join("prompts").join(name);
        match std::fs::read_to_string(&path) {
            Ok(source) => overrides.push(TemplateOverride {
                name: name.to_string(),
                origin: path.display().to_string(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ConfigError::Read {
                    path,
                    reason: e.to_string(),
                })
            }
        }
    }
    Ok(overrides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let text = "[backend]\nbase_url = \"http://h:1/v1\"\nmodel = \"m\"\napi_key_env = \"KEY\"\n[generation]\ntemperature = 0.2\nseed = 7\n";
        let c = ConfigFile::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(c.backend.base_url.as_deref(), Some("http://h:1/v1"));
        assert_eq!(c.sampling().seed, Some(7));
        assert_eq!(c.sampling().temperature, 0.2);
        assert_eq!(c.sampling().top_p, Sampling::default().top_p);
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let err = ConfigFile::parse("[backend]\nbase_ur = \"x\"\n", Path::new("/u/config.toml"))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/u/config.toml") && text.contains("base_ur"),
            "{text}"
        );
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = ConfigFile::parse("[generation]\ntemperature = \"hot\"\n", Path::new("c.toml"))
            .unwrap_err();
        assert!(err.to_string().contains("temperature"), "{err}");
    }

    #[test]
    fn out_of_range_sampling_values_are_refused_like_the_flags() {
        for (text, key) in [
            ("[generation]\ntemperature = 3.0\n", "temperature"),
            ("[generation]\ntop_p = 0\n", "top_p"),
            ("[generation]\ntop_p = 1.5\n", "top_p"),
        ] {
            let err = ConfigFile::parse(text, Path::new("/u/config.toml"))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains("/u/config.toml") && err.contains(key) && err.contains("outside"),
                "{text}: {err}"
            );
        }
        let c = ConfigFile::parse("[generation]\ntemperature = 0\ntop_p = 1\n", Path::new("c"))
            .unwrap();
        assert_eq!((c.sampling().temperature, c.sampling().top_p), (0.0, 1.0));
    }

    #[test]
    fn sampling_controls_come_from_the_generation_table() {
        let text = "[generation]\ntop_k = 40\nmin_p = 0.05\nrepetition_penalty = 1.15\n\
                    frequency_penalty = 0.4\npresence_penalty = -0.2\n";
        let s = ConfigFile::parse(text, Path::new("c")).unwrap().sampling();
        assert_eq!(
            (s.top_k, s.min_p, s.repetition_penalty),
            (Some(40), Some(0.05), Some(1.15))
        );
        assert_eq!(
            (s.frequency_penalty, s.presence_penalty),
            (Some(0.4), Some(-0.2))
        );
        assert_eq!(ConfigFile::default().sampling(), Sampling::default());
        for (text, key) in [
            ("[generation]\ntop_k = 0\n", "top_k"),
            ("[generation]\nmin_p = 1.5\n", "min_p"),
            (
                "[generation]\nrepetition_penalty = 0\n",
                "repetition_penalty",
            ),
            (
                "[generation]\nfrequency_penalty = -3\n",
                "frequency_penalty",
            ),
            ("[generation]\npresence_penalty = 2.5\n", "presence_penalty"),
        ] {
            let err = ConfigFile::parse(text, Path::new("/u/config.toml"))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains(key) && err.contains("outside") || err.contains("at least 1"),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn guards_table_with_defaults_and_checks() {
        let c = ConfigFile::parse("[guards]\nrepeats = 6\nretries = 0\n", Path::new("c")).unwrap();
        assert_eq!((c.guards.repeats, c.guards.retries), (6, 0));
        assert_eq!(
            c.guards.ngram,
            crate::writer::GuardSettings::default().ngram
        );
        assert!(ConfigFile::default().guards.enabled);
        let off = ConfigFile::parse("[guards]\nenabled = false\n", Path::new("c")).unwrap();
        assert!(!off.guards.enabled);
        let err = ConfigFile::parse("[guards]\necho_words = 2\n", Path::new("/u/config.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("/u/config.toml") && err.contains("echo_words = 2"),
            "{err}"
        );
        let err = ConfigFile::parse("[guards]\nloops = 2\n", Path::new("c"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("loops"), "{err}");
    }

    #[test]
    fn studio_and_keys_tables() {
        let text = "[studio]\ntheme = \"light\"\n[keys.global]\n\"ctrl-q\" = \"quit\"\n";
        let c = ConfigFile::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(c.studio.theme.as_deref(), Some("light"));
        assert_eq!(c.keys["global"]["ctrl-q"], "quit");
        assert!(ConfigFile::parse("[studio]\nthem = 1\n", Path::new("c.toml")).is_err());
    }

    #[test]
    fn secrets_in_quoted_lines_are_redacted() {
        let key = "sk-proj-abcdefghijklmnop";
        for text in [
            format!("[backend]\napi_key = \"{key}\"\n"),
            format!("[backend]\nmodel = \"{key}\" x\n"),
            format!("[generation]\ntoken = \"{key}\"\n"),
            format!("[generation]\nseed = \"{key}\"\n"),
        ] {
            let err = ConfigFile::parse(&text, Path::new("c.toml")).unwrap_err();
            let shown = err.to_string();
            assert!(!shown.contains("abcdefghijklmnop"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
        let err = ConfigFile::parse(
            "[backend]\napi_key = \"sk-proj-abcdefghijklmnop\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("api_key"),
            "the key's name is still shown: {err}"
        );
        let plain = ConfigFile::parse("[backend]\nbase_ur = \"http://h\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            plain.contains("base_ur = \"http://h\""),
            "other lines stay quoted: {plain}"
        );
    }

    #[test]
    fn a_given_file_must_exist() {
        let err = ConfigFile::load_given(Path::new("/nonexistent/dir/config.toml")).unwrap_err();
        assert!(matches!(err, ConfigError::Missing { .. }), "{err}");
        assert!(err.to_string().contains("--config"), "{err}");
    }

    #[test]
    fn missing_file_gives_defaults() {
        let c = ConfigFile::load(Path::new("/nonexistent/dir/config.toml")).unwrap();
        assert!(c.backend.base_url.is_none());
    }
}
