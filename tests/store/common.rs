//! Helpers for the store tests: running the binary with a private data folder, reading a
//! project's files, and reconstructing what the scripted server sent.

use crate::support::binary;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A command for the binary with a private config and data folder under `dir`.
pub fn cli(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.args(args)
        .env("LONGWRITER_CONFIG_DIR", dir)
        .env("LONGWRITER_DATA", data(dir))
        .env_remove("LONGWRITER_BASE_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    cmd
}

/// The data folder under `dir`.
pub fn data(dir: &Path) -> PathBuf {
    dir.join("data")
}

/// Spawns the binary with piped output.
pub fn spawn(dir: &Path, args: &[&str]) -> Child {
    cli(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// The only project folder under the data folder, once it exists.
pub fn project_dir(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(data(dir)).ok()?;
    entries
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("project.toml").exists())
}

/// Waits up to `limit` for `check`, polling every 5 ms.
pub fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    check()
}

/// The journaled text of `section`.
pub fn journal_text(project: &Path, section: usize) -> String {
    longwriter::store::journal::read(&project.join("journal.log"))
        .map(|j| j.text_of(section))
        .unwrap_or_default()
}

/// A finished section's file, without its final newline.
pub fn section_file(project: &Path, section: usize) -> Option<String> {
    let text =
        std::fs::read_to_string(project.join(format!("sections/{:03}.txt", section + 1))).ok()?;
    Some(text.strip_suffix('\n').unwrap_or(&text).to_string())
}

/// The content the server streamed, one string per reply (split at `[DONE]`), from `sent`.
pub fn sent_texts(sent: &[(Instant, String)]) -> Vec<String> {
    let mut out = vec![String::new()];
    for (_, piece) in sent {
        if piece.contains("[DONE]") {
            out.push(String::new());
            continue;
        }
        if let Some(content) = content_of(piece) {
            if let Some(last) = out.last_mut() {
                last.push_str(&content);
            }
        }
    }
    out
}

/// The `delta.content` of one SSE piece.
pub fn content_of(piece: &str) -> Option<String> {
    let json = piece.trim().strip_prefix("data: ")?;
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value["choices"][0]["delta"]["content"]
        .as_str()
        .map(str::to_string)
}
