//! SentencePiece-style tokenization as llama.cpp's `llm_tokenizer_spm_session`
//! does it (Gemma, Llama 2): start from single UTF-8 characters, repeatedly
//! merge the adjacent pair whose concatenation is the vocabulary token with
//! the highest score (leftmost on ties), and spell characters that never
//! became a token as `<0xXX>` byte tokens. A binary heap with lazy deletion
//! keeps this O(n log n).

use super::vocab::Vocab;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One symbol of the linked list: a byte range of the text.
#[derive(Debug, Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A candidate merge of symbols `left` and `right` into a `size`-byte token.
#[derive(Debug, Clone, Copy)]
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl Ord for Bigram {
    /// Highest score first; on equal scores the leftmost pair first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Bigram {}

/// Tokenizes `text` (spaces already escaped as `▁`) and appends to `out`.
pub(super) fn tokenize(vocab: &Vocab, text: &str, out: &mut Vec<u32>) {
    let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
    for (start, ch) in text.char_indices() {
        let index = symbols.len();
        symbols.push(Symbol {
            start,
            len: ch.len_utf8(),
            prev: index.checked_sub(1),
            next: Some(index + 1),
        });
    }
    if let Some(last) = symbols.last_mut() {
        last.next = None;
    }
    let mut heap = BinaryHeap::new();
    for i in 1..symbols.len() {
        try_add_bigram(vocab, text, &symbols, &mut heap, i - 1, i);
    }
    while let Some(bigram) = heap.pop() {
        let (left, right) = (symbols[bigram.left], symbols[bigram.right]);
        // Stale entry: one side was merged away or grew since it was queued.
        if left.len == 0 || right.len == 0 || left.len + right.len != bigram.size {
            continue;
        }
        symbols[bigram.left].len += right.len;
        symbols[bigram.right].len = 0;
        symbols[bigram.left].next = right.next;
        if let Some(next) = right.next {
            symbols[next].prev = Some(bigram.left);
        }
        if let Some(prev) = left.prev {
            try_add_bigram(vocab, text, &symbols, &mut heap, prev, bigram.left);
        }
        if let Some(next) = right.next {
            try_add_bigram(vocab, text, &symbols, &mut heap, bigram.left, next);
        }
    }
    let mut cursor = if symbols.is_empty() { None } else { Some(0) };
    while let Some(i) = cursor {
        let sym = symbols[i];
        emit_symbol(vocab, &text[sym.start..sym.start + sym.len], out);
        cursor = sym.next;
    }
}

fn try_add_bigram(
    vocab: &Vocab,
    text: &str,
    symbols: &[Symbol],
    heap: &mut BinaryHeap<Bigram>,
    left: usize,
    right: usize,
) {
    let start = symbols[left].start;
    let size = symbols[left].len + symbols[right].len;
    let Some(id) = vocab.id(&text[start..start + size]) else {
        return;
    };
    heap.push(Bigram {
        score: vocab.tokens[id as usize].score,
        left,
        right,
        size,
    });
}

/// A final symbol is a token (every merge produced one) or a lone character
/// missing from the vocabulary, which falls back to byte tokens.
fn emit_symbol(vocab: &Vocab, piece: &str, out: &mut Vec<u32>) {
    if let Some(id) = vocab.id(piece) {
        out.push(id);
        return;
    }
    for &byte in piece.as_bytes() {
        if let Some(id) = byte_token(vocab, byte) {
            out.push(id);
        }
    }
}

/// `<0xXX>`, else the byte itself as a one-character token, else `<unk>`.
pub(super) fn byte_token(vocab: &Vocab, byte: u8) -> Option<u32> {
    vocab
        .id(&format!("<0x{byte:02X}>"))
        .or_else(|| {
            char::from_u32(byte.into())
                .filter(char::is_ascii)
                .and_then(|c| vocab.id(c.encode_utf8(&mut [0; 4])))
        })
        .or(vocab.unk)
}
