//! LDAP (RFC 4511) over TCP and CLDAP (MS-ADTS §3.1.1.3.1.11) over UDP: probing, BER framing per
//! direction, and an owned per-flow [`LdapSummary`] (operations, binds without secrets, StartTLS,
//! searches with a short filter summary, SASL security-layer detection, the CLDAP "LDAP ping").
//!
//! Owns: [`probe_ldap`], [`LdapState`] (the [`StreamParser`]), [`LdapSummary`]. The BER reader
//! is in [`ber`] (why not `ldap-parser`: see there).

pub mod ber;
mod parser;
#[cfg(test)]
mod tests;

use super::{Direction, Probe, StreamParser, Verdict};
use ber::BerError;
pub use parser::{CldapPing, LdapBind, LdapExtended, LdapSearch, LdapSummary, NtlmFacts, STARTTLS_OID, result_name};

/// Largest LDAP PDU buffered per direction; larger ones are skipped by length and counted.
pub const MAX_PDU_BYTES: usize = 256 * 1024;
/// Bytes scanned for a plausible message start after a gap before giving up on a chunk.
pub const MAX_RESYNC_SCAN: usize = 64 * 1024;
/// Bytes held back after a gap while deciding whether they start a message (a probe needs 13).
const RESYNC_HOLD: usize = 16;

/// RFC 4511 §4.2: LDAPMessage ::= SEQUENCE { messageID MessageID, protocolOp CHOICE {...} }.
/// Cheap check of the first bytes: 0x30 + definite length, INTEGER messageID of 1-4 bytes,
/// then a known protocolOp application tag.
pub fn probe_ldap(data: &[u8]) -> Probe {
    let (tag, h, _len) = match ber::read_header(data) {
        Ok(v) => v,
        Err(BerError::Incomplete(_)) => return Probe::NeedMore,
        Err(BerError::Invalid) => return Probe::No,
    };
    if tag != 0x30 {
        return Probe::No;
    }
    let rest = data.get(h..).unwrap_or(&[]);
    match (rest.first(), rest.get(1)) {
        (None, _) | (Some(_), None) => Probe::NeedMore,
        (Some(&0x02), Some(&l)) if (1..=4).contains(&l) => {
            let op_at = 2 + l as usize;
            match rest.get(op_at) {
                None => Probe::NeedMore,
                Some(&op) if parser::op_name(op).is_some() => Probe::Yes,
                Some(_) => Probe::No,
            }
        }
        _ => Probe::No,
    }
}

/// Which way an LDAPMessage goes, by its protocolOp (RFC 4511 §4.2, the [APPLICATION n] tag
/// after the messageID): bind, unbind, search, modify, add, delete, modifyDN, compare, abandon
/// and extended requests (0, 2, 3, 6, 8, 10, 12, 14, 16, 23) come from the client; their
/// responses, search entries and references, and intermediate responses (1, 4, 5, 7, 9, 11,
/// 13, 15, 19, 24, 25) from the server.
pub fn sender(data: &[u8]) -> Option<Direction> {
    let (tag, h, _) = ber::read_header(data).ok()?;
    if tag != 0x30 {
        return None;
    }
    let rest = data.get(h..)?;
    let id_len = match rest {
        [0x02, l, ..] if (1..=4).contains(l) => *l as usize,
        _ => return None,
    };
    let op = *rest.get(2 + id_len)?;
    // class APPLICATION (0b01), primitive or constructed, low-tag-number form
    if op & 0xc0 != 0x40 {
        return None;
    }
    match op & 0x1f {
        0 | 2 | 3 | 6 | 8 | 10 | 12 | 14 | 16 | 23 => Some(Direction::ToServer),
        1 | 4 | 5 | 7 | 9 | 11 | 13 | 15 | 19 | 24 | 25 => Some(Direction::ToClient),
        _ => None,
    }
}

