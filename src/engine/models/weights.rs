//! Reading a model's weights and hyper-parameters from a parsed GGUF file: metadata lookups
//! with clear errors, and a `Loader` that turns named tensors into matmuls (requantizing
//! formats whose CPU kernels are slow) and plain vectors.

use super::ModelError;
use candle_core::quantized::{gguf_file, GgmlDType, QMatMul, QTensor};
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

    /// A matrix for `x @ W^T`, requantized to Q8_0 when the stored format is slow on CPU.
    pub fn matmul(&mut self, name: &str) -> Result<QMatMul, ModelError> {
        let q = self.qtensor(name)?;
        let q = match q.dtype() {
            GgmlDType::Q5_0 | GgmlDType::Q5_1 | GgmlDType::Q4_0 | GgmlDType::Q4_1
                if self.device.is_cpu() =>
            {
                QTensor::quantize(&q.dequantize(self.device)?, GgmlDType::Q8_0)?
            }
            _ => q,
        };
        Ok(QMatMul::from_qtensor(q)?)
    }

    /// A small tensor (norm weights, biases) dequantized to f32.
    pub fn vector(&mut self, name: &str) -> Result<Tensor, ModelError> {
        Ok(self.qtensor(name)?.dequantize(self.device)?)
    }
}
