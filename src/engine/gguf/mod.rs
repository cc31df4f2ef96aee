//! GGUF model files: the header, the metadata key/values and the tensor info
//! table, read without touching tensor data. The tokenizer builds itself from
//! the `tokenizer.ggml.*` keys found here; the future model loader will use
//! `tensors()` and `data_offset()` to map weights. Parsing lives in `reader`.

mod reader;

use std::collections::HashMap;
use std::path::Path;

/// Why a GGUF file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The file could not be opened or read at all.
    #[error("cannot read GGUF file {path}: {source}")]
    Io {
        /// The file that failed.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The first four bytes are not `GGUF`.
    #[error("not a GGUF file: magic bytes are {found:?}, expected \"GGUF\"")]
    BadMagic {
        /// The bytes found instead.
        found: [u8; 4],
    },
    /// The version is one this reader does not understand (only 2 and 3 are).
    #[error("unsupported GGUF version {0} (supported: 2, 3)")]
    UnsupportedVersion(u32),
    /// The file ends before a value that the header promises.
    #[error(
        "truncated GGUF file: needed {needed} bytes at byte offset {offset}, file has {file_len}"
    )]
    Truncated {
        /// Where the read started.
        offset: u64,
        /// How many bytes were needed there.
        needed: u64,
        /// The file's size.
        file_len: u64,
    },
    /// A count or length cannot possibly fit in the rest of the file.
    #[error("corrupt GGUF file: {what} = {count} at byte offset {offset} cannot fit in the file")]
    AbsurdCount {
        /// Which count.
        what: &'static str,
        /// Its value.
        count: u64,
        /// Where it was read.
        offset: u64,
    },
    /// A value type tag outside the GGUF specification.
    #[error("corrupt GGUF file: unknown value type {tag} at byte offset {offset}")]
    UnknownValueType {
        /// The tag read.
        tag: u32,
        /// Where it was read.
        offset: u64,
    },
    /// A string that is not UTF-8.
    #[error("corrupt GGUF file: string at byte offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Where the string's bytes start.
        offset: u64,
    },
    /// Arrays of arrays nest deeper than any real file does.
    #[error("corrupt GGUF file: arrays nested too deeply at byte offset {offset}")]
    NestingTooDeep {
        /// Where the innermost array starts.
        offset: u64,
    },
}

/// The type tag of a metadata value, as numbered by the GGUF specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// 0
    U8,
    /// 1
    I8,
    /// 2
    U16,
    /// 3
    I16,
    /// 4
    U32,
    /// 5
    I32,
    /// 6
    F32,
    /// 7
    Bool,
    /// 8
    String,
    /// 9
    Array,
    /// 10
    U64,
    /// 11
    I64,
    /// 12
    F64,
}

impl ValueType {
    /// Maps a raw tag to a type; `None` for tags outside the specification.
    pub fn from_tag(tag: u32) -> Option<ValueType> {
        use ValueType::*;
        const ALL: [ValueType; 13] = [
            U8, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64,
        ];
        ALL.get(tag as usize).copied()
    }
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `uint8`
    U8(u8),
    /// `int8`
    I8(i8),
    /// `uint16`
    U16(u16),
    /// `int16`
    I16(i16),
    /// `uint32`
    U32(u32),
    /// `int32`
    I32(i32),
    /// `float32`
    F32(f32),
    /// `bool`
    Bool(bool),
    /// `string`
    String(String),
    /// `uint64`
    U64(u64),
    /// `int64`
    I64(i64),
    /// `float64`
    F64(f64),
    /// An array; the element type is kept so that empty arrays stay typed.
    Array(ValueType, Vec<Value>),
}

impl Value {
    /// The value as an unsigned integer if it is any non-negative integer type.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float if it is any numeric type.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            Value::I8(v) => Some(v.into()),
            Value::I16(v) => Some(v.into()),
            Value::I32(v) => Some(v.into()),
            Value::I64(v) => Some(v as f64),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// One entry of the tensor info table (the data itself is not read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions, innermost first (GGUF order).
    pub dims: Vec<u64>,
    /// The raw `ggml_type` tag (0 = F32, 1 = F16, 12 = Q4_K, ...).
    pub ggml_type: u32,
    /// Offset of the data relative to `GgufFile::data_offset()`.
    pub offset: u64,
}

/// A parsed GGUF header: metadata and tensor infos, in file order.
#[derive(Debug, Clone)]
pub struct GgufFile {
    version: u32,
    keys: Vec<String>,
    metadata: HashMap<String, Value>,
    tensors: Vec<TensorInfo>,
    data_offset: u64,
}

impl GgufFile {
    /// Opens and parses the header of the GGUF file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile, GgufError> {
        let path = path.as_ref();
        let io_err = |source| GgufError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        reader::parse(std::io::BufReader::new(file), len)
    }

    /// Parses a GGUF header held in memory (tests, embedded files).
    pub fn from_bytes(bytes: &[u8]) -> Result<GgufFile, GgufError> {
        reader::parse(bytes, bytes.len() as u64)
    }

    /// The GGUF version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The metadata value stored under `key`.
    pub fn metadata(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    /// All metadata keys, in file order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(String::as_str)
    }

    /// The string under `key`, if present and a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.metadata(key)?.as_str()
    }

    /// The integer under `key`, if present, an integer and within `u32`.
    pub fn get_u32(&self, key: &str) -> Option<u32> {
        u32::try_from(self.metadata(key)?.as_u64()?).ok()
    }

    /// The integer under `key`, if present and a non-negative integer.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.metadata(key)?.as_u64()
    }

    /// The number under `key`, if present and numeric.
    pub fn get_f32(&self, key: &str) -> Option<f32> {
        self.metadata(key)?.as_f64().map(|v| v as f32)
    }

    /// The boolean under `key`, if present and a bool.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        match self.metadata(key)? {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The array under `key` with its element type, if present and an array.
    pub fn get_array(&self, key: &str) -> Option<(ValueType, &[Value])> {
        match self.metadata(key)? {
            Value::Array(ty, items) => Some((*ty, items.as_slice())),
            _ => None,
        }
    }

    /// `general.architecture`, e.g. `gemma3`, `llama`, `qwen3`.
    pub fn architecture(&self) -> Option<&str> {
        self.get_str("general.architecture")
    }

    /// The tensor info table, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// Absolute byte offset where tensor data begins (aligned).
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }
}
