//! The pure SIP (RFC 3261) and SDP (RFC 8866) grammar over `&[u8]`: start lines, the header
//! section (compact names, obsolete line folding, comma-separated values), the header values
//! exwatch records, and SDP media descriptions. Everything borrows from the input; nothing
//! allocates.

/// Longest start line the probe and the parser accept.
pub const MAX_START_LINE: usize = 4096;
/// Via values kept from one message (a request through many proxies carries more; the first
/// ones, nearest the sender, are the interesting ones).
pub const MAX_VIAS: usize = 8;
/// Authorization / WWW-Authenticate style headers kept from one message.
pub const MAX_AUTHS: usize = 4;
/// Headers read from one message before the rest of the header section is ignored.
pub const MAX_HEADERS: usize = 256;
/// Media descriptions read from one SDP body.
pub const MAX_SDP_MEDIA_PER_BODY: usize = 16;
/// `a=crypto` suites kept per media description.
pub const MAX_CRYPTO_PER_MEDIA: usize = 4;

/// Why a message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipError {
    /// The bytes end inside the start line.
    Incomplete,
    /// The start line is complete; the bytes end before the header section does (only a new
    /// line feed can change that).
    IncompleteHead,
    /// Not a SIP start line.
    BadStartLine,
    /// Content-Length is not a number.
    BadContentLength,
}

// RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `b` without leading and trailing white space (folded CRLFs included).
pub fn trim(b: &[u8]) -> &[u8] {
    let s = b.iter().position(|&x| !is_ws(x)).unwrap_or(b.len());
    let e = b.iter().rposition(|&x| !is_ws(x)).map_or(s, |e| e + 1);
    &b[s..e.max(s)]
}

/// The first line of a SIP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    // RFC 3261 §7.1: Request-Line = Method SP Request-URI SP SIP-Version CRLF
    Request { method: &'a [u8], uri: &'a [u8] },
    // RFC 3261 §7.2: Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF
    Status { code: u16, reason: &'a [u8] },
}

/// The outcome of reading a start line from a prefix of the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartParse<'a> {
    /// A start line, and the bytes it took (line end included).
    Line(StartLine<'a>, usize),
    /// Consistent so far; more bytes needed.
    NeedMore,
    /// Not a SIP start line.
    No,
}

const VERSION: &[u8] = b"SIP/2.0";

/// Compares `b` with `want` for as many bytes as `b` has: `Some(true)` when all of `want`
/// matched, `Some(false)` when `b` is a proper prefix, `None` on a mismatch.
fn prefix_ci(b: &[u8], want: &[u8]) -> Option<bool> {
    let n = b.len().min(want.len());
    if !b[..n].eq_ignore_ascii_case(&want[..n]) {
        return None;
    }
    Some(n == want.len())
}

// RFC 3261 §7.1 / §7.2, §19.1.1 (sip/sips URI), RFC 3966 (tel URI): the start line, checked
// byte by byte so that a prefix of a valid line answers NeedMore and anything else No. A line
// that has not ended within MAX_START_LINE bytes is No, so the answer never depends on how the
// bytes were split.
pub fn parse_start_line(b: &[u8]) -> StartParse<'_> {
    let cut = &b[..b.len().min(MAX_START_LINE)];
    match start_line(cut) {
        StartParse::NeedMore if b.len() >= MAX_START_LINE => StartParse::No,
        r => r,
    }
}

