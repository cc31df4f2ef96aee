//! `kill -9` at pseudo-random moments of a real `write`, then `resume`: finished sections are
//! byte-identical to what the server sent, the interrupted section continues from its journaled
//! text with nothing duplicated at the seam, and the document is complete. Every fifth
//! iteration also tears the journal's last record. `LONGWRITER_KILL_ITERATIONS` sets the count
//! (20 by default; `scripts/kill-loop.sh` runs 100).

use super::common::{cli, journal_text, project_dir, section_file, sent_texts};
use crate::support::prose::{agentwrite_plan, prose};
use crate::support::scripted::{Reply, ScriptedServer};
use longwriter::text::count_words;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const SECTIONS: usize = 3;
const WORDS: usize = 60;
const TAGS: [&str; SECTIONS] = ["Alpha", "Bravo", "Charlie"];

#[derive(Default, Debug)]
struct Figures {
    iterations: usize,
    before_project: usize,
    mid_section: usize,
    max_words_lost: usize,
    finished_lost: usize,
    torn: usize,
}

fn iterations() -> usize {
    std::env::var("LONGWRITER_KILL_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_at_random_moments_then_resume_loses_nothing() {
    let mut figures = Figures::default();
    for it in 0..iterations() {
        one_kill(it, &mut figures).await;
    }
    eprintln!("kill loop: {figures:?}");
    assert_eq!(figures.finished_lost, 0, "{figures:?}");
    assert!(
        figures.mid_section > 0,
        "no kill landed mid-section: {figures:?}"
    );
}

async fn one_kill(it: usize, figures: &mut Figures) {
    figures.iterations += 1;
    let texts: Vec<String> = TAGS.iter().map(|t| prose(t, WORDS)).collect();
    let mut replies = vec![Reply::text(agentwrite_plan(SECTIONS, WORDS))];
    replies.extend(texts.iter().map(|t| Reply::Slow {
        text: t.clone(),
        finish: "stop",
        delay_ms: 6,
    }));
    let server = ScriptedServer::start(replies).await;
    let dir = tempfile::tempdir().unwrap();
    let words = (SECTIONS * WORDS).to_string();
    let mut child = cli(
        dir.path(),
        &[
            "write",
            "A story",
            "--words",
            &words,
            "--base-url",
            &server.url,
            "--json",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let delay = (it as u64 * 7919 + 13) % 800 + 60;
    tokio::time::sleep(Duration::from_millis(delay)).await;
    let _ = child.kill();
    let _ = child.wait();
    let Some(project) = project_dir(dir.path()) else {
        figures.before_project += 1;
        return;
    };
    let done_before: Vec<Option<String>> =
        (0..SECTIONS).map(|i| section_file(&project, i)).collect();
    let has_plan = std::fs::read_to_string(project.join("project.toml"))
        .unwrap()
        .contains("[[plan.sections]]");
    let current = done_before.iter().position(Option::is_none);
    let journaled = current
        .map(|d| journal_text(&project, d))
        .unwrap_or_default();
    if let Some(d) = current {
        let sent = sent_texts(&server.sent());
        let sent_d = sent.get(d).cloned().unwrap_or_default();
        assert!(
            sent_d.starts_with(&journaled),
            "iteration {it}: the journal holds text the server did not send"
        );
        let lost = count_words(&sent_d).saturating_sub(count_words(&journaled));
        figures.max_words_lost = figures.max_words_lost.max(lost);
    }
    if it % 5 == 4 {
        tear(&project);
        figures.torn += 1;
    }
    let w = count_words(&journaled);
    let cont = prose("Cont", WORDS.saturating_sub(w).max(10));
    let mut replies = Vec::new();
    if !has_plan {
        replies.push(Reply::text(agentwrite_plan(SECTIONS, WORDS)));
    }
    if let Some(d) = current {
        replies.push(Reply::text(if w > 0 {
            cont.clone()
        } else {
            texts[d].clone()
        }));
        replies.extend(texts[d + 1..].iter().map(|t| Reply::text(t.clone())));
    }
    let resume_server = ScriptedServer::start(replies).await;
    let id = project.file_name().unwrap().to_string_lossy().into_owned();
    let out = cli(
        dir.path(),
        &["resume", &id, "--base-url", &resume_server.url],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "iteration {it}: {stderr}");
    if it % 5 == 4 {
        assert!(
            stderr.contains("torn journal record"),
            "iteration {it}: {stderr}"
        );
    }
    for (i, text) in texts.iter().enumerate() {
        let file = section_file(&project, i)
            .unwrap_or_else(|| panic!("iteration {it}: section {i} missing after resume"));
        if let Some(before) = &done_before[i] {
            if before != text || &file != text {
                figures.finished_lost += 1;
            }
        } else if Some(i) == current && w > 0 {
            figures.mid_section += 1;
            let rest = file.strip_prefix(journaled.trim_end()).unwrap_or_else(|| {
                panic!("iteration {it}: section {i} does not start with its journal:\n{file}")
            });
            assert_eq!(
                rest.trim_start(),
                cont,
                "iteration {it}: seam of section {i}"
            );
        } else {
            assert_eq!(&file, text, "iteration {it}: section {i}");
        }
    }
    assert_eq!(resume_server.remaining(), 0, "iteration {it}");
}

/// Appends half of a journal record, as a write cut by the kill would leave.
fn tear(project: &Path) {
    use std::io::Write;
    let record = longwriter::store::journal::encode(&longwriter::store::journal::Record {
        s: 0,
        t: "torn away".into(),
    });
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(project.join("journal.log"))
        .unwrap();
    f.write_all(&record[..record.len() / 2]).unwrap();
}
