//! `export`: every format checked structurally (EPUB container, package document, spine and
//! navigation; DOCX parts and paragraphs; HTML well-formed with resolving contents links;
//! JSONL round trip), Chinese text and a 100,000-word document, title and author from the
//! project and edited by flags, and the refusals (unknown format, unwritable path) that leave
//! nothing half-written.

mod package;

use crate::support::prose::prose;
use crate::support::{assert_success, run_cli, strings};
use longwriter::backend::ChatMessage;
use longwriter::export::sft::SftRecord;
use longwriter::export::{self, ExportFormat, Meta};
use longwriter::plan::{Plan, Section, SectionState};
use longwriter::store::{NewProject, Project, Store};
use longwriter::text::{count_words, Language};
use longwriter::writer::{Document, SectionDraft, Summary, WriterSettings};
use package::{check_docx, check_epub, check_html, named};
use std::path::Path;

/// A document with these sections, every one written.
fn document(language: Language, sections: &[(String, String)]) -> Document {
    let plan = Plan {
        sections: sections
            .iter()
            .map(|(title, text)| Section {
                title: title.clone(),
                main_point: "p".into(),
                target_words: count_words(text),
                state: SectionState::Done,
            })
            .collect(),
        fallback: false,
        chapters: Vec::new(),
    };
    let target = plan.total_target();
    let mut doc = Document::new("Write it.".into(), target, language, plan);
    for (draft, (_, text)) in doc.drafts.iter_mut().zip(sections) {
        *draft = SectionDraft {
            turns: vec![
                ChatMessage::user("step"),
                ChatMessage::assistant(text.clone()),
            ],
        };
    }
    doc
}

fn meta(language: Language) -> Meta {
    Meta {
        id: "20261205-abc".into(),
        title: "The <Keepers> & Co".into(),
        author: Some("Ann O'Nymous".into()),
        language,
        created: 1_700_000_000,
        modified: 1_700_003_600,
    }
}

fn render(doc: &Document, meta: &Meta, format: ExportFormat) -> Vec<u8> {
    export::export(doc, meta, format).expect("renders")
}

/// Every paragraph of the document, in order.
fn paragraphs(doc: &Document) -> Vec<String> {
    export::outline::outline(doc)
        .into_iter()
        .flat_map(|p| p.paragraphs)
        .collect()
}

fn english() -> Document {
    let sections = vec![
        (
            "Dawn <b>& light</b>".to_string(),
            format!(
                "{}\n\n{}",
                prose("Alpha", 40),
                "Quotes \"here\" and 'there' & <tags>."
            ),
        ),
        ("Noon".to_string(), prose("Beta", 60)),
        ("Dusk".to_string(), prose("Gamma", 30)),
    ];
    document(Language::English, &sections)
}

