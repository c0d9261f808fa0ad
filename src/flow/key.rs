//! The bidirectional flow key and a fast hasher for the flow table.

use std::hash::{BuildHasherDefault, Hasher};

use crate::decode::{Addr, MAX_VLAN_TAGS};

/// Identifies a flow regardless of direction: the two endpoints in a canonical order, the IP
/// protocol and the VLAN ids (as Suricata does by default, so that overlapping address spaces
/// on different VLANs stay apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub lo: Addr,
    pub hi: Addr,
    pub lo_port: u16,
    pub hi_port: u16,
    pub proto: u8,
    pub vlan: [u16; MAX_VLAN_TAGS],
    pub vlan_count: u8,
}

impl FlowKey {
    /// The key of a packet from `(src, sport)` to `(dst, dport)`, and whether the source is the
    /// key's `lo` endpoint.
    pub fn new(
        src: Addr,
        sport: u16,
        dst: Addr,
        dport: u16,
        proto: u8,
        vlan: [u16; MAX_VLAN_TAGS],
        vlan_count: u8,
    ) -> (FlowKey, bool) {
        let src_lo = (src, sport) <= (dst, dport);
        let (lo, lo_port, hi, hi_port) = if src_lo {
            (src, sport, dst, dport)
        } else {
            (dst, dport, src, sport)
        };
        (
            FlowKey {
                lo,
                hi,
                lo_port,
                hi_port,
                proto,
                vlan,
                vlan_count,
            },
            src_lo,
        )
    }
}

/// The Firefox/rustc "Fx" hash: one multiply-rotate per word. Flow keys are not chosen by a
/// single attacker-controlled field alone, and the table is capped, so a fast non-keyed hash is
/// acceptable here (the same trade Suricata and Zeek make with their flow hashes).
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let mut tail = 0u64;
        for (i, &b) in chunks.remainder().iter().enumerate() {
            tail |= (b as u64) << (8 * i);
        }
        self.add(tail);
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // spread the low bits, which hashbrown uses for its control bytes
        crate::decode::mix64(self.hash)
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
