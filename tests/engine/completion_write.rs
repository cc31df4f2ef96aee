//! The built-in engine writing in completion mode on the Gemma 3 270M file, a base model with
//! no chat template: the text it writes must not reproduce the chat mode's step instructions
//! (which the same model echoed back when it was asked in chat form), and must come near its
//! length (before sections had a repetition penalty and could not start a heading, it wrote
//! about 50 of the 300 words asked). Skipped when LONGWRITER_SKIP_REAL_MODEL is set.

use crate::support::cached;
use longwriter::eval::proxies::EchoIndex;

/// The chat mode's prompts, whose sentences a base model used to echo.
const CHAT_PROMPTS: &[&str] = &[
    include_str!("../../prompts/plan.md"),
    include_str!("../../prompts/write.md"),
    include_str!("../../prompts/step.md"),
    include_str!("../../prompts/continue.md"),
];

#[test]
fn a_base_model_writes_prose_that_echoes_no_instruction() {
    if std::env::var_os("LONGWRITER_SKIP_REAL_MODEL").is_some() {
        eprintln!("completion write test skipped: LONGWRITER_SKIP_REAL_MODEL is set");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.md");
    let gemma = cached("GEMMA_GGUF", "models/gemma-3-270m-q4_k_m.gguf");
    let output = std::process::Command::new(crate::support::binary())
        .args(["write", "Write a 300-word story about a lighthouse keeper"])
        .args(["--local", "--model", gemma.to_str().unwrap()])
        .args([
            "--context",
            "4096",
            "--seed",
            "1",
            "-o",
            out.to_str().unwrap(),
        ])
        .env("LONGWRITER_CONFIG_DIR", dir.path())
        .env("LONGWRITER_DATA", dir.path().join("data"))
        .env("NO_COLOR", "1")
        .env_remove("LONGWRITER_BASE_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let doc = std::fs::read_to_string(&out).unwrap();
    println!("{doc}");
    let words = doc.split_whitespace().count();
    assert!(words > 200, "{words} words of 300:\n{doc}");
    assert!(!doc.contains('\\'), "an escape in prose:\n{doc}");
    for wording in [
        "Now write section",
        "I will ask for the sections",
        "Main Point",
    ] {
        assert!(!doc.contains(wording), "{wording:?} echoed in:\n{doc}");
    }
    let echo = EchoIndex::new(CHAT_PROMPTS.iter().copied()).measure(&doc);
    println!("echo: {} of {} sentences", echo.echoed, echo.sentences);
    assert!(echo.sentences > 3 && echo.share() < 0.1, "{echo:?}\n{doc}");
}
