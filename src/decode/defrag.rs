//! Bounded IP fragment reassembly for a passive monitor.
//!
//! One engine serves IPv4 (RFC 791 §3.2, with the hole-filling idea of
//! RFC 815) and IPv6 (RFC 8200 §4.5). The caller parses the IP header (and the
//! IPv6 Fragment header), builds a [`FragKey`], and hands each fragment's
//! payload to [`Defragmenter::add`] with the offset in bytes and the MF flag.
//! When the last hole is filled the reassembled payload (transport header and
//! data) is returned as [`FragOutcome::Complete`], borrowed from an internal
//! buffer that stays valid until the next call on the [`Defragmenter`].
//!
//! # What it owns
//!
//! * A `HashMap<FragKey, _>` of datagrams under reassembly (SipHash with a
//!   random seed, so crafted identifications cannot flood one bucket). Each
//!   datagram owns one contiguous buffer into which fragments are copied at
//!   their offsets, plus a sorted list of the byte ranges received so far.
//! * An insertion-ordered queue used both for timeouts and for evicting the
//!   oldest datagram. Entries are deleted lazily (a sequence number tells
//!   live entries from stale ones) and the queue is compacted when stale
//!   entries outnumber live ones, so it stays `O(held datagrams)`.
//! * A pool of buffers in power-of-two size classes (256 B to 64 KiB) and a
//!   pool of range lists. Completed, expired and evicted datagrams give their
//!   buffers back, so steady-state reassembly does not allocate per packet.
//!   A datagram's buffer starts at the class that fits the bytes seen so far
//!   and moves up one or more classes (copying) as later fragments extend it.
//!
//! # Limits and memory
//!
//! * [`DefragLimits::max_datagrams`] datagrams at once and
//!   [`DefragLimits::max_bytes`] of buffer capacity held by them.
//!   `held_bytes` counts the *capacity* of each buffer (its size class), not
//!   only the bytes received, so it is what is really allocated: a hostile
//!   fragment at offset 65 000 costs 64 KiB, not 500 bytes.
//! * When a new datagram would exceed either limit, the **oldest** datagram
//!   (first created) is evicted and counted in `dropped`; new traffic is never
//!   refused in favour of stale traffic. This keeps an attacker who opens many
//!   incomplete datagrams from locking the table until the timeout, at the
//!   price that a flood can push out legitimate slow datagrams (which would
//!   have been lost under refusal too, as the table would stay full).
//! * Pooled spare buffers count against the same budget: held plus pooled
//!   capacity never exceeds `max_bytes` after a call returns. The only extra is
//!   the one buffer (at most 64 KiB) that serves the last `Complete` payload,
//!   plus bookkeeping (a range list of at most
//!   [`MAX_FRAGMENTS_PER_DATAGRAM`] entries per held datagram).
//! * A datagram may receive at most [`MAX_FRAGMENTS_PER_DATAGRAM`] frames
//!   (duplicates included, which bounds the work per datagram); the next one
//!   discards it with [`DropReason::TooManyFragments`].
//! * Reassembled payloads are limited to [`MAX_DATAGRAM_LEN`] bytes
//!   (`offset + len` beyond it is [`DropReason::TooLarge`], the "ping of death"
//!   case). IPv6 jumbograms (RFC 2675) cannot be fragmented and are not
//!   handled here. Callers wanting the exact IPv4 bound (65 535 minus the
//!   header length) can check it before calling.
//!
//! # Validation
//!
//! Checks that need no state only refuse the fragment ([`DropReason::TooLarge`];
//! [`DropReason::BadOffset`] for an empty fragment, an offset that is not a
//! multiple of 8, or a non-last fragment whose length is not a multiple of 8,
//! RFC 791 / RFC 8200). Checks that contradict what the datagram already holds
//! discard the whole datagram and report [`DropReason::BadOffset`]: a second
//! last fragment with a different end, a last fragment ending before bytes
//! already received, or a fragment extending past the known end. (Linux does
//! the same.)
//!
//! A fragment with offset 0 and MF clear is an "atomic fragment" (RFC 6946):
//! it is returned as `Complete` at once and does not touch any datagram being
//! reassembled under the same key.
//!
//! # Overlap policy: first wins
//!
//! Bytes already received are never overwritten: a later fragment only fills
//! the holes it covers. Every fragment that overlaps bytes already held is
//! counted in `overlaps`; exact duplicates (retransmissions, or copies captured
//! twice) count too, and every frame, duplicate or not, is counted in the
//! `frames` and `wire_bytes` of the `Complete` outcome. Linux instead drops the
//! whole datagram on a partial overlap (since 4.19, after "FragmentSmack") and
//! keeps the first copy of an exact duplicate; an end host running another
//! policy may see different bytes, which is why overlaps are counted: a
//! non-zero count on a flow is itself worth an alert (target-based evasion,
//! Ptacek & Newsham 1998, Novak 2005). RFC 5722 makes IPv6 end hosts discard
//! datagrams with overlapping fragments; a monitor still reassembles them so
//! that the content can be inspected, and the same policy applies to both
//! families.
//!
//! # Timeout
//!
//! Time is the packet clock (`ts_ns` of the fragments), not the wall clock. A
//! datagram expires [`DefragLimits::timeout_ns`] after its *first* fragment
//! arrived (30 s by default, like Linux `ipfrag_time`; RFC 791 suggests 15 s,
//! RFC 8200 requires 60 s). [`Defragmenter::expire`] only looks at the front
//! of the insertion-ordered queue, so it is cheap to call for every packet.
//! If timestamps go backwards (several capture interfaces), a datagram behind
//! a younger one just waits until that one expires. A fragment for a key whose
//! datagram is already past its timeout also restarts it (counted as timed
//! out), so identification reuse works even if `expire` is called rarely.
//!
//! # Statistics
//!
//! `dropped` counts drop events: every [`FragOutcome::Dropped`] returned, plus
//! every datagram evicted to make room for another one. `timed_out` counts
//! datagrams expired. `completed` counts `Complete` outcomes.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Default number of datagrams under reassembly at once.
pub const DEFAULT_MAX_DATAGRAMS: usize = 1024;
/// Default total buffer capacity held by datagrams under reassembly.
pub const DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;
/// Largest reassembled payload (IPv4 maximum; IPv6 jumbograms are not reassembled).
pub const MAX_DATAGRAM_LEN: usize = 65_535;
/// Default reassembly timeout: 30 s, like Linux `ipfrag_time`.
pub const DEFAULT_FRAG_TIMEOUT_NS: u64 = 30_000_000_000;
/// Most frames (duplicates included) accepted for one datagram.
pub const MAX_FRAGMENTS_PER_DATAGRAM: usize = 128;

/// Smallest buffer class is `1 << MIN_CLASS_SHIFT` bytes.
const MIN_CLASS_SHIFT: u32 = 8;
/// Classes 256 B, 512 B, ..., 64 KiB; the last one holds `MAX_DATAGRAM_LEN`.
const NUM_CLASSES: usize = 9;
/// Compact the expiry queue when it holds more than `2 * live + slack` entries.
const QUEUE_SLACK: usize = 32;

