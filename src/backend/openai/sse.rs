//! A bounded server-sent-events reader: bytes in, `data` payloads and error lines out.
//!
//! Lines are cut at `\n` (a `\r` before it is dropped) before they are read as UTF-8, so a
//! character split across reads is whole again. `data:` lines of one event are joined with
//! `\n` and dispatched at the blank line that ends it. llama.cpp's server reports a failure as
//! a bare `error: {json}` line, which is kept as an error. A line that grows past the limit
//! without ending is an error, so an endless line cannot fill the memory. Pure: no I/O.

/// One thing read from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    /// The `data` of one event.
    Data(String),
    /// The payload of a bare `error:` line (llama.cpp).
    Error(String),
}

/// Why the bytes cannot be read as SSE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// A line passed the limit without ending.
    #[error("a line of the stream passed {limit} bytes without ending; the server sends something that is not server-sent events")]
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// A line is not UTF-8.
    #[error("a line of the stream is not UTF-8: {0}")]
    NotUtf8(String),
}

/// Reads SSE lines from bytes as they arrive.
#[derive(Debug)]
pub struct SseReader {
    line: Vec<u8>,
    data: Option<String>,
    max_line: usize,
}

impl SseReader {
    /// A reader that refuses lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        Self {
            line: Vec::new(),
            data: None,
            max_line,
        }
    }

    /// Reads `bytes`; returns what they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseItem>, SseError> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            self.push(&rest[..end])?;
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, &mut out)?;
            rest = &rest[end + 1..];
        }
        self.push(rest)?;
        Ok(out)
    }

    /// The end of the bytes: an event whose blank line never came is still dispatched.
    pub fn finish(&mut self) -> Result<Vec<SseItem>, SseError> {
        let mut out = Vec::new();
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            self.line_done(&line, &mut out)?;
        }
        if let Some(data) = self.data.take() {
            out.push(SseItem::Data(data));
        }
        Ok(out)
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len() + bytes.len() > self.max_line {
            return Err(SseError::LineTooLong {
                limit: self.max_line,
            });
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<SseItem>) -> Result<(), SseError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = std::str::from_utf8(line).map_err(|e| SseError::NotUtf8(e.to_string()))?;
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(SseItem::Data(data));
            }
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => match self.data.as_mut() {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "error" => out.push(SseItem::Error(value.to_string())),
            // Comments (`: ping`), `event`, `id`, `retry` and unknown fields carry no text.
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_in(pieces: &[&[u8]]) -> Result<Vec<SseItem>, SseError> {
        let mut r = SseReader::new(64);
        let mut out = Vec::new();
        for p in pieces {
            out.extend(r.feed(p)?);
        }
        out.extend(r.finish()?);
        Ok(out)
    }

    #[test]
    fn events_comments_and_crlf() {
        let items =
            read_in(&[b": ping\r\n\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata: b\ndata: c\n\n"]);
        assert_eq!(
            items.unwrap(),
            vec![
                SseItem::Data("{\"a\":1}".into()),
                SseItem::Data("b\nc".into())
            ]
        );
    }

    #[test]
    fn every_byte_alone_and_a_split_character() {
        let text = "data: é日\n\n".as_bytes();
        let pieces: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(read_in(&pieces).unwrap(), vec![SseItem::Data("é日".into())]);
    }

    #[test]
    fn llama_cpp_error_line_and_unterminated_last_event() {
        let items = read_in(&[b"error: {\"code\":500}\n\ndata: [DONE]"]).unwrap();
        assert_eq!(
            items,
            vec![
                SseItem::Error("{\"code\":500}".into()),
                SseItem::Data("[DONE]".into())
            ]
        );
    }

    #[test]
    fn an_endless_line_is_refused() {
        let long = vec![b'x'; 40];
        let err = read_in(&[b"data: ", &long, &long]).unwrap_err();
        assert_eq!(err, SseError::LineTooLong { limit: 64 });
        assert!(read_in(&[b"data: ", &long, b"\n\n", &long]).is_ok());
    }
}
