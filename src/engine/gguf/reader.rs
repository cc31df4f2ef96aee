//! Byte-level GGUF parsing for `GgufFile`: a little-endian cursor that knows
//! its offset and the file length, so that every failure names where it
//! happened and no count read from the file can make us allocate more than
//! the file could hold.

use super::{GgufError, GgufFile, TensorInfo, Value, ValueType};
use std::collections::HashMap;
use std::io::Read;

const MAGIC: [u8; 4] = *b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// Real files nest arrays at most once; this only stops malicious recursion.
const MAX_NESTING: u32 = 8;
/// Tensors have at most 4 dims in ggml; allow some slack for future formats.
const MAX_DIMS: u32 = 8;

/// A reading position in a GGUF stream of known total length.
struct Cursor<R> {
    inner: R,
    offset: u64,
    file_len: u64,
}

impl<R: Read> Cursor<R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        let mut buf = [0u8; N];
        self.fill(&mut buf)?;
        Ok(buf)
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), GgufError> {
        let needed = buf.len() as u64;
        if self.remaining() < needed {
            return Err(self.truncated(needed));
        }
        self.inner.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => self.truncated(needed),
            _ => GgufError::Io {
                path: String::from("<stream>"),
                source: e,
            },
        })?;
        self.offset += needed;
        Ok(())
    }

    fn truncated(&self, needed: u64) -> GgufError {
        GgufError::Truncated {
            offset: self.offset,
            needed,
            file_len: self.file_len,
        }
    }

    fn remaining(&self) -> u64 {
        self.file_len.saturating_sub(self.offset)
    }

    fn u32(&mut self) -> Result<u32, GgufError> {
        self.bytes().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, GgufError> {
        self.bytes().map(u64::from_le_bytes)
    }

    /// Reads a count and rejects it when `count * min_size` exceeds the rest of the file.
    fn count(&mut self, what: &'static str, min_size: u64) -> Result<u64, GgufError> {
        let offset = self.offset;
        let count = self.u64()?;
        if count.saturating_mul(min_size.max(1)) > self.remaining() {
            return Err(GgufError::AbsurdCount {
                what,
                count,
                offset,
            });
        }
        Ok(count)
    }

    fn string(&mut self) -> Result<String, GgufError> {
        let len = self.u64()?;
        let start = self.offset;
        // A string longer than the rest of the file means the file was cut short;
        // checking first also keeps a corrupt length from allocating.
        if len > self.remaining() {
            return Err(self.truncated(len));
        }
        let mut buf = vec![0u8; len as usize];
        self.fill(&mut buf)?;
        String::from_utf8(buf).map_err(|_| GgufError::InvalidUtf8 { offset: start })
    }

    fn value_type(&mut self) -> Result<ValueType, GgufError> {
        let offset = self.offset;
        let tag = self.u32()?;
        ValueType::from_tag(tag).ok_or(GgufError::UnknownValueType { tag, offset })
    }

    fn value(&mut self, ty: ValueType, depth: u32) -> Result<Value, GgufError> {
        Ok(match ty {
            ValueType::U8 => Value::U8(u8::from_le_bytes(self.bytes()?)),
            ValueType::I8 => Value::I8(i8::from_le_bytes(self.bytes()?)),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.bytes()?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.bytes()?)),
            ValueType::U32 => Value::U32(self.u32()?),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.bytes()?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.bytes()?)),
            ValueType::Bool => Value::Bool(self.bytes::<1>()?[0] != 0),
            ValueType::String => Value::String(self.string()?),
            ValueType::U64 => Value::U64(self.u64()?),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.bytes()?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.bytes()?)),
            ValueType::Array => self.array(depth)?,
        })
    }

    fn array(&mut self, depth: u32) -> Result<Value, GgufError> {
        if depth >= MAX_NESTING {
            return Err(GgufError::NestingTooDeep {
                offset: self.offset,
            });
        }
        let elem = self.value_type()?;
        let count = self.count("array length", min_encoded_size(elem))?;
        let mut items = Vec::with_capacity(count as usize);
        for _ in 0..count {
            items.push(self.value(elem, depth + 1)?);
        }
        Ok(Value::Array(elem, items))
    }

    fn tensor_info(&mut self) -> Result<TensorInfo, GgufError> {
        let name = self.string()?;
        let dims_offset = self.offset;
        let n_dims = self.u32()?;
        if n_dims > MAX_DIMS {
            return Err(GgufError::AbsurdCount {
                what: "tensor dimension count",
                count: n_dims.into(),
                offset: dims_offset,
            });
        }
        let dims = (0..n_dims).map(|_| self.u64()).collect::<Result<_, _>>()?;
        let ggml_type = self.u32()?;
        let offset = self.u64()?;
        Ok(TensorInfo {
            name,
            dims,
            ggml_type,
            offset,
        })
    }
}

/// The fewest bytes one element of type `ty` can occupy (for count sanity checks).
fn min_encoded_size(ty: ValueType) -> u64 {
    match ty {
        ValueType::U8 | ValueType::I8 | ValueType::Bool => 1,
        ValueType::U16 | ValueType::I16 => 2,
        ValueType::U32 | ValueType::I32 | ValueType::F32 => 4,
        ValueType::U64 | ValueType::I64 | ValueType::F64 | ValueType::String => 8,
        ValueType::Array => 12,
    }
}

/// Parses the header, metadata and tensor infos from `inner` (`file_len` bytes long).
pub(super) fn parse<R: Read>(inner: R, file_len: u64) -> Result<GgufFile, GgufError> {
    let mut cur = Cursor {
        inner,
        offset: 0,
        file_len,
    };
    let magic = cur.bytes::<4>()?;
    if magic != MAGIC {
        return Err(GgufError::BadMagic { found: magic });
    }
    let version = cur.u32()?;
    if !(2..=3).contains(&version) {
        return Err(GgufError::UnsupportedVersion(version));
    }
    // A tensor info is at least 8 (name len) + 4 + 4 + 8 bytes; a key/value at least 8 + 4 + 1.
    let n_tensors = cur.count("tensor count", 24)?;
    let n_kv = cur.count("metadata key/value count", 13)?;

    let mut keys = Vec::with_capacity(n_kv as usize);
    let mut metadata = HashMap::with_capacity(n_kv as usize);
    for _ in 0..n_kv {
        let key = cur.string()?;
        let ty = cur.value_type()?;
        let value = cur.value(ty, 0)?;
        if metadata.insert(key.clone(), value).is_none() {
            keys.push(key);
        }
    }

    let mut tensors = Vec::with_capacity(n_tensors as usize);
    for _ in 0..n_tensors {
        tensors.push(cur.tensor_info()?);
    }

    let alignment = match metadata.get("general.alignment").and_then(Value::as_u64) {
        Some(a) if a > 0 => a,
        _ => DEFAULT_ALIGNMENT,
    };
    let data_offset = cur.offset.div_ceil(alignment).saturating_mul(alignment);
    Ok(GgufFile {
        version,
        keys,
        metadata,
        tensors,
        data_offset,
    })
}
