//! Reading a model's weights and hyper-parameters from a parsed GGUF file: metadata lookups
//! with clear errors, and a `Loader` that turns named tensors into matmuls (requantizing
//! formats whose CPU kernels are slow) and plain vectors.

use super::matrix::{Embedding, Matrix};
use super::ModelError;
use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use std::io::{Read, Seek};

pub fn meta<'a>(ct: &'a gguf_file::Content, key: &str) -> Result<&'a gguf_file::Value, ModelError> {
    ct.metadata
        .get(key)
        .ok_or_else(|| ModelError::Metadata(key.to_string()))
}

pub fn meta_usize(ct: &gguf_file::Content, key: &str) -> Result<usize, ModelError> {
    meta(ct, key)?
        .to_u32()
        .map(|v| v as usize)
        .map_err(|_| ModelError::Metadata(key.to_string()))
}

pub fn meta_f32(ct: &gguf_file::Content, key: &str) -> Option<f32> {
    ct.metadata.get(key).and_then(|v| v.to_f32().ok())
}

/// Loads named tensors from one GGUF file onto one device.
pub struct Loader<'a, R> {
    ct: &'a gguf_file::Content,
    reader: &'a mut R,
    device: &'a Device,
}

impl<'a, R: Read + Seek> Loader<'a, R> {
    /// A loader over the parsed header `ct` and its file.
    pub fn new(ct: &'a gguf_file::Content, reader: &'a mut R, device: &'a Device) -> Self {
        Self { ct, reader, device }
    }

    /// Whether the file has a tensor of this name.
    pub fn has(&self, name: &str) -> bool {
        self.ct.tensor_infos.contains_key(name)
    }

    /// Fails, naming the tensor, unless the file has it with shape `dims` (candle's order:
    /// rows first, the reverse of ggml's `ne`).
    pub fn check_shape(&self, name: &str, dims: &[usize]) -> Result<(), ModelError> {
        let info = self
            .ct
            .tensor_infos
            .get(name)
            .ok_or_else(|| ModelError::Tensor {
                name: name.to_string(),
                reason: "missing from the file".into(),
            })?;
        if info.shape.dims() == dims {
            Ok(())
        } else {
            Err(ModelError::Tensor {
                name: name.to_string(),
                reason: format!(
                    "has shape {:?}, the metadata implies {dims:?}",
                    info.shape.dims()
                ),
            })
        }
    }

    /// The tensor as stored.
    pub fn qtensor(&mut self, name: &str) -> Result<QTensor, ModelError> {
        self.ct
            .tensor(self.reader, name, self.device)
            .map_err(|e| ModelError::Tensor {
                name: name.to_string(),
                reason: e.to_string(),
            })
    }

    /// A matrix for `x @ W^T`. On the CPU, Q5_0 and Q4_0 (whose candle kernels have no SIMD
    /// path) are widened to Q8_0 losslessly: same scales, the integer quants shifted into
    /// `i8`, so every dot product equals llama.cpp's. Q5_1 and Q4_1 carry an offset Q8_0
    /// cannot hold and are requantized (a small rounding). Q8_0 matrices on the CPU then run
    /// on our own kernel (`q8`).
    pub fn matmul(&mut self, name: &str) -> Result<Matrix, ModelError> {
        Ok(Matrix::new(self.cpu_format(name)?)?)
    }

    /// The token embedding table `name`, widened like `matmul` so that a tied output matrix
    /// can share it.
    pub fn embedding(&mut self, name: &str) -> Result<Embedding, ModelError> {
        Ok(Embedding::new(self.cpu_format(name)?)?)
    }

    /// The tensor, converted on the CPU to a format with a fast kernel (see `matmul`).
    fn cpu_format(&mut self, name: &str) -> Result<QTensor, ModelError> {
        let q = self.qtensor(name)?;
        if !self.device.is_cpu() {
            return Ok(q);
        }
        let widened = match q.dtype() {
            GgmlDType::Q5_0 => Some(widen_q5_0(&q.data()?)),
            GgmlDType::Q4_0 => Some(widen_q4_0(&q.data()?)),
            _ => None,
        };
        let q = match (widened, q.dtype()) {
            (Some(bytes), _) => qtensor_from_ggml(
                GgmlDType::Q8_0,
                &bytes,
                q.shape().dims().to_vec(),
                self.device,
            )?,
            (None, GgmlDType::Q5_1 | GgmlDType::Q4_1) => {
                QTensor::quantize(&q.dequantize(self.device)?, GgmlDType::Q8_0)?
            }
            _ => q,
        };
        Ok(q)
    }

