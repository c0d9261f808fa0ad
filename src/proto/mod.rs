//! Layer 4 — proto: the protocol parsers.
//!
//! One folder per protocol. Each holds pure parsers over `&[u8]` (nom 7, the version rusticata's
//! crates use, so the tree has one nom) that return borrowed structs, and a per-flow state
//! machine that consumes a direction's in-order stream bytes (from the flow layer's
//! reassembler) or a datagram, and keeps an owned summary of what it saw. Nothing here imports
//! `flow`, `pipeline`, `output`, crossbeam or serde: parsers can be fuzzed and benchmarked
//! alone. A protocol is chosen by probing the first payload bytes, never by the port.
//!
//! The contract every stream parser follows ([`StreamParser`]):
//! - `feed(dir, data, ts_ns)` gets the next in-order bytes of one direction; the parser keeps
//!   at most a bounded, named amount of partial-message bytes per direction.
//! - `gap(dir, len)`: `len` bytes of that direction were never captured; the parser resyncs
//!   (or stops) instead of misparsing.
//! - The returned [`Verdict`] tells the flow layer when the clear-text protocol hands the rest of
//!   the connection to TLS (STARTTLS, X-ANONYMOUSTLS, LDAP StartTLS), and when to stop feeding.

pub mod dcerpc;
pub mod http;
pub mod imap;
pub mod lines;
pub mod ntlmssp;
pub mod pop3;
pub mod sasl;
pub mod segments;
pub mod sip;
pub mod smtp;
pub mod tls;

/// Which way the bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToServer,
    ToClient,
}

impl Direction {
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }

    /// The other direction.
    pub fn flip(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

/// What the caller does after a `feed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep feeding this parser.
    Continue,
    /// The clear-text protocol accepted an upgrade: from byte `at` of the data just fed (and
    /// from the next byte in the other direction), the connection is TLS.
    StartTls { at: usize },
    /// Nothing more to learn from this stream (not this protocol after all, encrypted
    /// payload, or a desync it cannot recover from).
    Stop,
}

/// What a probe of the first bytes says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Yes,
    No,
    /// Too few bytes to tell.
    NeedMore,
}

/// A per-flow, per-protocol state machine over reassembled stream bytes.
pub trait StreamParser {
    fn feed(&mut self, dir: Direction, data: &[u8], ts_ns: u64) -> Verdict;
    fn gap(&mut self, dir: Direction, len: u64);
}
pub mod ldap;

/// Lower-case hex of `b` (certificate serials, fingerprints, NtVer), without `fmt` per byte.
pub fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}
