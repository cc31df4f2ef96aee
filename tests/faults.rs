//! The fault suite: every way a server fails, each on the wire-level scripted backend
//! (`support::wire`: the real SSE decoder, timeouts and status parsing, no socket) under
//! tokio's paused clock, through the real writer and, where it matters, the fallback chain.
//! Each case ends with exactly the expected text (compared word for word: nothing lost,
//! nothing duplicated) or pauses with a clear message and every received word kept. The
//! matrix (case, expected, result) is printed; run with `--nocapture` to see it. Recorded
//! transcripts of vLLM, llama.cpp's server and OpenAI are replayed byte for byte.

use crate::support::prose::{agentwrite_plan, prose, tag};
use crate::support::wire::{events, limits, reply, sse, Piece, Wire, WireBackend};
use futures::future::BoxFuture;
use futures::StreamExt;
use longwriter::backend::fallback::{FallbackBackend, Link};
use longwriter::backend::openai::decode_body;
use longwriter::backend::{Backend, FinishReason, RetryPolicy, StreamChunk};
use longwriter::prompt::Prompts;
use longwriter::writer::{
    Document, Job, JobEvent, TargetWords, Writer, WriterError, WriterSettings,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::unbounded_channel;
use tokio_util::sync::CancellationToken;

/// Words per section (plans merge sections under 50 words).
const EACH: usize = 60;

/// What a job left behind.
struct Ran {
    document: Option<Document>,
    result: Result<(), WriterError>,
    events: Vec<JobEvent>,
}

impl Ran {
    fn section(&self, i: usize) -> String {
        self.document
            .as_ref()
            .map_or_else(String::new, |d| d.drafts[i].text())
    }

    fn retries(&self) -> Vec<(u64, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                JobEvent::Retrying {
                    delay_ms, error, ..
                } => Some((*delay_ms, error.clone())),
                _ => None,
            })
            .collect()
    }

    fn written_by(&self, i: usize) -> Vec<String> {
        self.events
            .iter()
            .find_map(|e| match e {
                JobEvent::WrittenBy { index, backends } if *index == i => Some(backends.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    fn failed(&self) -> Option<String> {
        self.events.iter().find_map(|e| match e {
            JobEvent::Failed { error } => Some(error.clone()),
            _ => None,
        })
    }
}

/// Plans `sections` sections of `EACH` words and writes them on `backend`.
async fn run(backend: Arc<dyn Backend>, sections: usize) -> Ran {
    let (tx, mut rx) = unbounded_channel();
    let writer = Writer::new(
        backend,
        Arc::new(Prompts::builtin()),
        tx,
        CancellationToken::new(),
    );
    let settings = WriterSettings {
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay_ms: 10,
            max_delay_ms: 1_000,
            jitter_seed: None,
        },
        ..WriterSettings::default()
    };
    let words = TargetWords::try_from(sections * EACH).expect("a length in range");
    let job = Job::new("Write about a lighthouse", Some(words), settings).expect("a job");
    let (document, result) = match writer.plan(&job).await {
        Ok(plan) => {
            let doc = Document::new(
                job.instruction.clone(),
                job.target_words,
                job.language,
                plan,
            );
            let outcome = writer.write(&job, doc).await;
            (Some(outcome.document), outcome.result)
        }
        Err(e) => (None, Err(e)),
    };
    drop(writer);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    Ran {
        document,
        result,
        events,
    }
}

/// The text of section `i`.
fn text(i: usize) -> String {
    prose(&tag("Sec", i), EACH)
}

/// Section `i` cut after 24 words: the part sent before the fault (with its trailing space, as
/// word deltas carry it) and the rest.
fn halves(i: usize) -> (String, String) {
    let words: Vec<String> = text(i).split(' ').map(str::to_string).collect();
    (format!("{} ", words[..24].join(" ")), words[24..].join(" "))
}

fn plan(sections: usize) -> Wire {
    reply(&agentwrite_plan(sections, EACH))
}

/// Compares word for word.
fn same_words(what: &str, got: &str, want: &str) -> Result<(), String> {
    let (g, w): (Vec<&str>, Vec<&str>) = (
        got.split_whitespace().collect(),
        want.split_whitespace().collect(),
    );
    if g == w {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {} words {got:?}, want {} words {want:?}",
            g.len(),
            w.len()
        ))
    }
}

fn ok(ran: &Ran) -> Result<(), String> {
    ran.result
        .as_ref()
        .map_err(|e| format!("the job failed: {e}"))
        .map(|_| ())
}

