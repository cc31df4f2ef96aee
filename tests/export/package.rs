//! Structural checks of exported files: an XML reader that insists on well-formedness, and the
//! parts an EPUB, a DOCX and a standalone HTML file must have.

use quick_xml::events::{BytesStart, Event};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};

/// One element: its name, attributes and all the text inside it.
#[derive(Debug, Clone)]
pub struct Element {
    pub name: String,
    pub attrs: BTreeMap<String, String>,
    pub text: String,
}

/// Parses `text` as XML, panicking (naming `what`) unless it is well-formed; the elements come
/// in document order.
pub fn parse_xml(text: &str, what: &str) -> Vec<Element> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut elements: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("{what} is not well-formed XML: {e}"));
        match event {
            Event::Start(e) => {
                elements.push(element(&e, what));
                open.push(elements.len() - 1);
            }
            Event::Empty(e) => elements.push(element(&e, what)),
            Event::End(_) => {
                open.pop()
                    .unwrap_or_else(|| panic!("{what}: an end tag too many"));
            }
            Event::Text(t) => add_text(&mut elements, &open, &t.decode().unwrap()),
            Event::CData(t) => add_text(&mut elements, &open, &t.decode().unwrap()),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => match r.decode().unwrap().as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => panic!("{what}: entity &{other}; is not defined in XML"),
                    },
                };
                add_text(&mut elements, &open, &c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "{what}: {} elements left open", open.len());
    assert!(!elements.is_empty(), "{what}: no elements");
    elements
}

fn element(e: &BytesStart, what: &str) -> Element {
    let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.unwrap_or_else(|err| panic!("{what}: bad attribute on <{name}>: {err}"));
            let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .unwrap_or_else(|err| panic!("{what}: bad attribute value on <{name}>: {err}"))
                .into_owned();
            (key, value)
        })
        .collect();
    Element {
        name,
        attrs,
        text: String::new(),
    }
}

fn add_text(elements: &mut [Element], open: &[usize], text: &str) {
    for &i in open {
        elements[i].text.push_str(text);
    }
}

/// Elements named `name`.
pub fn named<'a>(elements: &'a [Element], name: &'a str) -> impl Iterator<Item = &'a Element> {
    elements.iter().filter(move |e| e.name == name)
}

/// A zip package's entries by name, and the first entry's name and whether it was stored.
pub struct Package {
    pub files: BTreeMap<String, Vec<u8>>,
    pub first: String,
    pub first_stored: bool,
}

impl Package {
    pub fn open(bytes: &[u8]) -> Self {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip file");
        let mut files = BTreeMap::new();
        let (mut first, mut first_stored) = (String::new(), false);
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).unwrap();
            if i == 0 {
                first = f.name().to_string();
                first_stored = f.compression() == zip::CompressionMethod::Stored;
            }
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            files.insert(f.name().to_string(), data);
        }
        Self {
            files,
            first,
            first_stored,
        }
    }

    pub fn text(&self, name: &str) -> String {
        let data = self
            .files
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.files.keys()));
        String::from_utf8(data.clone()).expect("UTF-8")
    }
}

/// What an EPUB holds once checked: the texts of its spine's pages in order, the navigation
/// document's link targets, and the package metadata.
pub struct Epub {
    pub pages: Vec<String>,
    pub nav_links: Vec<String>,
    pub title: String,
    pub creators: Vec<String>,
    pub language: String,
}

