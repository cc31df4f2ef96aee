//! Tests on tiny GGUF files written by the test itself: reader errors (bad
//! magic, truncation, absurd counts), metadata and tensor-table parsing, and a
//! hand-made byte-level BPE vocabulary whose expected tokens follow from the
//! BPE algorithm by hand. `golden_bpe` checks BPE against llama.cpp itself.

use longwriter::engine::gguf::{GgufError, GgufFile, Value, ValueType};
use longwriter::engine::tokenizer::{TokenOutputStream, Tokenizer, TokenizerError};

/// Minimal GGUF v3 writer for tests.
#[derive(Default)]
pub(super) struct Writer {
    kv: Vec<u8>,
    n_kv: u64,
    tensors: Vec<u8>,
    n_tensors: u64,
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend((s.len() as u64).to_le_bytes());
    buf.extend(s.as_bytes());
}

impl Writer {
    fn key(&mut self, key: &str, ty: u32) -> &mut Vec<u8> {
        self.n_kv += 1;
        put_str(&mut self.kv, key);
        self.kv.extend(ty.to_le_bytes());
        &mut self.kv
    }
    pub(super) fn string(mut self, key: &str, v: &str) -> Self {
        put_str(self.key(key, 8), v);
        self
    }
    pub(super) fn u32(mut self, key: &str, v: u32) -> Self {
        self.key(key, 4).extend(v.to_le_bytes());
        self
    }
    pub(super) fn bool(mut self, key: &str, v: bool) -> Self {
        self.key(key, 7).push(u8::from(v));
        self
    }
    pub(super) fn strings(mut self, key: &str, items: &[&str]) -> Self {
        let buf = self.key(key, 9);
        buf.extend(8u32.to_le_bytes());
        buf.extend((items.len() as u64).to_le_bytes());
        for s in items {
            put_str(buf, s);
        }
        self
    }
    pub(super) fn i32s(mut self, key: &str, items: &[i32]) -> Self {
        let buf = self.key(key, 9);
        buf.extend(5u32.to_le_bytes());
        buf.extend((items.len() as u64).to_le_bytes());
        items.iter().for_each(|v| buf.extend(v.to_le_bytes()));
        self
    }
    pub(super) fn tensor(mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> Self {
        self.n_tensors += 1;
        put_str(&mut self.tensors, name);
        self.tensors.extend((dims.len() as u32).to_le_bytes());
        dims.iter()
            .for_each(|d| self.tensors.extend(d.to_le_bytes()));
        self.tensors.extend(ty.to_le_bytes());
        self.tensors.extend(offset.to_le_bytes());
        self
    }
    pub(super) fn bytes(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend(self.n_tensors.to_le_bytes());
        out.extend(self.n_kv.to_le_bytes());
        out.extend(&self.kv);
        out.extend(&self.tensors);
        out
    }
}

#[test]
fn reads_metadata_and_tensor_table() {
    let bytes = Writer::default()
        .string("general.architecture", "llama")
        .u32("llama.context_length", 4096)
        .bool("flag", true)
        .strings("list", &["x", "y"])
        .tensor("tok_embd.weight", &[8, 4], 1, 0)
        .bytes();
    let path = std::env::temp_dir().join(format!("lw-gguf-{}.gguf", std::process::id()));
    std::fs::write(&path, &bytes).expect("write temp file");
    let gguf = GgufFile::open(&path).expect("parses");
    let _ = std::fs::remove_file(&path);
    assert_eq!(gguf.version(), 3);
    assert_eq!(gguf.architecture(), Some("llama"));
    assert_eq!(gguf.get_u32("llama.context_length"), Some(4096));
    assert_eq!(gguf.get_bool("flag"), Some(true));
    let (ty, items) = gguf.get_array("list").expect("array");
    assert_eq!(ty, ValueType::String);
    assert_eq!(
        items,
        &[Value::String("x".into()), Value::String("y".into())]
    );
    assert_eq!(gguf.tensors()[0].name, "tok_embd.weight");
    assert_eq!(gguf.tensors()[0].dims, vec![8, 4]);
    assert_eq!(gguf.data_offset() % 32, 0);
    assert!(gguf.data_offset() >= bytes.len() as u64);
}

#[test]
fn rejects_bad_magic_version_truncation_and_absurd_counts() {
    let err = GgufFile::from_bytes(b"GGML\x03\0\0\0").unwrap_err();
    assert!(matches!(err, GgufError::BadMagic { .. }), "{err}");

    let mut v1 = Writer::default().bytes();
    v1[4] = 1;
    assert!(matches!(
        GgufFile::from_bytes(&v1),
        Err(GgufError::UnsupportedVersion(1))
    ));

    let full = Writer::default()
        .string("general.architecture", "gemma3")
        .bytes();
    let cut = &full[..full.len() - 3];
    match GgufFile::from_bytes(cut) {
        Err(GgufError::Truncated { offset, .. }) => {
            assert!(offset > 24 && offset < full.len() as u64)
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    let err = GgufFile::from_bytes(&full[..10]).unwrap_err();
    assert!(err.to_string().contains("byte offset 8"), "{err}");

    let mut absurd = Writer::default().bytes();
    absurd[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        GgufFile::from_bytes(&absurd),
        Err(GgufError::AbsurdCount { .. })
    ));
}

#[test]
fn tokenizer_errors_are_clear() {
    let bare = GgufFile::from_bytes(&Writer::default().bytes()).expect("parses");
    let err = Tokenizer::from_gguf(&bare).unwrap_err();
    assert!(matches!(err, TokenizerError::MissingKey(_)), "{err}");
    assert!(err.to_string().contains("no tokenizer metadata"));

    let t5 = Writer::default()
        .string("tokenizer.ggml.model", "t5")
        .bytes();
    let err = Tokenizer::from_gguf(&GgufFile::from_bytes(&t5).expect("parses")).unwrap_err();
    assert!(
        matches!(err, TokenizerError::UnknownModel(ref m) if m == "t5"),
        "{err}"
    );
}

/// Byte-level vocabulary: `Ġ` is the space byte, `Ċ` newline, `Ã©` is "é".
const TOKENS: &[&str] = &[
    "a",
    "b",
    "c",
    "d",
    "Ġ",
    "Ċ",
    "1",
    "2",
    "3",
    "4",
    "5",
    "ab",
    "abc",
    "Ġab",
    "bc",
    "cd",
    "12",
    "123",
    "Ã",
    "©",
    "Ã©",
    "<|im_start|>",
    "<|endoftext|>",
];

fn bpe(pre: &str, merges: &[&str]) -> Tokenizer {
    let mut types = vec![1; TOKENS.len()];
    types[21] = 3;
    types[22] = 3;
    let bytes = Writer::default()
        .string("tokenizer.ggml.model", "gpt2")
        .string("tokenizer.ggml.pre", pre)
        .strings("tokenizer.ggml.tokens", TOKENS)
        .i32s("tokenizer.ggml.token_type", &types)
        .strings("tokenizer.ggml.merges", merges)
        .u32("tokenizer.ggml.eos_token_id", 22)
        .bytes();
    Tokenizer::from_gguf(&GgufFile::from_bytes(&bytes).expect("parses")).expect("tokenizer")
}

const MERGES: &[&str] = &["a b", "ab c", "Ġ ab", "1 2", "12 3", "Ã ©", "c d", "b c"];

#[test]
fn bpe_applies_merges_by_rank() {
    let tok = bpe("qwen2", MERGES);
    // "abc" -> a b (rank 0) -> ab c (rank 1); " ab" -> Ġ a b -> Ġ ab -> Ġab.
    assert_eq!(tok.encode("abc ab", false), vec![12, 13]);
    // qwen2 splits digits one by one, so "123" never merges.
    assert_eq!(tok.encode("123", false), vec![6, 7, 8]);
    // "bcd": "c d" (rank 6) beats "b c" (rank 7) -> b, cd.
    assert_eq!(tok.encode("bcd", false), vec![1, 15]);
    let swapped = bpe("qwen2", &["b c", "c d"]);
    assert_eq!(swapped.encode("bcd", false), vec![14, 3]);
    // "é" is bytes C3 A9 -> "Ã©" after one merge; decode restores the bytes.
    assert_eq!(tok.encode("é", false), vec![20]);
    assert_eq!(tok.decode(&[20], false), "é");
    assert_eq!(
        tok.decode(&tok.encode("abc ab\n", false), false),
        "abc ab\n"
    );
}

#[test]
fn bpe_llama3_groups_digits_and_ignores_merges_for_known_words() {
    let tok = bpe("llama-bpe", MERGES);
    // Digits go in threes: "12345" -> "123" (a vocabulary word) + "45".
    assert_eq!(tok.encode("12345", false), vec![17, 9, 10]);
    // "a\n": the letter word, then the newline word.
    assert_eq!(tok.encode("a\n", false), vec![0, 5]);
    // ignore_merges: "abc" is in the vocabulary, taken whole.
    assert_eq!(tok.encode("abc", false), vec![12]);
}

#[test]
fn bpe_whole_word_lookup_and_default_bos_follow_the_pre_type() {
    // "bc" is a vocabulary word no merge reaches without "b c"; the file has no BOS
    // key, so the BPE default BOS id 11 applies where a BOS is added at all.
    for (pre, want, want_with_bos) in [
        ("llama-bpe", vec![14], vec![11, 14]),
        ("glm4", vec![14], vec![14]),
        ("chatglm-bpe", vec![1, 2], vec![1, 2]),
        ("dbrx", vec![1, 2], vec![1, 2]),
        ("smaug-bpe", vec![1, 2], vec![1, 2]),
        ("qwen2", vec![1, 2], vec![1, 2]),
    ] {
        let tok = bpe(pre, &["c d"]);
        assert_eq!(tok.encode("bc", false), want, "{pre}");
        assert_eq!(tok.encode("bc", true), want_with_bos, "{pre} with BOS");
    }
}

#[test]
fn bpe_special_tokens_and_pretokenizer_names() {
    let tok = bpe("llama-bpe", MERGES);
    assert_eq!(tok.encode("<|im_start|>ab", false), vec![21, 11]);
    let plain = tok.encode_with("<|im_start|>", false, false);
    assert!(!plain.contains(&21));
    assert_eq!(tok.decode(&[21, 11, 22], true), "ab");
    for pre in ["llama3", "glm4", "chatglm-bpe", "default", "gpt-2"] {
        assert_eq!(
            bpe(pre, MERGES).decode(&bpe(pre, MERGES).encode("ab cd 1", false), false),
            "ab cd 1"
        );
    }
    let bytes = Writer::default()
        .string("tokenizer.ggml.model", "gpt2")
        .string("tokenizer.ggml.pre", "martian")
        .strings("tokenizer.ggml.tokens", TOKENS)
        .strings("tokenizer.ggml.merges", MERGES)
        .bytes();
    let err = Tokenizer::from_gguf(&GgufFile::from_bytes(&bytes).expect("parses")).unwrap_err();
    assert!(
        matches!(err, TokenizerError::UnknownPreTokenizer(_)),
        "{err}"
    );
}

#[test]
fn stream_holds_back_split_characters() {
    let tok = bpe("qwen2", &[]);
    // Without merges "é" is two byte tokens: Ã then ©.
    let ids = tok.encode("é", false);
    assert_eq!(ids, vec![18, 19]);
    let mut stream = TokenOutputStream::new(&tok, false);
    assert_eq!(stream.push(18), None);
    assert_eq!(stream.push(19).as_deref(), Some("é"));
    assert_eq!(stream.push(18), None);
    assert_eq!(stream.flush().as_deref(), Some("\u{FFFD}"));
}