fn start_line(b: &[u8]) -> StartParse<'_> {
    match prefix_ci(b, b"SIP/2.0 ") {
        Some(true) => return parse_status_line(b),
        Some(false) => return StartParse::NeedMore,
        None => {}
    }
    let m = b.iter().position(|&x| !is_token(x)).unwrap_or(b.len());
    if m == b.len() {
        return if b.len() >= MAX_START_LINE {
            StartParse::No
        } else {
            StartParse::NeedMore
        };
    }
    if m == 0 || b[m] != b' ' {
        return StartParse::No;
    }
    let method = &b[..m];
    let rest = &b[m + 1..];
    // the URI scheme: sip:, sips:, tel:
    let colon = rest.iter().take(5).position(|&x| x == b':');
    match colon {
        Some(c) => {
            let scheme = &rest[..c];
            if !(scheme.eq_ignore_ascii_case(b"sip")
                || scheme.eq_ignore_ascii_case(b"sips")
                || scheme.eq_ignore_ascii_case(b"tel"))
            {
                return StartParse::No;
            }
        }
        None => {
            let ok = [&b"sip:"[..], b"sips:", b"tel:"]
                .iter()
                .any(|s| prefix_ci(rest, s) == Some(false));
            return if ok && rest.len() < 5 {
                StartParse::NeedMore
            } else {
                StartParse::No
            };
        }
    }
    let u = rest.iter().position(|&x| x == b' ' || x < 0x21 || x == 0x7f);
    let Some(u) = u else {
        return if b.len() >= MAX_START_LINE {
            StartParse::No
        } else {
            StartParse::NeedMore
        };
    };
    if rest[u] != b' ' {
        return StartParse::No;
    }
    let uri = &rest[..u];
    let tail = &rest[u + 1..];
    match prefix_ci(tail, VERSION) {
        None => return StartParse::No,
        Some(false) => return StartParse::NeedMore,
        Some(true) => {}
    }
    let used = m + 1 + u + 1 + VERSION.len();
    match line_end(&b[used..]) {
        Some(Some(n)) => StartParse::Line(StartLine::Request { method, uri }, used + n),
        Some(None) => StartParse::NeedMore,
        None => StartParse::No,
    }
}

/// After the version: `\r\n` or `\n` ends the line (`Some(Some(len))`), a lone `\r` at the end
/// needs more (`Some(None)`), anything else is wrong (`None`).
fn line_end(b: &[u8]) -> Option<Option<usize>> {
    match b {
        [] | [b'\r'] => Some(None),
        [b'\r', b'\n', ..] => Some(Some(2)),
        [b'\n', ..] => Some(Some(1)),
        _ => None,
    }
}

fn parse_status_line(b: &[u8]) -> StartParse<'_> {
    let at = VERSION.len() + 1;
    let digits = &b[at..b.len().min(at + 3)];
    if !digits.iter().all(u8::is_ascii_digit) {
        return StartParse::No;
    }
    if digits.len() < 3 {
        return StartParse::NeedMore;
    }
    let code = digits.iter().fold(0u16, |a, &d| a * 10 + (d - b'0') as u16);
    let rest = &b[at + 3..];
    if let Some(&c) = rest.first()
        && c != b' '
        && c != b'\r'
        && c != b'\n'
    {
        return StartParse::No;
    }
    match rest.iter().position(|&x| x == b'\n') {
        Some(nl) => {
            let reason = trim(&rest[..nl]);
            StartParse::Line(StartLine::Status { code, reason }, at + 3 + nl + 1)
        }
        None => StartParse::NeedMore,
    }
}

/// Where the header section ends: the offset just past the empty line (`CRLF CRLF`, or bare
/// `LF LF` from lenient peers), if it is in `b`.
pub fn head_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = b[i..].iter().position(|&x| x == b'\n') {
        let nl = i + p;
        match &b[nl + 1..] {
            [b'\n', ..] => return Some(nl + 2),
            [b'\r', b'\n', ..] => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

/// RFC 3261 §7.3.3: compact header names, expanded.
fn canonical(name: &[u8]) -> &[u8] {
    if name.len() != 1 {
        return name;
    }
    match name[0].to_ascii_lowercase() {
        b'i' => b"Call-ID",
        b'f' => b"From",
        b't' => b"To",
        b'm' => b"Contact",
        b'v' => b"Via",
        b'l' => b"Content-Length",
        b'c' => b"Content-Type",
        b'k' => b"Supported",
        b's' => b"Subject",
        b'e' => b"Content-Encoding",
        _ => name,
    }
}

/// Iterator over a header section's `(name, value)` pairs. Names come out with compact forms
/// expanded (compare them case-insensitively); a value folded over several lines (RFC 3261
/// §7.3.1) is one slice with the line breaks inside, which [`trim`] and the value parsers treat
/// as white space. Lines without a colon are skipped and counted in `bad_lines`.
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    rest: &'a [u8],
    n: usize,
    pub bad_lines: u32,
}

/// The headers of a header section (the bytes after the start line, up to the empty line).
pub fn headers(section: &[u8]) -> Headers<'_> {
    Headers {
        rest: section,
        n: 0,
        bad_lines: 0,
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() || self.n >= MAX_HEADERS {
                return None;
            }
            // one logical line: up to an LF not followed by SP/HT
            let mut end = self.rest.len();
            let mut i = 0;
            while let Some(p) = self.rest[i..].iter().position(|&x| x == b'\n') {
                let nl = i + p;
                if matches!(self.rest.get(nl + 1), Some(b' ' | b'\t')) {
                    i = nl + 1;
                    continue;
                }
                end = nl + 1;
                break;
            }
            let line = &self.rest[..end];
            self.rest = &self.rest[end..];
            let body = trim(line);
            if body.is_empty() {
                continue;
            }
            self.n += 1;
            let Some(colon) = body.iter().position(|&x| x == b':') else {
                self.bad_lines += 1;
                continue;
            };
            let name = trim(&body[..colon]);
            if name.is_empty() || !name.iter().all(|&x| is_token(x)) {
                self.bad_lines += 1;
                continue;
            }
            return Some((canonical(name), trim(&body[colon + 1..])));
        }
    }
}

