//! Splitting raw text around special tokens, with the result of llama.cpp's
//! `tokenizer_st_partition`: special tokens are tried longest first, each
//! claims its left-to-right, non-overlapping occurrences in the text not yet
//! claimed, and the remaining runs of text go to the SPM/BPE model. Instead of
//! rescanning the text once per special token (thousands of them in Gemma),
//! all occurrences are found in one pass with a byte trie and then claimed in
//! the same priority order, which gives the same fragments.

use super::vocab::{attr, Vocab};

/// A piece of the input: either text for the model or one special token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fragment {
    /// Byte range of the input text.
    Text(usize, usize),
    /// A special token matched literally.
    Token(u32),
}

/// A trie node: sorted (byte, child index) edges and the token ending here.
#[derive(Debug, Clone, Default)]
struct Node {
    edges: Vec<(u8, u32)>,
    token: Option<u32>,
}

/// A byte trie over the texts of all control, user-defined and unknown tokens.
#[derive(Debug, Clone, Default)]
pub(super) struct SpecialMatcher {
    nodes: Vec<Node>,
    /// Per token id in the trie: its priority rank (0 = tried first).
    rank: std::collections::HashMap<u32, usize>,
}

impl SpecialMatcher {
    /// Builds the trie; priority is longest text first, then lowest id.
    pub fn new(vocab: &Vocab) -> SpecialMatcher {
        let mask = attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN;
        let mut ids: Vec<u32> = (0..vocab.tokens.len() as u32)
            .filter(|&id| vocab.has_attr(id, mask))
            .collect();
        ids.sort_by_key(|&id| (std::cmp::Reverse(vocab.tokens[id as usize].text.len()), id));
        let mut matcher = SpecialMatcher {
            nodes: vec![Node::default()],
            rank: ids.iter().enumerate().map(|(r, &id)| (id, r)).collect(),
        };
        for &id in &ids {
            matcher.insert(vocab.tokens[id as usize].text.as_bytes(), id);
        }
        matcher
    }

    fn insert(&mut self, key: &[u8], id: u32) {
        let mut node = 0usize;
        for &b in key {
            node = match self.nodes[node].edges.binary_search_by_key(&b, |e| e.0) {
                Ok(i) => self.nodes[node].edges[i].1 as usize,
                Err(i) => {
                    let child = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.nodes[node].edges.insert(i, (b, child as u32));
                    child
                }
            };
        }
        self.nodes[node].token = Some(id);
    }

    fn child(&self, node: usize, b: u8) -> Option<usize> {
        let edges = &self.nodes[node].edges;
        edges
            .binary_search_by_key(&b, |e| e.0)
            .ok()
            .map(|i| edges[i].1 as usize)
    }

    /// Every (start, token) occurrence in `text`, filtered by `allowed`.
    fn occurrences(&self, text: &[u8], allowed: impl Fn(u32) -> bool) -> Vec<(usize, u32)> {
        let mut found = Vec::new();
        for start in 0..text.len() {
            let mut node = 0usize;
            for &b in &text[start..] {
                let Some(next) = self.child(node, b) else {
                    break;
                };
                node = next;
                if let Some(id) = self.nodes[node].token.filter(|&id| allowed(id)) {
                    found.push((start, id));
                }
            }
        }
        found
    }

    /// Splits `text` into fragments; control and unknown tokens only count
    /// when `parse_special` is set (user-defined ones always do, as in llama.cpp).
    pub fn partition(&self, vocab: &Vocab, text: &str, parse_special: bool) -> Vec<Fragment> {
        let bytes = text.as_bytes();
        let allowed = |id| parse_special || !vocab.has_attr(id, attr::CONTROL | attr::UNKNOWN);
        let mut found = self.occurrences(bytes, allowed);
        found
            .sort_by_key(|&(start, id)| (self.rank.get(&id).copied().unwrap_or(usize::MAX), start));
        let mut claimed = vec![false; bytes.len()];
        let mut accepted = Vec::new();
        for (start, id) in found {
            let end = start + vocab.tokens[id as usize].text.len();
            if claimed[start..end].iter().all(|c| !c) {
                claimed[start..end].iter_mut().for_each(|c| *c = true);
                accepted.push((start, end, id));
            }
        }
        accepted.sort_unstable();
        let mut out = Vec::with_capacity(accepted.len() * 2 + 1);
        let mut pos = 0;
        for (start, end, id) in accepted {
            if start > pos {
                out.push(Fragment::Text(pos, start));
            }
            out.push(Fragment::Token(id));
            pos = end;
        }
        if pos < bytes.len() {
            out.push(Fragment::Text(pos, bytes.len()));
        }
        out
    }
}
