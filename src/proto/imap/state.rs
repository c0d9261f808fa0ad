//! The per-flow IMAP state machine: splits each direction into lines, skips literals by their
//! announced length without buffering them (keeping only a LOGIN user name sent as a literal),
//! matches tagged responses to the commands that carry the tag, follows AUTHENTICATE's SASL
//! exchange, and says when STARTTLS hands the connection to TLS.

use super::parser::{self, AString, Response, Status};
use super::summary::{Auth, ImapSummary, MAX_AUTHS, MAX_TEXT_BYTES, StartTls};
use crate::proto::lines::{LineBuf, Next};
use crate::proto::{Direction, StreamParser, Verdict, sasl};

/// The longest line kept: RFC 4954's 12,288 octets for a SASL response, which also covers
/// RFC 9051 §4's advice that servers accept command lines of at least 8,192 octets.
pub const MAX_LINE_BYTES: usize = 12_288;
/// Commands awaiting their tagged response; beyond this the oldest is forgotten.
pub const MAX_PENDING: usize = 32;
/// Consecutive lines of a direction that are not IMAP before the parser gives up.
pub const MAX_BAD_LINES: u32 = 8;

const CLIENT: usize = 0;
const SERVER: usize = 1;

/// What a command waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Other,
    StartTls,
    Auth(usize),
}

/// A command awaiting its tagged response, its tag held inline.
#[derive(Debug, Clone, Copy, Default)]
struct Pending {
    tag: [u8; parser::MAX_TAG_BYTES],
    tag_len: u8,
    kind: Kind,
}

impl Pending {
    fn tag(&self) -> &[u8] {
        &self.tag[..self.tag_len as usize]
    }
}

/// A pending record for `tag` (at most [`parser::MAX_TAG_BYTES`], checked by the caller).
fn tag_of(tag: &[u8], kind: Kind) -> Pending {
    let n = tag.len().min(parser::MAX_TAG_BYTES);
    let mut p = Pending {
        tag_len: n as u8,
        kind,
        ..Pending::default()
    };
    p.tag[..n].copy_from_slice(&tag[..n]);
    p
}

/// What the client direction carries next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ClientMode {
    #[default]
    Command,
    /// `left` octets of a literal; `user` names the auth record whose user name it is.
    Literal { left: u64, user: Option<usize> },
    /// The rest of a command line after a literal.
    Continuation,
    /// SASL responses to AUTHENTICATE record `idx`, `step` so far.
    Sasl { idx: usize, step: u32 },
}

/// What the server direction carries next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ServerMode {
    #[default]
    Response,
    Literal {
        left: u64,
    },
    Continuation,
}

/// IMAP over one TCP connection.
#[derive(Debug, Default)]
pub struct ImapState {
    lines: [LineBuf; 2],
    bad: [u32; 2],
    /// After a gap: the next line may start mid-line; don't count it if it does not parse.
    resync: [bool; 2],
    client: ClientMode,
    server: ServerMode,
    pending: Vec<Pending>,
    /// A LOGIN user name arriving as a literal (at most [`MAX_TEXT_BYTES`]).
    literal_user: Vec<u8>,
    /// The tag of the command whose literal the client owes, and the literal's announced size:
    /// a tagged NO/BAD for it before any literal byte means the server refused a synchronising
    /// literal (RFC 9051 §4.3) and the client sends none.
    literal_owed: Option<(Pending, u64)>,
    greeted: bool,
    upgraded: bool,
    stopped: bool,
    summary: ImapSummary,
}