/// Size class of a buffer able to hold `len` bytes (`len <= MAX_DATAGRAM_LEN`).
fn class_for(len: usize) -> usize {
    let bits = len.max(1).next_power_of_two().trailing_zeros();
    (bits.saturating_sub(MIN_CLASS_SHIFT) as usize).min(NUM_CLASSES - 1)
}

/// Capacity of the buffers of a class.
fn class_size(class: usize) -> usize {
    1usize << (class as u32 + MIN_CLASS_SHIFT)
}

/// Resource limits of a [`Defragmenter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragLimits {
    /// Datagrams under reassembly at once; 0 disables reassembly (only atomic
    /// fragments complete).
    pub max_datagrams: usize,
    /// Buffer capacity held by datagrams under reassembly (and by the pool).
    pub max_bytes: usize,
    /// A datagram is dropped this long after its first fragment (packet clock).
    pub timeout_ns: u64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        Self {
            max_datagrams: DEFAULT_MAX_DATAGRAMS,
            max_bytes: DEFAULT_MAX_BYTES,
            timeout_ns: DEFAULT_FRAG_TIMEOUT_NS,
        }
    }
}

/// Identifies one datagram under reassembly.
///
/// IPv4 (RFC 791): source, destination, protocol, identification. IPv6
/// (RFC 8200 §4.5): source, destination, identification; the next header of
/// the fragmentable part is included too, which only ever separates more.
/// `zone` is opaque to this module: the caller puts a VLAN, tunnel or
/// interface discriminator there so that equal addresses from different
/// segments never mix. IPv4 and IPv6 keys never compare equal.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FragKey {
    src: [u8; 16],
    dst: [u8; 16],
    id: u32,
    zone: u32,
    proto: u8,
    v6: bool,
}

impl FragKey {
    /// Key of an IPv4 fragment.
    pub fn v4(src: [u8; 4], dst: [u8; 4], proto: u8, id: u16, zone: u32) -> Self {
        let mut s = [0u8; 16];
        let mut d = [0u8; 16];
        s[..4].copy_from_slice(&src);
        d[..4].copy_from_slice(&dst);
        Self {
            src: s,
            dst: d,
            id: u32::from(id),
            zone,
            proto,
            v6: false,
        }
    }

    /// Key of an IPv6 fragment.
    pub fn v6(src: [u8; 16], dst: [u8; 16], next_header: u8, id: u32, zone: u32) -> Self {
        Self {
            src,
            dst,
            id,
            zone,
            proto: next_header,
            v6: true,
        }
    }

    /// Whether this is an IPv6 key.
    pub fn is_v6(&self) -> bool {
        self.v6
    }

    /// Source address.
    pub fn src(&self) -> IpAddr {
        Self::addr(&self.src, self.v6)
    }

    /// Destination address.
    pub fn dst(&self) -> IpAddr {
        Self::addr(&self.dst, self.v6)
    }

    /// IPv4 protocol or IPv6 next header of the fragmentable part.
    pub fn proto(&self) -> u8 {
        self.proto
    }

    /// Identification (16 bits for IPv4, 32 bits for IPv6).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The caller's zone (VLAN, tunnel, ...).
    pub fn zone(&self) -> u32 {
        self.zone
    }

    fn addr(a: &[u8; 16], v6: bool) -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::from(*a))
        } else {
            IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
        }
    }
}

/// Why a fragment was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// No room for a new datagram and nothing could be evicted.
    TooManyDatagrams,
    /// The datagram needs more buffer than `max_bytes` allows even after
    /// evicting every other datagram.
    MemoryLimit,
    /// `offset + len` exceeds [`MAX_DATAGRAM_LEN`].
    TooLarge,
    /// The datagram already had [`MAX_FRAGMENTS_PER_DATAGRAM`] frames; it is
    /// discarded.
    TooManyFragments,
    /// Malformed fragment (empty, misaligned), or inconsistent with the
    /// datagram's known length (then the datagram is discarded).
    BadOffset,
}

/// Result of [`Defragmenter::add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragOutcome<'a> {
    /// Kept; waiting for more fragments.
    Held,
    /// The datagram is complete.
    Complete {
        /// Reassembled IP payload (transport header and data).
        payload: &'a [u8],
        /// Frames that made up the datagram, duplicates included.
        frames: u32,
        /// Sum of the `wire_len` of those frames.
        wire_bytes: u64,
        /// Timestamp of the first frame received for the datagram.
        first_ts_ns: u64,
    },
    /// This fragment was not kept.
    Dropped(DropReason),
}

/// Counters and gauges of a [`Defragmenter`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// `Complete` outcomes.
    pub completed: u64,
    /// Datagrams dropped by the timeout.
    pub timed_out: u64,
    /// `Dropped` outcomes plus datagrams evicted for room.
    pub dropped: u64,
    /// Fragments that overlapped bytes already held (duplicates included).
    pub overlaps: u64,
    /// Datagrams under reassembly now.
    pub held_datagrams: usize,
    /// Buffer capacity held by them now (never above `max_bytes`).
    pub held_bytes: usize,
}

/// One datagram under reassembly.
struct Datagram {
    /// Bytes 0..len() are allocated; only `ranges` hold real data.
    buf: Vec<u8>,
    /// Size class of `buf`, charged to `held_bytes`.
    class: usize,
    /// Received byte ranges `[start, end)`: sorted, disjoint, not touching.
    ranges: Vec<(u32, u32)>,
    /// Total length, once the last fragment (MF clear) has been seen.
    total: Option<u32>,
    first_ts: u64,
    seq: u64,
    frames: u32,
    wire_bytes: u64,
}

/// Entry of the insertion-ordered queue (live if `seq` matches the map).
#[derive(Clone, Copy)]
struct QueueEntry {
    key: FragKey,
    seq: u64,
    first_ts: u64,
}

/// Bounded IP fragment reassembler. See the module documentation.
pub struct Defragmenter {
    limits: DefragLimits,
    map: HashMap<FragKey, Datagram>,
    queue: VecDeque<QueueEntry>,
    next_seq: u64,
    /// Capacity of buffers owned by datagrams in `map`.
    held_bytes: usize,
    /// Capacity of buffers in `pools`.
    pooled_bytes: usize,
    pools: [Vec<Vec<u8>>; NUM_CLASSES],
    range_pool: Vec<Vec<(u32, u32)>>,
    /// Serves the last `Complete` payload.
    done: Vec<u8>,
    done_class: Option<usize>,
    /// Buffers allocated fresh (not taken from the pool); for tests.
    fresh_allocs: u64,
    completed: u64,
    timed_out: u64,
    dropped: u64,
    overlaps: u64,
}

impl Default for Defragmenter {
    fn default() -> Self {
        Self::new(DefragLimits::default())
    }
}