    /// A small tensor (norm weights, biases) dequantized to f32.
    pub fn vector(&mut self, name: &str) -> Result<Tensor, ModelError> {
        Ok(self.qtensor(name)?.dequantize(self.device)?)
    }
}

/// Bytes of one Q8_0 block: an f16 scale and 32 `i8` quants.
const Q8_0_BLOCK: usize = 34;

/// Q5_0 blocks (f16 scale, 32 high bits, 16 bytes of low nibbles; value = d·(q − 16)) as
/// Q8_0 blocks with the same scale and `q − 16` as the quant: exactly the same values.
pub fn widen_q5_0(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() / 22 * Q8_0_BLOCK);
    for block in src.chunks_exact(22) {
        out.extend_from_slice(&block[..2]);
        let qh = u32::from_le_bytes([block[2], block[3], block[4], block[5]]);
        let qs = &block[6..22];
        let mut quants = [0u8; 32];
        for j in 0..16 {
            let lo = (qs[j] & 0x0f) | ((((qh >> j) & 1) as u8) << 4);
            let hi = (qs[j] >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4);
            quants[j] = (lo as i8 - 16) as u8;
            quants[j + 16] = (hi as i8 - 16) as u8;
        }
        out.extend_from_slice(&quants);
    }
    out
}

/// Q4_0 blocks (f16 scale, 16 bytes of nibbles; value = d·(q − 8)) as Q8_0 blocks with the
/// same scale and `q − 8` as the quant: exactly the same values.
pub fn widen_q4_0(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() / 18 * Q8_0_BLOCK);
    for block in src.chunks_exact(18) {
        out.extend_from_slice(&block[..2]);
        let qs = &block[2..18];
        let mut quants = [0u8; 32];
        for j in 0..16 {
            quants[j] = ((qs[j] & 0x0f) as i8 - 8) as u8;
            quants[j + 16] = ((qs[j] >> 4) as i8 - 8) as u8;
        }
        out.extend_from_slice(&quants);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random-looking blocks of `dtype` whose scales are ordinary f16 numbers.
    fn blocks(dtype: GgmlDType, rows: usize, cols: usize) -> QTensor {
        let block = dtype.type_size();
        let n = rows * cols / dtype.block_size();
        let mut bytes = Vec::with_capacity(n * block);
        let mut seed = 0x2545_f491_u32;
        for b in 0..n {
            // f16 bit patterns of small positive scales (about 0.008 to 0.012).
            let scale = 0x2000u16 + (b % 7) as u16 * 0x40;
            bytes.extend_from_slice(&scale.to_le_bytes());
            for _ in 2..block {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                bytes.push(seed as u8);
            }
        }
        qtensor_from_ggml(dtype, &bytes, vec![rows, cols], &Device::Cpu).unwrap()
    }

    fn assert_lossless(dtype: GgmlDType, widen: fn(&[u8]) -> Vec<u8>) {
        let q = blocks(dtype, 8, 128);
        let wide = widen(&q.data().unwrap());
        let q8 = qtensor_from_ggml(GgmlDType::Q8_0, &wide, vec![8, 128], &Device::Cpu).unwrap();
        let a = q.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap();
        let b = q8.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap();
        assert_eq!(a.to_vec1::<f32>().unwrap(), b.to_vec1::<f32>().unwrap());
    }

    #[test]
    fn q5_0_widens_to_q8_0_without_loss() {
        assert_lossless(GgmlDType::Q5_0, widen_q5_0);
    }

    #[test]
    fn q4_0_widens_to_q8_0_without_loss() {
        assert_lossless(GgmlDType::Q4_0, widen_q4_0);
    }
}