impl ImapState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn summary(&self) -> &ImapSummary {
        &self.summary
    }

    pub fn into_summary(self) -> ImapSummary {
        self.summary
    }

    /// Heap bytes held (partial lines, the pending tags, a literal user name).
    pub fn buffered_bytes(&self) -> usize {
        self.lines.iter().map(LineBuf::capacity).sum::<usize>()
            + self.pending.capacity() * std::mem::size_of::<Pending>()
            + self.literal_user.capacity()
    }

    fn feed_client(&mut self, data: &[u8]) -> Verdict {
        let mut i = 0;
        while i < data.len() {
            let rest = &data[i..];
            if let ClientMode::Literal { left, user } = self.client {
                let n = (rest.len() as u64).min(left);
                if user.is_some() {
                    let room = MAX_TEXT_BYTES.saturating_sub(self.literal_user.len());
                    self.literal_user.extend_from_slice(&rest[..(n as usize).min(room)]);
                }
                self.summary.literal_bytes += n;
                i += n as usize;
                if n == left {
                    self.client = ClientMode::Continuation;
                    if let Some(a) = user.and_then(|u| self.summary.auth.get_mut(u)) {
                        a.user = Some(text(&self.literal_user));
                    }
                    self.literal_user.clear();
                } else {
                    self.client = ClientMode::Literal { left: left - n, user };
                }
                continue;
            }
            // TLS after a STARTTLS whose OK was not captured (or is still on its way)
            if self.summary.starttls.is_some() && self.lines[CLIENT].is_empty() && looks_like_tls(rest) {
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
            if let ServerMode::Literal { left } = self.server {
                let n = (rest.len() as u64).min(left);
                self.summary.literal_bytes += n;
                i += n as usize;
                self.server = if n == left {
                    ServerMode::Continuation
                } else {
                    ServerMode::Literal { left: left - n }
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
        if let Some(s) = &mut self.summary.starttls {
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
        match self.client {
            ClientMode::Continuation => {
                self.client = match parser::trailing_literal(line) {
                    Some(left) => ClientMode::Literal { left, user: None },
                    None => ClientMode::Command,
                };
                self.literal_owed = match (self.client, self.literal_owed) {
                    (ClientMode::Literal { left, .. }, Some((p, _))) => Some((p, left)),
                    _ => None,
                };
                return None;
            }
            ClientMode::Sasl { idx, step } => {
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
                    ClientMode::Sasl { idx, step: step + 1 }
                };
                return None;
            }
            ClientMode::Command | ClientMode::Literal { .. } => {}
        }
        // RFC 2177 §3: "DONE" ends IDLE (the IDLE command's tagged response follows)
        if line.eq_ignore_ascii_case(b"DONE") {
            return None;
        }
        let Some(cmd) = parser::parse_command(line) else {
            return self.bad_line(CLIENT);
        };
        self.bad[CLIENT] = 0;
        self.resync[CLIENT] = false;
        self.command(cmd);
        None
    }

    fn command(&mut self, cmd: parser::Command<'_>) {
        // RFC 9051 §6.4.9: UID prefixes COPY, MOVE, FETCH, SEARCH, STORE, EXPUNGE; counted
        // as "UID FETCH" (as tshark names them)
        let mut buf = [0u8; 2 * parser::MAX_VERB_BYTES];
        let mut n = cmd.verb.len();
        buf[..n].copy_from_slice(cmd.verb);
        if cmd.verb.eq_ignore_ascii_case(b"UID") {
            let sub = crate::proto::lines::split_word(cmd.args).0;
            if !sub.is_empty() && sub.len() <= parser::MAX_VERB_BYTES && sub.iter().all(u8::is_ascii_alphabetic) {
                buf[n] = b' ';
                buf[n + 1..n + 1 + sub.len()].copy_from_slice(sub);
                n += 1 + sub.len();
            }
        }
        let verb = &mut buf[..n];
        verb.make_ascii_uppercase();
        let verb: &[u8] = verb;
        self.summary.count_command(verb);
        let kind = match verb {
            // RFC 9051 §6.2.1
            b"STARTTLS" => {
                self.summary.starttls = Some(StartTls::default());
                Kind::StartTls
            }
            // RFC 9051 §6.2.3: LOGIN SP userid SP password
            b"LOGIN" => self.login(cmd.args),
            // RFC 9051 §6.2.2: AUTHENTICATE SP auth-type [SP (base64 / "=")]
            b"AUTHENTICATE" => self.authenticate(cmd.args),
            _ => Kind::Other,
        };
        if !matches!(self.client, ClientMode::Literal { .. })
            && let Some(left) = parser::trailing_literal(cmd.args)
        {
            self.client = ClientMode::Literal { left, user: None };
        }
        self.push_pending(cmd.tag, kind);
        self.literal_owed = match self.client {
            ClientMode::Literal { left, .. } => Some((tag_of(cmd.tag, Kind::Other), left)),
            _ => None,
        };
    }

    fn new_auth(&mut self, a: Auth) -> Option<usize> {
        let s = &mut self.summary;
        if s.auth.len() >= MAX_AUTHS {
            return None;
        }
        s.auth.push(a);
        Some(s.auth.len() - 1)
    }

    fn login(&mut self, args: &[u8]) -> Kind {
        let Some(idx) = self.new_auth(Auth {
            command: "LOGIN",
            cleartext_credentials: true,
            ..Auth::default()
        }) else {
            return Kind::Other;
        };
        match parser::astring(args) {
            Some((AString::Text(u), _)) => self.summary.auth[idx].user = Some(text(u)),
            Some((AString::Literal(left), _)) => {
                self.literal_user.clear();
                self.client = ClientMode::Literal { left, user: Some(idx) };
            }
            None => {}
        }
        Kind::Auth(idx)
    }

    fn authenticate(&mut self, args: &[u8]) -> Kind {
        let (mech, initial) = crate::proto::lines::split_word(args);
        let mut mechanism = text(mech);
        mechanism.make_ascii_uppercase();
        let Some(idx) = self.new_auth(Auth {
            command: "AUTHENTICATE",
            mechanism,
            initial_response_inline: !initial.is_empty(),
            ..Auth::default()
        }) else {
            return Kind::Other;
        };
        let mut step = 0;
        if !initial.is_empty() {
            self.sasl_response(idx, 0, initial);
            step = 1;
        }
        if step < sasl::responses_expected(&self.summary.auth[idx].mechanism) {
            self.client = ClientMode::Sasl { idx, step };
        }
        Kind::Auth(idx)
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

    fn push_pending(&mut self, tag: &[u8], kind: Kind) {
        if tag.len() > parser::MAX_TAG_BYTES {
            return;
        }
        if self.pending.len() == MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(tag_of(tag, kind));
    }

    fn server_line(&mut self, line: &[u8]) -> Option<Verdict> {
        if self.server == ServerMode::Continuation {
            self.server = ServerMode::Response;
            if let Some(left) = parser::trailing_literal(line) {
                self.server = ServerMode::Literal { left };
            }
            return None;
        }
        let Some(r) = parser::parse_response(line) else {
            return self.bad_line(SERVER);
        };
        self.bad[SERVER] = 0;
        self.resync[SERVER] = false;
        if let Some(left) = parser::trailing_literal(line) {
            self.server = ServerMode::Literal { left };
        }
        match r {
            Response::Untagged(body) => {
                self.untagged(body);
                None
            }
            Response::Continue(_) => None,
            Response::Tagged(tag, st, text) => self.tagged(tag, st, text),
        }
    }

    // greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF
    fn untagged(&mut self, body: &[u8]) {
        let (word, rest) = crate::proto::lines::split_word(body);
        let s = &mut self.summary;
        if !self.greeted {
            self.greeted = true;
            let status = if word.eq_ignore_ascii_case(b"OK") {
                Some("OK")
            } else if word.eq_ignore_ascii_case(b"PREAUTH") {
                Some("PREAUTH")
            } else if word.eq_ignore_ascii_case(b"BYE") {
                Some("BYE")
            } else {
                None
            };
            if let Some(st) = status {
                s.greeting_status = Some(st);
                let t = match rest.strip_prefix(b"[").and_then(|r| r.iter().position(|&b| b == b']')) {
                    Some(p) => rest[p + 2..].trim_ascii_start(),
                    None => rest,
                };
                let t = text(t);
                s.exchange_greeting = t.contains(super::summary::EXCHANGE_GREETING);
                s.greeting = Some(t);
            }
        }
        // capability-data = "CAPABILITY" *(SP capability); resp-text-code "[CAPABILITY ...]"
        if word.eq_ignore_ascii_case(b"CAPABILITY") {
            s.capabilities(rest);
        } else if let Some(c) = parser::capability_code(rest) {
            s.capabilities(c);
        }
    }

    fn tagged(&mut self, tag: &[u8], st: Status, txt: &[u8]) -> Option<Verdict> {
        let s = &mut self.summary;
        match st {
            Status::Ok => s.tagged_ok += 1,
            Status::No => s.tagged_no += 1,
            Status::Bad => s.tagged_bad += 1,
        }
        if let Some(c) = parser::capability_code(txt) {
            s.capabilities(c);
        }
        if let ClientMode::Literal { left, .. } = self.client
            && let Some((p, announced)) = self.literal_owed
            && left == announced
            && p.tag() == tag
        {
            // the literal was refused before any of it was sent
            self.client = ClientMode::Command;
            self.literal_user.clear();
            self.literal_owed = None;
        }
        let pos = self.pending.iter().position(|p| p.tag() == tag)?;
        let p = self.pending.remove(pos);
        match p.kind {
            Kind::Other => None,
            Kind::StartTls => {
                if let Some(t) = &mut self.summary.starttls {
                    t.status = Some(st.as_str());
                }
                (st == Status::Ok).then_some(Verdict::StartTls { at: 0 })
            }
            Kind::Auth(idx) => {
                if let Some(a) = self.summary.auth.get_mut(idx) {
                    a.status = Some(st.as_str());
                    a.success = st == Status::Ok;
                }
                if matches!(self.client, ClientMode::Sasl { idx: i, .. } if i == idx) {
                    self.client = ClientMode::Command;
                }
                None
            }
        }
    }
}

impl StreamParser for ImapState {
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
        if dir == Direction::ToServer {
            if let ClientMode::Literal { left, user } = self.client
                && len < left
            {
                self.summary.literal_bytes += len;
                self.client = ClientMode::Literal { left: left - len, user };
                return;
            }
            self.client = ClientMode::Command;
        } else {
            if let ServerMode::Literal { left } = self.server
                && len < left
            {
                self.summary.literal_bytes += len;
                self.server = ServerMode::Literal { left: left - len };
                return;
            }
            self.server = ServerMode::Response;
        }
        self.literal_user.clear();
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
