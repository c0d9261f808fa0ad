//! A small JSON-lines writer: appends one object at a time to a reusable byte buffer, with no
//! intermediate tree (records are written per flow, so this is off the per-packet path, but a
//! busy link ends tens of thousands of flows a second).

use std::fmt::Write as _;

/// Writes one JSON object into `buf`. Keys are trusted (ours); string values are escaped.
pub struct Obj<'b> {
    buf: &'b mut Vec<u8>,
    first: bool,
}

impl<'b> Obj<'b> {
    pub fn new(buf: &'b mut Vec<u8>) -> Obj<'b> {
        buf.push(b'{');
        Obj { buf, first: true }
    }

    /// Continue an object whose fields so far are in `buf` (opened elsewhere, not closed).
    pub fn resume(buf: &'b mut Vec<u8>) -> Obj<'b> {
        let first = buf.last() == Some(&b'{');
        Obj { buf, first }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        self.buf.push(b'"');
        self.buf.extend_from_slice(k.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        escape_into(self.buf, v);
        self
    }

    pub fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }

    pub fn u64(&mut self, k: &str, v: u64) -> &mut Self {
        self.key(k);
        self.buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        self
    }

    /// A nanosecond count as seconds with microsecond precision (`1.234567`).
    pub fn secs_us(&mut self, k: &str, ns: u64) -> &mut Self {
        self.key(k);
        let us = ns / 1000;
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(us / 1_000_000).as_bytes());
        self.buf.push(b'.');
        push_padded(self.buf, us % 1_000_000, 6);
        self
    }

    /// A time as an RFC 3339 string (see [`rfc3339_into`]).
    pub fn time(&mut self, k: &str, ts_ns: u64) -> &mut Self {
        self.key(k);
        self.buf.push(b'"');
        rfc3339_into(self.buf, ts_ns);
        self.buf.push(b'"');
        self
    }

    /// A value written with `Display` (addresses), which needs no escaping.
    pub fn display(&mut self, k: &str, v: impl std::fmt::Display) -> &mut Self {
        use std::io::Write as _;
        self.key(k);
        self.buf.push(b'"');
        let _ = write!(self.buf, "{v}");
        self.buf.push(b'"');
        self
    }

    pub fn f64(&mut self, k: &str, v: f64, decimals: usize) -> &mut Self {
        self.key(k);
        if v.is_finite() {
            let mut s = String::new();
            let _ = write!(s, "{v:.decimals$}");
            self.buf.extend_from_slice(s.as_bytes());
        } else {
            self.buf.extend_from_slice(b"null");
        }
        self
    }

    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        self.buf.extend_from_slice(if v { b"true" } else { b"false" });
        self
    }

    pub fn null(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.buf.extend_from_slice(b"null");
        self
    }

    /// A value already serialised as JSON.
    pub fn raw(&mut self, k: &str, json: &str) -> &mut Self {
        self.key(k);
        self.buf.extend_from_slice(json.as_bytes());
        self
    }

    /// A nested object, written by `f`.
    pub fn obj(&mut self, k: &str, f: impl FnOnce(&mut Obj<'_>)) -> &mut Self {
        self.key(k);
        let mut o = Obj::new(self.buf);
        f(&mut o);
        o.close();
        self
    }

    /// An array of unsigned integers.
    pub fn u64_array(&mut self, k: &str, vals: impl IntoIterator<Item = u64>) -> &mut Self {
        self.key(k);
        self.buf.push(b'[');
        for (n, v) in vals.into_iter().enumerate() {
            if n > 0 {
                self.buf.push(b',');
            }
            self.buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        }
        self.buf.push(b']');
        self
    }

    /// An array of strings.
    pub fn str_array<'s>(&mut self, k: &str, vals: impl IntoIterator<Item = &'s str>) -> &mut Self {
        self.key(k);
        self.buf.push(b'[');
        for (n, v) in vals.into_iter().enumerate() {
            if n > 0 {
                self.buf.push(b',');
            }
            escape_into(self.buf, v);
        }
        self.buf.push(b']');
        self
    }

    /// An array of objects, each written by `f`.
    pub fn obj_array<T>(
        &mut self,
        k: &str,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(&mut Obj<'_>, T),
    ) -> &mut Self {
        self.key(k);
        self.buf.push(b'[');
        for (n, item) in items.into_iter().enumerate() {
            if n > 0 {
                self.buf.push(b',');
            }
            let mut o = Obj::new(self.buf);
            f(&mut o, item);
            o.close();
        }
        self.buf.push(b']');
        self
    }

    pub fn close(self) {
        self.buf.push(b'}');
    }
}

/// Append `v` with at least `width` digits, zero-padded.
fn push_padded(buf: &mut Vec<u8>, v: u64, width: usize) {
    let mut b = itoa::Buffer::new();
    let digits = b.format(v).as_bytes();
    for _ in digits.len()..width {
        buf.push(b'0');
    }
    buf.extend_from_slice(digits);
}

/// Append `s` as a JSON string literal (RFC 8259 §7).
pub fn escape_into(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    let bytes = s.as_bytes();
    // most strings need no escape: one branch-free scan, one copy
    if !bytes
        .iter()
        .fold(false, |e, &b| e | (b < 0x20) | (b == b'"') | (b == b'\\'))
    {
        buf.extend_from_slice(bytes);
        buf.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        match esc {
            Some(e) => buf.extend_from_slice(e),
            None => {
                let _ = std::io::Write::write_fmt(buf, format_args!("\\u{b:04x}"));
            }
        }
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
    buf.push(b'"');
}

/// RFC 3339 UTC time with microseconds, from nanoseconds since the Unix epoch.
pub fn rfc3339(ts_ns: u64) -> String {
    let mut v = Vec::with_capacity(27);
    rfc3339_into(&mut v, ts_ns);
    String::from_utf8(v).expect("ASCII")
}

/// Append `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds).
pub fn rfc3339_into(buf: &mut Vec<u8>, ts_ns: u64) {
    let secs = ts_ns / 1_000_000_000;
    let micros = (ts_ns % 1_000_000_000) / 1000;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    push_padded(buf, y as u64, 4);
    buf.push(b'-');
    push_padded(buf, m as u64, 2);
    buf.push(b'-');
    push_padded(buf, d as u64, 2);
    buf.push(b'T');
    push_padded(buf, rem / 3600, 2);
    buf.push(b':');
    push_padded(buf, (rem % 3600) / 60, 2);
    buf.push(b':');
    push_padded(buf, rem % 60, 2);
    buf.push(b'.');
    push_padded(buf, micros, 6);
    buf.push(b'Z');
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        // make-mix.sh's T0
        assert_eq!(rfc3339(1_704_067_200_000_000_000), "2024-01-01T00:00:00.000000Z");
        // http-qinq-zeek.pcap's first packet, 1362692526.869344
        assert_eq!(rfc3339(1_362_692_526_869_344_000), "2013-03-07T21:42:06.869344Z");
        assert_eq!(rfc3339(951_782_400_000_000_000), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn escapes_control_and_quotes() {
        let mut b = Vec::new();
        escape_into(&mut b, "a\"b\\c\nd\u{1}é");
        assert_eq!(std::str::from_utf8(&b).unwrap(), "\"a\\\"b\\\\c\\nd\\u0001é\"");
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v, "a\"b\\c\nd\u{1}é");
    }
}
