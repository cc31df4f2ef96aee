//! Several sequences in one forward pass (continuous batching). A step is a list of items,
//! each the next tokens of one slot: a decoding sequence's last token, or a chunk of a joining
//! sequence's prompt. Their rows are stacked, so every linear layer (the projections, the
//! feed-forward, the vocabulary projection) reads its weights once for all of them; attention
//! runs per item against its own slot's cache. Our Q8_0 kernel and the per-row operations give
//! every row the numbers it gets alone; candle's kernels for the other formats are not known to
//! (see docs/engine.md, "Continuous batching"), so a near-tie can rarely go another way.

use super::kv_cache::Caches;
use super::ModelError;
use candle_core::Tensor;

/// The next tokens of one sequence in a batched step.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The slot whose cache the tokens continue.
    pub slot: usize,
    /// The tokens, at least one.
    pub ids: &'a [u32],
}

/// Where an item's rows are in the stacked batch and where its positions start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The item's slot.
    pub slot: usize,
    /// Position of its first token in the slot's cache.
    pub pos: usize,
    /// Its first row in the stacked batch.
    pub row: usize,
    /// Its rows (tokens).
    pub len: usize,
}

/// Checks a step's items against the caches (each slot exists, appears once, and has room
/// for its tokens) and lays out their rows.
pub fn spans(items: &[Item<'_>], caches: &Caches) -> Result<Vec<Span>, ModelError> {
    let mut spans: Vec<Span> = Vec::with_capacity(items.len());
    let mut row = 0;
    for item in items {
        if item.slot >= caches.slots() || spans.iter().any(|s| s.slot == item.slot) {
            return Err(ModelError::Compute(candle_core::Error::Msg(format!(
                "batch: slot {} is missing or given twice ({} slots)",
                item.slot,
                caches.slots()
            ))));
        }
        let pos = caches.cached(item.slot);
        let needed = pos + item.ids.len();
        if item.ids.is_empty() || needed > caches.context() {
            return Err(ModelError::ContextFull {
                needed,
                context: caches.context(),
            });
        }
        spans.push(Span {
            slot: item.slot,
            pos,
            row,
            len: item.ids.len(),
        });
        row += item.ids.len();
    }
    Ok(spans)
}

/// The token ids of all items, stacked in order.
pub fn stacked_ids(items: &[Item<'_>]) -> Vec<u32> {
    items.iter().flat_map(|i| i.ids.iter().copied()).collect()
}

/// The last row of each span of `x` (shape `(rows, width)`), stacked: `(spans, width)`.
pub fn last_rows(x: &Tensor, spans: &[Span]) -> candle_core::Result<Tensor> {
    if let [only] = spans {
        return x.narrow(0, only.row + only.len - 1, 1);
    }
    let rows: Vec<u32> = spans.iter().map(|s| (s.row + s.len - 1) as u32).collect();
    let index = Tensor::new(rows.as_slice(), x.device())?;
    x.index_select(&index, 0)
}

/// Runs `f` on each span's rows of the stacked tensors and stacks the results in order.
pub fn per_span(
    spans: &[Span],
    mut f: impl FnMut(&Span) -> Result<Tensor, ModelError>,
) -> Result<Tensor, ModelError> {
    let outs = spans.iter().map(&mut f).collect::<Result<Vec<_>, _>>()?;
    if let [only] = outs.as_slice() {
        return Ok(only.clone());
    }
    Ok(Tensor::cat(&outs, 0)?)
}
