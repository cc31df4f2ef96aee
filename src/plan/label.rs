//! Entry labels and list enumerators at the start of a line: "3.", "3)",
//! "(3)", "三、", "IV.", "Paragraph 3", "Part II", "Section A:", "第三部分",
//! "段落1". Used to classify lines and to strip these prefixes from titles
//! and main points.

use super::count::is_cn_numeral;
use super::text::{folded, match_at, skip_ws};

const ENTRY_WORDS: &[&str] = &[
    "body paragraph",
    "paragraph",
    "para.",
    "para",
    "section",
    "part",
    "chapter",
    "segment",
];
const NUMBER_WORDS: &[&str] = &[
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve",
];
const CN_ENTRY_UNITS: &[&str] = &[
    "个段落",
    "段落",
    "个部分",
    "部分",
    "小节",
    "段",
    "章",
    "节",
    "篇",
    "点",
];
const LEAD: &[char] = &[
    ':', '：', '-', '–', '—', '|', '.', '、', ')', '）', ',', '，', '>', '=',
];
/// Removes leading separators, enumerators ("3.", "(2)", "三、", "IV.") and
/// entry labels ("Paragraph 3", "Section 2:", "第三部分", "段落1").
pub(crate) fn strip_lead(text: &str) -> String {
    let trim = |s: &str| -> String {
        s.trim_start_matches(|c: char| c.is_whitespace() || LEAD.contains(&c))
            .to_string()
    };
    let mut t = trim(text);
    for _ in 0..3 {
        let cs = folded(&t);
        let Some(end) = enumerator_end(&cs).or_else(|| entry_label_end(&cs)) else {
            break;
        };
        t = trim(&t.chars().skip(end).collect::<String>());
    }
    t
}

/// End of a list enumerator at the start of `cs` (folded): "3.", "3)", "3、",
/// "(3)", "（三）", "三、", "IV.".
pub(crate) fn enumerator_end(cs: &[char]) -> Option<usize> {
    let digits = cs.iter().take_while(|c| c.is_ascii_digit()).count();
    if (1..=3).contains(&digits) {
        let next = cs.get(digits + 1);
        let ok = match cs.get(digits) {
            Some('.' | '．') => next.is_none_or(|c| !c.is_ascii_digit()),
            Some(')' | '）' | '、') => true,
            Some(':' | '：') => digits <= 2 && next.is_none_or(|c| c.is_whitespace()),
            _ => false,
        };
        return ok.then_some(digits + 1);
    }
    if matches!(cs.first(), Some('(' | '（')) {
        let inner = cs.get(1..).unwrap_or_default();
        let d = inner
            .iter()
            .take_while(|c| c.is_ascii_digit() || is_cn_numeral(**c))
            .count();
        if d > 0 && matches!(cs.get(1 + d), Some(')' | '）')) {
            return Some(d + 2);
        }
    }
    let cn = cs.iter().take_while(|c| is_cn_numeral(**c)).count();
    if (1..=3).contains(&cn) && matches!(cs.get(cn), Some('、' | '．')) {
        return Some(cn + 1);
    }
    let roman = cs.iter().take_while(|c| "ivxlc".contains(**c)).count();
    let roman_ok = matches!(cs.get(roman), Some('.' | ')'))
        && cs.get(roman + 1).is_none_or(|c| c.is_whitespace());
    ((1..=6).contains(&roman) && roman_ok).then_some(roman + 1)
}

/// End of an entry label at the start of `cs` (folded): "paragraph 3",
/// "part ii", "section a", "第三部分", "段落1".
pub(crate) fn entry_label_end(cs: &[char]) -> Option<usize> {
    for w in ENTRY_WORDS {
        if let Some(j) = match_at(cs, 0, w) {
            if let Some(e) = label_number_end(cs, skip_ws(cs, j)) {
                return Some(e);
            }
        }
    }
    if cs.first() == Some(&'第') {
        let e = skip_ws(cs, numeral_run_end(cs, 1)?);
        return CN_ENTRY_UNITS.iter().find_map(|u| match_at(cs, e, u));
    }
    ["段落", "部分", "章节"]
        .iter()
        .find_map(|w| numeral_run_end(cs, skip_ws(cs, match_at(cs, 0, w)?)))
}

fn numeral_run_end(cs: &[char], i: usize) -> Option<usize> {
    let rest = cs.get(i..)?;
    let n = rest
        .iter()
        .take_while(|c| c.is_ascii_digit() || is_cn_numeral(**c))
        .count();
    (n > 0).then_some(i + n)
}

/// End of the number after an entry word: digits, a number word, a roman
/// numeral or a single letter (the last two only before a separator).
fn label_number_end(cs: &[char], k: usize) -> Option<usize> {
    let rest = cs.get(k..)?;
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 {
        return Some(k + digits);
    }
    if let Some(e) = NUMBER_WORDS.iter().find_map(|w| match_at(cs, k, w)) {
        return Some(e);
    }
    let roman = rest.iter().take_while(|c| "ivxlc".contains(**c)).count();
    let letters = match roman {
        0 => usize::from(rest.first().is_some_and(|c| c.is_ascii_alphabetic())),
        n => n,
    };
    let e = k + letters;
    let after = cs.get(skip_ws(cs, e));
    let sep_next = after.is_none_or(|c| ":：.)-–—|,(（*".contains(*c));
    let whole_word = !cs.get(e).is_some_and(|c| c.is_alphanumeric());
    (letters > 0 && whole_word && sep_next).then_some(e)
}
