//! Layered settings: built-in defaults < the user's `config.toml` < command-line flags.
//!
//! Paths come from the `directories` crate (`LONGWRITER_CONFIG_DIR` overrides the config
//! folder). The file is parsed once into typed values; an unknown key or a wrong type is an
//! error that names the file and the key. Secrets never live here: the file names the
//! environment variable that holds the API key, not the key.

use crate::backend::{RetryPolicy, Sampling};
use crate::prompt::{TemplateOverride, BUILTIN};
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
}

/// The `[generation]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationFile {
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Nucleus mass.
    pub top_p: Option<f32>,
    /// Sampling seed.
    pub seed: Option<u64>,
    /// Attempts per request, the first included.
    pub max_attempts: Option<u32>,
    /// Delay before the first retry, in milliseconds.
    pub retry_base_ms: Option<u64>,
}

/// The whole `config.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Backend settings.
    #[serde(default)]
    pub backend: BackendFile,
    /// Generation settings.
    #[serde(default)]
    pub generation: GenerationFile,
    /// Studio settings.
    #[serde(default)]
    pub studio: StudioFile,
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
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
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
            temperature: self.generation.temperature.unwrap_or(d.temperature),
            top_p: self.generation.top_p.unwrap_or(d.top_p),
            seed: self.generation.seed.or(d.seed),
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
        }
    }
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
    fn studio_and_keys_tables() {
        let text = "[studio]\ntheme = \"light\"\n[keys.global]\n\"ctrl-q\" = \"quit\"\n";
        let c = ConfigFile::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(c.studio.theme.as_deref(), Some("light"));
        assert_eq!(c.keys["global"]["ctrl-q"], "quit");
        assert!(ConfigFile::parse("[studio]\nthem = 1\n", Path::new("c.toml")).is_err());
    }

    #[test]
    fn missing_file_gives_defaults() {
        let c = ConfigFile::load(Path::new("/nonexistent/dir/config.toml")).unwrap();
        assert!(c.backend.base_url.is_none());
    }
}
