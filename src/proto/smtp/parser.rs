//! SMTP line grammar (RFC 5321): command lines, reply lines, EHLO keywords, the addresses of
//! MAIL FROM / RCPT TO, and the SASL pieces AUTH carries (RFC 4954, RFC 4616). Pure functions
//! over one line without its CRLF; output borrows the input.

/// RFC 5321 §4.1.1: `verb [SP parameters]`. Verbs are letters, digits and '-' (X-EXPS,
/// X-ANONYMOUSTLS, XEXCH50); at most this many bytes.
pub const MAX_VERB_BYTES: usize = 16;

/// One client command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandLine<'a> {
    /// As sent (any case).
    pub verb: &'a [u8],
    /// After the first space, leading spaces removed.
    pub args: &'a [u8],
}

/// RFC 5321 §4.1.1 command syntax. `None` when the line does not start with a verb (a SASL
/// response, message text or binary).
pub fn parse_command(line: &[u8]) -> Option<CommandLine<'_>> {
    let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let verb = &line[..end];
    if verb.is_empty()
        || verb.len() > MAX_VERB_BYTES
        || !verb[0].is_ascii_alphabetic()
        || !verb.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        return None;
    }
    let mut args = &line[end..];
    while let [b' ', rest @ ..] = args {
        args = rest;
    }
    Some(CommandLine { verb, args })
}

/// One reply line (RFC 5321 §4.2: `Reply-code [ SP / "-" textstring ] CRLF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLine<'a> {
    pub code: u16,
    /// The last line of the reply (a space or nothing after the code, not '-').
    pub last: bool,
    pub text: &'a [u8],
}

/// RFC 5321 §4.2: three digits, the first 2-5 (§4.2.1), then SP, '-' or the end of the line.
pub fn parse_reply(line: &[u8]) -> Option<ReplyLine<'_>> {
    let d = line.get(..3)?;
    if !(b'2'..=b'5').contains(&d[0]) || !d[1].is_ascii_digit() || !d[2].is_ascii_digit() {
        return None;
    }
    let code = (d[0] - b'0') as u16 * 100 + (d[1] - b'0') as u16 * 10 + (d[2] - b'0') as u16;
    match line.get(3) {
        None => Some(ReplyLine {
            code,
            last: true,
            text: &[],
        }),
        Some(b' ') => Some(ReplyLine {
            code,
            last: true,
            text: &line[4..],
        }),
        Some(b'-') => Some(ReplyLine {
            code,
            last: false,
            text: &line[4..],
        }),
        Some(_) => None,
    }
}

/// RFC 5321 §4.1.1.1: an EHLO reply line after the first is `ehlo-keyword *(SP ehlo-param)`.
/// Old servers also send `AUTH=mech ...` (RFC 4954 §9 notes it). Returns (keyword, params).
pub fn ehlo_keyword(text: &[u8]) -> (&[u8], &[u8]) {
    let end = text.iter().position(|&b| b == b' ' || b == b'=').unwrap_or(text.len());
    let params = text.get(end + 1..).unwrap_or(&[]);
    (&text[..end], params)
}

/// Space-separated words of a parameter list.
pub fn words(params: &[u8]) -> impl Iterator<Item = &[u8]> {
    params.split(|&b| b == b' ').filter(|w| !w.is_empty())
}

/// RFC 5321 §4.1.2 `Reverse-path` / `Forward-path`: the address between '<' and '>' after
/// `FROM:` / `TO:` (spaces before '<' are tolerated, as servers do). `None` when malformed.
pub fn path_arg<'a>(args: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let p = args.get(..prefix.len())?;
    if !p.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = &args[prefix.len()..];
    let rest = &rest[rest.iter().position(|&b| b != b' ')?..];
    if let [b'<', inner @ ..] = rest {
        let end = inner.iter().position(|&b| b == b'>')?;
        Some(&inner[..end])
    } else {
        // no angle brackets (tolerated by many servers): up to the first space
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        Some(&rest[..end])
    }
}

/// RFC 3030 §2: `BDAT SP chunk-size [ SP end-marker ]`.
pub fn bdat_args(args: &[u8]) -> Option<(u64, bool)> {
    let mut w = words(args);
    let size = w.next()?;
    if size.is_empty() || size.len() > 19 || !size.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = size.iter().fold(0u64, |a, &b| a * 10 + (b - b'0') as u64);
    let last = w.next().is_some_and(|m| m.eq_ignore_ascii_case(b"LAST"));
    Some((n, last))
}

