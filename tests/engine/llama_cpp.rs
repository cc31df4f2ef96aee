//! The cached `llama-server` (`scripts/setup-test-model.sh`) as a reference implementation:
//! start it on a GGUF file on a free loopback port and ask `/completion` for the greedy
//! continuation of raw token ids, with the top log-probabilities of each generated position.
//! The server's log is kept, so a file llama.cpp refuses is reported with llama.cpp's reason.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server binary, or `None` (with a message saying why) when the comparison is skipped.
pub fn server_binary() -> Option<PathBuf> {
    if std::env::var_os("LONGWRITER_SKIP_REAL_MODEL").is_some() {
        eprintln!("llama.cpp comparison skipped: LONGWRITER_SKIP_REAL_MODEL is set");
        return None;
    }
    let server = crate::support::cached("LLAMA_SERVER", "bin/llama-server");
    if !server.exists() {
        eprintln!(
            "llama.cpp comparison skipped: no {} (scripts/setup-test-model.sh builds it)",
            server.display()
        );
        return None;
    }
    Some(server)
}

/// A running `llama-server`, killed on drop.
pub struct LlamaServer {
    child: Child,
    base: String,
    log: PathBuf,
}

/// llama.cpp's greedy continuation of a prompt.
pub struct Completion {
    /// The generated token ids.
    pub tokens: Vec<u32>,
    /// For each generated position, the top candidates `(id, log-probability)`, best first;
    /// `None` where the server reported none (see `complete`).
    pub top: Vec<Option<Vec<(u32, f32)>>>,
}

impl LlamaServer {
    /// Starts `server` on `model` (context 512, its default f16 KV cache, no flash attention:
    /// the arithmetic the engine reproduces, so the only differences are summation order), logging to `log`; waits until it is healthy.
    /// A server that exits or stays unhealthy for 60 s is an error quoting its log.
    pub async fn start(server: &Path, model: &Path, log: &Path) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let log_file = std::fs::File::create(log).map_err(|e| e.to_string())?;
        let err_file = log_file.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(server)
            .arg("-m")
            .arg(model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--no-jinja", "--chat-template", "chatml", "-c", "512"])
            .args(["-np", "1", "-t", "1", "-fa", "off"])
            .env("LD_LIBRARY_PATH", server.parent().unwrap_or(Path::new(".")))
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(err_file))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
        let mut me = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_path_buf(),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = me.child.try_wait() {
                return Err(format!(
                    "llama-server exited ({status}):\n{}",
                    me.log_tail()
                ));
            }
            if let Ok(r) = client.get(format!("{}/health", me.base)).send().await {
                if r.status().is_success() {
                    return Ok(me);
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "llama-server unhealthy after 60 s:\n{}",
                    me.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(25)..].join("\n")
    }

    /// llama.cpp's tokens for `text`, with the BOS the model wants.
    pub async fn tokenize(&self, text: &str) -> Result<Vec<u32>, String> {
        let reply: Value = reqwest::Client::new()
            .post(format!("{}/tokenize", self.base))
            .json(&json!({ "content": text, "add_special": true }))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        reply["tokens"]
            .as_array()
            .and_then(|a| a.iter().map(|t| t.as_u64().map(|x| x as u32)).collect())
            .ok_or_else(|| format!("unexpected /tokenize reply: {reply}"))
    }

    /// The greedy continuation of `prompt` (token ids, no BOS added) for `n` tokens, with the
    /// top `probs` candidates of each position.
    pub async fn complete(
        &self,
        prompt: &[u32],
        n: usize,
        probs: usize,
    ) -> Result<Completion, String> {
        let body = json!({
            "prompt": prompt,
            "n_predict": n,
            "temperature": 0.0,
            "n_probs": probs,
            "return_tokens": true,
            "cache_prompt": false,
            "ignore_eos": true,
        });
        let reply: Value = reqwest::Client::new()
            .post(format!("{}/completion", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let ids = |v: &Value| v.as_u64().map(|x| x as u32);
        let mut tokens: Vec<u32> = reply["tokens"]
            .as_array()
            .map(|a| a.iter().filter_map(ids).collect())
            .unwrap_or_default();
        if tokens.is_empty() {
            // Servers without `return_tokens` still name each generated token's id here.
            tokens = reply["completion_probabilities"]
                .as_array()
                .map(|a| a.iter().filter_map(|p| ids(&p["id"])).collect())
                .unwrap_or_default();
        }
        if tokens.len() != n {
            return Err(format!("unexpected reply from llama-server: {reply}"));
        }
        // The server reports no probabilities for a token that ends inside a UTF-8 character:
        // the entry of the token completing the character stands for the group (its `bytes`
        // are the group's, its `top_logprobs` are the completing token's position). Align the
        // entries to the tokens by id.
        let mut top = vec![None; n];
        let mut next = 0;
        for entry in reply["completion_probabilities"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(id) = ids(&entry["id"]) else {
                continue;
            };
            let Some(offset) = tokens[next..].iter().position(|t| *t == id) else {
                return Err(format!("probabilities for token {id} not in {tokens:?}"));
            };
            let candidates = entry["top_logprobs"].as_array().into_iter().flatten();
            top[next + offset] = Some(
                candidates
                    .filter_map(|c| Some((ids(&c["id"])?, c["logprob"].as_f64()? as f32)))
                    .collect(),
            );
            next += offset + 1;
        }
        Ok(Completion { tokens, top })
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
