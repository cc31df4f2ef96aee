//! Reading one plan entry out of a single line or string: cutting out the
//! word count, the enumerator and the entry label ("Paragraph 3", "第三部分"),
//! then finding labelled fields ("Main Point:", "字数："), a bold title, or an
//! unlabelled "Title: point" split. Used for list items, headings, field
//! lines, table cells and JSON strings alike.

use super::count;
use super::label::strip_lead;
use super::text::{self, folded, join_points, match_at, skip_ws, tidy};
use super::RawSection;

/// What one line or string says about a plan entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Piece {
    /// A short heading, when one was given.
    pub title: Option<String>,
    /// What the entry is about.
    pub point: Option<String>,
    /// The word count, when one was given.
    pub count: Option<usize>,
    /// The point is the whole unlabelled text, which may turn out to be a heading.
    pub point_is_head: bool,
}

impl Piece {
    /// The piece as a raw section, when it has any text.
    pub(crate) fn into_raw(self) -> Option<RawSection> {
        let point = self.point.or_else(|| self.title.clone())?;
        Some(RawSection {
            title: self.title.filter(|t| *t != point),
            main_point: point,
            target_words: self.count,
        })
    }
}

/// The kind of a labelled field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Field {
    /// "Title:", "标题："
    Title,
    /// "Main Point:", "主要内容："
    Point,
    /// "Word Count:", "字数："
    Count,
}

const TITLE_LABELS: &[&str] = &[
    "section title",
    "title",
    "heading",
    "小标题",
    "标题",
    "题目",
];
const POINT_LABELS: &[&str] = &[
    "main points",
    "main point",
    "main idea",
    "main content",
    "key points",
    "key point",
    "content",
    "summary",
    "description",
    "focus",
    "points",
    "point",
    "主要内容",
    "核心内容",
    "主要观点",
    "写作要点",
    "内容概要",
    "内容",
    "要点",
    "主旨",
    "概要",
];
const TITLE_SEPS: &[&str] = &[":", "：", " — ", " – ", " - ", "——", " | ", "—"];

/// Reads one entry's title, main point and word count from `content`.
pub(crate) fn parse_piece(content: &str) -> Piece {
    let mut piece = read_piece(content);
    piece.title = piece
        .title
        .map(|t| unwrap_brackets(&t))
        .filter(|t| !t.is_empty());
    piece
}

fn read_piece(content: &str) -> Piece {
    let (count, text) = count::extract_count(content);
    let text = strip_lead(&text);
    let fields = split_fields(&strip_lead(&text::strip_md(&text)));
    let count = count.or(fields.count);
    if fields.found {
        let title = fields.title.or_else(|| nonempty(&fields.prefix));
        return Piece {
            title,
            point: fields.point,
            count,
            point_is_head: false,
        };
    }
    let (bold, rest) = split_bold(&text);
    if bold.is_some() {
        return Piece {
            title: bold,
            point: nonempty(&rest),
            count,
            point_is_head: false,
        };
    }
    match split_title(&rest) {
        Some((t, p)) => Piece {
            title: Some(t),
            point: Some(p),
            count,
            point_is_head: false,
        },
        None => Piece {
            title: None,
            point: nonempty(&rest),
            count,
            point_is_head: true,
        },
    }
}

/// True when `content` starts with a field label such as "Main Point:" or "字数：".
pub(crate) fn is_field_line(content: &str) -> bool {
    let plain = text::strip_md(content);
    let cs = folded(plain.trim_start());
    field_label_at(&cs, 0).is_some()
}

fn nonempty(s: &str) -> Option<String> {
    let t = tidy(s);
    (!t.is_empty()).then_some(t)
}

/// Splits off a leading `**bold**` run: returns the bold text as a title
/// and the rest. A bold run that is only a label ("**Paragraph 1**") is dropped.
fn split_bold(text: &str) -> (Option<String>, String) {
    let t = text.trim_start();
    for m in ["**", "__"] {
        let Some(after) = t.strip_prefix(m) else {
            continue;
        };
        let Some(close) = after.find(m) else {
            continue;
        };
        let inner = tidy(&strip_lead(&after[..close]));
        let rest = strip_lead(&after[close + m.len()..]);
        if inner.is_empty() {
            return (None, rest);
        }
        return (Some(inner), rest);
    }
    (None, t.to_string())
}

