//! Standalone HTML: one file with its CSS inline, a table of contents linking to every
//! heading, and no external assets, so that it opens the same anywhere, offline.
//!
//! The markup is polyglot (well-formed XML as well as HTML5), so the EPUB's pages reuse the
//! same pieces and an XML parser can check any output.

use super::outline::{Heading, Part};
use super::Meta;

/// The stylesheet of the HTML file and the EPUB: a readable measure, generous leading, serif
/// text with fallbacks for Chinese.
pub const CSS: &str = "\
body { margin: 0 auto; max-width: 38em; padding: 2em 1.2em 4em; line-height: 1.65;
  font-family: Georgia, 'Iowan Old Style', 'Noto Serif', 'Noto Serif CJK SC', 'Songti SC',
  serif; font-size: 1.1em; color: #222; background: #fdfdfb; }
h1, h2, h3 { line-height: 1.25; font-weight: 600; }
h1 { font-size: 2em; margin: 0.5em 0 0.2em; }
h2 { font-size: 1.4em; margin: 2em 0 0.6em; }
h3 { font-size: 1.15em; margin: 1.6em 0 0.5em; }
p { margin: 0 0 0.9em; text-align: justify; hyphens: auto; }
p.author { font-style: italic; margin-bottom: 2em; }
nav.toc ol { padding-left: 1.2em; }
nav.toc li.level-2 { margin-left: 1.2em; }
a { color: #1a4d8f; text-decoration: none; }
a:hover { text-decoration: underline; }
@media (prefers-color-scheme: dark) {
  body { color: #ddd; background: #1b1b1b; } a { color: #8ab4f8; } }
";

/// The whole HTML file.
pub fn render(meta: &Meta, parts: &[Part]) -> String {
    let lang = meta.language_tag();
    let mut out = format!(
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"{lang}\" \
         xml:lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <meta name=\"generator\" content=\"LongWriter Studio\"/>\n"
    );
    if let Some(author) = &meta.author {
        out.push_str(&format!(
            "<meta name=\"author\" content=\"{}\"/>\n",
            escape(author)
        ));
    }
    out.push_str(&format!(
        "<title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        escape(&meta.title)
    ));
    out.push_str(&title_block(meta));
    out.push_str(&toc(parts));
    out.push_str("<main>\n");
    for part in parts {
        out.push_str(&part_html(part));
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// The title and author, as the top of the page.
pub fn title_block(meta: &Meta) -> String {
    let mut out = format!("<header>\n<h1>{}</h1>\n", escape(&meta.title));
    if let Some(author) = &meta.author {
        out.push_str(&format!("<p class=\"author\">{}</p>\n", escape(author)));
    }
    out.push_str("</header>\n");
    out
}

/// The table of contents: one link per heading, to its anchor.
fn toc(parts: &[Part]) -> String {
    if parts.is_empty() {
        return String::new();
    }
    let mut out = String::from("<nav class=\"toc\" id=\"contents\">\n<h2>Contents</h2>\n<ol>\n");
    for part in parts {
        let h = &part.heading;
        out.push_str(&format!(
            "<li class=\"level-{}\"><a href=\"#{}\">{}</a></li>\n",
            h.level,
            h.anchor,
            escape(&h.title)
        ));
    }
    out.push_str("</ol>\n</nav>\n");
    out
}

/// One heading with its paragraphs, the heading carrying the anchor the contents link to.
pub fn part_html(part: &Part) -> String {
    let mut out = heading_html(&part.heading);
    for p in &part.paragraphs {
        out.push_str(&format!("<p>{}</p>\n", escape(p)));
    }
    out
}

fn heading_html(h: &Heading) -> String {
    // The title is the page's only h1; headings sit below it.
    let tag = format!("h{}", h.level.clamp(1, 5) + 1);
    format!("<{tag} id=\"{}\">{}</{tag}>\n", h.anchor, escape(&h.title))
}

/// Escapes text for element content and double-quoted attributes, and drops the control
/// characters XML forbids (a stray one from a model would make the EPUB unreadable).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if xml_char(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// Whether XML 1.0 allows `c` in text (tab, line breaks, and everything from space up but
/// the two noncharacters U+FFFE and U+FFFF).
pub fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_forbidden_controls() {
        assert_eq!(
            escape("a<b> & \"c\" 'd'\u{1}中"),
            "a&lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;中"
        );
    }
}
