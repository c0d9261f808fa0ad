//! Pure POP3 line grammar (RFC 1939 §3, RFC 2449 §3, RFC 5034 §4): commands, status
//! indicators, SASL continuations, the greeting's APOP timestamp. Borrowed in, borrowed out.

/// The longest command keyword accepted (RFC 2449 §3: keywords are 3 or 4 characters;
/// extensions are allowed a little more).
pub const MAX_VERB_BYTES: usize = 16;

/// `command = keyword *(SP argument) CRLF`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    pub verb: &'a [u8],
    pub args: &'a [u8],
}

/// A server line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// `single-line = status [SP text] CRLF` with status `+OK`.
    Ok(&'a [u8]),
    /// status `-ERR`.
    Err(&'a [u8]),
    /// RFC 5034 §4: `continue-req = "+" SP [base64] CRLF`.
    Continue(&'a [u8]),
}

// keyword = 3*4VCHAR (RFC 2449 §3)
pub fn parse_command(line: &[u8]) -> Option<Command<'_>> {
    let (verb, args) = crate::proto::lines::split_word(line);
    if verb.len() < 3 || verb.len() > MAX_VERB_BYTES || !verb.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
        return None;
    }
    Some(Command { verb, args })
}

// status = "+OK" / "-ERR"
pub fn parse_reply(line: &[u8]) -> Option<Reply<'_>> {
    if line.len() >= 3 && line[..3].eq_ignore_ascii_case(b"+OK") {
        return text(&line[3..]).map(Reply::Ok);
    }
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"-ERR") {
        return text(&line[4..]).map(Reply::Err);
    }
    if line == b"+" {
        return Some(Reply::Continue(&[]));
    }
    line.strip_prefix(b"+ ").map(Reply::Continue)
}

/// RFC 1939 §7: the greeting's timestamp `<process-ID.clock@hostname>` (APOP is offered).
pub fn apop_timestamp(greeting: &[u8]) -> Option<&[u8]> {
    let open = greeting.iter().position(|&b| b == b'<')?;
    let close = open + greeting[open..].iter().position(|&b| b == b'>')?;
    let ts = &greeting[open..=close];
    ts.contains(&b'@').then_some(ts)
}

/// The text after a status indicator: nothing, or a space and the text.
fn text(r: &[u8]) -> Option<&[u8]> {
    match r.first() {
        None => Some(&[]),
        Some(b' ') => Some(&r[1..]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            parse_command(b"TOP 1 2"),
            Some(Command {
                verb: b"TOP",
                args: b"1 2"
            })
        );
        assert_eq!(
            parse_command(b"QUIT"),
            Some(Command {
                verb: b"QUIT",
                args: b""
            })
        );
        assert!(parse_command(b"+OK").is_none());
        assert!(parse_command(b"\x16\x03\x01").is_none());
        assert_eq!(parse_reply(b"+OK Logged in."), Some(Reply::Ok(b"Logged in.")));
        assert_eq!(parse_reply(b"+OK"), Some(Reply::Ok(b"")));
        assert_eq!(parse_reply(b"-ERR [AUTH] no"), Some(Reply::Err(b"[AUTH] no")));
        assert_eq!(parse_reply(b"+ VXNlcm5hbWU6"), Some(Reply::Continue(b"VXNlcm5hbWU6")));
        assert_eq!(parse_reply(b"+ "), Some(Reply::Continue(b"")));
        assert_eq!(parse_reply(b"+OKAY"), None);
        assert_eq!(parse_reply(b"* OK imap"), None);
        assert_eq!(
            apop_timestamp(b"POP3 ready <1896.697170952@dbc.mtview.ca.us>"),
            Some(&b"<1896.697170952@dbc.mtview.ca.us>"[..])
        );
        assert_eq!(apop_timestamp(b"ready <no-at>"), None);
    }
}
