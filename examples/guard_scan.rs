//! Runs the writer's stream guards over text files as if each were written in sections, and
//! prints every incident: a false-positive check on real prose, or a look at what a model
//! wrote (`longwriter export` a project first).
//!
//! `cargo run --example guard_scan -- [--words N] FILE...`: each file is cut into sections of
//! about N words (default 600) at paragraph ends; each section is streamed through a fresh
//! watch in 16-byte pieces, with the file's earlier sections as the copy reference. A section
//! is scanned on to its end: after an incident the rest of it is scanned again from there.

use longwriter::writer::guard::{Guard, GuardSettings};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut words = 600;
    if let Some(at) = args.iter().position(|a| a == "--words") {
        match args.get(at + 1).and_then(|n| n.parse().ok()) {
            Some(n) => words = n,
            None => {
                eprintln!("--words needs a number of words per section, e.g. --words 600");
                return ExitCode::from(2);
            }
        }
        args.remove(at);
        args.remove(at);
    }
    if args.is_empty() {
        eprintln!("usage: guard_scan [--words N] FILE...");
        return ExitCode::from(2);
    }
    let (mut sections, mut flagged, mut incidents) = (0, 0, 0);
    for path in &args {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::from(2);
            }
        };
        let parts = split(&text, words);
        for (i, part) in parts.iter().enumerate() {
            let guard = Guard::new(
                GuardSettings::default(),
                parts[..i].iter().map(String::as_str),
            );
            let found = scan(&guard, part);
            sections += 1;
            flagged += usize::from(!found.is_empty());
            incidents += found.len();
            for line in found {
                println!("{path} section {}: {line}", i + 1);
            }
        }
    }
    println!("{sections} sections, {flagged} with incidents, {incidents} incidents");
    ExitCode::SUCCESS
}

/// The text in pieces of about `words` words, cut at paragraph ends.
fn split(text: &str, words: usize) -> Vec<String> {
    let mut parts = vec![String::new()];
    for paragraph in text.split_inclusive("\n\n") {
        let last = parts.len() - 1;
        if longwriter::text::count_words(&parts[last]) >= words {
            parts.push(String::new());
        }
        let last = parts.len() - 1;
        parts[last].push_str(paragraph);
    }
    parts.retain(|p| !p.trim().is_empty());
    parts
}

/// Every incident in `text`, streamed in small pieces, resuming after each one.
fn scan(guard: &Guard, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut kept = String::new();
    let mut rest = text;
    'outer: while !rest.is_empty() {
        let mut watch = guard.watch(&kept);
        let mut sent = 0;
        while sent < rest.len() {
            let mut end = (sent + 16).min(rest.len());
            while !rest.is_char_boundary(end) {
                end += 1;
            }
            if let Some(incident) = watch.push(&rest[sent..end]) {
                found.push(format!("{:?} \"{}\"", incident.kind, incident.quote));
                kept.push_str(&rest[..incident.keep]);
                // Go on after the offending sentence.
                rest = &rest[end..];
                continue 'outer;
            }
            sent = end;
        }
        break;
    }
    found
}