/// One section whose answer is `faulty`, then whatever `after` replies: the text must be
/// exactly section 0's.
async fn one_section(faulty: Wire, after: Vec<Wire>) -> Result<Ran, String> {
    let mut script = vec![plan(1), faulty];
    script.extend(after);
    let ran = run(Arc::new(WireBackend::new("a", script)), 1).await;
    ok(&ran)?;
    same_words("section 1", &ran.section(0), &text(0))?;
    Ok(ran)
}

/// A break after the first half of section 0, then the second half as the continuation.
async fn broken_mid_stream(tail: Vec<Piece>) -> Result<Ran, String> {
    let (first, rest) = halves(0);
    let mut pieces = vec![Piece::Bytes(events(&first, None))];
    pieces.extend(tail);
    one_section(Wire::Body(pieces), vec![reply(&rest)]).await
}

fn status(code: u16, headers: Vec<(&'static str, String)>, body: &str) -> Wire {
    Wire::Status(code, headers, body.to_string())
}

fn has_retry(ran: &Ran, needle: &str) -> Result<(), String> {
    let retries = ran.retries();
    if retries.iter().any(|(_, e)| e.contains(needle)) {
        Ok(())
    } else {
        Err(format!("no retry mentions {needle:?}: {retries:?}"))
    }
}

/// A link of a fallback chain over `backend`.
fn link(name: &str, backend: &WireBackend) -> Link {
    let backend = backend.clone();
    Link {
        name: name.into(),
        connect: Arc::new(move || {
            let b: Arc<dyn Backend> = Arc::new(backend.clone());
            Box::pin(async move { Ok(b) })
        }),
    }
}

fn chain(a: &WireBackend, b: &WireBackend) -> Arc<dyn Backend> {
    Arc::new(FallbackBackend::new(vec![link("a", a), link("b", b)]).expect("a chain"))
}

type Case = (
    &'static str,
    &'static str,
    BoxFuture<'static, Result<(), String>>,
);

fn case(
    name: &'static str,
    expected: &'static str,
    run: impl std::future::Future<Output = Result<(), String>> + Send + 'static,
) -> Case {
    (name, expected, Box::pin(run))
}

fn cases() -> Vec<Case> {
    let openai_400 = r#"{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error","param":"temperature","code":null}}"#;
    let quota = r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
    vec![
        case(
            "connection refused",
            "retried, then the whole text",
            async {
                let ran = one_section(Wire::Refused, vec![reply(&text(0))]).await?;
                has_retry(&ran, "refused")
            },
        ),
        case(
            "429 with Retry-After: 7",
            "waits 7 s, then the whole text",
            async {
                let ran = one_section(
                    status(429, vec![("retry-after", "7".into())], "{}"),
                    vec![reply(&text(0))],
                )
                .await?;
                match ran.retries().first() {
                    Some((7_000, _)) => Ok(()),
                    other => Err(format!("waited {other:?}")),
                }
            },
        ),
        case(
            "429 with retry-after-ms: 1500",
            "waits 2 s (rounded up), then the whole text",
            async {
                let ran = one_section(
                    status(429, vec![("retry-after-ms", "1500".into())], "{}"),
                    vec![reply(&text(0))],
                )
                .await?;
                match ran.retries().first() {
                    Some((2_000, _)) => Ok(()),
                    other => Err(format!("waited {other:?}")),
                }
            },
        ),
        case(
            "500, 502, 503",
            "each retried, then the whole text",
            async {
                let ran = one_section(
                    status(500, vec![], "oops"),
                    vec![
                        status(502, vec![], "<html>bad gateway</html>"),
                        status(503, vec![], "{}"),
                        reply(&text(0)),
                    ],
                )
                .await?;
                if ran.retries().len() == 3 {
                    Ok(())
                } else {
                    Err(format!("{:?}", ran.retries()))
                }
            },
        ),
        case(
            "400 with an OpenAI error body",
            "pauses at once: permanent, server's message shown",
            async move {
                let ran = run(
                    Arc::new(WireBackend::new(
                        "a",
                        vec![plan(1), status(400, vec![], openai_400)],
                    )),
                    1,
                )
                .await;
                permanent(&ran, "Invalid value for 'temperature'")
            },
        ),
        case(
            "429 insufficient_quota",
            "pauses at once: permanent, quota named",
            async move {
                let ran = run(
                    Arc::new(WireBackend::new(
                        "a",
                        vec![plan(1), status(429, vec![], quota)],
                    )),
                    1,
                )
                .await;
                permanent(&ran, "quota")
            },
        ),
        case(
            "stall before the first byte",
            "first-byte timeout, retried, the whole text",
            async {
                let stall = Wire::Body(vec![
                    Piece::Wait(Duration::from_secs(301)),
                    Piece::Bytes(events(&text(0), Some("stop"))),
                ]);
                let ran = one_section(stall, vec![reply(&text(0))]).await?;
                has_retry(&ran, "first-byte timeout")
            },
        ),
        case(
            "stall mid-stream",
            "idle timeout, continued from the text received",
            async {
                let ran = broken_mid_stream(vec![Piece::Stall]).await?;
                has_retry(&ran, "idle timeout")
            },
        ),
        case(
            "clean close without [DONE]",
            "continued from the text received",
            async { broken_mid_stream(vec![]).await.map(|_| ()) },
        ),
        case(
            "TCP reset mid-stream",
            "continued from the text received",
            async {
                let ran = broken_mid_stream(vec![Piece::Reset]).await?;
                has_retry(&ran, "reset")
            },
        ),
        case("every byte delivered separately", "the whole text", async {
            let bytes = events(&text(0), Some("stop"));
            let pieces = bytes.iter().map(|b| Piece::Bytes(vec![*b])).collect();
            one_section(Wire::Body(pieces), vec![]).await.map(|_| ())
        }),
        case(
            "a UTF-8 character split across reads",
            "the exact text",
            async {
                let t = format!("{} Café au phare, 日本語.", text(0));
                let bytes = events(&t, Some("stop"));
                let cut = bytes
                    .windows(2)
                    .position(|w| w == "é".as_bytes())
                    .expect("é")
                    + 1;
                let pieces = vec![
                    Piece::Bytes(bytes[..cut].to_vec()),
                    Piece::Bytes(bytes[cut..].to_vec()),
                ];
                let ran = run(
                    Arc::new(WireBackend::new("a", vec![plan(1), Wire::Body(pieces)])),
                    1,
                )
                .await;
                ok(&ran)?;
                if ran.section(0) == t {
                    Ok(())
                } else {
                    Err(format!("{:?}", ran.section(0)))
                }
            },
        ),
        case(
            "data: {\"error\":…} mid-stream",
            "continued from the text received",
            async {
                let e = sse(json!({"error": {"message": "CUDA out of memory", "code": 500}}));
                let ran = broken_mid_stream(vec![Piece::Bytes(e)]).await?;
                has_retry(&ran, "CUDA out of memory")
            },
        ),
        case(
            "llama.cpp's bare error: line",
            "continued from the text received",
            async {
                let e = b"error: {\"code\":500,\"message\":\"slot unavailable\",\"type\":\"server_error\"}\n\n".to_vec();
                let ran = broken_mid_stream(vec![Piece::Bytes(e)]).await?;
                has_retry(&ran, "slot unavailable")
            },
        ),
        case(
            "a garbage line",
            "continued from the text received",
            async {
                let ran =
                    broken_mid_stream(vec![Piece::Bytes(b"data: <html>502</html>\n\n".to_vec())])
                        .await?;
                has_retry(&ran, "malformed")
            },
        ),
        case(
            "an endless line",
            "bounded buffer, error, continued",
            async {
                let mut line = b"data: ".to_vec();
                line.extend(vec![b'x'; 5_000]);
                let ran = broken_mid_stream(vec![Piece::Bytes(line), Piece::Stall]).await?;
                has_retry(&ran, "without ending")
            },
        ),
        case(
            "an unknown finish_reason",
            "the whole text, no continuation",
            async {
                let body = Wire::Body(vec![Piece::Bytes(events(&text(0), Some("weird_reason")))]);
                let ran = one_section(body, vec![]).await?;
                let continued = ran
                    .events
                    .iter()
                    .any(|e| matches!(e, JobEvent::Continuing { .. }));
                if continued {
                    Err("continued".into())
                } else {
                    Ok(())
                }
            },
        ),
        case(
            "server away between sections",
            "retried until back, both sections whole",
            async {
                let a = WireBackend::new(
                    "a",
                    vec![
                        plan(2),
                        reply(&text(0)),
                        Wire::Refused,
                        Wire::Refused,
                        reply(&text(1)),
                    ],
                );
                let ran = run(Arc::new(a), 2).await;
                ok(&ran)?;
                same_words("section 1", &ran.section(0), &text(0))?;
                same_words("section 2", &ran.section(1), &text(1))
            },
        ),
        case(
            "first server down before the job",
            "the next profile writes it all",
            async {
                let a = WireBackend::new("a", vec![]);
                let b = WireBackend::new("b", vec![plan(1), reply(&text(0))]);
                let ran = run(chain(&a, &b), 1).await;
                ok(&ran)?;
                same_words("section 1", &ran.section(0), &text(0))?;
                expect_by(&ran, 0, &["profile b"])
            },
        ),
        case(
            "server away between sections, with fallback",
            "the next profile writes section 2",
            async {
                let a = WireBackend::new("a", vec![plan(2), reply(&text(0))]);
                let b = WireBackend::new("b", vec![reply(&text(1))]);
                let ran = run(chain(&a, &b), 2).await;
                ok(&ran)?;
                same_words("section 1", &ran.section(0), &text(0))?;
                same_words("section 2", &ran.section(1), &text(1))?;
                expect_by(&ran, 0, &["profile a"])?;
                expect_by(&ran, 1, &["profile b"])
            },
        ),
        case(
            "reset mid-stream, server gone, with fallback",
            "the next profile continues the section",
            async {
                let (first, rest) = halves(0);
                let a = WireBackend::new(
                    "a",
                    vec![
                        plan(1),
                        Wire::Body(vec![Piece::Bytes(events(&first, None)), Piece::Reset]),
                    ],
                );
                let b = WireBackend::new("b", vec![reply(&rest)]);
                let ran = run(chain(&a, &b), 1).await;
                ok(&ran)?;
                same_words("section 1", &ran.section(0), &text(0))?;
                expect_by(&ran, 0, &["profile a", "profile b"])
            },
        ),
        case(
            "the fallback target away too",
            "pauses, names both, received words kept",
            async {
                let (first, _) = halves(0);
                let a = WireBackend::new(
                    "a",
                    vec![
                        plan(1),
                        Wire::Body(vec![Piece::Bytes(events(&first, None)), Piece::Reset]),
                    ],
                );
                let b = WireBackend::new("b", vec![]);
                let ran = run(chain(&a, &b), 1).await;
                if ran.result.is_ok() {
                    return Err("the job finished".into());
                }
                let failed = ran.failed().unwrap_or_default();
                if !(failed.contains("a: ") && failed.contains("b: ")) {
                    return Err(format!("the message does not name both: {failed}"));
                }
                same_words("kept", &ran.section(0), &first)
            },
        ),
    ]
}

fn permanent(ran: &Ran, needle: &str) -> Result<(), String> {
    if ran.result.is_ok() || !ran.retries().is_empty() {
        return Err(format!(
            "not permanent: {:?} {:?}",
            ran.result,
            ran.retries()
        ));
    }
    let failed = ran.failed().unwrap_or_default();
    if failed.contains("permanent") && failed.contains(needle) {
        Ok(())
    } else {
        Err(format!("message: {failed}"))
    }
}

fn expect_by(ran: &Ran, i: usize, names: &[&str]) -> Result<(), String> {
    let by = ran.written_by(i);
    let matches = by.len() == names.len() && by.iter().zip(names).all(|(b, n)| b.starts_with(n));
    if matches {
        Ok(())
    } else {
        Err(format!(
            "section {} written by {by:?}, want {names:?}",
            i + 1
        ))
    }
}

#[tokio::test(start_paused = true)]
async fn fault_matrix() {
    let mut rows = Vec::new();
    for (case, expected, run) in cases() {
        rows.push((case, expected, run.await));
    }
    let mut table = String::from("| case | expected | result |\n|---|---|---|\n");
    for (case, expected, result) in &rows {
        let shown = match result {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("FAILED: {e}"),
        };
        table.push_str(&format!("| {case} | {expected} | {shown} |\n"));
    }
    println!("{table}");
    let failed: Vec<&str> = rows.iter().filter(|r| r.2.is_err()).map(|r| r.0).collect();
    assert!(failed.is_empty(), "failed cases: {failed:?}\n{table}");
}

/// A transcript, its text and finish, read in pieces of `size` bytes.
async fn replay(file: &str, size: usize) -> (String, Option<FinishReason>) {
    let path = format!(
        "{}/tests/data/transcripts/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).expect("the transcript");
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(size).map(|c| Ok(c.to_vec())).collect();
    let mut stream = decode_body(futures::stream::iter(pieces), limits());
    let (mut text, mut finish) = (String::new(), None);
    while let Some(item) = stream.next().await {
        match item.expect("no error") {
            StreamChunk::Delta(d) => text.push_str(&d),
            StreamChunk::Done { finish_reason, .. } => finish = Some(finish_reason),
        }
    }
    (text, finish)
}

#[tokio::test(start_paused = true)]
async fn recorded_transcripts_replay_exactly() {
    for (file, want, finish) in [
        (
            "vllm.sse",
            "The lighthouse keeper climbed the stairs.",
            FinishReason::Stop,
        ),
        (
            "llama-cpp.sse",
            "The lighthouse keeper climbed the stairs.",
            FinishReason::Stop,
        ),
        (
            "openai.sse",
            "The lighthouse keeper climbed the stairs.",
            FinishReason::Length,
        ),
    ] {
        for size in [1, 7, 64, 1 << 16] {
            let (text, got) = replay(file, size).await;
            assert_eq!(text, want, "{file} in pieces of {size}");
            assert_eq!(got, Some(finish.clone()), "{file} in pieces of {size}");
        }
    }
}
