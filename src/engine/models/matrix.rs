//! A weight matrix and the kernel that multiplies by it: our own Q8_0 kernel (`q8`) for Q8_0
//! matrices on an x86-64 CPU with AVX2, candle's quantized matmul for every other format, CPU
//! (candle has NEON kernels for ARM) and device. The token embedding is the same choice,
//! because a tied output matrix shares its storage. The models hold these types and never see
//! which kernel runs.

use super::ops::with_f32_values;
use super::q8::{self, Q8Matrix};
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Result, Tensor};
use std::sync::Arc;

/// A matrix for `x @ W^T`.
pub enum Matrix {
    /// A Q8_0 matrix on the CPU.
    Q8(Arc<Q8Matrix>),
    /// Any other format or device.
    Candle(QMatMul),
}

/// A token embedding table: rows looked up by token id.
pub enum Embedding {
    /// A Q8_0 table on the CPU.
    Q8(Arc<Q8Matrix>),
    /// Any other format or device.
    Candle(Arc<QTensor>),
}

impl Matrix {
    /// The matrix for `q`: our kernel when it is Q8_0 on the CPU, else candle's.
    pub fn new(q: QTensor) -> Result<Self> {
        match q8_of(&q)? {
            Some(m) => Ok(Self::Q8(Arc::new(m))),
            None => Ok(Self::Candle(QMatMul::from_qtensor(q)?)),
        }
    }

    /// `x @ W^T` for `x` of shape `(len, cols)`; returns `(len, rows)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Candle(m) => m.forward(x),
            Self::Q8(m) => {
                let (len, cols) = x.dims2()?;
                if cols != m.cols() {
                    candle_core::bail!("matmul: input of width {cols}, matrix of {}", m.cols());
                }
                let out = with_f32_values(x, |flat| m.matmul(flat, len))??;
                Tensor::from_vec(out, (len, m.rows()), x.device())
            }
        }
    }
}

impl Embedding {
    /// The table `q`, kept as Q8_0 rows for our kernel when it is Q8_0 on the CPU.
    pub fn new(q: QTensor) -> Result<Self> {
        match q8_of(&q)? {
            Some(m) => Ok(Self::Q8(Arc::new(m))),
            None => Ok(Self::Candle(Arc::new(q))),
        }
    }

    /// `(rows, cols)` of the table: vocabulary by hidden width.
    pub fn dims(&self) -> (usize, usize) {
        match self {
            Self::Q8(m) => (m.rows(), m.cols()),
            Self::Candle(q) => {
                let d = q.shape().dims();
                (d[0], d.get(1).copied().unwrap_or(1))
            }
        }
    }

    /// The rows of `ids`, shape `(ids.len(), cols)`, on `device`.
    pub fn forward(&self, ids: &[u32], device: &Device) -> Result<Tensor> {
        match self {
            Self::Candle(q) => q.embedding(&Tensor::new(ids, device)?),
            Self::Q8(m) => {
                let cols = m.cols();
                let mut out = vec![0f32; ids.len() * cols];
                for (row, &id) in out.chunks_exact_mut(cols).zip(ids) {
                    if id as usize >= m.rows() {
                        candle_core::bail!("token id {id} is outside the vocabulary");
                    }
                    m.dequantize_row(id as usize, row);
                }
                Tensor::from_vec(out, (ids.len(), cols), device)
            }
        }
    }

    /// The table as the output matrix (tied embeddings), sharing its storage.
    pub fn as_matrix(&self) -> Result<Matrix> {
        match self {
            Self::Q8(m) => Ok(Matrix::Q8(m.clone())),
            Self::Candle(q) => Ok(Matrix::Candle(QMatMul::from_arc(q.clone())?)),
        }
    }
}

/// `q` as our own Q8_0 matrix when it is a Q8_0 matrix on a CPU our kernels run fast on.
fn q8_of(q: &QTensor) -> Result<Option<Q8Matrix>> {
    let dims = q.shape().dims();
    let ours = q.dtype() == GgmlDType::Q8_0 && q.device().is_cpu() && dims.len() == 2;
    if !ours || !q8::has_simd_kernel() {
        return Ok(None);
    }
    Q8Matrix::from_gguf_bytes(&q.data()?, dims[0], dims[1]).map(Some)
}
