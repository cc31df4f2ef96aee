use super::*;
use crate::backend::ChatMessage;
use crate::plan::{Chapter, SectionState};
use crate::writer::memory::Summary;
use crate::writer::{SectionDraft, WriterSettings};

/// Sentences of the chat mode's planning prompts that must never reach a base model.
const STEP_WORDING: &[&str] = &[
    "You are planning",
    "The request:",
    "Paragraph 1 - Title",
    "Answer with the plan only",
];

fn job(instruction: &str) -> Job {
    Job::new(instruction, None, WriterSettings::default()).expect("a job")
}

#[test]
fn contents_entries_keep_the_leading_numbered_lines() {
    let reply = " Fires on the headlands (400 words)\n2. The keeper's night (600 words)\n\n3) Dawn\nThe story begins at dusk.\n4. Not this";
    assert_eq!(
        contents_entries(reply, 5),
        "1. Fires on the headlands (400 words)\n2. The keeper's night (600 words)\n3) Dawn"
    );
    assert_eq!(
        contents_entries(reply, 2),
        "1. Fires on the headlands (400 words)\n2. The keeper's night (600 words)"
    );
    assert_eq!(contents_entries("\nOnce upon a time", 3), "");
    assert_eq!(contents_entries("\n2. Dawn", 3), "2. Dawn");
    assert_eq!(
        contents_entries(" Dawn\n1.1. First light\n2. Dusk", 3),
        "1. Dawn\n2. Dusk"
    );
    // A list that loops ends before the first title that comes back.
    let looping =
        " Introduction\n2. The first lighthouses, 12\n3. The first lighthouses, 15\n4. Keepers";
    assert_eq!(
        contents_entries(looping, 9),
        "1. Introduction\n2. The first lighthouses, 12"
    );
    assert_eq!(
        contents_entries(" Chapter 1\n2. Chapter 2\n3. chapter 2.", 9),
        "1. Chapter 1\n2. Chapter 2"
    );
    // Page numbers are left out when every entry has one and they never go down.
    assert_eq!(
        contents_entries(
            " Introduction 4\n2. A history of lighthouses 6\n3. The keepers 10",
            9
        ),
        "1. Introduction\n2. A history of lighthouses\n3. The keepers"
    );
    assert_eq!(
        contents_entries(" The year 1492\n2. The year 1066", 9),
        "1. The year 1492\n2. The year 1066"
    );
}

#[test]
fn a_continued_contents_becomes_a_plan_with_its_word_counts() {
    let entries = contents_entries(
        " Fires on the headlands (400 words)\n2. The keeper's night (600 words)\n",
        2,
    );
    let raw = plan::parse_plan(&entries).expect("entries parse");
    let plan = plan::build_plan(raw, 1000).expect("a plan");
    let titles: Vec<&str> = plan.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["Fires on the headlands", "The keeper's night"]);
    let words: Vec<usize> = plan.sections.iter().map(|s| s.target_words).collect();
    assert_eq!(words, [400, 600]);
}

#[test]
fn the_contents_prompt_is_the_start_of_a_document() {
    let prompts = Prompts::builtin();
    let job = Job::new(
        "Write a 1,000-word story about a lighthouse keeper",
        None,
        WriterSettings::default(),
    )
    .expect("a job");
    let request = contents_request(&prompts, &job, Part::Section).expect("renders");
    assert!(
        request
            .prompt
            .starts_with("# A story about a lighthouse keeper\n\n"),
        "{}",
        request.prompt
    );
    assert!(
        request.prompt.ends_with("## Contents\n\n1."),
        "{}",
        request.prompt
    );
    assert!(request.prompt.contains("1000 words in 2 sections."));
    for wording in STEP_WORDING {
        assert!(!request.prompt.contains(wording), "{wording}");
    }
}