/// Splits a header value at commas outside quoted strings and angle brackets (RFC 3261 §7.3.1:
/// several values of one header may share a line).
pub fn split_commas(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(v);
    std::iter::from_fn(move || {
        let b = rest?;
        let (mut q, mut a, mut esc) = (false, false, false);
        for (i, &x) in b.iter().enumerate() {
            if esc {
                esc = false;
                continue;
            }
            match x {
                b'\\' if q => esc = true,
                b'"' => q = !q,
                b'<' if !q => a = true,
                b'>' if !q => a = false,
                b',' if !q && !a => {
                    rest = Some(&b[i + 1..]);
                    return Some(trim(&b[..i]));
                }
                _ => {}
            }
        }
        rest = None;
        Some(trim(b))
    })
    .filter(|x| !x.is_empty())
}

/// A From / To / Contact value: the URI only (display name dropped) and the tag parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'a> {
    pub uri: &'a [u8],
    pub tag: Option<&'a [u8]>,
}

// RFC 3261 §20.10 / §25.1: name-addr = [ display-name ] LAQUOT addr-spec RAQUOT, or a bare
// addr-spec, whose ";" parameters then belong to the header (tag among them).
pub fn parse_name_addr(v: &[u8]) -> Option<NameAddr<'_>> {
    let v = trim(v);
    if v == b"*" {
        return Some(NameAddr { uri: v, tag: None });
    }
    let mut q = false;
    let mut esc = false;
    let mut lt = None;
    for (i, &x) in v.iter().enumerate() {
        if esc {
            esc = false;
            continue;
        }
        match x {
            b'\\' if q => esc = true,
            b'"' => q = !q,
            b'<' if !q => {
                lt = Some(i);
                break;
            }
            _ => {}
        }
    }
    let (uri, params) = match lt {
        Some(l) => {
            let gt = v[l..].iter().position(|&x| x == b'>')? + l;
            (trim(&v[l + 1..gt]), &v[gt + 1..])
        }
        None => {
            let e = v.iter().position(|&x| x == b';').unwrap_or(v.len());
            (trim(&v[..e]), &v[e..])
        }
    };
    if uri.is_empty() {
        return None;
    }
    Some(NameAddr {
        uri,
        tag: param(params, b"tag"),
    })
}

/// The value of `;name=value` in a parameter list (quotes removed).
pub fn param<'a>(params: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    params.split(|&x| x == b';').skip(1).find_map(|p| {
        let p = trim(p);
        let eq = p.iter().position(|&x| x == b'=')?;
        if !trim(&p[..eq]).eq_ignore_ascii_case(name) {
            return None;
        }
        Some(unquote(trim(&p[eq + 1..])))
    })
}

fn unquote(v: &[u8]) -> &[u8] {
    match v {
        [b'"', inner @ .., b'"'] => inner,
        _ => v,
    }
}

/// One Via value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    /// UDP, TCP, TLS, SCTP, WS, WSS, or whatever the peer wrote.
    pub transport: &'a [u8],
    /// host[:port]
    pub sent_by: &'a [u8],
}

// RFC 3261 §20.42: via-parm = sent-protocol LWS sent-by *( SEMI via-params )
//                  sent-protocol = protocol-name SLASH protocol-version SLASH transport
pub fn parse_via(v: &[u8]) -> Option<Via<'_>> {
    let v = trim(v);
    let s1 = v.iter().position(|&x| x == b'/')?;
    let s2 = v[s1 + 1..].iter().position(|&x| x == b'/')? + s1 + 1;
    let after = &v[s2 + 1..];
    let t0 = after.iter().position(|&x| !is_ws(x))?;
    let t_len = after[t0..].iter().position(|&x| is_ws(x))?;
    let transport = &after[t0..t0 + t_len];
    let rest = &after[t0 + t_len..];
    let e = rest.iter().position(|&x| x == b';').unwrap_or(rest.len());
    let sent_by = trim(&rest[..e]);
    if transport.is_empty() || sent_by.is_empty() {
        return None;
    }
    Some(Via { transport, sent_by })
}

