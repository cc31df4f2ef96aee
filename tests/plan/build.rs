//! Validation of plans: rescaling, filling missing counts, splitting,
//! merging, bounds, the section cap, the fallback plan, errors and their
//! messages, and the serialised form.

use longwriter::plan::{
    build_plan, fallback_plan, parse_plan, section_bounds, Plan, PlanError, RawSection, Section,
    SectionState, MAX_SECTIONS,
};

fn raw(point: &str, words: Option<usize>) -> RawSection {
    RawSection {
        title: None,
        main_point: point.to_string(),
        target_words: words,
    }
}

fn titled(title: &str, point: &str, words: usize) -> RawSection {
    RawSection {
        title: Some(title.to_string()),
        main_point: point.to_string(),
        target_words: Some(words),
    }
}

fn targets(plan: &Plan) -> Vec<usize> {
    plan.sections.iter().map(|s| s.target_words).collect()
}

#[test]
fn bounds_for_typical_totals() {
    assert_eq!(section_bounds(1), (1, 1000));
    assert_eq!(section_bounds(30), (30, 1000));
    assert_eq!(section_bounds(1000), (50, 1000));
    assert_eq!(section_bounds(5000), (50, 1000));
    assert_eq!(section_bounds(10_000), (100, 1000));
    assert_eq!(section_bounds(20_000), (200, 1000));
    assert_eq!(section_bounds(100_000), (200, 1000));
    assert_eq!(section_bounds(1_000_000), (200, 10_000));
    for total in [1, 7, 99, 500, 3_000, 44_444, 400_000, 10_000_000] {
        let (min, max) = section_bounds(total);
        assert!(
            1 <= min && min <= total && min < max,
            "{total}: {min} {max}"
        );
        assert!(total.div_ceil(max) <= MAX_SECTIONS / 2, "{total}");
    }
}

#[test]
fn targets_are_rescaled_to_the_exact_total() {
    let sections = vec![
        raw("A", Some(500)),
        raw("B", Some(1500)),
        raw("C", Some(1000)),
    ];
    let plan = build_plan(sections.clone(), 1500).unwrap();
    assert_eq!(targets(&plan), vec![250, 750, 500]);
    for total in [97, 1000, 2999, 3001, 7777, 12_345] {
        let plan = build_plan(sections.clone(), total).unwrap();
        assert_eq!(plan.total_target(), total, "{total}");
        assert!(plan
            .sections
            .iter()
            .all(|s| s.target_words >= 1 && s.state == SectionState::Planned));
    }
}

#[test]
fn missing_targets_get_the_average_or_an_even_share() {
    let plan = build_plan(
        vec![raw("A", Some(400)), raw("B", None), raw("C", Some(800))],
        1800,
    )
    .unwrap();
    assert_eq!(targets(&plan), vec![400, 600, 800]);
    let plan = build_plan(vec![raw("A", None), raw("B", None), raw("C", None)], 1000).unwrap();
    assert_eq!(targets(&plan), vec![334, 333, 333]);
    let plan = build_plan(vec![raw("A", Some(0)), raw("B", Some(300))], 600).unwrap();
    assert_eq!(targets(&plan), vec![300, 300]);
}

#[test]
fn giant_sections_are_split_into_parts() {
    let plan = build_plan(
        vec![titled(
            "The Flood",
            "Everything that happened in 1927",
            10_000,
        )],
        10_000,
    )
    .unwrap();
    // Sections a model can write: at most 1,000 words each, so more of them.
    assert_eq!(plan.len(), 10);
    assert_eq!(targets(&plan), vec![1000; 10]);
    assert_eq!(plan.sections[0].title, "The Flood (part 1/10)");
    assert_eq!(plan.sections[9].title, "The Flood (part 10/10)");
    assert_eq!(
        plan.sections[0].main_point,
        "Everything that happened in 1927"
    );
    assert_eq!(
        plan.sections[1].main_point,
        "Everything that happened in 1927 (continued)"
    );

    let zh = build_plan(vec![titled("洪水", "讲述1927年的洪水", 5000)], 5000).unwrap();
    assert_eq!(zh.len(), 5);
    assert_eq!(zh.sections[0].title, "洪水（第1/5部分）");
    assert_eq!(zh.sections[4].main_point, "讲述1927年的洪水（续）");
    assert_eq!(zh.total_target(), 5000);
}

