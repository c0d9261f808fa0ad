//! SIP (RFC 3261) with SDP bodies (RFC 8866; RFC 4568 `a=crypto`, RFC 5763 `a=fingerprint`),
//! as Exchange Unified Messaging and Lync/Skype for Business speak it on 5060-5068: probing,
//! message framing over TCP (several messages per stream, each framed by its Content-Length,
//! RFC 3261 §18.3; CRLF keep-alives skipped) and over UDP (one message per datagram), and an
//! owned per-flow [`SipSummary`]: counts by method and status code, per-call records (Call-ID,
//! From/To URIs and tags, Via transports, auth schemes, user agents) and the SDP media list
//! ([`SdpMedia`]) the flow layer turns into RTP expectations. No secret is kept: Digest
//! responses and SRTP keys are never read into the summary.
//!
//! `parser` holds the pure grammar, `summary` the owned record; the framing state machine
//! ([`SipState`]) is here.

pub mod parser;
pub mod summary;

#[cfg(test)]
mod tests;

pub use summary::{SdpMedia, SipCall, SipSummary};

use super::{Direction, Probe, StreamParser, Verdict};
use parser::{SipError, StartParse};

/// Largest message head (start line and headers) buffered per direction; a longer one is a
/// parse error and the direction resyncs at the next line that starts a message.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest SDP body buffered to be parsed; larger ones (and every other body) are skipped by
/// their Content-Length without being buffered.
pub const MAX_SDP_BYTES: usize = 16 * 1024;
/// Most bytes one direction buffers: a head and an SDP body.
pub const MAX_BUFFER_BYTES: usize = MAX_HEAD_BYTES + MAX_SDP_BYTES;
/// Bytes that are not SIP, in a row, after which a direction is given up.
pub const MAX_GARBAGE_BYTES: u64 = 256 * 1024;
/// CR/LF bytes skipped before a probe's start line (keep-alives).
const PROBE_SKIP: usize = 16;

/// Is this the start of SIP? A request line `Method SP Request-URI SP SIP/2.0` (any token
/// method; sip:, sips: or tel: URI) or a status line `SIP/2.0 SP 3DIGIT`, after any CRLF
/// keep-alives. Case-insensitive, allocation-free.
pub fn probe_sip(data: &[u8]) -> Probe {
    let skip = data
        .iter()
        .take(PROBE_SKIP)
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    if skip == data.len() {
        return Probe::NeedMore;
    }
    if skip == PROBE_SKIP {
        return Probe::No;
    }
    match parser::parse_start_line(&data[skip..]) {
        StartParse::Line(..) => Probe::Yes,
        StartParse::NeedMore => Probe::NeedMore,
        StartParse::No => Probe::No,
    }
}

/// What the framer did with the head of a direction's bytes.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Took this many bytes (a whole message, or keep-alive CR/LFs).
    Consumed(usize),
    /// Took `consumed` bytes (a head and the start of a body not kept); `skip` more bytes of
    /// the body are still to come.
    Skip { consumed: usize, skip: u64 },
    /// A message has begun but is not complete; the answer cannot change before `Wait`.
    NeedMore(Wait),
    /// Not SIP: this many bytes (through the end of the line) are dropped.
    Garbage(usize),
}

/// When a buffered partial message is worth another look: re-reading a long head on every
/// small segment would cost quadratic time, so the framer waits for what can change its answer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Any byte (the start line is still being read).
    #[default]
    Any,
    /// The empty line that ends the head, or the head limit.
    HeadEnd,
    /// This many bytes buffered (the SDP body).
    Len(usize),
}

/// Per-direction stream state.
#[derive(Debug, Default)]
struct Dir {
    /// A partial message (bounded by [`MAX_BUFFER_BYTES`]).
    buf: Vec<u8>,
    /// Body bytes still to skip.
    skip: u64,
    flags: Flags,
    /// What the buffered partial message waits for.
    wait: Wait,
    /// Bytes that were not SIP since the last message.
    garbage_bytes: u64,
    stopped: bool,
}

/// The per-flow SIP state machine: a stream ([`StreamParser`]) for TCP, [`SipState::datagram`]
/// for UDP.
#[derive(Debug, Default)]
pub struct SipState {
    dirs: [Dir; 2],
    summary: SipSummary,
}

