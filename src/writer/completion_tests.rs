use super::*;
use crate::backend::ChatMessage;
use crate::plan::{Plan, Section, SectionState};
use crate::text::Language;
use crate::writer::memory::Summary;
use crate::writer::{SectionDraft, WriterSettings};

/// Sentences of the chat mode's step prompts that must never reach a base model.
const STEP_WORDING: &[&str] = &[
    "Now write section",
    "I will ask for the sections",
    "Continue it from exactly where it stopped",
    "You are writing a long text",
    "You are planning",
    "The request:",
];

fn document(sections: usize, written: usize) -> (Prompts, Document) {
    let prompts = Prompts::builtin();
    let plan = Plan {
        sections: (1..=sections)
            .map(|i| Section {
                title: format!("Part {i}"),
                main_point: format!("What part {i} says."),
                target_words: 500,
                state: SectionState::Planned,
            })
            .collect(),
        fallback: false,
        chapters: Vec::new(),
    };
    let mut doc = Document::new(
        "Write a 3,000-word story about a lighthouse keeper".into(),
        sections * 500,
        Language::English,
        plan,
    );
    for i in 0..written {
        doc.drafts[i] = SectionDraft {
            turns: vec![
                ChatMessage::user("a step"),
                ChatMessage::assistant(format!("Text of section {}.", i + 1)),
            ],
        };
        doc.memory.summaries[i] = Some(Summary {
            text: format!("Summary of section {}.", i + 1),
            record: format!("Record after {}.", i + 1),
            fallback: false,
        });
    }
    doc.memory.shown_words = 100;
    (prompts, doc)
}

#[test]
fn titles_and_subjects_come_from_the_instruction() {
    assert_eq!(
        title_and_subject("Write a 1,000-word story about a lighthouse keeper"),
        (
            "A story about a lighthouse keeper".to_string(),
            "A 1,000-word story about a lighthouse keeper.".to_string()
        )
    );
    let (title, subject) =
        title_and_subject("write me a 10,000-word history of lighthouses, from Pharos to LEDs");
    assert_eq!(title, "A history of lighthouses");
    assert_eq!(
        subject,
        "A 10,000-word history of lighthouses, from Pharos to LEDs."
    );
    let (title, subject) = title_and_subject("An essay on bees. Keep it light.");
    assert_eq!(title, "An essay on bees");
    assert_eq!(subject, "An essay on bees. Keep it light.");
    let (title, _) = title_and_subject("写一篇关于灯塔看守人的故事，大约两千字");
    assert_eq!(title, "写一篇关于灯塔看守人的故事");
}

#[test]
fn each_section_prompt_extends_the_previous_one() {
    let (prompts, doc) = document(4, 3);
    let prompts_by_section: Vec<String> = (0..4)
        .map(|i| document_prompt(&prompts, &doc, i).expect("renders"))
        .collect();
    let first = &prompts_by_section[0];
    assert!(first.starts_with("# A story about a lighthouse keeper\n\nA 3,000-word story"));
    assert!(
        first.contains("## Contents\n\n1. Part 1\n2. Part 2\n"),
        "{first}"
    );
    assert!(
        first.ends_with("\n\n## 1. Part 1\n\nText of section 1."),
        "{first}"
    );
    for pair in prompts_by_section.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert!(after.starts_with(before.as_str()), "{before}\n---\n{after}");
    }
    let last = &prompts_by_section[3];
    assert!(
        last.ends_with("Text of section 3.\n\n## 4. Part 4\n\n"),
        "{last}"
    );
    for prompt in &prompts_by_section {
        for wording in STEP_WORDING {
            assert!(!prompt.contains(wording), "{wording} in {prompt}");
        }
    }
}

#[test]
fn a_compacted_document_shows_summaries_then_the_recent_sections() {
    let (prompts, mut doc) = document(4, 3);
    doc.memory.compacted = 2;
    let third = document_prompt(&prompts, &doc, 2).expect("renders");
    let fourth = document_prompt(&prompts, &doc, 3).expect("renders");
    assert!(
        fourth.starts_with(&third),
        "prefix kept between compactions"
    );
    assert!(third.contains("## Sections 1 to 2 in brief\n\n1. Part 1: Summary of section 1.\n"));
    assert!(third.contains("Record after 2.") && !third.contains("Record after 3."));
    assert!(!third.contains("Text of section 1.") && !third.contains("Text of section 2."));
    assert!(third.contains("## Contents\n\n1. Part 1\n"), "{third}");
    assert!(
        third.ends_with("## 3. Part 3\n\nText of section 3."),
        "{third}"
    );
}

#[test]
fn a_section_request_stops_at_the_next_heading() {
    let (prompts, doc) = document(2, 1);
    let job = Job::new(
        "Write a 1,000-word text about a keeper",
        None,
        WriterSettings::default(),
    )
    .expect("a job");
    let request = document_request(&prompts, &doc, 1, &job, 500).expect("renders");
    assert_eq!(request.stop, ["\n#"]);
    assert_eq!(request.max_tokens, token_budget(500, Language::English));
}
