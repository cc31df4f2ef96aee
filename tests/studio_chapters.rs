//! The studio with a plan in chapters, end to end in a real terminal (tmux) against the
//! scripted server: `--chapters` plans the chapters first, the review shows them (`j` selects
//! each), writing plans each chapter's sections as it starts, and the plan tree shows every
//! chapter heading above its sections. `z` folds the selected section's chapter (its sections
//! leave the pane, the heading turns `▸` and counts them) and unfolds it again; `j` steps over
//! a folded chapter. Quitting restores the terminal, and `longwriter <id>` reopens the chapters. The
//! runs dashboard shows the studio's run by chapter and section within it (`ch 1/2 · §1/2`).

use crate::studio::{cli, only_project, shell_session, Tmux};
use crate::support::binary;
use crate::support::prose::{prose, tag};
use crate::support::scripted::{Reply, ScriptedServer};
use std::path::Path;

const CHAPTERS: usize = 2;
const PER_CHAPTER: usize = 2;
const SECTION_WORDS: usize = 1_000;
/// Two chapters need 4,000 words: a chapter plan allows one chapter per 2,000.
const TARGET: usize = CHAPTERS * PER_CHAPTER * SECTION_WORDS;

fn chapter_plan() -> String {
    (1..=CHAPTERS)
        .map(|c| {
            format!("Chapter {c} - Title: Era {c} - Main Point: The lighthouse in era {c}. - Word Count: {} words\n", PER_CHAPTER * SECTION_WORDS)
        })
        .collect()
}

fn sections_plan(chapter: usize) -> String {
    (1..=PER_CHAPTER)
        .map(|s| {
            format!("Paragraph {s} - Title: Era {chapter} scene {s} - Main Point: Scene {s} of era {chapter}. - Word Count: {SECTION_WORDS} words\n")
        })
        .collect()
}

/// The text of section `s` (zero-based) of chapter `c`: sentences start `ChaSeca`, ….
fn text(c: usize, s: usize) -> String {
    prose(&format!("{}{}", tag("Ch", c), tag("Sec", s)), SECTION_WORDS)
}

/// The chapter plan, then per chapter: the summaries of the chapter before (a chapter is
/// planned knowing what was written), its section plan and its sections' texts.
fn script() -> Vec<Reply> {
    let mut replies = vec![Reply::text(chapter_plan())];
    for c in 0..CHAPTERS {
        if c > 0 {
            replies.extend((0..PER_CHAPTER).map(|s| {
                Reply::text(format!(
                    "SUMMARY: The keeper lives through scene {s} of era {c}.\nRECORD: Keeper Ada."
                ))
            }));
        }
        replies.push(Reply::text(sections_plan(c + 1)));
        replies.extend((0..PER_CHAPTER).map(|s| Reply::text(text(c, s))));
    }
    replies
}

fn keys(tmux: &Tmux, keys: &str) {
    tmux.cmd(&["send-keys", "-t", "studio", keys]);
}

/// Runs `longwriter ARGS` in the pane with the test's store.
fn launch(tmux: &Tmux, dir: &Path, args: &str) {
    let line = format!(
        "LONGWRITER_CONFIG_DIR={d} LONGWRITER_DATA={d} {bin} {args}",
        d = dir.display(),
        bin = binary().display()
    );
    tmux.cmd(&["send-keys", "-t", "studio", "-l", &line]);
    keys(tmux, "Enter");
}

/// The plan tree's rows: the pane's lines that are a chapter heading or a section row, in
/// order, trimmed to the tree's column.
fn tree(pane: &str) -> Vec<String> {
    // The tree's border is `┃` while it has the focus, `│` otherwise.
    let border = |c: char| c == '│' || c == '┃';
    pane.lines()
        .filter_map(|l| l.strip_prefix(border))
        .filter_map(|l| l.split(border).next())
        .map(|l| l.trim().to_string())
        .filter(|l| l.contains(" Ch ") || l.contains(" scene "))
        .collect()
}

/// Where in the tree a row containing `what` is, if it is there.
fn row_of(rows: &[String], what: &str) -> Option<usize> {
    rows.iter().position(|r| r.contains(what))
}

/// Asserts that `rows` are exactly the chapter headings and section titles in `expected`.
fn assert_rows(rows: &[String], expected: &[&str], pane: &str) {
    assert_eq!(rows.len(), expected.len(), "rows {rows:#?} in:\n{pane}");
    for (row, want) in rows.iter().zip(expected) {
        assert!(row.contains(want), "{row:?} is not {want:?} in:\n{pane}");
    }
}

/// Starts the studio with `--chapters` and asks for the text; returns at the chapter plan.
fn plan_in_chapters(tmux: &Tmux, url: &str, dir: &Path) -> String {
    launch(
        tmux,
        dir,
        &format!("--chapters --context 200000 --base-url {url}"),
    );
    tmux.wait_for("the prompt screen", 20, |p| p.contains("PROMPT"));
    let prompt = format!("Write a {TARGET}-word history of a lighthouse");
    tmux.cmd(&["send-keys", "-t", "studio", "-l", &prompt]);
    keys(tmux, "C-s");
    tmux.wait_for("the chapter plan", 20, |p| {
        p.contains(" PLAN ") && p.contains("Ch 2")
    })
}

