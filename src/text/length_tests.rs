//! Table tests for target-length extraction ([`super::extract_target_length`]).

use super::extract_target_length;

#[test]
fn english_lengths() {
    let cases: &[(&str, Option<usize>)] = &[
        ("Write a 5,000-word essay on rivers.", Some(5000)),
        ("Tell a story in about 3000 words.", Some(3000)),
        ("Summarize it within 200 words.", Some(200)),
        ("Please write a 2400 words thesis on telecom.", Some(2400)),
        ("The post should be no less than 2000 words.", Some(2000)),
        ("Describe the sun in approximately 150 words", Some(150)),
        ("Write 300words about tea", Some(300)),
        ("A 10k-word novella", Some(10000)),
        ("Write two thousand five hundred words on Rome", Some(2500)),
        ("Write a fifteen-hundred-word essay", Some(1500)),
        ("Write 1,000-1,500 words on soil", Some(1500)),
        ("between 800 and 1200 words please", Some(1200)),
        ("Word count: 1800", Some(1800)),
        ("Write 3 essays, each 500 words", Some(1500)),
        ("Write 5 poems of 100 words each", Some(500)),
        ("Plan a 7 days trip, 300 words per day", Some(2100)),
        ("Summarize this 5000-word article in 200 words", Some(200)),
        ("Write a 20-page report", Some(5000)),
        ("Write 1000 Chinese characters about tea", Some(1000)),
        ("List the Top 10 cities to visit in 2024", None),
        ("Plan 5 days in Rome for 2 people", None),
        ("Use 50 keywords in a 3D scene", None),
        ("Write a poem.", None),
        (
            "Write a 1000 word essay. The first paragraph should be 100 words.",
            Some(1000),
        ),
        (
            "Each chapter should be around 2000 words, and the whole novel 10000 words.",
            Some(10000),
        ),
        ("Write an essay (2,000+ words)", Some(2000)),
        ("Write 500 to 700 words", Some(700)),
        (
            "Each diary entry should be about 300 words. Write 7 entries.",
            Some(2100),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(extract_target_length(text), *want, "{text}");
    }
}

#[test]
fn chinese_lengths() {
    let cases: &[(&str, Option<usize>)] = &[
        ("写一篇10000字的小说", Some(10000)),
        ("扩写到八百字", Some(800)),
        ("写一份两千字的教案", Some(2000)),
        ("写一篇三千字开题报告", Some(3000)),
        ("五千字的科幻小说", Some(5000)),
        ("详细介绍孙子，七千字", Some(7000)),
        ("写一篇2万字的报告", Some(20000)),
        ("写一篇1.5万字的行业报告", Some(15000)),
        ("议论文，不少于800字。", Some(800)),
        ("字数：2000", Some(2000)),
        ("字数要求：2000", Some(2000)),
        ("(2000字)", Some(2000)),
        ("2000字左右", Some(2000)),
        ("写一篇10000字的文章", Some(10000)),
        ("字数要求：2000左右", Some(2000)),
        ("讲稿字数1400左右", Some(1400)),
        ("造价咨询服务进度保障措施（2000字）", Some(2000)),
        ("法真简介，200字左右", Some(200)),
        ("积极心理学入门课15000字", Some(15000)),
        ("写一篇一千五百字的散文", Some(1500)),
        ("写一篇一千五的散文，字数：一千五", Some(1500)),
        ("写两万字小说", Some(20000)),
        ("字数要求100至200字。", Some(200)),
        ("300到400字", Some(400)),
        ("1000字-1500字", Some(1500)),
        ("写一篇2000多字的游记", Some(2000)),
        ("写一篇300词的英语作文", Some(300)),
        ("写５００字", Some(500)),
        (
            "创作五篇日记。行程5天，每天一篇。每篇400字左右。",
            Some(2000),
        ),
        ("分两部分写，各写1000字", Some(2000)),
        ("分为20次课讲解，每节课500字", Some(10000)),
        ("每篇300字，共写5篇", Some(1500)),
        ("共五幕（10000字中文）", Some(10000)),
        (
            "2023年9月23日举行，采访2个小时左右，大约要1200字的问题",
            Some(1200),
        ),
        ("设计一份90分钟的两千字教案", Some(2000)),
        ("用户增长30%，月活50万。讲稿字数1400左右。", Some(1400)),
        ("2024年的计划，分20次课，第1段", None),
        ("十字路口的故事，一字一句", None),
        ("千万别错过", None),
        ("每次食用2-3克左右", None),
        ("写一首诗", None),
        ("写一篇文章，分五部分，每部分400字", Some(2000)),
        ("写5篇文章，每篇2000字，总计10000字", Some(10000)),
        ("请将以下3000字的文章总结为300字", Some(300)),
        ("写一篇三四千字的文章", Some(4000)),
        ("写一篇10w字的小说", Some(100_000)),
        ("输入500个汉字", Some(500)),
    ];
    for (text, want) in cases {
        assert_eq!(extract_target_length(text), *want, "{text}");
    }
}

/// Deterministic pseudo-random instructions built from tricky fragments must
/// never panic, and any length found must be in the plausible range.
#[test]
fn never_panics_on_fragment_soup() {
    const FRAGMENTS: [&str; 24] = [
        "hundred ", "thousand", "a ", "and ", "9", ",", "000", ".", "5", "k", "万", "千", "两",
        "十", "零", "字", "每篇", "各", "each ", "words", "-", "第", "中文", "\n",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..3000 {
        let mut s = String::new();
        for _ in 0..12 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let i = usize::try_from(state >> 59).unwrap_or(0) % FRAGMENTS.len();
            s.push_str(FRAGMENTS[i]);
        }
        if let Some(n) = extract_target_length(&s) {
            assert!(n >= 10, "{s:?} gave {n}");
        }
    }
    let huge = "hundred ".repeat(50) + "words";
    assert_eq!(extract_target_length(&huge), None);
    assert_eq!(extract_target_length(&"9".repeat(400)), None);
}
