//! The writer without the binary: a `Writer` built over the in-process scripted backend, on
//! tokio's paused clock, so retries and `Retry-After` waits take no wall-clock time. Length
//! control, retries, continuation and the seam filter are tested here; `cli_write` keeps the
//! command line's wiring (flags, output file, exit codes, signals).

use crate::support::backend::ScriptedBackend;
use crate::support::prose::{agentwrite_plan, prose, tag};
use crate::support::scripted::Reply;
use longwriter::backend::{RetryPolicy, Role};
use longwriter::prompt::Prompts;
use longwriter::text::count_words;
use longwriter::writer::{
    Document, Job, JobEvent, TargetWords, Writer, WriterError, WriterSettings,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio_util::sync::CancellationToken;

/// What a job left behind.
struct Ran {
    document: Option<Document>,
    result: Result<(), WriterError>,
    events: Vec<JobEvent>,
    backend: ScriptedBackend,
}

impl Ran {
    fn text(&self, section: usize) -> String {
        let doc = self.document.as_ref().expect("a document");
        doc.drafts[section].text()
    }

    fn section_done(&self) -> Vec<(usize, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                JobEvent::SectionDone { index, text, .. } => Some((*index, text.clone())),
                _ => None,
            })
            .collect()
    }
}

fn settings() -> WriterSettings {
    WriterSettings {
        retry: RetryPolicy {
            max_attempts: 5,
            base_delay_ms: 10,
            max_delay_ms: 30_000,
            jitter_seed: None,
        },
        ..WriterSettings::default()
    }
}

fn job(instruction: &str, words: Option<usize>, settings: WriterSettings) -> Job {
    let words = words.map(|n| TargetWords::try_from(n).expect("a test length in range"));
    Job::new(instruction, words, settings).expect("a valid job")
}

fn writer(backend: &ScriptedBackend, cancel: CancellationToken) -> (Writer, Receiver) {
    let (tx, rx) = unbounded_channel();
    let prompts = Arc::new(Prompts::builtin());
    let writer = Writer::new(Arc::new(backend.clone()), prompts, tx, cancel);
    (writer, rx)
}

type Receiver = UnboundedReceiver<JobEvent>;

/// Plans, then writes every section, as `write` does.
async fn plan_and_write(writer: &Writer, job: &Job) -> (Option<Document>, Result<(), WriterError>) {
    let plan = match writer.plan(job).await {
        Ok(plan) => plan,
        Err(e) => return (None, Err(e)),
    };
    let document = Document::new(
        job.instruction.clone(),
        job.target_words,
        job.language,
        plan,
    );
    let outcome = writer.write(job, document).await;
    (Some(outcome.document), outcome.result)
}

async fn run_with(instruction: &str, words: Option<usize>, replies: Vec<Reply>) -> Ran {
    let backend = ScriptedBackend::new(replies);
    let (writer, mut rx) = writer(&backend, CancellationToken::new());
    let (document, result) = plan_and_write(&writer, &job(instruction, words, settings())).await;
    drop(writer);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    Ran {
        document,
        result,
        events,
        backend,
    }
}

