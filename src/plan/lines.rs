//! Reading a plan written as text lines. Each line is classified once (a
//! heading, an entry label such as "Paragraph 2", a bold line, a table row,
//! a numbered or bulleted item, a field line such as "Word Count: 500", a
//! plain line carrying a word count, chatter, or prose). Then one pass per
//! line kind treats the lines of that kind as entry starts and everything
//! else as their continuation; the pass whose entries look most like a plan
//! wins (several entries, most word counts, outermost kind).

use super::count;
use super::entry::Pass;
use super::label::{entry_label_end, enumerator_end, strip_lead};
use super::piece::{self, Piece};
use super::table;
use super::text::{self, folded, match_at, tidy};
use super::RawSection;

/// The kind of line that can start a plan entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A markdown heading of the given level.
    Heading(u8),
    /// A line starting with an entry label, bold or not: "Paragraph 1", "**第1段**".
    Label,
    /// A line starting with bold text.
    Bold,
    /// A markdown table row.
    Table,
    /// A numbered item; `nested` when indented.
    Numbered { nested: bool },
    /// A bulleted item; `nested` when indented.
    Bullet { nested: bool },
    /// An unmarked line that carries a word count.
    Plain,
}

impl Kind {
    /// Lower is outer: headings contain labels contain lists.
    fn priority(self) -> u8 {
        match self {
            Kind::Heading(level) => level.saturating_sub(1),
            Kind::Label => 6,
            Kind::Bold => 7,
            Kind::Table => 8,
            Kind::Numbered { nested: false } => 9,
            Kind::Bullet { nested: false } => 10,
            Kind::Numbered { nested: true } => 11,
            Kind::Bullet { nested: true } => 12,
            Kind::Plain => 13,
        }
    }
}

/// One classified line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Line {
    /// The entry kind this line would start, if any (None for fields and prose).
    pub kind: Option<Kind>,
    /// Empty or whitespace only.
    pub blank: bool,
    /// "Main Point: …", "Word Count: …" and the like.
    pub field: bool,
    /// Talk around the plan ("I hope this helps", "Total: 5,000 words").
    pub chatter: bool,
    /// A list item (a detail under an entry).
    pub detail: bool,
    /// Indented by two or more columns.
    pub indented: bool,
    /// The line read as an entry on its own.
    pub piece: Piece,
    /// The word count in the line read as continuation text.
    pub prose_count: Option<usize>,
    /// The tidy text of the line, without its word count.
    pub prose: String,
}

const BULLETS: &[char] = &['-', '*', '+', '•', '·', '◦', '▪', '‣', '–'];
const TOTAL: &[&str] = &[
    "total",
    "overall",
    "in total",
    "总字数",
    "总计",
    "合计",
    "共计",
    "全文共",
    "全文总",
];
const CHATTER: &[&str] = &[
    "i hope",
    "hope this",
    "let me know",
    "feel free",
    "this plan",
    "this outline",
    "this structure",
    "note:",
    "notes:",
    "please note",
    "if you",
    "would you",
    "do you",
    "i can",
    "i'll",
    "i will",
    "here is",
    "here's",
    "sure",
    "certainly",
    "of course",
    "以上",
    "希望",
    "如果",
    "请注意",
    "注：",
    "注意：",
    "这个计划",
    "该计划",
    "此计划",
    "好的",
];

/// How good a pass looks: (several entries, entries with counts, outer kind, entries).
type PassScore = (bool, usize, u8, usize);

/// Reads the entries of a text plan (empty when none is found).
pub(crate) fn parse_lines(text: &str) -> Vec<RawSection> {
    let lines = classify_all(text);
    let mut kinds: Vec<Kind> = Vec::new();
    for k in lines.iter().filter_map(|l| l.kind) {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    let mut best: Option<(PassScore, Vec<RawSection>)> = None;
    for kind in kinds.into_iter().map(Some).chain([None]) {
        let sections = run_pass(&lines, kind);
        let n = sections.len();
        let counted = sections.iter().filter(|s| s.target_words.is_some()).count();
        let rank = u8::MAX - kind.map_or(u8::MAX, Kind::priority);
        let score = (n >= 2, counted, rank, n);
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, sections));
        }
    }
    best.map(|(_, s)| s).unwrap_or_default()
}

/// One pass: lines of `kind` start entries; `None` builds entries from field lines only.
fn run_pass(lines: &[Line], kind: Option<Kind>) -> Vec<RawSection> {
    let top = kind.map(Kind::priority);
    let mut pass = Pass::new(kind.is_none());
    for line in lines {
        if line.blank {
            pass.blank();
            continue;
        }
        if line.chatter {
            pass.close();
        } else if starts_entry(line.kind, kind) {
            pass.open(&line.piece);
        } else if line.field {
            pass.field(&line.piece, &line.prose);
        } else if line
            .kind
            .is_some_and(|k| top.is_some_and(|t| k.priority() < t))
        {
            pass.close();
        } else {
            pass.prose(line.prose_count, &line.prose, line.detail, line.indented);
        }
        pass.seen_line();
    }
    pass.finish()
}

