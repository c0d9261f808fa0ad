//! Connection-oriented DCE/RPC (C706 ch. 12, MS-RPCE): probing, per-direction framing by
//! `frag_length`, binds and their answers (interfaces, transfer syntaxes, per-context results),
//! requests/responses by context and opnum, faults, the security trailer (auth type and level,
//! NTLMSSP names via [`super::ntlmssp`]), and the endpoint mapper's towers (ept_map and
//! ept_lookup) as a list of [`EpmEndpoint`]s.
//!
//! Owns: [`probe_dcerpc`], [`DcerpcState`] (the [`StreamParser`]), [`DcerpcSummary`]. The
//! pure readers are in [`parser`]; the interface table in [`interfaces`].
//!
//! Fragmented calls (C706 §12.6.3.1 PFC_FIRST_FRAG / PFC_LAST_FRAG) are counted for every
//! interface; their stub is reassembled (up to [`MAX_STUB_BYTES`]) only where it is decoded:
//! endpoint-mapper calls without packet privacy.

pub mod interfaces;
pub mod parser;
mod summary;
#[cfg(test)]
mod tests;

use super::{Direction, Probe, StreamParser, Verdict, ntlmssp};
use parser::{
    AUTH_LEVEL_INTEGRITY, AUTH_LEVEL_PRIVACY, AUTH_NTLMSSP, AUTH_SPNEGO, Error, HEADER_LEN, Header, Pdu, ptype,
};
pub use parser::{EpmOp, SyntaxId, Uuid};
pub use summary::*;

/// Largest PDU buffered per direction: frag_length is a u16, so every PDU fits.
pub const MAX_PDU_BYTES: usize = u16::MAX as usize;
/// Most stub bytes reassembled for one fragmented call.
pub const MAX_STUB_BYTES: usize = 64 * 1024;
/// Bytes scanned for a plausible header after a gap or garbage before giving up on a chunk.
pub const MAX_RESYNC_SCAN: usize = 64 * 1024;
/// Presentation contexts remembered per connection (context id -> interface).
pub const MAX_CONTEXTS: usize = 64;
/// Requests remembered while waiting for their response (call id -> context, opnum).
pub const MAX_PENDING_CALLS: usize = 64;

/// C706 §12.6.3.1: version 5, minor 0 or 1, a connection-oriented PTYPE, a sane data
/// representation (integer and character nibbles 0/1, float format 0-3) and a frag_length that
/// holds the header and the auth trailer.
/// Which way a connection-oriented PDU goes, by its PTYPE (C706 §12.6.4.1, octet 2 of the
/// common header; MS-RPCE §2.2.2.1): request, bind, alter_context, auth3, co_cancel and
/// orphaned come from the client; response, fault, bind_ack, bind_nak, alter_context_resp and
/// shutdown from the server.
pub fn sender(data: &[u8]) -> Option<Direction> {
    match data.get(2)? {
        0 | 11 | 14 | 16 | 18 | 19 => Some(Direction::ToServer),
        2 | 3 | 12 | 13 | 15 | 17 => Some(Direction::ToClient),
        _ => None,
    }
}

pub fn probe_dcerpc(data: &[u8]) -> Probe {
    type ByteCheck = fn(u8) -> bool;
    let checks: [(usize, ByteCheck); 5] = [
        (0, |v| v == 5),
        (1, |v| v <= 1),
        (2, parser::is_co_ptype),
        (4, |d| d & 0xee == 0),
        (5, |d| d <= 3),
    ];
    for (i, ok) in checks {
        match data.get(i) {
            None => return Probe::NeedMore,
            Some(&v) if !ok(v) => return Probe::No,
            Some(_) => {}
        }
    }
    match parser::parse_header(data) {
        Ok(_) => Probe::Yes,
        Err(Error::Incomplete(_)) => Probe::NeedMore,
        Err(Error::Invalid) => Probe::No,
    }
}

/// A fragmented call being put together.
#[derive(Debug, Default)]
struct Reasm {
    call_id: u32,
    /// Keep the stub (decoded later) or only count fragments.
    keep: bool,
    stub: Vec<u8>,
    frags: u64,
    overflow: bool,
}

/// Per-direction stream state.
#[derive(Debug, Default)]
struct Dir {
    buf: Vec<u8>,
    resync: bool,
    reasm: Option<Reasm>,
}

