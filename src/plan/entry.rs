//! Assembling plan entries during one line-parsing pass: an entry starts at
//! a head line and collects field lines ("Main Point: …", "Word Count: …")
//! and continuation text (details, wrapped prose) until the next head line,
//! an outer line, chatter, or unrelated prose after a blank line.

use super::piece::{short_title, Piece};
use super::text::{is_cjk, join_points, tidy};
use super::RawSection;

/// Main points stop growing past this many characters.
const MAX_POINT_CHARS: usize = 1500;

/// An entry being assembled.
#[derive(Debug, Default)]
struct Entry {
    title: Option<String>,
    point: Option<String>,
    count: Option<usize>,
    /// The point is the unlabelled head text and may still become the title.
    head: bool,
    field_title: bool,
    field_point: bool,
    field_count: bool,
}

impl Entry {
    fn from_piece(p: &Piece) -> Self {
        Entry {
            title: p.title.clone(),
            point: p.point.clone(),
            count: p.count,
            head: p.point_is_head,
            ..Entry::default()
        }
    }

    /// True when `p` sets a field that a field line already set.
    fn conflicts(&self, p: &Piece) -> bool {
        (p.point.is_some() && self.field_point)
            || (p.title.is_some() && self.field_title)
            || (p.count.is_some() && self.field_count)
    }

    fn absorb_field(&mut self, p: &Piece) {
        if let Some(t) = &p.title {
            self.title = Some(t.clone());
            self.field_title = true;
        }
        if let Some(pt) = &p.point {
            self.add_text(pt, true);
            self.field_point = true;
        }
        if let Some(c) = p.count {
            self.count = Some(c);
            self.field_count = true;
        }
    }

    /// Takes a continuation line; false when it ends the entry instead
    /// (unrelated, unindented prose after a blank line).
    fn absorb_prose(&mut self, count: Option<usize>, text: &str, line: LineShape) -> bool {
        let settled = self.point.is_some() && !self.head;
        let loose = !line.detail && !line.indented;
        if line.after_blank && loose && settled && !text.is_empty() {
            return false;
        }
        if self.count.is_none() {
            self.count = count;
        }
        if !text.is_empty() {
            self.add_text(text, line.detail);
        }
        true
    }

    /// Adds text to the main point; a short head text becomes the title.
    fn add_text(&mut self, text: &str, detail: bool) {
        if self.head {
            self.head = false;
            let head_is_title = self.point.as_deref().is_some_and(short_title);
            if head_is_title && self.title.is_none() {
                self.title = self.point.take();
            } else if head_is_title {
                self.point = None;
            }
        }
        match &mut self.point {
            None => self.point = Some(text.to_string()),
            Some(p) if p.chars().count() >= MAX_POINT_CHARS => {}
            Some(p) if detail => *p = join_points(p, text),
            Some(p) => *p = join_prose(p, text),
        }
    }

    fn finish(self) -> Option<RawSection> {
        let point = self.point.or_else(|| self.title.clone());
        let point = tidy(&point?);
        if point.is_empty() {
            return None;
        }
        let title = self.title.map(|t| tidy(&t));
        Some(RawSection {
            title: title.filter(|t| !t.is_empty() && *t != point),
            main_point: point,
            target_words: self.count,
        })
    }
}

/// How a continuation line looks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineShape {
    /// A list item: joined to the main point with "; ".
    pub detail: bool,
    /// Indented: belongs to the entry even after a blank line.
    pub indented: bool,
    /// A blank line came right before it.
    pub after_blank: bool,
}

/// Joins wrapped prose: no space between CJK characters.
fn join_prose(a: &str, b: &str) -> String {
    let cjk_seam = a.chars().last().is_some_and(is_cjk) && b.chars().next().is_some_and(is_cjk);
    if cjk_seam {
        format!("{a}{b}")
    } else {
        format!("{a} {b}")
    }
}

/// The state of one pass over the lines.
pub(crate) struct Pass {
    out: Vec<RawSection>,
    cur: Option<Entry>,
    after_blank: bool,
    /// No head kind: field lines start entries themselves.
    fields_only: bool,
}

impl Pass {
    /// A new pass; `fields_only` when entries come from field lines alone.
    pub(crate) fn new(fields_only: bool) -> Self {
        Pass {
            out: Vec::new(),
            cur: None,
            after_blank: false,
            fields_only,
        }
    }

    /// Notes a blank line.
    pub(crate) fn blank(&mut self) {
        self.after_blank = true;
    }

    /// Notes that a non-blank line was handled.
    pub(crate) fn seen_line(&mut self) {
        self.after_blank = false;
    }

    /// Ends the current entry, if any.
    pub(crate) fn close(&mut self) {
        if let Some(raw) = self.cur.take().and_then(Entry::finish) {
            self.out.push(raw);
        }
    }

    /// Starts a new entry at a head line.
    pub(crate) fn open(&mut self, p: &Piece) {
        self.close();
        self.cur = Some(Entry::from_piece(p));
    }

    /// Takes a field line; `prose` is the whole line, used when the field repeats.
    pub(crate) fn field(&mut self, p: &Piece, prose: &str) {
        match self.cur.as_mut() {
            Some(e) if !e.conflicts(p) => e.absorb_field(p),
            Some(e) if !self.fields_only => e.add_text(prose, true),
            _ if self.fields_only => {
                self.close();
                let mut e = Entry::default();
                e.absorb_field(p);
                self.cur = Some(e);
            }
            _ => {}
        }
    }

    /// Takes a continuation line: a list item (`detail`) or prose, maybe `indented`.
    pub(crate) fn prose(&mut self, count: Option<usize>, text: &str, detail: bool, indented: bool) {
        let shape = LineShape {
            detail,
            indented,
            after_blank: self.after_blank,
        };
        let keep = match self.cur.as_mut() {
            Some(e) => e.absorb_prose(count, text, shape),
            None => true,
        };
        if !keep {
            self.close();
        }
    }

    /// Ends the pass and returns its entries.
    pub(crate) fn finish(mut self) -> Vec<RawSection> {
        self.close();
        self.out
    }
}
