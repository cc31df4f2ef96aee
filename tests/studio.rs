//! The studio end to end: the real binary in a real terminal (tmux) against the scripted
//! server: type a prompt, accept the plan, wait for every section, quit, and check that the
//! terminal is restored. Also: without a terminal the studio refuses cleanly.

use crate::cli_write::{agentwrite_plan, prose};
use crate::support::scripted::{Reply, ScriptedServer};
use crate::support::{binary, run_cli, strings};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of our own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (scripts/setup-ci-tools.sh installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn capture(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-t", "studio"])
    }

    /// Polls the pane until `done` holds for its text, or fails after `secs` with the pane.
    fn wait_for(&self, what: &str, secs: u64, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let pane = self.capture();
            if done(&pane) {
                return pane;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; pane:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn run_studio_session(url: String, dir: std::path::PathBuf) {
    let tmux = Tmux {
        socket: format!("longwriter-test-{}", std::process::id()),
    };
    let shell = "env -i PATH=/usr/bin:/bin HOME=/tmp TERM=xterm-256color PS1='READY$ ' bash --norc --noprofile";
    tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "studio",
        "-x",
        "120",
        "-y",
        "40",
        shell,
    ]);
    tmux.wait_for("the shell", 10, |p| p.contains("READY$"));
    let line = format!(
        "LONGWRITER_CONFIG_DIR={d} LONGWRITER_DATA={d} {bin} --base-url {url}",
        d = dir.display(),
        bin = binary().display()
    );
    tmux.cmd(&["send-keys", "-t", "studio", "-l", &line]);
    tmux.cmd(&["send-keys", "-t", "studio", "Enter"]);
    tmux.wait_for("the prompt screen", 20, |p| p.contains("PROMPT"));
    tmux.cmd(&[
        "send-keys",
        "-t",
        "studio",
        "-l",
        "Write a 300-word story about a lighthouse",
    ]);
    tmux.cmd(&["send-keys", "-t", "studio", "C-s"]);
    tmux.wait_for("the plan review", 20, |p| p.contains(" PLAN "));
    tmux.cmd(&["send-keys", "-t", "studio", "w"]);
    let pane = tmux.wait_for("the document to be done", 30, |p| p.contains(" DONE "));
    let rows: Vec<&str> = pane.lines().filter(|l| l.contains(" ✓ ")).collect();
    assert!(!rows.is_empty(), "no finished section in:\n{pane}");
    for icon in [" · ", " ○ ", " ✎ ", " ✗ ", " ~ "] {
        assert!(
            !pane
                .lines()
                .take(20)
                .any(|l| l.starts_with("│") && l[3..12.min(l.len())].contains(icon.trim())),
            "a section is not done ({icon}):\n{pane}"
        );
    }
    let total = pane
        .lines()
        .find_map(|l| l.split("┌ Plan ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no total in:\n{pane}"))
        .to_string();
    let (written, target) = total.split_once('/').expect("written/target");
    assert!(written != "0" && !target.is_empty(), "total {total}");
    tmux.cmd(&["send-keys", "-t", "studio", "q"]);
    tmux.wait_for("the shell again", 10, |p| p.matches("READY$").count() >= 2);
    let alternate = tmux.cmd(&["display", "-p", "-t", "studio", "#{alternate_on}"]);
    assert_eq!(alternate.trim(), "0", "the alternate screen is still on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn studio_writes_a_document_in_a_real_terminal() {
    let mut replies = vec![Reply::text(agentwrite_plan(3, 100))];
    replies.extend((1..=3).map(|i| Reply::text(prose(&format!("Sec{i}"), 100))));
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || run_studio_session(url, path))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
}

#[tokio::test]
async fn studio_without_a_terminal_refuses_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(
        strings(&["--base-url", "http://127.0.0.1:9/v1"]),
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("needs a terminal"), "{stderr}");
    assert!(output.stdout.is_empty(), "no escape codes on stdout");
}
