//! Server-sent events (the `text/event-stream` format of the WHATWG HTML standard), read
//! incrementally from a body that arrives in pieces of any size.
//!
//! A small reader of our own rather than a crate: OpenAI-compatible servers use only the
//! `data:` field, and a crate would bring its own HTTP client or body abstraction on top of
//! the hyper client the harness already uses. Input is bounded: a line longer than the limit
//! is an error, so a server that never ends a line cannot grow the harness.

/// Reads events out of the bytes of a stream as they arrive.
#[derive(Debug)]
pub(crate) struct SseReader {
    /// The line being read (not yet ended).
    line: Vec<u8>,
    /// The `data:` lines of the event being read, joined by `\n`.
    data: String,
    /// The event has at least one `data:` line.
    has_data: bool,
    /// The last byte fed was `\r`: a `\n` right after it ends no second line.
    after_cr: bool,
    /// The longest line accepted.
    max_line: usize,
    /// The first bytes of the stream while they may be its byte order mark (one leading
    /// U+FEFF is ignored); `None` once the stream is past it.
    start: Option<Vec<u8>>,
}

/// UTF-8's byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A line of the stream was longer than the limit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LineTooLong(pub(crate) usize);

impl SseReader {
    /// A reader that accepts lines of at most `max_line` bytes.
    pub(crate) fn new(max_line: usize) -> Self {
        Self {
            line: Vec::new(),
            data: String::new(),
            has_data: false,
            after_cr: false,
            max_line,
            start: Some(Vec::new()),
        }
    }

    /// Feeds the next bytes; every event they complete (its data) is pushed to `events`.
    pub(crate) fn feed(
        &mut self,
        mut bytes: &[u8],
        events: &mut Vec<String>,
    ) -> Result<(), LineTooLong> {
        if let Some(start) = &mut self.start {
            let take = (BOM.len() - start.len()).min(bytes.len());
            start.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if !BOM.starts_with(start) {
                // Not a byte order mark: those bytes are the stream's.
                let start = std::mem::take(start);
                self.start = None;
                self.feed_bytes(&start, events)?;
            } else if start.len() == BOM.len() {
                self.start = None;
            }
        }
        self.feed_bytes(bytes, events)
    }

    fn feed_bytes(&mut self, bytes: &[u8], events: &mut Vec<String>) -> Result<(), LineTooLong> {
        for &byte in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, byte == b'\r');
            match byte {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => self.end_line(events),
                _ => {
                    if self.line.len() >= self.max_line {
                        return Err(LineTooLong(self.max_line));
                    }
                    self.line.push(byte);
                }
            }
        }
        Ok(())
    }

    fn end_line(&mut self, events: &mut Vec<String>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            // A blank line dispatches the event (one without data is dropped).
            if std::mem::take(&mut self.has_data) {
                events.push(std::mem::take(&mut self.data));
            }
            return;
        }
        let line = String::from_utf8_lossy(&line);
        if line.starts_with(':') {
            return; // a comment (a keep-alive)
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*line, ""),
        };
        // `event`, `id` and `retry` mean nothing to a chat completion.
        if field == "data" {
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(value);
            self.has_data = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events_of(pieces: &[&[u8]]) -> Vec<String> {
        let mut reader = SseReader::new(64);
        let mut events = Vec::new();
        for piece in pieces {
            reader.feed(piece, &mut events).unwrap();
        }
        events
    }

    #[test]
    fn events_in_pieces_of_any_size() {
        let stream = b"data: {\"a\":1}\n\n: keep-alive\n\nevent: x\ndata:two\ndata: lines\r\n\r\ndata: [DONE]\r\rid: 3\n\n";
        let whole = events_of(&[stream]);
        assert_eq!(whole, ["{\"a\":1}", "two\nlines", "[DONE]"]);
        // Byte by byte (a \r\n split across pieces included): the same events.
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(events_of(&bytes), whole);
        let threes: Vec<&[u8]> = stream.chunks(3).collect();
        assert_eq!(events_of(&threes), whole);
    }

    #[test]
    fn one_leading_byte_order_mark_is_ignored_in_any_pieces() {
        let stream = "\u{feff}data: a\n\n\u{feff}data: b\n\n".as_bytes();
        let whole = events_of(&[stream]);
        // Only the stream's first: the second is part of a field name, not `data`.
        assert_eq!(whole, ["a"]);
        for size in 1..=4 {
            let pieces: Vec<&[u8]> = stream.chunks(size).collect();
            assert_eq!(events_of(&pieces), whole, "pieces of {size}");
        }
        // Bytes that begin like one but are not: kept (here: a field that is not `data`).
        assert_eq!(events_of(&[b"\xEF\xBBdata: x\n\n"]), Vec::<String>::new());
        assert_eq!(
            events_of(&[b"\xEF", b"\xBB", b"\xBF", b"data: x\n\n"]),
            ["x"]
        );
        assert_eq!(events_of(&[b"da", b"ta: y\n\n"]), ["y"]);
    }

    #[test]
    fn a_cut_event_is_not_dispatched_and_a_long_line_is_an_error() {
        let mut reader = SseReader::new(8);
        let mut events = Vec::new();
        reader.feed(b"data: x\n", &mut events).unwrap();
        assert!(events.is_empty());
        assert_eq!(
            reader.feed(b"data: 123456789", &mut events),
            Err(LineTooLong(8))
        );
    }
}