/// The per-flow DCE/RPC state machine.
#[derive(Debug, Default)]
pub struct DcerpcState {
    dirs: [Dir; 2],
    /// context id -> interface, from binds; the bool: NDR64 was accepted for it.
    contexts: Vec<(u16, SyntaxId, bool)>,
    /// call id -> (context, opnum) of requests awaiting a response.
    pending: Vec<(u32, u16, u16)>,
    /// Index into `summary.binds` of the bind / alter_context awaiting its answer, and its call id.
    open_bind: Option<(u32, usize)>,
    summary: DcerpcSummary,
}

impl DcerpcState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn summary(&self) -> &DcerpcSummary {
        &self.summary
    }

    fn interface_of(&self, ctx: u16) -> Option<SyntaxId> {
        self.contexts.iter().find(|(c, ..)| *c == ctx).map(|&(_, s, _)| s)
    }

    fn is_ndr64(&self, ctx: u16) -> bool {
        self.contexts.iter().any(|&(c, _, n)| c == ctx && n)
    }

    fn is_epm(&self, ctx: u16) -> bool {
        self.interface_of(ctx).is_some_and(|s| s.uuid == interfaces::EPM)
    }

    /// The frag_length of a header at the head of `b`, or what is missing.
    fn frame(b: &[u8]) -> Result<usize, Error> {
        if probe_dcerpc(b) == Probe::No {
            return Err(Error::Invalid);
        }
        parser::parse_header(b).map(|h| h.frag_length as usize)
    }

    fn feed_dir(&mut self, dir: Direction, data: &[u8]) {
        let di = dir.index();
        let mut pos = 0usize;
        while pos < data.len() {
            if self.dirs[di].resync {
                let d = &mut self.dirs[di];
                if !d.buf.is_empty() {
                    // A held-back tail (< HEADER_LEN bytes): does a header start in it?
                    let held = d.buf.len();
                    let mut tmp = [0u8; 2 * HEADER_LEN];
                    tmp[..held].copy_from_slice(&d.buf);
                    let more = (data.len() - pos).min(HEADER_LEN);
                    tmp[held..held + more].copy_from_slice(&data[pos..pos + more]);
                    let n = held + more;
                    match (0..held).find(|&o| probe_dcerpc(&tmp[o..n]) != Probe::No) {
                        Some(o) if probe_dcerpc(&tmp[o..n]) == Probe::Yes => {
                            d.buf.drain(..o);
                            d.resync = false;
                        }
                        Some(o) if n - o < HEADER_LEN => {
                            // still too short to tell: keep holding
                            d.buf.drain(..o);
                            d.buf.extend_from_slice(&data[pos..pos + more]);
                            pos += more;
                            if d.buf.len() >= HEADER_LEN {
                                d.buf.clear();
                            }
                        }
                        _ => d.buf.clear(),
                    }
                    continue;
                }
                let window = &data[pos..data.len().min(pos + MAX_RESYNC_SCAN)];
                match (0..window.len()).find(|&o| probe_dcerpc(&window[o..]) != Probe::No) {
                    Some(o) if probe_dcerpc(&window[o..]) == Probe::Yes => {
                        pos += o;
                        d.resync = false;
                    }
                    Some(o) => {
                        d.buf.extend_from_slice(&window[o..]);
                        pos += window.len();
                    }
                    None => pos += window.len(),
                }
                continue;
            }
            if !self.dirs[di].buf.is_empty() {
                let need = match Self::frame(&self.dirs[di].buf) {
                    Ok(n) => n,
                    Err(Error::Incomplete(n)) => n,
                    Err(Error::Invalid) => {
                        self.summary.parse_errors += 1;
                        let d = &mut self.dirs[di];
                        d.buf.drain(..1);
                        d.resync = true;
                        continue;
                    }
                };
                let have = self.dirs[di].buf.len();
                let take = need.saturating_sub(have).min(data.len() - pos);
                self.dirs[di].buf.extend_from_slice(&data[pos..pos + take]);
                pos += take;
                match Self::frame(&self.dirs[di].buf) {
                    Ok(n) if self.dirs[di].buf.len() >= n => {
                        let mut buf = std::mem::take(&mut self.dirs[di].buf);
                        self.pdu(dir, &buf[..n]);
                        buf.clear();
                        // keep the allocation for the next partial PDU
                        self.dirs[di].buf = buf;
                    }
                    Err(Error::Invalid) => {
                        // decided now, as it would be with the bytes in one chunk
                        self.summary.parse_errors += 1;
                        let d = &mut self.dirs[di];
                        d.buf.drain(..1);
                        d.resync = true;
                    }
                    _ => {}
                }
                continue;
            }
            let rest = &data[pos..];
            match Self::frame(rest) {
                Ok(n) if n <= rest.len() => {
                    self.pdu(dir, &rest[..n]);
                    pos += n;
                }
                Ok(_) | Err(Error::Incomplete(_)) => {
                    self.dirs[di].buf.extend_from_slice(rest);
                    return;
                }
                Err(Error::Invalid) => {
                    self.summary.parse_errors += 1;
                    self.dirs[di].resync = true;
                    pos += 1;
                }
            }
        }
    }

    /// One whole PDU.
    fn pdu(&mut self, dir: Direction, raw: &[u8]) {
        let Ok(p) = parser::parse_pdu(raw) else {
            self.summary.parse_errors += 1;
            return;
        };
        let t = p.hdr.ptype;
        match self.summary.pdu_counts.get_mut(t as usize) {
            Some(c) => *c += 1,
            None => self.summary.unknown_ptypes += 1,
        }
        if let Some(a) = p.auth {
            self.count_auth(a.auth_type, a.auth_level);
            if matches!(
                t,
                ptype::BIND | ptype::BIND_ACK | ptype::ALTER_CONTEXT | ptype::ALTER_CONTEXT_RESP | ptype::AUTH3
            ) {
                self.auth_token(a.auth_type, a.value);
            }
        }
        let le = p.hdr.little_endian();
        let ok = match t {
            ptype::BIND | ptype::ALTER_CONTEXT => self.bind(&p),
            ptype::BIND_ACK | ptype::ALTER_CONTEXT_RESP => self.bind_ack(&p),
            ptype::BIND_NAK => self.bind_nak(&p),
            ptype::REQUEST => self.request(dir, &p),
            ptype::RESPONSE => self.response(dir, &p),
            ptype::FAULT => match parser::parse_fault(p.body, le) {
                Ok((_, status)) => {
                    self.summary.fault_count += 1;
                    if let Some(i) = self.pending.iter().position(|x| x.0 == p.hdr.call_id) {
                        let (_, ctx, op) = self.pending.swap_remove(i);
                        if let Some(k) = self.call_kind(ctx, op) {
                            k.faults += 1;
                        }
                    }
                    if !self.summary.faults.contains(&status) {
                        push_capped(&mut self.summary.faults, MAX_FAULTS, status, &mut self.summary.dropped);
                    }
                    true
                }
                Err(_) => false,
            },
            // auth3 (MS-RPCE §2.2.2.10), shutdown, co_cancel, orphaned: counted; nothing more.
            _ => true,
        };
        if !ok {
            self.summary.parse_errors += 1;
        }
    }

    fn count_auth(&mut self, auth_type: u8, level: u8) {
        let s = &mut self.summary;
        s.authenticated_pdus += 1;
        if level == AUTH_LEVEL_INTEGRITY {
            s.integrity_pdus += 1;
        }
        if level == AUTH_LEVEL_PRIVACY {
            s.privacy_pdus += 1;
        }
        s.lowest_auth_level = Some(s.lowest_auth_level.map_or(level, |l| l.min(level)));
        s.highest_auth_level = Some(s.highest_auth_level.map_or(level, |l| l.max(level)));
        match s
            .auth
            .iter_mut()
            .find(|k| k.auth_type == auth_type && k.auth_level == level)
        {
            Some(k) => k.pdus += 1,
            None => {
                let k = AuthKind {
                    auth_type,
                    auth_level: level,
                    pdus: 1,
                };
                push_capped(&mut s.auth, MAX_AUTH_KINDS, k, &mut s.dropped);
            }
        }
    }

    /// NTLMSSP (directly, or found inside a SPNEGO token) and SPNEGO's Kerberos mechanism.
    fn auth_token(&mut self, auth_type: u8, value: &[u8]) {
        let s = &mut self.summary;
        let msg = match auth_type {
            AUTH_NTLMSSP => ntlmssp::parse(value),
            AUTH_SPNEGO => {
                let m = ntlmssp::find(value);
                let mech = if m.is_some() {
                    Some("ntlmssp")
                } else if contains_krb5_oid(value) {
                    Some("kerberos")
                } else {
                    None
                };
                if let Some(mech) = mech
                    && !s.spnego_mechs.contains(&mech)
                {
                    s.spnego_mechs.push(mech);
                }
                m
            }
            _ => None,
        };
        let Some(m) = msg else { return };
        let n = &mut s.ntlm;
        let code = match m.kind {
            ntlmssp::MessageType::Negotiate => 1,
            ntlmssp::MessageType::Challenge => 2,
            ntlmssp::MessageType::Authenticate => 3,
            ntlmssp::MessageType::Other(x) => x.min(255) as u8,
        };
        push_capped(&mut n.message_types, MAX_NTLM_MESSAGES, code, &mut s.dropped);
        n.sign |= m.signs();
        n.seal |= m.seals();
        if m.kind == ntlmssp::MessageType::Authenticate {
            let name = |raw: &[u8]| {
                let mut out = String::new();
                m.decode_name(raw, &mut out, MAX_NAME_BYTES);
                out
            };
            n.domain = Some(name(m.domain));
            n.user = Some(name(m.user));
            n.workstation = Some(name(m.workstation));
            n.anonymous = m.anonymous();
        }
    }

    fn bind(&mut self, p: &Pdu<'_>) -> bool {
        let Ok(b) = parser::parse_bind(p.body, p.hdr.little_endian()) else {
            return false;
        };
        let mut info = BindInfo {
            kind: if p.hdr.ptype == ptype::BIND {
                "bind"
            } else {
                "alter_context"
            },
            call_id: p.hdr.call_id,
            contexts: Vec::new(),
            auth: p.auth.map(|a| (a.auth_type, a.auth_level)),
            answer: None,
            sec_addr: None,
            nak_reason: None,
        };
        let want = b.n_context_elem as usize;
        let mut seen = 0;
        for e in b {
            seen += 1;
            if let Some(c) = self.contexts.iter_mut().find(|(c, ..)| *c == e.p_cont_id) {
                *c = (e.p_cont_id, e.abstract_syntax, false);
            } else {
                push_capped(
                    &mut self.contexts,
                    MAX_CONTEXTS,
                    (e.p_cont_id, e.abstract_syntax, false),
                    &mut self.summary.dropped,
                );
            }
            let mut ts = Vec::new();
            for t in e.transfer_syntaxes() {
                push_capped(&mut ts, MAX_TRANSFER_SYNTAXES, t, &mut self.summary.dropped);
            }
            let c = BindContext {
                ctx_id: e.p_cont_id,
                interface: e.abstract_syntax,
                name: interfaces::interface_name(&e.abstract_syntax.uuid),
                transfer_syntaxes: ts,
                ack: None,
            };
            push_capped(&mut info.contexts, MAX_CONTEXTS_PER_BIND, c, &mut self.summary.dropped);
        }
        let s = &mut self.summary;
        if push_capped(&mut s.binds, MAX_BINDS, info, &mut s.dropped) {
            self.open_bind = Some((p.hdr.call_id, s.binds.len() - 1));
        } else {
            self.open_bind = None;
        }
        seen == want
    }

    fn bind_ack(&mut self, p: &Pdu<'_>) -> bool {
        let Ok(a) = parser::parse_bind_ack(p.body, p.hdr.little_endian()) else {
            return false;
        };
        let want = a.n_results as usize;
        let sec = trim_nul(a.sec_addr);
        let target = match self.open_bind {
            Some((call, i)) if call == p.hdr.call_id => self.summary.binds.get_mut(i),
            _ => None,
        };
        let mut seen = 0;
        if let Some(b) = target {
            b.answer = parser::ptype_name(p.hdr.ptype);
            if !sec.is_empty() {
                b.sec_addr = Some(text(sec));
            }
            for (i, r) in a.enumerate() {
                seen += 1;
                if let Some(c) = b.contexts.get_mut(i) {
                    c.ack = Some((r.result, r.reason, r.transfer_syntax));
                    if r.result == 0
                        && r.transfer_syntax.uuid == interfaces::NDR64
                        && let Some(k) = self.contexts.iter_mut().find(|(id, ..)| *id == c.ctx_id)
                    {
                        k.2 = true;
                    }
                }
            }
            self.open_bind = None;
        } else {
            seen = a.count();
        }
        seen == want
    }

    fn bind_nak(&mut self, p: &Pdu<'_>) -> bool {
        let Ok(reason) = parser::parse_bind_nak(p.body, p.hdr.little_endian()) else {
            return false;
        };
        if let Some((call, i)) = self.open_bind
            && call == p.hdr.call_id
            && let Some(b) = self.summary.binds.get_mut(i)
        {
            b.answer = Some("bind_nak");
            b.nak_reason = Some(reason);
            self.open_bind = None;
        }
        true
    }

    fn call_kind(&mut self, ctx_id: u16, opnum: u16) -> Option<&mut CallKind> {
        let iface = self.interface_of(ctx_id);
        let s = &mut self.summary;
        let i = match s.calls.iter().position(|k| k.ctx_id == ctx_id && k.opnum == opnum) {
            Some(i) => i,
            None => {
                let k = CallKind {
                    ctx_id,
                    interface: iface,
                    name: iface.and_then(|i| interfaces::interface_name(&i.uuid)),
                    opnum,
                    requests: 0,
                    responses: 0,
                    faults: 0,
                };
                if !push_capped(&mut s.calls, MAX_CALL_KINDS, k, &mut s.dropped) {
                    return None;
                }
                s.calls.len() - 1
            }
        };
        s.calls.get_mut(i)
    }

    /// Adds one fragment to the direction's reassembly; returns the whole stub when the call
    /// is complete and its stub was kept.
    fn fragment(&mut self, dir: Direction, hdr: &Header, stub: &[u8], keep: bool) -> Option<Vec<u8>> {
        let d = &mut self.dirs[dir.index()];
        if hdr.first_frag() {
            d.reasm = Some(Reasm {
                call_id: hdr.call_id,
                keep,
                ..Reasm::default()
            });
        }
        let r = d.reasm.as_mut().filter(|r| r.call_id == hdr.call_id)?;
        r.frags += 1;
        if r.keep && !r.overflow {
            if r.stub.len() + stub.len() > MAX_STUB_BYTES {
                r.overflow = true;
                r.stub = Vec::new();
            } else {
                r.stub.extend_from_slice(stub);
            }
        }
        if !hdr.last_frag() {
            return None;
        }
        let r = d.reasm.take()?;
        self.summary.fragmented_calls += 1;
        self.summary.fragments += r.frags;
        if r.overflow {
            self.summary.reassembly_overflows += 1;
        }
        (r.keep && !r.overflow).then_some(r.stub)
    }

    fn request(&mut self, dir: Direction, p: &Pdu<'_>) -> bool {
        let Ok(q) = parser::parse_request(p.body, &p.hdr) else {
            return false;
        };
        if p.auth.is_none() {
            self.summary.unauthenticated_calls += 1;
        }
        let h = &p.hdr;
        if h.first_frag() {
            if let Some(k) = self.call_kind(q.p_cont_id, q.opnum) {
                k.requests += 1;
            }
            if let Some(i) = self.pending.iter().position(|x| x.0 == h.call_id) {
                self.pending.swap_remove(i);
            }
            if self.pending.len() >= MAX_PENDING_CALLS {
                self.pending.remove(0);
            }
            self.pending.push((h.call_id, q.p_cont_id, q.opnum));
        }
        let readable = p.auth.is_none_or(|a| a.auth_level != AUTH_LEVEL_PRIVACY);
        let keep = readable && self.is_epm(q.p_cont_id) && q.opnum == 3;
        let le = h.little_endian();
        let ndr64 = self.is_ndr64(q.p_cont_id);
        if h.first_frag() && h.last_frag() {
            if keep {
                self.epm_request(q.stub, le, ndr64);
            }
        } else if let Some(stub) = self.fragment(dir, h, q.stub, keep) {
            self.epm_request(&stub, le, ndr64);
        }
        true
    }

    fn epm_request(&mut self, stub: &[u8], le: bool, ndr64: bool) {
        match parser::parse_ept_map_request(stub, le, ndr64) {
            Ok(t) => {
                if let Some(i) = t.interface {
                    let s = &mut self.summary;
                    push_capped(&mut s.epm_queries, MAX_EPM_QUERIES, i, &mut s.dropped);
                }
            }
            Err(_) => self.summary.epm_errors += 1,
        }
    }

    fn response(&mut self, dir: Direction, p: &Pdu<'_>) -> bool {
        let h = &p.hdr;
        let Ok(r) = parser::parse_response(p.body, h.little_endian()) else {
            return false;
        };
        if p.auth.is_none() {
            self.summary.unauthenticated_calls += 1;
        }
        let call = self
            .pending
            .iter()
            .position(|x| x.0 == h.call_id)
            .map(|i| self.pending[i]);
        let (ctx, opnum) = match call {
            Some((_, c, o)) => (c, Some(o)),
            None => (r.p_cont_id, None),
        };
        if h.last_frag()
            && let Some(i) = self.pending.iter().position(|x| x.0 == h.call_id)
        {
            self.pending.swap_remove(i);
        }
        if h.first_frag()
            && let Some(o) = opnum
            && let Some(k) = self.call_kind(ctx, o)
        {
            k.responses += 1;
        }
        let readable = p.auth.is_none_or(|a| a.auth_level != AUTH_LEVEL_PRIVACY);
        let op = match opnum {
            Some(2) => Some(EpmOp::Lookup),
            Some(3) => Some(EpmOp::Map),
            _ => None,
        };
        let keep = readable && self.is_epm(ctx) && op.is_some();
        let le = h.little_endian();
        let ndr64 = self.is_ndr64(ctx);
        if h.first_frag() && h.last_frag() {
            if let (true, Some(op)) = (keep, op) {
                self.epm_answer(op, r.stub, le, ndr64);
            }
        } else if let Some(stub) = self.fragment(dir, h, r.stub, keep)
            && let Some(op) = op
        {
            self.epm_answer(op, &stub, le, ndr64);
        }
        true
    }

    fn epm_answer(&mut self, op: EpmOp, stub: &[u8], le: bool, ndr64: bool) {
        let res = match op {
            EpmOp::Map => parser::parse_ept_map_response(stub, le, ndr64),
            EpmOp::Lookup => parser::parse_ept_lookup_response(stub, le, ndr64),
        };
        let Ok(ans) = res else {
            self.summary.epm_errors += 1;
            return;
        };
        let s = &mut self.summary;
        for e in ans.entries {
            let t = e.tower;
            let Some(iface) = t.interface else { continue };
            let port = t.tcp_port.or(t.udp_port).or(t.http_port);
            let pipe = t.pipe.or(t.lrpc).map(text);
            if port.is_none() && pipe.is_none() {
                continue;
            }
            let ep = EpmEndpoint {
                interface: iface.uuid,
                version: (iface.major, iface.minor),
                name: interfaces::interface_name(&iface.uuid),
                ip: t.ipv4.map(std::net::Ipv4Addr::from),
                port,
                pipe,
                transport: t.transport(),
                op: match op {
                    EpmOp::Map => "ept_map",
                    EpmOp::Lookup => "ept_lookup",
                },
                annotation: (!e.annotation.is_empty()).then(|| text(e.annotation)),
            };
            if !s.epm_endpoints.contains(&ep) {
                push_capped(&mut s.epm_endpoints, MAX_EPM_ENDPOINTS, ep, &mut s.dropped);
            }
        }
    }
}

