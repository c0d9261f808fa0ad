//! Announcements: an address and port that one flow's payload names for another flow, so the
//! later flow can be labelled by what announced it even when its own first bytes were never
//! captured. A DCE/RPC endpoint-mapper answer names the dynamic TCP port of an interface
//! (Outlook's EMSMDB, NSPI); an SDP body names the RTP ports of a call. Zeek, Suricata and
//! nDPI do this for FTP and SIP at most; for RPC none does (protocol-notes.md).
//!
//! The flow layer turns what a parser found into [`Announcement`]s stamped with the packet's
//! time and the announcing flow; the classify stage keeps them as expectations and matches
//! later flows against them, in capture order.

use crate::decode::Addr;

/// What an announced endpoint will carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announced {
    /// An endpoint-mapper answer (MS-RPCE §2.2.1.2.5 ept_map): `interface` (UUID, lower-case
    /// text) version `version` is served at the address and port.
    RpcEndpoint {
        interface: String,
        version: u16,
        name: Option<&'static str>,
    },
    /// An SDP media description (RFC 8866 §5.14): RTP for `media` (`audio`, `video`, ...) of
    /// the call `call_id`, with SRTP (`RTP/SAVP`, `a=crypto`) or not.
    Media { call_id: String, media: String, srtp: bool },
}

/// One announcement, as the flow layer stamps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Time of the packet that completed the announcing message.
    pub ts_ns: u64,
    pub addr: Addr,
    pub port: u16,
    /// IP protocol of the announced endpoint (6 TCP, 17 UDP).
    pub proto: u8,
    pub what: Announced,
    /// The announcing flow: its first frame's index (orders announcements made at the same
    /// time) and its endpoints (the classify stage writes its Community ID on the flows that
    /// match).
    pub by_idx: u64,
    pub by: FlowTuple,
}

/// A flow's endpoints, client first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowTuple {
    pub client: Addr,
    pub client_port: u16,
    pub server: Addr,
    pub server_port: u16,
    pub proto: u8,
}

/// What a parser announced, before the flow layer stamps it: `addr` is `None` when the
/// announcement names no address of its own (an endpoint-mapper tower with 0.0.0.0: the
/// server that answered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub addr: Option<Addr>,
    pub port: u16,
    pub proto: u8,
    pub what: Announced,
}
