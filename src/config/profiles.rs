//! Named backends in `config.toml`: `[profiles.NAME]` tables, the top-level `profile = "NAME"`
//! default and the `fallback = ["a", "b", "local"]` chain.
//!
//! Parsing is serde's; `check` then validates what serde cannot (a URL for a server profile, a
//! key variable that is a name and not the key itself, a fallback list without unknown or
//! repeated names) and names the file and the key in every error. `chain` is the pure choice of
//! which profiles a command writes with, in order. No I/O.

use crate::backend::{Sampling, Temperature, TopP};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// What kind of backend a profile names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileKind {
    /// An OpenAI-compatible server (vLLM, llama-server, OpenAI, `longwriter serve`).
    Openai,
    /// Ollama's native API.
    Ollama,
    /// The built-in engine; `model` is its GGUF file.
    Local,
}

impl ProfileKind {
    /// The word used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::Ollama => "ollama",
            Self::Local => "local",
        }
    }
}

/// One `[profiles.NAME]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `openai`, `ollama` or `local`.
    pub kind: ProfileKind,
    /// API root (required for `openai` and `ollama`).
    pub url: Option<String>,
    /// Model name, or the GGUF file for `local`.
    pub model: Option<String>,
    /// Name of the environment variable that holds the API key.
    pub api_key_env: Option<String>,
    /// A key written in clear: only read so that it is refused by name.
    #[serde(default)]
    api_key: Option<serde::de::IgnoredAny>,
    /// Context window in tokens, when the server does not report it.
    pub context: Option<usize>,
    /// Sampling temperature, range-checked as the flag is.
    pub temperature: Option<Temperature>,
    /// Nucleus mass, range-checked as the flag is.
    pub top_p: Option<TopP>,
    /// Sampling seed.
    pub seed: Option<u64>,
    /// Keep only the k most likely tokens.
    pub top_k: Option<u32>,
    /// Minimum probability relative to the most likely token.
    pub min_p: Option<f32>,
    /// Multiplicative repetition penalty (1 is off).
    pub repetition_penalty: Option<f32>,
    /// OpenAI frequency penalty (0 is off).
    pub frequency_penalty: Option<f32>,
    /// OpenAI presence penalty (0 is off).
    pub presence_penalty: Option<f32>,
    /// Recent tokens the penalties look at.
    pub repeat_last_n: Option<u32>,
    /// Seconds allowed to connect.
    pub connect_timeout_secs: Option<u64>,
    /// Seconds allowed before the first byte of an answer (a slow prefill).
    pub first_byte_timeout_secs: Option<u64>,
    /// Seconds allowed between two chunks of a stream.
    pub idle_timeout_secs: Option<u64>,
    /// Request fields sent as they are (e.g. vLLM's `min_tokens`).
    #[serde(default)]
    pub extra: toml::Table,
}

impl Profile {
    /// `base` with this profile's sampling values over it.
    pub fn sampling(&self, base: &Sampling) -> Sampling {
        Sampling {
            temperature: self.temperature.map_or(base.temperature, Temperature::get),
            top_p: self.top_p.map_or(base.top_p, TopP::get),
            seed: self.seed.or(base.seed),
            top_k: self.top_k.or(base.top_k),
            min_p: self.min_p.or(base.min_p),
            repetition_penalty: self.repetition_penalty.or(base.repetition_penalty),
            frequency_penalty: self.frequency_penalty.or(base.frequency_penalty),
            presence_penalty: self.presence_penalty.or(base.presence_penalty),
            repeat_last_n: self.repeat_last_n.or(base.repeat_last_n),
        }
    }

    /// `extra` as JSON request fields.
    pub fn extra_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.extra
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), serde_json::to_value(v).ok()?)))
            .collect()
    }
}

/// The profile settings of a config file.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    /// Every `[profiles.NAME]`.
    pub by_name: BTreeMap<String, Profile>,
    /// The top-level `profile = "NAME"`.
    pub default: Option<String>,
    /// The top-level `fallback = [...]`.
    pub fallback: Vec<String>,
}

/// One problem in the profile settings, with the key it is at.
pub type Problem = String;

