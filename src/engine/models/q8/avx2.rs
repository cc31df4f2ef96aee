//! The SIMD tile kernels of `q8` for x86-64: AVX2 (`tile`) and AVX-512 VNNI (`tile_vnni`),
//! one macro body, so the two differ only in how a block pair's products become `i32` lanes.

use super::{hsum, Q8Matrix, Q8Rows, BLOCK, GROUP};
use std::arch::x86_64::*;

/// Defines a tile kernel for a set of CPU features. `$lanes(wabs, signed)` turns the
/// 32 products of a block pair into eight `i32` lanes of four products each.
macro_rules! tile_kernel {
    ($name:ident, $features:literal, $lanes:expr) => {
        /// Dot products of activation rows `i..i + H` with rows `first..first + W` of
        /// weight row group `group`, written to `sums[r][first + c]`.
        ///
        /// # Safety
        /// The CPU must have the kernel's features; `i + H <= x.rows`, `group` is one of
        /// the matrix's groups, `first + W <= GROUP` and `sums` has `H` rows.
        #[target_feature(enable = $features)]
        #[allow(clippy::needless_range_loop)] // index loops over const sizes unroll
        pub unsafe fn $name<const H: usize, const W: usize>(
            w: &Q8Matrix,
            x: &Q8Rows,
            i: usize,
            group: usize,
            first: usize,
            sums: &mut [[f32; GROUP]],
        ) {
            let blocks = w.cols / BLOCK;
            let base = group * blocks * GROUP + first;
            let wq = w.quants.as_ptr().add(base * BLOCK);
            let ws = w.scales.as_ptr().add(base);
            let xq = x.quants.as_ptr().add(i * x.cols);
            let xs = x.scales.as_ptr().add(i * blocks);
            let mut acc = [[_mm256_setzero_ps(); W]; H];
            for b in 0..blocks {
                let mut wv = [_mm256_setzero_si256(); W];
                let mut wabs = [_mm256_setzero_si256(); W];
                let mut wd = [_mm256_setzero_ps(); W];
                for c in 0..W {
                    let at = b * GROUP + c;
                    wv[c] = _mm256_loadu_si256(wq.add(at * BLOCK) as *const __m256i);
                    wabs[c] = _mm256_sign_epi8(wv[c], wv[c]);
                    wd[c] = _mm256_set1_ps(*ws.add(at));
                }
                for r in 0..H {
                    let at = xq.add(r * x.cols + b * BLOCK);
                    let xv = _mm256_loadu_si256(at as *const __m256i);
                    let xd = _mm256_set1_ps(*xs.add(r * blocks + b));
                    for c in 0..W {
                        let signed = _mm256_sign_epi8(xv, wv[c]);
                        let lanes = _mm256_cvtepi32_ps($lanes(wabs[c], signed));
                        let d = _mm256_mul_ps(wd[c], xd);
                        acc[r][c] = _mm256_fmadd_ps(d, lanes, acc[r][c]);
                    }
                }
            }
            for r in 0..H {
                for c in 0..W {
                    let mut lanes = [0f32; 8];
                    _mm256_storeu_ps(lanes.as_mut_ptr(), acc[r][c]);
                    sums[r][first + c] = hsum(lanes);
                }
            }
        }
    };
}

// Pairs of products to i16 (no saturation: |w| <= 128 and |x| <= 127), then pairs of
// those to i32.
tile_kernel!(tile, "avx2,fma", |a, b| _mm256_madd_epi16(
    _mm256_set1_epi16(1),
    _mm256_maddubs_epi16(a, b)
));

// The same four-product sums in one instruction. With AVX-512's 32 vector registers the
// callers also use larger tiles.
tile_kernel!(tile_vnni, "avx2,fma,avx512f,avx512vl,avx512vnni", |a, b| {
    _mm256_dpbusd_epi32(_mm256_setzero_si256(), a, b)
});
