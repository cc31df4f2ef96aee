//! Reading a plan given as JSON: an array of section objects, strings or
//! rows (`["Intro", "Set the scene", 500]`), or an object wrapping such an
//! array ("sections", "paragraphs", "plan", …), inside a code fence or
//! anywhere in the reply, with prose after it. Keys
//! are matched loosely (case, `_`, `-` and spaces ignored; English and
//! Chinese names), word counts may be numbers or strings ("500 words",
//! "500字"). Trailing commas are tolerated; lone section objects one after
//! another (JSON lines, or an array broken by a stray comment) are collected.

use serde_json::{Map, Value};

use super::count;
use super::label::{entry_label_end, strip_lead};
use super::piece;
use super::table;
use super::text::{folded, join_points, tidy};
use super::RawSection;

/// How many `[` / `{` positions are tried as the start of a JSON value.
const MAX_STARTS: usize = 64;
const MAX_DEPTH: usize = 4;

const WRAPPER_KEYS: &[&str] = &[
    "sections",
    "paragraphs",
    "plan",
    "writingplan",
    "outline",
    "parts",
    "chapters",
    "items",
    "段落",
    "大纲",
    "章节",
    "计划",
    "写作计划",
];
const TITLE_KEYS: &[&str] = &[
    "title",
    "heading",
    "name",
    "sectiontitle",
    "paragraphtitle",
    "section",
    "标题",
    "题目",
    "名称",
    "小标题",
];
const POINT_KEYS: &[&str] = &[
    "mainpoint",
    "mainpoints",
    "keypoint",
    "keypoints",
    "mainidea",
    "point",
    "points",
    "summary",
    "description",
    "content",
    "focus",
    "text",
    "主要内容",
    "内容",
    "要点",
    "核心内容",
    "主旨",
    "概要",
];
const COUNT_KEYS: &[&str] = &[
    "wordcount",
    "words",
    "target",
    "targetwords",
    "targetwordcount",
    "length",
    "targetlength",
    "count",
    "wordcounts",
    "numwords",
    "wordlimit",
    "字数",
    "篇幅",
    "长度",
    "目标字数",
];

/// Reads the sections of a JSON plan in `text` (empty when there is none).
pub(crate) fn parse_json(text: &str) -> Vec<RawSection> {
    for block in fenced_blocks(text) {
        let found = sections_in(&block);
        if !found.is_empty() {
            return found;
        }
    }
    sections_in(text)
}

/// The bodies of ``` code fences (an unclosed last fence runs to the end).
fn fenced_blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(a) = rest.find("```") {
        let after = &rest[a + 3..];
        let body = after.find('\n').map_or("", |i| &after[i + 1..]);
        match body.find("```") {
            Some(b) => {
                out.push(body[..b].to_string());
                rest = &body[b + 3..];
            }
            None => {
                out.push(body.to_string());
                break;
            }
        }
    }
    out
}

/// Tries JSON values starting at each `[` / `{`; returns the first list of
/// sections, or the lone section objects found one after another.
fn sections_in(text: &str) -> Vec<RawSection> {
    let cleaned = strip_trailing_commas(text);
    let mut lone = Vec::new();
    let mut skip_to = 0;
    let starts = cleaned
        .char_indices()
        .filter(|(_, c)| *c == '[' || *c == '{');
    for (pos, _) in starts.take(MAX_STARTS) {
        if pos < skip_to {
            continue;
        }
        let mut stream = serde_json::Deserializer::from_str(&cleaned[pos..]).into_iter::<Value>();
        let Some(Ok(value)) = stream.next() else {
            continue;
        };
        let found = from_value(&value, 0);
        if !found.is_empty() {
            return found;
        }
        if let Some(raw) = value.as_object().and_then(|m| object_section(m, None)) {
            lone.push(raw);
            skip_to = pos + stream.byte_offset();
        }
    }
    lone
}

/// Sections in a JSON value: an array of entries or a wrapping object.
fn from_value(v: &Value, depth: usize) -> Vec<RawSection> {
    if depth > MAX_DEPTH {
        return Vec::new();
    }
    match v {
        Value::Array(items) => items.iter().filter_map(item_section).collect(),
        Value::Object(map) => from_object(map, depth),
        _ => Vec::new(),
    }
}