#[test]
fn every_format_is_structurally_sound() {
    let doc = english();
    let meta = meta(Language::English);
    let expected = paragraphs(&doc);

    let html = String::from_utf8(render(&doc, &meta, ExportFormat::Html)).unwrap();
    let (elements, links) = check_html(&html);
    assert_eq!(links.len(), 3, "one contents link per section");
    let body: Vec<String> = named(&elements, "p")
        .filter(|p| !p.attrs.contains_key("class"))
        .map(|p| p.text.clone())
        .collect();
    assert_eq!(body, expected, "the text, escaped and read back");
    assert_eq!(named(&elements, "title").next().unwrap().text, meta.title);
    assert!(
        html.contains("&lt;b&gt;&amp; light&lt;/b&gt;"),
        "titles are escaped"
    );

    let epub = check_epub(&render(&doc, &meta, ExportFormat::Epub));
    assert_eq!(epub.pages.len(), 4, "a title page and one page per section");
    assert_eq!(epub.title, meta.title);
    assert_eq!(epub.creators, vec!["Ann O'Nymous".to_string()]);
    assert_eq!(epub.language, "en");
    assert!(epub.nav_links.iter().any(|l| l.starts_with("s003.xhtml")));
    for p in &expected {
        assert!(
            epub.pages.iter().any(|page| page.contains(p.as_str())),
            "{p}"
        );
    }

    let (docx, title, creator) = check_docx(&render(&doc, &meta, ExportFormat::Docx));
    assert_eq!(
        (title.as_str(), creator.as_str()),
        (meta.title.as_str(), "Ann O'Nymous")
    );
    let mut want = vec![meta.title.clone(), "Ann O'Nymous".into()];
    for part in export::outline::outline(&doc) {
        want.push(part.heading.title.clone());
        want.extend(part.paragraphs);
    }
    assert_eq!(
        docx, want,
        "title, author, then headings and paragraphs in order"
    );

    let line = String::from_utf8(render(&doc, &meta, ExportFormat::Jsonl)).unwrap();
    assert_eq!(line.matches('\n').count(), 1, "one whole line");
    let record: SftRecord = serde_json::from_str(&line).expect("parses back");
    assert_eq!(record.to_line().unwrap(), line, "round trip");
    assert_eq!(record.messages[0], ChatMessage::user("Write it."));
    assert_eq!(record.messages[1].content, export::outline::full_text(&doc));
    assert_eq!(
        record.word_count, 135,
        "130 words of prose and a five-word line"
    );
    assert_eq!(record.plan, doc.plan);
    assert_eq!(
        (record.timings.started, record.timings.finished),
        (1_700_000_000, 1_700_003_600)
    );

    let md = String::from_utf8(render(&doc, &meta, ExportFormat::Md)).unwrap();
    assert!(md.starts_with("## Dawn <b>& light</b>\n\n"), "{md}");
    let txt = String::from_utf8(render(&doc, &meta, ExportFormat::Txt)).unwrap();
    let beta = prose("Beta", 60);
    let beta_opening: String = beta.split(". ").next().unwrap().into();
    assert!(txt.contains(&format!("\nNoon\n\n{beta_opening}")), "{txt}");
}

#[test]
fn chinese_text_exports_in_every_format() {
    let text = "灯塔守护者的一生。\n他每天清晨点亮灯火，夜里守望大海。";
    let sections = vec![
        ("第一章 清晨".to_string(), text.to_string()),
        (
            "第二章 夜晚".to_string(),
            "海风吹过石墙，“信号”依旧明亮。".to_string(),
        ),
    ];
    let doc = document(Language::Chinese, &sections);
    let mut meta = meta(Language::Chinese);
    meta.title = "灯塔".into();
    meta.author = Some("王小明".into());
    let expected = paragraphs(&doc);
    assert_eq!(expected.len(), 3);

    let html = String::from_utf8(render(&doc, &meta, ExportFormat::Html)).unwrap();
    let (elements, _) = check_html(&html);
    assert_eq!(named(&elements, "html").next().unwrap().attrs["lang"], "zh");
    let body: Vec<String> = named(&elements, "p")
        .filter(|p| !p.attrs.contains_key("class"))
        .map(|p| p.text.clone())
        .collect();
    assert_eq!(body, expected);

    let epub = check_epub(&render(&doc, &meta, ExportFormat::Epub));
    assert_eq!(
        (epub.title.as_str(), epub.language.as_str()),
        ("灯塔", "zh")
    );
    assert_eq!(epub.creators, vec!["王小明".to_string()]);
    assert!(epub.pages[1].contains("他每天清晨点亮灯火，夜里守望大海。"));

    let (docx, title, creator) = check_docx(&render(&doc, &meta, ExportFormat::Docx));
    assert_eq!((title.as_str(), creator.as_str()), ("灯塔", "王小明"));
    assert!(
        docx.contains(&"海风吹过石墙，“信号”依旧明亮。".to_string()),
        "{docx:?}"
    );

    let record: SftRecord =
        serde_json::from_slice(&render(&doc, &meta, ExportFormat::Jsonl)).unwrap();
    assert_eq!(
        record.word_count,
        count_words(&export::outline::full_text(&doc))
    );
    assert!(record.word_count > 30, "字 are counted one by one");
    assert!(record.messages[1].content.contains("灯塔守护者"));
}

