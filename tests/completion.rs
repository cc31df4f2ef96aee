//! Completion mode: a base model gets the document to continue instead of chat steps. The
//! writer over the in-process scripted backend (paused clock) checks that every prompt is
//! document-shaped, extends the one before it and carries none of the chat mode's step
//! wording; the binary against the scripted HTTP server checks `--mode completion` reaches
//! `/v1/completions` with the same events as chat mode.

use crate::support::backend::ScriptedBackend;
use crate::support::prose::{prose, tag};
use crate::support::scripted::{Options, Reply, ScriptedServer};
use crate::support::{run_cli, strings};
use longwriter::backend::{ChatMessage, PromptMode};
use longwriter::plan::{ChapterMode, Plan, Section, SectionState};
use longwriter::prompt::Prompts;
use longwriter::writer::{Document, Job, JobEvent, SectionDraft, Writer, WriterSettings};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc::unbounded_channel;
use tokio_util::sync::CancellationToken;

/// Sentences of the chat mode's prompts that must never reach a base model.
const STEP_WORDING: &[&str] = &[
    "Now write section",
    "I will ask for the sections",
    "Continue it from exactly where it stopped",
    "You are writing a long text",
    "You are planning",
    "The request:",
    "Paragraph 1 - Title",
];

const STORY: &str = "Write a 600-word story about a lighthouse keeper";

fn job(mode: Option<PromptMode>) -> Job {
    let settings = WriterSettings {
        mode,
        ..WriterSettings::default()
    };
    Job::new(STORY, None, settings).expect("a valid job")
}

/// Plans and writes `job` on `backend`; the document and the events.
async fn run(backend: &ScriptedBackend, job: &Job) -> (Document, Vec<JobEvent>) {
    let (tx, mut rx) = unbounded_channel();
    let writer = Writer::new(
        Arc::new(backend.clone()),
        Arc::new(Prompts::builtin()),
        tx,
        CancellationToken::new(),
    );
    let plan = writer.plan(job).await.expect("a plan");
    let document = Document::new(
        job.instruction.clone(),
        job.target_words,
        job.language,
        plan,
    );
    let outcome = writer.write(job, document).await;
    outcome.result.expect("written");
    drop(writer);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    (outcome.document, events)
}

/// The prompts of the completions `backend` was sent, in order.
fn prompts_sent(backend: &ScriptedBackend) -> Vec<String> {
    backend
        .completions()
        .into_iter()
        .map(|r| r.prompt)
        .collect()
}

