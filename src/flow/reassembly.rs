//! Per-direction TCP stream reassembly for the passive monitor.
//!
//! # What this module owns
//!
//! A [`StreamReassembler`] turns the TCP segments captured for **one
//! direction** of a connection into an ordered stream of [`Chunk`]s for the
//! application-protocol parsers:
//!
//! * [`Chunk::Data`] — contiguous, in-order payload bytes, each byte exactly
//!   once (retransmitted bytes are trimmed);
//! * [`Chunk::Gap`] — `n` bytes of the stream that were never captured and
//!   that the reassembler has given up waiting for.
//!
//! The sum of all `Data` lengths and `Gap` sizes emitted so far is always the
//! stream offset of the next expected byte, so a consumer can keep exact byte
//! positions even across holes. The reassembler never stalls: a hole is
//! skipped when a memory cap would otherwise be exceeded, when the peer
//! acknowledges bytes we never saw ([`StreamReassembler::on_peer_ack`]), and
//! when the flow ends ([`StreamReassembler::finish`]).
//!
//! In-order segments are passed to the sink straight from the caller's
//! payload slice (no copy, no allocation); only out-of-order data is copied.
//! A reassembler that never had to hold anything owns no heap memory.
//!
//! # Limits
//!
//! Out-of-order data is bounded by three caps, see [`ReassemblyLimits`]:
//!
//! * bytes held per direction ([`DEFAULT_MAX_OOO_BYTES_PER_DIR`]),
//! * held segments (pieces) per direction
//!   ([`DEFAULT_MAX_OOO_SEGMENTS_PER_DIR`]),
//! * bytes held by all flows of one worker thread
//!   ([`DEFAULT_MAX_OOO_BYTES_GLOBAL`]), accounted in an [`OooBudget`].
//!
//! The per-worker [`OooBudget`] also carries the per-direction limits, so the
//! reassembler itself needs no configuration and stays small (64 bytes).
//! When holding a new out-of-order segment would exceed any cap, the
//! reassembler gives up on its first hole: it emits a `Gap` up to the lowest
//! held byte (or up to the new segment, whichever comes first), delivers what
//! became contiguous, and retries. Hence the caps are never exceeded and no
//! input can make memory grow without bound.
//!
//! Segments starting more than 1 GiB ([`MAX_WINDOW`]) ahead of or behind the
//! next expected byte are garbage or belong to another incarnation of the
//! connection: they are counted in
//! [`StreamReassembler::out_of_window_segments`] and otherwise ignored, so
//! they can neither create huge gaps nor be held. Acknowledgements that far
//! ahead are ignored as well.
//!
//! # Overlap policy: first copy wins
//!
//! When segments overlap, the byte received **first** is the one delivered;
//! later copies of the same sequence range are discarded, whether the earlier
//! copy was already delivered or is still held out of order. A new segment
//! that partially overlaps held data only contributes the bytes not received
//! yet (it may be split into several held pieces). This is the `first`
//! policy of target-based reassembly (Snort's `stream_tcp` offers it, and
//! its IPS normalizer forces it; Suricata's `host-os-policy` has a `first`
//! choice too). We deliberately do not emulate an OS-specific policy (Linux,
//! BSD, Windows, ...): those differ only for conflicting overlaps, which
//! legitimate stacks never send, and they sometimes let a later copy win for
//! bytes queued out of order. "First" is deterministic, never re-delivers
//! or rewrites a byte, and needs no per-host configuration.
//!
//! A FIN is positioned by the first FIN received; a FIN that contradicts data
//! already delivered or held is ignored, and bytes after the FIN are dropped.
//!
//! # Sequence numbers
//!
//! TCP sequence numbers are 32-bit and wrap modulo 2^32 (RFC 9293 §3.4,
//! formerly RFC 793 §3.3). All arithmetic on them is wrapping, and the
//! distance of a sequence number from the next expected one is interpreted as
//! a signed 32-bit value (serial-number arithmetic as in RFC 1982), which is
//! unambiguous because a live window is far smaller than 2^31. Internally
//! every byte is addressed by a 64-bit stream offset (0 = first data byte,
//! i.e. ISN + 1 after a SYN, or the first sequence number seen when the flow
//! is picked up mid-stream), so ordering is correct across any number of
//! wraps. The SYN and the FIN each consume one sequence number but carry no
//! byte: they are never delivered and never counted as missing.
//!
//! # Caveats
//!
//! * Always end a reassembler with [`StreamReassembler::finish`] or
//!   [`StreamReassembler::discard`]: held bytes are charged to the shared
//!   [`OooBudget`], and dropping a reassembler that still holds data leaks
//!   that charge (the memory itself is freed).
//! * [`StreamReassembler::on_peer_ack`] trusts the ACK: if capture reorders
//!   the two directions so that an ACK is processed before the data it
//!   covers, those bytes are reported as a gap and the late data is counted
//!   as a retransmission. An ACK of a FIN that was never captured makes one
//!   phantom missing byte.

use std::collections::BTreeMap;
use std::fmt;

/// Default cap on out-of-order bytes held for one direction of one flow.
pub const DEFAULT_MAX_OOO_BYTES_PER_DIR: usize = 256 * 1024;
/// Default cap on out-of-order segments (pieces) held for one direction.
pub const DEFAULT_MAX_OOO_SEGMENTS_PER_DIR: usize = 64;
/// Default cap on out-of-order bytes held by all flows of one worker.
pub const DEFAULT_MAX_OOO_BYTES_GLOBAL: usize = 64 * 1024 * 1024;

/// Segments (and ACKs) further than this from the next expected byte are
/// treated as out of window: 1 GiB, a quarter of the sequence space.
pub const MAX_WINDOW: u64 = 1 << 30;

/// Memory limits for out-of-order data; the CLI may override the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Maximum bytes held out of order for one direction.
    pub max_ooo_bytes_per_dir: usize,
    /// Maximum number of held pieces for one direction.
    pub max_ooo_segments_per_dir: usize,
    /// Maximum bytes held out of order by all flows of one worker thread.
    pub max_ooo_bytes_global: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        Self {
            max_ooo_bytes_per_dir: DEFAULT_MAX_OOO_BYTES_PER_DIR,
            max_ooo_segments_per_dir: DEFAULT_MAX_OOO_SEGMENTS_PER_DIR,
            max_ooo_bytes_global: DEFAULT_MAX_OOO_BYTES_GLOBAL,
        }
    }
}

/// Out-of-order memory shared by all flows of one worker thread.
///
/// Tracks the bytes currently held out of order by every
/// [`StreamReassembler`] that uses it, and carries the [`ReassemblyLimits`]
/// (including the per-direction ones) those reassemblers enforce.
#[derive(Debug, Clone)]
pub struct OooBudget {
    used: usize,
    limits: ReassemblyLimits,
}

impl OooBudget {
    /// A budget of `max_bytes` held bytes, with default per-direction limits.
    pub fn new(max_bytes: usize) -> Self {
        Self::with_limits(ReassemblyLimits {
            max_ooo_bytes_global: max_bytes,
            ..ReassemblyLimits::default()
        })
    }

    /// A budget enforcing all of `limits`.
    pub fn with_limits(limits: ReassemblyLimits) -> Self {
        Self { used: 0, limits }
    }

    /// Bytes currently held out of order by all reassemblers of this budget.
    pub fn used(&self) -> usize {
        self.used
    }