#[test]
fn a_100000_word_document_exports_in_every_format() {
    let sections: Vec<(String, String)> = (0..100)
        .map(|i| {
            let tag = longwriter_tag(i);
            let text = (0..5)
                .map(|_| prose(&tag, 200))
                .collect::<Vec<_>>()
                .join("\n\n");
            (format!("Part {}", i + 1), text)
        })
        .collect();
    let doc = document(Language::English, &sections);
    assert_eq!(doc.ledger().written, 100_000);
    let meta = meta(Language::English);

    let html = String::from_utf8(render(&doc, &meta, ExportFormat::Html)).unwrap();
    let (elements, links) = check_html(&html);
    assert_eq!(links.len(), 100);
    let words: usize = named(&elements, "main").map(|m| count_words(&m.text)).sum();
    assert_eq!(
        words,
        100_000 + 100,
        "the text and the 100 headings (\"Part N\" counts one word)"
    );

    let epub = check_epub(&render(&doc, &meta, ExportFormat::Epub));
    assert_eq!(epub.pages.len(), 101);
    let words: usize = epub.pages[1..].iter().map(|p| count_words(p)).sum();
    assert_eq!(words, 100_000 + 100);

    let (docx, _, _) = check_docx(&render(&doc, &meta, ExportFormat::Docx));
    assert_eq!(
        docx.len(),
        2 + 100 + 500,
        "title, author, 100 headings, 500 paragraphs"
    );
    assert_eq!(
        docx.iter().map(|p| count_words(p)).sum::<usize>(),
        100_000 + 100 + count_words(&meta.title) + count_words("Ann O'Nymous")
    );

    let record: SftRecord =
        serde_json::from_slice(&render(&doc, &meta, ExportFormat::Jsonl)).unwrap();
    assert_eq!(record.word_count, 100_000);
}

/// A tag of letters only (the word counter counts digits as words differently).
fn longwriter_tag(i: usize) -> String {
    let a = char::from(b'a' + (i / 26) as u8);
    let b = char::from(b'a' + (i % 26) as u8);
    format!("Tag{a}{b}")
}

/// A stored project with three written sections and a summary beside the first.
fn stored_project(data: &Path) -> String {
    let store = Store::at(data);
    let mut project = store
        .create(NewProject {
            instruction: "Write a history of the lighthouse keepers.".into(),
            target_words: 130,
            language: Language::English,
            settings: WriterSettings::default(),
            backend: Default::default(),
        })
        .unwrap();
    let doc = english();
    for (i, draft) in doc.drafts.iter().enumerate() {
        project.write_section(i, &draft.text()).unwrap();
    }
    let summary = Summary {
        text: "SUMMARY-NEVER-EXPORTED".into(),
        record: "RECORD-NEVER-EXPORTED".into(),
        fallback: false,
    };
    project.write_summary(0, Some(&summary)).unwrap();
    project.manifest.plan = Some(doc.plan.clone());
    project.save_manifest().unwrap();
    project.id().to_string()
}

