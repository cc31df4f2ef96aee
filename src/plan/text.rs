//! Character-level helpers shared by the plan parsers: folding full-width
//! digits and ASCII case, matching lower-case phrases at word boundaries,
//! tidying separators and markdown, joining main points, and deriving a
//! short title from a main point. Matching works on `char` indices, so CJK
//! text is never cut inside a code point.

/// Separators trimmed from both ends of titles and main points.
const EDGE: &[char] = &[
    '-', '–', '—', '|', ',', '，', ';', '；', ':', '：', '、', '/', '*', '·', '•', '>', '_', '=',
    '#',
];

/// Folds full-width digits to ASCII, ASCII letters to lower case and `_` to
/// a space (so "word_count:" reads like "word count:").
pub(crate) fn fold(c: char) -> char {
    if ('０'..='９').contains(&c) {
        return char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c);
    }
    if c == '_' {
        return ' ';
    }
    c.to_ascii_lowercase()
}

/// The folded characters of `s`, index-aligned with `s.chars()`.
pub(crate) fn folded(s: &str) -> Vec<char> {
    s.chars().map(fold).collect()
}

/// True for CJK ideographs.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(u32::from(c), 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// True when `s` is mainly written in CJK characters.
pub(crate) fn mostly_cjk(s: &str) -> bool {
    let cjk = s.chars().filter(|c| is_cjk(*c)).count();
    let latin = s.chars().filter(|c| c.is_ascii_alphabetic()).count();
    cjk > 0 && cjk * 3 >= latin
}

/// End of `pat` (lower case) when it occurs in `cs` at `i` and does not run on into a letter.
pub(crate) fn match_at(cs: &[char], i: usize, pat: &str) -> Option<usize> {
    let mut j = i;
    for p in pat.chars() {
        if cs.get(j) != Some(&p) {
            return None;
        }
        j += 1;
    }
    let ends_alpha = pat.ends_with(|c: char| c.is_ascii_alphabetic());
    if ends_alpha && cs.get(j).is_some_and(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(j)
}

/// Start of `pat` when it ends exactly at `end` and is not the tail of a longer word.
pub(crate) fn match_before(cs: &[char], end: usize, pat: &str) -> Option<usize> {
    let start = end.checked_sub(pat.chars().count())?;
    match_at(cs, start, pat)?;
    let starts_alpha = pat.starts_with(|c: char| c.is_ascii_alphabetic());
    if starts_alpha && start > 0 && cs[start - 1].is_ascii_alphabetic() {
        return None;
    }
    Some(start)
}

/// First index at or after `i` that is not whitespace.
pub(crate) fn skip_ws(cs: &[char], mut i: usize) -> usize {
    while cs.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

/// Collapses runs of whitespace into one space and trims the ends.
pub(crate) fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Collapses whitespace, drops doubled separators and empty brackets, and
/// trims separators from both ends.
pub(crate) fn clean(s: &str) -> String {
    let is_sep = |w: &str| w.chars().all(|c| EDGE.contains(&c));
    let mut out: Vec<&str> = Vec::new();
    for w in s.split_whitespace() {
        let empty_brackets = matches!(w, "()" | "（）" | "[]" | "【】");
        if empty_brackets || (is_sep(w) && out.last().is_some_and(|p| is_sep(p))) {
            continue;
        }
        out.push(w);
    }
    let joined = out.join(" ");
    joined
        .trim_matches(|c: char| c.is_whitespace() || EDGE.contains(&c))
        .to_string()
}

/// Removes markdown emphasis and code marks (`**`, `__`, backticks).
pub(crate) fn strip_md(s: &str) -> String {
    s.replace("**", "").replace("__", "").replace('`', "")
}

/// [`strip_md`] followed by [`clean`].
pub(crate) fn tidy(s: &str) -> String {
    clean(&strip_md(s))
}

/// Joins two main points, with a separator that suits the script.
pub(crate) fn join_points(a: &str, b: &str) -> String {
    if a.is_empty() {
        return b.to_string();
    }
    let sep = if mostly_cjk(a) { "；" } else { "; " };
    format!("{}{sep}{b}", a.trim_end_matches([';', '；', '.', '。']))
}

/// A short title from a main point: its first clause, at most 8 words or 16
/// CJK characters, without trailing punctuation.
pub(crate) fn derive_title(point: &str) -> String {
    let text = collapse(&strip_md(point));
    let clause = first_clause(&text);
    let short: String = if mostly_cjk(clause) {
        let cut = clause
            .find(['，', '、'])
            .filter(|p| clause[..*p].chars().count() >= 4);
        cut.map_or(clause, |p| &clause[..p])
            .chars()
            .take(16)
            .collect()
    } else {
        let words: Vec<&str> = clause.split_whitespace().take(8).collect();
        let comma = words
            .iter()
            .position(|w| w.ends_with(','))
            .filter(|p| *p >= 1);
        words[..comma.map_or(words.len(), |p| p + 1)].join(" ")
    };
    let trail: &[char] = &[
        ',', '，', '、', '.', '。', '-', '—', '–', ':', '：', ';', '；', '(', '（',
    ];
    let title = short.trim_matches(|c: char| c.is_whitespace() || trail.contains(&c));
    if title.is_empty() {
        text.chars().take(40).collect()
    } else {
        title.to_string()
    }
}

/// The text up to the first sentence or clause end (kept whole if that is empty).
fn first_clause(text: &str) -> &str {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(pos, c)) in chars.iter().enumerate() {
        let next = chars.get(k + 1).map(|(_, n)| *n);
        let hard = matches!(c, '。' | '！' | '？' | '；' | '：' | '!' | '?' | ';' | ':');
        let period = c == '.' && next.is_none_or(char::is_whitespace);
        if (hard || period) && pos > 0 {
            return &text[..pos];
        }
    }
    text
}

/// The first `max` characters of `s` on one line, for error messages.
pub(crate) fn excerpt(s: &str, max: usize) -> String {
    let flat = collapse(s);
    let mut out: String = flat.chars().take(max).collect();
    if flat.chars().count() > max {
        out.push('…');
    }
    out
}
