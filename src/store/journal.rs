//! The append-only journal of the section being written.
//!
//! Each record is `[payload length: u32 LE][CRC-32 of payload: u32 LE][payload]`, the payload
//! a small JSON object `{"s": section, "t": text}`. A record whose length runs past the end of
//! the file or whose checksum does not match is a torn tail (the process died mid-write): it and
//! everything after it are cut on recovery. Deltas are buffered in memory and written by
//! `flush`, which the recorder calls at least every 100 ms and at every section end; a failed
//! write is undone (the file is cut back to its last good length) and the text stays pending.

use super::fsio::{crc32, write_atomic};
use serde::{Deserialize, Serialize};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes of a record header.
const HEADER: usize = 8;
/// A payload larger than this is treated as corruption, not as a record.
const MAX_PAYLOAD: usize = 16 << 20;

/// One journal record: text appended to a section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Zero-based section index.
    pub s: usize,
    /// Text appended to it.
    pub t: String,
}

/// Encodes one record.
pub fn encode(record: &Record) -> Vec<u8> {
    let payload = serde_json::to_vec(record).unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Decodes whole records from `bytes`; returns them and how many bytes they span. Decoding
/// stops at the first incomplete or damaged record.
pub fn decode(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= HEADER {
        let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let crc = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        let len = len as usize;
        if len > MAX_PAYLOAD || bytes.len() - at - HEADER < len {
            break;
        }
        let payload = &bytes[at + HEADER..at + HEADER + len];
        if crc32(payload) != crc {
            break;
        }
        match serde_json::from_slice::<Record>(payload) {
            Ok(record) => records.push(record),
            Err(_) => break,
        }
        at += HEADER + len;
    }
    (records, at)
}

/// What recovery found in a journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovered {
    /// Whole records, in order.
    pub records: Vec<Record>,
    /// Bytes cut from a torn or damaged tail.
    pub cut_bytes: u64,
}

impl Recovered {
    /// The journaled text of `section`.
    pub fn text_of(&self, section: usize) -> String {
        self.records
            .iter()
            .filter(|r| r.s == section)
            .map(|r| r.t.as_str())
            .collect()
    }
}

/// Reads a journal without changing it (for readers while a writer may be running).
pub fn read(path: &Path) -> std::io::Result<Recovered> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recovered::default()),
        Err(e) => return Err(e),
    };
    let (records, good) = decode(&bytes);
    Ok(Recovered {
        records,
        cut_bytes: (bytes.len() - good) as u64,
    })
}

/// Reads a journal, cutting a torn tail off the file. A missing file is an empty journal.
pub fn recover(path: &Path) -> std::io::Result<Recovered> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recovered::default()),
        Err(e) => return Err(e),
    };
    let (records, good) = decode(&bytes);
    let cut_bytes = (bytes.len() - good) as u64;
    if cut_bytes > 0 {
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.set_len(good as u64)?;
        file.sync_all()?;
    }
    Ok(Recovered { records, cut_bytes })
}

/// The journal open for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
    /// Length of the file up to its last whole record.
    len: u64,
    /// Text not yet written, per section, in arrival order.
    pending: Vec<Record>,
    /// Bytes written since the last fsync.
    unsynced: bool,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` for appending; call `recover` first.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(path)?;
        let len = file.seek(SeekFrom::End(0))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            len,
            pending: Vec::new(),
            unsynced: false,
        })
    }

    /// Queues `text` for `section`; nothing touches the disk until `flush`.
    pub fn push(&mut self, section: usize, text: &str) {
        match self.pending.last_mut() {
            Some(last) if last.s == section => last.t.push_str(text),
            _ => self.pending.push(Record {
                s: section,
                t: text.to_string(),
            }),
        }
    }

    /// Whether text is waiting to be written.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Writes pending text to the file (no fsync). On failure the file is cut back to its last
    /// whole record and the text stays pending for the next try.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let bytes: Vec<u8> = self.pending.iter().flat_map(encode).collect();
        let result = self
            .file
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.file.write_all(&bytes));
        match result {
            Ok(()) => {
                self.len += bytes.len() as u64;
                self.pending.clear();
                self.unsynced = true;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }

    /// Flushes, then fsyncs the file's data.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.flush()?;
        if self.unsynced {
            self.file.sync_data()?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Replaces the journal with an empty one (after a section is saved in its own file, or to
    /// restart a section). Pending text is dropped.
    pub fn clear(&mut self) -> std::io::Result<()> {
        write_atomic(&self.path, b"")?;
        *self = Self::open(&self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let mut j = Journal::open(&path).unwrap();
        j.push(0, "Hello, ");
        j.push(0, "world.");
        j.flush().unwrap();
        j.push(1, "Second ");
        j.sync().unwrap();
        drop(j);
        let whole = std::fs::read(&path).unwrap();
        // A torn write: half of a third record.
        let torn = encode(&Record {
            s: 1,
            t: "lost tail".into(),
        });
        let mut bytes = whole.clone();
        bytes.extend_from_slice(&torn[..torn.len() / 2]);
        std::fs::write(&path, &bytes).unwrap();
        let rec = recover(&path).unwrap();
        assert_eq!(rec.text_of(0), "Hello, world.");
        assert_eq!(rec.text_of(1), "Second ");
        assert_eq!(rec.cut_bytes, (torn.len() / 2) as u64);
        assert_eq!(std::fs::read(&path).unwrap(), whole, "the tail is cut");
        let mut j = Journal::open(&path).unwrap();
        j.push(1, "more");
        j.flush().unwrap();
        assert_eq!(recover(&path).unwrap().text_of(1), "Second more");
    }

    #[test]
    fn a_flipped_byte_stops_decoding_there() {
        let mut bytes = encode(&Record {
            s: 0,
            t: "good".into(),
        });
        let first = bytes.len();
        bytes.extend(encode(&Record {
            s: 0,
            t: "bad".into(),
        }));
        let last = bytes.len() - 2;
        bytes[last] ^= 0x55;
        let (records, used) = decode(&bytes);
        assert_eq!(records.len(), 1);
        assert_eq!(used, first);
    }

    #[test]
    fn clear_empties_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let mut j = Journal::open(&path).unwrap();
        j.push(0, "text");
        j.flush().unwrap();
        j.clear().unwrap();
        j.push(1, "next");
        j.flush().unwrap();
        let rec = recover(&path).unwrap();
        assert_eq!(rec.text_of(0), "");
        assert_eq!(rec.text_of(1), "next");
    }
}