impl Defragmenter {
    /// A reassembler with the given limits. Nothing large is allocated up front.
    pub fn new(limits: DefragLimits) -> Self {
        let prealloc = limits.max_datagrams.min(4096);
        Self {
            limits,
            map: HashMap::with_capacity(prealloc),
            queue: VecDeque::with_capacity(prealloc),
            next_seq: 0,
            held_bytes: 0,
            pooled_bytes: 0,
            pools: std::array::from_fn(|_| Vec::new()),
            range_pool: Vec::new(),
            done: Vec::new(),
            done_class: None,
            fresh_allocs: 0,
            completed: 0,
            timed_out: 0,
            dropped: 0,
            overlaps: 0,
        }
    }

    /// Adds one fragment.
    ///
    /// `offset` is in bytes (fragment offset field * 8), `more` is the MF
    /// flag, `data` is the fragment's payload after the IP header (and after
    /// the IPv6 Fragment header). `ts_ns` is the packet time and `wire_len` the
    /// frame's original length on the wire (only summed for accounting).
    ///
    /// A `Complete` payload borrows from the reassembler and is valid until
    /// the next call.
    #[must_use = "a Complete payload is only available until the next call"]
    pub fn add(
        &mut self,
        key: FragKey,
        offset: u32,
        more: bool,
        data: &[u8],
        ts_ns: u64,
        wire_len: u32,
    ) -> FragOutcome<'_> {
        self.add_frames(key, offset, more, data, ts_ns, 1, u64::from(wire_len))
    }

    /// [`Defragmenter::add`] for a fragment that stands for `frames` frames of `wire_bytes`
    /// on the wire: a fragment found inside a tunnel packet that was itself reassembled from
    /// fragments. `frames` counts towards [`MAX_FRAGMENTS_PER_DATAGRAM`] like as many calls.
    #[allow(clippy::too_many_arguments)]
    #[must_use = "a Complete payload is only available until the next call"]
    pub fn add_frames(
        &mut self,
        key: FragKey,
        offset: u32,
        more: bool,
        data: &[u8],
        ts_ns: u64,
        frames: u32,
        wire_bytes: u64,
    ) -> FragOutcome<'_> {
        // Stateless checks: refuse the fragment, leave any datagram alone.
        let end64 = u64::from(offset) + data.len() as u64;
        if end64 > MAX_DATAGRAM_LEN as u64 {
            return self.refuse(DropReason::TooLarge);
        }
        if data.is_empty() || !offset.is_multiple_of(8) || (more && !data.len().is_multiple_of(8)) {
            return self.refuse(DropReason::BadOffset);
        }
        let end = end64 as u32;

        // Atomic fragment (RFC 6946): complete on its own.
        if offset == 0 && !more {
            self.publish_copy(data);
            self.completed += 1;
            return FragOutcome::Complete {
                payload: &self.done,
                frames,
                wire_bytes,
                first_ts_ns: ts_ns,
            };
        }

        // A datagram past its timeout is not continued: restart it.
        let timeout = self.limits.timeout_ns;
        if self
            .map
            .get(&key)
            .is_some_and(|d| ts_ns.saturating_sub(d.first_ts) >= timeout)
        {
            self.discard(&key);
            self.timed_out += 1;
        }

        if let Some(d) = self.map.get(&key) {
            // Checks against what the datagram already holds.
            let inconsistent = if d.frames as usize >= MAX_FRAGMENTS_PER_DATAGRAM {
                Some(DropReason::TooManyFragments)
            } else if !more {
                match d.total {
                    Some(t) if t != end => Some(DropReason::BadOffset),
                    None if (end as usize) < d.buf.len() => Some(DropReason::BadOffset),
                    _ => None,
                }
            } else if d.total.is_some_and(|t| end > t) {
                Some(DropReason::BadOffset)
            } else {
                None
            };
            if let Some(reason) = inconsistent {
                self.discard(&key);
                return self.refuse(reason);
            }
            let (old_class, new_class) = (d.class, class_for(end as usize));
            if new_class > old_class
                && let Err(reason) = self.grow(&key, old_class, new_class)
            {
                self.discard(&key);
                return self.refuse(reason);
            }
        } else if let Err(reason) = self.start(key, end, ts_ns) {
            return self.refuse(reason);
        }

        let Some(d) = self.map.get_mut(&key) else {
            // Unreachable: the datagram was found or created above.
            return self.refuse(DropReason::MemoryLimit);
        };
        if d.buf.len() < end as usize {
            d.buf.resize(end as usize, 0);
        }
        let overlapped = insert_first_wins(&mut d.ranges, &mut d.buf, offset, end, data);
        d.frames = d.frames.saturating_add(frames);
        d.wire_bytes += wire_bytes;
        if !more {
            d.total = Some(end);
        }
        let complete = d.total.is_some_and(|t| d.ranges.len() == 1 && d.ranges[0] == (0, t));
        if overlapped {
            self.overlaps += 1;
        }
        if !complete {
            return FragOutcome::Held;
        }

        let Some(d) = self.map.remove(&key) else {
            return FragOutcome::Held;
        };
        // Its queue entry is now stale; drop it right away if it is in front.
        if self.queue.front().is_some_and(|e| e.seq == d.seq) {
            self.queue.pop_front();
        }
        let Datagram {
            mut buf,
            class,
            ranges,
            total,
            first_ts,
            frames,
            wire_bytes,
            ..
        } = d;
        buf.truncate(total.unwrap_or(end) as usize);
        self.held_bytes -= class_size(class);
        self.recycle_ranges(ranges);
        self.publish(buf, class);
        self.completed += 1;
        FragOutcome::Complete {
            payload: &self.done,
            frames,
            wire_bytes,
            first_ts_ns: first_ts,
        }
    }

    /// The payload of the last `Complete` outcome (empty before the first).
    pub fn last_payload(&self) -> &[u8] {
        &self.done
    }

    /// Drops every datagram whose first fragment arrived `timeout_ns` or more
    /// before `now_ns` (packet clock). Returns how many expired.
    ///
    /// Only the front of the insertion-ordered queue is examined, so calling
    /// it for every packet is cheap.
    pub fn expire(&mut self, now_ns: u64) -> usize {
        let mut expired = 0;
        while let Some(&e) = self.queue.front() {
            if !self.is_live(&e) {
                self.queue.pop_front();
                continue;
            }
            if now_ns.saturating_sub(e.first_ts) < self.limits.timeout_ns {
                break;
            }
            self.queue.pop_front();
            self.discard(&e.key);
            self.timed_out += 1;
            expired += 1;
        }
        expired
    }

    /// Current counters.
    pub fn stats(&self) -> DefragStats {
        DefragStats {
            completed: self.completed,
            timed_out: self.timed_out,
            dropped: self.dropped,
            overlaps: self.overlaps,
            held_datagrams: self.map.len(),
            held_bytes: self.held_bytes,
        }
    }

    fn refuse(&mut self, reason: DropReason) -> FragOutcome<'static> {
        self.dropped += 1;
        FragOutcome::Dropped(reason)
    }

    fn is_live(&self, e: &QueueEntry) -> bool {
        self.map.get(&e.key).is_some_and(|d| d.seq == e.seq)
    }

    /// Creates the datagram for a first-seen key whose first fragment ends at `end`.
    fn start(&mut self, key: FragKey, end: u32, ts_ns: u64) -> Result<(), DropReason> {
        let class = class_for(end as usize);
        if self.limits.max_datagrams == 0 {
            return Err(DropReason::TooManyDatagrams);
        }
        if class_size(class) > self.limits.max_bytes {
            return Err(DropReason::MemoryLimit);
        }
        while self.map.len() >= self.limits.max_datagrams {
            if !self.evict_oldest(None) {
                return Err(DropReason::TooManyDatagrams);
            }
        }
        let buf = self.acquire(class, None, 0).ok_or(DropReason::MemoryLimit)?;
        let ranges = self.range_pool.pop().unwrap_or_default();
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.map.insert(
            key,
            Datagram {
                buf,
                class,
                ranges,
                total: None,
                first_ts: ts_ns,
                seq,
                frames: 0,
                wire_bytes: 0,
            },
        );
        self.queue.push_back(QueueEntry {
            key,
            seq,
            first_ts: ts_ns,
        });
        if self.queue.len() > 2 * self.map.len() + QUEUE_SLACK {
            let map = &self.map;
            self.queue.retain(|e| map.get(&e.key).is_some_and(|d| d.seq == e.seq));
        }
        Ok(())
    }

    /// Moves the datagram at `key` to a buffer of a larger class.
    fn grow(&mut self, key: &FragKey, old_class: usize, new_class: usize) -> Result<(), DropReason> {
        // The old buffer is given back right after the copy, so it is credited.
        let new_buf = self
            .acquire(new_class, Some(*key), class_size(old_class))
            .ok_or(DropReason::MemoryLimit)?;
        let Some(d) = self.map.get_mut(key) else {
            // Unreachable: `acquire` never evicts the protected key.
            self.held_bytes -= class_size(new_class);
            self.recycle(new_buf, new_class);
            return Err(DropReason::MemoryLimit);
        };
        let mut new_buf = new_buf;
        new_buf.extend_from_slice(&d.buf);
        let old = std::mem::replace(&mut d.buf, new_buf);
        d.class = new_class;
        self.held_bytes -= class_size(old_class);
        self.recycle(old, old_class);
        Ok(())
    }

    /// Takes a buffer of `class` for a datagram, charging it to `held_bytes`.
    ///
    /// Evicts the oldest datagrams other than `protect` while the budget is
    /// exceeded; `credit` is capacity the caller releases right after.
    fn acquire(&mut self, class: usize, protect: Option<FragKey>, credit: usize) -> Option<Vec<u8>> {
        let need = class_size(class);
        if need > self.limits.max_bytes {
            return None;
        }
        let budget = self.limits.max_bytes.saturating_add(credit);
        while self.held_bytes + need > budget {
            if !self.evict_oldest(protect) {
                return None;
            }
        }
        if self.pools[class].is_empty() {
            // A fresh buffer: make room by freeing pooled ones (largest first).
            let target = budget - self.held_bytes - need;
            let mut c = NUM_CLASSES;
            while self.pooled_bytes > target && c > 0 {
                match self.pools[c - 1].pop() {
                    Some(b) => {
                        self.pooled_bytes -= class_size(c - 1);
                        drop(b);
                    }
                    None => c -= 1,
                }
            }
        }
        let buf = self.pool_take(class);
        self.held_bytes += need;
        Some(buf)
    }

    /// An empty buffer of `class`: from the pool, or freshly allocated.
    fn pool_take(&mut self, class: usize) -> Vec<u8> {
        match self.pools[class].pop() {
            Some(mut b) => {
                self.pooled_bytes -= class_size(class);
                b.clear();
                b
            }
            None => {
                self.fresh_allocs += 1;
                Vec::with_capacity(class_size(class))
            }
        }
    }

    /// Gives a buffer (not charged to `held_bytes`) back to the pool if the
    /// budget allows, otherwise frees it.
    fn recycle(&mut self, buf: Vec<u8>, class: usize) {
        let size = class_size(class);
        if self.held_bytes + self.pooled_bytes + size <= self.limits.max_bytes {
            self.pools[class].push(buf);
            self.pooled_bytes += size;
        }
    }

    fn recycle_ranges(&mut self, mut ranges: Vec<(u32, u32)>) {
        // At most one list exists per datagram ever held at once, so this
        // pool is bounded by `max_datagrams` without a check.
        ranges.clear();
        self.range_pool.push(ranges);
    }

    /// Removes a datagram and returns its memory (no statistics).
    fn discard(&mut self, key: &FragKey) {
        if let Some(d) = self.map.remove(key) {
            self.held_bytes -= class_size(d.class);
            self.recycle(d.buf, d.class);
            self.recycle_ranges(d.ranges);
        }
    }

    /// Evicts the oldest datagram other than `protect`; false if there is none.
    fn evict_oldest(&mut self, protect: Option<FragKey>) -> bool {
        let mut i = 0;
        while let Some(&e) = self.queue.get(i) {
            if !self.is_live(&e) {
                if i == 0 {
                    self.queue.pop_front();
                } else {
                    i += 1;
                }
                continue;
            }
            if protect == Some(e.key) {
                i += 1;
                continue;
            }
            if i == 0 {
                self.queue.pop_front();
            }
            self.discard(&e.key);
            self.dropped += 1;
            return true;
        }
        false
    }

    /// Makes `buf` the buffer serving the `Complete` payload; the previous one
    /// goes back to the pool.
    fn publish(&mut self, buf: Vec<u8>, class: usize) {
        let old = std::mem::replace(&mut self.done, buf);
        if let Some(old_class) = self.done_class.replace(class) {
            self.recycle(old, old_class);
        }
    }

    /// Copies `data` into the buffer serving the `Complete` payload.
    fn publish_copy(&mut self, data: &[u8]) {
        let class = class_for(data.len());
        if self.done_class.is_none_or(|c| c < class) {
            let buf = self.pool_take(class);
            self.publish(buf, class);
        }
        self.done.clear();
        self.done.extend_from_slice(data);
    }
}

