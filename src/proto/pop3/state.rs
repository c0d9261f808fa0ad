//! The per-flow POP3 state machine: splits each direction into lines, matches replies to the
//! (possibly pipelined, RFC 2449 §6.6) commands they answer, reads CAPA lists, skips the other
//! multi-line responses to their terminating "." line without buffering them, follows USER/PASS,
//! APOP and AUTH exchanges, and says when STLS hands the connection to TLS.

use super::parser::{self, Reply};
use super::summary::{Auth, MAX_AUTHS, MAX_TEXT_BYTES, Pop3Summary, Stls};
use crate::proto::lines::{DOT_AFTER_LF, LineBuf, Next, scan_dot_end};
use crate::proto::{Direction, StreamParser, Verdict, sasl};

/// The longest line kept: RFC 5034 §4 lets a SASL line reach 255 octets per the RFC 2449
/// limit only for commands, but AUTH responses are unbounded there; 12,288 matches SMTP's
/// RFC 4954 limit and holds Kerberos tokens.
pub const MAX_LINE_BYTES: usize = 12_288;
/// Commands awaiting their reply; beyond this the oldest is forgotten.
pub const MAX_PENDING: usize = 32;
/// Consecutive lines of a direction that are not POP3 before the parser gives up.
pub const MAX_BAD_LINES: u32 = 8;

const CLIENT: usize = 0;
const SERVER: usize = 1;

/// What a command waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Other,
    /// +OK starts a multi-line body (RETR, TOP, LIST and UIDL without argument, bare AUTH).
    MultiLine,
    Capa,
    Stls,
    /// USER, PASS, APOP or AUTH of auth record `idx`.
    Auth(usize),
}

/// What the server direction carries next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ServerMode {
    #[default]
    Reply,
    /// CAPA lines up to ".".
    Capa,
    /// A multi-line body up to `CRLF.CRLF`; the scanner's state.
    Body { state: u8 },
}

/// POP3 over one TCP connection.
#[derive(Debug, Default)]
pub struct Pop3State {
    lines: [LineBuf; 2],
    bad: [u32; 2],
    resync: [bool; 2],
    /// SASL responses to AUTH record `.0`, `.1` so far.
    sasl: Option<(usize, u32)>,
    server: ServerMode,
    pending: Vec<Kind>,
    greeted: bool,
    upgraded: bool,
    stopped: bool,
    summary: Pop3Summary,
}

impl Pop3State {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn summary(&self) -> &Pop3Summary {
        &self.summary
    }

    pub fn into_summary(self) -> Pop3Summary {
        self.summary
    }

    /// Heap bytes held (partial lines and the pending queue).
    pub fn buffered_bytes(&self) -> usize {
        self.lines.iter().map(LineBuf::capacity).sum::<usize>() + self.pending.capacity()
    }

    fn feed_client(&mut self, data: &[u8]) -> Verdict {
        let mut i = 0;
        while i < data.len() {
            let rest = &data[i..];
            if self.summary.stls.is_some() && self.lines[CLIENT].is_empty() && looks_like_tls(rest) {
                return self.upgrade(i);
            }
            let mut lb = std::mem::take(&mut self.lines[CLIENT]);
            let (used, next) = lb.next(rest, MAX_LINE_BYTES);
            let v = match next {
                Next::Line(l) => self.client_line(l),
                Next::Partial => None,
                Next::Overlong => {
                    self.summary.overlong_lines += 1;
                    None
                }
            };
            self.lines[CLIENT] = lb;
            i += used;
            if let Some(v) = v {
                return v;
            }
        }
        Verdict::Continue
    }

    fn feed_server(&mut self, data: &[u8]) -> Verdict {
        let mut i = 0;
        while i < data.len() {
            let rest = &data[i..];
            if let ServerMode::Body { state } = self.server {
                let (used, end, state) = scan_dot_end(rest, state);
                self.summary.multiline_bytes += used as u64;
                i += used;
                self.server = if end {
                    ServerMode::Reply
                } else {
                    ServerMode::Body { state }
                };
                continue;
            }
            let mut lb = std::mem::take(&mut self.lines[SERVER]);
            let (used, next) = lb.next(rest, MAX_LINE_BYTES);
            let v = match next {
                Next::Line(l) => self.server_line(l),
                Next::Partial => None,
                Next::Overlong => {
                    self.summary.overlong_lines += 1;
                    None
                }
            };
            self.lines[SERVER] = lb;
            i += used;
            match v {
                None => {}
                Some(Verdict::StartTls { .. }) => return self.upgrade(i),
                Some(v) => return v,
            }
        }
        Verdict::Continue
    }