/// Whether `var` is an environment variable's name.
pub fn is_var_name(var: &str) -> bool {
    var.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Profiles {
    /// Validates what serde cannot; the error names the key (the caller adds the file).
    pub fn check(&self) -> Result<(), Problem> {
        for (name, p) in &self.by_name {
            check_profile(name, p)?;
        }
        if let Some(name) = &self.default {
            if !self.by_name.contains_key(name) {
                return Err(format!(
                    "profile = {name:?} names no [profiles.{name}] table; {}",
                    self.known()
                ));
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, name) in self.fallback.iter().enumerate() {
            if !self.by_name.contains_key(name) {
                return Err(format!(
                    "fallback[{i}] = {name:?} names no [profiles.{name}] table; {}",
                    self.known()
                ));
            }
            if seen.contains(&name.as_str()) {
                return Err(format!(
                    "fallback[{i}] = {name:?} is already in the list: the chain would loop; \
                     name each profile once"
                ));
            }
            seen.push(name);
        }
        Ok(())
    }

    /// The profiles that are defined, for messages.
    pub fn known(&self) -> String {
        if self.by_name.is_empty() {
            return "no profiles are defined (add a [profiles.NAME] table)".into();
        }
        let names: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
        format!("defined: {}", names.join(", "))
    }

    /// The profiles to write with, in order: the chosen one (`chosen`, i.e. `--profile` or
    /// `LONGWRITER_PROFILE`, else the file's `profile`), then the `fallback` list without it;
    /// with nothing chosen, the `fallback` list alone. Empty: no profiles are in use.
    pub fn chain(&self, chosen: Option<&str>) -> Result<Vec<(String, Profile)>, Problem> {
        let first = chosen.map(str::to_string).or_else(|| self.default.clone());
        let mut names: Vec<String> = Vec::new();
        if let Some(name) = first {
            if !self.by_name.contains_key(&name) {
                return Err(format!(
                    "--profile {name:?} (or LONGWRITER_PROFILE) names no [profiles.{name}] \
                     table in the config file; {}",
                    self.known()
                ));
            }
            names.push(name);
        }
        for name in &self.fallback {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        Ok(names
            .into_iter()
            .filter_map(|n| self.by_name.get(&n).map(|p| (n.clone(), p.clone())))
            .collect())
    }
}

fn check_profile(name: &str, p: &Profile) -> Result<(), Problem> {
    let at = format!("profiles.{name}");
    if p.api_key.is_some() {
        return Err(format!(
            "{at}.api_key: the config file never holds a key (not shown). Put it in an \
             environment variable and name the variable: api_key_env = \"LW_KEY\", then export \
             LW_KEY=..."
        ));
    }
    if let Some(var) = &p.api_key_env {
        if !is_var_name(var) {
            return Err(format!(
                "{at}.api_key_env takes the NAME of an environment variable, and its value is not \
                 a variable name (not shown: it may be the key itself). Use api_key_env = \
                 \"LW_KEY\", then export LW_KEY=..."
            ));
        }
    }
    match (p.kind, &p.url) {
        (ProfileKind::Openai | ProfileKind::Ollama, None) => {
            return Err(format!(
                "{at} (kind = \"{}\") has no url; add one, e.g. url = \"{}\"",
                p.kind.as_str(),
                example_url(p.kind)
            ))
        }
        (_, Some(url)) if !(url.starts_with("http://") || url.starts_with("https://")) => {
            return Err(format!(
                "{at}.url = {url:?} is not an http:// or https:// URL (e.g. {})",
                example_url(p.kind)
            ))
        }
        (ProfileKind::Local, Some(_)) => {
            return Err(format!(
                "{at}.url: a kind = \"local\" profile runs the built-in engine and has no url; \
                 remove it (model = \"FILE.gguf\" names the model file)"
            ))
        }
        _ => {}
    }
    if p.context == Some(0) {
        return Err(format!(
            "{at}.context = 0 leaves no room for a prompt; give the window in tokens"
        ));
    }
    for (key, value) in [
        ("connect_timeout_secs", p.connect_timeout_secs),
        ("first_byte_timeout_secs", p.first_byte_timeout_secs),
        ("idle_timeout_secs", p.idle_timeout_secs),
    ] {
        if value == Some(0) {
            return Err(format!(
                "{at}.{key} = 0 would fail every request; give seconds"
            ));
        }
    }
    Ok(())
}

fn example_url(kind: ProfileKind) -> &'static str {
    match kind {
        ProfileKind::Ollama => "http://127.0.0.1:11434",
        _ => "http://127.0.0.1:8000/v1",
    }
}

/// Checks `profiles` as read from `path`, for `ConfigFile::parse`.
pub(super) fn check_file(profiles: &Profiles, path: &Path) -> Result<(), super::ConfigError> {
    profiles
        .check()
        .map_err(|reason| super::ConfigError::Parse {
            path: path.to_path_buf(),
            reason,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigFile;

    const FILE: &str = "/u/config.toml";

    fn parse(text: &str) -> Result<ConfigFile, String> {
        ConfigFile::parse(text, Path::new(FILE)).map_err(|e| e.to_string())
    }

    const GOOD: &str = r#"
profile = "gpu"
fallback = ["gpu", "laptop", "engine"]

[profiles.gpu]
kind = "openai"
url = "http://gpu:8000/v1"
model = "qwen"
api_key_env = "GPU_KEY"
context = 32768
temperature = 0.5
top_k = 40
repetition_penalty = 1.1
first_byte_timeout_secs = 600
extra = { min_tokens = 100, repetition_penalty = 1.05 }

[profiles.laptop]
kind = "ollama"
url = "http://127.0.0.1:11434"

[profiles.engine]
kind = "local"
model = "/m/gemma.gguf"
"#;

    #[test]
    fn a_full_file_parses_and_chains() {
        let c = parse(GOOD).unwrap();
        let set = c.profile_set();
        let gpu = &set.by_name["gpu"];
        assert_eq!(gpu.kind, ProfileKind::Openai);
        let s = gpu.sampling(&Sampling::default());
        assert_eq!(
            (s.temperature, s.top_k, s.repetition_penalty),
            (0.5, Some(40), Some(1.1))
        );
        assert_eq!(s.top_p, Sampling::default().top_p);
        let extra = gpu.extra_json();
        assert_eq!(extra["min_tokens"], serde_json::json!(100));
        let names = |chosen| -> Vec<String> {
            set.chain(chosen)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(names(None), ["gpu", "laptop", "engine"]);
        assert_eq!(names(Some("engine")), ["engine", "gpu", "laptop"]);
        let err = set.chain(Some("nope")).unwrap_err();
        assert!(
            err.contains("nope") && err.contains("defined: engine, gpu, laptop"),
            "{err}"
        );
    }

    #[test]
    fn no_profiles_means_no_chain() {
        let c = parse("[backend]\nbase_url = \"http://h/v1\"\n").unwrap();
        assert!(c.profile_set().chain(None).unwrap().is_empty());
    }

    #[test]
    fn bad_profiles_are_refused_with_file_and_key() {
        let cases = [
            (
                "[profiles.a]\nkind = \"grpc\"\nurl = \"http://h\"\n",
                "kind",
            ),
            ("[profiles.a]\nurl = \"http://h\"\n", "kind"),
            (
                "[profiles.a]\nkind = \"openai\"\n",
                "profiles.a (kind = \"openai\") has no url",
            ),
            ("[profiles.a]\nkind = \"ollama\"\n", "has no url"),
            (
                "[profiles.a]\nkind = \"openai\"\nurl = \"gpu:8000\"\n",
                "profiles.a.url",
            ),
            (
                "[profiles.a]\nkind = \"local\"\nurl = \"http://h\"\n",
                "profiles.a.url",
            ),
            (
                "[profiles.a]\nkind = \"openai\"\nurl = \"http://h\"\ncontext = 0\n",
                "profiles.a.context",
            ),
            (
                "[profiles.a]\nkind = \"openai\"\nurl = \"http://h\"\nidle_timeout_secs = 0\n",
                "idle_timeout_secs",
            ),
            (
                "[profiles.a]\nkind = \"openai\"\nurl = \"http://h\"\ntemperature = 9\n",
                "temperature",
            ),
            (
                "[profiles.a]\nkind = \"openai\"\nurl = \"http://h\"\nurl_ = 1\n",
                "url_",
            ),
            (
                "profile = \"b\"\n[profiles.a]\nkind = \"local\"\n",
                "profile = \"b\" names no [profiles.b]",
            ),
            (
                "fallback = [\"a\", \"b\"]\n[profiles.a]\nkind = \"local\"\n",
                "fallback[1] = \"b\"",
            ),
            (
                "fallback = [\"a\", \"a\"]\n[profiles.a]\nkind = \"local\"\n",
                "loop",
            ),
        ];
        for (text, key) in cases {
            let err = parse(text).err().unwrap_or_default();
            assert!(err.contains(FILE) && err.contains(key), "{text}\n=> {err}");
        }
    }

    #[test]
    fn a_key_in_clear_is_refused_and_never_shown() {
        let key = "sk-proj-abcdefghijklmnop";
        for text in [
            format!("[profiles.a]\nkind = \"openai\"\nurl = \"http://h\"\napi_key = \"{key}\"\n"),
            format!(
                "[profiles.a]\nkind = \"openai\"\nurl = \"http://h\"\napi_key_env = \"{key}\"\n"
            ),
        ] {
            let err = parse(&text).unwrap_err();
            assert!(!err.contains("abcdefghijklmnop"), "{err}");
            assert!(
                err.contains(FILE) && err.contains("profiles.a.api_key"),
                "{err}"
            );
        }
    }
}
