//! Unit tests for the plan helpers: word-count extraction, numerals, title
//! derivation, line pieces and rescaling.

use super::count::{extract_count, parse_count_str};
use super::piece::parse_piece;
use super::text::{clean, derive_title};
use super::validate::rescale;

#[test]
fn counts_are_found_and_cut_out() {
    let cases: &[(&str, Option<usize>, &str)] = &[
        (
            "Introduction (about 1,200 words)",
            Some(1200),
            "Introduction",
        ),
        ("Intro (~800 words)", Some(800), "Intro"),
        ("Intro [600 words]", Some(600), "Intro"),
        ("Intro — 600 words", Some(600), "Intro —"),
        (
            "Main Point: X - Word Count: 500 words",
            Some(500),
            "Main Point: X -",
        ),
        (
            "Main Point: X - Word count: 500",
            Some(500),
            "Main Point: X -",
        ),
        ("Word Count: approximately 450", Some(450), ""),
        ("**Word Count:** 700 words", Some(700), "**"),
        ("Body (500-700 words)", Some(600), "Body"),
        ("Body (500 to 700 words)", Some(600), "Body"),
        ("Write a 400-word scene", Some(400), "Write a scene"),
        ("Body (1.5k words)", Some(1500), "Body"),
        ("引言（约800字）", Some(800), "引言"),
        ("引言（约五百字）", Some(500), "引言"),
        ("历史（约一千二百字）", Some(1200), "历史"),
        ("结尾，字数：三千五", Some(3500), "结尾，"),
        ("内容 - 字数要求：300字", Some(300), "内容 -"),
        ("开头（字数：６００字）", Some(600), "开头"),
        ("Paragraph 1 - 500 words", Some(500), "Paragraph 1 -"),
        (
            "The 3 words that changed history",
            None,
            "The 3 words that changed history",
        ),
        (
            "Paragraph 2: the year 1969",
            None,
            "Paragraph 2: the year 1969",
        ),
        ("Length: 3 paragraphs", None, "Length: 3 paragraphs"),
        ("第一部分：背景", None, "第一部分：背景"),
    ];
    for (text, count, rest) in cases {
        assert_eq!(extract_count(text), (*count, rest.to_string()), "{text}");
    }
}

#[test]
fn count_strings_from_json() {
    assert_eq!(parse_count_str("500 words"), Some(500));
    assert_eq!(parse_count_str("500字"), Some(500));
    assert_eq!(parse_count_str("about 1,200"), Some(1200));
    assert_eq!(parse_count_str("五百"), Some(500));
    assert_eq!(parse_count_str("n/a"), None);
}

#[test]
fn titles_are_derived_from_main_points() {
    let cases = [
        (
            "Introduce the topic, give context and state the thesis.",
            "Introduce the topic",
        ),
        (
            "Describe the harbour at dawn.",
            "Describe the harbour at dawn",
        ),
        (
            "One two three four five six seven eight nine ten",
            "One two three four five six seven eight",
        ),
        ("Causes: demand-pull and cost-push", "Causes"),
        (
            "介绍人工智能的起源，包括图灵测试和达特茅斯会议。",
            "介绍人工智能的起源",
        ),
        (
            "回顾专家系统和两次人工智能寒冬与复兴的漫长历史过程",
            "回顾专家系统和两次人工智能寒冬与",
        ),
        ("**Bold** start of a point", "Bold start of a point"),
    ];
    for (point, title) in cases {
        assert_eq!(derive_title(point), title, "{point}");
    }
}

#[test]
fn clean_trims_separators_and_empty_brackets() {
    assert_eq!(clean("  - Intro —  () "), "Intro");
    assert_eq!(clean("A -  - B"), "A - B");
    assert_eq!(clean("：引言，"), "引言");
}

#[test]
fn pieces_split_titles_fields_and_labels() {
    let p = parse_piece("Paragraph 3 - Main Point: Explain X - Word Count: 500 words");
    assert_eq!(
        (p.title, p.point.as_deref(), p.count),
        (None, Some("Explain X"), Some(500))
    );
    let p = parse_piece("**The Launch** — Countdown and ignition [900 words]");
    assert_eq!(p.title.as_deref(), Some("The Launch"));
    assert_eq!(p.point.as_deref(), Some("Countdown and ignition"));
    let p = parse_piece("Section 2: Methods");
    assert_eq!(
        (p.point.as_deref(), p.point_is_head),
        (Some("Methods"), true)
    );
    let p = parse_piece("第二部分：离开家乡（约1200字）");
    assert_eq!(
        (p.point.as_deref(), p.count),
        (Some("离开家乡"), Some(1200))
    );
    let p = parse_piece("Title: The Storm | Main Point: The boat capsizes | Words: 700");
    assert_eq!(p.title.as_deref(), Some("The Storm"));
    assert_eq!(
        (p.point.as_deref(), p.count),
        (Some("The boat capsizes"), Some(700))
    );
    let p = parse_piece("Discuss the long history of the many wars of the region: causes");
    assert_eq!(p.title, None);
}

#[test]
fn rescale_is_exact_and_keeps_every_target_positive() {
    assert_eq!(rescale(&[1, 1, 1], 10), vec![4, 3, 3]);
    assert_eq!(rescale(&[500, 800, 700], 1000), vec![250, 400, 350]);
    assert_eq!(rescale(&[0, 0], 5), vec![3, 2]);
    assert_eq!(rescale(&[1_000_000, 1], 10), vec![9, 1]);
    let r = rescale(&[3, 7, 11, 13, 17], 12_345);
    assert_eq!(r.iter().sum::<usize>(), 12_345);
    assert_eq!(
        rescale(&[usize::MAX, usize::MAX], usize::MAX)
            .iter()
            .map(|x| *x as u128)
            .sum::<u128>(),
        usize::MAX as u128
    );
}
