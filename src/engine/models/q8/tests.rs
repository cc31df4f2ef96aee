//! Tests of `q8`: every kernel gives the portable order's bits, a single row gives the numbers
//! of a batch, the product is close to the float one, and activations round as llama.cpp's.

use super::*;

/// A deterministic matrix of GGUF Q8_0 bytes with quants over the whole `i8` range.
fn gguf_bytes(rows: usize, cols: usize, seed: u32) -> Vec<u8> {
    let mut s = seed;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s
    };
    let mut bytes = Vec::new();
    for _ in 0..rows * cols / BLOCK {
        let d = f16::from_f32(0.001 + (next() % 1000) as f32 * 1e-5);
        bytes.extend_from_slice(&d.to_le_bytes());
        bytes.extend((0..BLOCK).map(|_| (next() % 255) as u8 ^ 0x80));
    }
    bytes
}

fn activations(rows: usize, cols: usize) -> Vec<f32> {
    (0..rows * cols)
        .map(|i| ((i * 7919 % 1009) as f32 - 504.0) * if i % 97 == 0 { 40.0 } else { 0.1 })
        .collect()
}

#[test]
fn matches_the_portable_order_bit_for_bit() {
    let (n, k, m) = (19, 96, 7);
    let w = Q8Matrix::from_gguf_bytes(&gguf_bytes(n, k, 7), n, k).unwrap();
    let x = activations(m, k);
    let got = w.matmul(&x, m).unwrap();
    let q = Q8Rows::quantize(&x, m, k);
    for r in 0..m {
        for c in 0..n {
            assert_eq!(got[r * n + c], dot_portable(&w, &q, r, c), "({r}, {c})");
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn every_kernel_this_cpu_has_gives_the_same_bits() {
    let (k, m) = (160, 6);
    let w = Q8Matrix::from_gguf_bytes(&gguf_bytes(GROUP, k, 5), GROUP, k).unwrap();
    let x = Q8Rows::quantize(&activations(m, k), m, k);
    let vnni = is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512vl");
    let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
    let kernels = [(Kernel::Vnni, vnni && avx2), (Kernel::Avx2, avx2)];
    for (kernel, _) in kernels.into_iter().filter(|(_, has)| *has) {
        for (i, height) in [(0, 4), (4, 2)] {
            let mut got = [[0f32; GROUP]; TILE_ROWS];
            let mut want = got;
            w.tile_with(kernel, &x, i, height, 0, &mut got);
            w.tile_portable(&x, i, height, 0, &mut want);
            assert_eq!(got, want, "{kernel:?}, rows {i}..{}", i + height);
        }
    }
}

#[test]
fn one_row_gives_the_numbers_of_a_batch() {
    let (n, k, m) = (37, 64, 9);
    let w = Q8Matrix::from_gguf_bytes(&gguf_bytes(n, k, 11), n, k).unwrap();
    let x = activations(m, k);
    let batch = w.matmul(&x, m).unwrap();
    for r in 0..m {
        let one = w.matmul(&x[r * k..(r + 1) * k], 1).unwrap();
        assert_eq!(one, batch[r * n..(r + 1) * n], "row {r}");
    }
}

#[test]
fn agrees_with_the_float_product() {
    let (n, k, m) = (5, 128, 3);
    let w = Q8Matrix::from_gguf_bytes(&gguf_bytes(n, k, 3), n, k).unwrap();
    let x = activations(m, k);
    let got = w.matmul(&x, m).unwrap();
    let mut row = vec![0f32; k];
    for c in 0..n {
        w.dequantize_row(c, &mut row);
        for r in 0..m {
            let exact: f32 = (0..k).map(|t| row[t] * x[r * k + t]).sum();
            let scale: f32 = (0..k).map(|t| (row[t] * x[r * k + t]).abs()).sum();
            let err = (got[r * n + c] - exact).abs();
            assert!(
                err <= 0.02 * scale,
                "({r}, {c}): {} vs {exact}",
                got[r * n + c]
            );
        }
    }
}

#[test]
fn quantizes_like_llama_cpp() {
    // A block whose largest magnitude is 127 has the multiplier 1, so the halves show
    // the rounding: half to even, as _mm256_round_ps does.
    let mut x = vec![0f32; BLOCK];
    x[..6].copy_from_slice(&[127.0, 0.5, 1.5, 2.5, -0.5, -127.0]);
    let q = Q8Rows::quantize(&x, 1, BLOCK);
    assert_eq!(&q.quants[..6], &[127, 0, 2, 2, 0, -127]);
    assert_eq!(q.scales[0], 1.0);
    let zeros = Q8Rows::quantize(&[0.0; BLOCK], 1, BLOCK);
    assert!(zeros.quants.iter().all(|&q| q == 0) && zeros.scales[0] == 0.0);
}

#[test]
fn rejects_a_wrong_size() {
    assert!(Q8Matrix::from_gguf_bytes(&[0; 33], 1, 32).is_err());
    let w = Q8Matrix::from_gguf_bytes(&gguf_bytes(2, 32, 1), 2, 32).unwrap();
    assert!(w.matmul(&[0.0; 31], 1).is_err());
}
