//! Hierarchical plans end to end, without the binary: a 25,000-word target planned in chapters
//! first, each chapter's sections when it starts, written in order against the in-process
//! scripted backend on tokio's paused clock; a stop mid-chapter and a resume through the store;
//! the fallback chapters; and a project saved in manifest format 1 opening and finishing.

use crate::support::backend::ScriptedBackend;
use crate::support::prose::{prose, tag};
use crate::support::scripted::Reply;
use longwriter::backend::{GenerationRequest, RetryPolicy};
use longwriter::plan::SectionState;
use longwriter::prompt::Prompts;
use longwriter::store::{
    self, BackendRecord, JobState, NewProject, Project, ProjectLock, RunSpec, Store,
};
use longwriter::writer::{Document, Job, JobEvent, TargetWords, Writer, WriterSettings};
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio_util::sync::CancellationToken;

const CHAPTERS: usize = 5;
const PER_CHAPTER: usize = 5;
const SECTION_WORDS: usize = 1_000;
const TARGET: usize = CHAPTERS * PER_CHAPTER * SECTION_WORDS;

fn job() -> Job {
    let settings = WriterSettings {
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay_ms: 10,
            max_delay_ms: 100,
            jitter_seed: Some(1),
        },
        // Large enough that no summary is needed: this file is about chapters.
        context: Some(1_000_000),
        ..WriterSettings::default()
    };
    let words = TargetWords::try_from(TARGET).ok();
    Job::new("Write the history of one lighthouse", words, settings).expect("a valid job")
}

fn chapter_plan() -> String {
    (1..=CHAPTERS)
        .map(|c| {
            format!("Chapter {c} - Title: Era {c} - Main Point: The lighthouse in era {c}. - Word Count: 5000 words\n")
        })
        .collect()
}

fn sections_plan(chapter: usize) -> String {
    (1..=PER_CHAPTER)
        .map(|s| {
            format!("Paragraph {s} - Title: Era {chapter} scene {s} - Main Point: Scene {s} of era {chapter}. - Word Count: 1000 words\n")
        })
        .collect()
}

/// The text of section `s` (zero-based) of chapter `c`.
fn text(c: usize, s: usize) -> String {
    prose(&format!("{}{}", tag("Ch", c), tag("Sec", s)), SECTION_WORDS)
}

/// The summary of section `s` (zero-based) of chapter `c`.
fn summary(c: usize, s: usize) -> String {
    format!("The keeper lives through scene {s} of era {c}.")
}

/// The replies to the summary requests of chapter `c`'s sections, made before the next chapter
/// is planned.
fn summaries(c: usize) -> Vec<Reply> {
    (0..PER_CHAPTER)
        .map(|s| Reply::text(format!("SUMMARY: {}\nRECORD: Keeper Ada.", summary(c, s))))
        .collect()
}

/// Index of the request planning chapter `c` in a whole run: the chapter plan, then per
/// chapter its plan, its sections and (after it) its sections' summaries.
fn plan_request(c: usize) -> usize {
    1 + c * (1 + 2 * PER_CHAPTER)
}

/// The replies for chapters `from..`, each: the summaries of the chapter before (when it has
/// one), its section plan, then its sections' texts.
fn chapters_script(from: usize) -> Vec<Reply> {
    let mut replies = Vec::new();
    for c in from..CHAPTERS {
        if c > 0 {
            replies.extend(summaries(c - 1));
        }
        replies.push(Reply::text(sections_plan(c + 1)));
        replies.extend((0..PER_CHAPTER).map(|s| Reply::text(text(c, s))));
    }
    replies
}

fn last_user(request: &GenerationRequest) -> &str {
    request.messages.last().map_or("", |m| m.content.as_str())
}

/// A writer on `backend` with the built-in prompts, and its events.
fn writer_on(backend: &ScriptedBackend) -> (Writer, UnboundedReceiver<JobEvent>) {
    let (tx, rx) = unbounded_channel();
    let writer = Writer::new(
        Arc::new(backend.clone()),
        Arc::new(Prompts::builtin()),
        tx,
        CancellationToken::new(),
    );
    (writer, rx)
}

async fn drain(mut rx: UnboundedReceiver<JobEvent>) -> Vec<JobEvent> {
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    events
}