    /// The global cap on held bytes.
    pub fn limit(&self) -> usize {
        self.limits.max_ooo_bytes_global
    }

    /// All limits enforced with this budget.
    pub fn limits(&self) -> &ReassemblyLimits {
        &self.limits
    }

    fn charge(&mut self, n: usize) {
        self.used += n;
    }

    fn release(&mut self, n: usize) {
        debug_assert!(n <= self.used, "OooBudget released more than charged");
        self.used = self.used.saturating_sub(n);
    }
}

impl Default for OooBudget {
    fn default() -> Self {
        Self::with_limits(ReassemblyLimits::default())
    }
}

/// What the reassembler hands to the consumer, in stream order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// Contiguous in-order bytes.
    Data(&'a [u8]),
    /// This many stream bytes were never captured and have been skipped.
    Gap(u64),
}

impl fmt::Debug for Chunk<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Chunk::Data(d) => write!(f, "Data({} bytes)", d.len()),
            Chunk::Gap(n) => write!(f, "Gap({n})"),
        }
    }
}

/// Out-of-order data of one direction; only allocated while something is
/// held. Pieces are keyed by stream offset, never overlap, and all start
/// after the next expected byte.
#[derive(Debug, Default)]
struct Held {
    segs: BTreeMap<u64, Box<[u8]>>,
    bytes: usize,
}

impl Held {
    /// Stream offset just past the last held byte (0 if nothing is held).
    fn end(&self) -> u64 {
        self.segs.last_key_value().map_or(0, |(&k, v)| k + v.len() as u64)
    }

    /// The first range `[start, stop)` within `[cur, end)` not covered by a
    /// held piece.
    fn first_uncovered(&self, mut cur: u64, end: u64) -> Option<(u64, u64)> {
        loop {
            if cur >= end {
                return None;
            }
            if let Some((&k, v)) = self.segs.range(..=cur).next_back()
                && k + v.len() as u64 > cur
            {
                cur = k + v.len() as u64;
                continue;
            }
            let stop = self.segs.range(cur..end).next().map_or(end, |(&k, _)| k);
            return Some((cur, stop));
        }
    }
}

/// Outcome of trying to hold an out-of-order segment.
enum Hold {
    /// At least one new byte is now held.
    Stored,
    /// Every byte was already held (first copy wins): nothing to do.
    Duplicate,
    /// Holding it would exceed a cap.
    NoRoom,
}

const STARTED: u8 = 1;
const FIN_KNOWN: u8 = 2;
const CLOSED: u8 = 4;

/// Reassembles one direction of one TCP connection. See the module docs.
///
/// Allocates nothing until an out-of-order segment has to be held, and frees
/// its heap memory as soon as nothing is held any more.
#[derive(Debug, Default)]
pub struct StreamReassembler {
    /// Out-of-order pieces; `None` while nothing is held.
    held: Option<Box<Held>>,
    /// Sum of `Data` bytes emitted.
    delivered: u64,
    /// Sum of `Gap` bytes emitted.
    missing: u64,
    /// Stream offset of the FIN (valid if `FIN_KNOWN`).
    fin_off: u64,
    retransmitted: u64,
    ooo: u64,
    out_of_window: u64,
    /// Sequence number of the next expected byte (valid if `STARTED`); its
    /// stream offset is `delivered + missing`.
    next_seq: u32,
    flags: u8,
}

impl StreamReassembler {
    /// A reassembler that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// SYN seen in this direction with sequence number `isn`: the first data
    /// byte is `isn + 1`. Ignored once the stream has started (a SYN with a
    /// different ISN is a matter for the flow table: port reuse).
    pub fn on_syn(&mut self, isn: u32) {
        if self.flags & (STARTED | CLOSED) != 0 {
            return;
        }
        self.next_seq = isn.wrapping_add(1);
        self.flags |= STARTED;
    }

