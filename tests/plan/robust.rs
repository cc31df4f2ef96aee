//! Robustness: pseudo-random replies built from the characters and words
//! that matter to the parser (markers, brackets, numerals, labels, JSON
//! punctuation) must never panic, and whatever is read must build into a
//! plan whose targets sum to the requested total.

use longwriter::plan::{build_plan, parse_plan, section_bounds};

const TOKENS: &[&str] = &[
    "1.",
    "2)",
    "(3)",
    "三、",
    "IV.",
    "- ",
    "* ",
    "+ ",
    "**",
    "__",
    "# ",
    "### ",
    "|",
    "|---|",
    ":",
    "：",
    " - ",
    " — ",
    "（",
    "）",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "\"",
    ",",
    "，",
    "\n",
    "\n\n",
    "\r\n",
    "  ",
    "words",
    " words",
    "字",
    "约",
    "about ",
    "~",
    "500",
    "1,200",
    "9",
    "0",
    "五百",
    "一千二百",
    "万万万万万",
    "99999999999999999999",
    "1.5k",
    "200-300",
    "Paragraph ",
    "Section ",
    "Part II",
    "第1段",
    "第一部分",
    "段落2",
    "Main Point: ",
    "Word Count: ",
    "字数：",
    "主要内容：",
    "Title: ",
    "Total: ",
    "Sure! ",
    "I hope this helps",
    "Introduction",
    "引言",
    "```json\n",
    "```",
    "\"title\": ",
    "\"main_point\": ",
    "\"word_count\": ",
    "[{",
    "}]",
    "ä",
    "é",
];

#[test]
fn random_replies_never_panic() {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let len = (next() % 120) as usize;
        let reply: String = (0..len)
            .map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize])
            .collect();
        let total = [1, 50, 999, 5000, 20_000, 1_000_000][round % 6];
        let Ok(raw) = parse_plan(&reply) else {
            continue;
        };
        assert!(
            raw.iter().all(|r| !r.main_point.trim().is_empty()),
            "{reply:?}"
        );
        if let Ok(plan) = build_plan(raw, total) {
            assert_eq!(plan.total_target(), total, "{reply:?}");
            let (_, max) = section_bounds(total);
            assert!(
                plan.sections
                    .iter()
                    .all(|s| s.target_words >= 1 && s.target_words <= max),
                "{reply:?}"
            );
        }
    }
}
