//! The per-flow HTTP/1.x state machine: reads request and response heads line by line, frames
//! bodies by Content-Length or chunked coding (RFC 9112 §6-7) and skips them by count without
//! buffering, pairs pipelined responses with their requests (a response to HEAD, 1xx, 204 and
//! 304 has no body), and stops at a protocol switch or CONNECT tunnel.

use super::parser::{self, ExchangeService};
use super::summary::{Authorization, HttpSummary, MAX_REQUESTS, MAX_RESPONSES, MAX_TEXT_BYTES, Request, Response};
use crate::proto::lines::{LineBuf, Next};
use crate::proto::smtp::parser::base64_decode;
use crate::proto::{Direction, StreamParser, Verdict, ntlmssp, sasl};

/// The longest start line or header field line kept (IIS's default `MaxFieldLength` is 16 KiB,
/// which Kerberos `Negotiate` tokens approach); longer lines are counted and dropped.
pub const MAX_LINE_BYTES: usize = 16_384;
/// Requests awaiting their response (pipelining, RFC 9112 §9.3.2); beyond this the oldest is
/// forgotten.
pub const MAX_PIPELINED: usize = 32;
/// Consecutive start lines that do not parse before the parser gives up on the direction.
pub const MAX_BAD_LINES: u32 = 4;
/// The largest decoded `Authorization` token inspected (base64 of a whole line).
pub const MAX_TOKEN_DECODED: usize = MAX_LINE_BYTES / 4 * 3;

const CLIENT: usize = 0;
const SERVER: usize = 1;

/// What a direction carries next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// A start line (after optional empty lines, RFC 9112 §2.2), then header lines.
    #[default]
    Head,
    /// A body of `left` more bytes (Content-Length).
    Body {
        left: u64,
    },
    /// RFC 9112 §7.1: `chunk-size [chunk-ext] CRLF`.
    ChunkSize,
    /// Chunk data, `left` more bytes, then its CRLF.
    ChunkData {
        left: u64,
    },
    ChunkCrlf,
    /// Trailer fields up to an empty line.
    Trailer,
    /// A response delimited by the connection's close (RFC 9112 §6.3 rule 8): skipped.
    UntilClose,
}

/// A request awaiting its response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Pending {
    head: bool,
    connect: bool,
    /// Index of the kept request record, if it was kept.
    idx: Option<usize>,
}

/// One direction.
#[derive(Debug, Default)]
struct Side {
    lines: LineBuf,
    mode: Mode,
    /// The start line of the current message was read.
    started: bool,
    content_length: Option<u64>,
    chunked: bool,
    /// Index of the current kept record.
    cur: Option<usize>,
    bad: u32,
    /// After a gap: skip lines until a start line parses.
    resync: bool,
}

/// HTTP/1.x over one TCP connection.
#[derive(Debug, Default)]
pub struct HttpState {
    sides: [Side; 2],
    pending: [Pending; MAX_PIPELINED],
    p_head: usize,
    p_len: usize,
    stopped: bool,
    summary: HttpSummary,
}