#[tokio::test(start_paused = true)]
async fn a_long_target_is_planned_in_chapters_then_each_chapter_when_it_starts() {
    let mut replies = vec![Reply::text(chapter_plan())];
    replies.extend(chapters_script(0));
    let backend = ScriptedBackend::new(replies);
    let (writer, rx) = writer_on(&backend);
    let job = job();
    let plan = writer.plan(&job).await.expect("a chapter plan");
    assert_eq!(plan.chapters.len(), CHAPTERS);
    assert!(plan.sections.is_empty(), "sections come chapter by chapter");
    let document = Document::new(job.instruction.clone(), TARGET, job.language, plan);
    let outcome = writer.write(&job, document).await;
    drop(writer);
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    let events = drain(rx).await;

    let requests = backend.requests();
    assert_eq!(
        requests.len(),
        1 + CHAPTERS * (1 + PER_CHAPTER) + (CHAPTERS - 1) * PER_CHAPTER
    );
    assert!(last_user(&requests[0]).contains("plan it in chapters"));
    assert!(last_user(&requests[0]).contains("about 5 chapters"));
    for c in 0..CHAPTERS {
        let asked = last_user(&requests[plan_request(c)]);
        assert!(
            asked.contains(&format!("Plan chapter {}, \"Era {}\"", c + 1, c + 1)),
            "request {} plans chapter {}: {asked}",
            plan_request(c),
            c + 1
        );
        assert!(
            asked.contains("5. Era 5: The lighthouse in era 5."),
            "the outline"
        );
        // Planned knowing what the chapter before told: its sections' summaries.
        if c > 0 {
            assert!(
                asked.contains(&summary(c - 1, PER_CHAPTER - 1)),
                "chapter {} is planned with the summaries: {asked}",
                c + 1
            );
        }
    }
    let sixth = last_user(&requests[plan_request(1) + 1]);
    assert!(sixth.contains("Chapter 2 of 5, \"Era 2\""), "{sixth}");

    let doc = &outcome.document;
    assert_eq!(doc.plan.sections.len(), CHAPTERS * PER_CHAPTER);
    assert!(doc
        .plan
        .chapters
        .iter()
        .all(|c| c.planned && c.sections == PER_CHAPTER));
    for (i, s) in doc.plan.sections.iter().enumerate() {
        assert!(s.target_words <= 1_000 && s.state == SectionState::Done);
        assert_eq!(doc.drafts[i].text(), text(i / PER_CHAPTER, i % PER_CHAPTER));
        assert_eq!(doc.plan.chapter_of(i), Some(i / PER_CHAPTER));
    }
    // Each chapter starts, is planned, then its sections are written, in order.
    let order: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            JobEvent::ChapterStarted { chapter, .. } => Some(format!("c{chapter}")),
            JobEvent::ChapterPlanned {
                chapter, sections, ..
            } => Some(format!("p{chapter}:{sections}")),
            JobEvent::SectionDone { index, .. } => Some(format!("s{index}")),
            _ => None,
        })
        .collect();
    let mut expected = Vec::new();
    for c in 0..CHAPTERS {
        expected.push(format!("c{c}"));
        expected.push(format!("p{c}:{PER_CHAPTER}"));
        expected.extend((0..PER_CHAPTER).map(|s| format!("s{}", c * PER_CHAPTER + s)));
    }
    assert_eq!(order, expected);
    let Some(JobEvent::Done { ledger }) = events.last() else {
        panic!("the last event is done: {:?}", events.last());
    };
    assert_eq!((ledger.planned, ledger.written), (TARGET, TARGET));
    assert_eq!(ledger.chapters.len(), CHAPTERS);
    assert!(ledger
        .chapters
        .iter()
        .all(|c| c.written == 5_000 && c.planned == 5_000));
    assert_eq!(ledger.sections[7].chapter, Some(1));
}

fn new_project(dir: &std::path::Path, job: &Job) -> Project {
    Store::at(dir)
        .create(NewProject {
            instruction: job.instruction.clone(),
            target_words: job.target_words,
            language: job.language,
            settings: job.settings.clone(),
            backend: BackendRecord::default(),
        })
        .expect("a new project")
}

fn spec(
    backend: &ScriptedBackend,
    document: Option<Document>,
    cancel: CancellationToken,
) -> (RunSpec, UnboundedReceiver<JobEvent>) {
    let (forward, rx) = unbounded_channel();
    let spec = RunSpec {
        backend: Arc::new(backend.clone()),
        prompts: Arc::new(Prompts::builtin()),
        job: job(),
        document,
        restart_section: false,
        forward,
        cancel,
        give_up: CancellationToken::new(),
    };
    (spec, rx)
}