#[test]
fn a_stopped_contents_list_takes_a_new_entry_unless_it_is_empty_nested_prose_or_repeated() {
    let entries = "1. Fires on the headlands (400 words)";
    assert_eq!(
        new_entry(entries, " The keeper's night (300 words)\n3. More", 2).as_deref(),
        Some("2. The keeper's night (300 words)")
    );
    assert_eq!(new_entry(entries, "\n## Fires", 2), None, "no title");
    assert_eq!(new_entry(entries, "1. First light", 2), None, "a sub-entry");
    assert_eq!(
        new_entry(entries, " fires on the headlands", 2),
        None,
        "a repeat"
    );
    assert_eq!(new_entry(entries, " # Fires", 2), None, "a heading");
    let prose = " The keeper climbed the stairs at dusk, as he had every evening for thirty \
                 years, and lit the lamp before the fog came in";
    assert_eq!(new_entry(entries, prose, 2), None, "prose");
}

#[test]
fn a_long_text_continues_a_list_of_chapters() {
    let prompts = Prompts::builtin();
    let job = job("Write a 30,000-word history of the Roman Empire");
    let request = contents_request(&prompts, &job, Part::Chapter).expect("renders");
    assert!(
        request
            .prompt
            .contains("30000 words in 6 chapters.\n\n## Contents\n\n1."),
        "{}",
        request.prompt
    );
    for wording in STEP_WORDING {
        assert!(!request.prompt.contains(wording), "{wording}");
    }
}

/// A plan of three chapters whose first has two written sections with summaries.
fn chaptered() -> Document {
    let chapter = |i: usize, sections: usize| Chapter {
        title: format!("Age {i}"),
        main_point: format!("Age {i}"),
        target_words: 2000,
        sections,
        planned: sections > 0,
    };
    let section = |i: usize| Section {
        title: format!("Reign {i}"),
        main_point: format!("Reign {i}"),
        target_words: 1000,
        state: SectionState::Done,
    };
    let plan = Plan {
        sections: vec![section(1), section(2)],
        fallback: false,
        chapters: vec![chapter(1, 2), chapter(2, 0), chapter(3, 0)],
    };
    let mut doc = Document::new(
        "Write a 6,000-word history of Rome".into(),
        6000,
        crate::text::Language::English,
        plan,
    );
    for i in 0..2 {
        doc.drafts[i] = SectionDraft {
            turns: vec![
                ChatMessage::user("a step"),
                ChatMessage::assistant(format!("Text of reign {}.", i + 1)),
            ],
        };
        doc.memory.summaries[i] = Some(Summary {
            text: format!("Summary of reign {}.", i + 1),
            record: "Augustus rules.".into(),
            fallback: false,
        });
    }
    doc.memory.shown_words = 1000;
    doc
}

#[test]
fn a_chapter_continues_its_own_contents_after_the_chapters_and_the_story_so_far() {
    let prompts = Prompts::builtin();
    let doc = chaptered();
    let job = job(&doc.instruction);
    let request = chapter_contents_request(&prompts, &doc, &job, 1, 2000).expect("renders");
    let prompt = &request.prompt;
    assert!(prompt.starts_with("# A history of Rome\n\n"), "{prompt}");
    assert!(prompt.contains("1. Age 1 (2000 words)\n2. Age 2 (2000 words)\n3. Age 3"));
    assert!(prompt.contains("- Reign 1: Summary of reign 1.\n- Reign 2: Summary of reign 2."));
    assert!(prompt.contains("Augustus rules."));
    assert!(
        prompt.ends_with(
            "## Chapter 2. Age 2\n\n2000 words in 4 sections.\n\n### Contents of chapter 2\n\n1."
        ),
        "{prompt}"
    );
    for wording in STEP_WORDING {
        assert!(!prompt.contains(wording), "{wording}");
    }
    // The echo basis keeps the page's own wording only, none of the model's or the user's.
    let basis = render_chapter_contents(&prompts, &doc, 1, 2000, false).expect("renders");
    assert!(!basis.contains("Rome") && !basis.contains("Age") && !basis.contains("Reign"));
}
