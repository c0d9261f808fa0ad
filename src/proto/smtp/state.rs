//! The per-flow SMTP state machine: splits each direction into lines, matches replies to the
//! (possibly pipelined) commands they answer, skips message bodies by length or by their end
//! marker without buffering them, follows AUTH exchanges, and says when STARTTLS or
//! X-ANONYMOUSTLS hands the connection to TLS.

use super::parser::{self, CommandLine, ReplyLine};
use super::summary::{Auth, Helo, SmtpSummary, StartTls};
use crate::proto::{Direction, StreamParser, Verdict, sasl};

/// RFC 4954 §4: an AUTH command line (with its initial response) and each SASL response line
/// may be up to 12,288 octets; longer lines are counted and skipped.
pub const MAX_LINE_BYTES: usize = 12_288;
/// Commands awaiting their reply (RFC 2920 pipelining); beyond this the oldest is forgotten.
pub const MAX_PIPELINED: usize = 64;
/// Consecutive lines of a direction that are neither commands nor replies before the parser
/// gives up (encrypted or not SMTP after all).
pub const MAX_BAD_LINES: u32 = 8;

/// Index of each direction's line buffer.
const CLIENT: usize = 0;
const SERVER: usize = 1;

/// What the client direction carries next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ClientMode {
    #[default]
    Command,
    /// SASL responses to the AUTH (or X-EXPS) record `idx`, `step` responses so far.
    Auth { idx: usize, step: u32 },
    /// DATA body up to `<CRLF>.<CRLF>` (RFC 5321 §4.1.1.4); `state` tracks a partial match.
    Data { state: u8 },
    /// A counted chunk (BDAT, RFC 3030 §2; XEXCH50 binary): `left` bytes, then `after` awaits
    /// the reply.
    Skip { left: u64, after: Pending },
}

/// A command that awaits a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Pending {
    #[default]
    Other,
    Helo,
    Ehlo,
    StartTls,
    Auth(usize),
    Data,
    DataEnd,
    Bdat {
        last: bool,
    },
    Xexch50 {
        len: u64,
    },
}

/// A bounded FIFO of pending commands, allocated inline.
#[derive(Debug, Clone)]
struct Queue {
    items: [Pending; MAX_PIPELINED],
    head: usize,
    len: usize,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            items: [Pending::Other; MAX_PIPELINED],
            head: 0,
            len: 0,
        }
    }
}

impl Queue {
    fn push(&mut self, p: Pending) {
        if self.len == MAX_PIPELINED {
            self.pop();
        }
        self.items[(self.head + self.len) % MAX_PIPELINED] = p;
        self.len += 1;
    }
    fn front(&self) -> Option<Pending> {
        (self.len > 0).then(|| self.items[self.head])
    }
    fn pop(&mut self) -> Option<Pending> {
        let p = self.front()?;
        self.head = (self.head + 1) % MAX_PIPELINED;
        self.len -= 1;
        Some(p)
    }
    fn clear(&mut self) {
        self.len = 0;
    }
}

/// One direction's partial line.
#[derive(Debug, Default)]
struct LineBuf {
    buf: Vec<u8>,
    /// Discarding an overlong line up to its end.
    overlong: bool,
    /// After a gap: the next line may start mid-line; keep it only if it parses.
    resync: bool,
    bad: u32,
}

/// A multi-line reply being read.
#[derive(Debug, Default)]
struct ReplyAcc {
    lines: u32,
    code: u16,
}

/// SMTP over one TCP connection.
#[derive(Debug, Default)]
pub struct SmtpState {
    lines: [LineBuf; 2],
    client: ClientMode,
    pending: Queue,
    reply: ReplyAcc,
    greeted: bool,
    /// STARTTLS accepted: the rest is TLS (reported once).
    upgraded: bool,
    summary: SmtpSummary,
}

/// What handling one line asks of the feed loop.
enum Step {
    Go,
    Verdict(Verdict),
}

