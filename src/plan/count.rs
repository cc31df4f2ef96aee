//! Word counts in plan text: reading Arabic numbers (thousands commas,
//! decimals, a `k` suffix, ranges such as "500-700") and Chinese numerals
//! ("一千二百", "三千五"), deciding whether a number is a word count (a unit
//! such as "words"/"字" after it, or a label such as "Word Count:"/"字数" before
//! it), and cutting the whole expression, brackets included, out of the line.

use super::text::{collapse, folded, match_at, match_before, skip_ws};

const OPEN: &[char] = &['(', '（', '[', '【', '{'];
const CLOSE: &[char] = &[')', '）', ']', '】', '}'];
const UNITS: &[&str] = &["words", "word", "wds", "个字", "字"];
const APPROX: &[&str] = &[
    "approximately",
    "approx.",
    "approx",
    "about",
    "around",
    "roughly",
    "circa",
    "nearly",
    "~",
    "≈",
    "～",
    "大约",
    "大概",
    "约",
];
/// Labels that introduce a word count ("Word Count:", "字数：").
pub(crate) const COUNT_LABELS: &[&str] = &[
    "target word count",
    "estimated word count",
    "approximate word count",
    "approx. word count",
    "word counts",
    "word count",
    "wordcount",
    "word target",
    "word limit",
    "target length",
    "target words",
    "words",
    "length",
    "target",
    "字数要求",
    "目标字数",
    "预计字数",
    "字数",
    "篇幅",
    "长度",
];

/// Moves `end` back over whitespace and markdown emphasis.
fn skip_back(cs: &[char], mut end: usize) -> usize {
    while end > 0 && (cs[end - 1].is_whitespace() || cs[end - 1] == '*') {
        end -= 1;
    }
    end
}

/// True for characters that make up a Chinese numeral.
pub(crate) fn is_cn_numeral(c: char) -> bool {
    crate::text::numerals::is_cjk_numeral(c)
}

/// Reads a number (Arabic with thousands commas, decimals and a `k` suffix,
/// or a Chinese numeral) starting at `i`; returns its value and end.
pub(crate) fn scan_number(cs: &[char], i: usize) -> Option<(u64, usize)> {
    let c = *cs.get(i)?;
    let prev = i.checked_sub(1).and_then(|p| cs.get(p)).copied();
    if c.is_ascii_digit() {
        if prev.is_some_and(|p| p.is_ascii_alphanumeric() || p == '.') {
            return None;
        }
        return Some(scan_arabic(cs, i));
    }
    if is_cn_numeral(c) && !prev.is_some_and(is_cn_numeral) {
        return Some(scan_cn(cs, i));
    }
    None
}

fn scan_arabic(cs: &[char], i: usize) -> (u64, usize) {
    let digit = |j: usize| cs.get(j).is_some_and(|c| c.is_ascii_digit());
    let mut j = i;
    let mut int: u64 = 0;
    while let Some(&c) = cs.get(j) {
        if let Some(d) = c.to_digit(10) {
            int = int.saturating_mul(10).saturating_add(u64::from(d));
        } else if c != ',' || !(digit(j + 1) && digit(j + 2) && digit(j + 3)) || digit(j + 4) {
            break;
        }
        j += 1;
    }
    let mut value = int as f64;
    if cs.get(j) == Some(&'.') && digit(j + 1) {
        let mut scale = 0.1;
        j += 1;
        while let Some(d) = cs.get(j).and_then(|c| c.to_digit(10)) {
            value += f64::from(d) * scale;
            scale /= 10.0;
            j += 1;
        }
    }
    if cs.get(j) == Some(&'k') && !cs.get(j + 1).is_some_and(|c| c.is_ascii_alphabetic()) {
        value *= 1000.0;
        j += 1;
    }
    (value.round() as u64, j)
}

/// Reads the Chinese numeral starting at `i` with the same rules as length extraction.
fn scan_cn(cs: &[char], i: usize) -> (u64, usize) {
    let end = (i..cs.len())
        .find(|&j| !is_cn_numeral(cs[j]))
        .unwrap_or(cs.len());
    let value = crate::text::numerals::parse_chinese_numeral(&cs[i..end]).unwrap_or(0);
    (value, end)
}

/// A word count found in a line: its value, the span to cut out, and whether a label named it.
#[derive(Debug, Clone, Copy)]
struct CountHit {
    value: u64,
    start: usize,
    end: usize,
    labeled: bool,
}

