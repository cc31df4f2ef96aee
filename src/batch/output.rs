//! The batch's output file: JSON lines, each a whole finished document, never torn.
//!
//! The file is held with an exclusive lock for the whole run (a second batch on the same file
//! is refused). Opening it cuts a trailing partial line (a process killed mid-write) and reads
//! which prompts are already there. Each record is appended with one write of the whole line
//! and an fsync, under a mutex, so lines of concurrent documents never interleave and a crash
//! leaves at most a partial last line, which the next open cuts.

use super::record::BatchRecord;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Everything that can go wrong with the output file.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The file cannot be opened, read or written.
    #[error("cannot write the output file {path}: {source}. Choose another path with --out")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS's words.
        source: std::io::Error,
    },
    /// Another process holds the file.
    #[error("{0} is being written by another batch; wait for it to end, or choose another --out")]
    Busy(PathBuf),
    /// A record could not be turned into JSON.
    #[error("cannot encode a record: {0}")]
    Encode(#[from] serde_json::Error),
}

/// A record already in the file: its id and its user instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Present {
    /// The prompt's id.
    pub id: String,
    /// The record's user message.
    pub prompt: String,
}

/// What the file held when it was opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Existing {
    /// The records, in file order.
    pub records: Vec<Present>,
    /// Lines that are not batch records (1-based numbers).
    pub other_lines: Vec<usize>,
    /// Bytes of a partial last line that were cut.
    pub cut_bytes: u64,
}

/// The open, locked output file.
pub struct Output {
    path: PathBuf,
    file: Mutex<File>,
}

impl Output {
    /// Opens (or creates) `path`, locks it, cuts a torn last line and reads what is there.
    pub fn open(path: &Path) -> Result<(Self, Existing), OutputError> {
        let io = |source| OutputError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(OutputError::Busy(path.to_path_buf()))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let cut_bytes = (bytes.len() - whole) as u64;
        if cut_bytes > 0 {
            file.set_len(whole as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        let existing = read_records(&bytes[..whole], cut_bytes);
        let output = Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        };
        Ok((output, existing))
    }

    /// Appends `record` as one whole line and syncs it to disk.
    pub fn append(&self, record: &BatchRecord) -> Result<(), OutputError> {
        let line = record.to_line()?;
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|source| OutputError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The records among whole lines `bytes`.
fn read_records(bytes: &[u8], cut_bytes: u64) -> Existing {
    let mut existing = Existing {
        cut_bytes,
        ..Existing::default()
    };
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<BatchRecord>(line) {
            Ok(r) => existing.records.push(Present {
                prompt: r
                    .messages
                    .into_iter()
                    .next()
                    .map(|m| m.content)
                    .unwrap_or_default(),
                id: r.id,
            }),
            Err(_) => existing.other_lines.push(i + 1),
        }
    }
    existing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Role, Usage};
    use crate::batch::record::{Message, Timings};
    use crate::plan::Plan;

    fn record(id: &str) -> BatchRecord {
        BatchRecord {
            id: id.into(),
            messages: vec![
                Message {
                    role: Role::User,
                    content: format!("prompt {id}"),
                },
                Message {
                    role: Role::Assistant,
                    content: "line one\nline two".into(),
                },
            ],
            plan: Plan {
                sections: Vec::new(),
                fallback: false,
                chapters: Vec::new(),
            },
            word_count: 4,
            target: 4,
            backend: "b".into(),
            model: "m".into(),
            timings: Timings {
                started: 0,
                finished: 0,
                seconds: 0.0,
            },
            usage: Usage::default(),
        }
    }

    #[test]
    fn appended_lines_read_back_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        {
            let (out, existing) = Output::open(&path).unwrap();
            assert_eq!(existing, Existing::default());
            out.append(&record("a")).unwrap();
            out.append(&record("b")).unwrap();
        }
        let whole = std::fs::read(&path).unwrap();
        // A process killed in the middle of its third line.
        let mut torn = whole.clone();
        torn.extend_from_slice(br#"{"id":"c","messages":[{"role":"us"#);
        std::fs::write(&path, &torn).unwrap();
        let (_out, existing) = Output::open(&path).unwrap();
        assert_eq!(existing.cut_bytes, (torn.len() - whole.len()) as u64);
        let ids: Vec<_> = existing.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(existing.records[0].prompt, "prompt a");
        assert_eq!(std::fs::read(&path).unwrap(), whole);
    }

    #[test]
    fn a_second_writer_is_refused_and_foreign_lines_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, "{\"text\": 1}\n\nnot json\n").unwrap();
        let (_held, existing) = Output::open(&path).unwrap();
        assert_eq!(existing.other_lines, [1, 3]);
        assert!(matches!(Output::open(&path), Err(OutputError::Busy(_))));
    }
}
