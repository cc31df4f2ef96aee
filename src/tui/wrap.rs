//! Word wrapping of section text into line ranges, incrementally.
//!
//! A `Wrapped` keeps byte ranges into the section's text rather than copies, marks which lines
//! are final (every paragraph before the last newline), and on each refresh rewraps only the
//! unfinished last paragraph. So a frame of a streaming 100,000-word document costs the last
//! paragraph, never the whole document.

use unicode_width::UnicodeWidthChar;

/// Wrapped lines of one text at one width.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wrapped {
    /// Byte ranges `(start, end)` of each screen line.
    pub lines: Vec<(usize, usize)>,
    width: u16,
    revision: u64,
    /// Bytes of text whose lines are final (up to and including the last wrapped newline).
    done_bytes: usize,
    /// Lines that are final.
    done_lines: usize,
}

impl Wrapped {
    /// Brings the lines up to date with `text` at `width`; `revision` changes whenever the
    /// text changed other than by appending, which forces a full rewrap.
    pub fn refresh(&mut self, text: &str, width: u16, revision: u64) {
        if width != self.width || revision != self.revision || text.len() < self.done_bytes {
            *self = Self {
                width,
                revision,
                ..Self::default()
            };
        }
        self.lines.truncate(self.done_lines);
        let width = usize::from(width.max(1));
        let mut start = self.done_bytes;
        while start <= text.len() {
            let rest = &text[start..];
            match rest.find('\n') {
                Some(nl) => {
                    wrap_paragraph(text, start, start + nl, width, &mut self.lines);
                    start += nl + 1;
                    self.done_bytes = start;
                    self.done_lines = self.lines.len();
                }
                None => {
                    if !rest.is_empty() {
                        wrap_paragraph(text, start, text.len(), width, &mut self.lines);
                    }
                    break;
                }
            }
        }
    }

    /// The line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.lines
            .partition_point(|(start, _)| *start <= offset)
            .saturating_sub(1)
    }
}

/// Wraps `text[start..end]` (one paragraph, no newline) greedily at word boundaries; words
/// longer than a line are cut. An empty paragraph is one empty line.
fn wrap_paragraph(
    text: &str,
    start: usize,
    end: usize,
    width: usize,
    out: &mut Vec<(usize, usize)>,
) {
    let para = &text[start..end];
    if para.is_empty() {
        out.push((start, start));
        return;
    }
    let mut line_start = 0;
    let mut used = 0;
    // The last space on the line and the width up to and including it.
    let mut space: Option<(usize, usize)> = None;
    for (i, c) in para.char_indices() {
        if c == ' ' {
            if used + 1 > width {
                out.push((start + line_start, start + i));
                (line_start, used, space) = (i + 1, 0, None);
            } else {
                used += 1;
                space = Some((i, used));
            }
            continue;
        }
        let w = c.width().unwrap_or(0);
        while used + w > width && i > line_start {
            match space.take() {
                Some((s, through)) => {
                    out.push((start + line_start, start + s));
                    line_start = s + 1;
                    used -= through;
                }
                None => {
                    out.push((start + line_start, start + i));
                    (line_start, used) = (i, 0);
                }
            }
        }
        used += w;
    }
    if line_start < para.len() {
        out.push((start + line_start, end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, width: u16) -> Vec<&str> {
        let mut w = Wrapped::default();
        w.refresh(text, width, 0);
        w.lines.iter().map(|(a, b)| &text[*a..*b]).collect()
    }

    #[test]
    fn wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(lines("aaa bbb ccc", 7), vec!["aaa bbb", "ccc"]);
        assert_eq!(lines("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(lines("one\n\ntwo", 10), vec!["one", "", "two"]);
        assert_eq!(lines("", 10), Vec::<&str>::new());
        assert_eq!(lines("wide 漢字漢字", 6), vec!["wide", "漢字漢", "字"]);
    }

    #[test]
    fn incremental_equals_full() {
        let text = "The keeper climbed the stairs.\nEvery night the light turned and turned over the black water, and ships passed.\nEnd";
        let mut inc = Wrapped::default();
        for end in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
            inc.refresh(&text[..end], 12, 0);
        }
        let mut full = Wrapped::default();
        full.refresh(text, 12, 0);
        assert_eq!(inc.lines, full.lines);
        assert_eq!(
            full.line_of(text.find("End").unwrap()),
            full.lines.len() - 1
        );
    }
}
