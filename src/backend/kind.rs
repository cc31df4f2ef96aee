//! Which wire protocol a server speaks: the OpenAI-compatible API (vLLM, llama.cpp, OpenAI,
//! `longwriter serve`) or Ollama's native API. Chosen with `--api` or `[backend] api`; named
//! profiles name it too.

use serde::Deserialize;

/// The API a server is spoken to with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    /// `/v1/chat/completions` with SSE (the default).
    #[default]
    Openai,
    /// Ollama's `/api/chat` with NDJSON, which can set the context size (`num_ctx`).
    Ollama,
}

impl std::str::FromStr for ApiKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "openai" => Ok(Self::Openai),
            "ollama" => Ok(Self::Ollama),
            other => Err(format!(
                "unknown API {other:?}: use openai (vLLM, llama.cpp, OpenAI, longwriter serve) or ollama (Ollama's native API)"
            )),
        }
    }
}

impl std::fmt::Display for ApiKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Openai => "openai",
            Self::Ollama => "ollama",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_both_ways() {
        assert_eq!("Ollama".parse::<ApiKind>(), Ok(ApiKind::Ollama));
        assert_eq!(ApiKind::Openai.to_string(), "openai");
        assert!("vllm"
            .parse::<ApiKind>()
            .unwrap_err()
            .contains("use openai"));
    }
}
