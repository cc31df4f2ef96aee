//! Causal self-attention over a layer's KV cache, shared by every architecture.
//!
//! On the CPU it is our own kernel: each (tile of four query positions, key/value head) is
//! one work item that reads the cached keys and values in place (f16, as llama.cpp keeps
//! them), converts each key and value row once for the whole tile, visits only the keys each
//! query may see (causal, and inside the sliding window when there is one), and computes the
//! group's query heads together. As in llama.cpp's non-flash path, queries and softmax
//! weights are rounded to f16 before their products, which accumulate in f32 (`simd`). Every
//! query sums in the same order whatever its tile or the batch size, so prefill(n) and
//! prefill(n − 1) + decode(1) give the same numbers, and a reused prefix gives the logits of a
//! fresh prefill.
//!
//! On other devices it is the plain tensor formulation with an additive mask.

use super::kv_cache::KvCache;
use super::ops::{attention_mask, softmax_last};
use super::simd::{dot, weighted_sum};
use candle_core::{DType, Result, Tensor, D};
use half::f16;
use half::slice::HalfFloatSliceExt;

/// What one attention call needs besides the queries and the cache.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Position of the first query.
    pub pos: usize,
    /// Keys `window` or more positions back are invisible (sliding-window layers).
    pub window: Option<usize>,
    /// Factor applied to each score before the softmax (1 when the queries are prescaled).
    pub scale: f32,
    /// `tanh` soft cap on the scores, if the model uses one.
    pub softcap: Option<f32>,
}

/// Attention of `q` (shape `(len, heads, head_dim)`, f32, rotated) over the cached keys and
/// values of positions `0..spec.pos + len` (the cache must already hold the new ones).
/// Returns `(len, heads * head_dim)`.
pub fn attend(q: &Tensor, cache: &KvCache, spec: Spec) -> Result<Tensor> {
    let (len, heads, hd) = q.dims3()?;
    if cache.len() != spec.pos + len {
        candle_core::bail!(
            "attention: the cache holds {} positions, expected {}",
            cache.len(),
            spec.pos + len
        );
    }
    if q.device().is_cpu() {
        let q = q.to_dtype(DType::F32)?.contiguous()?.flatten_all()?;
        let q = q.to_vec1::<f32>()?;
        let out = cache.with_cpu_slices(|keys, values, context| {
            let shape = Shape {
                len,
                heads,
                kv_heads: cache.kv_heads(),
                hd,
                context,
            };
            attend_cpu(&q, keys, values, shape, spec)
        })??;
        return Tensor::from_vec(out, (len, heads * hd), cache.device());
    }
    attend_tensors(q, cache, spec)
}

/// The sizes the CPU kernel works with.
#[derive(Debug, Clone, Copy)]
struct Shape {
    len: usize,
    heads: usize,
    kv_heads: usize,
    hd: usize,
    /// Positions per head in the cache buffers (their stride).
    context: usize,
}

fn attend_cpu(q: &[f32], keys: &[f16], values: &[f16], s: Shape, spec: Spec) -> Result<Vec<f32>> {
    if s.kv_heads == 0 || !s.heads.is_multiple_of(s.kv_heads) {
        candle_core::bail!("attention: {} heads over {} kv heads", s.heads, s.kv_heads);
    }
    let group = s.heads / s.kv_heads;
    let mut out = vec![0f32; s.len * s.heads * s.hd];
    let width = group * s.hd;
    let out_ptr = out.as_mut_ptr() as usize;
    let tiles = s.len.div_ceil(QUERY_TILE);
    // One work item per (tile of query positions, kv head). The items run on candle's own
    // thread pool, which the matmuls use, so the two never compete for the cores.
    candle_core::utils::barrier_pool().execute_chunked(tiles * s.kv_heads, |items| {
        for item in items {
            let (tile, kvh) = (item / s.kv_heads, item % s.kv_heads);
            let first = tile * QUERY_TILE;
            let queries = QUERY_TILE.min(s.len - first);
            let base = kvh * s.context * s.hd;
            let kv = Heads {
                keys: &keys[base..base + s.context * s.hd],
                values: &values[base..base + s.context * s.hd],
                group,
                hd: s.hd,
            };
            // The group's query heads are contiguous in both `q` and `out`, one `width` run
            // per (position, kv head).
            let rows = |t: usize| (t * s.kv_heads + kvh) * width;
            let q: Vec<&[f32]> = (first..first + queries)
                .map(|t| &q[rows(t)..rows(t) + width])
                .collect();
            // SAFETY: `out` outlives the pool call, and each item writes only the `width`
            // floats of its own (position, kv head) pairs, so no two workers touch the same
            // memory.
            let mut out: Vec<&mut [f32]> = (first..first + queries)
                .map(|t| unsafe {
                    std::slice::from_raw_parts_mut((out_ptr as *mut f32).add(rows(t)), width)
                })
                .collect();
            attend_tile(&q, kv, first + spec.pos, spec, &mut out);
        }
    });
    Ok(out)
}

