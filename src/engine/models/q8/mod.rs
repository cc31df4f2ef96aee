//! Q8_0 matrices with our own CPU matmul, the engine's hottest code on Gemma-style files.
//!
//! Most of a Q4_K_M file's layer matrices whose rows are not a multiple of 256 wide are Q5_0,
//! which the loader widens to Q8_0 without loss; the tied output matrix is Q8_0 too. candle
//! multiplies these one (weight row, activation row) pair at a time, reloading both blocks for
//! every pair. Here a tile of weight rows meets a tile of activation rows per block load, so
//! each load serves several dot products.
//!
//! The arithmetic of every single dot product is llama.cpp's `vec_dot_q8_0_q8_0` for AVX2:
//! activations quantized as its `quantize_row_q8_0` does (scale `max / 127` kept as f16,
//! quants `round_ties_even(x * 127 / max)`), per block eight `i32` lanes of four products
//! each, `lane * (d_w * d_x)` fused into eight `f32` accumulators, and the same horizontal sum
//! at the end. The result of a pair never depends on the tile it ran in, the batch size or the
//! thread count, so decoding one token gives the same numbers as prefilling it. The kernels
//! are chosen at run time: AVX-512 VNNI (four-product sums in one instruction, the same
//! integers), AVX2, or a portable loop; all three give the same bits.

use candle_core::Result;
use half::f16;

/// Values per Q8_0 block.
pub const BLOCK: usize = 32;

/// Bytes of one Q8_0 block in a GGUF file: an f16 scale and 32 `i8` quants.
const BLOCK_BYTES: usize = 34;

/// Weight rows stored interleaved block by block, so the rows a tile reads together are one
/// sequential stream (with separate rows, the CPU's prefetchers lose track and decode halves
/// its memory bandwidth).
const GROUP: usize = 4;

/// Row groups per work item: the rows one thread runs against every activation row while
/// they sit in its L1 cache.
const PANEL_GROUPS: usize = 2;

/// Activation rows a prefill tile holds (with two weight rows: 8 accumulators, the most that
/// AVX2's 16 registers take with the operands).
const TILE_ROWS: usize = 4;

/// A `rows × cols` matrix of Q8_0 blocks (a linear layer's `W` for `x @ W^T`), kept as one
/// array of quants and one of f32 scales so every load is a plain vector load. Rows come in
/// groups of `GROUP` (the last padded with zero rows): for each block the group's rows follow
/// each other.
pub struct Q8Matrix {
    rows: usize,
    cols: usize,
    quants: Vec<i8>,
    scales: Vec<f32>,
}

/// Rows of activations quantized to Q8_0 the way llama.cpp quantizes them.
pub struct Q8Rows {
    rows: usize,
    cols: usize,
    quants: Vec<i8>,
    scales: Vec<f32>,
}

impl Q8Matrix {
    /// The matrix stored in `bytes` as GGUF Q8_0 blocks, `rows` rows of `cols` values.
    pub fn from_gguf_bytes(bytes: &[u8], rows: usize, cols: usize) -> Result<Self> {
        if !cols.is_multiple_of(BLOCK) || bytes.len() != rows * cols / BLOCK * BLOCK_BYTES {
            candle_core::bail!(
                "Q8_0 matrix of {rows}x{cols}: {} bytes, expected {}",
                bytes.len(),
                rows * cols / BLOCK * BLOCK_BYTES
            );
        }
        let blocks = cols / BLOCK;
        let padded = rows.div_ceil(GROUP) * GROUP;
        let mut quants = vec![0i8; padded * cols];
        let mut scales = vec![0f32; padded * blocks];
        for (index, block) in bytes.chunks_exact(BLOCK_BYTES).enumerate() {
            let at = slot(index / blocks, index % blocks, blocks);
            scales[at] = f16::from_le_bytes([block[0], block[1]]).to_f32();
            for (q, &b) in quants[at * BLOCK..(at + 1) * BLOCK]
                .iter_mut()
                .zip(&block[2..])
            {
                *q = b as i8;
            }
        }
        Ok(Self {
            rows,
            cols,
            quants,
            scales,
        })
    }

