//! The stream guards inside the writer, on tokio's paused clock: a loop, a copy and an echo
//! are stopped, trimmed to the last good sentence and regenerated with a nudge and a
//! frequency penalty; retries are bounded; incidents are events and ledger counts.

use crate::support::backend::ScriptedBackend;
use crate::support::prose::{agentwrite_plan, prose};
use crate::support::scripted::Reply;
use longwriter::backend::{GenerationRequest, Role};
use longwriter::prompt::Prompts;
use longwriter::writer::{
    Document, GuardKind, GuardSettings, Job, JobEvent, Ledger, TargetWords, Writer, WriterSettings,
};
use std::sync::Arc;
use tokio::sync::mpsc::unbounded_channel;
use tokio_util::sync::CancellationToken;

/// A sentence a small model says over and over.
const LOOPED: &str = " The lamp turned slowly over the dark water all night.";

struct Ran {
    document: Document,
    events: Vec<JobEvent>,
    requests: Vec<GenerationRequest>,
    remaining: usize,
}

impl Ran {
    fn guarded(&self) -> Vec<(usize, GuardKind, bool, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                JobEvent::Guarded {
                    index,
                    kind,
                    retrying,
                    text,
                    ..
                } => Some((*index, *kind, *retrying, text.clone())),
                _ => None,
            })
            .collect()
    }

    fn ledger(&self) -> &Ledger {
        match self.events.last() {
            Some(JobEvent::Done { ledger }) => ledger,
            other => panic!("the last event is done, not {other:?}"),
        }
    }
}

async fn run(words: usize, replies: Vec<Reply>, guards: GuardSettings) -> Ran {
    let backend = ScriptedBackend::new(replies);
    let (tx, mut rx) = unbounded_channel();
    let writer = Writer::new(
        Arc::new(backend.clone()),
        Arc::new(Prompts::builtin()),
        tx,
        CancellationToken::new(),
    );
    let settings = WriterSettings {
        guards,
        ..WriterSettings::default()
    };
    let words = TargetWords::try_from(words).expect("a test length");
    let job = Job::new(
        "Write a story about a lighthouse keeper",
        Some(words),
        settings,
    )
    .expect("a valid job");
    let plan = writer.plan(&job).await.expect("a plan");
    let document = Document::new(
        job.instruction.clone(),
        job.target_words,
        job.language,
        plan,
    );
    let outcome = writer.write(&job, document).await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    drop(writer);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    Ran {
        document: outcome.document,
        events,
        requests: backend.requests(),
        remaining: backend.remaining(),
    }
}

/// Every request alternates user and assistant turns and ends with a user turn.
fn assert_alternating(requests: &[GenerationRequest]) {
    for (i, r) in requests.iter().enumerate() {
        for pair in r.messages.windows(2) {
            assert_ne!(pair[0].role, pair[1].role, "request {i}: {:?}", r.messages);
        }
        assert_eq!(r.messages.last().map(|m| m.role), Some(Role::User));
    }
}

