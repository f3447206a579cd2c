//! Bounds the lines and events of a live query's event stream
//! ([`crate::ClientBuilder::max_event_bytes`]).
//!
//! `eventsource-stream` buffers an unfinished line, and the data lines of an
//! unfinished event, without limit. [`EventLimit`] watches the raw bytes before they
//! reach it and refuses a chunk that would make the current line, or the current
//! event's non-comment lines, longer than the limit; the parser therefore never
//! holds more than the limit plus one network chunk.

/// Counts the current line and event of an SSE byte stream (line ends `\n`, `\r`
/// or `\r\n`; an empty line ends an event; lines starting with `:` are comments and
/// count only as lines).
#[derive(Debug)]
pub(crate) struct EventLimit {
    max: usize,
    line: usize,
    event: usize,
    /// Whether the current line is a comment (`None` before its first byte).
    comment: Option<bool>,
    /// The last byte seen was `\r` (a following `\n` belongs to the same line end).
    after_cr: bool,
}

impl EventLimit {
    /// A counter refusing lines and events over `max` bytes.
    pub fn new(max: usize) -> Self {
        EventLimit {
            max,
            line: 0,
            event: 0,
            comment: None,
            after_cr: false,
        }
    }

    /// Accounts for `chunk`. `false` when a line or an event went over the limit
    /// (the stream must then be abandoned).
    pub fn feed(&mut self, chunk: &[u8]) -> bool {
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.after_cr && rest[0] == b'\n' {
                rest = &rest[1..];
                self.after_cr = false;
                continue;
            }
            self.after_cr = false;
            let end = rest.iter().position(|b| *b == b'\n' || *b == b'\r');
            let part = &rest[..end.unwrap_or(rest.len())];
            if !part.is_empty() {
                let comment = *self.comment.get_or_insert(part[0] == b':');
                self.line += part.len();
                if !comment {
                    self.event += part.len();
                }
                if self.line > self.max || self.event > self.max {
                    return false;
                }
            }
            match end {
                Some(i) => {
                    if self.line == 0 {
                        self.event = 0; // an empty line ends the event
                    }
                    self.line = 0;
                    self.comment = None;
                    self.after_cr = rest[i] == b'\r';
                    rest = &rest[i + 1..];
                }
                None => rest = &[],
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_lines_and_events_not_comments() {
        let mut l = EventLimit::new(10);
        assert!(l.feed(b"data:12345\n\ndata:"));
        assert!(l.feed(b"12345\r\n\r\n"));
        // Comments count only as lines.
        for _ in 0..10 {
            assert!(l.feed(b":keepalive\n"));
        }
        assert!(!EventLimit::new(10).feed(b":a comment longer than ten"));
        // An event of several short lines.
        let mut l = EventLimit::new(14);
        assert!(l.feed(b"data:1\ndata:2\n"));
        assert!(!l.feed(b"data:3\n"));
        // A line split across chunks, and CRLF split across chunks.
        let mut l = EventLimit::new(10);
        assert!(l.feed(b"data:1234"));
        assert!(l.feed(b"5\r"));
        assert!(l.feed(b"\n\r\ndata:12345\n\n"));
        assert!(!l.feed(b"data:123456"));
    }
}