#[test]
fn tiny_sections_are_merged_into_the_smaller_neighbour() {
    let plan = build_plan(
        vec![
            titled("Big", "Main story", 1000),
            titled("Tiny", "A joke", 10),
            titled("Middle", "The lesson", 600),
            titled("End", "Goodbye", 390),
        ],
        2000,
    )
    .unwrap();
    assert_eq!(plan.len(), 3);
    assert_eq!(plan.sections[1].title, "Middle");
    assert_eq!(plan.sections[1].main_point, "A joke; The lesson");
    assert_eq!(targets(&plan), vec![1000, 610, 390]);

    let plan = build_plan(
        vec![
            raw("Hi", Some(5)),
            raw("Main", Some(900)),
            raw("Bye", Some(5)),
        ],
        910,
    )
    .unwrap();
    assert_eq!(plan.len(), 1);
    assert_eq!(plan.sections[0].main_point, "Hi; Main; Bye");
    assert_eq!(plan.sections[0].title, "Main");
}

#[test]
fn more_sections_than_words_are_merged_until_each_has_one() {
    let sections: Vec<RawSection> = (0..5)
        .map(|i| raw(&format!("Point {i}"), Some(100)))
        .collect();
    let plan = build_plan(sections, 3).unwrap();
    assert_eq!(plan.total_target(), 3);
    assert!(plan.sections.iter().all(|s| s.target_words >= 1));
    assert!(plan.len() <= 3);
}

#[test]
fn splitting_never_exceeds_the_section_cap() {
    let mut sections: Vec<RawSection> = (0..199)
        .map(|i| raw(&format!("Point {i}"), Some(300)))
        .collect();
    sections.push(raw("The giant", Some(40_300)));
    let plan = build_plan(sections, 100_000).unwrap();
    assert_eq!(plan.len(), MAX_SECTIONS);
    assert_eq!(plan.total_target(), 100_000);
}

#[test]
fn too_many_sections_is_an_error_with_advice() {
    let sections: Vec<RawSection> = (0..201)
        .map(|i| raw(&format!("Point {i}"), Some(100)))
        .collect();
    let err = build_plan(sections, 50_000).unwrap_err();
    assert_eq!(
        err,
        PlanError::TooManySections {
            found: 201,
            max: 200
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("201 sections") && msg.contains("at most 200"),
        "{msg}"
    );
    assert!(msg.contains("merge related points"), "{msg}");
}

#[test]
fn a_250_entry_list_is_rejected() {
    let text: String = (1..=250)
        .map(|i| format!("{i}. Scene number {i} of the saga (300 words)\n"))
        .collect();
    let raw = parse_plan(&text).unwrap();
    assert_eq!(raw.len(), 250);
    assert_eq!(
        build_plan(raw, 75_000),
        Err(PlanError::TooManySections {
            found: 250,
            max: 200
        })
    );
}

#[test]
fn a_250_line_plan_is_read_in_full() {
    let mut text = String::from("Sure! Here is the plan for the novel:\n\n");
    for i in 1..=60 {
        text.push_str(&format!("Paragraph {i}\nMain Point: Chapter {i} of the voyage, event {i}.\nWord Count: {} words\n\n", 800 + i * 10));
    }
    text.push_str("I hope this helps!\nLet me know if you want changes.\n");
    assert!(text.lines().count() >= 243);
    let raw = parse_plan(&text).unwrap();
    assert_eq!(raw.len(), 60);
    assert_eq!(raw[59].main_point, "Chapter 60 of the voyage, event 60.");
    assert_eq!(raw[59].target_words, Some(1400));
    // Rescaled to 45,000 words every entry stays within 1,000 words, so none is split.
    let plan = build_plan(raw, 45_000).unwrap();
    assert_eq!(plan.len(), 60);
    assert_eq!(plan.total_target(), 45_000);
}

#[test]
fn errors_name_the_problem_and_the_fix() {
    assert_eq!(
        build_plan(vec![raw("A", Some(10))], 0),
        Err(PlanError::ZeroTotalWords)
    );
    assert!(PlanError::ZeroTotalWords.to_string().contains("0"));
    assert_eq!(
        build_plan(vec![], 1000),
        Err(PlanError::NoSections {
            excerpt: String::new()
        })
    );
    let blank = vec![RawSection {
        title: Some("  ".into()),
        main_point: " ".into(),
        target_words: Some(5),
    }];
    assert!(matches!(
        build_plan(blank, 1000),
        Err(PlanError::NoSections { .. })
    ));

    assert_eq!(parse_plan(" \r\n\t\n"), Err(PlanError::EmptyReply));
    assert!(PlanError::EmptyReply
        .to_string()
        .contains("Paragraph 1 - Main Point"));
    let err = parse_plan("I'm sorry, but I cannot help with that.\nPlease ask something else.")
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PlanError::NoSections { .. }));
    assert!(msg.contains("no plan entries"), "{msg}");
    assert!(
        msg.contains("it began: \"I'm sorry, but I cannot help with that. Please ask"),
        "{msg}"
    );
    assert!(msg.contains("Word Count: <number> words"), "{msg}");
}