impl SmtpState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn summary(&self) -> &SmtpSummary {
        &self.summary
    }

    /// Heap bytes held for partial lines (bounded by about twice [`MAX_LINE_BYTES`] each).
    pub fn buffered_bytes(&self) -> usize {
        self.lines.iter().map(|l| l.buf.capacity()).sum()
    }

    pub fn into_summary(self) -> SmtpSummary {
        self.summary
    }

    fn feed_client(&mut self, data: &[u8]) -> Verdict {
        let mut i = 0;
        while i < data.len() {
            let rest = &data[i..];
            match self.client {
                ClientMode::Data { state } => {
                    let (used, end, state) = scan_data_end(rest, state);
                    self.summary.body_bytes += used as u64;
                    i += used;
                    if end {
                        self.client = ClientMode::Command;
                        self.pending.push(Pending::DataEnd);
                    } else {
                        self.client = ClientMode::Data { state };
                    }
                }
                ClientMode::Skip { left, after } => {
                    let n = (rest.len() as u64).min(left);
                    self.summary.body_bytes += n;
                    i += n as usize;
                    self.skip_done(left - n, after);
                }
                ClientMode::Command | ClientMode::Auth { .. } => {
                    // TLS where a STARTTLS reply was not captured, or was still on its way
                    if self.summary.starttls.is_some() && self.lines[CLIENT].buf.is_empty() && looks_like_tls(rest) {
                        return self.upgrade(i);
                    }
                    let (used, line) = next_line(&mut self.lines[CLIENT], rest);
                    i += used;
                    let step = match line {
                        Line::InChunk => self.client_line(trim_crlf(&rest[..used])),
                        Line::Held => self.held_line(CLIENT, Self::client_line),
                        Line::Partial => continue,
                    };
                    if let Step::Verdict(v) = step {
                        return v;
                    }
                }
            }
        }
        Verdict::Continue
    }

    fn skip_done(&mut self, left: u64, after: Pending) {
        if left == 0 {
            self.client = ClientMode::Command;
            self.pending.push(after);
        } else {
            self.client = ClientMode::Skip { left, after };
        }
    }

    fn feed_server(&mut self, data: &[u8]) -> Verdict {
        let mut i = 0;
        while i < data.len() {
            let rest = &data[i..];
            let (used, line) = next_line(&mut self.lines[SERVER], rest);
            i += used;
            let step = match line {
                Line::InChunk => self.server_line(trim_crlf(&rest[..used])),
                Line::Held => self.held_line(SERVER, Self::server_line),
                Line::Partial => continue,
            };
            match step {
                Step::Go => {}
                Step::Verdict(Verdict::StartTls { .. }) => return self.upgrade(i),
                Step::Verdict(v) => return v,
            }
        }
        Verdict::Continue
    }

    /// Hand the line completed in direction `d`'s buffer to `handle`, keeping the buffer's
    /// allocation for the next partial line.
    fn held_line(&mut self, d: usize, handle: fn(&mut Self, &[u8]) -> Step) -> Step {
        let line = std::mem::take(&mut self.lines[d].buf);
        let step = handle(self, trim_crlf(&line));
        self.lines[d].buf = line;
        self.lines[d].buf.clear();
        step
    }

    /// A line of direction `d` that does not parse: counted, and after [`MAX_BAD_LINES`] in a
    /// row the flow is not SMTP (any more). The first line after a gap may start mid-line and
    /// is not counted.
    fn bad_line(&mut self, d: usize, resync: bool) -> Step {
        if resync {
            return Step::Go;
        }
        self.summary.unknown_lines += 1;
        self.lines[d].bad += 1;
        if self.lines[d].bad >= MAX_BAD_LINES {
            return Step::Verdict(Verdict::Stop);
        }
        Step::Go
    }

    fn upgrade(&mut self, at: usize) -> Verdict {
        self.upgraded = true;
        if let Some(s) = &mut self.summary.starttls {
            s.accepted = true;
        }
        Verdict::StartTls { at }
    }

    /// One client line (without CRLF).
    fn client_line(&mut self, line: &[u8]) -> Step {
        if let ClientMode::Auth { idx, step } = self.client {
            self.sasl_response(idx, step, line);
            let done = line == b"*"
                || self
                    .summary
                    .auth
                    .get(idx)
                    .is_some_and(|a| step + 1 >= sasl::responses_expected(&a.mechanism));
            self.client = if done {
                ClientMode::Command
            } else {
                ClientMode::Auth { idx, step: step + 1 }
            };
            return Step::Go;
        }
        let resync = std::mem::take(&mut self.lines[CLIENT].resync);
        let Some(cmd) = parser::parse_command(line) else {
            return self.bad_line(CLIENT, resync);
        };
        self.lines[CLIENT].bad = 0;
        self.command(cmd)
    }

    fn command(&mut self, cmd: CommandLine<'_>) -> Step {
        let mut verb = [0u8; parser::MAX_VERB_BYTES];
        let verb = &mut verb[..cmd.verb.len()];
        verb.copy_from_slice(cmd.verb);
        verb.make_ascii_uppercase();
        let verb: &[u8] = verb;
        self.summary.count_command(verb);
        let s = &mut self.summary;
        let pending = match verb {
            b"EHLO" | b"HELO" | b"LHLO" => {
                if s.helo.is_none() {
                    s.helo = Some(Helo {
                        command: if verb == b"HELO" {
                            "HELO"
                        } else if verb == b"EHLO" {
                            "EHLO"
                        } else {
                            "LHLO"
                        },
                        name: text(cmd.args),
                        reply_code: None,
                    });
                }
                if verb == b"HELO" { Pending::Helo } else { Pending::Ehlo }
            }
            b"STARTTLS" | b"X-ANONYMOUSTLS" => {
                s.starttls = Some(StartTls {
                    command: if verb == b"STARTTLS" {
                        "STARTTLS"
                    } else {
                        "X-ANONYMOUSTLS"
                    },
                    reply_code: None,
                    accepted: false,
                });
                Pending::StartTls
            }
            b"AUTH" | b"X-EXPS" => return self.auth(verb == b"X-EXPS", cmd.args),
            b"MAIL" => {
                s.mail_from_count += 1;
                if let Some(a) = parser::path_arg(cmd.args, b"FROM:") {
                    s.push_address(true, a);
                }
                Pending::Other
            }
            b"RCPT" => {
                s.rcpt_to_count += 1;
                if let Some(a) = parser::path_arg(cmd.args, b"TO:") {
                    s.push_address(false, a);
                }
                Pending::Other
            }
            b"DATA" => {
                s.data_count += 1;
                // The body follows a 354 reply; enter body mode now (a one-sided capture has
                // no reply) and leave it if the reply refuses (the client then sends none).
                self.client = ClientMode::Data { state: DATA_AFTER_LF };
                Pending::Data
            }
            b"BDAT" => {
                if let Some((len, last)) = parser::bdat_args(cmd.args) {
                    s.bdat_count += 1;
                    self.skip_done(len, Pending::Bdat { last });
                    return Step::Go;
                }
                Pending::Other
            }
            // KB 812455: `XEXCH50 <size> <n>`, a 354 reply, then `size` bytes of binary
            b"XEXCH50" => match parser::words(cmd.args).next().and_then(parser::bdat_args) {
                Some((len, _)) => Pending::Xexch50 { len },
                None => Pending::Other,
            },
            _ => Pending::Other,
        };
        self.pending.push(pending);
        Step::Go
    }

    /// RFC 4954 §4 `AUTH mechanism [initial-response]`; Exchange's `X-EXPS package [...]`.
    fn auth(&mut self, x_exps: bool, args: &[u8]) -> Step {
        let mut w = parser::words(args);
        let mech = w.next().unwrap_or(&[]);
        let initial = w.next();
        let s = &mut self.summary;
        if s.auth.len() >= super::summary::MAX_AUTHS {
            self.pending.push(Pending::Other);
            return Step::Go;
        }
        let mut mechanism = text(mech);
        mechanism.make_ascii_uppercase();
        s.auth.push(Auth {
            command: if x_exps { "X-EXPS" } else { "AUTH" },
            mechanism,
            initial_response_inline: initial.is_some(),
            ..Auth::default()
        });
        let idx = s.auth.len() - 1;
        let mut step = 0;
        // RFC 4954 §4: "=" is an empty initial response
        if let Some(r) = initial {
            self.sasl_response(idx, 0, r);
            step = 1;
        }
        self.pending.push(Pending::Auth(idx));
        if step < sasl::responses_expected(&self.summary.auth[idx].mechanism) {
            self.client = ClientMode::Auth { idx, step };
        }
        Step::Go
    }

    /// The client's `step`-th SASL response of AUTH record `idx` (base64, RFC 4954 §4): the
    /// user name and whether a credential crossed, by [`sasl::client_response`].
    fn sasl_response(&mut self, idx: usize, step: u32, line: &[u8]) {
        let Some(a) = self.summary.auth.get_mut(idx) else {
            return;
        };
        if line == b"*" {
            a.cancelled = true;
            return;
        }
        a.responses += 1;
        let f = sasl::client_response(&a.mechanism, step, line, super::summary::MAX_TEXT_BYTES);
        if a.user.is_none() {
            a.user = f.user;
        }
        a.cleartext_credentials |= f.cleartext_credentials;
    }

    /// One server line (without CRLF).
    fn server_line(&mut self, line: &[u8]) -> Step {
        let resync = std::mem::take(&mut self.lines[SERVER].resync);
        let Some(r) = parser::parse_reply(line) else {
            return self.bad_line(SERVER, resync);
        };
        self.lines[SERVER].bad = 0;
        let first = self.reply.lines == 0;
        if first {
            self.reply.code = r.code;
        }
        self.reply.lines += 1;
        self.reply_line(first, r);
        if !r.last {
            return Step::Go;
        }
        let code = self.reply.code;
        self.reply = ReplyAcc::default();
        self.summary.count_reply(code);
        self.reply_done(code)
    }

    /// A line of a reply, for what a single line tells (banner text, EHLO keywords).
    fn reply_line(&mut self, first: bool, r: ReplyLine<'_>) {
        let s = &mut self.summary;
        if !self.greeted {
            if first {
                s.set_banner(r.code, r.text);
            }
            return;
        }
        if !first && r.code == 250 && self.pending.front() == Some(Pending::Ehlo) {
            s.ehlo_line(r.text);
        } else if first && r.code == 250 && self.pending.front() == Some(Pending::Ehlo) {
            s.extensions.clear();
        }
    }

    /// A whole reply with `code` arrived: it answers the oldest pending command.
    fn reply_done(&mut self, code: u16) -> Step {
        if !self.greeted {
            self.greeted = true;
            return Step::Go;
        }
        let Some(p) = self.pending.front() else { return Step::Go };
        // RFC 4954 §4: 334 asks for the next SASL response; the AUTH stays pending
        if code == 334 && matches!(p, Pending::Auth(_)) {
            return Step::Go;
        }
        self.pending.pop();
        let s = &mut self.summary;
        match p {
            Pending::Helo | Pending::Ehlo => {
                if let Some(h) = &mut s.helo {
                    h.reply_code.get_or_insert(code);
                }
            }
            Pending::StartTls => {
                if let Some(t) = &mut s.starttls {
                    t.reply_code = Some(code);
                }
                // RFC 3207 §4: 220 "Ready to start TLS"; anything else refuses it
                if code == 220 {
                    return Step::Verdict(Verdict::StartTls { at: 0 });
                }
            }
            Pending::Auth(idx) => {
                if let Some(a) = s.auth.get_mut(idx) {
                    a.reply_code = Some(code);
                    a.success = code == 235;
                }
                if matches!(self.client, ClientMode::Auth { .. }) {
                    self.client = ClientMode::Command;
                }
            }
            Pending::Data => {
                if code != 354 && matches!(self.client, ClientMode::Data { .. }) {
                    self.client = ClientMode::Command;
                }
            }
            Pending::DataEnd | Pending::Bdat { last: true } => {
                if (200..300).contains(&code) {
                    s.messages += 1;
                }
            }
            Pending::Xexch50 { len } => {
                if code == 354 {
                    self.skip_done(len, Pending::Other);
                }
            }
            Pending::Bdat { last: false } | Pending::Other => {}
        }
        Step::Go
    }
}