/// Labelled fields found in one line.
#[derive(Debug, Default)]
struct Fields {
    found: bool,
    prefix: String,
    title: Option<String>,
    point: Option<String>,
    count: Option<usize>,
}

/// Reads "Title: … - Main Point: … - Word Count: …" style fields. Fields are
/// only taken when the text before the first label is empty or short.
fn split_fields(text: &str) -> Fields {
    let orig: Vec<char> = text.chars().collect();
    let marks = field_marks(&folded(text));
    let Some(first) = marks.first() else {
        return Fields::default();
    };
    let prefix: String = orig[..first.0].iter().collect();
    if !short_title(&tidy(&prefix)) {
        return Fields::default();
    }
    let mut f = Fields {
        found: true,
        prefix,
        ..Fields::default()
    };
    for (k, &(_, vstart, field)) in marks.iter().enumerate() {
        let vend = marks.get(k + 1).map_or(orig.len(), |m| m.0);
        let value: String = orig[vstart..vend].iter().collect();
        match field {
            Field::Title => f.title = f.title.take().or_else(|| nonempty(&value)),
            Field::Point => {
                if let Some(v) = nonempty(&value) {
                    f.point = Some(f.point.take().map_or(v.clone(), |p| join_points(&p, &v)));
                }
            }
            Field::Count => f.count = f.count.or_else(|| count::parse_count_str(&value)),
        }
    }
    f
}

/// Positions of field labels in `cs`: (label start, value start, field).
fn field_marks(cs: &[char]) -> Vec<(usize, usize, Field)> {
    let mut marks = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let boundary = i == 0
            || cs
                .get(i - 1)
                .is_some_and(|c| c.is_whitespace() || "-–—|,，;；:：、(（[【*/.".contains(*c));
        match boundary.then(|| field_label_at(cs, i)).flatten() {
            Some((vstart, field)) => {
                marks.push((i, vstart, field));
                i = vstart;
            }
            None => i += 1,
        }
    }
    marks
}

/// A field label at `i` followed by a colon: the value start and the field.
fn field_label_at(cs: &[char], i: usize) -> Option<(usize, Field)> {
    let groups: [(&[&str], Field); 3] = [
        (TITLE_LABELS, Field::Title),
        (POINT_LABELS, Field::Point),
        (count::COUNT_LABELS, Field::Count),
    ];
    for (labels, field) in groups {
        for l in labels {
            let Some(j) = match_at(cs, i, l) else {
                continue;
            };
            let j = skip_ws(cs, j);
            if matches!(cs.get(j), Some(':' | '：')) {
                return Some((j + 1, field));
            }
        }
    }
    None
}

/// Splits "Title: point" / "Title — point" when the part before is short.
fn split_title(text: &str) -> Option<(String, String)> {
    let (pos, sep) = TITLE_SEPS
        .iter()
        .filter_map(|s| text.find(s).map(|p| (p, *s)))
        .min_by_key(|(p, _)| *p)?;
    let title = tidy(&text[..pos]);
    let point = tidy(&text[pos + sep.len()..]);
    let ok = !title.is_empty() && !point.is_empty() && short_title(&title);
    ok.then_some((title, point))
}

/// "(Introduction)" → "Introduction"; other text unchanged.
fn unwrap_brackets(s: &str) -> String {
    let pairs = [
        ('(', ')'),
        ('（', '）'),
        ('[', ']'),
        ('【', '】'),
        ('「', '」'),
        ('《', '》'),
    ];
    for (open, close) in pairs {
        if let Some(inner) = s.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            if !inner.contains([open, close]) {
                return tidy(inner);
            }
        }
    }
    s.to_string()
}

/// True for text short enough to be a heading (empty counts as short).
pub(crate) fn short_title(s: &str) -> bool {
    if text::mostly_cjk(s) {
        s.chars().count() <= 20
    } else {
        s.split_whitespace().count() <= 7 && s.chars().count() <= 80
    }
}