// RFC 3261 §20.16: CSeq = "CSeq" HCOLON 1*DIGIT LWS Method
pub fn parse_cseq(v: &[u8]) -> Option<(u32, &[u8])> {
    let v = trim(v);
    let d = v.iter().position(|&x| !x.is_ascii_digit())?;
    if d == 0 || d > 10 {
        return None;
    }
    let n: u64 = v[..d].iter().fold(0, |a, &x| a * 10 + (x - b'0') as u64);
    let method = trim(&v[d..]);
    if n > u32::MAX as u64 || method.is_empty() || !method.iter().all(|&x| is_token(x)) {
        return None;
    }
    Some((n as u32, method))
}

// RFC 3261 §20.14: Content-Length = ( "Content-Length" / "l" ) HCOLON 1*DIGIT
pub fn parse_content_length(v: &[u8]) -> Option<u64> {
    let v = trim(v);
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u64, |a, &x| a * 10 + (x - b'0') as u64))
}

/// The scheme and, for Digest credentials, the user name of an Authorization-style header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthInfo<'a> {
    /// Digest, NTLM, Kerberos, TLS-DSK, Basic, ... as written.
    pub scheme: &'a [u8],
    /// Digest `username` (credentials only; never the response or any secret).
    pub username: Option<&'a [u8]>,
    /// Which header: true for the credentials a client sends (Authorization,
    /// Proxy-Authorization), false for a challenge (WWW-/Proxy-Authenticate).
    pub credentials: bool,
}

// RFC 3261 §20.7 / §25.1: credentials = ("Digest" LWS digest-response) / other-response;
// challenge = ("Digest" LWS digest-cln *(COMMA digest-cln)) / other-challenge.
// MS-SIPAE §3.2.5 (Lync, Exchange UM): NTLM, Kerberos, TLS-DSK share the auth-param syntax.
pub fn parse_auth(v: &[u8], credentials: bool) -> Option<AuthInfo<'_>> {
    let v = trim(v);
    let e = v.iter().position(|&x| is_ws(x)).unwrap_or(v.len());
    let scheme = &v[..e];
    if scheme.is_empty() || !scheme.iter().all(|&x| is_token(x)) {
        return None;
    }
    let username = if credentials && scheme.eq_ignore_ascii_case(b"Digest") {
        split_commas(&v[e..]).find_map(|p| {
            let eq = p.iter().position(|&x| x == b'=')?;
            trim(&p[..eq])
                .eq_ignore_ascii_case(b"username")
                .then(|| unquote(trim(&p[eq + 1..])))
        })
    } else {
        None
    };
    Some(AuthInfo {
        scheme,
        username,
        credentials,
    })
}

/// What exwatch reads from one message's head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SipHead<'a> {
    pub call_id: Option<&'a [u8]>,
    pub from: Option<NameAddr<'a>>,
    pub to: Option<NameAddr<'a>>,
    /// The first Contact.
    pub contact: Option<NameAddr<'a>>,
    pub cseq: Option<(u32, &'a [u8])>,
    pub vias: [Option<Via<'a>>; MAX_VIAS],
    pub auths: [Option<AuthInfo<'a>>; MAX_AUTHS],
    pub content_length: Option<u64>,
    pub content_type: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
    pub server: Option<&'a [u8]>,
    /// Header lines without a name and colon, or with a value exwatch could not read.
    pub bad_lines: u32,
    /// Content-Length present but not a number.
    pub bad_content_length: bool,
}

impl SipHead<'_> {
    /// The media type of the body, parameters dropped (`application/sdp`).
    pub fn is_sdp(&self) -> bool {
        self.content_type.is_some_and(|c| {
            let e = c.iter().position(|&x| x == b';').unwrap_or(c.len());
            trim(&c[..e]).eq_ignore_ascii_case(b"application/sdp")
        })
    }
}

/// A message head: the start line and the headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage<'a> {
    pub start: StartLine<'a>,
    pub head: SipHead<'a>,
    /// Bytes of the start line and header section, the empty line included.
    pub head_len: usize,
}

