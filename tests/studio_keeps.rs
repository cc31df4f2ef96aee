//! The studio loses nothing a writer types: each way text or a plan used to be lost, tried in
//! a real terminal (tmux) against the scripted server. An edit saved with ctrl-s is in the
//! project at once; ctrl-c in the editor asks; a reviewed plan is a draft project that `q`
//! keeps and `longwriter <id>` reopens; re-plan over hand edits asks; export over a file asks;
//! `E` runs `$EDITOR` (a script here) and saves its text; after a hand-off, `list` says the
//! worker is writing.

use crate::studio::{cli, only_project, shell_session, Tmux};
use crate::support::binary;
use crate::support::prose::{agentwrite_plan, prose};
use crate::support::scripted::{Reply, ScriptedServer};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A plan of `n` sections of 100 words and their texts `Sec1`…
fn script(n: usize) -> Vec<Reply> {
    let mut replies = vec![Reply::text(agentwrite_plan(n, 100))];
    replies.extend((1..=n).map(|i| Reply::text(prose(&format!("Sec{i}"), 100))));
    replies
}

fn keys(tmux: &Tmux, keys: &str) {
    tmux.cmd(&["send-keys", "-t", "studio", keys]);
}

fn type_text(tmux: &Tmux, text: &str) {
    tmux.cmd(&["send-keys", "-t", "studio", "-l", text]);
}

/// Runs `longwriter ARGS` in the pane with the test's store (and `env`, e.g. `EDITOR=…`).
fn launch(tmux: &Tmux, dir: &Path, env: &str, args: &str) {
    let line = format!(
        "cd {d} && {env} LONGWRITER_CONFIG_DIR={d} LONGWRITER_DATA={d} {bin} {args}",
        d = dir.display(),
        bin = binary().display()
    );
    type_text(tmux, &line);
    keys(tmux, "Enter");
}

/// Opens the studio and gets a plan under review.
fn plan(tmux: &Tmux, url: &str, dir: &Path, env: &str) {
    launch(tmux, dir, env, &format!("--base-url {url}"));
    tmux.wait_for("the prompt screen", 20, |p| p.contains("PROMPT"));
    type_text(tmux, "Write a 200-word story");
    keys(tmux, "C-s");
    tmux.wait_for("the plan review", 20, |p| p.contains(" PLAN "));
}

/// Opens the studio and writes a whole 2-section document; section 2 ends selected.
fn write_all(tmux: &Tmux, url: &str, dir: &Path, env: &str) {
    plan(tmux, url, dir, env);
    keys(tmux, "w");
    tmux.wait_for("the document to be done", 30, |p| p.contains(" DONE "));
}

fn quit_to_shell(tmux: &Tmux, prompts: usize) {
    tmux.wait_for("the shell again", 10, |p| {
        p.matches("READY$").count() >= prompts
    });
}

fn section_file(dir: &Path, id: &str, n: usize) -> String {
    let path = dir.join(id).join("sections").join(format!("{n:03}.txt"));
    std::fs::read_to_string(&path).unwrap_or_default()
}