#[tokio::test(start_paused = true)]
async fn a_run_stopped_mid_chapter_resumes_through_the_store_in_order() {
    // Chapter 1 whole, chapter 2 planned, its first section written, its second cut off.
    let partial = prose("Partial", 300);
    let mut first = vec![Reply::text(chapter_plan())];
    first.extend(chapters_script(0).into_iter().take(1 + PER_CHAPTER));
    first.extend(summaries(0));
    first.push(Reply::text(sections_plan(2)));
    first.push(Reply::text(text(1, 0)));
    first.push(Reply::Stall {
        text: partial.clone(),
    });
    let backend = ScriptedBackend::new(first);
    let dir = tempfile::tempdir().unwrap();
    let mut project = new_project(dir.path(), &job());
    let path = project.dir().to_path_buf();
    let lock = ProjectLock::acquire(project.dir(), project.id()).unwrap();
    let journal = project.recover().unwrap();
    let cancel = CancellationToken::new();
    let (spec1, mut rx) = spec(&backend, None, cancel.clone());
    let running = tokio::spawn(store::record(project, lock, journal, spec1));
    let mut streamed = String::new();
    while let Some(e) = rx.recv().await {
        if let JobEvent::Delta { index: 6, text } = e {
            streamed.push_str(&text);
            if streamed == partial {
                cancel.cancel();
            }
        }
    }
    running.await.expect("join").unwrap();

    let mut project = Project::open(&path).unwrap();
    assert_eq!(project.manifest.state, JobState::Stopped);
    let saved = std::fs::read_to_string(project.manifest_path()).unwrap();
    assert!(saved.contains("format_version = 2") && saved.contains("[[plan.chapters]]"));
    let plan = project.manifest.plan.clone().expect("a plan");
    assert_eq!(
        plan.sections.len(),
        2 * PER_CHAPTER,
        "chapters 3-5 not planned yet"
    );
    assert_eq!(plan.next_unplanned(), Some(2));
    let journal = project.recover().unwrap();
    let document = project
        .document(&Prompts::builtin(), &journal, false)
        .unwrap()
        .expect("a document");
    assert_eq!(
        document.drafts[6].text(),
        partial,
        "the journal's text is kept"
    );

    let rest = prose("Rest", 700);
    let mut second = vec![Reply::text(rest.clone())];
    second.extend((2..PER_CHAPTER).map(|s| Reply::text(text(1, s))));
    second.extend(chapters_script(2));
    let backend = ScriptedBackend::new(second);
    let lock = ProjectLock::acquire(project.dir(), project.id()).unwrap();
    let (spec2, rx) = spec(&backend, Some(document), CancellationToken::new());
    let end = store::record(project, lock, journal, spec2).await.unwrap();
    assert!(end.result.is_ok(), "{:?}", end.result);
    drain(rx).await;
    let requests = backend.requests();
    assert!(
        !last_user(&requests[0]).contains("Plan chapter"),
        "the resumed section goes on first"
    );
    // Chapter 1's summaries were stored by the first run: only chapter 2's are asked for.
    let planning = last_user(&requests[4 + PER_CHAPTER]);
    assert!(planning.contains("Plan chapter 3"), "{planning}");
    assert!(planning.contains(&summary(0, 0)), "{planning}");
    let project = Project::open(&path).unwrap();
    assert_eq!(project.manifest.state, JobState::Done);
    let plan = project.manifest.plan.clone().expect("a plan");
    assert_eq!(plan.sections.len(), CHAPTERS * PER_CHAPTER);
    let section7 = project.read_section(6).expect("section 7 saved");
    assert!(section7.starts_with(&partial[..200]), "{section7}");
    for i in (0..CHAPTERS * PER_CHAPTER).filter(|i| *i != 6) {
        let expected = text(i / PER_CHAPTER, i % PER_CHAPTER);
        assert_eq!(project.read_section(i), Some(expected), "section {}", i + 1);
    }
    let ledger = project.manifest.ledger.expect("a ledger");
    assert_eq!(ledger.chapters.len(), CHAPTERS);
}

#[tokio::test(start_paused = true)]
async fn unusable_plans_fall_back_to_even_chapters_and_short_sections() {
    let nonsense = || Reply::text("");
    let backend = ScriptedBackend::new(vec![nonsense(), nonsense(), nonsense(), nonsense()]);
    let (writer, rx) = writer_on(&backend);
    let job = job();
    let plan = writer.plan(&job).await.expect("a fallback plan");
    assert!(plan.fallback);
    assert_eq!(plan.chapters.len(), 5);
    let document = Document::new(job.instruction.clone(), TARGET, job.language, plan);
    // The script ends after the chapter's two plan replies: its first section fails.
    let outcome = writer.write(&job, document).await;
    drop(writer);
    assert!(outcome.result.is_err());
    let plan = &outcome.document.plan;
    assert_eq!(plan.chapters[0].sections, 7);
    assert!(plan.sections.iter().all(|s| s.target_words <= 1_000));
    assert_eq!(plan.total_target(), TARGET);
    assert!(plan.sections[0].title.starts_with("Chapter 1 (1/7)"));
    let warnings = drain(rx)
        .await
        .into_iter()
        .filter(|e| matches!(e, JobEvent::Warning { message } if message.contains("could not be used twice")))
        .count();
    assert_eq!(
        warnings, 2,
        "one for the chapters, one for chapter 1's sections"
    );
}