impl StreamParser for SmtpState {
    fn feed(&mut self, dir: Direction, data: &[u8], _ts_ns: u64) -> Verdict {
        if self.upgraded {
            return Verdict::Stop;
        }
        match dir {
            Direction::ToServer => self.feed_client(data),
            Direction::ToClient => self.feed_server(data),
        }
    }

    fn gap(&mut self, dir: Direction, len: u64) {
        self.summary.gaps += 1;
        let d = dir.index();
        if dir == Direction::ToServer {
            match self.client {
                ClientMode::Data { .. } => {
                    self.summary.body_bytes += len;
                    // the end marker may have been in the gap: we can't tell
                    self.client = ClientMode::Data { state: 0 };
                    return;
                }
                ClientMode::Skip { left, after } => {
                    self.summary.body_bytes += len.min(left);
                    self.skip_done(left.saturating_sub(len), after);
                    return;
                }
                ClientMode::Auth { .. } => self.client = ClientMode::Command,
                ClientMode::Command => {}
            }
        } else {
            self.reply = ReplyAcc::default();
        }
        // Lost commands or replies: what is pending no longer lines up.
        self.pending.clear();
        let l = &mut self.lines[d];
        l.buf.clear();
        l.overlong = false;
        l.resync = true;
    }
}

/// `rest` starts with a TLS handshake record header (RFC 8446 §5.1).
fn looks_like_tls(rest: &[u8]) -> bool {
    matches!(rest, [0x16, 0x03, 0..=4, ..])
}