/// Through the next LF (or everything when there is none).
fn to_line_end(b: &[u8]) -> usize {
    b.iter().position(|&x| x == b'\n').map_or(b.len(), |p| p + 1)
}

/// Where a direction is between messages; carried across feeds so that the outcome never
/// depends on how the stream was cut into chunks.
#[derive(Debug, Default, Clone, Copy)]
struct Flags {
    /// Inside bytes that are not SIP (after a bad line or a gap) since the last message.
    garbage: bool,
    /// The garbage line has not ended yet: the next bytes continue it.
    mid_line: bool,
    /// Inside a run of keep-alive CR/LFs.
    crlf_run: bool,
}

/// RFC 3261 §18.3: in a stream, a message ends after its Content-Length bytes of body (0 when
/// the header is absent). RFC 5626 §3.5.1: CRLFs between messages are keep-alives.
fn step(s: &mut SipSummary, b: &[u8], f: &mut Flags) -> Step {
    if f.mid_line {
        let n = to_line_end(b);
        f.mid_line = !b[..n].ends_with(b"\n");
        return Step::Garbage(n);
    }
    let crlf = b.iter().take_while(|&&x| x == b'\r' || x == b'\n').count();
    if crlf > 0 {
        if !f.crlf_run {
            s.keepalives += 1;
        }
        f.crlf_run = true;
        return Step::Consumed(crlf);
    }
    // the head is looked for in the first MAX_HEAD_BYTES only, whatever the chunk holds
    let m = match parser::parse_sip_head(&b[..b.len().min(MAX_HEAD_BYTES)]) {
        Ok(m) => m,
        Err(SipError::Incomplete) if b.len() < MAX_HEAD_BYTES => return Step::NeedMore(Wait::Any),
        Err(SipError::IncompleteHead) if b.len() < MAX_HEAD_BYTES => {
            return Step::NeedMore(Wait::HeadEnd);
        }
        Err(_) => {
            f.crlf_run = false;
            if !f.garbage {
                s.parse_errors += 1;
                f.garbage = true;
            }
            let n = to_line_end(b);
            f.mid_line = !b[..n].ends_with(b"\n");
            return Step::Garbage(n);
        }
    };
    f.crlf_run = false;
    f.garbage = false;
    let len = m.head.content_length.unwrap_or(0);
    let total = (m.head_len as u64).saturating_add(len);
    let avail = b.len() as u64;
    if m.head.is_sdp() && len <= MAX_SDP_BYTES as u64 {
        if avail < total {
            return Step::NeedMore(Wait::Len(total as usize));
        }
        let body = &b[m.head_len..total as usize];
        s.record(&m, Some(body));
        return Step::Consumed(total as usize);
    }
    s.record(&m, None);
    if len > 0 {
        s.bodies_skipped += 1;
    }
    if avail >= total {
        Step::Consumed(total as usize)
    } else {
        Step::Skip {
            consumed: b.len(),
            skip: total - avail,
        }
    }
}

