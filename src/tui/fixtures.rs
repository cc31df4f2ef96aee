//! Ready-made studio states for snapshot tests and benchmarks: a prompt typed, a plan under
//! review, a document being written. Built only through `update`, like the real studio.

use super::action::Action;
use super::keymap::Keymap;
use super::state::State;
use super::update::update;
use crate::plan::{Plan, Section, SectionState};
use crate::writer::{JobEvent, WriterSettings};
use ratatui_textarea::{Input, Key};
use std::collections::BTreeMap;

/// A fresh studio with the default theme.
pub fn fresh() -> State {
    State::new(
        "openai · scripted @ http://127.0.0.1:8000/v1".into(),
        WriterSettings::default(),
        "dark",
    )
}

/// The title and author of a test export.
pub fn export_meta() -> crate::export::Meta {
    crate::export::Meta {
        id: "lighthouse".into(),
        title: "The Lighthouse".into(),
        author: Some("Ann".into()),
        language: crate::text::Language::English,
        created: 0,
        modified: 0,
    }
}

/// The default keys.
pub fn keymap() -> Keymap {
    Keymap::load(&BTreeMap::new()).0
}

/// Types `text` into the focused editor.
pub fn type_text(state: &mut State, text: &str) {
    for c in text.chars() {
        let key = if c == '\n' { Key::Enter } else { Key::Char(c) };
        update(
            state,
            Action::Input(Input {
                key,
                ..Input::default()
            }),
        );
    }
}

/// A plan of `n` sections of `each` words.
pub fn plan(n: usize, each: usize) -> Plan {
    Plan {
        sections: (1..=n)
            .map(|i| Section {
                title: format!("Part {i}: the keeper's year"),
                main_point: format!(
                    "Describe stage {i} of the lighthouse's life, its keepers and its storms."
                ),
                target_words: each,
                state: SectionState::Planned,
            })
            .collect(),
        fallback: false,
        chapters: Vec::new(),
    }
}

/// The even fallback chapters of `total` words, chapter `c` given `sections[c]` written
/// sections of 500 words (the rest of the chapters unplanned).
pub fn chapter_plan(total: usize, sections: &[usize]) -> Plan {
    let mut plan = Plan::of_chapters(crate::plan::fallback_chapters(total, false), false);
    let section = Section {
        title: "s".into(),
        main_point: "p".into(),
        target_words: 500,
        state: SectionState::Done,
    };
    for (chapter, n) in sections.iter().enumerate() {
        plan.add_chapter_sections(chapter, vec![section.clone(); *n]);
    }
    plan
}

/// `n` words of prose with paragraph breaks every 60 words.
pub fn prose(n: usize) -> String {
    let words = [
        "the", "keeper", "climbed", "stairs", "while", "light", "turned", "over", "black", "water.",
    ];
    let mut out = String::with_capacity(n * 7);
    for i in 0..n {
        out.push_str(words[i % words.len()]);
        out.push(if i % 60 == 59 { '\n' } else { ' ' });
    }
    out
}

/// A studio on the plan review screen with `n` sections of `each` words.
pub fn review(n: usize, each: usize, size: (u16, u16)) -> State {
    let mut state = fresh();
    update(&mut state, Action::Resize(size.0, size.1));
    type_text(
        &mut state,
        &format!("Write a {}-word history of a lighthouse", n * each),
    );
    update(&mut state, Action::Submit);
    update(&mut state, Action::PlanFinished(Ok(plan(n, each))));
    state
}

/// A studio writing: `done` sections finished, the next one streaming `streaming` words.
pub fn writing(n: usize, each: usize, done: usize, streaming: usize, size: (u16, u16)) -> State {
    let mut state = review(n, each, size);
    update(&mut state, Action::StartWriting);
    for i in 0..done.min(n) {
        let text = prose(each);
        update(
            &mut state,
            job(JobEvent::SectionStarted {
                index: i,
                title: String::new(),
                target_words: each,
            }),
        );
        update(
            &mut state,
            job(JobEvent::SectionDone {
                index: i,
                words: each,
                text,
                usage: None,
            }),
        );
    }
    if done < n {
        update(
            &mut state,
            job(JobEvent::SectionStarted {
                index: done,
                title: String::new(),
                target_words: each,
            }),
        );
        update(
            &mut state,
            job(JobEvent::Delta {
                index: done,
                text: prose(streaming),
            }),
        );
    }
    for t in 1..=12 {
        for _ in 0..t * 3 {
            update(
                &mut state,
                job(JobEvent::Delta {
                    index: done.min(n - 1),
                    text: String::new(),
                }),
            );
        }
        update(&mut state, Action::Tick(t * 1000));
    }
    state
}

fn job(event: JobEvent) -> Action {
    Action::Job(event)
}