    /// A segment with sequence number `seq`, `payload`, and the FIN flag.
    ///
    /// Without a prior SYN the first segment starts the stream at `seq`
    /// (mid-stream pick-up). In-order bytes go to `sink` straight from
    /// `payload`, followed by held data that became contiguous; old bytes are
    /// trimmed (a segment with nothing new counts as a retransmission);
    /// out-of-order bytes are copied and held within the caps, otherwise the
    /// first hole is skipped (see the module docs). Segments more than
    /// [`MAX_WINDOW`] away are counted as out of window and ignored.
    /// Ignored after [`finish`](Self::finish).
    pub fn on_segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        fin: bool,
        budget: &mut OooBudget,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) {
        if self.flags & CLOSED != 0 {
            return;
        }
        if self.flags & STARTED == 0 {
            self.next_seq = seq;
            self.flags |= STARTED;
        }
        // Signed distance from the next expected byte (RFC 1982 style).
        let d = seq.wrapping_sub(self.next_seq) as i32;
        if u64::from(d.unsigned_abs()) > MAX_WINDOW {
            self.out_of_window += 1;
            return;
        }
        if fin {
            // The FIN sits right after the payload.
            self.note_fin(i64::from(d).saturating_add(payload.len() as i64));
        }
        let next_off = self.next_off();
        let (off, data) = if d < 0 {
            let behind = d.unsigned_abs() as usize;
            if behind >= payload.len() {
                if !payload.is_empty() {
                    self.retransmitted += 1;
                }
                return;
            }
            (next_off, &payload[behind..])
        } else {
            (next_off + d as u64, payload)
        };
        // Nothing exists after the FIN.
        let data = if self.flags & FIN_KNOWN != 0 {
            let room = self.fin_off.saturating_sub(off);
            &data[..data.len().min(usize::try_from(room).unwrap_or(usize::MAX))]
        } else {
            data
        };
        if data.is_empty() {
            return;
        }
        self.place(off, data, budget, sink);
    }

    /// The other direction acknowledged `ack`. Bytes acknowledged but never
    /// captured are skipped: a `Gap` up to the acknowledged byte or the next
    /// held byte, whichever comes first, then held data that became
    /// contiguous is delivered, repeatedly until `ack` is reached. An ACK
    /// covering the FIN does not count the FIN as missing. ACKs behind the
    /// next expected byte or more than [`MAX_WINDOW`] ahead are ignored, as
    /// are ACKs before the stream started.
    pub fn on_peer_ack(&mut self, ack: u32, budget: &mut OooBudget, sink: &mut dyn FnMut(Chunk<'_>)) {
        if self.flags & STARTED == 0 || self.flags & CLOSED != 0 {
            return;
        }
        let d = ack.wrapping_sub(self.next_seq) as i32;
        if d <= 0 || d as u64 > MAX_WINDOW {
            return;
        }
        let mut ack_off = self.next_off() + d as u64;
        if self.flags & FIN_KNOWN != 0 {
            ack_off = ack_off.min(self.fin_off);
        }
        while self.next_off() < ack_off {
            let target = self.lowest_held().map_or(ack_off, |l| l.min(ack_off));
            self.skip_to(target, sink);
            self.deliver_contiguous(budget, sink);
        }
    }

    /// The flow ended: deliver everything still held in stream order with a
    /// `Gap` for each hole (including a trailing hole before a known FIN),
    /// release the budget and free memory. Later input is ignored.
    pub fn finish(&mut self, budget: &mut OooBudget, sink: &mut dyn FnMut(Chunk<'_>)) {
        if self.flags & CLOSED != 0 {
            return;
        }
        loop {
            self.deliver_contiguous(budget, sink);
            match self.lowest_held() {
                Some(l) => self.skip_to(l, sink),
                None => break,
            }
        }
        if self.flags & FIN_KNOWN != 0 {
            self.skip_to(self.fin_off, sink);
        }
        self.held = None;
        self.flags |= CLOSED;
    }

    /// The flow is dropped without delivering held data: release the budget
    /// and free memory. Later input is ignored.
    pub fn discard(&mut self, budget: &mut OooBudget) {
        if let Some(h) = self.held.take() {
            budget.release(h.bytes);
        }
        self.flags |= CLOSED;
    }

    /// Sum of all gaps emitted.
    pub fn missing_bytes(&self) -> u64 {
        self.missing
    }

    /// Sum of all `Data` bytes emitted.
    pub fn delivered_bytes(&self) -> u64 {
        self.delivered
    }

    /// Segments that carried no new byte (all already delivered or held).
    pub fn retransmitted_segments(&self) -> u64 {
        self.retransmitted
    }

    /// Segments that had to be held out of order.
    pub fn ooo_segments(&self) -> u64 {
        self.ooo
    }

    /// Segments ignored because they were more than [`MAX_WINDOW`] away.
    pub fn out_of_window_segments(&self) -> u64 {
        self.out_of_window
    }

    /// Bytes currently held out of order.
    pub fn held_bytes(&self) -> usize {
        self.held.as_ref().map_or(0, |h| h.bytes)
    }

    /// Pieces currently held out of order.
    pub fn held_segments(&self) -> usize {
        self.held.as_ref().map_or(0, |h| h.segs.len())
    }

    /// Whether a SYN or a segment has started the stream.
    pub fn is_started(&self) -> bool {
        self.flags & STARTED != 0
    }

    /// Whether the FIN has been reached (every byte before it was delivered
    /// or counted as missing).
    pub fn is_complete(&self) -> bool {
        self.flags & FIN_KNOWN != 0 && self.next_off() == self.fin_off
    }

    /// Sequence number of the next expected byte, once started.
    pub fn next_seq(&self) -> Option<u32> {
        self.is_started().then_some(self.next_seq)
    }

    /// Stream offset of the next expected byte.
    fn next_off(&self) -> u64 {
        self.delivered + self.missing
    }

    fn lowest_held(&self) -> Option<u64> {
        self.held
            .as_ref()
            .and_then(|h| h.segs.first_key_value().map(|(&k, _)| k))
    }

    /// Records a FIN `rel` sequence numbers after the next expected byte,
    /// unless a FIN is known already or it contradicts data already seen.
    fn note_fin(&mut self, rel: i64) {
        if self.flags & FIN_KNOWN != 0 || rel < 0 {
            return;
        }
        let fin_off = self.next_off() + rel as u64;
        if self.held.as_ref().is_some_and(|h| h.end() > fin_off) {
            return;
        }
        self.fin_off = fin_off;
        self.flags |= FIN_KNOWN;
    }

    /// Delivers or holds `data` starting at stream offset `off` (which is not
    /// before the next expected byte on entry), skipping holes when a cap
    /// forbids holding it.
    fn place(&mut self, off: u64, data: &[u8], budget: &mut OooBudget, sink: &mut dyn FnMut(Chunk<'_>)) {
        loop {
            let next_off = self.next_off();
            if off <= next_off {
                // In order (possibly after skipping): trim what is now old.
                let skip = usize::try_from(next_off - off).unwrap_or(usize::MAX);
                if skip < data.len() {
                    self.deliver_inline(&data[skip..], budget, sink);
                }
                return;
            }
            match self.try_hold(off, data, budget) {
                Hold::Stored => {
                    self.ooo += 1;
                    return;
                }
                Hold::Duplicate => {
                    self.retransmitted += 1;
                    return;
                }
                Hold::NoRoom => {
                    // Give up on the first hole: up to the lowest held byte,
                    // or up to this segment if it comes first.
                    let target = self.lowest_held().map_or(off, |l| l.min(off));
                    self.skip_to(target, sink);
                    self.deliver_contiguous(budget, sink);
                }
            }
        }
    }

    /// Delivers `data`, which starts at the next expected byte, straight from
    /// the caller's buffer. Held bytes inside its range win (first copy).
    fn deliver_inline(&mut self, mut data: &[u8], budget: &mut OooBudget, sink: &mut dyn FnMut(Chunk<'_>)) {
        while !data.is_empty() {
            let next_off = self.next_off();
            let take = match self.lowest_held() {
                Some(l) => usize::try_from(l.saturating_sub(next_off))
                    .unwrap_or(usize::MAX)
                    .min(data.len()),
                None => data.len(),
            };
            if take > 0 {
                self.emit_data(&data[..take], sink);
                data = &data[take..];
            }
            let before = self.next_off();
            self.deliver_contiguous(budget, sink);
            let covered = usize::try_from(self.next_off() - before).unwrap_or(usize::MAX);
            data = &data[covered.min(data.len())..];
        }
        self.deliver_contiguous(budget, sink);
    }

    /// Delivers held pieces that start at (or before) the next expected byte.
    fn deliver_contiguous(&mut self, budget: &mut OooBudget, sink: &mut dyn FnMut(Chunk<'_>)) {
        let Some(h) = self.held.as_mut() else {
            return;
        };
        while let Some(entry) = h.segs.first_entry() {
            let next_off = self.delivered + self.missing;
            let key = *entry.key();
            if key > next_off {
                break;
            }
            let piece = entry.remove();
            h.bytes -= piece.len();
            budget.release(piece.len());
            let skip = usize::try_from(next_off - key).unwrap_or(usize::MAX);
            if skip < piece.len() {
                let new = &piece[skip..];
                sink(Chunk::Data(new));
                self.delivered += new.len() as u64;
                self.next_seq = self.next_seq.wrapping_add(new.len() as u32);
            }
        }
        if h.segs.is_empty() {
            self.held = None;
        }
    }

    /// Copies the not-yet-held parts of `data` (at `off`, after the next
    /// expected byte) into the held set, if the caps allow all of them.
    fn try_hold(&mut self, off: u64, data: &[u8], budget: &mut OooBudget) -> Hold {
        let end = off + data.len() as u64;
        let (mut pieces, mut bytes) = (0usize, 0usize);
        match self.held.as_deref() {
            Some(h) => {
                let mut cur = off;
                while let Some((a, b)) = h.first_uncovered(cur, end) {
                    pieces += 1;
                    bytes += (b - a) as usize;
                    cur = b;
                }
            }
            None => (pieces, bytes) = (1, data.len()),
        }
        if pieces == 0 {
            return Hold::Duplicate;
        }
        let limits = budget.limits;
        if self.held_bytes().saturating_add(bytes) > limits.max_ooo_bytes_per_dir
            || self.held_segments().saturating_add(pieces) > limits.max_ooo_segments_per_dir
            || budget.used.saturating_add(bytes) > limits.max_ooo_bytes_global
        {
            return Hold::NoRoom;
        }
        let h = self.held.get_or_insert_with(Box::default);
        let mut cur = off;
        while let Some((a, b)) = h.first_uncovered(cur, end) {
            let piece: Box<[u8]> = data[(a - off) as usize..(b - off) as usize].into();
            h.segs.insert(a, piece);
            cur = b;
        }
        h.bytes += bytes;
        budget.charge(bytes);
        Hold::Stored
    }

    /// Emits a `Gap` so that the next expected byte becomes `target`.
    fn skip_to(&mut self, target: u64, sink: &mut dyn FnMut(Chunk<'_>)) {
        let n = target.saturating_sub(self.next_off());
        if n > 0 {
            sink(Chunk::Gap(n));
            self.missing += n;
            self.next_seq = self.next_seq.wrapping_add(n as u32);
        }
    }

    fn emit_data(&mut self, data: &[u8], sink: &mut dyn FnMut(Chunk<'_>)) {
        sink(Chunk::Data(data));
        self.delivered += data.len() as u64;
        self.next_seq = self.next_seq.wrapping_add(data.len() as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An owned record of what the sink received.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        Data(Vec<u8>),
        Gap(u64),
    }

    /// Records chunks and checks the sink contract (no empty chunks).
    #[derive(Default)]
    struct Out {
        evs: Vec<Ev>,
    }

    impl Out {
        fn sink(&mut self) -> impl FnMut(Chunk<'_>) + '_ {
            |c| match c {
                Chunk::Data(d) => {
                    assert!(!d.is_empty(), "empty Data chunk");
                    self.evs.push(Ev::Data(d.to_vec()));
                }
                Chunk::Gap(n) => {
                    assert!(n > 0, "empty Gap chunk");
                    self.evs.push(Ev::Gap(n));
                }
            }
        }

        /// Concatenated data bytes.
        fn data(&self) -> Vec<u8> {
            let mut v = Vec::new();
            for e in &self.evs {
                if let Ev::Data(d) = e {
                    v.extend_from_slice(d);
                }
            }
            v
        }

        /// The stream with each gap byte replaced by `None`.
        fn positions(&self) -> Vec<Option<u8>> {
            let mut v = Vec::new();
            for e in &self.evs {
                match e {
                    Ev::Data(d) => v.extend(d.iter().map(|&b| Some(b))),
                    Ev::Gap(n) => v.extend(std::iter::repeat_n(None, *n as usize)),
                }
            }
            v
        }
    }

    fn seg(r: &mut StreamReassembler, b: &mut OooBudget, out: &mut Out, seq: u32, payload: &[u8], fin: bool) {
        r.on_segment(seq, payload, fin, b, &mut out.sink());
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// A realistic TLS 1.3-capable ClientHello record for `www.example.com`.
    fn tls_client_hello() -> Vec<u8> {
        fn u16be(v: &mut Vec<u8>, x: usize) {
            v.extend_from_slice(&(x as u16).to_be_bytes());
        }
        fn ext(exts: &mut Vec<u8>, typ: u16, body: &[u8]) {
            exts.extend_from_slice(&typ.to_be_bytes());
            u16be(exts, body.len());
            exts.extend_from_slice(body);
        }
        let host = b"www.example.com";
        let mut exts = Vec::new();
        // server_name
        let mut sni = Vec::new();
        u16be(&mut sni, host.len() + 3);
        sni.push(0); // host_name
        u16be(&mut sni, host.len());
        sni.extend_from_slice(host);
        ext(&mut exts, 0x0000, &sni);
        ext(&mut exts, 0x0017, &[]); // extended_master_secret
        ext(&mut exts, 0xff01, &[0]); // renegotiation_info
        // supported_groups: x25519, secp256r1, secp384r1
        ext(&mut exts, 0x000a, &[0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]);
        ext(&mut exts, 0x000b, &[1, 0]); // ec_point_formats: uncompressed
        ext(&mut exts, 0x0023, &[]); // session_ticket
        // ALPN: h2, http/1.1
        let mut alpn = vec![0, 12, 2];
        alpn.extend_from_slice(b"h2");
        alpn.push(8);
        alpn.extend_from_slice(b"http/1.1");
        ext(&mut exts, 0x0010, &alpn);
        ext(&mut exts, 0x0005, &[1, 0, 0, 0, 0]); // status_request
        // signature_algorithms
        let sigs: [u16; 8] = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];
        let mut sa = Vec::new();
        u16be(&mut sa, sigs.len() * 2);
        for s in sigs {
            sa.extend_from_slice(&s.to_be_bytes());
        }
        ext(&mut exts, 0x000d, &sa);
        // key_share: x25519 with a 32-byte key
        let mut ks = Vec::new();
        u16be(&mut ks, 36);
        ks.extend_from_slice(&[0x00, 0x1d, 0x00, 0x20]);
        ks.extend((0..32u8).map(|i| i.wrapping_mul(37) ^ 0x5a));
        ext(&mut exts, 0x0033, &ks);
        ext(&mut exts, 0x002d, &[1, 1]); // psk_key_exchange_modes: psk_dhe_ke
        ext(&mut exts, 0x002b, &[4, 0x03, 0x04, 0x03, 0x03]); // supported_versions
        ext(&mut exts, 0x0015, &[0; 24]); // padding

        let mut hello = vec![0x03, 0x03]; // legacy_version TLS 1.2
        hello.extend((0..32u8).map(|i| i.wrapping_mul(91).wrapping_add(3))); // random
        hello.push(32); // legacy_session_id
        hello.extend((0..32u8).map(|i| i ^ 0xc3));
        let suites: [u16; 9] = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8];
        u16be(&mut hello, suites.len() * 2);
        for s in suites {
            hello.extend_from_slice(&s.to_be_bytes());
        }
        hello.extend_from_slice(&[1, 0]); // compression: null
        u16be(&mut hello, exts.len());
        hello.extend_from_slice(&exts);

        let mut hs = vec![0x01]; // ClientHello
        hs.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&hello);

        let mut rec = vec![0x16, 0x03, 0x01];
        u16be(&mut rec, hs.len());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn reassembler_is_small() {
        assert!(std::mem::size_of::<StreamReassembler>() <= 64);
    }

    #[test]
    fn in_order_passes_slices_through_without_holding() {
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        r.on_syn(1000);
        let data = pattern(3000);
        let mut seq = 1001u32;
        for part in data.chunks(700) {
            let mut calls = 0;
            r.on_segment(seq, part, false, &mut b, &mut |c| {
                calls += 1;
                // Zero copy: the sink sees the caller's own buffer.
                assert_eq!(c, Chunk::Data(part));
                let Chunk::Data(d) = c else { unreachable!() };
                assert_eq!(d.as_ptr(), part.as_ptr());
            });
            assert_eq!(calls, 1);
            assert_eq!(r.held_bytes(), 0);
            assert!(r.held.is_none(), "no heap on the in-order path");
            seq = seq.wrapping_add(part.len() as u32);
        }
        let mut out = Out::default();
        seg(&mut r, &mut b, &mut out, seq, &[], true);
        assert!(r.is_complete());
        r.finish(&mut b, &mut out.sink());
        assert!(out.evs.is_empty());
        assert_eq!(r.delivered_bytes(), 3000);
        assert_eq!(r.missing_bytes(), 0);
        assert_eq!(r.ooo_segments(), 0);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn retransmissions_are_trimmed() {
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        let mut out = Out::default();
        r.on_syn(0);
        let data = pattern(300);
        seg(&mut r, &mut b, &mut out, 1, &data[..100], false);
        // Exact retransmission: nothing new.
        seg(&mut r, &mut b, &mut out, 1, &data[..100], false);
        // Retransmission of a subrange.
        seg(&mut r, &mut b, &mut out, 11, &data[10..50], false);
        assert_eq!(r.retransmitted_segments(), 2);
        assert_eq!(out.evs, vec![Ev::Data(data[..100].to_vec())]);
        // Partial overlap: only the new tail comes out.
        seg(&mut r, &mut b, &mut out, 51, &data[50..180], false);
        assert_eq!(out.evs.len(), 2);
        assert_eq!(out.evs[1], Ev::Data(data[100..180].to_vec()));
        assert_eq!(r.retransmitted_segments(), 2);
        assert_eq!(r.delivered_bytes(), 180);
        assert_eq!(out.data(), data[..180]);
        assert_eq!(r.held_bytes(), 0);
    }

    #[test]
    fn tls_client_hello_out_of_order_comes_out_whole() {
        let hello = tls_client_hello();
        assert!(hello.len() > 250 && hello.len() < 400, "{}", hello.len());
        assert_eq!(&hello[..3], &[0x16, 0x03, 0x01]);
        assert_eq!(usize::from(u16::from_be_bytes([hello[3], hello[4]])), hello.len() - 5);
        assert_eq!(hello[5], 0x01);

        let isn = 0x1234_5678u32;
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        let mut out = Out::default();
        r.on_syn(isn);
        let (s1, s2) = hello.split_at(150);
        seg(&mut r, &mut b, &mut out, isn + 1 + 150, s2, false);
        assert!(out.evs.is_empty());
        assert_eq!(r.held_bytes(), s2.len());
        assert_eq!(b.used(), s2.len());
        assert_eq!(r.ooo_segments(), 1);
        seg(&mut r, &mut b, &mut out, isn + 1, s1, false);
        assert_eq!(out.data(), hello);
        assert_eq!(r.missing_bytes(), 0);
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(b.used(), 0);
        assert!(r.held.is_none(), "heap freed once nothing is held");
    }

    #[test]
    fn sequence_wraparound() {
        let isn = u32::MAX - 10;
        let data = pattern(400);
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        let mut out = Out::default();
        r.on_syn(isn);
        let s = |off: usize| isn.wrapping_add(1).wrapping_add(off as u32);
        seg(&mut r, &mut b, &mut out, s(0), &data[..5], false);
        // Out of order across the wrap, then the filler that crosses it.
        seg(&mut r, &mut b, &mut out, s(100), &data[100..250], false);
        seg(&mut r, &mut b, &mut out, s(250), &data[250..400], true);
        assert_eq!(r.held_bytes(), 300);
        seg(&mut r, &mut b, &mut out, s(5), &data[5..100], false);
        assert_eq!(out.data(), data);
        // Old data from before the wrap is recognised as old.
        seg(&mut r, &mut b, &mut out, s(0), &data[..20], false);
        assert_eq!(r.retransmitted_segments(), 1);
        assert!(r.is_complete());
        assert_eq!(r.next_seq(), Some(s(400)));
        // The peer acknowledges the FIN: not a missing byte.
        r.on_peer_ack(s(401), &mut b, &mut out.sink());
        r.finish(&mut b, &mut out.sink());
        assert_eq!(r.missing_bytes(), 0);
        assert_eq!(out.data(), data);
    }

    #[test]
    fn midstream_pickup_without_syn() {
        let data = pattern(500);
        let base = 0x8000_0000u32;
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        let mut out = Out::default();
        // Picked up mid-stream: an ACK before any segment means nothing.
        r.on_peer_ack(base + 100, &mut b, &mut out.sink());
        assert!(!r.is_started());
        seg(&mut r, &mut b, &mut out, base + 200, &data[200..300], false);
        assert_eq!(out.data(), data[200..300]);
        // Earlier bytes (from before we started watching) are old.
        seg(&mut r, &mut b, &mut out, base + 100, &data[100..200], false);
        seg(&mut r, &mut b, &mut out, base + 400, &data[400..500], false);
        seg(&mut r, &mut b, &mut out, base + 250, &data[250..400], false);
        assert_eq!(out.data(), data[200..500]);
        assert_eq!(r.missing_bytes(), 0);
        assert_eq!(r.retransmitted_segments(), 1);
        assert_eq!(r.ooo_segments(), 1);
        // A SYN arriving late is ignored.
        r.on_syn(7);
        assert_eq!(r.next_seq(), Some(base + 500));
    }

    #[test]
    fn syn_with_other_isn_is_ignored() {
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        let mut out = Out::default();
        r.on_syn(100);
        r.on_syn(5000);
        seg(&mut r, &mut b, &mut out, 101, b"abc", false);
        assert_eq!(out.data(), b"abc");
    }

    #[test]
    fn unfilled_hole_per_dir_byte_cap() {
        let data = pattern(4000);
        let mut b = OooBudget::with_limits(ReassemblyLimits {
            max_ooo_bytes_per_dir: 1000,
            ..ReassemblyLimits::default()
        });
        let mut r = StreamReassembler::new();
        let mut out = Out::default();
        r.on_syn(0);
        seg(&mut r, &mut b, &mut out, 1, &data[..100], false);
        // Bytes 100..300 are never captured.
        seg(&mut r, &mut b, &mut out, 301, &data[300..800], false);
        seg(&mut r, &mut b, &mut out, 801, &data[800..1300], false);
        assert_eq!(r.held_bytes(), 1000);
        assert_eq!(out.data(), data[..100]);
        // Holding one more would exceed 1000 bytes: give up on the hole.
        seg(&mut r, &mut b, &mut out, 1301, &data[1300..1800], false);
        assert_eq!(
            out.evs,
            vec![
                Ev::Data(data[..100].to_vec()),
                Ev::Gap(200),
                Ev::Data(data[300..800].to_vec()),
                Ev::Data(data[800..1300].to_vec()),
                Ev::Data(data[1300..1800].to_vec()),
            ]
        );
        assert_eq!(r.missing_bytes(), 200);
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(b.used(), 0);
        // A single segment larger than the cap, after a hole.
        seg(&mut r, &mut b, &mut out, 1901, &data[1900..3400], false);
        assert_eq!(r.missing_bytes(), 300);
        assert_eq!(out.evs[5], Ev::Gap(100));
        assert_eq!(out.evs[6], Ev::Data(data[1900..3400].to_vec()));
        assert_eq!(r.held_bytes(), 0);
    }

    #[test]
    fn unfilled_hole_per_dir_segment_cap() {
        let data = pattern(2000);
        let mut b = OooBudget::with_limits(ReassemblyLimits {
            max_ooo_segments_per_dir: 3,
            ..ReassemblyLimits::default()
        });
        let mut r = StreamReassembler::new();
        let mut out = Out::default();
        r.on_syn(0);
        // Hole 0..100, then pieces with a second hole 400..500.
        seg(&mut r, &mut b, &mut out, 101, &data[100..200], false);
        seg(&mut r, &mut b, &mut out, 201, &data[200..300], false);
        seg(&mut r, &mut b, &mut out, 501, &data[500..600], false);
        assert_eq!(r.held_segments(), 3);
        seg(&mut r, &mut b, &mut out, 301, &data[300..400], false);
        // First hole skipped, 100..300 delivered, then the new one fits.
        assert_eq!(
            out.evs,
            vec![
                Ev::Gap(100),
                Ev::Data(data[100..200].to_vec()),
                Ev::Data(data[200..300].to_vec()),
                Ev::Data(data[300..400].to_vec()),
            ]
        );
        assert_eq!(r.held_segments(), 1);
        assert_eq!(r.held_bytes(), 100);
        r.finish(&mut b, &mut out.sink());
        assert_eq!(out.evs[4], Ev::Gap(100));
        assert_eq!(out.evs[5], Ev::Data(data[500..600].to_vec()));
        assert_eq!(r.missing_bytes(), 200);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn cap_skip_stops_at_new_segment_when_it_comes_first() {
        let data = pattern(1000);
        let mut b = OooBudget::with_limits(ReassemblyLimits {
            max_ooo_bytes_per_dir: 150,
            ..ReassemblyLimits::default()
        });
        let mut r = StreamReassembler::new();
        let mut out = Out::default();
        r.on_syn(0);
        seg(&mut r, &mut b, &mut out, 501, &data[500..600], false);
        // Does not fit, and lies before the held data: only 0..200 is lost.
        seg(&mut r, &mut b, &mut out, 201, &data[200..300], false);
        assert_eq!(out.evs, vec![Ev::Gap(200), Ev::Data(data[200..300].to_vec())]);
        assert_eq!(r.held_bytes(), 100);
        seg(&mut r, &mut b, &mut out, 301, &data[300..500], false);
        assert_eq!(out.data(), data[200..600]);
        assert_eq!(r.missing_bytes(), 200);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn global_budget_exceeded() {
        let data = pattern(3000);
        let mut b = OooBudget::new(1000);
        let mut r1 = StreamReassembler::new();
        let mut r2 = StreamReassembler::new();
        let (mut o1, mut o2) = (Out::default(), Out::default());
        r1.on_syn(10);
        r2.on_syn(20);
        // Flow 1 holds 800 bytes behind a 100-byte hole.
        seg(&mut r1, &mut b, &mut o1, 111, &data[100..900], false);
        assert_eq!(b.used(), 800);
        // Flow 2 holds 200 bytes behind a 50-byte hole: budget full.
        seg(&mut r2, &mut b, &mut o2, 71, &data[50..250], false);
        assert_eq!(b.used(), 1000);
        // Flow 2 needs more: it gives up on its own hole, never exceeds.
        seg(&mut r2, &mut b, &mut o2, 321, &data[300..400], false);
        assert_eq!(o2.evs, vec![Ev::Gap(50), Ev::Data(data[50..250].to_vec())]);
        assert_eq!(r2.held_bytes(), 100);
        assert_eq!(b.used(), 900);
        assert_eq!(r2.missing_bytes(), 50);
        // Flow 1 needs 200 more: over budget, skip its hole.
        seg(&mut r1, &mut b, &mut o1, 1011, &data[1000..1200], false);
        assert_eq!(o1.evs[0], Ev::Gap(100));
        assert_eq!(o1.evs[1], Ev::Data(data[100..900].to_vec()));
        assert_eq!(r1.missing_bytes(), 100);
        assert!(b.used() <= 1000);
        assert_eq!(b.used(), r1.held_bytes() + r2.held_bytes());
        r1.finish(&mut b, &mut o1.sink());
        r2.finish(&mut b, &mut o2.sink());
        assert_eq!(b.used(), 0);
        assert_eq!(r1.missing_bytes(), 200);
        assert_eq!(o1.positions().len(), 1200);
    }

    #[test]
    fn peer_ack_skips_unseen_segment() {
        let data = pattern(1000);
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        let mut out = Out::default();
        r.on_syn(500);
        seg(&mut r, &mut b, &mut out, 501, &data[..100], false);
        // 100..200 never captured; 300..400 held; 200..300 never captured.
        seg(&mut r, &mut b, &mut out, 801, &data[300..400], false);
        // Ack behind or at the next byte: nothing.
        r.on_peer_ack(550, &mut b, &mut out.sink());
        r.on_peer_ack(601, &mut b, &mut out.sink());
        // Absurdly far ahead: ignored.
        r.on_peer_ack(601 + (1 << 31), &mut b, &mut out.sink());
        assert_eq!(out.evs.len(), 1);
        // The peer acked up to 150: skip 50 only.
        r.on_peer_ack(651, &mut b, &mut out.sink());
        assert_eq!(out.evs[1], Ev::Gap(50));
        // The peer acked up to 350: skip to the held data, deliver it.
        r.on_peer_ack(851, &mut b, &mut out.sink());
        assert_eq!(out.evs[2], Ev::Gap(150));
        assert_eq!(out.evs[3], Ev::Data(data[300..400].to_vec()));
        assert_eq!(r.missing_bytes(), 200);
        assert_eq!(r.held_bytes(), 0);
        // Nothing held, acked beyond: skip (the "ACKed unseen segment").
        r.on_peer_ack(1001, &mut b, &mut out.sink());
        assert_eq!(out.evs[4], Ev::Gap(100));
        seg(&mut r, &mut b, &mut out, 1001, &data[500..600], false);
        assert_eq!(out.evs[5], Ev::Data(data[500..600].to_vec()));
        // The late segment is old now.
        seg(&mut r, &mut b, &mut out, 901, &data[400..500], false);
        assert_eq!(r.retransmitted_segments(), 1);
        assert_eq!(r.missing_bytes(), 300);
        assert_eq!(r.delivered_bytes(), 300);
    }

    #[test]
    fn peer_ack_across_several_holes() {
        let data = pattern(1000);
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        let mut out = Out::default();
        r.on_syn(0);
        seg(&mut r, &mut b, &mut out, 101, &data[100..200], false);
        seg(&mut r, &mut b, &mut out, 301, &data[300..400], false);
        r.on_peer_ack(351, &mut b, &mut out.sink());
        assert_eq!(
            out.evs,
            vec![
                Ev::Gap(100),
                Ev::Data(data[100..200].to_vec()),
                Ev::Gap(100),
                Ev::Data(data[300..400].to_vec()),
            ]
        );
    }

    #[test]
    fn fin_is_not_missing() {
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        let mut out = Out::default();
        r.on_syn(0);
        seg(&mut r, &mut b, &mut out, 1, b"hello", true);
        r.on_peer_ack(7, &mut b, &mut out.sink());
        assert!(r.is_complete());
        // Data beyond the FIN is dropped; a later, different FIN ignored.
        seg(&mut r, &mut b, &mut out, 6, b"junk", true);
        r.finish(&mut b, &mut out.sink());
        assert_eq!(out.evs, vec![Ev::Data(b"hello".to_vec())]);
        assert_eq!(r.missing_bytes(), 0);

        // FIN held behind a hole, then the ACK of the FIN: only the hole
        // is missing.
        let mut r = StreamReassembler::new();
        let mut out = Out::default();
        r.on_syn(0);
        seg(&mut r, &mut b, &mut out, 4, b"lo", true);
        r.on_peer_ack(7, &mut b, &mut out.sink());
        assert_eq!(out.evs, vec![Ev::Gap(3), Ev::Data(b"lo".to_vec())]);
        assert_eq!(r.missing_bytes(), 3);
        assert!(r.is_complete());

        // Pure FIN behind a hole with nothing held.
        let mut r = StreamReassembler::new();
        let mut out = Out::default();
        r.on_syn(0);
        seg(&mut r, &mut b, &mut out, 6, b"", true);
        r.on_peer_ack(7, &mut b, &mut out.sink());
        assert_eq!(out.evs, vec![Ev::Gap(5)]);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn finish_with_holes() {
        let data = pattern(1000);
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        let mut out = Out::default();
        r.on_syn(99);
        seg(&mut r, &mut b, &mut out, 100, &data[..100], false);
        seg(&mut r, &mut b, &mut out, 400, &data[300..400], false);
        seg(&mut r, &mut b, &mut out, 700, &data[600..700], false);
        seg(&mut r, &mut b, &mut out, 800, &data[700..750], false);
        // FIN at 900, the tail 750..900 was never captured.
        seg(&mut r, &mut b, &mut out, 1000, &[], true);
        assert_eq!(b.used(), 250);
        r.finish(&mut b, &mut out.sink());
        assert_eq!(
            out.evs,
            vec![
                Ev::Data(data[..100].to_vec()),
                Ev::Gap(200),
                Ev::Data(data[300..400].to_vec()),
                Ev::Gap(200),
                Ev::Data(data[600..700].to_vec()),
                Ev::Data(data[700..750].to_vec()),
                Ev::Gap(150),
            ]
        );
        assert_eq!(r.missing_bytes(), 550);
        assert_eq!(r.delivered_bytes(), 350);
        assert_eq!(b.used(), 0);
        assert_eq!(r.held_bytes(), 0);
        assert!(r.held.is_none());
        // Closed: later input is ignored, finishing twice is harmless.
        seg(&mut r, &mut b, &mut out, 1000, b"x", false);
        r.finish(&mut b, &mut out.sink());
        assert_eq!(out.evs.len(), 7);
    }

    #[test]
    fn overlaps_first_copy_wins() {
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        let mut out = Out::default();
        r.on_syn(0);
        // Held: offsets 10..20 = 'A', 30..40 = 'B'.
        seg(&mut r, &mut b, &mut out, 11, &[b'A'; 10], false);
        seg(&mut r, &mut b, &mut out, 31, &[b'B'; 10], false);
        // Overlapping 5..45 = 'x': only 5..10, 20..30, 40..45 are new.
        seg(&mut r, &mut b, &mut out, 6, &[b'x'; 40], false);
        assert_eq!(r.held_segments(), 5);
        assert_eq!(r.held_bytes(), 40);
        // A copy of held data only is a retransmission.
        seg(&mut r, &mut b, &mut out, 13, &[b'z'; 5], false);
        assert_eq!(r.retransmitted_segments(), 1);
        assert_eq!(r.ooo_segments(), 3);
        // In-order data overlapping held data: held bytes win.
        seg(&mut r, &mut b, &mut out, 1, &[b'y'; 50], false);
        let mut want = vec![b'y'; 5];
        want.extend([b'x'; 5]);
        want.extend([b'A'; 10]);
        want.extend([b'x'; 10]);
        want.extend([b'B'; 10]);
        want.extend([b'x'; 5]);
        want.extend([b'y'; 5]);
        assert_eq!(out.data(), want);
        assert_eq!(b.used(), 0);
        assert_eq!(r.held_bytes(), 0);
    }

    #[test]
    fn out_of_window_is_ignored() {
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        let mut out = Out::default();
        r.on_syn(0);
        seg(&mut r, &mut b, &mut out, 1, b"ab", false);
        seg(&mut r, &mut b, &mut out, 3 + (1 << 30) + 1, b"far", false);
        seg(
            &mut r,
            &mut b,
            &mut out,
            3u32.wrapping_sub((1 << 30) + 1),
            b"old",
            false,
        );
        seg(&mut r, &mut b, &mut out, 3 + (1 << 31), b"half", true);
        assert_eq!(r.out_of_window_segments(), 3);
        assert_eq!(r.held_bytes(), 0);
        r.on_peer_ack(3 + (1 << 30) + 1, &mut b, &mut out.sink());
        seg(&mut r, &mut b, &mut out, 3, b"cd", false);
        r.finish(&mut b, &mut out.sink());
        assert_eq!(out.evs, vec![Ev::Data(b"ab".to_vec()), Ev::Data(b"cd".to_vec())]);
        assert_eq!(r.missing_bytes(), 0);
    }

    #[test]
    fn discard_releases_budget() {
        let mut r = StreamReassembler::new();
        let mut b = OooBudget::default();
        let mut out = Out::default();
        r.on_syn(0);
        seg(&mut r, &mut b, &mut out, 50, &[1; 100], false);
        assert_eq!(b.used(), 100);
        r.discard(&mut b);
        assert_eq!(b.used(), 0);
        assert_eq!(r.held_bytes(), 0);
        assert!(out.evs.is_empty());
    }

    /// xorshift64* PRNG.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Self {
            Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        /// Uniform in `0..n` (n > 0).
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
    }

    fn check_caps(rs: &[StreamReassembler], b: &OooBudget) {
        let l = *b.limits();
        let mut sum = 0;
        for r in rs {
            assert!(r.held_bytes() <= l.max_ooo_bytes_per_dir);
            assert!(r.held_segments() <= l.max_ooo_segments_per_dir);
            assert_eq!(r.held.is_some(), r.held_segments() > 0);
            sum += r.held_bytes();
        }
        assert!(b.used() <= l.max_ooo_bytes_global);
        assert_eq!(b.used(), sum);
    }

    enum Act {
        Seg { start: usize, end: usize, fin: bool },
        Drop { end: usize },
    }

    /// One randomly damaged capture of one stream.
    struct Case {
        data: Vec<u8>,
        isn: u32,
        syn: bool,
        acts: Vec<Act>,
        clean: bool,
        // Progress while feeding.
        next: usize,
        sent: usize,
        fin_fed: bool,
        base: Option<usize>,
        out: Out,
    }

    impl Case {
        fn new(rng: &mut Rng) -> Self {
            let n = rng.below(3000);
            let data: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            let isn = if rng.chance(30) {
                u32::MAX - rng.below(4000) as u32
            } else {
                rng.next() as u32
            };
            let fin = rng.chance(60);
            let (drop_p, dup_p, reseg_p) = if rng.chance(25) {
                (0, rng.below(30), rng.below(20))
            } else {
                (rng.below(15), rng.below(30), rng.below(20))
            };
            let max_seg = 1 + rng.below(300);
            let mut acts = Vec::new();
            let mut pos = 0;
            loop {
                let end = (pos + 1 + rng.below(max_seg)).min(n);
                let last = end == n;
                let f = fin && last;
                if end > pos || f {
                    if rng.chance(drop_p) {
                        acts.push(Act::Drop { end });
                    } else {
                        acts.push(Act::Seg {
                            start: pos,
                            end,
                            fin: f,
                        });
                    }
                    if rng.chance(dup_p) {
                        acts.push(Act::Seg {
                            start: pos,
                            end,
                            fin: f,
                        });
                    }
                    if end > 0 && rng.chance(reseg_p) {
                        // Retransmission with different boundaries.
                        let a = rng.below(end);
                        let b = a + 1 + rng.below(end - a);
                        acts.push(Act::Seg {
                            start: a,
                            end: b,
                            fin: fin && b == n,
                        });
                    }
                }
                pos = end;
                if last {
                    break;
                }
            }
            // Local reordering.
            let window = 1 + rng.below(8);
            for _ in 0..rng.below(acts.len() + 1) {
                let i = rng.below(acts.len());
                let j = (i + rng.below(window)).min(acts.len() - 1);
                acts.swap(i, j);
            }
            Self {
                data,
                isn,
                syn: rng.chance(70),
                clean: drop_p == 0,
                acts,
                next: 0,
                sent: 0,
                fin_fed: false,
                base: None,
                out: Out::default(),
            }
        }

        fn seq(&self, pos: usize) -> u32 {
            self.isn.wrapping_add(1).wrapping_add(pos as u32)
        }

        /// Feeds the next action; returns false when done.
        fn step(&mut self, rng: &mut Rng, r: &mut StreamReassembler, b: &mut OooBudget, acks: bool) -> bool {
            if self.next == 0 && self.syn {
                r.on_syn(self.isn);
                self.base = Some(0);
            }
            let Some(act) = self.acts.get(self.next) else {
                return false;
            };
            self.next += 1;
            match *act {
                Act::Drop { end } => self.sent = self.sent.max(end),
                Act::Seg { start, end, fin } => {
                    self.sent = self.sent.max(end);
                    self.fin_fed |= fin;
                    self.base.get_or_insert(start);
                    let seq = self.seq(start);
                    r.on_segment(seq, &self.data[start..end], fin, b, &mut self.out.sink());
                }
            }
            if acks && rng.chance(15) {
                let mut p = rng.below(self.sent + 1);
                if p == self.data.len() && self.fin_fed && rng.chance(50) {
                    p += 1; // ACK of the FIN
                }
                let ack = self.seq(p);
                r.on_peer_ack(ack, b, &mut self.out.sink());
            }
            true
        }

        fn verify(&self, r: &StreamReassembler, big_caps: bool, acks: bool) {
            let got = self.out.positions();
            let base = self.base.unwrap_or(0);
            assert!(base + got.len() <= self.data.len(), "output beyond stream");
            let mut missing = 0;
            for (i, g) in got.iter().enumerate() {
                match g {
                    Some(v) => assert_eq!(*v, self.data[base + i], "byte {} differs", base + i),
                    None => missing += 1,
                }
            }
            assert_eq!(r.missing_bytes(), missing);
            assert_eq!(r.delivered_bytes(), got.len() as u64 - missing);
            if self.fin_fed {
                assert_eq!(base + got.len(), self.data.len(), "FIN reached");
                assert!(r.is_complete());
            }
            if self.clean && big_caps && !acks {
                assert_eq!(missing, 0);
                assert_eq!(base + got.len(), self.data.len());
            }
        }
    }

    #[test]
    fn randomized_reassembly() {
        // What the runs exercised: held segments, retransmissions, gaps
        // forced by caps, gaps forced by ACKs, wraps, mid-stream pick-ups.
        let mut seen = [0u32; 6];
        for iter in 0..3000u64 {
            let mut rng = Rng::new(iter + 1);
            let big_caps = rng.chance(25);
            let limits = if big_caps {
                ReassemblyLimits {
                    max_ooo_bytes_per_dir: usize::MAX,
                    max_ooo_segments_per_dir: usize::MAX,
                    max_ooo_bytes_global: usize::MAX,
                }
            } else {
                ReassemblyLimits {
                    max_ooo_bytes_per_dir: rng.below(3000),
                    max_ooo_segments_per_dir: rng.below(12),
                    max_ooo_bytes_global: rng.below(4000),
                }
            };
            let acks = rng.chance(40);
            let mut b = OooBudget::with_limits(limits);
            let nflows = 1 + rng.below(3);
            let mut cases: Vec<Case> = (0..nflows).map(|_| Case::new(&mut rng)).collect();
            let mut rs: Vec<StreamReassembler> = (0..nflows).map(|_| StreamReassembler::new()).collect();
            let mut live = nflows;
            while live > 0 {
                let k = rng.below(nflows);
                if !cases[k].step(&mut rng, &mut rs[k], &mut b, acks) {
                    // Drain the others, one by one.
                    live = 0;
                    for (c, r) in cases.iter_mut().zip(rs.iter_mut()) {
                        if c.next < c.acts.len() {
                            live += 1;
                            c.step(&mut rng, r, &mut b, acks);
                        }
                    }
                }
                check_caps(&rs, &b);
            }
            for (c, r) in cases.iter_mut().zip(rs.iter_mut()) {
                r.finish(&mut b, &mut c.out.sink());
                assert_eq!(r.held_bytes(), 0);
            }
            check_caps(&rs, &b);
            assert_eq!(b.used(), 0, "iteration {iter}");
            for (c, r) in cases.iter().zip(rs.iter()) {
                c.verify(r, big_caps, acks);
                let gaps = r.missing_bytes() > 0 && c.clean;
                let wraps = c.isn.checked_add(c.data.len() as u32 + 1).is_none();
                let flags = [
                    r.ooo_segments() > 0,
                    r.retransmitted_segments() > 0,
                    gaps && !acks,
                    gaps && acks && big_caps,
                    wraps && r.delivered_bytes() > 0,
                    !c.syn && c.base.is_some_and(|b| b > 0),
                ];
                for (s, f) in seen.iter_mut().zip(flags) {
                    *s += u32::from(f);
                }
            }
        }
        assert!(seen.iter().all(|&s| s >= 20), "coverage {seen:?}");
    }

    #[test]
    fn random_garbage_never_panics() {
        for iter in 0..2000u64 {
            let mut rng = Rng::new(0xdead_beef ^ iter);
            let limits = ReassemblyLimits {
                max_ooo_bytes_per_dir: rng.below(5000),
                max_ooo_segments_per_dir: rng.below(20),
                max_ooo_bytes_global: rng.below(8000),
            };
            let mut b = OooBudget::with_limits(limits);
            let mut rs = [StreamReassembler::new(), StreamReassembler::new()];
            let center = rng.next() as u32;
            let payload: Vec<u8> = (0..2000).map(|_| rng.next() as u8).collect();
            let (mut data, mut gaps) = ([0u64; 2], [0u64; 2]);
            for _ in 0..rng.below(200) {
                let k = rng.below(2);
                let near = center.wrapping_add(rng.below(6000) as u32).wrapping_sub(1000);
                let seq = if rng.chance(10) { rng.next() as u32 } else { near };
                let (d, g) = (&mut data[k], &mut gaps[k]);
                let mut sink = |c: Chunk<'_>| match c {
                    Chunk::Data(x) => *d += x.len() as u64,
                    Chunk::Gap(n) => *g += n,
                };
                match rng.below(10) {
                    0 => rs[k].on_syn(seq),
                    1 | 2 => rs[k].on_peer_ack(seq, &mut b, &mut sink),
                    3 if rng.chance(10) => rs[k].finish(&mut b, &mut sink),
                    _ => {
                        let a = rng.below(payload.len());
                        let e = a + rng.below((payload.len() - a).min(1500));
                        rs[k].on_segment(seq, &payload[a..e], rng.chance(10), &mut b, &mut sink);
                    }
                }
                check_caps(&rs, &b);
            }
            for (k, r) in rs.iter_mut().enumerate() {
                let (d, g) = (&mut data[k], &mut gaps[k]);
                r.finish(&mut b, &mut |c| match c {
                    Chunk::Data(x) => *d += x.len() as u64,
                    Chunk::Gap(n) => *g += n,
                });
                assert_eq!(r.delivered_bytes(), data[k]);
                assert_eq!(r.missing_bytes(), gaps[k]);
            }
            assert_eq!(b.used(), 0);
        }
    }
}