/// Records `[s, e)` in `ranges` and copies the parts of `data` (which starts
/// at `s`) that fall into holes; bytes already received are kept (first
/// wins). Returns whether any byte was already held.
fn insert_first_wins(ranges: &mut Vec<(u32, u32)>, buf: &mut [u8], s: u32, e: u32, data: &[u8]) -> bool {
    let mut copy = |a: u32, b: u32| {
        buf[a as usize..b as usize].copy_from_slice(&data[(a - s) as usize..(b - s) as usize]);
    };
    let mut overlapped = false;
    let mut cur = s;
    let first = ranges.partition_point(|&(_, re)| re <= s);
    for &(rs, re) in &ranges[first..] {
        if rs >= e {
            break;
        }
        if rs > cur {
            copy(cur, rs);
        }
        overlapped = true;
        cur = cur.max(re);
        if cur >= e {
            break;
        }
    }
    if cur < e {
        copy(cur, e);
    }
    // Merge with every range overlapping or touching [s, e).
    let i = ranges.partition_point(|&(_, re)| re < s);
    let j = ranges.partition_point(|&(rs, _)| rs <= e);
    if i < j {
        ranges[i] = (s.min(ranges[i].0), e.max(ranges[j - 1].1));
        ranges.drain(i + 1..j);
    } else {
        ranges.insert(i, (s, e));
    }
    overlapped
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[derive(Clone, Debug)]
    struct Frag {
        off: u32,
        more: bool,
        data: Vec<u8>,
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
            .collect()
    }

    /// Fragments of `size` bytes (a multiple of 8), the last one shorter.
    fn fragment(payload: &[u8], size: usize) -> Vec<Frag> {
        payload
            .chunks(size)
            .enumerate()
            .map(|(i, c)| Frag {
                off: (i * size) as u32,
                more: (i + 1) * size < payload.len(),
                data: c.to_vec(),
            })
            .collect()
    }

    fn key4(id: u16) -> FragKey {
        FragKey::v4([10, 0, 0, 1], [10, 0, 0, 2], 17, id, 0)
    }

    fn wire(f: &Frag) -> u32 {
        f.data.len() as u32 + 34
    }

    /// Owned `Complete` outcome: (payload, frames, wire_bytes, first_ts).
    type Done = (Vec<u8>, u32, u64, u64);

    /// Owned copy of a `Complete` outcome.
    fn complete(o: FragOutcome<'_>) -> Option<Done> {
        match o {
            FragOutcome::Complete {
                payload,
                frames,
                wire_bytes,
                first_ts_ns,
            } => Some((payload.to_vec(), frames, wire_bytes, first_ts_ns)),
            _ => None,
        }
    }

    /// Feeds fragments in the given order; returns the outcomes (owned).
    fn feed(d: &mut Defragmenter, key: FragKey, frags: &[Frag], ts0: u64) -> Vec<Option<Done>> {
        frags
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let o = d.add(key, f.off, f.more, &f.data, ts0 + i as u64, wire(f));
                assert!(!matches!(o, FragOutcome::Dropped(_)), "dropped: {o:?}");
                complete(o)
            })
            .collect()
    }

    fn check_invariants(d: &Defragmenter) {
        let st = d.stats();
        assert!(st.held_bytes <= d.limits.max_bytes, "{st:?}");
        assert!(d.held_bytes + d.pooled_bytes <= d.limits.max_bytes);
        assert!(st.held_datagrams <= d.limits.max_datagrams);
        // Compaction runs on insertion, so the queue is bounded by the peak
        // number of datagrams, which is at most `max_datagrams`.
        assert!(d.queue.len() <= 2 * d.limits.max_datagrams + QUEUE_SLACK + 1);
        let charged: usize = d.map.values().map(|g| class_size(g.class)).sum();
        assert_eq!(charged, d.held_bytes);
        let pooled: usize = d.pools.iter().enumerate().map(|(c, p)| p.len() * class_size(c)).sum();
        assert_eq!(pooled, d.pooled_bytes);
        for g in d.map.values() {
            assert!(g.buf.capacity() >= g.buf.len());
            assert!(g.buf.len() <= class_size(g.class));
            assert!(g.ranges.len() <= MAX_FRAGMENTS_PER_DATAGRAM);
        }
    }

    #[test]
    fn class_sizes() {
        assert_eq!(class_for(0), 0);
        assert_eq!(class_for(1), 0);
        assert_eq!(class_for(256), 0);
        assert_eq!(class_for(257), 1);
        assert_eq!(class_for(1480), 3);
        assert_eq!(class_for(MAX_DATAGRAM_LEN), NUM_CLASSES - 1);
        assert_eq!(class_size(NUM_CLASSES - 1), 65_536);
    }

    #[test]
    fn in_order() {
        let payload = pattern(1000, 1);
        let frags = fragment(&payload, 256);
        assert_eq!(frags.len(), 4);
        let mut d = Defragmenter::default();
        let out = feed(&mut d, key4(1), &frags, 1_000);
        assert!(out[..3].iter().all(Option::is_none));
        let (p, frames, wire_bytes, first) = out[3].clone().expect("complete");
        assert_eq!(p, payload);
        assert_eq!(frames, 4);
        assert_eq!(wire_bytes, 1000 + 4 * 34);
        assert_eq!(first, 1_000);
        let st = d.stats();
        assert_eq!(st.completed, 1);
        assert_eq!(st.held_datagrams, 0);
        assert_eq!(st.held_bytes, 0);
        assert_eq!(st.overlaps, 0);
        assert_eq!(st.dropped, 0);
    }

    #[test]
    fn reverse_order() {
        let payload = pattern(1000, 2);
        let mut frags = fragment(&payload, 248);
        frags.reverse();
        let mut d = Defragmenter::default();
        let out = feed(&mut d, key4(2), &frags, 5);
        let n = frags.len();
        assert!(out[..n - 1].iter().all(Option::is_none));
        let (p, frames, wire_bytes, first) = out[n - 1].clone().expect("complete");
        assert_eq!(p, payload);
        assert_eq!(frames as usize, n);
        assert_eq!(wire_bytes, 1000 + 34 * n as u64);
        assert_eq!(first, 5);
    }

    #[test]
    fn shuffled_orders() {
        let payload = pattern(1000, 3);
        let frags = fragment(&payload, 96);
        let n = frags.len();
        let mut d = Defragmenter::default();
        for (round, step) in [3usize, 5, 7, 9].into_iter().enumerate() {
            // step is coprime with n = 11, so this is a permutation.
            let order: Vec<Frag> = (0..n).map(|i| frags[(i * step) % n].clone()).collect();
            let out = feed(&mut d, key4(10 + round as u16), &order, 0);
            assert!(out[..n - 1].iter().all(Option::is_none));
            assert_eq!(out[n - 1].clone().expect("complete").0, payload);
        }
        assert_eq!(d.stats().completed, 4);
        assert_eq!(d.stats().held_bytes, 0);
    }

    #[test]
    fn duplicate_fragment_counts_as_frame() {
        let payload = pattern(1000, 4);
        let frags = fragment(&payload, 256);
        let order = vec![
            frags[0].clone(),
            frags[1].clone(),
            frags[1].clone(),
            frags[2].clone(),
            frags[3].clone(),
        ];
        let mut d = Defragmenter::default();
        let out = feed(&mut d, key4(3), &order, 0);
        let (p, frames, wire_bytes, _) = out[4].clone().expect("complete");
        assert_eq!(p, payload);
        assert_eq!(frames, 5);
        assert_eq!(wire_bytes, 1000 + 256 + 5 * 34);
        assert_eq!(d.stats().overlaps, 1);
    }

    #[test]
    fn overlap_first_wins() {
        let mut d = Defragmenter::default();
        let k = key4(4);
        let a = [b'A'; 16];
        let b = [b'B'; 16];
        let c = [b'C'; 8];
        assert_eq!(d.add(k, 0, true, &a, 0, 50), FragOutcome::Held);
        // [8, 24) overlaps [8, 16): those bytes stay 'A'.
        assert_eq!(d.add(k, 8, true, &b, 1, 50), FragOutcome::Held);
        assert_eq!(d.stats().overlaps, 1);
        // A later last fragment covering [8, 40) only fills the hole [24, 32)
        // and the new tail [32, 40). (Offset 0 with MF clear would be an
        // atomic fragment, reassembled on its own.)
        let mut big = vec![b'Z'; 24];
        big.extend_from_slice(&c);
        let (p, frames, wire_bytes, _) = complete(d.add(k, 8, false, &big, 2, 80)).expect("complete");
        let mut want = vec![b'A'; 16];
        want.extend_from_slice(&[b'B'; 8]);
        want.extend_from_slice(&[b'Z'; 8]);
        want.extend_from_slice(&c);
        assert_eq!(p, want);
        assert_eq!(frames, 3);
        assert_eq!(wire_bytes, 180);
        assert_eq!(d.stats().overlaps, 2);
    }

    #[test]
    fn missing_middle_expires() {
        let payload = pattern(1000, 5);
        let frags = fragment(&payload, 256);
        let limits = DefragLimits::default();
        let mut d = Defragmenter::new(limits);
        let k = key4(5);
        let t0 = 7_000_000_000;
        for f in [&frags[0], &frags[2], &frags[3]] {
            assert_eq!(d.add(k, f.off, f.more, &f.data, t0, wire(f)), FragOutcome::Held);
        }
        assert_eq!(d.stats().held_datagrams, 1);
        assert!(d.stats().held_bytes > 0);
        assert_eq!(d.expire(t0 + limits.timeout_ns - 1), 0);
        assert_eq!(d.stats().held_datagrams, 1);
        assert_eq!(d.expire(t0 + limits.timeout_ns), 1);
        let st = d.stats();
        assert_eq!(st.timed_out, 1);
        assert_eq!(st.held_datagrams, 0);
        assert_eq!(st.held_bytes, 0);
        assert_eq!(st.completed, 0);
        // The late middle fragment starts a new datagram, which is held.
        let f = &frags[1];
        assert_eq!(
            d.add(k, f.off, f.more, &f.data, t0 + limits.timeout_ns + 1, 1),
            FragOutcome::Held
        );
        assert_eq!(d.expire(u64::MAX), 1);
        assert_eq!(d.expire(u64::MAX), 0);
    }

    #[test]
    fn stale_datagram_restarts_on_new_fragment() {
        let payload = pattern(600, 6);
        let frags = fragment(&payload, 256);
        let mut d = Defragmenter::default();
        let k = key4(6);
        let f = &frags[0];
        assert_eq!(d.add(k, f.off, f.more, &f.data, 0, 1), FragOutcome::Held);
        // Identification reused after the timeout, without expire() calls.
        let t = DEFAULT_FRAG_TIMEOUT_NS + 5;
        let out = feed(&mut d, k, &frags, t);
        let (p, frames, _, first) = out[2].clone().expect("complete");
        assert_eq!(p, payload);
        assert_eq!(frames, 3);
        assert_eq!(first, t);
        assert_eq!(d.stats().timed_out, 1);
    }

    #[test]
    fn max_datagrams_evicts_oldest() {
        let limits = DefragLimits {
            max_datagrams: 8,
            ..DefragLimits::default()
        };
        let mut d = Defragmenter::new(limits);
        let payload = pattern(512, 7);
        let frags = fragment(&payload, 256);
        for id in 0..20u16 {
            let f = &frags[0];
            assert_eq!(
                d.add(key4(id), f.off, f.more, &f.data, u64::from(id), 1),
                FragOutcome::Held
            );
            check_invariants(&d);
            assert!(d.stats().held_datagrams <= 8);
        }
        assert_eq!(d.stats().dropped, 12);
        assert_eq!(d.stats().held_datagrams, 8);
        let f = &frags[1];
        // id 0 was evicted: its second half starts a new datagram.
        assert_eq!(d.add(key4(0), f.off, f.more, &f.data, 30, 1), FragOutcome::Held);
        // id 19 is still there.
        let (p, ..) = complete(d.add(key4(19), f.off, f.more, &f.data, 31, 1)).expect("complete");
        assert_eq!(p, payload);
    }

    #[test]
    fn max_bytes_never_exceeded() {
        let limits = DefragLimits {
            max_bytes: 100_000,
            ..DefragLimits::default()
        };
        let mut d = Defragmenter::new(limits);
        for id in 0..500u16 {
            // Hostile: only a last fragment far out, costing a 64 KiB buffer,
            // or a small first fragment.
            let o = if id % 3 == 0 {
                d.add(key4(id), 60_000, false, &[1; 100], 0, 1)
            } else {
                d.add(key4(id), 0, true, &[2; 1480], 0, 1)
            };
            assert_eq!(o, FragOutcome::Held);
            check_invariants(&d);
            assert!(d.stats().held_bytes <= 100_000);
        }
        assert!(d.stats().dropped > 0);
        // A datagram that cannot fit at all is refused.
        let mut small = Defragmenter::new(DefragLimits {
            max_bytes: 4096,
            ..DefragLimits::default()
        });
        assert_eq!(
            small.add(key4(1), 60_000, false, &[1; 100], 0, 1),
            FragOutcome::Dropped(DropReason::MemoryLimit)
        );
        assert_eq!(small.add(key4(2), 0, true, &[1; 1024], 0, 1), FragOutcome::Held);
        // Growing past the budget discards the datagram.
        assert_eq!(
            small.add(key4(2), 1024, true, &[1; 4096], 0, 1),
            FragOutcome::Dropped(DropReason::MemoryLimit)
        );
        assert_eq!(small.stats().held_datagrams, 0);
        assert_eq!(small.stats().held_bytes, 0);
    }

    #[test]
    fn growth_uses_credit_of_old_buffer() {
        // Exactly one 64 KiB buffer fits; growing into it must work.
        let mut d = Defragmenter::new(DefragLimits {
            max_bytes: 65_536,
            ..DefragLimits::default()
        });
        let payload = pattern(60_000, 8);
        let out = feed(&mut d, key4(1), &fragment(&payload, 1480), 0);
        assert_eq!(out.last().cloned().flatten().expect("complete").0, payload);
        check_invariants(&d);
    }

    #[test]
    fn too_large() {
        let mut d = Defragmenter::default();
        assert_eq!(
            d.add(key4(1), 65_528, false, &[0; 16], 0, 1),
            FragOutcome::Dropped(DropReason::TooLarge)
        );
        assert_eq!(
            d.add(key4(1), 0, false, &vec![0; MAX_DATAGRAM_LEN + 1], 0, 1),
            FragOutcome::Dropped(DropReason::TooLarge)
        );
        // Exactly the maximum is fine.
        assert_eq!(d.add(key4(1), 65_528, false, &[0; 7], 0, 1), FragOutcome::Held);
        assert_eq!(d.stats().dropped, 2);
    }

    #[test]
    fn bad_offset() {
        let mut d = Defragmenter::default();
        let k = key4(1);
        // Non-last fragment not a multiple of 8.
        assert_eq!(
            d.add(k, 0, true, &[0; 100], 0, 1),
            FragOutcome::Dropped(DropReason::BadOffset)
        );
        // Offset not a multiple of 8.
        assert_eq!(
            d.add(k, 4, false, &[0; 8], 0, 1),
            FragOutcome::Dropped(DropReason::BadOffset)
        );
        // Empty fragment.
        assert_eq!(
            d.add(k, 8, true, &[], 0, 1),
            FragOutcome::Dropped(DropReason::BadOffset)
        );
        assert_eq!(d.stats().held_datagrams, 0);
        assert_eq!(d.stats().dropped, 3);
    }

    #[test]
    fn conflicting_last_fragment_drops_datagram() {
        let mut d = Defragmenter::default();
        let k = key4(1);
        assert_eq!(d.add(k, 0, true, &[0; 64], 0, 1), FragOutcome::Held);
        assert_eq!(d.add(k, 128, false, &[0; 10], 0, 1), FragOutcome::Held);
        assert_eq!(
            d.add(k, 128, false, &[0; 20], 0, 1),
            FragOutcome::Dropped(DropReason::BadOffset)
        );
        assert_eq!(d.stats().held_datagrams, 0);
        assert_eq!(d.stats().held_bytes, 0);
        // Data past the known end.
        assert_eq!(d.add(k, 128, false, &[0; 10], 0, 1), FragOutcome::Held);
        assert_eq!(
            d.add(k, 136, true, &[0; 8], 0, 1),
            FragOutcome::Dropped(DropReason::BadOffset)
        );
        assert_eq!(d.stats().held_datagrams, 0);
        // A last fragment ending before data already held.
        assert_eq!(d.add(k, 64, true, &[0; 64], 0, 1), FragOutcome::Held);
        assert_eq!(
            d.add(k, 32, false, &[0; 8], 0, 1),
            FragOutcome::Dropped(DropReason::BadOffset)
        );
        assert_eq!(d.stats().held_datagrams, 0);
        // The same last fragment twice is only a duplicate.
        assert_eq!(d.add(k, 128, false, &[0; 10], 0, 1), FragOutcome::Held);
        assert_eq!(d.add(k, 128, false, &[0; 10], 0, 1), FragOutcome::Held);
        assert_eq!(d.stats().held_datagrams, 1);
        assert_eq!(d.stats().dropped, 3);
    }

    #[test]
    fn too_many_fragments() {
        let mut d = Defragmenter::default();
        let k = key4(9);
        for i in 0..MAX_FRAGMENTS_PER_DATAGRAM as u32 {
            assert_eq!(d.add(k, i * 8, true, &[1; 8], 0, 1), FragOutcome::Held);
        }
        assert_eq!(
            d.add(k, 8 * MAX_FRAGMENTS_PER_DATAGRAM as u32, false, &[1; 8], 0, 1),
            FragOutcome::Dropped(DropReason::TooManyFragments)
        );
        assert_eq!(d.stats().held_datagrams, 0);
        assert_eq!(d.stats().held_bytes, 0);
        // Duplicates count toward the limit too.
        for _ in 0..MAX_FRAGMENTS_PER_DATAGRAM {
            assert_eq!(d.add(k, 0, true, &[1; 8], 0, 1), FragOutcome::Held);
        }
        assert_eq!(
            d.add(k, 8, false, &[1; 8], 0, 1),
            FragOutcome::Dropped(DropReason::TooManyFragments)
        );
    }

    #[test]
    fn atomic_fragment_is_independent() {
        let mut d = Defragmenter::default();
        let k = key4(1);
        assert_eq!(d.add(k, 0, true, &[1; 8], 0, 1), FragOutcome::Held);
        let (p, frames, wire_bytes, first) = complete(d.add(k, 0, false, &[9; 20], 3, 62)).expect("complete");
        assert_eq!(p, vec![9; 20]);
        assert_eq!((frames, wire_bytes, first), (1, 62, 3));
        assert_eq!(d.stats().held_datagrams, 1);
        let (p, ..) = complete(d.add(k, 8, false, &[2; 4], 4, 1)).expect("complete");
        assert_eq!(p, vec![1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
    }

    #[test]
    fn keys_separate_families_and_zones() {
        let v4 = FragKey::v4([1, 2, 3, 4], [5, 6, 7, 8], 6, 77, 0);
        let mut s6 = [0u8; 16];
        s6[..4].copy_from_slice(&[1, 2, 3, 4]);
        let mut d6 = [0u8; 16];
        d6[..4].copy_from_slice(&[5, 6, 7, 8]);
        let v6 = FragKey::v6(s6, d6, 6, 77, 0);
        let z1 = FragKey::v4([1, 2, 3, 4], [5, 6, 7, 8], 6, 77, 1);
        assert_ne!(v4, v6);
        assert_ne!(v4, z1);
        assert!(v6.is_v6() && !v4.is_v6());
        assert_eq!(v4.src().to_string(), "1.2.3.4");
        assert_eq!(v6.dst().to_string(), "506:708::");
        assert_eq!((v4.id(), v4.zone(), v4.proto()), (77, 0, 6));

        let payloads = [pattern(700, 10), pattern(700, 20), pattern(700, 30)];
        let keys = [v4, v6, z1];
        let frags: Vec<Vec<Frag>> = payloads.iter().map(|p| fragment(p, 256)).collect();
        let mut d = Defragmenter::default();
        let mut done = 0;
        // Interleave the three datagrams fragment by fragment.
        for i in 0..3 {
            for (k, (key, fr)) in keys.iter().zip(&frags).enumerate() {
                let f = &fr[i];
                let o = d.add(*key, f.off, f.more, &f.data, 0, 1);
                if i < 2 {
                    assert_eq!(o, FragOutcome::Held);
                } else {
                    assert_eq!(complete(o).expect("complete").0, payloads[k]);
                    done += 1;
                }
            }
        }
        assert_eq!(done, 3);
        assert_eq!(d.stats().overlaps, 0);
    }

    #[test]
    fn steady_state_reuses_buffers() {
        let mut d = Defragmenter::default();
        let mut rng = XorShift(0x1234_5678_9abc_def1);
        let mut allocs_after_warmup = 0;
        for n in 0..3000u32 {
            let len = 1 + rng.below(9000) as usize;
            let payload = pattern(len, n as u8);
            let out = feed(&mut d, key4(n as u16), &fragment(&payload, 1480), u64::from(n));
            assert_eq!(out.last().cloned().flatten().expect("complete").0, payload);
            if n == 500 {
                allocs_after_warmup = d.fresh_allocs;
            }
        }
        assert_eq!(d.fresh_allocs, allocs_after_warmup);
        assert!(d.fresh_allocs < 20, "{}", d.fresh_allocs);
        assert!(d.range_pool.len() <= 1);
    }

    #[test]
    fn queue_stays_bounded_without_expire() {
        let mut d = Defragmenter::default();
        let payload = pattern(600, 1);
        let frags = fragment(&payload, 256);
        for n in 0..10_000u32 {
            // Complete out of insertion order, leaving stale queue entries.
            let (a, b) = (key4(n as u16), key4(n.wrapping_add(1) as u16));
            let _ = d.add(a, frags[0].off, true, &frags[0].data, 0, 1);
            let _ = d.add(b, frags[0].off, true, &frags[0].data, 0, 1);
            feed(&mut d, b, &frags[1..], 0);
            feed(&mut d, a, &frags[1..], 0);
            check_invariants(&d);
            assert!(d.queue.len() <= 2 * 2 + QUEUE_SLACK + 1);
        }
        assert_eq!(d.stats().held_datagrams, 0);
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }

        fn shuffle<T>(&mut self, v: &mut [T]) {
            for i in (1..v.len()).rev() {
                let j = self.below(i as u64 + 1) as usize;
                v.swap(i, j);
            }
        }
    }

    /// Random 8-byte-aligned fragmentation of `payload`, plus aligned
    /// overlapping extras carrying the same bytes.
    fn random_fragments(rng: &mut XorShift, payload: &[u8], extras: usize) -> Vec<Frag> {
        let len = payload.len();
        let pieces = 1 + rng.below(40) as usize;
        let base = (len / pieces).div_ceil(8).max(1) * 8;
        let mut frags = Vec::new();
        let mut off = 0;
        while off < len {
            let size = base + 8 * rng.below(base as u64 / 8 + 1) as usize;
            let end = (off + size).min(len);
            frags.push(Frag {
                off: off as u32,
                more: end < len,
                data: payload[off..end].to_vec(),
            });
            off = end;
        }
        for _ in 0..extras {
            let a = 8 * rng.below(len as u64 / 8 + 1) as usize;
            let mut b = a + 8 * (1 + rng.below(64) as usize);
            if b >= len {
                b = len;
            }
            if a >= b {
                continue;
            }
            frags.push(Frag {
                off: a as u32,
                more: b < len,
                data: payload[a..b].to_vec(),
            });
        }
        frags
    }

    fn random_key(rng: &mut XorShift, id: u32) -> FragKey {
        let zone = rng.below(3) as u32;
        if rng.chance(50) {
            FragKey::v4([192, 168, 0, 1], [192, 168, 0, 2], 17, id as u16, zone)
        } else {
            let mut s = [0u8; 16];
            s[0] = 0x20;
            s[15] = 1;
            FragKey::v6(s, [0xfe; 16], 6, id, zone)
        }
    }

    fn random_len(rng: &mut XorShift) -> usize {
        match rng.below(10) {
            0 => 1 + rng.below(MAX_DATAGRAM_LEN as u64) as usize,
            1..=3 => 1 + rng.below(64) as usize,
            _ => 1 + rng.below(4000) as usize,
        }
    }

    fn randomized(seed: u64, limits: DefragLimits, lossy: bool, rounds: u32) {
        let mut rng = XorShift(seed);
        let mut d = Defragmenter::new(limits);
        let mut originals: HashMap<FragKey, Vec<u8>> = HashMap::new();
        let mut completed: HashSet<FragKey> = HashSet::new();
        let mut next_id = 0u32;
        let mut now = 0u64;
        for _ in 0..rounds {
            let mut batch: Vec<(FragKey, Frag)> = Vec::new();
            for _ in 0..1 + rng.below(8) {
                next_id += 1;
                let key = random_key(&mut rng, next_id);
                let len = random_len(&mut rng);
                let payload: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                let extras = rng.below(4) as usize;
                let mut frags = random_fragments(&mut rng, &payload, extras);
                let dups: Vec<Frag> = frags.iter().filter(|_| rng.chance(10)).cloned().collect();
                frags.extend(dups);
                for f in frags {
                    if lossy && rng.chance(5) {
                        continue;
                    }
                    batch.push((key, f));
                }
                originals.insert(key, payload);
            }
            if lossy {
                // Garbage in a zone no original uses: may complete with
                // anything, must not panic.
                for _ in 0..rng.below(6) {
                    let key = FragKey::v4([6; 4], [7; 4], 1, rng.below(16) as u16, 99);
                    let off = 8 * rng.below(70_000 / 8) as u32;
                    let len = rng.below(3000) as usize;
                    let more = rng.chance(70);
                    batch.push((
                        key,
                        Frag {
                            off,
                            more,
                            data: vec![0xAA; len],
                        },
                    ));
                }
            }
            rng.shuffle(&mut batch);
            for (key, f) in &batch {
                now += rng.below(50_000_000);
                let o = d.add(*key, f.off, f.more, &f.data, now, wire(f));
                if let FragOutcome::Complete { payload, frames, .. } = o {
                    assert!(payload.len() <= MAX_DATAGRAM_LEN);
                    assert!(frames as usize <= MAX_FRAGMENTS_PER_DATAGRAM);
                    if key.zone() != 99 {
                        assert_eq!(payload, &originals[key][..], "key {key:?}");
                        completed.insert(*key);
                    }
                } else if let FragOutcome::Dropped(r) = o {
                    assert!(lossy, "unexpected drop {r:?}");
                }
                check_invariants(&d);
                if rng.chance(20) {
                    d.expire(now);
                    check_invariants(&d);
                }
            }
        }
        if !lossy {
            assert_eq!(completed.len(), originals.len());
        } else {
            assert!(!completed.is_empty());
        }
        d.expire(u64::MAX);
        assert_eq!(d.stats().held_datagrams, 0);
        assert_eq!(d.stats().held_bytes, 0);
        check_invariants(&d);
    }

    #[test]
    fn randomized_lossless() {
        let limits = DefragLimits {
            max_datagrams: 64,
            ..DefragLimits::default()
        };
        randomized(0x9e37_79b9_7f4a_7c15, limits, false, 400);
    }

    #[test]
    fn randomized_lossy_tight_limits() {
        for (i, seed) in [1u64, 0xdead_beef, 0x0123_4567_89ab_cdef].into_iter().enumerate() {
            let limits = DefragLimits {
                max_datagrams: 4 + 2 * i,
                max_bytes: 160_000 + 50_000 * i,
                timeout_ns: 2_000_000_000,
            };
            randomized(seed, limits, true, 400);
        }
    }
}