/// Query positions per work item: each key and value row is read and converted once for
/// them all, instead of once per query.
const QUERY_TILE: usize = 4;

/// One kv head's cached keys and values (f16, `hd` per position) and its query heads.
#[derive(Clone, Copy)]
struct Heads<'a> {
    keys: &'a [f16],
    values: &'a [f16],
    group: usize,
    hd: usize,
}

/// The consecutive query positions `at..at + q.len()` against the keys each may see, for the
/// `group` heads that share a kv head. Every query's numbers are those it gets alone: its own
/// keys, in the same order, with the same operations.
fn attend_tile(q: &[&[f32]], kv: Heads<'_>, at: usize, spec: Spec, out: &mut [&mut [f32]]) {
    let (group, hd, n) = (kv.group, kv.hd, q.len());
    let first_of = |at: usize| spec.window.map_or(0, |w| (at + 1).saturating_sub(w));
    let (lo, last) = (first_of(at), at + n - 1);
    let span = last + 1 - lo;
    let visible = |t: usize, pos: usize| pos >= first_of(at + t) && pos <= at + t;
    // Queries rounded to f16, as llama.cpp converts them for the f16 key dot products.
    let q: Vec<f32> = q
        .iter()
        .flat_map(|q| q.iter().map(|&x| f16::from_f32(x).to_f32()))
        .collect();
    let mut row = vec![0f32; hd];
    // scores[(t * group + g) * span + (pos - lo)]
    let mut scores = vec![0f32; n * group * span];
    for pos in lo..=last {
        kv.keys[pos * hd..(pos + 1) * hd].convert_to_f32_slice(&mut row);
        for t in (0..n).filter(|&t| visible(t, pos)) {
            for g in 0..group {
                let q = &q[(t * group + g) * hd..(t * group + g + 1) * hd];
                scores[(t * group + g) * span + pos - lo] = dot(q, &row) * spec.scale;
            }
        }
    }
    for t in 0..n {
        let (from, to) = (first_of(at + t) - lo, at + t - lo + 1);
        for g in 0..group {
            let base = (t * group + g) * span;
            softmax_f16(&mut scores[base + from..base + to], spec.softcap);
        }
    }
    for (t, out) in out.iter_mut().enumerate() {
        let (from, to) = (first_of(at + t), at + t + 1);
        let weights = &scores[t * group * span + from - lo..];
        weighted_sum(
            weights,
            span,
            group,
            &kv.values[from * hd..to * hd],
            hd,
            out,
        );
    }
}

/// Softmax of one query head's scores in place (after the soft cap, if any), each weight
/// rounded to f16 as llama.cpp does before the value product.
fn softmax_f16(scores: &mut [f32], softcap: Option<f32>) {
    if let Some(cap) = softcap {
        for s in scores.iter_mut() {
            *s = (*s / cap).tanh() * cap;
        }
    }
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    let inv = 1.0 / sum;
    for s in scores.iter_mut() {
        *s = f16::from_f32(*s * inv).to_f32();
    }
}