    /// Rows (output features).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns (input features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `row` dequantized into `out` (an embedding lookup).
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        let blocks = self.cols / BLOCK;
        for (b, out) in out.chunks_exact_mut(BLOCK).enumerate() {
            let at = slot(row, b, blocks);
            let d = self.scales[at];
            for (o, &q) in out
                .iter_mut()
                .zip(&self.quants[at * BLOCK..(at + 1) * BLOCK])
            {
                *o = q as f32 * d;
            }
        }
    }

    /// `x @ W^T` for `x` of `m` rows of `cols` values (row-major); returns `m × rows`.
    pub fn matmul(&self, x: &[f32], m: usize) -> Result<Vec<f32>> {
        if x.len() != m * self.cols {
            candle_core::bail!(
                "matmul: {} inputs for {m} rows of {} columns",
                x.len(),
                self.cols
            );
        }
        let x = Q8Rows::quantize(x, m, self.cols);
        let mut out = vec![0f32; m * self.rows];
        self.matmul_quantized(&x, &mut out);
        Ok(out)
    }

    /// The product with activations already quantized, into `out` (`x.rows × self.rows`).
    fn matmul_quantized(&self, x: &Q8Rows, out: &mut [f32]) {
        let groups = self.rows.div_ceil(GROUP);
        let panels = groups.div_ceil(PANEL_GROUPS);
        assert!(out.len() >= x.rows * self.rows, "matmul: output too small");
        let out = Output(out.as_mut_ptr() as usize);
        let run = |items: std::ops::Range<usize>| {
            for panel in items {
                let first = panel * PANEL_GROUPS;
                for group in first..groups.min(first + PANEL_GROUPS) {
                    self.group(x, group, out);
                }
            }
        };
        candle_core::utils::barrier_pool().execute_chunked(panels, run);
    }

    /// The rows of `group` against every activation row, in tiles, into `out`.
    fn group(&self, x: &Q8Rows, group: usize, out: Output) {
        let mut sums = [[0f32; GROUP]; TILE_ROWS];
        let mut i = 0;
        while i < x.rows {
            let height = TILE_ROWS.min(x.rows - i);
            self.tile(x, i, height, group, &mut sums);
            for (r, sums) in sums.iter().enumerate().take(height) {
                for (c, &sum) in sums.iter().enumerate() {
                    let row = group * GROUP + c;
                    if row < self.rows {
                        // SAFETY: the index is inside the `x.rows × self.rows` output (checked
                        // in `matmul_quantized`), and only this group writes column `row`, so
                        // no two workers write the same element.
                        unsafe { *(out.0 as *mut f32).add((i + r) * self.rows + row) = sum };
                    }
                }
            }
            i += height;
        }
    }

    /// Dot products of activation rows `i..i + height` with the rows of `group`.
    fn tile(&self, x: &Q8Rows, i: usize, height: usize, group: usize, sums: &mut [[f32; GROUP]]) {
        #[cfg(target_arch = "x86_64")]
        self.tile_with(kernel(), x, i, height, group, sums);
        #[cfg(not(target_arch = "x86_64"))]
        self.tile_portable(x, i, height, group, sums);
    }

    /// `tile` on the given kernel.
    #[cfg(target_arch = "x86_64")]
    fn tile_with(
        &self,
        kernel: Kernel,
        x: &Q8Rows,
        i: usize,
        height: usize,
        group: usize,
        sums: &mut [[f32; GROUP]],
    ) {
        // SAFETY (every arm): the CPU has the kernel's features (checked when it was chosen),
        // and the rows read are in range (`i + height <= x.rows`, `group` < the matrix's
        // groups, `sums` has `height` rows).
        match (kernel, height) {
            (Kernel::Vnni, 4) => unsafe { avx2::tile_vnni::<4, 4>(self, x, i, group, 0, sums) },
            (Kernel::Vnni, 1) => unsafe { avx2::tile_vnni::<1, 4>(self, x, i, group, 0, sums) },
            (Kernel::Avx2, 4) => unsafe {
                avx2::tile::<4, 2>(self, x, i, group, 0, sums);
                avx2::tile::<4, 2>(self, x, i, group, 2, sums);
            },
            (Kernel::Avx2, 1) => unsafe { avx2::tile::<1, 4>(self, x, i, group, 0, sums) },
            (Kernel::Portable, _) => self.tile_portable(x, i, height, group, sums),
            // The last rows of a batch that is not a multiple of 4: one at a time.
            _ => {
                for r in 0..height {
                    self.tile_with(kernel, x, i + r, 1, group, &mut sums[r..]);
                }
            }
        }
    }

    /// `tile` without SIMD, in the same order.
    fn tile_portable(
        &self,
        x: &Q8Rows,
        i: usize,
        height: usize,
        group: usize,
        sums: &mut [[f32; GROUP]],
    ) {
        for (r, sums) in sums.iter_mut().enumerate().take(height) {
            for (c, sum) in sums.iter_mut().enumerate() {
                *sum = dot_portable(self, x, i + r, group * GROUP + c);
            }
        }
    }
}