impl HttpState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn summary(&self) -> &HttpSummary {
        &self.summary
    }

    pub fn into_summary(self) -> HttpSummary {
        self.summary
    }

    /// Heap bytes held for partial lines (at most about [`MAX_LINE_BYTES`] a direction).
    pub fn buffered_bytes(&self) -> usize {
        self.sides.iter().map(|s| s.lines.capacity()).sum()
    }

    fn push_pending(&mut self, p: Pending) {
        if self.p_len == MAX_PIPELINED {
            self.pop_pending();
        }
        self.pending[(self.p_head + self.p_len) % MAX_PIPELINED] = p;
        self.p_len += 1;
    }

    fn pop_pending(&mut self) -> Option<Pending> {
        if self.p_len == 0 {
            return None;
        }
        let p = self.pending[self.p_head];
        self.p_head = (self.p_head + 1) % MAX_PIPELINED;
        self.p_len -= 1;
        Some(p)
    }

    fn feed_dir(&mut self, d: usize, data: &[u8]) -> Verdict {
        let mut i = 0;
        while i < data.len() {
            let rest = &data[i..];
            let side = &mut self.sides[d];
            match side.mode {
                Mode::Body { left } | Mode::ChunkData { left } => {
                    let n = (rest.len() as u64).min(left);
                    i += n as usize;
                    self.body_bytes(d, n);
                    let side = &mut self.sides[d];
                    side.mode = match (side.mode, left - n) {
                        (Mode::Body { .. }, 0) => {
                            self.message_done(d);
                            continue;
                        }
                        (Mode::Body { .. }, l) => Mode::Body { left: l },
                        (_, 0) => Mode::ChunkCrlf,
                        (_, l) => Mode::ChunkData { left: l },
                    };
                }
                Mode::UntilClose => {
                    self.body_bytes(d, rest.len() as u64);
                    return Verdict::Continue;
                }
                _ => {
                    // TLS on a port probed as HTTP (or after an unseen upgrade): not ours
                    if side.mode == Mode::Head && !side.started && side.lines.is_empty() && looks_like_tls(rest) {
                        self.stopped = true;
                        return Verdict::Stop;
                    }
                    let mut lb = std::mem::take(&mut side.lines);
                    let (used, next) = lb.next(rest, MAX_LINE_BYTES);
                    let v = match next {
                        Next::Line(l) => self.line(d, l),
                        Next::Partial => None,
                        Next::Overlong => {
                            self.summary.overlong_lines += 1;
                            None
                        }
                    };
                    self.sides[d].lines = lb;
                    i += used;
                    if let Some(v) = v {
                        self.stopped = true;
                        return v;
                    }
                }
            }
        }
        Verdict::Continue
    }

    fn body_bytes(&mut self, d: usize, n: u64) {
        if d == CLIENT {
            self.summary.request_body_bytes += n;
        } else {
            self.summary.response_body_bytes += n;
        }
    }

    /// One line (without CRLF) in a line mode.
    fn line(&mut self, d: usize, line: &[u8]) -> Option<Verdict> {
        let side = &mut self.sides[d];
        match side.mode {
            Mode::Head if !side.started => {
                if line.is_empty() {
                    return None;
                }
                self.start_line(d, line)
            }
            Mode::Head => {
                if line.is_empty() {
                    return self.end_of_head(d);
                }
                match parser::parse_header(line) {
                    Some((name, value)) => self.header(d, name, value),
                    // obs-fold continuation (RFC 9112 §5.2) or junk: counted, ignored
                    None if line[0] == b' ' || line[0] == b'\t' => {}
                    None => self.summary.unknown_lines += 1,
                }
                None
            }
            Mode::ChunkSize => {
                match parser::parse_chunk_size(line) {
                    Some(0) => side.mode = Mode::Trailer,
                    Some(n) => side.mode = Mode::ChunkData { left: n },
                    None => {
                        // lost framing: look for the next start line
                        self.summary.unknown_lines += 1;
                        self.message_done(d);
                        self.sides[d].resync = true;
                    }
                }
                None
            }
            Mode::ChunkCrlf => {
                if !line.is_empty() {
                    self.summary.unknown_lines += 1;
                }
                side.mode = Mode::ChunkSize;
                None
            }
            Mode::Trailer => {
                if line.is_empty() {
                    self.message_done(d);
                }
                None
            }
            Mode::Body { .. } | Mode::ChunkData { .. } | Mode::UntilClose => None,
        }
    }

    fn start_line(&mut self, d: usize, line: &[u8]) -> Option<Verdict> {
        let ok = if d == CLIENT {
            parser::parse_request_line(line).map(|r| self.request(r)).is_some()
        } else {
            parser::parse_status_line(line).map(|s| self.response(s)).is_some()
        };
        let side = &mut self.sides[d];
        if ok {
            side.started = true;
            side.bad = 0;
            side.resync = false;
            return None;
        }
        if side.resync {
            return None;
        }
        self.summary.unknown_lines += 1;
        side.bad += 1;
        (side.bad >= MAX_BAD_LINES).then_some(Verdict::Stop)
    }

    // request-line = method SP request-target SP HTTP-version
    fn request(&mut self, r: parser::RequestLine<'_>) {
        let s = &mut self.summary;
        s.request_count += 1;
        let service = parser::exchange_service(parser::target_path(r.target)).map(ExchangeService::as_str);
        let mut backend = None;
        if service == Some("rpc_over_http")
            && let Some((h, p)) = parser::target_query(r.target).and_then(parser::rpc_backend)
        {
            let h = text(h);
            s.add_backend(&h, p);
            backend = Some((h, p));
        }
        if let Some(sv) = service {
            s.add_service(sv);
        }
        let kept = s.requests.len() < MAX_REQUESTS;
        if kept {
            s.requests.push(Request {
                method: text(r.method),
                target: text(r.target),
                version: text(r.version),
                service,
                rpc_backend: backend,
                ..Request::default()
            });
        }
        let idx = kept.then(|| s.requests.len() - 1);
        self.sides[CLIENT].cur = idx;
        self.push_pending(Pending {
            head: r.method == b"HEAD",
            connect: r.method == b"CONNECT",
            idx,
        });
    }

    // status-line = HTTP-version SP status-code SP [ reason-phrase ]
    fn response(&mut self, st: parser::StatusLine<'_>) {
        let s = &mut self.summary;
        s.response_count += 1;
        let kept = s.responses.len() < MAX_RESPONSES;
        if kept {
            s.responses.push(Response {
                version: text(st.version),
                status: st.code,
                reason: text(st.reason),
                ..Response::default()
            });
        }
        self.sides[SERVER].cur = kept.then(|| s.responses.len() - 1);
    }

    fn header(&mut self, d: usize, name: &[u8], value: &[u8]) {
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        let side = &mut self.sides[d];
        if is(b"content-length") {
            side.content_length = parser::parse_content_length(value);
        } else if is(b"transfer-encoding") {
            side.chunked |= parser::is_chunked(value);
        }
        let (cl, chunked) = (side.content_length, side.chunked);
        let cur = side.cur;
        let s = &mut self.summary;
        if d == CLIENT {
            let Some(r) = cur.and_then(|i| s.requests.get_mut(i)) else {
                if is(b"authorization") {
                    authorization(s, value, false);
                }
                return;
            };
            r.content_length = cl;
            r.chunked = chunked;
            if is(b"host") {
                r.host.get_or_insert_with(|| text(value));
            } else if is(b"user-agent") {
                r.user_agent.get_or_insert_with(|| text(value));
            } else if is(b"content-type") {
                r.content_type.get_or_insert_with(|| text(value));
            } else if is(b"x-requesttype") {
                r.mapi_request_type.get_or_insert_with(|| text(value));
            } else if is(b"authorization") {
                let a = authorization(s, value, true);
                if let Some(r) = s.requests.get_mut(cur.unwrap_or(usize::MAX)) {
                    r.authorization = a;
                }
            }
        } else {
            let Some(r) = cur.and_then(|i| s.responses.get_mut(i)) else {
                return;
            };
            r.content_length = cl;
            r.chunked = chunked;
            if is(b"server") {
                r.server.get_or_insert_with(|| text(value));
            } else if is(b"content-type") {
                r.content_type.get_or_insert_with(|| text(value));
            } else if is(b"www-authenticate") {
                let (scheme, token) = parser::split_credentials(value);
                let scheme = text(scheme);
                if !r.www_authenticate.contains(&scheme) && r.www_authenticate.len() < super::summary::MAX_DISTINCT {
                    r.www_authenticate.push(scheme);
                }
                if let Some(t) = ntlm_token(token) {
                    r.ntlmssp_type = Some(t.0);
                }
            }
        }
    }

    /// The empty line after the header section: decide how the body is framed (RFC 9112 §6.3).
    fn end_of_head(&mut self, d: usize) -> Option<Verdict> {
        let side = &self.sides[d];
        let (cl, chunked) = (side.content_length, side.chunked);
        let framed = |left: u64| {
            if chunked {
                Mode::ChunkSize
            } else if left > 0 {
                Mode::Body { left }
            } else {
                Mode::Head
            }
        };
        if d == CLIENT {
            let mode = framed(cl.unwrap_or(0));
            if mode == Mode::Head {
                self.message_done(d);
            } else {
                self.sides[d].mode = mode;
            }
            return None;
        }
        let status = self.sides[SERVER]
            .cur
            .and_then(|i| self.summary.responses.get(i))
            .map(|r| r.status);
        // a response not kept: its status is unknown; frame by its headers
        let status = status.unwrap_or(200);
        if (100..200).contains(&status) && status != 101 {
            // interim: the final response follows
            self.message_done(d);
            return None;
        }
        let p = self.pop_pending().unwrap_or_default();
        if let Some(r) = p.idx.and_then(|i| self.summary.requests.get_mut(i)) {
            r.status = Some(status);
        }
        if status == 101 || (p.connect && (200..300).contains(&status)) {
            self.summary.switched_protocols = true;
            return Some(Verdict::Stop);
        }
        let mode = if p.head || status == 204 || status == 304 {
            Mode::Head
        } else if chunked || cl.is_some() {
            framed(cl.unwrap_or(0))
        } else {
            Mode::UntilClose
        };
        if mode == Mode::Head {
            self.message_done(d);
        } else {
            self.sides[d].mode = mode;
        }
        None
    }

    fn message_done(&mut self, d: usize) {
        let side = &mut self.sides[d];
        side.mode = Mode::Head;
        side.started = false;
        side.content_length = None;
        side.chunked = false;
        side.cur = None;
    }
}

