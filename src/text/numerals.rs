//! Number recognition inside instructions.
//!
//! [`scan_numbers`] finds every number written with Arabic digits (with
//! thousands separators, decimals, full-width digits and `k`/`千`/`万`
//! suffixes), with Chinese numerals (`两千`, `一千五百`, colloquial `一千五`)
//! or with English number words (`two thousand`). It says nothing about what
//! a number measures; the length extractor decides that from its context.

/// How a number was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumKind {
    /// Arabic digits, e.g. `5,000`, `1.5万`, `10k`.
    Arabic,
    /// Chinese numerals, e.g. `两千`, `一千五百`.
    Chinese,
    /// English number words, e.g. `two thousand`.
    English,
}

/// One number found in a char slice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NumToken {
    /// The value, suffix multipliers applied.
    pub value: f64,
    /// Index of the first char.
    pub start: usize,
    /// Index one past the last char (suffix included).
    pub end: usize,
    /// How the number was written.
    pub kind: NumKind,
    /// A lone Chinese numeral char (`五`, `十`): a count, never a length
    /// (`十字路口`, `一字一句`, `八字`).
    pub single_cjk: bool,
}

/// The chars of `text` with full-width digits and the ideographic space
/// mapped to ASCII, ready for [`scan_numbers`].
pub(crate) fn normalized_chars(text: &str) -> Vec<char> {
    text.chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// Value of a Chinese digit char.
fn cjk_digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// Value of a Chinese multiplier char.
fn cjk_unit(c: char) -> Option<u64> {
    Some(match c {
        '十' => 10,
        '百' => 100,
        '千' => 1_000,
        '万' => 10_000,
        '亿' => 100_000_000,
        _ => return None,
    })
}

/// True for characters that make up a Chinese numeral.
pub(crate) fn is_cjk_numeral(c: char) -> bool {
    cjk_digit(c).is_some() || cjk_unit(c).is_some()
}

/// Parses a run of Chinese numeral chars. Consecutive digits (`三四千`, a
/// colloquial range) keep the later, larger one; a digit right after a unit
/// of at least 百 scales down one place (`一千五` = 1500, `两万五` = 25000).
pub(crate) fn parse_chinese_numeral(run: &[char]) -> Option<u64> {
    let (mut total, mut section, mut number) = (0u64, 0u64, 0u64);
    let mut last_unit = 0u64;
    let mut prev_unit = false;
    let mut tail = false;
    for &c in run {
        if let Some(d) = cjk_digit(c) {
            tail = prev_unit && d != 0;
            number = d;
            prev_unit = false;
        } else if let Some(u) = cjk_unit(c) {
            if u >= 10_000 {
                let part = section.checked_add(number)?;
                total = total.checked_add(part.max(1).checked_mul(u)?)?;
                section = 0;
            } else {
                let n = if number == 0 && u == 10 { 1 } else { number };
                section = section.checked_add(n.checked_mul(u)?)?;
            }
            number = 0;
            last_unit = u;
            prev_unit = true;
            tail = false;
        } else {
            return None;
        }
    }
    if tail && last_unit >= 100 {
        number = number.checked_mul(last_unit / 10)?;
    }
    total.checked_add(section)?.checked_add(number)
}

/// Value of an English number word.
fn english_word_value(w: &str) -> Option<u64> {
    const ONES: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 8] = [
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    if let Some(i) = ONES.iter().position(|x| *x == w) {
        return u64::try_from(i).ok();
    }
    let i = TENS.iter().position(|x| *x == w)?;
    u64::try_from(i + 2).ok().map(|t| t * 10)
}

/// Lower-cased ASCII word starting at `i`, and its end index.
pub(crate) fn ascii_word(cs: &[char], i: usize) -> (String, usize) {
    let mut j = i;
    let mut w = String::new();
    while j < cs.len() && cs[j].is_ascii_alphabetic() {
        w.push(cs[j].to_ascii_lowercase());
        j += 1;
    }
    (w, j)
}

/// Parses English number words starting at word start `i`
/// (`two thousand five hundred`, `fifteen-hundred`, `a thousand`).
fn parse_english(cs: &[char], i: usize) -> Option<(u64, usize)> {
    let (mut total, mut current) = (0u64, 0u64);
    let mut seen = false;
    let mut end = i;
    let mut j = i;
    loop {
        let (w, wend) = ascii_word(cs, j);
        let next_start = if wend < cs.len() && (cs[wend] == ' ' || cs[wend] == '-') {
            Some(wend + 1)
        } else {
            None
        };
        let peek = next_start.map(|n| ascii_word(cs, n).0).unwrap_or_default();
        match w.as_str() {
            "hundred" => current = current.max(1).checked_mul(100)?,
            "thousand" | "million" => {
                let m = if w == "thousand" { 1_000 } else { 1_000_000 };
                total = total.checked_add(current.max(1).checked_mul(m)?)?;
                current = 0;
            }
            "a" | "an" if !seen && (peek == "hundred" || peek == "thousand") => {}
            "and" if seen && english_word_value(&peek).is_some() => {}
            _ => match english_word_value(&w) {
                Some(v) => current = current.checked_add(v)?,
                None => break,
            },
        }
        if w != "a" && w != "an" && w != "and" {
            seen = true;
            end = wend;
        }
        match next_start {
            Some(n) if n < cs.len() && cs[n].is_ascii_alphabetic() => j = n,
            _ => break,
        }
    }
    if seen {
        Some((total.checked_add(current)?, end))
    } else {
        None
    }
}

/// Scans Arabic digits at `i`: returns the token (if it is a plain number)
/// and the index where scanning resumes.
fn scan_arabic(cs: &[char], i: usize) -> (Option<NumToken>, usize) {
    let digit = |j: usize| cs.get(j).and_then(|c| c.to_digit(10));
    let mut value = 0f64;
    let mut j = i;
    let mut group = 0usize;
    while let Some(d) = digit(j) {
        value = value * 10.0 + f64::from(d);
        group += 1;
        j += 1;
    }
    // Thousands separators: `5,000`, `20,300` (first group of 1-3 digits).
    while group <= 3
        && cs.get(j) == Some(&',')
        && (1..=3).all(|k| digit(j + k).is_some())
        && digit(j + 4).is_none()
    {
        for k in 1..=3 {
            value = value * 10.0 + f64::from(digit(j + k).unwrap_or(0));
        }
        j += 4;
    }
    if cs.get(j) == Some(&'.') && digit(j + 1).is_some() {
        let mut scale = 0.1;
        j += 1;
        while let Some(d) = digit(j) {
            value += f64::from(d) * scale;
            scale /= 10.0;
            j += 1;
        }
    }
    let next = cs.get(j).copied();
    let after = cs.get(j + 1).copied();
    let letter_after = after.is_some_and(|c| c.is_ascii_alphabetic());
    match next {
        Some('k' | 'K') if !letter_after => {
            value *= 1_000.0;
            j += 1;
        }
        Some('w' | 'W') if after == Some('字') => {
            value *= 10_000.0;
            j += 1;
        }
        Some('万') => {
            value *= 10_000.0;
            j += 1;
        }
        Some('千') => {
            value *= 1_000.0;
            j += 1;
        }
        _ => {}
    }
    // Letters glued on: only a unit (`300words`) keeps the number;
    // `3D`, `5G`, `2nd`, `4o` are names or ordinals.
    if cs.get(j).is_some_and(|c| c.is_ascii_alphabetic()) {
        let (w, wend) = ascii_word(cs, j);
        if !(w.starts_with("word") || w.starts_with("page")) {
            return (None, wend);
        }
    }
    let token = NumToken {
        value,
        start: i,
        end: j,
        kind: NumKind::Arabic,
        single_cjk: false,
    };
    (Some(token), j)
}

/// Finds every number in `cs`, in order. Ordinals (`第1段`, `2nd`), numbers
/// glued to identifiers (`FY2C`, `H200`) and amounts of money are skipped.
pub(crate) fn scan_numbers(cs: &[char]) -> Vec<NumToken> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        let prev = if i > 0 { Some(cs[i - 1]) } else { None };
        let skipped = prev.is_some_and(|p| matches!(p, '第' | '$' | '¥' | '￥' | '€' | '£' | '#'));
        if c.is_ascii_digit() {
            if prev.is_some_and(|p| p.is_ascii_alphabetic() || p == '_') {
                i = skip_alnum(cs, i);
                continue;
            }
            let (token, next) = scan_arabic(cs, i);
            if let Some(t) = token.filter(|_| !skipped) {
                out.push(t);
            }
            i = next.max(i + 1);
        } else if is_cjk_numeral(c) {
            let mut j = i;
            while j < cs.len() && is_cjk_numeral(cs[j]) {
                j += 1;
            }
            let starts_ok = cjk_digit(c).is_some() || c == '十';
            if starts_ok && !skipped {
                if let Some(v) = parse_chinese_numeral(&cs[i..j]) {
                    out.push(NumToken {
                        value: v as f64,
                        start: i,
                        end: j,
                        kind: NumKind::Chinese,
                        single_cjk: j - i == 1,
                    });
                }
            }
            i = j;
        } else if c.is_ascii_alphabetic() {
            if prev.is_some_and(|p| p.is_ascii_alphanumeric()) {
                i = skip_alnum(cs, i);
                continue;
            }
            if let Some((v, end)) = parse_english(cs, i) {
                out.push(NumToken {
                    value: v as f64,
                    start: i,
                    end,
                    kind: NumKind::English,
                    single_cjk: false,
                });
                i = end;
            } else {
                i = skip_alnum(cs, i);
            }
        } else {
            i += 1;
        }
    }
    out
}

