//! The two inner loops of CPU attention, with AVX2 kernels and portable versions that give
//! the same bits: a dot product of f32 rows (query · key) and a weighted sum of f16 value
//! rows (softmax weights · values) for several heads at once.
//!
//! Each fixes its order of operations (fused multiply-adds into fixed lanes, a fixed
//! reduction), so a result depends only on its inputs: never on the batch, the tile or the
//! CPU features, which is what lets decode reproduce prefill exactly.

use half::f16;
use half::slice::HalfFloatSliceExt;

/// Lanes of the dot product's partial sums (four 8-lane vectors).
const DOT_LANES: usize = 32;

/// Output values a weighted-sum pass keeps in registers per head.
const SUM_CHUNK: usize = 16;

/// Heads a weighted-sum pass runs together (4 × 16 values: 8 AVX2 accumulators).
const SUM_HEADS: usize = 4;

/// `a · b`: lane `l` of 32 accumulates `a[i] * b[i]` (fused) for `i ≡ l (mod 32)`; the lanes
/// are reduced pairwise (32 → 16 → 8 → 4 → 2 → 1); the tail past the last multiple of 32 is
/// added after, in order.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 and FMA (checked); the slices have equal lengths.
        return unsafe { avx2::dot(a, b) };
    }
    dot_portable(a, b)
}

/// `dot` without SIMD, in the same order.
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; DOT_LANES];
    let whole = a.len() / DOT_LANES * DOT_LANES;
    for (ca, cb) in a[..whole]
        .chunks_exact(DOT_LANES)
        .zip(b[..whole].chunks_exact(DOT_LANES))
    {
        for l in 0..DOT_LANES {
            acc[l] = ca[l].mul_add(cb[l], acc[l]);
        }
    }
    let mut w = DOT_LANES;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            acc[l] += acc[l + w];
        }
    }
    tail(acc[0], &a[whole..], &b[whole..])
}

fn tail(mut sum: f32, a: &[f32], b: &[f32]) -> f32 {
    for (x, y) in a.iter().zip(b) {
        sum = x.mul_add(*y, sum);
    }
    sum
}

/// For each head `h` of `heads`: `out[h * hd + i] = Σ_p weights[h * stride + p] ·
/// values[p * hd + i]` over the rows `p` of `values` (f16, `hd` per row), fused
/// multiply-adds in ascending `p` from zero.
pub fn weighted_sum(
    weights: &[f32],
    stride: usize,
    heads: usize,
    values: &[f16],
    hd: usize,
    out: &mut [f32],
) {
    let rows = values.len() / hd;
    debug_assert!(out.len() >= heads * hd && weights.len() >= (heads - 1) * stride + rows);
    #[cfg(target_arch = "x86_64")]
    if has_avx2() && hd.is_multiple_of(SUM_CHUNK) {
        let mut h = 0;
        while h < heads {
            let n = SUM_HEADS.min(heads - h);
            let w = &weights[h * stride..];
            let o = &mut out[h * hd..(h + n) * hd];
            // SAFETY: the CPU has AVX2, FMA and F16C (checked); `w` holds `n` heads of
            // `rows` weights at `stride`, `o` holds `n` rows of `hd`, and `hd` is a multiple
            // of 16.
            unsafe {
                match n {
                    4 => avx2::weighted_sum::<4>(w, stride, values, hd, o),
                    3 => avx2::weighted_sum::<3>(w, stride, values, hd, o),
                    2 => avx2::weighted_sum::<2>(w, stride, values, hd, o),
                    _ => avx2::weighted_sum::<1>(w, stride, values, hd, o),
                }
            }
            h += n;
        }
        return;
    }
    weighted_sum_portable(weights, stride, heads, values, hd, out);
}

/// `weighted_sum` without SIMD, in the same order.
fn weighted_sum_portable(
    weights: &[f32],
    stride: usize,
    heads: usize,
    values: &[f16],
    hd: usize,
    out: &mut [f32],
) {
    let rows = values.len() / hd;
    let mut row = vec![0f32; hd];
    out[..heads * hd].fill(0.0);
    for p in 0..rows {
        values[p * hd..(p + 1) * hd].convert_to_f32_slice(&mut row);
        for h in 0..heads {
            let w = weights[h * stride + p];
            for (o, v) in out[h * hd..(h + 1) * hd].iter_mut().zip(&row) {
                *o = w.mul_add(*v, *o);
            }
        }
    }
}