/// Checks the EPUB 3 container: mimetype first and stored, container.xml naming the package
/// document, manifest and spine consistent, every manifest item present and well-formed, a
/// navigation document whose links resolve.
pub fn check_epub(bytes: &[u8]) -> Epub {
    let pkg = Package::open(bytes);
    assert_eq!(pkg.first, "mimetype", "mimetype is the first entry");
    assert!(pkg.first_stored, "mimetype is stored, not compressed");
    assert_eq!(pkg.text("mimetype"), "application/epub+zip");
    let container = parse_xml(&pkg.text("META-INF/container.xml"), "container.xml");
    let rootfile = named(&container, "rootfile").next().expect("a rootfile");
    assert_eq!(
        rootfile.attrs["media-type"],
        "application/oebps-package+xml"
    );
    let opf_path = rootfile.attrs["full-path"].clone();
    let base = opf_path.rsplit_once('/').map_or("", |(d, _)| d);
    let join = |href: &str| {
        if base.is_empty() {
            href.to_string()
        } else {
            format!("{base}/{href}")
        }
    };
    let opf = parse_xml(&pkg.text(&opf_path), "the package document");
    let package = named(&opf, "package").next().unwrap();
    assert_eq!(package.attrs["version"], "3.0");
    let uid = &package.attrs["unique-identifier"];
    assert!(
        opf.iter()
            .any(|e| e.name == "dc:identifier" && e.attrs.get("id") == Some(uid)),
        "the unique identifier exists"
    );
    assert!(opf.iter().any(|e| e.name == "meta"
        && e.attrs.get("property").map(String::as_str) == Some("dcterms:modified")));
    let mut items = BTreeMap::new();
    let mut nav = None;
    for item in named(&opf, "item") {
        let href = join(&item.attrs["href"]);
        assert!(
            pkg.files.contains_key(&href),
            "manifest item {href} is in the zip"
        );
        if item
            .attrs
            .get("properties")
            .is_some_and(|p| p.contains("nav"))
        {
            nav = Some(href.clone());
        }
        if item.attrs["media-type"] == "application/xhtml+xml" {
            parse_xml(&pkg.text(&href), &href);
        }
        items.insert(item.attrs["id"].clone(), href);
    }
    let pages: Vec<String> = named(&opf, "itemref")
        .map(|r| {
            let href = items
                .get(&r.attrs["idref"])
                .unwrap_or_else(|| panic!("spine idref {} is in the manifest", r.attrs["idref"]));
            let page = parse_xml(&pkg.text(href), href);
            let body = named(&page, "body").next().unwrap().text.clone();
            body
        })
        .collect();
    assert!(!pages.is_empty(), "the spine has pages");
    let nav = nav.expect("a navigation document");
    let nav_doc = parse_xml(&pkg.text(&nav), "nav");
    assert!(
        nav_doc
            .iter()
            .any(|e| e.name == "nav" && e.attrs.get("epub:type").map(|t| t.trim()) == Some("toc")),
        "the nav has a toc"
    );
    let nav_links: Vec<String> = named(&nav_doc, "a")
        .map(|a| a.attrs["href"].clone())
        .collect();
    let hrefs: BTreeSet<&String> = items.values().collect();
    for link in &nav_links {
        let file = join(link.split('#').next().unwrap());
        assert!(hrefs.contains(&file), "nav link {link} resolves");
    }
    let meta = |name: &str| {
        named(&opf, name)
            .map(|e| e.text.clone())
            .collect::<Vec<_>>()
    };
    Epub {
        pages,
        nav_links,
        title: meta("dc:title").join(""),
        creators: meta("dc:creator"),
        language: meta("dc:language").join(""),
    }
}

/// Checks a DOCX package's parts and returns its paragraphs' texts and the core title and
/// creator.
pub fn check_docx(bytes: &[u8]) -> (Vec<String>, String, String) {
    let pkg = Package::open(bytes);
    let types = parse_xml(&pkg.text("[Content_Types].xml"), "[Content_Types].xml");
    assert!(
        types.iter().any(|e| e.name == "Override"
            && e.attrs.get("PartName").map(String::as_str) == Some("/word/document.xml")),
        "the main document part is declared"
    );
    let rels = parse_xml(&pkg.text("_rels/.rels"), "_rels/.rels");
    assert!(
        rels.iter().any(|e| e
            .attrs
            .get("Target")
            .is_some_and(|t| t.ends_with("word/document.xml"))),
        "the package points at the main document"
    );
    parse_xml(&pkg.text("word/styles.xml"), "styles.xml");
    let doc = parse_xml(&pkg.text("word/document.xml"), "document.xml");
    let paragraphs = named(&doc, "w:p").map(|p| p.text.clone()).collect();
    let core = parse_xml(&pkg.text("docProps/core.xml"), "core.xml");
    let get = |n: &str| {
        named(&core, n)
            .next()
            .map(|e| e.text.clone())
            .unwrap_or_default()
    };
    (paragraphs, get("dc:title"), get("dc:creator"))
}

/// Checks standalone HTML: well-formed, no external assets, every contents link resolves to
/// an id; returns the elements and the contents' link targets.
pub fn check_html(text: &str) -> (Vec<Element>, Vec<String>) {
    assert!(text.starts_with("<!DOCTYPE html>"));
    let elements = parse_xml(text, "the HTML file");
    for e in &elements {
        assert!(!e.attrs.contains_key("src"), "no external asset: {e:?}");
        assert_ne!(e.name, "link", "no linked stylesheet");
        assert_ne!(e.name, "script");
    }
    assert!(named(&elements, "style").next().is_some(), "inline CSS");
    let ids: BTreeSet<&String> = elements.iter().filter_map(|e| e.attrs.get("id")).collect();
    let links: Vec<String> = named(&elements, "a")
        .map(|a| a.attrs["href"].clone())
        .collect();
    for link in &links {
        let id = link.strip_prefix('#').expect("contents links are in-page");
        assert!(ids.contains(&id.to_string()), "link {link} resolves");
    }
    (elements, links)
}