fn skip_alnum(cs: &[char], mut i: usize) -> usize {
    while i < cs.len() && (cs[i].is_ascii_alphanumeric() || cs[i] == '_') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(s: &str) -> Vec<f64> {
        scan_numbers(&normalized_chars(s))
            .iter()
            .map(|t| t.value)
            .collect()
    }

    #[test]
    fn chinese_numerals() {
        let cases: &[(&str, u64)] = &[
            ("八百", 800),
            ("两千", 2000),
            ("三千", 3000),
            ("一千五百", 1500),
            ("一千五", 1500),
            ("两万五", 25000),
            ("一千零五", 1005),
            ("十五", 15),
            ("二十万", 200_000),
            ("三四千", 4000),
            ("一万二千", 12000),
        ];
        for (s, want) in cases {
            let cs: Vec<char> = s.chars().collect();
            assert_eq!(parse_chinese_numeral(&cs), Some(*want), "{s}");
        }
    }

    #[test]
    fn scanning() {
        assert_eq!(values("a 5,000-word essay"), vec![5000.0]);
        assert_eq!(values("1.5万字"), vec![15000.0]);
        assert_eq!(values("10k words, 2nd try, FY2C, 3D"), vec![10000.0]);
        assert_eq!(values("第1段 写10000字"), vec![10000.0]);
        assert_eq!(values("two thousand five hundred words"), vec![2500.0]);
        assert_eq!(values("a thousand words"), vec![1000.0]);
        assert_eq!(values("fifteen-hundred-word"), vec![1500.0]);
        assert_eq!(values("１２００字"), vec![1200.0]);
        assert_eq!(
            values("20,300 employees, 1,2,3"),
            vec![20300.0, 1.0, 2.0, 3.0]
        );
        assert_eq!(values("千万别错过"), Vec::<f64>::new());
    }
}