/// The output of a matmul that the pool's workers share: its address. Each writes only the
/// columns of its own row groups, through the raw pointer, so no two `&mut` overlap.
#[derive(Clone, Copy)]
struct Output(usize);

/// Index of block `b` of row `row` in the interleaved layout (in blocks; in scales).
fn slot(row: usize, b: usize, blocks: usize) -> usize {
    ((row / GROUP) * blocks + b) * GROUP + row % GROUP
}

impl Q8Rows {
    /// `rows` rows of `cols` values (a multiple of 32) quantized as llama.cpp's
    /// `quantize_row_q8_0` does on x86: the scale `max|x| / 127` rounded to f16, each value
    /// multiplied by `127 / max|x|` and rounded half to even.
    pub fn quantize(x: &[f32], rows: usize, cols: usize) -> Self {
        let mut quants = Vec::with_capacity(x.len());
        let mut scales = Vec::with_capacity(x.len() / BLOCK);
        for block in x.chunks_exact(BLOCK) {
            let max = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            scales.push(f16::from_f32(max / 127.0).to_f32());
            let id = if max != 0.0 { 127.0 / max } else { 0.0 };
            quants.extend(block.iter().map(|&v| (v * id).round_ties_even() as i8));
        }
        Self {
            rows,
            cols,
            quants,
            scales,
        }
    }
}

/// The SIMD kernels this CPU can run, best first.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// AVX-512 VNNI (with VL): four-product sums in one instruction, 32 registers.
    Vnni,
    /// AVX2 and FMA.
    Avx2,
    /// Neither: the portable loop.
    Portable,
}

#[cfg(target_arch = "x86_64")]
fn kernel() -> Kernel {
    use std::sync::OnceLock;
    static KERNEL: OnceLock<Kernel> = OnceLock::new();
    *KERNEL.get_or_init(|| {
        let vnni = is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512vnni");
        match (super::simd::has_avx2(), vnni) {
            (true, true) => Kernel::Vnni,
            (true, false) => Kernel::Avx2,
            (false, _) => Kernel::Portable,
        }
    })
}

/// Whether this CPU has one of the SIMD kernels. Elsewhere (ARM, or x86 without AVX2) the
/// portable loop would be slower than candle's own kernels, so callers should use those.
pub fn has_simd_kernel() -> bool {
    #[cfg(target_arch = "x86_64")]
    return kernel() != Kernel::Portable;
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// One dot product in the AVX2 kernel's exact order, without SIMD: per block, eight lanes of
/// four `i32` products each, fused into eight accumulators, then the kernel's horizontal sum.
fn dot_portable(w: &Q8Matrix, x: &Q8Rows, row: usize, col: usize) -> f32 {
    let blocks = w.cols / BLOCK;
    let xq = &x.quants[row * x.cols..(row + 1) * x.cols];
    let mut acc = [0f32; 8];
    for b in 0..blocks {
        let at = slot(col, b, blocks);
        let wq = &w.quants[at * BLOCK..(at + 1) * BLOCK];
        let d = w.scales[at] * x.scales[row * blocks + b];
        for (lane, acc) in acc.iter_mut().enumerate() {
            let (xq, wq) = (&xq[b * BLOCK + lane * 4..], &wq[lane * 4..]);
            let sum: i32 = (0..4).map(|t| wq[t] as i32 * xq[t] as i32).sum();
            *acc = d.mul_add(sum as f32, *acc);
        }
    }
    hsum(acc)
}

/// The horizontal sum of eight lanes in the order of llama.cpp's `hsum_float_8`.
fn hsum(a: [f32; 8]) -> f32 {
    let r = [a[4] + a[0], a[5] + a[1], a[6] + a[2], a[7] + a[3]];
    (r[0] + r[2]) + (r[1] + r[3])
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(test)]
mod tests;