/// What the framer found at the head of a direction's bytes.
enum Frame {
    /// A whole PDU of `len` bytes; `wrapped` when it is a SASL security-layer buffer.
    Pdu { len: usize, wrapped: bool },
    /// Needs at least this many bytes in total (a header is incomplete when `None`).
    Need(Option<usize>),
    /// Not LDAP at this position.
    Bad,
}

/// Per-direction stream state.
#[derive(Debug, Default)]
struct Dir {
    buf: Vec<u8>,
    /// Bytes still to skip of an oversize PDU.
    skip: u64,
    /// After a gap: looking for a plausible message start.
    resync: bool,
    stopped: bool,
}

/// The per-flow LDAP state machine.
#[derive(Debug, Default)]
pub struct LdapState {
    dirs: [Dir; 2],
    summary: LdapSummary,
    ctx: parser::Ctx,
}

impl LdapState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn summary(&self) -> &LdapSummary {
        &self.summary
    }

    /// CLDAP: one datagram holds one or more LDAPMessages.
    pub fn datagram(&mut self, dir: Direction, data: &[u8]) {
        self.summary.cldap = true;
        let mut rest = data;
        while !rest.is_empty() {
            match ber::read_tlv(rest) {
                Ok((t, r)) if t.tag == 0x30 => {
                    let len = rest.len() - r.len();
                    let pdu = rest.get(..len).unwrap_or(&[]);
                    parser::process_pdu(&mut self.summary, &mut self.ctx, dir, pdu);
                    rest = r;
                }
                _ => {
                    self.summary.parse_errors += 1;
                    return;
                }
            }
        }
    }

    fn frame(&self, b: &[u8]) -> Frame {
        if self.ctx.sasl_layer && b.first().is_some_and(|&x| x != 0x30) {
            // RFC 4422 §3.7 / RFC 4752: a security-layer buffer is a 4-byte big-endian length
            // and the wrapped token.
            let Some(l) = b.get(..4) else { return Frame::Need(None) };
            let len = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
            return Frame::Pdu {
                len: len.saturating_add(4),
                wrapped: true,
            };
        }
        // Anything but a SEQUENCE is decided on its first byte, so a resync never swallows the
        // start of the next message into a doomed partial frame.
        if b.first().is_some_and(|&x| x != 0x30) {
            return Frame::Bad;
        }
        match ber::read_header(b) {
            Ok((0x30, h, len)) => Frame::Pdu {
                len: h.saturating_add(len),
                wrapped: false,
            },
            Ok(_) | Err(BerError::Invalid) => Frame::Bad,
            Err(BerError::Incomplete(n)) => Frame::Need(n),
        }
    }

    /// Handle one complete PDU; returns true when StartTLS was accepted.
    fn handle(&mut self, dir: Direction, pdu: &[u8], wrapped: bool) -> bool {
        if wrapped {
            self.summary.sasl_wrapped_pdus += 1;
            self.summary.sealed = true;
            return false;
        }
        parser::process_pdu(&mut self.summary, &mut self.ctx, dir, pdu)
    }

    fn feed_dir(&mut self, dir: Direction, data: &[u8]) -> Verdict {
        let di = dir.index();
        let mut pos = 0usize;
        loop {
            if self.dirs[di].stopped {
                return Verdict::Continue;
            }
            let d = &mut self.dirs[di];
            if d.skip > 0 {
                let n = (d.skip.min((data.len() - pos) as u64)) as usize;
                d.skip -= n as u64;
                pos += n;
            }
            if pos >= data.len() {
                return Verdict::Continue;
            }
            if d.resync {
                if !d.buf.is_empty() {
                    // a candidate start held back from the previous feed: complete it and re-probe
                    let take = RESYNC_HOLD.saturating_sub(d.buf.len()).min(data.len() - pos);
                    d.buf.extend_from_slice(&data[pos..pos + take]);
                    pos += take;
                    match (0..d.buf.len()).find(|&o| probe_ldap(&d.buf[o..]) != Probe::No) {
                        Some(o) if probe_ldap(&d.buf[o..]) == Probe::Yes => {
                            d.buf.drain(..o);
                            d.resync = false;
                        }
                        Some(o) => {
                            d.buf.drain(..o);
                            if take == 0 && o == 0 {
                                return Verdict::Continue;
                            }
                        }
                        None => d.buf.clear(),
                    }
                    continue;
                }
                let window = &data[pos..data.len().min(pos + MAX_RESYNC_SCAN)];
                match (0..window.len()).find(|&o| probe_ldap(&window[o..]) != Probe::No) {
                    Some(o) if probe_ldap(&window[o..]) == Probe::Yes => {
                        pos += o;
                        d.resync = false;
                    }
                    Some(o) => {
                        // too few bytes left to tell: hold them (fewer than RESYNC_HOLD)
                        d.buf.extend_from_slice(&window[o..]);
                        pos += window.len();
                    }
                    None => pos += window.len(),
                }
                continue;
            }
            if !self.dirs[di].buf.is_empty() {
                // complete the buffered PDU (or its header) from `data`
                let need = match self.frame(&self.dirs[di].buf) {
                    Frame::Pdu { len, .. } => len,
                    Frame::Need(Some(n)) => n,
                    Frame::Need(None) => self.dirs[di].buf.len() + 1,
                    Frame::Bad => {
                        // Rescan the buffered bytes after this one: after a resync hold-back
                        // they may hold the next message's start.
                        self.summary.parse_errors += 1;
                        self.dirs[di].buf.drain(..1);
                        self.dirs[di].resync = true;
                        continue;
                    }
                };
                if need > MAX_PDU_BYTES {
                    let have = self.dirs[di].buf.len();
                    self.dirs[di].buf.clear();
                    self.dirs[di].skip = (need - have) as u64;
                    self.summary.oversize_pdus += 1;
                    continue;
                }
                let take = need.saturating_sub(self.dirs[di].buf.len()).min(data.len() - pos);
                self.dirs[di].buf.extend_from_slice(&data[pos..pos + take]);
                pos += take;
                if let Frame::Pdu { len, wrapped } = self.frame(&self.dirs[di].buf)
                    && self.dirs[di].buf.len() >= len
                {
                    // The buffer can hold more than one PDU only after a resync hold-back; the
                    // rest stays buffered for the next round.
                    let mut buf = std::mem::take(&mut self.dirs[di].buf);
                    let tls = self.handle(dir, &buf[..len], wrapped);
                    buf.drain(..len);
                    let left = buf.len();
                    self.dirs[di].buf = buf;
                    if tls {
                        return Verdict::StartTls {
                            at: pos.saturating_sub(left),
                        };
                    }
                }
                continue;
            }
            let rest = &data[pos..];
            match self.frame(rest) {
                Frame::Pdu { len, wrapped } if len <= rest.len() => {
                    pos += len;
                    if self.handle(dir, &rest[..len], wrapped) {
                        return Verdict::StartTls { at: pos };
                    }
                }
                Frame::Pdu { len, .. } if len > MAX_PDU_BYTES => {
                    self.summary.oversize_pdus += 1;
                    self.dirs[di].skip = (len - rest.len()) as u64;
                    return Verdict::Continue;
                }
                Frame::Pdu { .. } | Frame::Need(_) => {
                    self.dirs[di].buf.extend_from_slice(rest);
                    return Verdict::Continue;
                }
                Frame::Bad => {
                    self.summary.parse_errors += 1;
                    self.dirs[di].resync = true;
                }
            }
        }
    }
}

impl StreamParser for LdapState {
    fn feed(&mut self, dir: Direction, data: &[u8], _ts_ns: u64) -> Verdict {
        self.feed_dir(dir, data)
    }

    /// Missing bytes: drop the partial PDU and look for the next plausible message start.
    fn gap(&mut self, dir: Direction, len: u64) {
        let d = &mut self.dirs[dir.index()];
        self.summary.gaps += 1;
        if d.skip >= len {
            d.skip -= len;
            return;
        }
        d.skip = 0;
        d.buf.clear();
        d.resync = true;
    }
}
