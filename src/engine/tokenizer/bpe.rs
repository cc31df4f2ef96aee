//! Byte-level BPE as llama.cpp's `llm_tokenizer_bpe_session` does it (Llama 3,
//! Qwen 2/3, GLM-4): pre-tokenize into words, map each word's bytes to GPT-2's
//! printable "byte characters", then repeatedly apply the lowest-ranked merge
//! among adjacent symbols (leftmost on ties). Also the reverse byte mapping
//! used to turn token texts back into bytes.

use super::pretokenize::PreTokenizer;
use super::vocab::Vocab;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Merge ranks and the byte <-> character tables.
#[derive(Debug, Clone)]
pub(super) struct Bpe {
    pub pre: PreTokenizer,
    ranks: HashMap<(String, String), u32>,
    byte_to_char: [char; 256],
    char_to_byte: HashMap<char, u8>,
}

impl Bpe {
    /// Builds the merge table from `tokenizer.ggml.merges` entries (`"left right"`).
    pub fn new(pre: PreTokenizer, merges: Vec<String>) -> Bpe {
        let mut ranks = HashMap::with_capacity(merges.len());
        for (rank, merge) in merges.into_iter().enumerate() {
            // llama.cpp splits at the first space after the first byte.
            let space = merge.bytes().skip(1).position(|b| b == b' ').map(|i| i + 1);
            let pair = match space {
                Some(i) => (merge[..i].to_owned(), merge[i + 1..].to_owned()),
                None => (String::new(), String::new()),
            };
            ranks.entry(pair).or_insert(rank as u32);
        }
        let byte_to_char = gpt2_byte_chars();
        let char_to_byte = byte_to_char
            .iter()
            .enumerate()
            .map(|(b, &c)| (c, b as u8))
            .collect();
        Bpe {
            pre,
            ranks,
            byte_to_char,
            char_to_byte,
        }
    }

    /// The raw bytes a normal BPE token text stands for.
    pub fn decode_text(&self, text: &str, out: &mut Vec<u8>) {
        for c in text.chars() {
            match self.char_to_byte.get(&c) {
                Some(&b) => out.push(b),
                None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
    }

    /// Tokenizes one text fragment and appends the ids to `out`.
    pub fn tokenize(&self, vocab: &Vocab, text: &str, out: &mut Vec<u32>) {
        for (start, end) in self.pre.split(text) {
            let word: String = text.as_bytes()[start..end]
                .iter()
                .map(|&b| self.byte_to_char[b as usize])
                .collect();
            if self.pre.ignores_merges() {
                if let Some(id) = vocab.id(&word) {
                    out.push(id);
                    continue;
                }
            }
            for piece in self.merge_word(&word) {
                emit_piece(vocab, piece, out);
            }
        }
    }

    /// Applies merges to one byte-encoded word; returns the final pieces in order.
    fn merge_word<'w>(&self, word: &'w str) -> Vec<&'w str> {
        // (start, len) per symbol; len 0 marks a symbol merged into its left neighbour.
        let mut syms: Vec<(usize, usize)> = word
            .char_indices()
            .map(|(i, c)| (i, c.len_utf8()))
            .collect();
        let mut next: Vec<Option<usize>> = (1..=syms.len())
            .map(|i| (i < syms.len()).then_some(i))
            .collect();
        let mut prev: Vec<Option<usize>> = (0..syms.len()).map(|i| i.checked_sub(1)).collect();
        let text = |s: (usize, usize)| &word[s.0..s.0 + s.1];
        let mut heap = BinaryHeap::new();
        let push = |heap: &mut BinaryHeap<_>, syms: &[(usize, usize)], l: usize, r: usize| {
            let key = (text(syms[l]).to_owned(), text(syms[r]).to_owned());
            if let Some(&rank) = self.ranks.get(&key) {
                heap.push(Reverse((rank, l, r, syms[l].1 + syms[r].1)));
            }
        };
        for i in 1..syms.len() {
            push(&mut heap, &syms, i - 1, i);
        }
        while let Some(Reverse((_, l, r, size))) = heap.pop() {
            // Stale when either side changed since queued (sizes only ever grow).
            if syms[l].1 == 0
                || syms[r].1 == 0
                || next[l] != Some(r)
                || syms[l].1 + syms[r].1 != size
            {
                continue;
            }
            syms[l].1 += syms[r].1;
            syms[r].1 = 0;
            next[l] = next[r];
            if let Some(n) = next[r] {
                prev[n] = Some(l);
            }
            if let Some(p) = prev[l] {
                push(&mut heap, &syms, p, l);
            }
            if let Some(n) = next[l] {
                push(&mut heap, &syms, l, n);
            }
        }
        syms.iter().filter(|s| s.1 > 0).map(|&s| text(s)).collect()
    }
}

/// A final symbol is a token, or each of its bytes that is a one-byte token.
fn emit_piece(vocab: &Vocab, piece: &str, out: &mut Vec<u32>) {
    if let Some(id) = vocab.id(piece) {
        out.push(id);
        return;
    }
    for c in piece.chars().filter(char::is_ascii) {
        if let Some(id) = vocab.id(c.encode_utf8(&mut [0; 4])) {
            out.push(id);
        }
    }
}

/// GPT-2's `bytes_to_unicode`: printable Latin-1 bytes map to themselves,
/// the rest to U+0100 upwards in byte order.
fn gpt2_byte_chars() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut extra = 0u32;
    for (b, slot) in table.iter_mut().enumerate() {
        let printable = matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF);
        let cp = if printable {
            b as u32
        } else {
            extra += 1;
            255 + extra
        };
        *slot = char::from_u32(cp).unwrap_or('\u{FFFD}');
    }
    table
}