#[test]
fn titles_fall_back_to_the_main_point() {
    let only_title = RawSection {
        title: Some("Epilogue".into()),
        main_point: String::new(),
        target_words: None,
    };
    let plan = build_plan(
        vec![
            only_title,
            raw("Describe the harbour at dawn. Then the boats.", None),
        ],
        1000,
    )
    .unwrap();
    assert_eq!(
        (
            plan.sections[0].title.as_str(),
            plan.sections[0].main_point.as_str()
        ),
        ("Epilogue", "Epilogue")
    );
    assert_eq!(plan.sections[1].title, "Describe the harbour at dawn");
}

#[test]
fn fallback_plan_is_an_even_split() {
    let plan = fallback_plan(5000, false);
    assert!(plan.fallback);
    assert_eq!(plan.len(), 7);
    assert_eq!(plan.total_target(), 5000);
    assert_eq!(plan.sections[0].title, "Introduction");
    assert_eq!(plan.sections[1].title, "Part 1");
    assert_eq!(plan.sections[6].title, "Conclusion");
    assert!(plan
        .sections
        .iter()
        .all(|s| !s.main_point.is_empty() && s.state == SectionState::Planned));
    let (min, max) = section_bounds(5000);
    assert!(plan
        .sections
        .iter()
        .all(|s| (min..=max).contains(&s.target_words)));

    let zh = fallback_plan(2000, true);
    assert_eq!(zh.len(), 3);
    let titles: Vec<&str> = zh.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, vec!["引言", "第1部分", "结语"]);
    assert!(zh.sections[0].main_point.contains("主题"));

    assert_eq!(fallback_plan(300, false).sections[0].title, "Main text");
    assert_eq!(fallback_plan(0, true).total_target(), 1);
    let huge = fallback_plan(10_000_000, false);
    assert_eq!(huge.len(), MAX_SECTIONS);
    assert_eq!(huge.total_target(), 10_000_000);
}

#[test]
fn plan_helpers_and_serde_form() {
    let empty = Plan {
        sections: vec![],
        fallback: false,
        chapters: Vec::new(),
    };
    assert!(empty.is_empty());
    assert_eq!((empty.len(), empty.total_target()), (0, 0));

    let json = r#"{"sections":[{"title":"A","main_point":"Point","target_words":300}]}"#;
    let plan: Plan = serde_json::from_str(json).unwrap();
    assert!(!plan.fallback);
    assert_eq!(plan.sections[0].state, SectionState::Planned);

    let section = Section {
        title: "T".into(),
        main_point: "P".into(),
        target_words: 5,
        state: SectionState::Writing,
    };
    let out = serde_json::to_string(&section).unwrap();
    assert!(out.contains(r#""state":"writing""#), "{out}");
    let back: Section = serde_json::from_str(&out).unwrap();
    assert_eq!(back, section);
}

#[test]
fn json_rows_and_lone_objects_are_read() {
    let rows = r#"[["Intro", "Set the scene in the harbour", 400], ["Storm", "The boats are caught out", "600 words"]]"#;
    let raw = parse_plan(rows).unwrap();
    assert_eq!(raw.len(), 2);
    assert_eq!(raw[0].title.as_deref(), Some("Intro"));
    assert_eq!(raw[1].main_point, "The boats are caught out");
    assert_eq!(raw[1].target_words, Some(600));

    let broken = "[\n  // opening\n  {\"title\": \"A\", \"main_point\": \"Alpha\", \"word_count\": 300},\n  {\"title\": \"B\", \"main_point\": \"Beta\", \"word_count\": 600}\n]";
    let raw = parse_plan(broken).unwrap();
    let points: Vec<&str> = raw.iter().map(|r| r.main_point.as_str()).collect();
    assert_eq!(points, vec!["Alpha", "Beta"]);
}
