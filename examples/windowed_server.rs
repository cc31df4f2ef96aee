//! Measures a long `write` against a scripted server that enforces a context window.
//!
//! `cargo run --release --example windowed_server -- WINDOW SECTIONS WORDS_EACH -- COMMAND...`
//! starts the window-enforcing scripted server of the integration tests (filler prose, a plan
//! of SECTIONS entries of WORDS_EACH words, vLLM's 400 for any request over WINDOW tokens),
//! runs COMMAND with every `{url}` replaced by the server's API root, and then prints the
//! request sizes: count, refused, largest and median prompt + max_tokens, summaries. See
//! scripts/measure-context.sh.

#[path = "../tests/support/prose.rs"]
#[allow(dead_code)]
mod prose;
#[path = "../tests/support/windowed.rs"]
#[allow(dead_code)]
mod windowed;

use windowed::{WindowOptions, WindowedServer};

fn plan(n: usize, each: usize) -> String {
    (1..=n)
        .map(|i| format!("Paragraph {i} - Title: Part {i} - Main Point: Describe stage {i} of the keeper's years at the light. - Word Count: {each} words\n"))
        .collect()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let numbers: Vec<usize> = args[..split]
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    let [window, sections, each] = numbers[..] else {
        eprintln!("usage: windowed_server WINDOW SECTIONS WORDS_EACH -- COMMAND...");
        std::process::exit(2);
    };
    let command = &args[(split + 1).min(args.len())..];
    let Some((program, rest)) = command.split_first() else {
        eprintln!("no command after --");
        std::process::exit(2);
    };
    let server = WindowedServer::start(WindowOptions {
        window,
        plan: plan(sections, each),
        vllm: true,
        ..WindowOptions::default()
    })
    .await;
    let rest: Vec<String> = rest
        .iter()
        .map(|a| a.replace("{url}", &server.url))
        .collect();
    let status = tokio::process::Command::new(program)
        .args(&rest)
        .status()
        .await
        .expect("the command runs");
    let seen = server.seen();
    let mut sizes: Vec<usize> = seen
        .iter()
        .map(|s| s.prompt_tokens + s.max_tokens)
        .collect();
    let mut prompts: Vec<usize> = seen.iter().map(|s| s.prompt_tokens).collect();
    sizes.sort_unstable();
    prompts.sort_unstable();
    let median = |v: &[usize]| v.get(v.len() / 2).copied().unwrap_or(0);
    let mut section_prompts: Vec<usize> = seen
        .iter()
        .filter(|s| s.kind == "section")
        .map(|s| s.prompt_tokens)
        .collect();
    section_prompts.sort_unstable();
    eprintln!(
        "section requests: prompt largest {} median {}",
        section_prompts.last().copied().unwrap_or(0),
        median(&section_prompts)
    );
    eprintln!(
        "requests: {} (refused {}, summaries {}, sections {}); prompt+max_tokens: largest {} median {}; prompt alone: largest {} median {}; window {window}; exit {status}",
        seen.len(),
        seen.iter().filter(|s| s.refused).count(),
        seen.iter().filter(|s| s.kind == "summary").count(),
        seen.iter().filter(|s| s.kind == "section").count(),
        sizes.last().copied().unwrap_or(0),
        median(&sizes),
        prompts.last().copied().unwrap_or(0),
        median(&prompts),
    );
    std::process::exit(status.code().unwrap_or(1));
}
