//! The owned per-flow DCE/RPC summary. Every Vec has a named cap; what does not fit is
//! counted in `dropped`.

use super::parser::{SyntaxId, Uuid};

/// Binds and alter_contexts kept.
pub const MAX_BINDS: usize = 16;
/// Presentation contexts kept per bind.
pub const MAX_CONTEXTS_PER_BIND: usize = 16;
/// Transfer syntaxes kept per presentation context.
pub const MAX_TRANSFER_SYNTAXES: usize = 4;
/// Distinct (context, opnum) call kinds kept.
pub const MAX_CALL_KINDS: usize = 64;
/// Distinct (auth_type, auth_level) pairs kept.
pub const MAX_AUTH_KINDS: usize = 8;
/// Fault status codes and bind_nak reasons kept.
pub const MAX_FAULTS: usize = 16;
/// Endpoints announced by the endpoint mapper kept.
pub const MAX_EPM_ENDPOINTS: usize = 64;
/// Interfaces asked of the endpoint mapper (ept_map requests) kept.
pub const MAX_EPM_QUERIES: usize = 16;
/// Longest NTLMSSP name or pipe / annotation string kept, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// NTLMSSP message types kept (in order).
pub const MAX_NTLM_MESSAGES: usize = 8;

/// One presentation context offered in a bind or alter_context, and the answer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindContext {
    pub ctx_id: u16,
    pub interface: SyntaxId,
    pub name: Option<&'static str>,
    pub transfer_syntaxes: Vec<SyntaxId>,
    /// From the bind_ack / alter_context_resp (same position): result, reason, transfer syntax.
    pub ack: Option<(u16, u16, SyntaxId)>,
}

/// A bind or alter_context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindInfo {
    /// `bind` or `alter_context`.
    pub kind: &'static str,
    pub call_id: u32,
    pub contexts: Vec<BindContext>,
    /// sec_trailer of the bind, if any (auth_type, auth_level).
    pub auth: Option<(u8, u8)>,
    /// The answer's PTYPE name (`bind_ack`, `alter_context_resp`, `bind_nak`) once seen.
    pub answer: Option<&'static str>,
    /// bind_ack secondary address (the server's port as a string), if any.
    pub sec_addr: Option<String>,
    /// bind_nak reject reason.
    pub nak_reason: Option<u16>,
}

/// Requests, responses and faults of one (context, opnum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallKind {
    pub ctx_id: u16,
    pub interface: Option<SyntaxId>,
    pub name: Option<&'static str>,
    pub opnum: u16,
    pub requests: u64,
    pub responses: u64,
    pub faults: u64,
}

/// PDUs seen with one (auth_type, auth_level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthKind {
    pub auth_type: u8,
    pub auth_level: u8,
    pub pdus: u64,
}

/// What NTLMSSP tokens in auth values showed (never the responses).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NtlmInfo {
    /// Message types in order (1 negotiate, 2 challenge, 3 authenticate).
    pub message_types: Vec<u8>,
    pub sign: bool,
    pub seal: bool,
    pub domain: Option<String>,
    pub user: Option<String>,
    pub workstation: Option<String>,
    pub anonymous: bool,
}

/// One endpoint the endpoint mapper announced (the flow layer turns these into expectations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpmEndpoint {
    pub interface: Uuid,
    pub version: (u16, u16),
    pub name: Option<&'static str>,
    /// The IPv4 address floor (0.0.0.0 means "the address you reached me at").
    pub ip: Option<std::net::Ipv4Addr>,
    /// TCP, UDP or HTTP port, by `transport`.
    pub port: Option<u16>,
    /// Named pipe or local RPC endpoint name.
    pub pipe: Option<String>,
    /// `ncacn_ip_tcp`, `ncadg_ip_udp`, `ncacn_http`, `ncacn_np`, `ncalrpc`, `unknown`.
    pub transport: &'static str,
    /// `ept_map` or `ept_lookup`.
    pub op: &'static str,
    pub annotation: Option<String>,
}

/// Everything a DCE/RPC connection showed; owned, bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DcerpcSummary {
    /// PDUs by PTYPE (index = PTYPE value, 0..=19); others in `unknown_ptypes`.
    pub pdu_counts: [u64; 20],
    pub unknown_ptypes: u64,
    pub binds: Vec<BindInfo>,
    pub calls: Vec<CallKind>,
    pub faults: Vec<u32>,
    pub fault_count: u64,
    pub auth: Vec<AuthKind>,
    /// PDUs carrying a sec_trailer, and those at packet integrity / privacy.
    pub authenticated_pdus: u64,
    pub integrity_pdus: u64,
    pub privacy_pdus: u64,
    /// Request and response PDUs without an auth verifier (stub in clear text).
    pub unauthenticated_calls: u64,
    pub lowest_auth_level: Option<u8>,
    pub highest_auth_level: Option<u8>,
    /// SPNEGO inner mechanisms recognised in auth values (`ntlmssp`, `kerberos`).
    pub spnego_mechs: Vec<&'static str>,
    pub ntlm: NtlmInfo,
    /// Interfaces asked of the endpoint mapper in ept_map requests.
    pub epm_queries: Vec<SyntaxId>,
    pub epm_endpoints: Vec<EpmEndpoint>,
    /// ept_map / ept_lookup answers that did not decode.
    pub epm_errors: u64,
    /// Calls that came in more than one fragment; fragments seen in them.
    pub fragmented_calls: u64,
    pub fragments: u64,
    /// Fragmented stubs cut at the reassembly limit.
    pub reassembly_overflows: u64,
    /// PDUs whose header or body did not parse; bytes skipped looking for a header.
    pub parse_errors: u64,
    pub gaps: u64,
    /// Items not kept because a Vec was at its cap.
    pub dropped: u64,
}

impl DcerpcSummary {
    /// `rpc-privacy` when at least one PDU was authenticated, every authenticated PDU was at
    /// packet privacy, and no request/response went without a verifier; else `none`.
    pub fn encryption(&self) -> &'static str {
        if self.authenticated_pdus > 0
            && self.privacy_pdus == self.authenticated_pdus
            && self.unauthenticated_calls == 0
        {
            "rpc-privacy"
        } else {
            "none"
        }
    }

    /// Packet integrity (signing without sealing) was used on some PDU.
    pub fn integrity(&self) -> bool {
        self.integrity_pdus > 0
    }

    /// Number of PDUs of a PTYPE.
    pub fn count(&self, ptype: u8) -> u64 {
        self.pdu_counts.get(ptype as usize).copied().unwrap_or(0)
    }
}

/// Push with a cap; counts what does not fit.
pub(crate) fn push_capped<T>(v: &mut Vec<T>, cap: usize, x: T, dropped: &mut u64) -> bool {
    if v.len() < cap {
        v.push(x);
        true
    } else {
        *dropped += 1;
        false
    }
}