/// Runs a blocking tmux test on its own thread beside the scripted server.
async fn with_server(
    replies: Vec<Reply>,
    test: impl FnOnce(String, PathBuf) + Send + 'static,
) -> ScriptedServer {
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || {
        let _keep = dir;
        test(url, path)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_saved_with_ctrl_s_is_in_the_project_at_once_and_after_reopening() {
    with_server(script(2), |url, dir| {
        let tmux = shell_session("edit");
        write_all(&tmux, &url, &dir, "");
        keys(&tmux, "e");
        tmux.wait_for("the editor", 10, |p| p.contains("Edit section 2"));
        type_text(&tmux, "HANDEDIT ");
        keys(&tmux, "C-s");
        tmux.wait_for("the save", 10, |p| p.contains("edited and saved"));
        let id = only_project(&dir);
        // In the project before quitting: a crash or kill -9 now keeps it.
        assert!(section_file(&dir, &id, 2).starts_with("HANDEDIT Sec2"));
        keys(&tmux, "q");
        quit_to_shell(&tmux, 2);
        let out = dir.join("edited.md");
        cli(&dir, &["export", &id, "-o", &out.display().to_string()]);
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains("HANDEDIT Sec2"), "{text}");
        assert!(cli(&dir, &["list"]).contains("done"));
        launch(&tmux, &dir, "", &id);
        tmux.wait_for("the reopened project", 20, |p| p.contains("opened project"));
        keys(&tmux, "Tab");
        keys(&tmux, "G");
        keys(&tmux, "Enter");
        tmux.wait_for("the edit after reopening", 10, |p| p.contains("HANDEDIT"));
        keys(&tmux, "q");
        quit_to_shell(&tmux, 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_in_the_editor_asks_and_s_saves_before_quitting() {
    with_server(script(2), |url, dir| {
        let tmux = shell_session("ctrlc");
        write_all(&tmux, &url, &dir, "");
        keys(&tmux, "e");
        tmux.wait_for("the editor", 10, |p| p.contains("Edit section 2"));
        type_text(&tmux, "TYPED ");
        keys(&tmux, "C-c");
        let pane = tmux.wait_for("the question", 10, |p| p.contains("unsaved edits"));
        assert!(pane.contains("save and quit") && pane.contains("discard and quit"));
        keys(&tmux, "Escape");
        tmux.wait_for("the editor again", 10, |p| {
            p.contains("Edit section 2") && !p.contains("unsaved edits")
        });
        keys(&tmux, "C-c");
        tmux.wait_for("the question again", 10, |p| p.contains("unsaved edits"));
        keys(&tmux, "s");
        quit_to_shell(&tmux, 2);
        let id = only_project(&dir);
        assert!(section_file(&dir, &id, 2).starts_with("TYPED Sec2"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn q_in_plan_review_keeps_the_edited_plan_as_a_draft_that_reopens() {
    with_server(script(2), |url, dir| {
        let tmux = shell_session("draft");
        plan(&tmux, &url, &dir, "");
        keys(&tmux, "t");
        tmux.wait_for("the title input", 10, |p| p.contains("Title of section 1"));
        type_text(&tmux, " RENAMED");
        keys(&tmux, "Enter");
        tmux.wait_for("the new title", 10, |p| p.contains("RENAMED"));
        keys(&tmux, "q");
        quit_to_shell(&tmux, 2);
        let id = only_project(&dir);
        let list = cli(&dir, &["list"]);
        assert!(list.contains(&id) && list.contains("draft"), "{list}");
        launch(&tmux, &dir, "", &id);
        let pane = tmux.wait_for("the reopened draft", 20, |p| p.contains("opened draft"));
        assert!(
            pane.contains(" PLAN ") && pane.contains("RENAMED"),
            "{pane}"
        );
        keys(&tmux, "q");
        quit_to_shell(&tmux, 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_plan_over_hand_edits_asks_and_sends_the_edited_plan() {
    let mut replies = script(2);
    replies.insert(1, Reply::text(agentwrite_plan(3, 70)));
    let server = with_server(replies, |url, dir| {
        let tmux = shell_session("replan");
        plan(&tmux, &url, &dir, "");
        keys(&tmux, "t");
        tmux.wait_for("the title input", 10, |p| p.contains("Title of section 1"));
        type_text(&tmux, " RENAMED");
        keys(&tmux, "Enter");
        tmux.wait_for("the new title", 10, |p| p.contains("RENAMED"));
        keys(&tmux, "r");
        tmux.wait_for("the question", 10, |p| p.contains("Re-planning replaces"));
        keys(&tmux, "n");
        let pane = tmux.wait_for("the kept plan", 10, |p| p.contains("nothing changed"));
        assert!(pane.contains("RENAMED"), "{pane}");
        keys(&tmux, "r");
        tmux.wait_for("the question", 10, |p| p.contains("Re-planning replaces"));
        keys(&tmux, "y");
        tmux.wait_for("the hint input", 10, |p| p.contains("Re-plan: hint"));
        type_text(&tmux, "shorter");
        keys(&tmux, "Enter");
        tmux.wait_for("the new plan", 20, |p| p.contains("Part 3"));
        keys(&tmux, "q");
        quit_to_shell(&tmux, 2);
    })
    .await;
    let requests = server.requests();
    let replan = serde_json::to_string(&requests[1]).unwrap();
    assert!(
        replan.contains("RENAMED") && replan.contains("shorter"),
        "{replan}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_over_an_existing_file_asks_first() {
    with_server(script(2), |url, dir| {
        let existing = dir.join("write-a-200word-story.md");
        std::fs::write(&existing, "KEEP ME\n").unwrap();
        let tmux = shell_session("export");
        write_all(&tmux, &url, &dir, "");
        keys(&tmux, "x");
        tmux.wait_for("the export input", 10, |p| p.contains("Export to (.md"));
        keys(&tmux, "Enter");
        tmux.wait_for("the question", 10, |p| p.contains("exists. Replace"));
        keys(&tmux, "n");
        tmux.wait_for("the kept file", 10, |p| p.contains("not exported"));
        assert_eq!(std::fs::read_to_string(&existing).unwrap(), "KEEP ME\n");
        keys(&tmux, "x");
        tmux.wait_for("the export input", 10, |p| p.contains("Export to (.md"));
        keys(&tmux, "Enter");
        tmux.wait_for("the question", 10, |p| p.contains("exists. Replace"));
        keys(&tmux, "y");
        tmux.wait_for("the export", 10, |p| p.contains("exported to /"));
        let text = std::fs::read_to_string(&existing).unwrap();
        assert!(text.contains("Sec1") && text.contains("Sec2"), "{text}");
        keys(&tmux, "q");
        quit_to_shell(&tmux, 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_editor_edits_a_section_without_crashing_the_studio() {
    with_server(script(2), |url, dir| {
        let editor = dir.join("editor.sh");
        std::fs::write(
            &editor,
            "#!/bin/sh\nprintf 'EXTERNAL words from the editor.\\n' > \"$1\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tmux = shell_session("editor");
        let env = format!("EDITOR={}", editor.display());
        write_all(&tmux, &url, &dir, &env);
        keys(&tmux, "E");
        let pane = tmux.wait_for("the edit applied", 10, |p| p.contains("edited and saved"));
        assert!(pane.contains(" DONE "), "{pane}");
        let id = only_project(&dir);
        assert_eq!(
            section_file(&dir, &id, 2),
            "EXTERNAL words from the editor.\n"
        );
        // The studio still answers keys after the editor.
        keys(&tmux, "q");
        quit_to_shell(&tmux, 2);
        let alternate = tmux.cmd(&["display", "-p", "-t", "studio", "#{alternate_on}"]);
        assert_eq!(alternate.trim(), "0");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_hand_off_list_says_the_worker_is_writing() {
    let mut replies = vec![
        Reply::text(agentwrite_plan(3, 100)),
        Reply::Slow {
            text: prose("Sec1", 100),
            finish: "stop",
            delay_ms: 150,
        },
    ];
    replies.extend((1..=6).map(|i| Reply::Slow {
        text: prose(&format!("Sec{i}"), 100),
        finish: "stop",
        delay_ms: 30,
    }));
    with_server(replies, |url, dir| {
        let tmux = shell_session("handoff-list");
        plan(&tmux, &url, &dir, "");
        keys(&tmux, "w");
        tmux.wait_for("streamed text", 20, |p| p.matches("Sec1").count() >= 2);
        keys(&tmux, "H");
        tmux.wait_for("the hand-off", 20, |p| p.contains("FOLLOWING"));
        let id = only_project(&dir);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let list = cli(&dir, &["list"]);
            assert!(!list.contains("stopped"), "the worker writes, yet: {list}");
            if list.contains("writing") {
                break;
            }
            assert!(
                Instant::now() < deadline && !list.contains("done"),
                "never shown as writing: {list}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let show = cli(&dir, &["show", &id]);
        assert!(!show.contains("stopped by the user"), "{show}");
        keys(&tmux, "q");
        quit_to_shell(&tmux, 2);
        // The worker would outlive the test, retrying a server that is gone with it.
        cli(&dir, &["stop", &id]);
        assert!(cli(&dir, &["list"]).contains("stopped"), "the worker stops");
    })
    .await;
}