fn studio_folds_chapters(url: String, dir: std::path::PathBuf) {
    let tmux = shell_session("chapters");
    let pane = plan_in_chapters(&tmux, &url, &dir);
    assert_rows(&tree(&pane), &["▾ Ch 1 Era 1", "▾ Ch 2 Era 2"], &pane);
    assert!(pane.contains("in 2 chapters"), "{pane}");
    // Under review `j` selects the next chapter's heading and shows its fields.
    keys(&tmux, "j");
    tmux.wait_for("chapter 2 selected", 10, |p| {
        p.contains("Chapter    2 of 2")
    });
    keys(&tmux, "w");
    let pane = tmux.wait_for("the document to be done", 60, |p| p.contains(" DONE "));
    let open = [
        "▾ Ch 1 Era 1",
        "✓ Era 1 scene 1",
        "✓ Era 1 scene 2",
        "▾ Ch 2 Era 2",
        "✓ Era 2 scene 1",
        "✓ Era 2 scene 2",
    ];
    assert_rows(&tree(&pane), &open, &pane);
    assert!(
        tree(&pane)[0].ends_with("2,000/2,000"),
        "chapter words in:\n{pane}"
    );
    // The tree takes the keys; `g` selects section 1, in chapter 1.
    keys(&tmux, "Tab");
    keys(&tmux, "g");
    keys(&tmux, "z");
    let pane = tmux.wait_for("chapter 1 folded", 10, |p| {
        row_of(&tree(p), "▸ Ch 1").is_some()
    });
    let rows = tree(&pane);
    assert_rows(
        &rows,
        &[
            "▸ Ch 1 Era 1",
            "▾ Ch 2 Era 2",
            "Era 2 scene 1",
            "Era 2 scene 2",
        ],
        &pane,
    );
    assert!(
        rows[0].contains(" 2§ 2,000/2,000"),
        "the folded heading counts its sections: {:?}",
        rows[0]
    );
    // A folded chapter is one step: `j` goes to chapter 2's first section, `z` folds it.
    keys(&tmux, "j");
    keys(&tmux, "z");
    let pane = tmux.wait_for("both chapters folded", 10, |p| {
        row_of(&tree(p), "▸ Ch 2").is_some()
    });
    assert_rows(&tree(&pane), &["▸ Ch 1 Era 1", "▸ Ch 2 Era 2"], &pane);
    keys(&tmux, "z");
    keys(&tmux, "k");
    keys(&tmux, "z");
    let pane = tmux.wait_for("both chapters open again", 10, |p| {
        row_of(&tree(p), "▸ Ch").is_none() && row_of(&tree(p), "▾ Ch 1").is_some()
    });
    assert_rows(&tree(&pane), &open, &pane);
    keys(&tmux, "q");
    tmux.wait_for("the shell again", 10, |p| p.matches("READY$").count() >= 2);
    let alternate = tmux.cmd(&["display", "-p", "-t", "studio", "#{alternate_on}"]);
    assert_eq!(alternate.trim(), "0", "the alternate screen is still on");
    let id = only_project(&dir);
    let list = cli(&dir, &["list"]);
    assert!(list.contains(&id) && list.contains("done"), "{list}");
    launch(&tmux, &dir, &id);
    let pane = tmux.wait_for("the reopened project", 20, |p| {
        p.contains(" DONE ") && p.contains("opened project")
    });
    assert_rows(&tree(&pane), &open, &pane);
    keys(&tmux, "q");
    tmux.wait_for("the shell again", 10, |p| p.matches("READY$").count() >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn studio_writes_chapters_and_folds_them_in_a_real_terminal() {
    let server = ScriptedServer::start(script()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || studio_folds_chapters(url, path))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    assert_eq!(server.remaining(), 0, "every scripted reply was asked for");
}

fn dashboard_names_the_chapter(url: String, dir: std::path::PathBuf) {
    let tmux = shell_session("chapter-runs");
    plan_in_chapters(&tmux, &url, &dir);
    keys(&tmux, "w");
    tmux.wait_for("chapter 1's first section streaming", 20, |p| {
        p.contains("ChaSeca")
    });
    keys(&tmux, "D");
    let pane = tmux.wait_for("the run on the dashboard", 10, |p| {
        p.contains("ch 1/2 · §1/2")
    });
    let row = pane
        .lines()
        .find(|l| l.contains("ch 1/2 · §1/2"))
        .unwrap_or_default();
    assert!(row.contains("(here)") && row.contains("writing"), "{row}");
    keys(&tmux, "q");
    tmux.wait_for("the shell again", 10, |p| p.matches("READY$").count() >= 2);
    let alternate = tmux.cmd(&["display", "-p", "-t", "studio", "#{alternate_on}"]);
    assert_eq!(alternate.trim(), "0", "the alternate screen is still on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_a_run_s_chapter_and_its_section_in_it() {
    let replies = vec![
        Reply::text(chapter_plan()),
        Reply::text(sections_plan(1)),
        // Slow enough (about 20 s) to be on the dashboard while it streams.
        Reply::Slow {
            text: text(0, 0),
            finish: "stop",
            delay_ms: 40,
        },
    ];
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || dashboard_names_the_chapter(url, path))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
}