    fn upgrade(&mut self, at: usize) -> Verdict {
        self.upgraded = true;
        if let Some(s) = &mut self.summary.stls {
            s.accepted = true;
        }
        Verdict::StartTls { at }
    }

    fn bad_line(&mut self, d: usize) -> Option<Verdict> {
        if std::mem::take(&mut self.resync[d]) {
            return None;
        }
        self.summary.unknown_lines += 1;
        self.bad[d] += 1;
        (self.bad[d] >= MAX_BAD_LINES).then_some(Verdict::Stop)
    }

    fn client_line(&mut self, line: &[u8]) -> Option<Verdict> {
        if let Some((idx, step)) = self.sasl {
            self.sasl_response(idx, step, line);
            let done = line == b"*"
                || self
                    .summary
                    .auth
                    .get(idx)
                    .is_some_and(|a| step + 1 >= sasl::responses_expected(&a.mechanism));
            self.sasl = (!done).then_some((idx, step + 1));
            return None;
        }
        let Some(cmd) = parser::parse_command(line) else {
            return self.bad_line(CLIENT);
        };
        self.bad[CLIENT] = 0;
        self.resync[CLIENT] = false;
        let mut verb = [0u8; parser::MAX_VERB_BYTES];
        let verb = &mut verb[..cmd.verb.len()];
        verb.copy_from_slice(cmd.verb);
        verb.make_ascii_uppercase();
        let verb: &[u8] = verb;
        self.summary.count_command(verb);
        let kind = match verb {
            b"CAPA" => Kind::Capa,
            // RFC 2595 §4
            b"STLS" => {
                self.summary.stls = Some(Stls::default());
                Kind::Stls
            }
            b"RETR" | b"TOP" => Kind::MultiLine,
            b"LIST" | b"UIDL" if cmd.args.is_empty() => Kind::MultiLine,
            // RFC 1939 §7: USER name, then PASS string
            b"USER" => self.new_auth(Auth {
                command: "USER",
                user: Some(text(cmd.args)),
                ..Auth::default()
            }),
            b"PASS" => {
                let idx = match self.summary.auth.last() {
                    Some(a) if a.command == "USER" && a.status.is_none_or(|s| s == "+OK") => {
                        Some(self.summary.auth.len() - 1)
                    }
                    _ => match self.new_auth(Auth {
                        command: "USER",
                        ..Auth::default()
                    }) {
                        Kind::Auth(i) => Some(i),
                        _ => None,
                    },
                };
                match idx.and_then(|i| self.summary.auth.get_mut(i).map(|a| (i, a))) {
                    Some((i, a)) => {
                        a.responses += 1;
                        a.cleartext_credentials = true;
                        a.status = None;
                        Kind::Auth(i)
                    }
                    None => Kind::Other,
                }
            }
            // RFC 1939 §7: APOP name digest (an MD5 over the timestamp and the secret)
            b"APOP" => {
                let (name, _digest) = crate::proto::lines::split_word(cmd.args);
                self.new_auth(Auth {
                    command: "APOP",
                    user: Some(text(name)),
                    ..Auth::default()
                })
            }
            // RFC 5034 §4: AUTH mechanism [initial-response]; bare AUTH lists mechanisms
            b"AUTH" if cmd.args.is_empty() => Kind::MultiLine,
            b"AUTH" => self.auth(cmd.args),
            _ => Kind::Other,
        };
        if self.pending.len() == MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(kind);
        None
    }

    fn new_auth(&mut self, a: Auth) -> Kind {
        let s = &mut self.summary;
        if s.auth.len() >= MAX_AUTHS {
            return Kind::Other;
        }
        s.auth.push(a);
        Kind::Auth(s.auth.len() - 1)
    }

    fn auth(&mut self, args: &[u8]) -> Kind {
        let (mech, initial) = crate::proto::lines::split_word(args);
        let mut mechanism = text(mech);
        mechanism.make_ascii_uppercase();
        let kind = self.new_auth(Auth {
            command: "AUTH",
            mechanism,
            initial_response_inline: !initial.is_empty(),
            ..Auth::default()
        });
        let Kind::Auth(idx) = kind else { return kind };
        let mut step = 0;
        if !initial.is_empty() {
            self.sasl_response(idx, 0, initial);
            step = 1;
        }
        if step < sasl::responses_expected(&self.summary.auth[idx].mechanism) {
            self.sasl = Some((idx, step));
        }
        kind
    }