/// RFC 3261 §7: message = start-line *message-header CRLF [ message-body ]. Reads the head
/// (the body is the caller's: its length is `head.content_length`).
pub fn parse_sip_head(b: &[u8]) -> Result<SipMessage<'_>, SipError> {
    let (start, used) = match parse_start_line(b) {
        StartParse::Line(s, n) => (s, n),
        StartParse::NeedMore => return Err(SipError::Incomplete),
        StartParse::No => return Err(SipError::BadStartLine),
    };
    // a message with no headers at all ends right after its start line
    let head_len = if b[used..].starts_with(b"\r\n") {
        used + 2
    } else if b[used..].starts_with(b"\n") {
        used + 1
    } else {
        used + head_end(&b[used..]).ok_or(SipError::IncompleteHead)?
    };
    let section = &b[used..head_len];
    let mut head = SipHead::default();
    let mut it = headers(section);
    let (mut nv, mut na) = (0, 0);
    for (name, value) in it.by_ref() {
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        if is(b"Call-ID") {
            head.call_id.get_or_insert(value);
        } else if is(b"From") {
            head.from = head.from.or(parse_name_addr(value));
        } else if is(b"To") {
            head.to = head.to.or(parse_name_addr(value));
        } else if is(b"Contact") {
            if head.contact.is_none() {
                head.contact = split_commas(value).next().and_then(parse_name_addr);
            }
        } else if is(b"Via") {
            for v in split_commas(value) {
                match parse_via(v) {
                    Some(via) if nv < MAX_VIAS => {
                        head.vias[nv] = Some(via);
                        nv += 1;
                    }
                    Some(_) => {}
                    None => head.bad_lines += 1,
                }
            }
        } else if is(b"CSeq") {
            head.cseq = head.cseq.or(parse_cseq(value));
        } else if is(b"Content-Length") {
            match parse_content_length(value) {
                Some(n) => head.content_length = Some(n),
                None => head.bad_content_length = true,
            }
        } else if is(b"Content-Type") {
            head.content_type.get_or_insert(value);
        } else if is(b"User-Agent") {
            head.user_agent.get_or_insert(value);
        } else if is(b"Server") {
            head.server.get_or_insert(value);
        } else {
            let cred = is(b"Authorization") || is(b"Proxy-Authorization");
            if (cred || is(b"WWW-Authenticate") || is(b"Proxy-Authenticate"))
                && na < MAX_AUTHS
                && let Some(a) = parse_auth(value, cred)
            {
                head.auths[na] = Some(a);
                na += 1;
            }
        }
    }
    head.bad_lines += it.bad_lines;
    Ok(SipMessage { start, head, head_len })
}

/// One SDP media description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdpMediaDesc<'a> {
    /// audio, video, application, image, ...
    pub media: &'a [u8],
    pub port: u16,
    /// The `/<number of ports>` of the m= line (1 when absent).
    pub port_count: u16,
    /// RTP/AVP, RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVP, udptl, ...
    pub proto: &'a [u8],
    /// The format list, as written.
    pub formats: &'a [u8],
    /// The connection address that applies (media-level c=, else session-level).
    pub addr_type: &'a [u8],
    pub address: Option<&'a [u8]>,
    /// `a=rtcp` port (RFC 3605).
    pub rtcp_port: Option<u16>,
    /// `a=crypto` crypto suites (RFC 4568); the key parameters are never read.
    pub crypto: [Option<&'a [u8]>; MAX_CRYPTO_PER_MEDIA],
    /// `a=fingerprint` present (DTLS-SRTP, RFC 5763), at media or session level.
    pub fingerprint: bool,
}

fn parse_u16(b: &[u8]) -> Option<u16> {
    if b.is_empty() || b.len() > 5 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = b.iter().fold(0u32, |a, &x| a * 10 + (x - b'0') as u32);
    u16::try_from(n).ok()
}

fn words(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|&x| x == b' ' || x == b'\t').filter(|w| !w.is_empty())
}

// RFC 8866 §5.7: c=<nettype> <addrtype> <connection-address>  (IN IP4 / IN IP6; a multicast
// address carries /ttl[/count], dropped here)
fn parse_connection(v: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut w = words(v);
    let _nettype = w.next()?;
    let addrtype = w.next()?;
    let addr = w.next()?;
    let e = addr.iter().position(|&x| x == b'/').unwrap_or(addr.len());
    Some((addrtype, &addr[..e]))
}