/// Finds the word count in `text` and returns it (None when absent or 0)
/// together with the text without it (whitespace-collapsed, not trimmed of
/// separators). A labelled count ("Word count: 500") wins over a bare one
/// ("500 words"); among equals, the last one wins.
pub(crate) fn extract_count(text: &str) -> (Option<usize>, String) {
    let orig: Vec<char> = text.chars().collect();
    let cs = folded(text);
    let mut best: Option<CountHit> = None;
    let mut i = 0;
    while i < cs.len() {
        let Some((value, end)) = scan_number(&cs, i) else {
            i += 1;
            continue;
        };
        match qualify(&cs, i, end, value) {
            Some(hit) => {
                if best.is_none_or(|b| !b.labeled || hit.labeled) {
                    best = Some(hit);
                }
                i = hit.end.max(i + 1);
            }
            None => i = end.max(i + 1),
        }
    }
    let Some(hit) = best else {
        return (None, collapse(text));
    };
    let (s, e) = widen(&cs, hit.start, hit.end);
    let mut rest: String = orig[..s].iter().collect();
    rest.push(' ');
    rest.extend(&orig[e..]);
    let value = usize::try_from(hit.value).unwrap_or(usize::MAX);
    ((value > 0).then_some(value), collapse(&rest))
}

/// Decides whether the number at `start..end` is a word count.
fn qualify(cs: &[char], start: usize, end: usize, value: u64) -> Option<CountHit> {
    let (value, end) = extend_range(cs, end, value);
    let unit_end = unit_after(cs, end);
    let mut s = start;
    let b = skip_back(cs, s);
    if let Some(a) = APPROX.iter().find_map(|p| match_before(cs, b, p)) {
        s = a;
    }
    let label = label_before(cs, s);
    let ok = match (label, unit_end) {
        (Some(_), Some(_)) => true,
        (Some(_), None) => {
            value >= 10 || cs.get(skip_ws(cs, end)).is_none_or(|c| !c.is_alphabetic())
        }
        (None, Some(_)) => value >= 10,
        (None, None) => false,
    };
    ok.then(|| CountHit {
        value,
        start: label.unwrap_or(s),
        end: unit_end.unwrap_or(end),
        labeled: label.is_some(),
    })
}

/// Reads "500-700" / "500 to 700" / "500至700" as the average of both ends.
fn extend_range(cs: &[char], end: usize, value: u64) -> (u64, usize) {
    let j = skip_ws(cs, end);
    let spaced = j > end;
    let after = match cs.get(j) {
        Some('-' | '–' | '—' | '~' | '～' | '至' | '到') => Some(j + 1),
        _ => match_at(cs, j, "to"),
    };
    let Some(after) = after else {
        return (value, end);
    };
    let k = skip_ws(cs, after);
    match scan_number(cs, k) {
        Some((v2, e2))
            if value >= 10 && v2 >= value && (!spaced || v2 <= value.saturating_mul(3)) =>
        {
            (value / 2 + v2 / 2 + (value % 2 + v2 % 2) / 2, e2)
        }
        _ => (value, end),
    }
}

/// End of a unit ("words", "字", "个字左右", an attached "w") right after a number.
fn unit_after(cs: &[char], end: usize) -> Option<usize> {
    if cs.get(end) == Some(&'w') && !cs.get(end + 1).is_some_and(|c| c.is_alphabetic()) {
        return Some(end + 1);
    }
    let mut j = skip_ws(cs, end);
    if cs.get(j) == Some(&'-') {
        j += 1;
    }
    let e = UNITS.iter().find_map(|u| match_at(cs, j, u))?;
    let k = skip_ws(cs, e);
    Some(
        ["左右", "上下"]
            .iter()
            .find_map(|p| match_at(cs, k, p))
            .unwrap_or(e),
    )
}

/// Start of a count label ("Word count:", "字数") that ends right before `s`.
fn label_before(cs: &[char], s: usize) -> Option<usize> {
    let mut b = skip_back(cs, s);
    if b > 0 && matches!(cs[b - 1], ':' | '：' | '=') {
        b = skip_back(cs, b - 1);
    }
    COUNT_LABELS.iter().find_map(|l| match_before(cs, b, l))
}

/// Grows a cut to swallow the brackets around it: "(about 500 words)".
fn widen(cs: &[char], s: usize, e: usize) -> (usize, usize) {
    let l = skip_back(cs, s);
    let r = skip_ws(cs, e);
    let opens = l > 0 && OPEN.contains(&cs[l - 1]);
    let closes = cs.get(r).is_some_and(|c| CLOSE.contains(c));
    if opens && closes {
        (l - 1, r + 1)
    } else {
        (s, e)
    }
}

/// The first positive number in `s`, whatever follows it.
pub(crate) fn first_number(s: &str) -> Option<usize> {
    let cs = folded(s);
    (0..cs.len())
        .filter_map(|i| scan_number(&cs, i))
        .map(|(v, _)| usize::try_from(v).unwrap_or(usize::MAX))
        .find(|v| *v > 0)
}

/// A word count given as a string: "500 words", "500字", "about 1,200", "五百".
pub(crate) fn parse_count_str(s: &str) -> Option<usize> {
    extract_count(s).0.or_else(|| first_number(s))
}