/// The tensor formulation for GPUs: scores for every cached key, an additive mask.
fn attend_tensors(q: &Tensor, cache: &KvCache, spec: Spec) -> Result<Tensor> {
    let (len, heads, hd) = q.dims3()?;
    let kv_heads = cache.kv_heads();
    // In decode, keys outside the window are skipped rather than masked.
    let start = match spec.window {
        Some(w) if len == 1 => (spec.pos + 1).saturating_sub(w),
        _ => 0,
    };
    let (k, v) = cache.keys_values(start)?;
    let group = heads / kv_heads;
    let q = q
        .transpose(0, 1)?
        .contiguous()?
        .to_dtype(k.dtype())?
        .reshape((kv_heads, group * len, hd))?;
    let mut scores = (q.matmul(&k.t()?)?.to_dtype(DType::F32)? * spec.scale as f64)?;
    if let Some(cap) = spec.softcap {
        scores = ((scores / cap as f64)?.tanh()? * cap as f64)?;
    }
    let keys = scores.dim(D::Minus1)?;
    let mask = attention_mask(spec.pos, len, start, spec.window, q.device())?;
    let scores = scores
        .reshape((kv_heads, group, len, keys))?
        .broadcast_add(&mask)?
        .reshape((kv_heads, group * len, keys))?;
    let probs = softmax_last(&scores)?.to_dtype(v.dtype())?;
    probs
        .matmul(&v)?
        .to_dtype(DType::F32)?
        .reshape((heads, len, hd))?
        .transpose(0, 1)?
        .reshape((len, heads * hd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn seeded(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    /// A cache of `n` random positions and queries for all of them.
    fn setup(n: usize, heads: usize, kv_heads: usize, hd: usize) -> (KvCache, Tensor) {
        let dev = Device::Cpu;
        let mut cache = KvCache::new(kv_heads, 64, hd, &dev).unwrap();
        let k = Tensor::from_vec(seeded(n * kv_heads * hd, 7), (kv_heads, n, hd), &dev).unwrap();
        let v = Tensor::from_vec(seeded(n * kv_heads * hd, 9), (kv_heads, n, hd), &dev).unwrap();
        cache.append(&k, &v).unwrap();
        let q = Tensor::from_vec(seeded(n * heads * hd, 11), (n, heads, hd), &dev).unwrap();
        (cache, q)
    }

    /// The straightforward formula in f64 on the same f16-rounded inputs.
    fn reference(q: &Tensor, cache: &KvCache, spec: Spec) -> Vec<f32> {
        let (_, heads, hd) = q.dims3().unwrap();
        let (k, v) = cache.keys_values(0).unwrap();
        let k = k.to_dtype(DType::F32).unwrap().to_vec3::<f32>().unwrap();
        let v = v.to_dtype(DType::F32).unwrap().to_vec3::<f32>().unwrap();
        let q = q.to_vec3::<f32>().unwrap();
        let group = heads / k.len();
        let mut out = Vec::new();
        for (t, qt) in q.iter().enumerate() {
            let at = spec.pos + t;
            for (h, qh) in qt.iter().enumerate() {
                let kvh = h / group;
                let visible: Vec<usize> = (0..=at)
                    .filter(|&j| spec.window.is_none_or(|w| at - j < w))
                    .collect();
                let scores: Vec<f64> = visible
                    .iter()
                    .map(|&j| {
                        let s: f64 = (0..hd)
                            .map(|i| f16::from_f32(qh[i]).to_f64() * k[kvh][j][i] as f64)
                            .sum();
                        s * spec.scale as f64
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                out.extend((0..hd).map(|i| {
                    let o: f64 = visible
                        .iter()
                        .zip(&scores)
                        .map(|(&j, s)| ((s - max).exp() / sum) * v[kvh][j][i] as f64)
                        .sum();
                    o as f32
                }));
            }
        }
        out
    }

    fn close(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn matches_the_formula_with_and_without_a_window() {
        for window in [None, Some(5)] {
            let (cache, q) = setup(12, 4, 2, 16);
            let spec = Spec {
                pos: 0,
                window,
                scale: 0.25,
                softcap: None,
            };
            let ours = attend(&q, &cache, spec).unwrap().flatten_all().unwrap();
            let diff = close(
                &ours.to_vec1::<f32>().unwrap(),
                &reference(&q, &cache, spec),
            );
            // f16 rounding of the softmax weights is the only difference.
            assert!(diff < 2e-3, "window {window:?}: max diff {diff}");
        }
    }

    /// The tensor formulation GPUs run, checked here on the CPU (no GPU is needed to test its
    /// arithmetic): prefill with and without a window, a decode step inside a window (where it
    /// skips the keys outside rather than masking them), and a soft cap.
    #[test]
    fn the_gpu_formulation_matches_the_formula() {
        let (cache, q) = setup(12, 4, 2, 16);
        let last = q.narrow(0, 11, 1).unwrap();
        let cases = [
            (&q, 0, None, None),
            (&q, 0, Some(5), None),
            (&last, 11, Some(5), None),
            (&q, 0, None, Some(0.5)),
        ];
        for (q, pos, window, softcap) in cases {
            let spec = Spec {
                pos,
                window,
                scale: 0.25,
                softcap,
            };
            let ours = attend_tensors(q, &cache, spec).unwrap();
            let ours = ours.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let mut want = reference(
                q,
                &cache,
                Spec {
                    softcap: None,
                    ..spec
                },
            );
            if softcap.is_some() {
                // The reference has no soft cap: compare against the CPU kernel instead.
                want = attend(q, &cache, spec)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
            }
            let diff = close(&ours, &want);
            assert!(
                diff < 5e-3,
                "pos {pos}, window {window:?}, softcap {softcap:?}: {diff}"
            );
        }
    }

    #[test]
    fn a_chunk_gives_the_same_numbers_as_the_whole_batch() {
        let (cache, q) = setup(12, 4, 1, 32);
        let spec = |pos| Spec {
            pos,
            window: Some(7),
            scale: 0.2,
            softcap: Some(30.0),
        };
        let whole = attend(&q, &cache, spec(0)).unwrap();
        let last = attend(&q.narrow(0, 9, 3).unwrap(), &cache, spec(9)).unwrap();
        let whole = whole.narrow(0, 9, 3).unwrap();
        assert_eq!(
            whole.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            last.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
    }

    #[test]
    fn a_cache_of_the_wrong_length_is_an_error() {
        let (cache, q) = setup(4, 2, 1, 8);
        let spec = Spec {
            pos: 1,
            window: None,
            scale: 1.0,
            softcap: None,
        };
        assert!(attend(&q, &cache, spec).is_err());
    }
}