// RFC 8866 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ...
fn parse_m_line(v: &[u8]) -> Option<SdpMediaDesc<'_>> {
    let mut w = words(v);
    let media = w.next()?;
    let ports = w.next()?;
    let proto = w.next()?;
    let (port, count) = match ports.iter().position(|&x| x == b'/') {
        Some(s) => (parse_u16(&ports[..s])?, parse_u16(&ports[s + 1..])?),
        None => (parse_u16(ports)?, 1),
    };
    let fstart = proto.as_ptr() as usize - v.as_ptr() as usize + proto.len();
    Some(SdpMediaDesc {
        media,
        port,
        port_count: count,
        proto,
        formats: trim(&v[fstart..]),
        addr_type: b"",
        address: None,
        rtcp_port: None,
        crypto: [None; MAX_CRYPTO_PER_MEDIA],
        fingerprint: false,
    })
}

/// RFC 8866 §5: an SDP body, line by line (`<type>=<value>`, CRLF or LF). Calls `each` with
/// every media description, its connection address resolved. Returns the number of lines that
/// were not `<letter>=`.
pub fn parse_sdp<'a>(body: &'a [u8], mut each: impl FnMut(&SdpMediaDesc<'a>)) -> u32 {
    let mut bad = 0;
    let mut session_conn: Option<(&[u8], &[u8])> = None;
    let mut session_fp = false;
    let mut cur: Option<SdpMediaDesc<'a>> = None;
    let mut count = 0;
    let finish = |m: &mut Option<SdpMediaDesc<'a>>,
                  sc: Option<(&'a [u8], &'a [u8])>,
                  fp: bool,
                  each: &mut dyn FnMut(&SdpMediaDesc<'a>)| {
        if let Some(mut d) = m.take() {
            if d.address.is_none()
                && let Some((t, a)) = sc
            {
                d.addr_type = t;
                d.address = Some(a);
            }
            d.fingerprint |= fp;
            each(&d);
        }
    };
    for line in body.split(|&x| x == b'\n') {
        let line = trim(line);
        if line.is_empty() {
            continue;
        }
        let (kind, value) = match line {
            [k, b'=', v @ ..] if k.is_ascii_alphabetic() => (*k, v),
            _ => {
                bad += 1;
                continue;
            }
        };
        match kind {
            b'm' => {
                finish(&mut cur, session_conn, session_fp, &mut each);
                if count >= MAX_SDP_MEDIA_PER_BODY {
                    continue;
                }
                cur = parse_m_line(value);
                if cur.is_none() {
                    bad += 1;
                } else {
                    count += 1;
                }
            }
            b'c' => match (parse_connection(value), cur.as_mut()) {
                (Some((t, a)), Some(m)) => {
                    m.addr_type = t;
                    m.address = Some(a);
                }
                (Some(c), None) if count == 0 => session_conn = Some(c),
                (Some(_), None) => {}
                (None, _) => bad += 1,
            },
            b'a' => {
                let (name, arg) = match value.iter().position(|&x| x == b':') {
                    Some(c) => (&value[..c], &value[c + 1..]),
                    None => (value, &value[value.len()..]),
                };
                if name.eq_ignore_ascii_case(b"fingerprint") {
                    match cur.as_mut() {
                        Some(m) => m.fingerprint = true,
                        None if count == 0 => session_fp = true,
                        None => {}
                    }
                } else if let Some(m) = cur.as_mut() {
                    if name.eq_ignore_ascii_case(b"rtcp") {
                        m.rtcp_port = words(arg).next().and_then(parse_u16);
                    } else if name.eq_ignore_ascii_case(b"crypto") {
                        // RFC 4568 §9.1: a=crypto:<tag> <crypto-suite> <key-params> [...]
                        // only the suite is read; the key material never is.
                        if let Some(suite) = words(arg).nth(1)
                            && let Some(slot) = m.crypto.iter_mut().find(|s| s.is_none())
                        {
                            *slot = Some(suite);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    finish(&mut cur, session_conn, session_fp, &mut each);
    bad
}

/// Does an SDP proto name SRTP (RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVP[F], ...)?
pub fn proto_is_srtp(proto: &[u8]) -> bool {
    proto.windows(4).any(|w| w.eq_ignore_ascii_case(b"SAVP"))
}