fn item_section(v: &Value) -> Option<RawSection> {
    match v {
        Value::Object(m) => object_section(m, None),
        Value::String(s) => piece::parse_piece(s).into_raw(),
        Value::Array(cells) => {
            let texts = cells.iter().map(|c| match c {
                Value::String(s) => s.replace('|', "/"),
                other => other.to_string(),
            });
            let row = format!("| {} |", texts.collect::<Vec<_>>().join(" | "));
            table::row_piece(&row, None).into_raw()
        }
        _ => None,
    }
}

/// Sections in an object: under a wrapper key, under its only array, or as
/// a map from section names to sections (not when it is a section itself).
fn from_object(map: &Map<String, Value>, depth: usize) -> Vec<RawSection> {
    for (k, v) in map {
        if WRAPPER_KEYS.contains(&norm_key(k).as_str()) {
            let found = from_value(v, depth + 1);
            if !found.is_empty() {
                return found;
            }
        }
    }
    if map.keys().any(|k| is_known_key(k)) {
        return Vec::new();
    }
    let arrays: Vec<&Value> = map.values().filter(|v| v.is_array()).collect();
    if let [only] = arrays.as_slice() {
        let found = from_value(only, depth + 1);
        if !found.is_empty() {
            return found;
        }
    }
    let keyed = map.len() >= 2 && map.values().all(|v| v.is_object() || v.is_string());
    if !keyed {
        return Vec::new();
    }
    map.iter()
        .filter_map(|(k, v)| keyed_section(k, v))
        .collect()
}

/// `"Introduction": "…"` or `"Paragraph 1": {…}` in a map of sections.
fn keyed_section(key: &str, v: &Value) -> Option<RawSection> {
    let name = tidy(&strip_lead(key));
    let name = (!name.is_empty()).then_some(name);
    match v {
        Value::Object(m) => object_section(m, name),
        Value::String(s) => {
            let mut raw = piece::parse_piece(s).into_raw()?;
            raw.title = raw.title.or(name);
            Some(raw)
        }
        _ => None,
    }
}

fn is_known_key(k: &str) -> bool {
    let k = norm_key(k);
    [TITLE_KEYS, POINT_KEYS, COUNT_KEYS]
        .iter()
        .any(|keys| keys.contains(&k.as_str()))
}

/// One section object; `fallback_title` comes from its key in a map.
fn object_section(map: &Map<String, Value>, fallback_title: Option<String>) -> Option<RawSection> {
    let mut title: Option<String> = None;
    let mut point: Option<(usize, String)> = None;
    let mut count: Option<usize> = None;
    for (k, v) in map {
        let key = norm_key(k);
        if let Some(rank) = POINT_KEYS.iter().position(|p| *p == key) {
            if let Some(t) = value_text(v).filter(|_| point.as_ref().is_none_or(|(r, _)| rank < *r))
            {
                point = Some((rank, t));
            }
        } else if TITLE_KEYS.contains(&key.as_str()) && title.is_none() {
            title = value_text(v)
                .map(|t| tidy(&strip_lead(&t)))
                .filter(|t| !t.is_empty());
        } else if COUNT_KEYS.contains(&key.as_str()) && count.is_none() {
            count = value_count(v);
        }
    }
    let title = title.or(fallback_title);
    let main_point = point.map(|(_, t)| t).or_else(|| title.clone())?;
    Some(RawSection {
        title: title.filter(|t| *t != main_point),
        main_point,
        target_words: count,
    })
}

/// Lower case without spaces, `_` or `-`: "Main_Point" → "mainpoint".
fn norm_key(k: &str) -> String {
    folded(k)
        .into_iter()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .collect()
}

fn value_text(v: &Value) -> Option<String> {
    let t = match v {
        Value::String(s) => tidy(s),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(tidy))
            .filter(|s| !s.is_empty())
            .reduce(|a, b| join_points(&a, &b))?,
        _ => return None,
    };
    (!t.is_empty()).then_some(t)
}

fn value_count(v: &Value) -> Option<usize> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
            .and_then(|n| usize::try_from(n).ok()),
        Value::String(s) if entry_label_end(&folded(s)).is_none() => count::parse_count_str(s),
        _ => None,
    }
    .filter(|n| *n > 0)
}

/// Drops commas that directly precede `]` or `}` outside strings.
fn strip_trailing_commas(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            (escaped, in_string) = (!escaped && c == '\\', in_string && (escaped || c != '"'));
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = chars[i + 1..].iter().find(|n| !n.is_whitespace());
            if matches!(next, Some(']' | '}')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}