/// RFC 9110 §11.6.2 `Authorization`: the scheme and who, never the secret. The summary's
/// scheme and user lists are updated; the record is built only when `keep` (a request past
/// [`MAX_REQUESTS`] allocates nothing unless it shows a new scheme or Basic/Digest user).
fn authorization(s: &mut HttpSummary, value: &[u8], keep: bool) -> Option<Authorization> {
    let (scheme, token) = parser::split_credentials(value);
    add_distinct(&mut s.auth_schemes, scheme);
    let mut a = keep.then(|| Authorization {
        scheme: text(scheme),
        ..Authorization::default()
    });
    let user = |s: &mut HttpSummary, a: &mut Option<Authorization>, u: &[u8]| {
        add_distinct(&mut s.users, u);
        if let Some(a) = a {
            a.user = Some(text(u));
        }
    };
    if scheme.eq_ignore_ascii_case(b"Basic") {
        // RFC 7617 §2: base64(user-id ":" password); the password is dropped here
        s.basic_auth_in_cleartext = true;
        let mut buf = [0u8; MAX_TEXT_BYTES * 2];
        if let Some(n) = base64_decode(token, &mut buf) {
            user(s, &mut a, parser::basic_user(&buf[..n]));
        }
    } else if scheme.eq_ignore_ascii_case(b"NTLM") || scheme.eq_ignore_ascii_case(b"Negotiate") {
        if let Some((t, u)) = ntlm_token(token) {
            if let Some(u) = u {
                user(s, &mut a, u.as_bytes());
            }
            if let Some(a) = &mut a {
                a.ntlmssp_type = Some(t);
            }
        }
    } else if scheme.eq_ignore_ascii_case(b"Digest") {
        // RFC 7616 §3.4: username="..." (the response is a hash, not the password)
        if let Some(u) = digest_username(token) {
            user(s, &mut a, u);
        }
    }
    a
}