/// The data-end matcher's state right after a line end.
const DATA_AFTER_LF: u8 = 1;

/// RFC 5321 §4.1.1.4: the body ends with `<CRLF>.<CRLF>` (a bare LF is tolerated, as servers
/// do). `state`: 0 mid-line, 1 after LF, 2 after LF '.', 3 after LF ".\r". Returns the bytes
/// consumed, whether the end was found, and the state to carry over.
fn scan_data_end(d: &[u8], mut state: u8) -> (usize, bool, u8) {
    let mut i = 0;
    while i < d.len() {
        if state == 0 {
            match d[i..].iter().position(|&b| b == b'\n') {
                Some(p) => {
                    i += p + 1;
                    state = 1;
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

/// Where [`next_line`] found the next line.
enum Line {
    /// Whole in the chunk, as its first `used` bytes (nothing was held): borrowed, not copied.
    InChunk,
    /// Completed in the direction's buffer (a line split across chunks).
    Held,
    /// No whole line yet (what there is was held), or an overlong line was dropped.
    Partial,
}

/// Takes the next line from `d`, joining a partial line held in `l`. Returns the bytes of `d`
/// used and where the line (with its LF) is. Only a line split across chunks is copied; a line
/// longer than [`MAX_LINE_BYTES`] is dropped.
fn next_line(l: &mut LineBuf, d: &[u8]) -> (usize, Line) {
    match d.iter().position(|&b| b == b'\n') {
        Some(p) => {
            let used = p + 1;
            if l.overlong {
                l.overlong = false;
                l.buf.clear();
                return (used, Line::Partial);
            }
            if l.buf.len() + used > MAX_LINE_BYTES {
                l.buf.clear();
                return (used, Line::Partial);
            }
            if l.buf.is_empty() {
                return (used, Line::InChunk);
            }
            l.buf.extend_from_slice(&d[..used]);
            (used, Line::Held)
        }
        None => {
            if !l.overlong && l.buf.len() + d.len() <= MAX_LINE_BYTES {
                l.buf.extend_from_slice(d);
            } else {
                l.overlong = true;
                l.buf.clear();
            }
            (d.len(), Line::Partial)
        }
    }
}

fn trim_crlf(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Protocol text kept in the summary: lossy UTF-8, cut to the summary's limit.
pub(super) fn text(b: &[u8]) -> String {
    let b = &b[..b.len().min(super::summary::MAX_TEXT_BYTES)];
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_end_marker_across_chunks() {
        let body = b"Subject: x\r\n\r\n..dot stuffed\r\nline\r\n.\r\nQUIT\r\n";
        let (used, end, _) = scan_data_end(body, DATA_AFTER_LF);
        assert!(end);
        assert_eq!(&body[used..], b"QUIT\r\n");
        // split at every point: the same end
        for cut in 0..=used {
            let (u1, e1, st) = scan_data_end(&body[..cut], DATA_AFTER_LF);
            assert_eq!(u1, cut);
            assert_eq!(e1, cut == used);
            let total = if e1 {
                u1
            } else {
                let (u2, e2, _) = scan_data_end(&body[cut..], st);
                assert!(e2, "cut at {cut}");
                cut + u2
            };
            assert_eq!(total, used, "cut at {cut}");
        }
        // an empty body: "DATA\r\n" then ".\r\n"
        assert_eq!(scan_data_end(b".\r\n", DATA_AFTER_LF), (3, true, 0));
        assert_eq!(scan_data_end(b"a.\r\nb", DATA_AFTER_LF), (5, false, 0));
    }

    #[test]
    fn queue_is_bounded() {
        let mut q = Queue::default();
        for _ in 0..MAX_PIPELINED + 3 {
            q.push(Pending::Data);
        }
        assert_eq!(q.len, MAX_PIPELINED);
        q.push(Pending::Ehlo);
        while q.len > 1 {
            q.pop();
        }
        assert_eq!(q.pop(), Some(Pending::Ehlo));
        assert_eq!(q.pop(), None);
    }
}