/// RFC 4648 §4 base64 decoding into `out`; returns the decoded length, or `None` on a
/// character outside the alphabet or an output that would not fit. Padding is optional.
pub fn base64_decode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let input = match input.iter().position(|&b| b == b'=') {
        Some(p) if input[p..].iter().all(|&b| b == b'=') => &input[..p],
        Some(_) => return None,
        None => input,
    };
    let mut n = 0;
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in input {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(n)? = (acc >> bits) as u8;
            n += 1;
        }
    }
    // 6 leftover bits cannot come from a whole byte
    if bits == 6 {
        return None;
    }
    Some(n)
}

/// RFC 4616 §2: `[authzid] NUL authcid NUL passwd`. Returns authcid (the user name); the
/// password is never returned.
pub fn plain_authcid(msg: &[u8]) -> Option<&[u8]> {
    let mut parts = msg.splitn(3, |&b| b == 0);
    let _authzid = parts.next()?;
    let authcid = parts.next()?;
    parts.next()?;
    Some(authcid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        let c = parse_command(b"MAIL FROM:<gurpartap@patriots.in> SIZE=100").unwrap();
        assert_eq!(c.verb, b"MAIL");
        assert_eq!(path_arg(c.args, b"FROM:"), Some(&b"gurpartap@patriots.in"[..]));
        assert_eq!(parse_command(b"X-ANONYMOUSTLS").unwrap().verb, b"X-ANONYMOUSTLS");
        assert_eq!(
            parse_command(b"ehlo localhost.localdomain").unwrap().args,
            b"localhost.localdomain"
        );
        // a SASL response without padding looks like a verb: the state machine knows better
        assert_eq!(parse_command(b"dXNlcm5hbWU").unwrap().verb, b"dXNlcm5hbWU");
        assert!(
            parse_command(b"AGZvbwBiYXI=").is_none(),
            "base64 with '=' is not a verb"
        );
        assert!(parse_command(b"\x16\x03\x01").is_none());
        assert!(parse_command(b"").is_none());
        assert_eq!(path_arg(b"TO: <a@b>", b"TO:"), Some(&b"a@b"[..]));
        assert_eq!(path_arg(b"FROM:<>", b"FROM:"), Some(&b""[..]));
        assert_eq!(path_arg(b"TO:<a@b", b"TO:"), None);
    }

    #[test]
    fn replies() {
        let r = parse_reply(b"250-mx.google.com at your service").unwrap();
        assert_eq!((r.code, r.last), (250, false));
        let r = parse_reply(b"220 2.0.0 Ready to start TLS").unwrap();
        assert_eq!((r.code, r.last, r.text), (220, true, &b"2.0.0 Ready to start TLS"[..]));
        assert_eq!(parse_reply(b"250").unwrap().code, 250);
        assert!(parse_reply(b"25").is_none());
        assert!(parse_reply(b"150 ok").is_none());
        assert!(parse_reply(b"250x").is_none());
        assert_eq!(ehlo_keyword(b"AUTH=PLAIN LOGIN"), (&b"AUTH"[..], &b"PLAIN LOGIN"[..]));
        assert_eq!(ehlo_keyword(b"STARTTLS"), (&b"STARTTLS"[..], &b""[..]));
    }

    #[test]
    fn bdat() {
        assert_eq!(bdat_args(b"86 LAST"), Some((86, true)));
        assert_eq!(bdat_args(b"1000"), Some((1000, false)));
        assert_eq!(bdat_args(b"x"), None);
        assert_eq!(bdat_args(b"99999999999999999999"), None);
    }

    #[test]
    fn sasl_plain() {
        let mut out = [0u8; 64];
        // "\0gurpartap@patriots.in\0punjab@123" (the Zeek smtp.pcap style)
        let n = base64_decode(b"AGd1cnBhcnRhcEBwYXRyaW90cy5pbgBwdW5qYWJAMTIz", &mut out).unwrap();
        assert_eq!(plain_authcid(&out[..n]), Some(&b"gurpartap@patriots.in"[..]));
        let n = base64_decode(b"VXNlcm5hbWU6", &mut out).unwrap();
        assert_eq!(&out[..n], b"Username:");
        assert_eq!(base64_decode(b"a=b", &mut out), None);
        assert_eq!(
            base64_decode(b"QUJD", &mut [0u8; 2]),
            None,
            "does not overflow the output"
        );
        assert_eq!(base64_decode(b"Q", &mut out), None);
        assert_eq!(plain_authcid(b"onlyone"), None);
    }
}
