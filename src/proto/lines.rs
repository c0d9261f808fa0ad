//! Line framing shared by the text protocols (HTTP heads, IMAP, POP3): a bounded per-direction
//! buffer that hands out whole lines borrowed from the chunk when they fit in it, and copies
//! only a line split across chunks; and the RFC 1939 §3 / RFC 5321 §4.1.1.4 end-of-body marker
//! scanner (`CRLF . CRLF`).

/// Where [`LineBuf::next`] found the next line.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<'a> {
    /// A whole line without its CRLF (or bare LF).
    Line(&'a [u8]),
    /// No whole line yet: what there is was held.
    Partial,
    /// A line longer than the limit ended here; it was dropped.
    Overlong,
}

/// One direction's partial line, at most `max` bytes (the caller's named limit).
#[derive(Debug, Default)]
pub struct LineBuf {
    buf: Vec<u8>,
    /// Discarding an overlong line up to its end.
    overlong: bool,
    /// `buf` holds a line handed out by the last call: clear it first.
    held: bool,
}

impl LineBuf {
    /// Takes the next line from `d`, joining a partial line held from earlier chunks. Returns
    /// the bytes of `d` used and what was found.
    pub fn next<'a>(&'a mut self, d: &'a [u8], max: usize) -> (usize, Next<'a>) {
        if std::mem::take(&mut self.held) {
            self.buf.clear();
        }
        match d.iter().position(|&b| b == b'\n') {
            Some(p) => {
                let used = p + 1;
                if std::mem::take(&mut self.overlong) || self.buf.len() + used > max {
                    self.buf.clear();
                    return (used, Next::Overlong);
                }
                if self.buf.is_empty() {
                    return (used, Next::Line(trim_crlf(&d[..used])));
                }
                self.buf.extend_from_slice(&d[..used]);
                self.held = true;
                (used, Next::Line(trim_crlf(&self.buf)))
            }
            None => {
                if !self.overlong && self.buf.len() + d.len() <= max {
                    self.buf.extend_from_slice(d);
                } else {
                    self.overlong = true;
                    self.buf.clear();
                }
                (d.len(), Next::Partial)
            }
        }
    }

    /// Forget any partial line (after a gap, or when the stream changes mode).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.overlong = false;
        self.held = false;
    }

    /// No partial line is held.
    pub fn is_empty(&self) -> bool {
        self.held || self.buf.is_empty()
    }

    /// Heap bytes held.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

pub fn trim_crlf(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The dot-end scanner's state right after a line end (where a body starts).
pub const DOT_AFTER_LF: u8 = 1;

/// RFC 1939 §3 (and RFC 5321 §4.1.1.4): a multi-line body ends with a line holding a single
/// ".", i.e. `CRLF . CRLF` (a bare LF is tolerated). `state`: 0 mid-line, 1 after LF, 2 after
/// LF '.', 3 after LF ".\r". Returns the bytes consumed, whether the end was found, and the
/// state to carry into the next chunk. Nothing is buffered.
pub fn scan_dot_end(d: &[u8], mut state: u8) -> (usize, bool, u8) {
    let mut i = 0;
    while i < d.len() {
        if state == 0 {
            match d[i..].iter().position(|&b| b == b'\n') {
                Some(p) => {
                    i += p + 1;
                    state = DOT_AFTER_LF;
                    continue;
                }
                None => return (d.len(), false, 0),
            }
        }
        let b = d[i];
        i += 1;
        state = match (state, b) {
            (2 | 3, b'\n') => return (i, true, 0),
            (_, b'\n') => 1,
            (1, b'.') => 2,
            (2, b'\r') => 3,
            _ => 0,
        };
    }
    (d.len(), false, state)
}

/// Protocol text kept in a summary: lossy UTF-8, cut to `max` bytes.
pub fn text(b: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&b[..b.len().min(max)]).into_owned()
}

/// The first space-separated word of `line` and the rest after the spaces that follow it.
pub fn split_word(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&b| b == b' ') {
        Some(p) => (&line[..p], line[p..].trim_ascii_start()),
        None => (line, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_borrowed_joined_and_bounded() {
        let mut l = LineBuf::default();
        assert_eq!(l.next(b"ab\r\ncd", 8), (4, Next::Line(b"ab")));
        assert_eq!(l.next(b"cd", 8), (2, Next::Partial));
        assert_eq!(l.next(b"ef\nx", 8), (3, Next::Line(b"cdef")));
        assert_eq!(l.next(b"0123456789", 8), (10, Next::Partial));
        assert_eq!(l.next(b"\n", 8), (1, Next::Overlong));
        assert_eq!(l.next(b"ok\n", 8), (3, Next::Line(b"ok")));
        assert!(l.capacity() <= 64);
    }

    #[test]
    fn dot_end_across_chunks() {
        let body = b"line\r\n..stuffed\r\n.\r\nNEXT";
        let end = body.len() - 4;
        assert_eq!(scan_dot_end(body, DOT_AFTER_LF), (end, true, 0));
        for cut in 0..=end {
            let (u, e, st) = scan_dot_end(&body[..cut], DOT_AFTER_LF);
            let total = if e { u } else { cut + scan_dot_end(&body[cut..], st).0 };
            assert_eq!(total, end, "cut {cut}");
        }
        assert_eq!(scan_dot_end(b".\r\n", DOT_AFTER_LF), (3, true, 0));
    }
}