#[tokio::test(start_paused = true)]
async fn a_project_saved_in_manifest_format_1_opens_and_finishes() {
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/store/v1-project");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0mb1v1old");
    std::fs::create_dir_all(path.join("sections")).unwrap();
    for file in ["project.toml", "sections/001.txt", "sections/002.txt"] {
        std::fs::copy(fixture.join(file), path.join(file)).unwrap();
    }
    let mut project = Project::open(&path).expect("a format 1 manifest opens");
    let plan = project.manifest.plan.clone().expect("its plan");
    assert!(plan.chapters.is_empty() && plan.sections.len() == 3);
    let journal = project.recover().unwrap();
    let document = project
        .document(&Prompts::builtin(), &journal, false)
        .unwrap()
        .expect("a document");
    assert!(document.drafts[1].text().starts_with("Old2 keeper"));
    let last = prose("Last", 100);
    let backend = ScriptedBackend::new(vec![Reply::text(last.clone())]);
    let lock = ProjectLock::acquire(project.dir(), project.id()).unwrap();
    let mut job = project.manifest.job();
    job.settings.retry.max_attempts = 1;
    let (forward, rx) = unbounded_channel();
    let spec = RunSpec {
        backend: Arc::new(backend.clone()),
        prompts: Arc::new(Prompts::builtin()),
        job,
        document: Some(document),
        restart_section: false,
        forward,
        cancel: CancellationToken::new(),
        give_up: CancellationToken::new(),
    };
    let end = store::record(project, lock, journal, spec).await.unwrap();
    assert!(end.result.is_ok(), "{:?}", end.result);
    drain(rx).await;
    let project = Project::open(&path).unwrap();
    assert_eq!(project.manifest.state, JobState::Done);
    assert_eq!(project.read_section(2), Some(last));
    let saved = std::fs::read_to_string(project.manifest_path()).unwrap();
    assert!(saved.contains("format_version = 2"), "written back as 2");
    assert!(
        !saved.contains("[[plan.chapters]]"),
        "a flat plan stays flat"
    );
}

#[tokio::test(start_paused = true)]
async fn a_summary_reply_that_repeats_the_request_is_replaced_by_the_sections_own_words() {
    // Two chapters' worth of script: chapter 1's summaries are echoes of the summary request
    // (twice each, as a weak model gives them), so its sections' openings stand in.
    let echo = "SUMMARY: what this section says or tells, in at most 80 words.\nRECORD: the \
                record updated with this section: the names, places, dates";
    let mut replies = vec![Reply::text(chapter_plan()), Reply::text(sections_plan(1))];
    replies.extend((0..PER_CHAPTER).map(|s| Reply::text(text(0, s))));
    replies.extend((0..2 * PER_CHAPTER).map(|_| Reply::text(echo)));
    replies.push(Reply::text(sections_plan(2)));
    let backend = ScriptedBackend::new(replies);
    let (writer, rx) = writer_on(&backend);
    let job = job();
    let plan = writer.plan(&job).await.expect("a chapter plan");
    let document = Document::new(job.instruction.clone(), TARGET, job.language, plan);
    // The script runs out in chapter 2's first section: the job fails there, after chapter 2
    // was planned.
    let outcome = writer.write(&job, document).await;
    drop(writer);
    assert!(outcome.result.is_err());
    let events = drain(rx).await;
    let summaries: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            JobEvent::Summarized { summary, .. } => Some(summary),
            _ => None,
        })
        .collect();
    assert_eq!(summaries.len(), PER_CHAPTER);
    for (s, summary) in summaries.iter().enumerate() {
        assert!(summary.fallback, "{summary:?}");
        assert!(!summary.text.contains("SUMMARY"), "{summary:?}");
        let written = text(0, s);
        let opening: Vec<&str> = written.split_whitespace().take(4).collect();
        assert!(summary.text.starts_with(&opening.join(" ")), "{summary:?}");
    }
    assert!(events.iter().any(|e| matches!(e,
        JobEvent::Warning { message } if message.contains("repeated the request"))));
    // Chapter 2 is planned without a word of the echo.
    let requests = backend.requests();
    let planning = requests
        .iter()
        .map(last_user)
        .find(|r| r.contains("Plan chapter 2"))
        .expect("chapter 2 planned");
    assert!(
        !planning.contains("what this section says or tells"),
        "{planning}"
    );
}
