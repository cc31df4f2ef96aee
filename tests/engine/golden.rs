//! Golden tests against llama.cpp: every text in
//! `tests/data/tokenizer/gemma3-golden.jsonl` (made by
//! `scripts/golden-tokenize.py` with llama-server's `/tokenize`) must tokenize
//! to exactly llama.cpp's ids with the real Gemma 3 270M GGUF (set up by
//! `scripts/setup-test-model.sh`). Missing model: the test fails with the command to run,
//! unless LONGWRITER_SKIP_REAL_MODEL is set.

use longwriter::engine::gguf::GgufFile;
use longwriter::engine::tokenizer::{TokenOutputStream, Tokenizer};
use std::path::PathBuf;

fn model_path() -> PathBuf {
    crate::support::cached("GEMMA_GGUF", "models/gemma-3-270m-q4_k_m.gguf")
}

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tokenizer")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn gemma() -> Option<Tokenizer> {
    let path = model_path();
    if std::env::var_os("LONGWRITER_SKIP_REAL_MODEL").is_some() {
        eprintln!("tokenizer golden test skipped: LONGWRITER_SKIP_REAL_MODEL is set");
        return None;
    }
    assert!(
        path.exists(),
        "missing {}: run scripts/setup-test-model.sh first",
        path.display()
    );
    let gguf = GgufFile::open(&path).expect("GGUF parses");
    assert_eq!(gguf.architecture(), Some("gemma3"));
    Some(Tokenizer::from_gguf(&gguf).expect("tokenizer builds"))
}

fn excerpt(text: &str) -> String {
    let short: String = text.chars().take(80).collect();
    format!(
        "{short:?}{}",
        if text.chars().count() > 80 { "…" } else { "" }
    )
}

#[test]
fn gemma3_matches_llama_cpp_on_golden_set() {
    let Some(tok) = gemma() else { return };
    let golden = data("gemma3-golden.jsonl");
    let (mut total, mut agree, mut shown) = (0, 0, 0);
    for line in golden.lines().filter(|l| !l.trim().is_empty()) {
        let case: serde_json::Value = serde_json::from_str(line).expect("golden line is JSON");
        let text = case["text"].as_str().expect("text");
        let want: Vec<u32> = serde_json::from_value(case["tokens"].clone()).expect("tokens");
        let got = tok.encode(text, false);
        total += 1;
        if got == want {
            agree += 1;
            continue;
        }
        if shown < 10 {
            shown += 1;
            let at = got
                .iter()
                .zip(&want)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(want.len()));
            let lo = at.saturating_sub(3);
            eprintln!(
                "MISMATCH {} at index {at}\n  ours:      {:?}\n  llama.cpp: {:?}",
                excerpt(text),
                &got[lo..got.len().min(at + 5)],
                &want[lo..want.len().min(at + 5)],
            );
        }
    }
    eprintln!("golden agreement: {agree}/{total}");
    assert!(total > 500, "golden set looks too small: {total}");
    assert_eq!(agree, total, "tokenization differs from llama.cpp");
}

#[test]
fn gemma3_round_trips_corpus() {
    let Some(tok) = gemma() else { return };
    let corpus = data("corpus.txt");
    // A literal `▁` is SentencePiece's space marker: it decodes as a space in
    // llama.cpp too, so those lines cannot round-trip by design.
    let lines = corpus.lines().filter(|l| !l.contains('\u{2581}'));
    for line in lines {
        let ids = tok.encode(line, false);
        assert_eq!(
            tok.decode(&ids, false),
            line,
            "round trip of {}",
            excerpt(line)
        );
    }
}

#[test]
fn gemma3_add_special_prepends_bos() {
    let Some(tok) = gemma() else { return };
    let ids = tok.encode("Hello", true);
    assert_eq!(ids.first().copied(), tok.bos_id());
    let plain = tok.encode_with("<start_of_turn>", false, false);
    assert!(
        plain.len() > 1,
        "parse_special=false must not produce the control token"
    );
    assert_eq!(tok.encode("<start_of_turn>", false), vec![105]);
}

#[test]
fn gemma3_stream_matches_decode() {
    let Some(tok) = gemma() else { return };
    // Rare characters fall back to <0x..> byte tokens, one token per byte.
    let text = "emoji 🫠🪿 and rare 𓀀𓁐 and 中文 and é\u{0301} done";
    let ids = tok.encode(text, false);
    assert!(ids
        .iter()
        .any(|&id| tok.token_text(id).is_some_and(|t| t.starts_with("<0x"))));
    let mut stream = TokenOutputStream::new(&tok, false);
    let mut out = String::new();
    for &id in &ids {
        out.extend(stream.push(id));
    }
    out.extend(stream.flush());
    assert_eq!(out, tok.decode(&ids, false));
    assert_eq!(out, text);
}

#[test]
fn gemma3_is_fast_on_a_long_text() {
    let Some(tok) = gemma() else { return };
    let corpus = data("corpus.txt");
    let mut text = String::new();
    while text.split_whitespace().count() < 100_000 {
        text.push_str(&corpus);
    }
    let start = std::time::Instant::now();
    let ids = tok.encode(&text, false);
    let elapsed = start.elapsed();
    eprintln!(
        "{} words -> {} tokens in {elapsed:?}",
        text.split_whitespace().count(),
        ids.len()
    );
    // Generous bound for debug builds on a loaded machine; release is far faster.
    assert!(elapsed.as_secs() < 30);
}
