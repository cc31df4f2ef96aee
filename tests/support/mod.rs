//! Test support: a scripted OpenAI-compatible server on a loopback port (and an answering one
//! for many documents at once, `answering`), the same script as an
//! in-process `Backend` (`backend`), generated prose and plans (`prose`), and helpers to run
//! the real `longwriter` binary.

pub mod answering;
pub mod backend;
pub mod prose;
pub mod scripted;
pub mod windowed;
pub mod wire;

use std::path::PathBuf;
use std::process::Output;

/// The built binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_longwriter"))
}

/// Runs the binary with `args` in a clean environment (own config and data folders, no base URL
/// or model from the caller's shell), off the async runtime.
pub async fn run_cli(args: Vec<String>, config_dir: &std::path::Path) -> Output {
    run_cli_env(args, config_dir, &[]).await
}

/// `run_cli` with extra environment variables (e.g. the one `--api-key-env` names), set last.
pub async fn run_cli_env(
    args: Vec<String>,
    config_dir: &std::path::Path,
    envs: &[(&str, &str)],
) -> Output {
    let config_dir = config_dir.to_path_buf();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(binary())
            .args(&args)
            .env("LONGWRITER_CONFIG_DIR", &config_dir)
            .env("LONGWRITER_DATA", config_dir.join("data"))
            .env_remove("LONGWRITER_BASE_URL")
            .env_remove("LONGWRITER_MODEL")
            .env_remove("LONGWRITER_DEVICE")
            .env("NO_COLOR", "1")
            .envs(envs)
            .output()
            .expect("the longwriter binary runs")
    })
    .await
    .expect("join")
}

/// `args` as owned strings.
pub fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// A file of the test-model cache: `$var` when set, else `$LONGWRITER_CACHE/rel` (default
/// `~/.cache/longwriter/rel`), where `scripts/setup-test-model.sh` puts it.
pub fn cached(var: &str, rel: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("LONGWRITER_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/longwriter")
        });
    cache.join(rel)
}

/// Asserts that a run of the binary exited 0, showing its stderr otherwise.
pub fn assert_success(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Reads `longwriter serve`'s stderr lines until it prints "listening on URL" and returns the
/// URL; panics (naming `what` it waited for) if serve exits first or `limit` passes.
pub async fn listening_address(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
    limit: std::time::Duration,
    what: &str,
) -> String {
    let wait = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("listening on ").nth(1) {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("serve exited before listening");
    };
    tokio::time::timeout(limit, wait).await.expect(what)
}