/// GSS-API Kerberos v5 mechanism OIDs (RFC 1964 1.2.840.113554.1.2.2 and Microsoft's
/// 1.2.840.48018.1.2.2), DER-encoded without tag and length.
const KRB5_OIDS: [&[u8]; 2] = [
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02],
    &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02],
];

fn contains_krb5_oid(v: &[u8]) -> bool {
    KRB5_OIDS.iter().any(|o| v.windows(o.len()).any(|w| w == *o))
}

fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

/// Bytes as text, at most [`MAX_NAME_BYTES`], non-UTF-8 replaced.
fn text(b: &[u8]) -> String {
    let b = &b[..b.len().min(MAX_NAME_BYTES)];
    String::from_utf8_lossy(b).into_owned()
}

impl StreamParser for DcerpcState {
    fn feed(&mut self, dir: Direction, data: &[u8], _ts_ns: u64) -> Verdict {
        self.feed_dir(dir, data);
        Verdict::Continue
    }

    /// Missing bytes: drop the partial PDU and any call being reassembled in that direction,
    /// then look for the next plausible header.
    fn gap(&mut self, dir: Direction, _len: u64) {
        let d = &mut self.dirs[dir.index()];
        self.summary.gaps += 1;
        d.buf.clear();
        d.reasm = None;
        d.resync = true;
    }
}