#[tokio::test]
async fn the_command_exports_every_format_with_the_projects_title_and_author() {
    let dir = tempfile::tempdir().unwrap();
    let id = stored_project(&dir.path().join("data"));
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    for format in ExportFormat::ALL {
        let file = out.join(format!("book.{}", format.extension()));
        let args = vec![
            "export".into(),
            id.clone(),
            "-o".into(),
            file.display().to_string(),
        ];
        let output = run_cli(args, dir.path()).await;
        assert_success(&output);
        let bytes = std::fs::read(&file).unwrap();
        let text = match format {
            ExportFormat::Epub => check_epub(&bytes).pages.join("\n"),
            ExportFormat::Docx => check_docx(&bytes).0.join("\n"),
            _ => String::from_utf8(bytes).unwrap(),
        };
        let beta = prose("Beta", 60);
        let beta_opening = beta.split(". ").next().unwrap();
        assert!(text.contains(beta_opening), "{format:?}: {text}");
        assert!(
            !text.contains("NEVER-EXPORTED"),
            "{format:?} holds a summary"
        );
    }
    let html = std::fs::read_to_string(out.join("book.html")).unwrap();
    assert!(
        html.contains("<title>Write a history of the lighthouse keepers</title>"),
        "{html}"
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        6,
        "no temp files left"
    );

    // --title and --author change the export and the project.
    let file = out.join("retitled.epub");
    let args = strings(&[
        "export",
        &id,
        "-o",
        &file.display().to_string(),
        "--title",
        "Keepers",
        "--author",
        "Ann & Bo",
    ]);
    assert_success(&run_cli(args, dir.path()).await);
    let epub = check_epub(&std::fs::read(&file).unwrap());
    assert_eq!(
        (epub.title.as_str(), epub.creators[0].as_str()),
        ("Keepers", "Ann & Bo")
    );
    let project = Project::open(&Store::at(dir.path().join("data")).find(&id).unwrap()).unwrap();
    assert_eq!(project.manifest.title, "Keepers");
    assert_eq!(project.manifest.author.as_deref(), Some("Ann & Bo"));
    // A later export without the flags keeps them; --format wins over the extension.
    let file = out.join("plain.txt");
    let args = strings(&[
        "export",
        &id,
        "-o",
        &file.display().to_string(),
        "--format",
        "html",
    ]);
    assert_success(&run_cli(args, dir.path()).await);
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(
        html.contains("<p class=\"author\">Ann &amp; Bo</p>"),
        "{html}"
    );
}

#[tokio::test]
async fn bad_formats_and_paths_are_refused_and_nothing_is_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let id = stored_project(&dir.path().join("data"));
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let kept = out.join("kept.epub");
    std::fs::write(&kept, "an older file").unwrap();

    let pdf = out.join("book.pdf");
    let output = run_cli(
        strings(&["export", &id, "-o", &pdf.display().to_string()]),
        dir.path(),
    )
    .await;
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("\".pdf\"") && err.contains("md, txt, html, epub, docx, jsonl"),
        "{err}"
    );

    let output = run_cli(
        strings(&["export", &id, "-o", "x.odt", "--format", "odt"]),
        dir.path(),
    )
    .await;
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("epub") && err.contains("docx"),
        "clap names the known ones: {err}"
    );

    let missing = out.join("no/such/folder/book.epub");
    let output = run_cli(
        strings(&["export", &id, "-o", &missing.display().to_string()]),
        dir.path(),
    )
    .await;
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("No such file"),
        "{err}"
    );

    let output = run_cli(
        strings(&["export", &id, "-o", &out.display().to_string()]),
        dir.path(),
    )
    .await;
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("it is a directory"), "{err}");

    let output = run_cli(
        strings(&[
            "export",
            &id,
            "-o",
            &kept.display().to_string(),
            "--title",
            " ",
        ]),
        dir.path(),
    )
    .await;
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("--title is empty"), "{err}");

    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "an older file");
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("kept.epub")],
        "nothing else written"
    );
}

/// The real validators, where installed (scripts/check-export.sh says how): epubcheck on the
/// EPUB, LibreOffice converting the DOCX. Skipped, saying so, where they are not.
#[test]
fn real_tools_accept_the_epub_and_the_docx_when_installed() {
    let dir = tempfile::tempdir().unwrap();
    let doc = english();
    let meta = meta(Language::English);
    let epub = dir.path().join("book.epub");
    let docx = dir.path().join("book.docx");
    std::fs::write(&epub, render(&doc, &meta, ExportFormat::Epub)).unwrap();
    std::fs::write(&docx, render(&doc, &meta, ExportFormat::Docx)).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-export.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .arg(&epub)
        .arg(&docx)
        .output()
        .expect("bash runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{log}");
    assert!(output.status.success(), "{log}");
}