#[tokio::test(start_paused = true)]
async fn a_loop_is_cut_before_its_first_repeat_and_the_rest_is_written_again() {
    let good = prose("Alpha", 40);
    let fresh = prose("Beta", 50);
    let replies = vec![
        Reply::text(agentwrite_plan(2, 100)),
        Reply::text(format!("{good}{}", LOOPED.repeat(9))),
        Reply::text(fresh.clone()),
        Reply::text(prose("Gamma", 100)),
    ];
    let ran = run(200, replies, GuardSettings::default()).await;
    let kept = format!("{good}{LOOPED}");
    let guarded = ran.guarded();
    assert_eq!(guarded, vec![(0, GuardKind::Loop, true, kept.clone())]);
    let text = ran.document.drafts[0].text();
    assert!(text.starts_with(&kept) && text.ends_with(&fresh), "{text}");
    assert_eq!(
        text.matches(LOOPED.trim()).count(),
        1,
        "the repeats are gone"
    );
    // The retry carries the nudge and a frequency penalty; the first request had neither.
    let (first, retry) = (&ran.requests[1], &ran.requests[2]);
    assert_eq!(first.sampling.frequency_penalty, None);
    assert_eq!(retry.sampling.frequency_penalty, Some(0.5));
    let nudge = &retry.messages.last().expect("a turn").content;
    assert!(nudge.contains("began repeating itself"), "{nudge}");
    assert_eq!(
        ran.requests[3].sampling.frequency_penalty, None,
        "the next section is plain"
    );
    assert_alternating(&ran.requests);
    let ledger = ran.ledger();
    assert_eq!(
        (
            ledger.guarded,
            ledger.sections[0].guarded,
            ledger.sections[1].guarded
        ),
        (1, 1, 0)
    );
    assert_eq!(ran.remaining, 0);
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded_and_the_trimmed_text_stays() {
    let good = prose("Alpha", 40);
    let looping = LOOPED.repeat(9);
    let second = prose("Gamma", 100);
    let replies = vec![
        Reply::text(agentwrite_plan(2, 100)),
        Reply::text(format!("{good}{looping}")),
        Reply::text(looping.clone()),
        Reply::text(looping.clone()),
        Reply::text(second.clone()),
        Reply::text("never asked for"),
    ];
    let guards = GuardSettings {
        retries: 2,
        ..GuardSettings::default()
    };
    let ran = run(200, replies, guards).await;
    let kept = format!("{good}{LOOPED}");
    let retrying: Vec<bool> = ran.guarded().iter().map(|g| g.2).collect();
    assert_eq!(retrying, vec![true, true, false]);
    assert_eq!(ran.document.drafts[0].text(), kept);
    assert_eq!(
        ran.document.drafts[1].text(),
        second,
        "then the writer moves on"
    );
    assert_eq!(
        ran.requests.len(),
        5,
        "the plan, the section, two retries, the next section"
    );
    assert_eq!(ran.remaining, 1);
    // The unanswered nudge is not left in the conversation of the next section.
    assert_alternating(&ran.requests);
    assert_eq!(ran.ledger().sections[0].guarded, 3);
}

#[tokio::test(start_paused = true)]
async fn echoed_instructions_are_dropped() {
    let opening = "Ada woke before dawn and climbed the tower stairs.";
    let echo = " I will ask for the sections in order. Write only the section I ask for, \
                continuing naturally from the text you have already written.";
    let rest = prose("Beta", 90);
    let replies = vec![
        Reply::text(agentwrite_plan(1, 100)),
        Reply::text(format!("{opening}{echo}")),
        Reply::text(rest.clone()),
    ];
    let ran = run(100, replies, GuardSettings::default()).await;
    let guarded = ran.guarded();
    assert_eq!(guarded.len(), 1);
    assert_eq!(
        (guarded[0].1, guarded[0].3.as_str()),
        (GuardKind::Echo, opening)
    );
    let text = ran.document.drafts[0].text();
    assert!(
        !text.contains("I will ask") && text.ends_with(&rest),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_copy_of_an_earlier_section_is_dropped() {
    let first = prose("Alpha", 100);
    let copied: Vec<&str> = first.split(' ').skip(20).take(30).collect();
    let own = prose("Beta", 30);
    let replies = vec![
        Reply::text(agentwrite_plan(2, 100)),
        Reply::text(first.clone()),
        Reply::text(format!("{own} {}", copied.join(" "))),
        Reply::text(prose("Gamma", 70)),
    ];
    let ran = run(200, replies, GuardSettings::default()).await;
    let guarded = ran.guarded();
    assert_eq!(guarded.len(), 1);
    assert_eq!((guarded[0].0, guarded[0].1), (1, GuardKind::Copy));
    assert!(guarded[0].3.starts_with(&own), "{}", guarded[0].3);
    assert!(!ran.document.drafts[1].text().contains(&copied.join(" ")));
}

#[tokio::test(start_paused = true)]
async fn with_the_guards_off_the_text_is_kept_as_it_came() {
    let looped = format!("{}{}", prose("Alpha", 40), LOOPED.repeat(8));
    let replies = vec![
        Reply::text(agentwrite_plan(1, 100)),
        Reply::text(looped.clone()),
    ];
    let off = GuardSettings {
        enabled: false,
        ..GuardSettings::default()
    };
    let ran = run(100, replies, off).await;
    assert!(ran.guarded().is_empty());
    assert_eq!(ran.document.drafts[0].text(), looped);
    assert_eq!(ran.ledger().guarded, 0);
}

#[tokio::test(start_paused = true)]
async fn a_section_that_only_echoes_ends_empty_and_the_next_one_follows() {
    let echo = "I will ask for the sections in order. Write only the section I ask for, \
                continuing naturally from the text you have already written.";
    let second = prose("Gamma", 100);
    let replies = vec![
        Reply::text(agentwrite_plan(2, 100)),
        Reply::text(echo),
        Reply::text(echo),
        Reply::text(echo),
        Reply::text(second.clone()),
    ];
    let ran = run(200, replies, GuardSettings::default()).await;
    assert_eq!(ran.guarded().len(), 3);
    assert_eq!(ran.document.drafts[0].text(), "");
    assert_eq!(ran.document.drafts[1].text(), second);
    assert_alternating(&ran.requests);
    assert_eq!(ran.remaining, 0);
}
