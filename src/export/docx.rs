//! DOCX through the `docx-rs` crate: a title, the author, and per heading a `HeadingN`
//! paragraph (with its outline level, so Word and LibreOffice build their navigator and tables
//! of contents from it) followed by the text's paragraphs.
//!
//! docx-rs writes the package parts (`[Content_Types].xml`, relationships, styles, settings);
//! the core properties part is written here, since docx-rs cannot set its title and creator.

use super::html::{escape, xml_char};
use super::outline::Part;
use super::{ExportError, Meta};
use docx_rs::{Docx, Paragraph, Run, RunFonts, Style, StyleType};

/// The DOCX file's bytes.
pub fn render(meta: &Meta, parts: &[Part]) -> Result<Vec<u8>, ExportError> {
    let mut docx = Docx::new()
        .default_fonts(
            RunFonts::new()
                .ascii("Georgia")
                .hi_ansi("Georgia")
                .east_asia("SimSun"),
        )
        .default_size(24);
    for style in styles() {
        docx = docx.add_style(style);
    }
    docx = docx.add_paragraph(para("Title", &meta.title));
    if let Some(author) = &meta.author {
        docx = docx.add_paragraph(para("Author", author));
    }
    for part in parts {
        let h = &part.heading;
        docx = docx.add_paragraph(para(&format!("Heading{}", h.level), &h.title));
        for p in &part.paragraphs {
            docx = docx.add_paragraph(para("Normal", p));
        }
    }
    let mut xml = docx.build();
    xml.doc_props.core = core_xml(meta).into_bytes();
    let mut cursor = std::io::Cursor::new(Vec::new());
    xml.pack(&mut cursor).map_err(|e| ExportError::Package {
        format: "DOCX",
        reason: e.to_string(),
    })?;
    Ok(cursor.into_inner())
}

fn para(style: &str, text: &str) -> Paragraph {
    let clean: String = text.chars().filter(|c| xml_char(*c)).collect();
    Paragraph::new()
        .style(style)
        .add_run(Run::new().add_text(clean))
}

/// Title, author and heading styles; sizes are in half-points.
fn styles() -> Vec<Style> {
    let heading = |level: usize, size: usize| {
        Style::new(format!("Heading{level}"), StyleType::Paragraph)
            .name(format!("heading {level}"))
            .based_on("Normal")
            .next("Normal")
            .q_format(true)
            .outline_lvl(level - 1)
            .size(size)
            .bold()
    };
    vec![
        Style::new("Title", StyleType::Paragraph)
            .name("Title")
            .based_on("Normal")
            .q_format(true)
            .size(52)
            .bold(),
        Style::new("Author", StyleType::Paragraph)
            .name("Author")
            .based_on("Normal")
            .size(28)
            .italic(),
        heading(1, 36),
        heading(2, 30),
        heading(3, 26),
    ]
}

/// `docProps/core.xml` with the title and author.
fn core_xml(meta: &Meta) -> String {
    let date = chrono::DateTime::from_timestamp(meta.modified as i64, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    let creator = meta.author.as_deref().unwrap_or("");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
         xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <dc:title>{}</dc:title><dc:creator>{}</dc:creator><dc:language>{}</dc:language>\
         <dcterms:created xsi:type=\"dcterms:W3CDTF\">{date}</dcterms:created>\
         <dcterms:modified xsi:type=\"dcterms:W3CDTF\">{date}</dcterms:modified>\
         </cp:coreProperties>",
        escape(&meta.title),
        escape(creator),
        meta.language_tag()
    )
}
