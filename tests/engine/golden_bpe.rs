//! Golden tests for byte-level BPE against llama.cpp. `tests/data/tokenizer/bpe/` holds, per
//! `tokenizer.ggml.pre` value, a small vocab-only GGUF (a byte-level BPE trained on the
//! LongBench-Write prompts and varied text, with the families' special tokens) and the ids
//! llama.cpp's `llama-tokenize` gives for every case in `cases.jsonl`; all made by
//! `scripts/golden-bpe.py`. Our tokenizer must give exactly those ids, decode them back to the
//! text, and stream them as whole characters. Unlike the Gemma golden test, nothing here needs
//! a downloaded model.

use longwriter::engine::gguf::GgufFile;
use longwriter::engine::tokenizer::{PreTokenizer, TokenOutputStream, Tokenizer, TokenizerModel};
use std::path::PathBuf;

/// Each golden file's pre-tokenizer name and the variant it must select.
const FAMILIES: &[(&str, PreTokenizer)] = &[
    ("llama-bpe", PreTokenizer::Llama3),
    ("qwen2", PreTokenizer::Qwen2),
    ("glm4", PreTokenizer::Glm4),
    ("chatglm-bpe", PreTokenizer::ChatGlm),
    ("gpt-2", PreTokenizer::Gpt2),
    ("default", PreTokenizer::Default),
    ("dbrx", PreTokenizer::Dbrx),
];

/// The golden vocabulary has an "orphan" merge joining the two bytes of `æ` into a symbol
/// that is no token; llama.cpp then emits only the symbol's ASCII bytes, so `æ` is dropped
/// and texts containing it cannot decode back to themselves.
const DROPPED_BY_LLAMA_CPP: char = 'æ';

/// One golden case: the text and how it is tokenized.
struct Case {
    text: String,
    parse_special: bool,
    add_special: bool,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tokenizer/bpe")
}

fn read(name: &str) -> String {
    let path = dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn cases() -> Vec<Case> {
    read("cases.jsonl")
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("case line is JSON");
            Case {
                text: v["text"].as_str().expect("text").to_owned(),
                parse_special: v["parse_special"].as_bool().expect("parse_special"),
                add_special: v["add_special"].as_bool().expect("add_special"),
            }
        })
        .collect()
}

/// llama.cpp's ids for every case, in order.
fn golden(family: &str, n_cases: usize) -> Vec<Vec<u32>> {
    let ids: Vec<Vec<u32>> = read(&format!("{family}.golden"))
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(|id| id.parse().expect("golden id"))
                .collect()
        })
        .collect();
    assert_eq!(
        ids.len(),
        n_cases,
        "{family}.golden does not match cases.jsonl"
    );
    ids
}

fn tokenizer(family: &str, pre: PreTokenizer) -> Tokenizer {
    let gguf = GgufFile::open(dir().join(format!("{family}.gguf"))).expect("GGUF parses");
    let tok = Tokenizer::from_gguf(&gguf).expect("tokenizer builds");
    assert_eq!(tok.model(), TokenizerModel::Bpe(pre), "{family}");
    tok
}

fn excerpt(text: &str) -> String {
    let short: String = text.chars().take(60).collect();
    let more = if text.chars().count() > 60 { "…" } else { "" };
    format!("{short:?}{more}")
}

/// Prints where `got` and `want` first differ.
fn show_mismatch(family: &str, case: &Case, got: &[u32], want: &[u32]) {
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let lo = at.saturating_sub(3);
    eprintln!(
        "MISMATCH [{family}] {} (parse_special {}, add_special {}) at index {at}\n  ours:      {:?}\n  llama.cpp: {:?}",
        excerpt(&case.text),
        case.parse_special,
        case.add_special,
        &got[lo..got.len().min(at + 5)],
        &want[lo..want.len().min(at + 5)],
    );
}

#[test]
fn bpe_matches_llama_cpp_on_golden_sets() {
    let cases = cases();
    assert!(
        cases.len() > 500,
        "golden set looks too small: {}",
        cases.len()
    );
    let mut failed = Vec::new();
    for &(family, pre) in FAMILIES {
        let tok = tokenizer(family, pre);
        let want_all = golden(family, cases.len());
        let mut agree = 0;
        let mut shown = 0;
        for (case, want) in cases.iter().zip(&want_all) {
            let got = tok.encode_with(&case.text, case.add_special, case.parse_special);
            if &got == want {
                agree += 1;
            } else if shown < 8 {
                shown += 1;
                show_mismatch(family, case, &got, want);
            }
        }
        eprintln!("bpe golden agreement [{family}]: {agree}/{}", cases.len());
        if agree != cases.len() {
            failed.push(family);
        }
    }
    assert!(
        failed.is_empty(),
        "tokenization differs from llama.cpp for {failed:?}"
    );
}

#[test]
fn bpe_golden_ids_decode_to_the_text() {
    let cases = cases();
    for &(family, pre) in FAMILIES {
        let tok = tokenizer(family, pre);
        let golden = golden(family, cases.len());
        let mut checked = 0;
        for (case, ids) in cases.iter().zip(&golden) {
            // Added BOS/EOS are not part of the text.
            if case.add_special || case.text.contains(DROPPED_BY_LLAMA_CPP) {
                continue;
            }
            assert_eq!(
                tok.decode(ids, false),
                case.text,
                "[{family}] decoding llama.cpp's ids for {}",
                excerpt(&case.text)
            );
            checked += 1;
        }
        assert!(
            checked > 500,
            "[{family}] only {checked} round trips checked"
        );
    }
}

#[test]
fn bpe_stream_emits_each_character_once_complete() {
    let cases = cases();
    for &(family, pre) in FAMILIES {
        let tok = tokenizer(family, pre);
        let golden = golden(family, cases.len());
        let mut split_chars = 0;
        for (case, ids) in cases.iter().zip(&golden) {
            let mut stream = TokenOutputStream::new(&tok, false);
            let mut bytes = Vec::new();
            let mut emitted = String::new();
            for &id in ids {
                bytes.extend_from_slice(tok.token_bytes(id, false));
                emitted.extend(stream.push(id));
                // Exactly the complete characters so far; the rest is an unfinished one.
                let complete = match std::str::from_utf8(&bytes) {
                    Ok(all) => all,
                    Err(e) => {
                        assert!(
                            e.error_len().is_none(),
                            "[{family}] invalid UTF-8 in {ids:?}"
                        );
                        split_chars += 1;
                        std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid prefix")
                    }
                };
                assert_eq!(
                    emitted,
                    complete,
                    "[{family}] stream of {}",
                    excerpt(&case.text)
                );
            }
            assert_eq!(stream.flush(), None, "[{family}] left-over bytes");
            assert_eq!(emitted, tok.decode(ids, false));
        }
        // The set must exercise characters split across tokens (CJK, emoji, accents).
        assert!(
            split_chars > 100,
            "[{family}] only {split_chars} split characters"
        );
    }
}

#[test]
fn pre_tokenizer_aliases_select_the_same_rules() {
    for (alias, name) in [
        ("llama3", "llama-bpe"),
        ("falcon3", "llama-bpe"),
        ("smaug-bpe", "dbrx"),
        ("deepseek-r1-qwen", "qwen2"),
        ("olmo", "gpt-2"),
        ("", "default"),
    ] {
        assert_eq!(
            PreTokenizer::from_name(alias),
            PreTokenizer::from_name(name),
            "{alias:?} vs {name:?}"
        );
    }
}