/// True when a line of kind `line` starts an entry in a pass over `pass`
/// lines. "Paragraph N" label lines also start entries in list passes, so
/// a list that switches to the AgentWrite format halfway keeps every entry.
fn starts_entry(line: Option<Kind>, pass: Option<Kind>) -> bool {
    let list_pass = matches!(
        pass,
        Some(
            Kind::Numbered { nested: false }
                | Kind::Bullet { nested: false }
                | Kind::Bold
                | Kind::Plain
        )
    );
    line.is_some() && (line == pass || (line == Some(Kind::Label) && list_pass))
}

/// Classifies every line, keeping track of markdown table headers.
fn classify_all(text: &str) -> Vec<Line> {
    let raw: Vec<&str> = text.lines().collect();
    let mut roles: Option<Vec<table::Role>> = None;
    let mut out = Vec::with_capacity(raw.len());
    for (i, l) in raw.iter().enumerate() {
        let t = l.trim();
        if !t.starts_with('|') {
            out.push(classify(l));
            continue;
        }
        let next = raw[i + 1..].iter().find(|n| !n.trim().is_empty());
        if table::is_separator(t) {
            out.push(Line::default());
        } else if next.is_some_and(|n| table::is_separator(n.trim())) || table::is_header(t) {
            roles = Some(table::header_roles(t));
            out.push(Line::default());
        } else {
            out.push(table_line(t, roles.as_deref()));
        }
    }
    out
}

fn table_line(t: &str, roles: Option<&[table::Role]>) -> Line {
    let piece = table::row_piece(t, roles);
    let chatter = [&piece.title, &piece.point]
        .iter()
        .any(|t| t.as_deref().is_some_and(is_total));
    Line {
        kind: Some(Kind::Table),
        chatter,
        piece,
        ..Line::default()
    }
}

/// Classifies one non-table line.
fn classify(raw: &str) -> Line {
    let t = raw.trim();
    if t.is_empty() {
        return Line {
            blank: true,
            ..Line::default()
        };
    }
    if is_rule(t) {
        return Line::default();
    }
    let indent: usize = raw
        .chars()
        .take_while(|c| c.is_whitespace())
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum();
    let t = t.trim_start_matches('>').trim_start();
    let (marker, content) = split_marker(t, indent >= 2);
    let field = piece::is_field_line(&content)
        && !matches!(
            marker,
            Some(Kind::Heading(_) | Kind::Label | Kind::Numbered { nested: false })
        );
    let (prose_count, prose) = count::extract_count(&content);
    let prose = tidy(&prose);
    let lead = tidy(&strip_lead(&text::strip_md(&content)));
    let loose = matches!(marker, None | Some(Kind::Bold));
    let chatter = !field && (is_total(&lead) || (loose && is_chatter(&lead)));
    let piece = piece::parse_piece(&content);
    let kind = match marker {
        _ if field || chatter => None,
        None if piece.count.is_some() && !prose.is_empty() => Some(Kind::Plain),
        m => m,
    };
    let detail = marker.is_some_and(|k| !matches!(k, Kind::Label | Kind::Bold));
    let indented = indent >= 2;
    Line {
        kind,
        blank: false,
        field,
        chatter,
        detail,
        indented,
        piece,
        prose_count,
        prose,
    }
}

/// Splits the line marker (heading hashes, enumerator, bullet) from the content.
fn split_marker(t: &str, nested: bool) -> (Option<Kind>, String) {
    let hashes = t.chars().take_while(|c| *c == '#').count();
    if (1..=6).contains(&hashes) && t[hashes..].starts_with(char::is_whitespace) {
        let content = t[hashes..].trim().trim_end_matches('#').trim();
        return (Some(Kind::Heading(hashes as u8)), content.to_string());
    }
    let cs = folded(t);
    if let Some(end) = enumerator_end(&cs) {
        let content: String = t.chars().skip(end).collect();
        return (Some(Kind::Numbered { nested }), content.trim().to_string());
    }
    let mut chars = t.chars();
    if let (Some(b), Some(ws)) = (chars.next(), chars.next()) {
        if BULLETS.contains(&b) && ws.is_whitespace() {
            return (
                Some(Kind::Bullet { nested }),
                chars.as_str().trim().to_string(),
            );
        }
    }
    // "**Paragraph 2**" counts as a label line, so bold and plain labels mix.
    if entry_label_end(&folded(&text::strip_md(t))).is_some() {
        return (Some(Kind::Label), t.to_string());
    }
    if t.starts_with("**") || t.starts_with("__") {
        return (Some(Kind::Bold), t.to_string());
    }
    (None, t.to_string())
}

/// Code fences, horizontal rules and similar lines that carry nothing.
fn is_rule(t: &str) -> bool {
    if t.starts_with("```") || t.starts_with("~~~") {
        return true;
    }
    let first = t.chars().next().unwrap_or(' ');
    "-*_=".contains(first) && t.chars().count() >= 3 && t.chars().all(|c| c == first || c == ' ')
}

fn starts_with_any(s: &str, list: &[&str]) -> bool {
    let cs = folded(s);
    list.iter().any(|p| match_at(&cs, 0, p).is_some())
}

/// "Total: 5,000 words", "总字数：…".
fn is_total(s: &str) -> bool {
    starts_with_any(s, TOTAL)
}

/// Talk around the plan rather than part of it.
fn is_chatter(s: &str) -> bool {
    starts_with_any(s, CHATTER)
}