impl SipState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn summary(&self) -> &SipSummary {
        &self.summary
    }

    /// SIP over UDP (RFC 3261 §18.3): one message per datagram; the body is the rest of the
    /// datagram (cut to Content-Length when that is shorter).
    pub fn datagram(&mut self, _dir: Direction, data: &[u8]) {
        self.summary.udp = true;
        let crlf = data.iter().take_while(|&&x| x == b'\r' || x == b'\n').count();
        let b = &data[crlf..];
        if b.is_empty() {
            if crlf > 0 {
                self.summary.keepalives += 1;
            }
            return;
        }
        let m = match parser::parse_sip_head(b) {
            Ok(m) => m,
            Err(_) => {
                self.summary.parse_errors += 1;
                return;
            }
        };
        let mut body = &b[m.head_len..];
        if let Some(l) = m.head.content_length {
            if l > body.len() as u64 {
                // RFC 3261 §18.3: a datagram shorter than its Content-Length is discarded by a
                // peer; exwatch records the head and counts the damage.
                self.summary.parse_errors += 1;
            } else {
                body = &body[..l as usize];
            }
        }
        let sdp = (m.head.is_sdp() && !body.is_empty()).then_some(body);
        self.summary.record(&m, sdp);
        if sdp.is_none() && !body.is_empty() {
            self.summary.bodies_skipped += 1;
        }
    }

    fn feed_dir(&mut self, dir: Direction, data: &[u8]) -> Verdict {
        let Self { dirs, summary } = self;
        let d = &mut dirs[dir.index()];
        let mut pos = 0usize;
        while !d.stopped {
            if d.skip > 0 {
                let n = d.skip.min((data.len() - pos) as u64);
                d.skip -= n;
                pos += n as usize;
            }
            if d.buf.is_empty() {
                if pos >= data.len() {
                    break;
                }
                match step(summary, &data[pos..], &mut d.flags) {
                    Step::Consumed(n) => pos += n,
                    Step::Skip { consumed, skip } => {
                        pos += consumed;
                        d.skip = skip;
                    }
                    Step::NeedMore(w) => {
                        d.buf.extend_from_slice(&data[pos..]);
                        d.wait = w;
                        break;
                    }
                    Step::Garbage(n) => {
                        pos += n;
                        d.garbage_bytes += n as u64;
                    }
                }
            } else {
                let take = (MAX_BUFFER_BYTES - d.buf.len().min(MAX_BUFFER_BYTES)).min(data.len() - pos);
                let old = d.buf.len();
                d.buf.extend_from_slice(&data[pos..pos + take]);
                pos += take;
                let worth = match d.wait {
                    Wait::Any => true,
                    // the empty line can only end in the new bytes: look from two bytes before
                    Wait::HeadEnd => {
                        d.buf.len() >= MAX_HEAD_BYTES || parser::head_end(&d.buf[old.saturating_sub(2)..]).is_some()
                    }
                    Wait::Len(n) => d.buf.len() >= n,
                };
                if !worth && pos >= data.len() {
                    break;
                }
                d.wait = Wait::Any;
                let stepped = step(summary, &d.buf, &mut d.flags);
                match stepped {
                    Step::Consumed(n) => {
                        d.buf.drain(..n);
                    }
                    Step::Skip { consumed, skip } => {
                        d.buf.drain(..consumed);
                        d.skip = skip;
                    }
                    Step::NeedMore(_) if take == 0 && pos < data.len() => {
                        // cannot happen by the limits above; drop a line rather than spin
                        let n = to_line_end(&d.buf);
                        d.buf.drain(..n);
                        summary.parse_errors += 1;
                    }
                    Step::NeedMore(w) => {
                        d.wait = w;
                        if pos >= data.len() {
                            break;
                        }
                    }
                    Step::Garbage(n) => {
                        d.buf.drain(..n);
                        d.garbage_bytes += n as u64;
                    }
                }
                // What is left came from this chunk alone: read it from the chunk again, so the
                // buffer never shifts one message at a time through a chunk full of them.
                if matches!(stepped, Step::Consumed(_) | Step::Garbage(_)) && d.buf.len() <= take {
                    pos -= d.buf.len();
                    d.buf.clear();
                }
            }
            if !d.flags.garbage {
                d.garbage_bytes = 0;
            } else if d.garbage_bytes > MAX_GARBAGE_BYTES {
                d.stopped = true;
                d.buf = Vec::new();
            }
        }
        if self.dirs.iter().all(|d| d.stopped) {
            Verdict::Stop
        } else {
            Verdict::Continue
        }
    }
}

impl StreamParser for SipState {
    fn feed(&mut self, dir: Direction, data: &[u8], _ts_ns: u64) -> Verdict {
        self.feed_dir(dir, data)
    }

    /// Missing bytes: inside a skipped body they only shorten the skip; otherwise the partial
    /// message is dropped and the direction looks for the next line that starts a message.
    fn gap(&mut self, dir: Direction, len: u64) {
        self.summary.gaps += 1;
        let d = &mut self.dirs[dir.index()];
        if d.skip >= len {
            d.skip -= len;
            return;
        }
        d.skip = 0;
        d.buf.clear();
        d.wait = Wait::Any;
        // the bytes after a gap are tried as a message start first (gaps tend to end on a
        // segment boundary), then skipped line by line
        d.flags = Flags {
            garbage: true,
            mid_line: false,
            crlf_run: false,
        };
    }
}
