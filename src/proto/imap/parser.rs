//! Pure IMAP4rev1 / IMAP4rev2 line grammar (RFC 3501 §9, RFC 9051 §9): tagged commands,
//! server responses, literals announced at a line's end, `astring` arguments and capability
//! lists. Borrowed in, borrowed out.

/// The longest tag kept for matching a tagged response (longer tags are not matched).
pub const MAX_TAG_BYTES: usize = 32;
/// The longest command name.
pub const MAX_VERB_BYTES: usize = 24;

/// `command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    pub tag: &'a [u8],
    pub verb: &'a [u8],
    pub args: &'a [u8],
}

/// `response = *(continue-req / response-data) response-done`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response<'a> {
    /// `response-data = "*" SP (resp-cond-state / resp-cond-bye / mailbox-data / ...)`
    Untagged(&'a [u8]),
    /// `continue-req = "+" [SP (resp-text / base64)]`
    Continue(&'a [u8]),
    /// `response-tagged = tag SP resp-cond-state`: the tag, `OK`/`NO`/`BAD`, the text.
    Tagged(&'a [u8], Status, &'a [u8]),
}

/// `resp-cond-state = ("OK" / "NO" / "BAD") SP resp-text`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
        }
    }

    fn parse(w: &[u8]) -> Option<Status> {
        if w.eq_ignore_ascii_case(b"OK") {
            Some(Status::Ok)
        } else if w.eq_ignore_ascii_case(b"NO") {
            Some(Status::No)
        } else if w.eq_ignore_ascii_case(b"BAD") {
            Some(Status::Bad)
        } else {
            None
        }
    }
}

/// RFC 9051 §9 `ATOM-CHAR`: any CHAR except atom-specials.
fn is_atom_char(b: u8) -> bool {
    b > b' ' && b < 0x7f && !b"(){%*\"\\]".contains(&b)
}

/// `tag = 1*<any ASTRING-CHAR except "+">`
fn is_tag(t: &[u8]) -> bool {
    !t.is_empty() && t.iter().all(|&b| (is_atom_char(b) || b == b']') && b != b'+')
}

// command = tag SP command-name [SP arguments]
pub fn parse_command(line: &[u8]) -> Option<Command<'_>> {
    let (tag, rest) = crate::proto::lines::split_word(line);
    let (verb, args) = crate::proto::lines::split_word(rest);
    if !is_tag(tag)
        || verb.is_empty()
        || verb.len() > MAX_VERB_BYTES
        || !verb.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        return None;
    }
    Some(Command { tag, verb, args })
}

// response-data / continue-req / response-tagged
pub fn parse_response(line: &[u8]) -> Option<Response<'_>> {
    if let Some(r) = line.strip_prefix(b"* ") {
        return Some(Response::Untagged(r));
    }
    if let Some(r) = line.strip_prefix(b"+") {
        return Some(Response::Continue(r.strip_prefix(b" ").unwrap_or(r)));
    }
    let (tag, rest) = crate::proto::lines::split_word(line);
    let (st, text) = crate::proto::lines::split_word(rest);
    if !is_tag(tag) {
        return None;
    }
    Some(Response::Tagged(tag, Status::parse(st)?, text))
}

// literal = "{" number64 ["+"] "}" CRLF *CHAR8   (RFC 9051 §9; "+" is RFC 7888 LITERAL+,
// "~" a binary literal of RFC 3516)
/// The octet count of a literal announced at the end of `line`.
pub fn trailing_literal(line: &[u8]) -> Option<u64> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits
        .iter()
        .try_fold(0u64, |a, &b| a.checked_mul(10)?.checked_add((b - b'0') as u64))
}

/// One `astring` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AString<'a> {
    /// An atom, or a quoted string's content (escapes left as sent).
    Text(&'a [u8]),
    /// A literal of this many octets follows the line.
    Literal(u64),
}

// astring = 1*ASTRING-CHAR / string ; string = quoted / literal
/// The first `astring` of `args` and what follows it.
pub fn astring(args: &[u8]) -> Option<(AString<'_>, &[u8])> {
    match args.first()? {
        b'"' => {
            let mut i = 1;
            while i < args.len() {
                match args[i] {
                    b'\\' => i += 2,
                    b'"' => return Some((AString::Text(&args[1..i]), args[i + 1..].trim_ascii_start())),
                    _ => i += 1,
                }
            }
            None
        }
        b'{' => trailing_literal(args).map(|n| (AString::Literal(n), &[][..])),
        _ => {
            let (w, rest) = crate::proto::lines::split_word(args);
            Some((AString::Text(w), rest))
        }
    }
}

/// The capability list of a `[CAPABILITY ...]` response code (RFC 9051 §7.1) in `text`.
pub fn capability_code(text: &[u8]) -> Option<&[u8]> {
    let rest = text.strip_prefix(b"[")?;
    let end = rest.iter().position(|&b| b == b']')?;
    let code = &rest[..end];
    let (name, caps) = crate::proto::lines::split_word(code);
    name.eq_ignore_ascii_case(b"CAPABILITY").then_some(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_responses() {
        let c = parse_command(b"A002 AUTHENTICATE PLAIN AGFsaWNl").unwrap();
        assert_eq!(
            (c.tag, c.verb, c.args),
            (&b"A002"[..], &b"AUTHENTICATE"[..], &b"PLAIN AGFsaWNl"[..])
        );
        assert!(parse_command(b"+ OK").is_none());
        assert!(parse_command(b"\x16\x03\x01").is_none());
        assert_eq!(
            parse_response(b"a1 NO [AUTHENTICATIONFAILED] x"),
            Some(Response::Tagged(b"a1", Status::No, b"[AUTHENTICATIONFAILED] x"))
        );
        assert_eq!(
            parse_response(b"+ UGFzc3dvcmQ6"),
            Some(Response::Continue(b"UGFzc3dvcmQ6"))
        );
        assert_eq!(parse_response(b"+"), Some(Response::Continue(b"")));
        assert_eq!(parse_response(b"* 1 EXISTS"), Some(Response::Untagged(b"1 EXISTS")));
        assert_eq!(parse_response(b"a1 MAYBE"), None);
    }

    #[test]
    fn literals_and_astrings() {
        assert_eq!(trailing_literal(b"* 1 FETCH (BODY[] {156}"), Some(156));
        assert_eq!(trailing_literal(b"a LOGIN {5+}"), Some(5));
        assert_eq!(trailing_literal(b"a LOGIN {}"), None);
        assert_eq!(trailing_literal(b"x {99999999999999999999}"), None);
        assert_eq!(
            astring(b"alice \"pw\""),
            Some((AString::Text(b"alice"), &b"\"pw\""[..]))
        );
        assert_eq!(astring(b"\"a\\\"b\" x"), Some((AString::Text(b"a\\\"b"), &b"x"[..])));
        assert_eq!(astring(b"{5}"), Some((AString::Literal(5), &b""[..])));
        assert_eq!(astring(b"\"open"), None);
        assert_eq!(
            capability_code(b"[CAPABILITY IMAP4rev1 STARTTLS] hi"),
            Some(&b"IMAP4rev1 STARTTLS"[..])
        );
        assert_eq!(capability_code(b"[ALERT] hi"), None);
    }
}