/// Adds `v` (as text) to a bounded list of distinct values; allocates only when it is new.
fn add_distinct(list: &mut Vec<String>, v: &[u8]) {
    let v = &v[..v.len().min(MAX_TEXT_BYTES)];
    if list.len() < super::summary::MAX_DISTINCT && !list.iter().any(|x| x.as_bytes() == v) {
        list.push(text(v));
    }
}

/// An NTLMSSP message (bare or inside SPNEGO) in a base64 token: its type and, for
/// AUTHENTICATE, `DOMAIN\user`.
fn ntlm_token(token: &[u8]) -> Option<(u8, Option<String>)> {
    let mut buf = [0u8; MAX_TOKEN_DECODED];
    let n = base64_decode(token, &mut buf)?;
    let m = ntlmssp::find(&buf[..n])?;
    let user = (m.kind == ntlmssp::MessageType::Authenticate).then(|| sasl::ntlm_user(&m, MAX_TEXT_BYTES));
    Some((sasl::ntlm_type(m.kind), user))
}

fn digest_username(params: &[u8]) -> Option<&[u8]> {
    let p = params.windows(9).position(|w| w.eq_ignore_ascii_case(b"username="))?;
    let v = &params[p + 9..];
    let v = v.strip_prefix(b"\"").unwrap_or(v);
    let end = v.iter().position(|&b| b == b'"' || b == b',').unwrap_or(v.len());
    Some(&v[..end])
}

fn looks_like_tls(rest: &[u8]) -> bool {
    matches!(rest, [0x16, 0x03, 0..=4, ..])
}

fn text(b: &[u8]) -> String {
    crate::proto::lines::text(b, MAX_TEXT_BYTES)
}

impl StreamParser for HttpState {
    fn feed(&mut self, dir: Direction, data: &[u8], _ts_ns: u64) -> Verdict {
        if self.stopped {
            return Verdict::Stop;
        }
        self.feed_dir(dir.index(), data)
    }

    fn gap(&mut self, dir: Direction, len: u64) {
        self.summary.gaps += 1;
        let d = dir.index();
        match self.sides[d].mode {
            // a gap inside a counted body keeps the framing
            Mode::Body { left } if len <= left => {
                self.body_bytes(d, len);
                if len == left {
                    self.message_done(d);
                } else {
                    self.sides[d].mode = Mode::Body { left: left - len };
                }
                return;
            }
            Mode::ChunkData { left } if len <= left => {
                self.body_bytes(d, len);
                self.sides[d].mode = if len == left {
                    Mode::ChunkCrlf
                } else {
                    Mode::ChunkData { left: left - len }
                };
                return;
            }
            Mode::UntilClose => {
                self.body_bytes(d, len);
                return;
            }
            _ => {}
        }
        // lost a head or framing: what is pending no longer lines up
        self.message_done(d);
        let side = &mut self.sides[d];
        side.lines.clear();
        side.resync = true;
        self.p_len = 0;
    }
}