/// Whether the CPU has AVX2 with FMA and F16C (every AVX2 CPU has both), checked once; the
/// Q8_0 kernels ask here too.
#[cfg(target_arch = "x86_64")]
pub(super) fn has_avx2() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
    })
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{tail, DOT_LANES, SUM_CHUNK};
    use half::f16;
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX2 and FMA; `a.len() == b.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let whole = a.len() / DOT_LANES * DOT_LANES;
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i < whole {
            for (k, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_loadu_ps(pa.add(i + 8 * k));
                let y = _mm256_loadu_ps(pb.add(i + 8 * k));
                *acc = _mm256_fmadd_ps(x, y, *acc);
            }
            i += DOT_LANES;
        }
        // 32 -> 16 -> 8 lanes, then 8 -> 4 -> 2 -> 1 in the portable order.
        let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));
        let r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let r = _mm_add_ps(r, _mm_movehl_ps(r, r));
        let r = _mm_add_ss(r, _mm_movehdup_ps(r));
        tail(_mm_cvtss_f32(r), &a[whole..], &b[whole..])
    }

    /// `H` heads of weights at `stride` against the f16 rows of `values`, into `out`
    /// (`H` rows of `hd`).
    ///
    /// # Safety
    /// AVX2, FMA and F16C; `hd` a multiple of 16; `weights` holds `H` heads of
    /// `values.len() / hd` weights at `stride`; `out` holds `H * hd` values.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn weighted_sum<const H: usize>(
        weights: &[f32],
        stride: usize,
        values: &[f16],
        hd: usize,
        out: &mut [f32],
    ) {
        let rows = values.len() / hd;
        let (pw, pv, po) = (
            weights.as_ptr(),
            values.as_ptr() as *const u16,
            out.as_mut_ptr(),
        );
        for c in (0..hd).step_by(SUM_CHUNK) {
            let mut acc = [[_mm256_setzero_ps(); 2]; H];
            for p in 0..rows {
                let row = pv.add(p * hd + c);
                let v0 = _mm256_cvtph_ps(_mm_loadu_si128(row as *const __m128i));
                let v1 = _mm256_cvtph_ps(_mm_loadu_si128(row.add(8) as *const __m128i));
                for (h, acc) in acc.iter_mut().enumerate() {
                    let w = _mm256_set1_ps(*pw.add(h * stride + p));
                    acc[0] = _mm256_fmadd_ps(w, v0, acc[0]);
                    acc[1] = _mm256_fmadd_ps(w, v1, acc[1]);
                }
            }
            for (h, acc) in acc.iter().enumerate() {
                _mm256_storeu_ps(po.add(h * hd + c), acc[0]);
                _mm256_storeu_ps(po.add(h * hd + c + 8), acc[1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: f32) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32 * 0.37 + seed).sin() * 300.0).round() / 7.0)
            .collect()
    }

    #[test]
    fn dot_follows_its_stated_order() {
        for n in [0, 5, 32, 64, 256, 263] {
            let (a, b) = (data(n, 1.0), data(n, 2.0));
            assert_eq!(dot(&a, &b), dot_portable(&a, &b), "length {n}");
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            assert!((dot(&a, &b) as f64 - exact).abs() <= 1e-3 * exact.abs().max(1.0));
        }
    }

    #[test]
    fn weighted_sum_matches_the_plain_loop() {
        let (hd, rows, stride) = (32, 9, 11);
        for heads in 1..=6 {
            let values: Vec<f16> = data(rows * hd, 3.0)
                .into_iter()
                .map(f16::from_f32)
                .collect();
            let weights = data(heads * stride, 4.0);
            let mut out = vec![0f32; heads * hd];
            weighted_sum(&weights, stride, heads, &values, hd, &mut out);
            let mut want = vec![0f32; heads * hd];
            weighted_sum_portable(&weights, stride, heads, &values, hd, &mut want);
            assert_eq!(out, want, "{heads} heads");
            for h in 0..heads {
                let i = hd - 1;
                let plain = (0..rows).fold(0f32, |acc, p| {
                    weights[h * stride + p].mul_add(values[p * hd + i].to_f32(), acc)
                });
                assert_eq!(out[h * hd + i], plain, "head {h}");
            }
        }
    }
}