#[tokio::test(start_paused = true)]
async fn plan_then_five_sections_in_order_with_ledger() {
    let texts: Vec<String> = (1..=5).map(|i| prose(&tag("Sec", i), 100)).collect();
    let mut replies = vec![Reply::text(agentwrite_plan(5, 100))];
    replies.extend(texts.iter().map(|t| Reply::text(t.clone())));
    let ran = run_with("Write a 500-word story about a lighthouse", None, replies).await;
    assert!(ran.result.is_ok(), "{:?}", ran.result);
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(&ran.text(i), text, "section {} verbatim", i + 1);
    }
    let done: Vec<usize> = ran.section_done().iter().map(|(i, _)| *i).collect();
    assert_eq!(done, vec![0, 1, 2, 3, 4], "strictly in order");
    let Some(JobEvent::Done { ledger }) = ran.events.last() else {
        panic!("the last event is done: {:?}", ran.events.last());
    };
    assert_eq!(ledger.planned, 500);
    let written: usize = texts.iter().map(|t| count_words(t)).sum();
    assert_eq!(ledger.written, written);
    assert!(ledger
        .sections
        .iter()
        .all(|l| l.planned == 100 && l.written == 100));
    let deltas = ran
        .events
        .iter()
        .filter(|e| matches!(e, JobEvent::Delta { .. }))
        .count();
    assert!(deltas >= 5 * 5, "tokens stream as deltas, got {deltas}");
    assert_eq!(ran.backend.remaining(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_section_cut_by_length_is_continued_without_a_duplicated_seam() {
    let first = prose("Alpha", 40);
    let second_a = prose("Beta", 40);
    // The model echoes the last four words of the partial text before going on.
    let words: Vec<&str> = second_a.split(' ').collect();
    let echo_tail = words[words.len() - 4..].join(" ");
    let second_b_new = prose("Gamma", 40);
    let replies = vec![
        Reply::text(agentwrite_plan(2, 60)),
        Reply::text(first.clone()),
        Reply::length(second_a.clone()),
        Reply::text(format!("{echo_tail} {second_b_new}")),
    ];
    let ran = run_with("A story", Some(120), replies).await;
    assert!(ran.result.is_ok(), "{:?}", ran.result);
    assert_eq!(ran.text(1), format!("{second_a}\n\n{second_b_new}"));
    let requests = ran.backend.requests();
    assert_eq!(requests.len(), 4);
    let continuation = &requests[3].messages;
    let n = continuation.len();
    assert_eq!(continuation[n - 2].role, Role::Assistant);
    assert_eq!(continuation[n - 2].content, second_a);
    assert_eq!(continuation[n - 1].role, Role::User);
    assert!(continuation[n - 1].content.contains("Continue"));
}

#[tokio::test(start_paused = true)]
async fn each_request_extends_the_previous_one_over_ten_sections() {
    let texts: Vec<String> = (1..=10).map(|i| prose(&tag("S", i), 60)).collect();
    let mut replies = vec![Reply::text(agentwrite_plan(10, 60))];
    replies.extend(texts.iter().map(|t| Reply::text(t.clone())));
    let ran = run_with("A 600-word chronicle", None, replies).await;
    assert!(ran.result.is_ok(), "{:?}", ran.result);
    let requests = ran.backend.requests();
    assert_eq!(requests.len(), 11, "one plan request and ten sections");
    let sections: Vec<_> = requests[1..].iter().map(|r| &r.messages).collect();
    assert_eq!(sections[0].len(), 1);
    let head = &sections[0][0].content;
    assert!(
        head.contains("A 600-word chronicle") && head.contains("Part 10"),
        "instruction and whole plan first"
    );
    for k in 0..9 {
        let (this, next) = (sections[k], sections[k + 1]);
        assert_eq!(&next[..this.len()], &this[..], "request {k} is a prefix");
        assert_eq!(next[this.len()].role, Role::Assistant);
        assert_eq!(next[this.len()].content, texts[k], "section text verbatim");
        assert_eq!(next.len(), this.len() + 2, "only the text and the step");
        assert_eq!(next[this.len() + 1].role, Role::User);
    }
}

#[tokio::test(start_paused = true)]
async fn an_unusable_plan_is_re_asked_then_replaced_by_a_flagged_fallback() {
    let mut replies = vec![
        Reply::text("I cannot help with that."),
        Reply::text("Sorry, no."),
    ];
    replies.extend((0..20).map(|i| Reply::text(prose(&tag("F", i), 30))));
    let ran = run_with("Essay", Some(120), replies).await;
    assert!(ran.result.is_ok(), "{:?}", ran.result);
    let requests = ran.backend.requests();
    let reask = &requests[1].messages[0].content;
    assert!(
        reask.contains("could not be used"),
        "the re-ask gives the reason: {reask}"
    );
    assert!(ran
        .events
        .iter()
        .any(|e| matches!(e, JobEvent::Warning { message } if message.contains("evenly split"))));
    let doc = ran.document.as_ref().expect("a document");
    assert!(doc.plan.fallback);
    assert_eq!(doc.plan.total_target(), 120);
}

#[tokio::test(start_paused = true)]
async fn a_request_the_server_refuses_ends_the_job_and_keeps_the_text() {
    let first = prose("Kept", 50);
    let replies = vec![
        Reply::text(agentwrite_plan(2, 50)),
        Reply::text(first.clone()),
        // Not a length refusal (that one shrinks the budget and is retried: tests/context.rs).
        Reply::Status {
            code: 400,
            body: "unsupported parameter: logit_bias".into(),
            retry_after: None,
        },
    ];
    let ran = run_with("A story", Some(100), replies).await;
    let err = ran.result.as_ref().expect_err("a 400 is not retried");
    assert!(err.to_string().contains("HTTP 400"), "{err}");
    assert_eq!(ran.text(0), first, "the finished section is kept");
    assert_eq!(ran.backend.requests().len(), 3, "no retry of a 400");
    assert!(ran
        .events
        .iter()
        .any(|e| matches!(e, JobEvent::Failed { error } if error.contains("logit_bias"))));
}

#[tokio::test(start_paused = true)]
async fn retries_honour_retry_after_then_back_off_on_the_paused_clock() {
    let replies = vec![
        Reply::Status {
            code: 429,
            body: "slow down".into(),
            retry_after: Some(1),
        },
        Reply::text(agentwrite_plan(1, 40)),
        Reply::Status {
            code: 503,
            body: "busy".into(),
            retry_after: None,
        },
        Reply::text(prose("Late", 40)),
    ];
    let started = tokio::time::Instant::now();
    let ran = run_with("A note", Some(40), replies).await;
    assert!(ran.result.is_ok(), "{:?}", ran.result);
    let retries: Vec<(u64, &str)> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            JobEvent::Retrying {
                delay_ms, error, ..
            } => Some((*delay_ms, error.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(retries[0].1.contains("429") && retries[1].1.contains("503"));
    assert_eq!(retries[0].0, 1000, "Retry-After is honoured");
    assert_eq!(retries[1].0, 10, "the policy's backoff otherwise");
    // The paused clock moved by the waits (1 s, then 10 ms) and nothing else.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1010) && waited < Duration::from_millis(1100),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_that_stays_down_fails_after_the_last_attempt() {
    let busy = || Reply::Status {
        code: 503,
        body: "busy".into(),
        retry_after: None,
    };
    let backend = ScriptedBackend::new(vec![busy(), busy(), busy(), busy()]);
    let (writer, mut rx) = writer(&backend, CancellationToken::new());
    let mut settings = settings();
    settings.retry.max_attempts = 3;
    let result = writer.plan(&job("A note", Some(40), settings)).await;
    drop(writer);
    assert!(
        matches!(result, Err(WriterError::Backend(ref e)) if e.to_string().contains("503")),
        "{result:?}"
    );
    assert_eq!(backend.requests().len(), 3, "three attempts in all");
    let mut delays = Vec::new();
    while let Some(e) = rx.recv().await {
        if let JobEvent::Retrying { delay_ms, .. } = e {
            delays.push(delay_ms);
        }
    }
    assert_eq!(delays, vec![10, 20], "the backoff doubles");
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_a_retry_wait_ends_it_at_once() {
    let backend = ScriptedBackend::new(vec![Reply::Status {
        code: 429,
        body: "slow down".into(),
        retry_after: Some(100),
    }]);
    let cancel = CancellationToken::new();
    let (writer, mut rx) = writer(&backend, cancel.clone());
    let started = tokio::time::Instant::now();
    let planning = tokio::spawn(async move {
        let job = job("A note", Some(40), settings());
        writer.plan(&job).await
    });
    while let Some(e) = rx.recv().await {
        if matches!(e, JobEvent::Retrying { .. }) {
            cancel.cancel();
        }
    }
    let result = planning.await.expect("join");
    assert!(matches!(result, Err(WriterError::Cancelled)), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(100),
        "the 100 s Retry-After was not waited out"
    );
}

#[tokio::test(start_paused = true)]
async fn a_broken_stream_is_continued_from_the_text_received() {
    let part = prose("Half", 30);
    let rest = prose("Whole", 30);
    let replies = vec![
        Reply::text(agentwrite_plan(1, 60)),
        Reply::Broken { text: part.clone() },
        Reply::text(rest.clone()),
    ];
    let ran = run_with("A note", Some(60), replies).await;
    assert!(ran.result.is_ok(), "{:?}", ran.result);
    assert_eq!(ran.text(0), format!("{part}\n\n{rest}"));
}

#[tokio::test(start_paused = true)]
async fn an_overrun_is_cut_at_the_last_sentence_under_150_percent() {
    let long = prose("Over", 200);
    let replies = vec![
        Reply::text(agentwrite_plan(1, 80)),
        Reply::text(long.clone()),
    ];
    let ran = run_with("A note", Some(80), replies).await;
    assert!(ran.result.is_ok(), "{:?}", ran.result);
    let text = &ran.section_done()[0].1;
    assert_eq!(count_words(text), 120, "the last sentence under 1.5 x 80");
    assert!(
        long.starts_with(text.as_str()) && text.ends_with('.'),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_short_section_is_continued_once_only() {
    let short_a = prose("Tiny", 24);
    let short_b = prose("Small", 16);
    let replies = vec![
        Reply::text(agentwrite_plan(1, 100)),
        Reply::text(short_a.clone()),
        Reply::text(short_b.clone()),
    ];
    let ran = run_with("A note", Some(100), replies).await;
    assert!(ran.result.is_ok(), "{:?}", ran.result);
    let continuing: Vec<usize> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            JobEvent::Continuing { words, .. } => Some(*words),
            _ => None,
        })
        .collect();
    assert_eq!(continuing, vec![24], "continued exactly once");
    assert_eq!(ran.section_done()[0].1, format!("{short_a}\n\n{short_b}"));
    assert_eq!(ran.backend.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_length_stop_past_the_target_ends_at_a_sentence_near_it() {
    let long = prose("Near", 130);
    let replies = vec![
        Reply::text(agentwrite_plan(1, 100)),
        Reply::length(long.clone()),
    ];
    let ran = run_with("A note", Some(100), replies).await;
    assert!(ran.result.is_ok(), "{:?}", ran.result);
    let text = &ran.section_done()[0].1;
    assert_eq!(count_words(text), 104, "the last sentence end within 110%");
    assert!(long.starts_with(text.as_str()) && text.ends_with('.'));
}

#[tokio::test(start_paused = true)]
async fn a_stop_mid_section_keeps_the_text_streamed_so_far() {
    let first = prose("Done", 60);
    let partial = prose("Partial", 20);
    let backend = ScriptedBackend::new(vec![
        Reply::text(agentwrite_plan(2, 60)),
        Reply::text(first.clone()),
        Reply::Stall {
            text: partial.clone(),
        },
    ]);
    let cancel = CancellationToken::new();
    let (writer, mut rx) = writer(&backend, cancel.clone());
    let writing = tokio::spawn(async move {
        let job = job("A story", Some(120), settings());
        plan_and_write(&writer, &job).await
    });
    let mut streamed = String::new();
    while let Some(e) = rx.recv().await {
        if let JobEvent::Delta { index: 1, text } = e {
            streamed.push_str(&text);
            if streamed == partial {
                cancel.cancel();
            }
        }
    }
    let (document, result) = writing.await.expect("join");
    assert!(matches!(result, Err(WriterError::Cancelled)), "{result:?}");
    let document = document.expect("a document");
    assert_eq!(document.drafts[0].text(), first);
    assert_eq!(
        document.drafts[1].text(),
        partial,
        "the half-written section is kept"
    );
}
