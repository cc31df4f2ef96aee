//! The studio end to end: the real binary in a real terminal (tmux) against the scripted
//! server: type a prompt, accept the plan, wait for every section, quit, and check that the
//! terminal is restored; the document is then a project in the store that `longwriter <id>`
//! reopens. A hang-up leaves the streamed text in the journal; the hand-off key continues the
//! job in a detached worker. Also: without a terminal the studio refuses cleanly.

use crate::support::prose::{agentwrite_plan, prose};
use crate::support::scripted::{Reply, ScriptedServer};
use crate::support::{binary, run_cli, strings};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of our own (its own socket), killed on drop.
pub(crate) struct Tmux {
    socket: String,
}

impl Tmux {
    pub(crate) fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (scripts/setup-ci-tools.sh installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub(crate) fn capture(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-t", "studio"])
    }

    /// Polls the pane until `done` holds for its text, or fails after `secs` with the pane.
    pub(crate) fn wait_for(&self, what: &str, secs: u64, done: impl Fn(&str) -> bool) -> String {
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

/// A tmux session of 120×40 running a clean shell.
pub(crate) fn shell_session(tag: &str) -> Tmux {
    let tmux = Tmux {
        socket: format!("longwriter-test-{}-{tag}", std::process::id()),
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
    tmux
}

/// Starts the studio (with `exec`, so the pane's process is the studio) and has it write a
/// 300-word story until `Sec1` text streams.
fn start_writing(tmux: &Tmux, url: &str, dir: &std::path::Path, exec: &str) {
    let line = format!(
        "{exec}env LONGWRITER_CONFIG_DIR={d} LONGWRITER_DATA={d} {bin} --base-url {url}",
        d = dir.display(),
        bin = binary().display()
    );
    tmux.cmd(&["send-keys", "-t", "studio", "-l", &line]);
    tmux.cmd(&["send-keys", "-t", "studio", "Enter"]);
    tmux.wait_for("the prompt screen", 20, |p| p.contains("PROMPT"));
    tmux.cmd(&["send-keys", "-t", "studio", "-l", "Write a 300-word story"]);
    tmux.cmd(&["send-keys", "-t", "studio", "C-s"]);
    tmux.wait_for("the plan review", 20, |p| p.contains(" PLAN "));
    tmux.cmd(&["send-keys", "-t", "studio", "w"]);
    tmux.wait_for("streamed text", 20, |p| p.matches("Sec1").count() >= 2);
}

fn slow_script() -> Vec<Reply> {
    let mut replies = vec![
        Reply::text(agentwrite_plan(3, 100)),
        Reply::Slow {
            text: prose("Sec1", 100),
            finish: "stop",
            delay_ms: 150,
        },
    ];
    replies.extend((1..=6).map(|i| Reply::text(prose(&format!("Sec{i}"), 100))));
    replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_up_flushes_the_journal_and_exits_at_once() {
    let server = ScriptedServer::start(slow_script()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || {
        let tmux = shell_session("hup");
        start_writing(&tmux, &url, &path, "exec ");
        let pid = tmux.cmd(&["display", "-p", "-t", "studio", "#{pane_pid}"]);
        let pid = pid.trim().to_string();
        assert!(!pid.is_empty());
        tmux.cmd(&["kill-session", "-t", "studio"]);
        let killed = Instant::now();
        let alive = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
        };
        while alive() {
            assert!(
                killed.elapsed() < Duration::from_secs(2),
                "the studio still runs"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let id = only_project(&path);
        let project = longwriter::store::Project::open(&path.join(&id)).unwrap();
        let text = project.read_journal().unwrap().text_of(0);
        let opening: Vec<String> = prose("Sec1", 100)
            .split(' ')
            .take(2)
            .map(str::to_string)
            .collect();
        assert!(text.starts_with(&opening.join(" ")), "journal: {text:?}");
        assert_ne!(project.manifest.state, longwriter::store::JobState::Writing);
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_off_continues_in_a_worker_after_the_studio_quits() {
    let server = ScriptedServer::start(slow_script()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || {
        let tmux = shell_session("handoff");
        start_writing(&tmux, &url, &path, "");
        tmux.cmd(&["send-keys", "-t", "studio", "H"]);
        tmux.wait_for("the hand-off", 20, |p| p.contains("FOLLOWING"));
        tmux.cmd(&["send-keys", "-t", "studio", "q"]);
        tmux.wait_for("the shell again", 10, |p| p.matches("READY$").count() >= 2);
        let id = only_project(&path);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cli(&path, &["list"]).contains("done") {
            assert!(Instant::now() < deadline, "{}", cli(&path, &["show", &id]));
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = path.join("out.md");
        let out_arg = out.display().to_string();
        cli(&path, &["export", &id, "-o", &out_arg]);
        let text = std::fs::read_to_string(&out).unwrap();
        for tag in ["Sec1", "Sec2", "Sec3"] {
            assert!(text.contains(tag), "{tag} missing:\n{text}");
        }
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
}

fn run_studio_session(url: String, dir: std::path::PathBuf) {
    let tmux = shell_session("write");
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
    let list = cli(&dir, &["list"]);
    let id = only_project(&dir);
    assert!(list.contains(&id) && list.contains("done"), "{list}");
    let line = format!(
        "LONGWRITER_CONFIG_DIR={d} LONGWRITER_DATA={d} {bin} {id}",
        d = dir.display(),
        bin = binary().display()
    );
    tmux.cmd(&["send-keys", "-t", "studio", "-l", &line]);
    tmux.cmd(&["send-keys", "-t", "studio", "Enter"]);
    let pane = tmux.wait_for("the reopened project", 20, |p| {
        p.contains(" DONE ") && p.contains("opened project")
    });
    assert!(
        pane.contains("Sec"),
        "no text in the reopened project:\n{pane}"
    );
    tmux.cmd(&["send-keys", "-t", "studio", "q"]);
    tmux.wait_for("the shell again", 10, |p| p.matches("READY$").count() >= 3);
}

/// Runs the binary with `LONGWRITER_DATA=dir`; returns stdout.
pub(crate) fn cli(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(binary())
        .args(args)
        .env("LONGWRITER_CONFIG_DIR", dir)
        .env("LONGWRITER_DATA", dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the longwriter binary runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The id of the one project in the store at `dir`.
pub(crate) fn only_project(dir: &std::path::Path) -> String {
    let projects = longwriter::store::Store::at(dir).list();
    assert_eq!(projects.len(), 1, "{projects:?}");
    projects[0].id.clone()
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
