//! EPUB 3 through the `epub-builder` crate: it writes the package (mimetype first and stored,
//! `META-INF/container.xml`, the OPF with manifest and spine, the navigation document and an
//! NCX for older readers); this module gives it one XHTML page per heading and a title page.

use super::html::{escape, part_html, title_block, CSS};
use super::outline::Part;
use super::{ExportError, Meta};
use epub_builder::{EpubBuilder, EpubContent, EpubVersion, ReferenceType, ZipLibrary};

/// The EPUB file's bytes.
pub fn render(meta: &Meta, parts: &[Part]) -> Result<Vec<u8>, ExportError> {
    let package = |reason: String| ExportError::Package {
        format: "EPUB",
        reason,
    };
    let bytes = build(meta, parts).map_err(|e| package(e.to_string()))?;
    mend(&bytes).map_err(|e| package(e.to_string()))
}

fn build(meta: &Meta, parts: &[Part]) -> epub_builder::Result<Vec<u8>> {
    let mut builder = EpubBuilder::new(ZipLibrary::new()?)?;
    builder.epub_version(EpubVersion::V30);
    builder.set_title(meta.title.as_str());
    if let Some(author) = &meta.author {
        builder.add_author(author.as_str());
    }
    builder.add_language(meta.language_tag());
    builder.set_generator("LongWriter Studio");
    builder.set_toc_name(contents_name(meta));
    // The package's identifier: stable per project, so that a reader sees a re-export as the
    // same book.
    builder.set_uuid(uuid_of(&meta.id));
    if let Some(modified) = chrono::DateTime::from_timestamp(meta.modified as i64, 0) {
        builder.set_modified_date(modified);
    }
    builder.stylesheet(CSS.as_bytes())?;
    let title_page = page(meta, &meta.title, &title_block(meta));
    builder.add_content(
        EpubContent::new("title.xhtml", title_page.as_bytes())
            .title(meta.title.as_str())
            .reftype(ReferenceType::TitlePage),
    )?;
    let top = parts.iter().map(|p| p.heading.level).min().unwrap_or(1);
    for (i, part) in parts.iter().enumerate() {
        let h = &part.heading;
        let xhtml = page(meta, &h.title, &part_html(part));
        let mut content = EpubContent::new(format!("{}.xhtml", h.anchor), xhtml.as_bytes())
            .title(h.title.as_str())
            .level(i32::from(h.level - top + 1));
        if i == 0 {
            content = content.reftype(ReferenceType::Text);
        }
        builder.add_content(content)?;
    }
    let mut bytes = Vec::new();
    builder.generate(&mut bytes)?;
    Ok(bytes)
}

/// The package document as epub-builder writes it gives the first language and the first
/// author the same id (`epub-creator-0`), which epubcheck rejects (RSC-005): the languages
/// get ids of their own. Every other entry is copied as it is, the stored mimetype first.
fn mend(epub: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(epub))?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let name = archive.by_index_raw(i)?.name().to_string();
        if !name.ends_with(".opf") {
            out.raw_copy_file(archive.by_index_raw(i)?)?;
            continue;
        }
        let mut opf = String::new();
        archive.by_index(i)?.read_to_string(&mut opf)?;
        let opf = opf.replace(
            "<dc:language id=\"epub-creator-",
            "<dc:language id=\"epub-language-",
        );
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        out.start_file(name, options)?;
        out.write_all(opf.as_bytes())?;
    }
    Ok(out.finish()?.into_inner())
}

/// One XHTML content document.
fn page(meta: &Meta, title: &str, body: &str) -> String {
    let lang = meta.language_tag();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\" \
         lang=\"{lang}\" xml:lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <title>{}</title>\n\
         <link rel=\"stylesheet\" type=\"text/css\" href=\"stylesheet.css\"/>\n</head>\n\
         <body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

fn contents_name(meta: &Meta) -> &'static str {
    match meta.language {
        crate::text::Language::Chinese => "目录",
        crate::text::Language::English => "Contents",
    }
}

/// A name-based (v5-shaped) UUID from the project id, without a hashing crate: FNV-1a over
/// the id, twice with different seeds, is plenty for an identifier that only needs to be
/// stable and distinct between projects.
fn uuid_of(id: &str) -> uuid::Uuid {
    let fnv = |seed: u64| {
        id.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let hi = fnv(0xcbf2_9ce4_8422_2325);
    let lo = fnv(0x84222325_cbf29ce4);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    uuid::Builder::from_bytes(bytes)
        .with_version(uuid::Version::Sha1)
        .with_variant(uuid::Variant::RFC4122)
        .into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identifier_is_stable_per_project() {
        assert_eq!(uuid_of("abc"), uuid_of("abc"));
        assert_ne!(uuid_of("abc"), uuid_of("abd"));
    }
}
