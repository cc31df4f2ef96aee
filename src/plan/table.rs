//! Markdown tables as plans ("| # | Title | Main point | Words |"): header
//! cells give each column a role; without a header, the shape of the row
//! decides (a leading index, a word-count cell, then title and point).

use super::count;
use super::label::strip_lead;
use super::piece::Piece;
use super::text::{folded, join_points, tidy};

/// What a table column holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Role {
    /// "#", "Paragraph", "序号": numbering, or a title when not a number.
    Index,
    /// "Title", "标题".
    Title,
    /// "Main point", "Content", "内容".
    Point,
    /// "Word count", "字数".
    Count,
    /// Anything else: used as the point when no point column exists.
    Other,
}

/// The trimmed cells of a table row.
fn cells(line: &str) -> Vec<String> {
    let t = line.trim().trim_start_matches('|').trim_end_matches('|');
    t.split('|').map(|c| c.trim().to_string()).collect()
}

/// True for a header separator row such as "|---|:---:|".
pub(crate) fn is_separator(line: &str) -> bool {
    line.starts_with('|') && line.contains('-') && line.chars().all(|c| "|-:+ ".contains(c))
}

/// True for a row that names columns ("| Title | Main point | Words |")
/// even when no separator row follows it.
pub(crate) fn is_header(line: &str) -> bool {
    let roles = header_roles(line);
    let named = roles
        .iter()
        .any(|r| matches!(r, Role::Title | Role::Point | Role::Count));
    named && !line.chars().any(|c| c.is_ascii_digit())
}

/// The roles of the columns named in a header row.
pub(crate) fn header_roles(line: &str) -> Vec<Role> {
    cells(line).iter().map(|c| role_of(c)).collect()
}

fn role_of(cell: &str) -> Role {
    let s: String = folded(&tidy(cell)).into_iter().collect();
    let has = |words: &[&str]| words.iter().any(|w| s.contains(w));
    if has(&["word", "count", "length", "字数", "篇幅", "长度"]) {
        Role::Count
    } else if has(&[
        "point",
        "content",
        "summary",
        "description",
        "focus",
        "idea",
        "内容",
        "要点",
        "概要",
        "主旨",
    ]) {
        Role::Point
    } else if has(&["title", "heading", "name", "标题", "题目", "名称"]) {
        Role::Title
    } else if matches!(s.as_str(), "" | "#" | "no" | "no." | "nr" | "n")
        || has(&[
            "paragraph",
            "section",
            "part",
            "段落",
            "序号",
            "编号",
            "部分",
            "章节",
        ])
    {
        Role::Index
    } else {
        Role::Other
    }
}

/// True for an index cell: "3", "Paragraph 3", "第三段".
fn is_index(t: &str) -> bool {
    t.chars().all(|c| c.is_ascii_digit() || c == '.') || tidy(&strip_lead(t)).is_empty()
}

/// Reads one table row, by header roles when known, else by its shape.
pub(crate) fn row_piece(line: &str, roles: Option<&[Role]>) -> Piece {
    let cells = cells(line);
    match roles {
        Some(r) => by_roles(&cells, r),
        None => by_shape(&cells),
    }
}

fn by_roles(cells: &[String], roles: &[Role]) -> Piece {
    let mut p = Piece::default();
    let mut extra: Vec<String> = Vec::new();
    let roles = roles.iter().copied().chain(std::iter::repeat(Role::Other));
    for (cell, role) in cells.iter().zip(roles) {
        let t = tidy(cell);
        if t.is_empty() {
            continue;
        }
        match role {
            Role::Count => p.count = p.count.or_else(|| count::parse_count_str(&t)),
            Role::Title => p.title = p.title.take().or(Some(t)),
            Role::Point => {
                p.point = Some(p.point.take().map_or(t.clone(), |o| join_points(&o, &t)))
            }
            Role::Index if !is_index(&t) => {
                p.title = p.title.take().or(Some(tidy(&strip_lead(&t))))
            }
            Role::Index => {}
            Role::Other => extra.push(t),
        }
    }
    if p.point.is_none() {
        p.point = extra.into_iter().reduce(|a, b| join_points(&a, &b));
    }
    p
}

fn by_shape(cells: &[String]) -> Piece {
    let mut p = Piece::default();
    let mut texts: Vec<String> = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let t = tidy(cell);
        if t.is_empty() || (i == 0 && is_index(&t)) {
            continue;
        }
        let (count, rest) = count::extract_count(&t);
        let numeric = t.chars().all(|c| c.is_ascii_digit() || c == ',');
        if count.is_some() && tidy(&rest).is_empty() {
            p.count = p.count.or(count);
        } else if numeric && i + 1 == cells.len() {
            p.count = p.count.or_else(|| count::first_number(&t));
        } else {
            texts.push(tidy(&strip_lead(&t)));
        }
    }
    texts.retain(|t| !t.is_empty());
    if texts.len() >= 2 {
        p.title = Some(texts.remove(0));
    }
    if !texts.is_empty() {
        p.point = Some(texts.join("; "));
    }
    p
}