fn assert_no_step_wording(prompt: &str) {
    for wording in STEP_WORDING {
        assert!(!prompt.contains(wording), "{wording:?} sent in:\n{prompt}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_base_model_gets_the_plan_and_sections_as_a_document_to_continue() {
    let texts = [prose(&tag("Fire", 0), 300), prose(&tag("Night", 1), 300)];
    let backend = ScriptedBackend::base(vec![
        Reply::text(" Fires on the headlands (300 words)\n2. The keeper's night (300 words)\n"),
        Reply::text(texts[0].clone()),
        Reply::text(texts[1].clone()),
    ]);
    let (document, events) = run(&backend, &job(None)).await;
    assert!(backend.requests().is_empty(), "no chat request was sent");
    let sent = prompts_sent(&backend);
    assert_eq!(sent.len(), 3);
    assert!(
        sent[0].starts_with("# A story about a lighthouse keeper\n\nA 600-word story about"),
        "{}",
        sent[0]
    );
    assert!(sent[0].ends_with("## Contents\n\n1."), "{}", sent[0]);
    let titles: Vec<&str> = document
        .plan
        .sections
        .iter()
        .map(|s| s.title.as_str())
        .collect();
    assert_eq!(titles, ["Fires on the headlands", "The keeper's night"]);
    assert!(
        sent[1].contains("## Contents\n\n1. Fires on the headlands\n2. The keeper's night\n"),
        "{}",
        sent[1]
    );
    assert!(
        sent[1].ends_with("\n\n## 1. Fires on the headlands\n\n"),
        "{}",
        sent[1]
    );
    assert!(
        sent[2].starts_with(&format!("{}{}", sent[1], texts[0])),
        "prefix kept"
    );
    assert!(
        sent[2].ends_with("\n\n## 2. The keeper's night\n\n"),
        "{}",
        sent[2]
    );
    for prompt in &sent {
        assert_no_step_wording(prompt);
    }
    assert_eq!(document.drafts[0].text(), texts[0]);
    assert_eq!(document.drafts[1].text(), texts[1]);
    let done = events
        .iter()
        .filter(|e| matches!(e, JobEvent::SectionDone { .. }));
    assert_eq!(done.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_short_section_is_continued_from_its_own_text() {
    let first = prose(&tag("Fire", 0), 100);
    let rest = prose(&tag("Dawn", 0), 200);
    let backend = ScriptedBackend::base(vec![
        Reply::text(" Fires on the headlands (300 words)\n2. Dawn (300 words)\n"),
        Reply::text(first.clone()),
        Reply::text(rest.clone()),
        Reply::text(prose(&tag("Dawn", 1), 300)),
    ]);
    let (document, _) = run(&backend, &job(None)).await;
    let sent = prompts_sent(&backend);
    assert_eq!(sent.len(), 4);
    assert_eq!(
        sent[2],
        format!("{}{first}", sent[1]),
        "the continuation extends the text"
    );
    assert_eq!(document.drafts[0].text(), format!("{first}\n\n{rest}"));
    assert!(sent[3].contains(&format!("{first}\n\n{rest}\n\n## 2. Dawn\n\n")));
}

#[tokio::test(start_paused = true)]
async fn a_contents_with_no_entry_falls_back_to_an_even_plan() {
    // Three tries, each with another seed, give no entry.
    let backend = ScriptedBackend::base(vec![
        Reply::text("\nOnce upon a time there was a keeper."),
        Reply::text("0 INTRODUCTION\n\n0.1 THE LEO-CENTRAL\n\n0.2 THE LEO-CENTRAL"),
        Reply::text(""),
        Reply::text(prose(&tag("One", 0), 600)),
    ]);
    let (document, events) = run(&backend, &job(None)).await;
    assert!(document.plan.fallback, "the fallback plan is flagged");
    assert!(events.iter().any(|e| matches!(e,
        JobEvent::Warning { message } if message.contains("evenly split"))));
    assert_eq!(
        document.plan.sections.len(),
        1,
        "600 words is one even section"
    );
    let sent = backend.completions();
    assert_eq!(sent.len(), 4);
    assert!(
        sent[3].prompt.ends_with("## 1. Main text\n\n"),
        "{}",
        sent[3].prompt
    );
}

#[tokio::test(start_paused = true)]
async fn a_contents_with_no_entry_is_asked_again_with_another_seed() {
    let settings = WriterSettings {
        sampling: longwriter::backend::Sampling {
            seed: Some(7),
            ..Default::default()
        },
        ..WriterSettings::default()
    };
    let job = Job::new(STORY, None, settings).expect("a job");
    let backend = ScriptedBackend::base(vec![
        Reply::text("0 INTRODUCTION\n\n0.1 THE LEO-CENTRAL"),
        Reply::text(" The keeper (600 words)\n"),
        Reply::text(prose(&tag("Keeper", 0), 600)),
    ]);
    let (document, _) = run(&backend, &job).await;
    assert!(!document.plan.fallback);
    assert_eq!(document.plan.sections[0].title, "The keeper");
    let seeds: Vec<Option<u64>> = backend
        .completions()
        .iter()
        .map(|r| r.sampling.seed)
        .collect();
    assert_eq!(seeds, [Some(7), Some(8), Some(7)]);
}

#[tokio::test(start_paused = true)]
async fn the_mode_setting_overrides_what_the_backend_says() {
    let plan = "Paragraph 1 - Title: Fires - Main Point: The fires. - Word Count: 600 words";
    let chat = ScriptedBackend::base(vec![
        Reply::text(plan),
        Reply::text(prose(&tag("Fire", 0), 600)),
    ]);
    run(&chat, &job(Some(PromptMode::Chat))).await;
    assert!(chat.completions().is_empty() && chat.requests().len() == 2);

    let completion = ScriptedBackend::new(vec![
        Reply::text(" Fires (600 words)\n"),
        Reply::text(prose(&tag("Fire", 0), 600)),
    ]);
    run(&completion, &job(Some(PromptMode::Completion))).await;
    assert!(completion.requests().is_empty() && completion.completions().len() == 2);
}

#[tokio::test(start_paused = true)]
async fn a_section_resumed_mid_way_continues_its_saved_text() {
    let plan = Plan {
        sections: ["Fires", "Dawn"]
            .iter()
            .map(|t| Section {
                title: t.to_string(),
                main_point: format!("{t}."),
                target_words: 300,
                state: SectionState::Planned,
            })
            .collect(),
        fallback: false,
        chapters: Vec::new(),
    };
    let job = job(None);
    let mut document = Document::new(job.instruction.clone(), 600, job.language, plan);
    let saved = prose(&tag("Fire", 0), 150);
    document.drafts[0] = SectionDraft {
        turns: vec![
            ChatMessage::user("a step"),
            ChatMessage::assistant(saved.clone()),
        ],
    };
    document.plan.sections[0].state = SectionState::Writing;
    let backend = ScriptedBackend::base(vec![
        Reply::text(prose(&tag("More", 0), 150)),
        Reply::text(prose(&tag("Dawn", 0), 300)),
    ]);
    let (tx, _rx) = unbounded_channel();
    let writer = Writer::new(
        Arc::new(backend.clone()),
        Arc::new(Prompts::builtin()),
        tx,
        CancellationToken::new(),
    );
    writer.write(&job, document).await.result.expect("written");
    let sent = backend.completions();
    assert!(
        sent[0].prompt.ends_with(&format!("## 1. Fires\n\n{saved}")),
        "{}",
        sent[0].prompt
    );
    assert_no_step_wording(&sent[0].prompt);
}

/// What `write STORY --mode completion <extra> --json` did against a scripted server that
/// serves `/v1/completions` (and `/props`, as llama.cpp's does, given `props_n_ctx`): the
/// request bodies, the event lines and the document.
struct CompletionRun {
    requests: Vec<Value>,
    stdout: String,
    doc: String,
}

async fn write_completion(
    replies: Vec<Reply>,
    props_n_ctx: Option<usize>,
    extra: &[&str],
) -> CompletionRun {
    let options = Options {
        completions: true,
        props_n_ctx,
        ..Options::default()
    };
    let server = ScriptedServer::start_with(replies, options).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.md");
    let mut args = vec![
        "write",
        STORY,
        "--base-url",
        &server.url,
        "--mode",
        "completion",
    ];
    args.extend(extra);
    args.extend(["-o", out.to_str().unwrap(), "--json"]);
    let output = run_cli(strings(&args), dir.path()).await;
    crate::support::assert_success(&output);
    CompletionRun {
        requests: server.requests(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        doc: std::fs::read_to_string(&out).unwrap(),
    }
}

/// A two-section contents reply and the sections' texts.
fn two_sections() -> Vec<Reply> {
    vec![
        Reply::text(" Fires on the headlands (300 words)\n2. The keeper's night (300 words)\n"),
        Reply::text(prose(&tag("Fire", 0), 300)),
        Reply::text(prose(&tag("Night", 1), 300)),
    ]
}

#[tokio::test]
async fn mode_completion_sends_documents_to_v1_completions() {
    let texts = [prose(&tag("Fire", 0), 300), prose(&tag("Night", 1), 300)];
    let run = write_completion(two_sections(), None, &[]).await;
    let requests = run.requests;
    assert_eq!(requests.len(), 3);
    for request in &requests {
        let prompt = request["prompt"].as_str().expect("a /v1/completions body");
        assert_no_step_wording(prompt);
        assert!(request.get("messages").is_none());
    }
    assert_eq!(requests[1]["stop"], serde_json::json!(["\n#"]));
    let doc = &run.doc;
    assert!(
        doc.contains(&format!("## The keeper's night\n\n{}", texts[1])),
        "{doc}"
    );
    let kinds: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|e| e["event"].as_str().unwrap_or_default().to_string())
        .collect();
    for kind in [
        "started",
        "planning",
        "plan_ready",
        "section_started",
        "delta",
        "section_done",
        "done",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} event in {kinds:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_short_section_is_continued_while_each_continuation_adds_words() {
    let parts: Vec<String> = (0..4).map(|i| prose(&tag("Fire", i), 50)).collect();
    let mut replies = vec![Reply::text(
        " Fires on the headlands (300 words)\n2. Dawn (300 words)\n",
    )];
    replies.extend(parts.iter().cloned().map(Reply::text));
    // Section 2: one short paragraph, then a continuation that adds almost nothing.
    replies.push(Reply::text(prose(&tag("Dawn", 0), 60)));
    replies.push(Reply::text("And so."));
    let backend = ScriptedBackend::base(replies);
    let (document, _) = run(&backend, &job(None)).await;
    // Four 50-word pieces reach 200 words, past 60% of 300: no fifth request for section 1.
    assert_eq!(document.drafts[0].text(), parts.join("\n\n"));
    // Section 2 stopped after a continuation that added fewer than 20 words.
    assert_eq!(backend.completions().len(), 1 + 4 + 2);
    assert!(document.drafts[1].text().ends_with("And so."));
}

#[tokio::test(start_paused = true)]
async fn a_heading_the_model_starts_is_not_kept_in_the_section() {
    let first = prose(&tag("Fire", 0), 100);
    let rest = prose(&tag("Fire", 1), 40);
    let backend = ScriptedBackend::base(vec![
        Reply::text(" Fires on the headlands (300 words)\n2. Dawn (300 words)\n"),
        Reply::text(first.clone()),
        // The continuation opens with the model's own next heading: nothing of it is kept.
        Reply::text(format!("## 2. Dawn (300 words)\n\n{rest}")),
        Reply::text(prose(&tag("Dawn", 0), 300)),
    ]);
    let (document, _) = run(&backend, &job(None)).await;
    assert_eq!(document.drafts[0].text().trim(), first.trim());
    assert!(!document.drafts[0].text().contains("## "));
    assert_eq!(document.drafts[1].words(), 300);
}

#[tokio::test(start_paused = true)]
async fn a_contents_list_stopped_after_one_entry_is_continued_to_the_suggested_count() {
    // 1,800 words suggest three sections; the model stops after the first entry.
    let settings = WriterSettings::default();
    let job = Job::new(
        "Write a 1,800-word story about a lighthouse keeper",
        None,
        settings,
    )
    .expect("a valid job");
    let backend = ScriptedBackend::base(vec![
        Reply::text(" Fires on the headlands\n\n## 1. Fires"),
        Reply::text(" The keeper's night\n3. Dawn"),
        Reply::text(" Dawn (600 words)\n"),
        Reply::text(prose(&tag("Fire", 0), 600)),
        Reply::text(prose(&tag("Night", 1), 600)),
        Reply::text(prose(&tag("Dawn", 2), 600)),
    ]);
    let (document, _) = run(&backend, &job).await;
    let titles: Vec<&str> = document
        .plan
        .sections
        .iter()
        .map(|s| s.title.as_str())
        .collect();
    assert_eq!(
        titles,
        ["Fires on the headlands", "The keeper's night", "Dawn"]
    );
    let sent = prompts_sent(&backend);
    // Each top-up continues the list so far from the next number.
    assert!(
        sent[1].ends_with("## Contents\n\n1. Fires on the headlands\n2."),
        "{}",
        sent[1]
    );
    assert!(
        sent[2].ends_with("1. Fires on the headlands\n2. The keeper's night\n3."),
        "{}",
        sent[2]
    );
    assert!(sent[3].contains("## Contents\n\n1. Fires on the headlands\n2. The keeper's night\n"));
    assert_eq!(sent.len(), 6, "three contents requests, three sections");
}

#[tokio::test(start_paused = true)]
async fn a_long_text_plans_its_chapters_and_each_chapters_sections_by_contents() {
    // 6,000 words in chapters: two of 3,000, each listed by the model with three sections
    // (five suggested: the one top-up repeats a title, which ends the list).
    let settings = WriterSettings {
        chapters: ChapterMode::Always,
        // Large enough that no summary is needed for the window: these are the chapters'.
        context: Some(1_000_000),
        ..WriterSettings::default()
    };
    let job = Job::new("Write a 6,000-word history of Rome", None, settings).expect("a job");
    let sections = |names: [&str; 3]| {
        Reply::text(format!(
            " {} (1000 words)\n2. {} (1000 words)\n3. {} (1000 words)\n",
            names[0], names[1], names[2]
        ))
    };
    let mut replies = vec![
        Reply::text(" The Kingdom (3000 words)\n2. The Republic (3000 words)\n"),
        // Chapter 1's contents first copy the chapters' list: no entry is left, and the
        // contents are asked again.
        Reply::text(" The Kingdom (3000 words)\n2. The Republic (3000 words)\n"),
        sections(["Founding", "Kings", "Exile"]),
        Reply::text(" Founding"),
    ];
    replies.extend(["Founding", "Kings", "Exile"].map(|s| Reply::text(prose(s, 1000))));
    // Chapter 2's contents mix copies of a chapter and of chapter 1's sections with new ones.
    replies.push(Reply::text(
        " The Kingdom\n2. Consuls (1000 words)\n3. Founding\n4. Wars (1000 words)\n5. Crisis (1000 words)\n",
    ));
    replies.push(Reply::text(" Wars"));
    replies.extend(["Consuls", "Wars", "Crisis"].map(|s| Reply::text(prose(s, 1000))));
    let backend = ScriptedBackend::base(replies);
    let (document, _) = run(&backend, &job).await;
    assert_eq!(backend.remaining(), 0);
    let chapters: Vec<&str> = document
        .plan
        .chapters
        .iter()
        .map(|c| c.title.as_str())
        .collect();
    assert_eq!(chapters, ["The Kingdom", "The Republic"]);
    let titles: Vec<&str> = document
        .plan
        .sections
        .iter()
        .map(|s| s.title.as_str())
        .collect();
    assert_eq!(
        titles,
        ["Founding", "Kings", "Exile", "Consuls", "Wars", "Crisis"]
    );
    // No chat request at all: every plan is a page to continue, and a summary is the
    // section's opening and closing (a base model answers a summary request with the request).
    assert!(backend.requests().is_empty());
    let sent = prompts_sent(&backend);
    assert!(
        sent[0].contains("6000 words in 2 chapters.\n\n## Contents\n\n1."),
        "{}",
        sent[0]
    );
    assert!(
        sent[1].ends_with("## Chapter 1. The Kingdom\n\n3000 words in 5 sections.\n\n### Contents of chapter 1\n\n1."),
        "{}",
        sent[1]
    );
    assert_eq!(sent[2], sent[1], "asked again, with another seed");
    // The top-up of chapter 2 continues the fresh entries, numbered again.
    assert!(
        sent.iter()
            .any(|p| p.ends_with("### Contents of chapter 2\n\n1. Consuls (1000 words)\n2. Wars (1000 words)\n3. Crisis (1000 words)\n4.")),
        "{sent:?}"
    );
    // Chapter 2 is planned seeing what chapter 1 said.
    let second = sent
        .iter()
        .find(|p| p.contains("### Contents of chapter 2"))
        .expect("chapter 2 planned");
    let kings = document.drafts[1].text();
    let opening: Vec<&str> = kings.split_whitespace().take(5).collect();
    assert!(
        second.contains(&format!("- Kings: {}", opening.join(" "))),
        "{second}"
    );
    for prompt in &sent {
        assert_no_step_wording(prompt);
    }
    assert!(document.drafts.iter().all(|d| d.words() == 1000));
}

#[tokio::test]
async fn sections_get_a_repetition_penalty_and_llama_cpp_is_told_not_to_start_a_heading() {
    let bias = serde_json::json!([
        ["#", false],
        ["##", false],
        ["###", false],
        ["####", false],
        ["\\", false],
        ["\\\"", false]
    ]);
    let llama = write_completion(two_sections(), Some(8192), &[])
        .await
        .requests;
    assert_eq!(llama.len(), 3);
    // The contents list may end at a heading; a section may not.
    assert!(llama[0].get("logit_bias").is_none(), "{}", llama[0]);
    assert!(llama[0].get("repeat_penalty").is_none(), "{}", llama[0]);
    for section in &llama[1..] {
        assert_eq!(section["logit_bias"], bias);
        assert_eq!(section["repeat_penalty"], serde_json::json!(1.15f32));
        assert_eq!(section["repeat_last_n"], 256);
    }
    // A server without /props may read `logit_bias` as token ids only: it is not sent.
    let other = write_completion(two_sections(), None, &[]).await.requests;
    assert!(other[1].get("logit_bias").is_none(), "{}", other[1]);
    assert_eq!(other[1]["repetition_penalty"], serde_json::json!(1.15f32));
}

#[tokio::test]
async fn a_repetition_penalty_the_user_chose_is_kept_in_completion_mode() {
    let replies = vec![
        Reply::text(" Fires (600 words)\n"),
        Reply::text(prose(&tag("Fire", 0), 600)),
    ];
    let flags = ["--repetition-penalty", "1.05", "--repeat-last-n", "32"];
    let requests = write_completion(replies, None, &flags).await.requests;
    let section = &requests[1];
    assert_eq!(section["repetition_penalty"], serde_json::json!(1.05f32));
    assert_eq!(section["repeat_last_n"], 32);
}