    fn sasl_response(&mut self, idx: usize, step: u32, line: &[u8]) {
        let Some(a) = self.summary.auth.get_mut(idx) else {
            return;
        };
        if line == b"*" {
            a.cancelled = true;
            return;
        }
        a.responses += 1;
        let f = sasl::client_response(&a.mechanism, step, line, MAX_TEXT_BYTES);
        if a.user.is_none() {
            a.user = f.user;
        }
        a.cleartext_credentials |= f.cleartext_credentials;
    }

    fn server_line(&mut self, line: &[u8]) -> Option<Verdict> {
        if self.server == ServerMode::Capa {
            if line == b"." {
                self.server = ServerMode::Reply;
            } else {
                // RFC 1939 §3: a line starting with "." is byte-stuffed
                self.summary.capa_line(line.strip_prefix(b".").unwrap_or(line));
            }
            return None;
        }
        let Some(r) = parser::parse_reply(line) else {
            return self.bad_line(SERVER);
        };
        self.bad[SERVER] = 0;
        self.resync[SERVER] = false;
        let (ok, text_) = match r {
            // RFC 5034 §4: a challenge; the AUTH stays pending
            Reply::Continue(_) => return None,
            Reply::Ok(t) => (true, t),
            Reply::Err(t) => (false, t),
        };
        let s = &mut self.summary;
        if ok {
            s.ok_replies += 1;
        } else {
            s.err_replies += 1;
        }
        if !self.greeted {
            self.greeted = true;
            if ok {
                let t = text(text_);
                s.exchange_greeting = t.contains(super::summary::EXCHANGE_GREETING);
                s.apop_timestamp = parser::apop_timestamp(text_).map(text);
                s.greeting = Some(t);
            }
            return None;
        }
        if self.pending.is_empty() {
            return None;
        }
        let kind = self.pending.remove(0);
        let status = if ok { "+OK" } else { "-ERR" };
        match kind {
            Kind::Other => None,
            Kind::MultiLine => {
                if ok {
                    self.server = ServerMode::Body { state: DOT_AFTER_LF };
                }
                None
            }
            Kind::Capa => {
                if ok {
                    self.server = ServerMode::Capa;
                }
                None
            }
            Kind::Stls => {
                if let Some(t) = &mut self.summary.stls {
                    t.status = Some(status);
                }
                ok.then_some(Verdict::StartTls { at: 0 })
            }
            Kind::Auth(idx) => {
                if let Some(a) = self.summary.auth.get_mut(idx) {
                    a.status = Some(status);
                    // USER's +OK only accepts the name; PASS's decides
                    a.success = ok && (a.command != "USER" || a.responses > 0);
                }
                if self.sasl.is_some_and(|(i, _)| i == idx) {
                    self.sasl = None;
                }
                None
            }
        }
    }
}

impl StreamParser for Pop3State {
    fn feed(&mut self, dir: Direction, data: &[u8], _ts_ns: u64) -> Verdict {
        if self.upgraded || self.stopped {
            return Verdict::Stop;
        }
        let v = match dir {
            Direction::ToServer => self.feed_client(data),
            Direction::ToClient => self.feed_server(data),
        };
        if v == Verdict::Stop {
            self.stopped = true;
        }
        v
    }

    fn gap(&mut self, dir: Direction, len: u64) {
        self.summary.gaps += 1;
        let d = dir.index();
        if dir == Direction::ToClient {
            if let ServerMode::Body { .. } = self.server {
                // the end marker may have been in the gap: keep scanning
                self.summary.multiline_bytes += len;
                self.server = ServerMode::Body { state: 0 };
                return;
            }
            self.server = ServerMode::Reply;
        } else {
            self.sasl = None;
        }
        // lost commands or replies: what is pending no longer lines up
        self.pending.clear();
        self.lines[d].clear();
        self.resync[d] = true;
    }
}

fn looks_like_tls(rest: &[u8]) -> bool {
    matches!(rest, [0x16, 0x03, 0..=4, ..])
}

pub(super) fn text(b: &[u8]) -> String {
    crate::proto::lines::text(b, MAX_TEXT_BYTES)
}
