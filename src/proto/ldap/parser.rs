//! LDAPMessage decoding (RFC 4511 §4) into the owned per-flow summary. Pure functions over one
//! complete PDU; a malformed PDU is counted, never fatal.

use super::Direction;
use super::ber::{self, expect, int, read_tlv};
use crate::proto::ntlmssp::{self, MessageType};

/// Binds kept per flow.
pub const MAX_BINDS: usize = 16;
/// Searches kept per flow.
pub const MAX_SEARCHES: usize = 16;
/// Extended operations kept per flow.
pub const MAX_EXTENDED: usize = 16;
/// Longest filter summary, in bytes.
pub const MAX_FILTER_LEN: usize = 256;
/// Deepest filter nesting rendered.
pub const MAX_FILTER_DEPTH: usize = 8;
/// Longest DN / name kept, in bytes.
pub const MAX_NAME_LEN: usize = 256;
/// Distinct unknown operation tags counted.
pub const MAX_UNKNOWN_OPS: usize = 8;

/// RFC 4511 §4.14: the StartTLS extended operation.
pub const STARTTLS_OID: &str = "1.3.6.1.4.1.1466.20037";

/// RFC 4511 §4.2 protocolOp application tags, as the first identifier octet.
const OPS: [(u8, &str); 21] = [
    (0x60, "bindRequest"),
    (0x61, "bindResponse"),
    (0x42, "unbindRequest"),
    (0x63, "searchRequest"),
    (0x64, "searchResEntry"),
    (0x65, "searchResDone"),
    (0x73, "searchResRef"),
    (0x66, "modifyRequest"),
    (0x67, "modifyResponse"),
    (0x68, "addRequest"),
    (0x69, "addResponse"),
    (0x4a, "delRequest"),
    (0x6b, "delResponse"),
    (0x6c, "modDNRequest"),
    (0x6d, "modDNResponse"),
    (0x6e, "compareRequest"),
    (0x6f, "compareResponse"),
    (0x50, "abandonRequest"),
    (0x77, "extendedReq"),
    (0x78, "extendedResp"),
    (0x79, "intermediateResponse"),
];

pub(crate) fn op_name(tag: u8) -> Option<&'static str> {
    OPS.iter().find(|(t, _)| *t == tag).map(|(_, n)| *n)
}

/// RFC 4511 Appendix A result codes (the common ones; others keep their number).
pub fn result_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        13 => "confidentialityRequired",
        14 => "saslBindInProgress",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        52 => "unavailable",
        53 => "unwillingToPerform",
        80 => "other",
        _ => return None,
    })
}

fn ext_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        STARTTLS_OID => "StartTLS",
        "1.3.6.1.4.1.4203.1.11.3" => "WhoAmI",
        "1.3.6.1.4.1.4203.1.11.1" => "PasswordModify",
        "1.3.6.1.4.1.1466.101.119.1" => "RefreshTTL",
        "1.2.840.113556.1.4.1781" => "FastBind",
        _ => return None,
    })
}

/// NTLMSSP facts from a SASL/Sicily credential ([MS-NLMP] §2.2.1). Names only, never hashes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NtlmFacts {
    /// Message types seen (1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE).
    pub message_types: Vec<u32>,
    pub sign: bool,
    pub seal: bool,
    pub domain: Option<String>,
    pub user: Option<String>,
}

/// One bind request and its result.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LdapBind {
    pub message_id: i64,
    pub version: i64,
    pub name: String,
    /// `simple`, `sasl`, `sicilyPackageDiscovery`, `sicilyNegotiate`, `sicilyResponse`, or
    /// `tag-N` for an unknown choice.
    pub auth: String,
    pub password_present: bool,
    pub password_len: usize,
    pub sasl_mechanism: Option<String>,
    pub result_code: Option<i64>,
}

/// One search request and its results.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LdapSearch {
    pub message_id: i64,
    pub base: String,
    pub scope: i64,
    pub filter: String,
    pub attributes: Vec<String>,
    pub entries: u64,
    pub refs: u64,
    pub done: bool,
    pub result_code: Option<i64>,
}

/// One extended request and its result.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LdapExtended {
    pub message_id: i64,
    pub oid: String,
    pub name: Option<&'static str>,
    pub result_code: Option<i64>,
}

/// The CLDAP "LDAP ping" (MS-ADTS §6.3.3): rootDSE search for `Netlogon`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CldapPing {
    pub dns_domain: Option<String>,
    pub host: Option<String>,
    /// NtVer as hex of its 4 bytes (little-endian on the wire).
    pub nt_ver: Option<String>,
    pub domain_guid: bool,
    pub domain_sid: bool,
    pub response_bytes: Option<usize>,
}

/// What one LDAP/CLDAP flow showed. Never holds a password.
#[derive(Debug, Default, Clone)]
pub struct LdapSummary {
    pub cldap: bool,
    /// Counts by operation name, in first-seen order.
    pub ops: Vec<(&'static str, u64)>,
    /// Unknown protocolOp tags and their counts.
    pub unknown_ops: Vec<(u8, u64)>,
    pub binds: Vec<LdapBind>,
    pub ntlm: NtlmFacts,
    pub simple_bind_in_cleartext: bool,
    pub extended: Vec<LdapExtended>,
    pub starttls_requested: bool,
    pub starttls_accepted: bool,
    pub searches: Vec<LdapSearch>,
    /// Result codes seen in responses, with counts.
    pub result_codes: Vec<(i64, u64)>,
    pub cldap_ping: Option<CldapPing>,
    pub sasl_wrapped_pdus: u64,
    pub sealed: bool,
    pub parse_errors: u64,
    pub oversize_pdus: u64,
    pub gaps: u64,
}

impl LdapSummary {
    /// `ldap-sasl-seal`, `ldap-sasl-sign`, or `none`.
    pub fn encryption(&self) -> &'static str {
        if !self.sealed {
            "none"
        } else if !self.ntlm.message_types.is_empty() && self.ntlm.sign && !self.ntlm.seal {
            "ldap-sasl-sign"
        } else {
            "ldap-sasl-seal"
        }
    }

    fn count_op(&mut self, tag: u8) {
        match op_name(tag) {
            Some(n) => match self.ops.iter_mut().find(|(k, _)| *k == n) {
                Some((_, c)) => *c += 1,
                None => self.ops.push((n, 1)),
            },
            None => {
                if let Some((_, c)) = self.unknown_ops.iter_mut().find(|(k, _)| *k == tag) {
                    *c += 1;
                } else if self.unknown_ops.len() < MAX_UNKNOWN_OPS {
                    self.unknown_ops.push((tag, 1));
                }
            }
        }
    }

    fn count_result(&mut self, code: i64) {
        if let Some((_, c)) = self.result_codes.iter_mut().find(|(k, _)| *k == code) {
            *c += 1;
        } else if self.result_codes.len() < MAX_BINDS {
            self.result_codes.push((code, 1));
        }
    }
}

/// Cross-message state: what the next response completes.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    /// A SASL/Sicily bind succeeded with a mechanism that may install a security layer.
    pub sasl_layer: bool,
    starttls_pending: Option<i64>,
    ping_pending: bool,
}

fn text(b: &[u8]) -> String {
    let b = b.get(..MAX_NAME_LEN).unwrap_or(b);
    String::from_utf8_lossy(b).into_owned()
}

/// Process one complete LDAPMessage; returns true when it accepted StartTLS.
pub(crate) fn process_pdu(s: &mut LdapSummary, ctx: &mut Ctx, _dir: Direction, pdu: &[u8]) -> bool {
    match message(s, ctx, pdu) {
        Some(tls) => tls,
        None => {
            s.parse_errors += 1;
            false
        }
    }
}

// LDAPMessage ::= SEQUENCE { messageID MessageID, protocolOp CHOICE {...}, controls [0] OPTIONAL }
fn message(s: &mut LdapSummary, ctx: &mut Ctx, pdu: &[u8]) -> Option<bool> {
    let (body, _) = expect(pdu, 0x30)?;
    let (id, rest) = expect(body, 0x02)?;
    let id = int(id)?;
    let (op, _) = read_tlv(rest).ok()?;
    s.count_op(op.tag);
    let b = op.body;
    match op.tag {
        0x60 => bind_request(s, id, b)?,
        0x61 => {
            let code = result_code(b)?;
            s.count_result(code);
            let mut sasl_ok = false;
            if let Some(bind) = s
                .binds
                .iter_mut()
                .rev()
                .find(|x| x.message_id == id && x.result_code.is_none())
            {
                bind.result_code = Some(code);
                sasl_ok = code == 0 && bind.auth != "simple";
            }
            // serverSaslCreds [7] may carry an NTLMSSP CHALLENGE; Sicily puts it in matchedDN.
            ntlm_scan(&mut s.ntlm, b);
            if sasl_ok {
                ctx.sasl_layer = s.ntlm.message_types.is_empty() || s.ntlm.sign || s.ntlm.seal;
            }
        }
        0x63 => search_request(s, ctx, id, b)?,
        0x64 | 0x73 => {
            if ctx.ping_pending
                && let Some(p) = s.cldap_ping.as_mut()
            {
                p.response_bytes = Some(pdu.len());
            }
            if let Some(x) = s.searches.iter_mut().rev().find(|x| x.message_id == id) {
                if op.tag == 0x64 {
                    x.entries += 1;
                } else {
                    x.refs += 1;
                }
            }
        }
        0x65 => {
            let code = result_code(b)?;
            s.count_result(code);
            ctx.ping_pending = false;
            if let Some(x) = s.searches.iter_mut().rev().find(|x| x.message_id == id) {
                x.done = true;
                x.result_code = Some(code);
            }
        }
        // ExtendedRequest ::= [APPLICATION 23] SEQUENCE { requestName [0] LDAPOID, requestValue [1] OPTIONAL }
        0x77 => {
            let (oid, _) = expect(b, 0x80)?;
            let oid = text(oid);
            let name = ext_name(&oid);
            if oid == STARTTLS_OID {
                s.starttls_requested = true;
                ctx.starttls_pending = Some(id);
            }
            if s.extended.len() < MAX_EXTENDED {
                s.extended.push(LdapExtended {
                    message_id: id,
                    oid,
                    name,
                    result_code: None,
                });
            }
        }
        0x78 => {
            let code = result_code(b)?;
            s.count_result(code);
            if let Some(x) = s.extended.iter_mut().rev().find(|x| x.message_id == id) {
                x.result_code = Some(code);
            }
            if ctx.starttls_pending == Some(id) {
                ctx.starttls_pending = None;
                if code == 0 {
                    s.starttls_accepted = true;
                    return Some(true);
                }
            }
        }
        0x67 | 0x69 | 0x6b | 0x6d | 0x6f => {
            let code = result_code(b)?;
            s.count_result(code);
        }
        _ => {}
    }
    Some(false)
}

// LDAPResult ::= SEQUENCE { resultCode ENUMERATED, matchedDN LDAPDN, diagnosticMessage, ... }
fn result_code(b: &[u8]) -> Option<i64> {
    let (code, _) = expect(b, 0x0a)?;
    int(code)
}

// BindRequest ::= [APPLICATION 0] SEQUENCE { version INTEGER (1..127), name LDAPDN,
//     authentication AuthenticationChoice }
// AuthenticationChoice ::= CHOICE { simple [0] OCTET STRING, sasl [3] SaslCredentials,
//     sicilyPackageDiscovery [9], sicilyNegotiate [10], sicilyResponse [11] }  (MS-ADTS §5.1.1.1.3)
fn bind_request(s: &mut LdapSummary, id: i64, b: &[u8]) -> Option<()> {
    let (ver, rest) = expect(b, 0x02)?;
    let (name, rest) = expect(rest, 0x04)?;
    let (auth, _) = read_tlv(rest).ok()?;
    let mut bind = LdapBind {
        message_id: id,
        version: int(ver)?,
        name: text(name),
        ..Default::default()
    };
    bind.auth = match auth.tag {
        0x80 => {
            bind.password_present = !auth.body.is_empty();
            bind.password_len = auth.body.len();
            if bind.password_present && !s.starttls_accepted {
                s.simple_bind_in_cleartext = true;
            }
            "simple".into()
        }
        // SaslCredentials ::= SEQUENCE { mechanism LDAPString, credentials OCTET STRING OPTIONAL }
        0xa3 => {
            let (mech, _) = expect(auth.body, 0x04)?;
            bind.sasl_mechanism = Some(text(mech));
            ntlm_scan(&mut s.ntlm, auth.body);
            "sasl".into()
        }
        0x89 => "sicilyPackageDiscovery".into(),
        0x8a | 0x8b => {
            ntlm_scan(&mut s.ntlm, auth.body);
            if auth.tag == 0x8a {
                "sicilyNegotiate"
            } else {
                "sicilyResponse"
            }
            .into()
        }
        t => format!("tag-{t}"),
    };
    if s.binds.len() < MAX_BINDS {
        s.binds.push(bind);
    }
    Some(())
}

/// [MS-NLMP] §2.2.1: find an NTLMSSP message in `b` (src/proto/ntlmssp.rs) and record its
/// type, the sign/seal flags of CHALLENGE and AUTHENTICATE, and AUTHENTICATE's names.
fn ntlm_scan(n: &mut NtlmFacts, b: &[u8]) {
    let Some(m) = ntlmssp::find(b) else { return };
    let ty = match m.kind {
        MessageType::Negotiate => 1,
        MessageType::Challenge => 2,
        MessageType::Authenticate => 3,
        MessageType::Other(t) => t,
    };
    if n.message_types.len() < 8 && !n.message_types.contains(&ty) {
        n.message_types.push(ty);
    }
    // NEGOTIATE only asks; what CHALLENGE and AUTHENTICATE carry is what was agreed.
    if matches!(m.kind, MessageType::Challenge | MessageType::Authenticate) {
        n.sign |= m.signs();
        n.seal |= m.seals();
    }
    if m.kind == MessageType::Authenticate {
        let name = |raw: &[u8]| {
            let mut s = String::new();
            m.decode_name(raw, &mut s, MAX_NAME_LEN);
            s
        };
        n.domain = Some(name(m.domain));
        n.user = Some(name(m.user));
    }
}

// SearchRequest ::= [APPLICATION 3] SEQUENCE { baseObject LDAPDN, scope ENUMERATED,
//     derefAliases ENUMERATED, sizeLimit INTEGER, timeLimit INTEGER, typesOnly BOOLEAN,
//     filter Filter, attributes AttributeSelection }
fn search_request(s: &mut LdapSummary, ctx: &mut Ctx, id: i64, b: &[u8]) -> Option<()> {
    let (base, rest) = expect(b, 0x04)?;
    let (scope, rest) = expect(rest, 0x0a)?;
    let (_, rest) = expect(rest, 0x0a)?;
    let (_, rest) = expect(rest, 0x02)?;
    let (_, rest) = expect(rest, 0x02)?;
    let (_, rest) = expect(rest, 0x01)?;
    let (filter, rest) = read_tlv(rest).ok()?;
    let mut f = String::new();
    render_filter(&mut f, filter, 0);
    let mut attributes = Vec::new();
    if let Some((attrs, _)) = expect(rest, 0x30) {
        let mut r = attrs;
        while let Some((a, next)) = expect(r, 0x04) {
            if attributes.len() < MAX_SEARCHES {
                attributes.push(text(a));
            }
            r = next;
        }
    }
    if base.is_empty() && attributes.iter().any(|a| a.eq_ignore_ascii_case("netlogon")) {
        let mut p = CldapPing::default();
        ping_terms(&mut p, filter, 0);
        s.cldap_ping = Some(p);
        ctx.ping_pending = true;
    }
    if s.searches.len() < MAX_SEARCHES {
        s.searches.push(LdapSearch {
            message_id: id,
            base: text(base),
            scope: int(scope)?,
            filter: f,
            attributes,
            ..Default::default()
        });
    }
    Some(())
}

/// MS-ADTS §6.3.3.1: the equality terms of an LDAP ping's AND filter.
fn ping_terms(p: &mut CldapPing, f: ber::Tlv<'_>, depth: usize) {
    if depth > MAX_FILTER_DEPTH {
        return;
    }
    match f.tag {
        0xa0 => {
            let mut r = f.body;
            while let Ok((t, next)) = read_tlv(r) {
                ping_terms(p, t, depth + 1);
                r = next;
            }
        }
        0xa3 => {
            let Some((attr, rest)) = expect(f.body, 0x04) else {
                return;
            };
            let Some((val, _)) = expect(rest, 0x04) else { return };
            let attr = String::from_utf8_lossy(attr).to_ascii_lowercase();
            match attr.as_str() {
                "dnsdomain" => p.dns_domain = Some(text(val)),
                "host" => p.host = Some(text(val)),
                "ntver" => p.nt_ver = Some(crate::proto::hex(&val[..val.len().min(8)])),
                "domainguid" => p.domain_guid = true,
                "domainsid" => p.domain_sid = true,
                _ => {}
            }
        }
        _ => {}
    }
}

fn push(out: &mut String, s: &str) {
    for c in s.chars() {
        if out.len() + c.len_utf8() > MAX_FILTER_LEN {
            return;
        }
        out.push(c);
    }
}

fn push_value(out: &mut String, v: &[u8]) {
    match std::str::from_utf8(v) {
        Ok(t) if t.len() <= 64 && t.chars().all(|c| !c.is_control()) => push(out, t),
        _ => push(out, "..."),
    }
}

// RFC 4511 §4.5.1.7 Filter ::= CHOICE { and [0], or [1], not [2], equalityMatch [3],
//     substrings [4], greaterOrEqual [5], lessOrEqual [6], present [7], approxMatch [8],
//     extensibleMatch [9] }; rendered in RFC 4515 string form, bounded.
pub(crate) fn render_filter(out: &mut String, f: ber::Tlv<'_>, depth: usize) {
    if depth > MAX_FILTER_DEPTH || out.len() >= MAX_FILTER_LEN {
        push(out, "...");
        return;
    }
    push(out, "(");
    match f.tag {
        0xa0..=0xa2 => {
            push(out, ["&", "|", "!"][(f.tag - 0xa0) as usize]);
            let mut r = f.body;
            while let Ok((t, next)) = read_tlv(r) {
                render_filter(out, t, depth + 1);
                r = next;
            }
        }
        0xa3 | 0xa5 | 0xa6 | 0xa8 => {
            let op = match f.tag {
                0xa3 => "=",
                0xa5 => ">=",
                0xa6 => "<=",
                _ => "~=",
            };
            if let Some((attr, rest)) = expect(f.body, 0x04) {
                push_value(out, attr);
                push(out, op);
                if let Some((v, _)) = expect(rest, 0x04) {
                    push_value(out, v);
                }
            }
        }
        0xa4 => {
            if let Some((attr, rest)) = expect(f.body, 0x04) {
                push_value(out, attr);
                push(out, "=");
                if let Some((subs, _)) = expect(rest, 0x30) {
                    let mut r = subs;
                    let mut first = true;
                    while let Ok((t, next)) = read_tlv(r) {
                        if t.tag != 0x80 || !first {
                            push(out, "*");
                        }
                        if t.tag != 0x80 || first {
                            push_value(out, t.body);
                        }
                        first = false;
                        r = next;
                    }
                    if read_last_tag(subs) != Some(0x82) {
                        push(out, "*");
                    }
                }
            }
        }
        0x87 => {
            push_value(out, f.body);
            push(out, "=*");
        }
        // MatchingRuleAssertion ::= SEQUENCE { matchingRule [1], type [2], matchValue [3],
        //     dnAttributes [4] BOOLEAN }, rendered `type:dn:rule:=value`
        0xa9 => {
            let mut r = f.body;
            let (mut rule, mut ty, mut val, mut dn) = (None, None, None, false);
            while let Ok((t, next)) = read_tlv(r) {
                match t.tag {
                    0x81 => rule = Some(t.body),
                    0x82 => ty = Some(t.body),
                    0x83 => val = Some(t.body),
                    0x84 => dn = t.body.first().is_some_and(|&b| b != 0),
                    _ => {}
                }
                r = next;
            }
            push_value(out, ty.unwrap_or(b""));
            if dn {
                push(out, ":dn");
            }
            if let Some(rule) = rule {
                push(out, ":");
                push_value(out, rule);
            }
            push(out, ":=");
            push_value(out, val.unwrap_or(b""));
        }
        t => push(out, &format!("filter-tag-{t}")),
    }
    push(out, ")");
}

fn read_last_tag(mut r: &[u8]) -> Option<u8> {
    let mut last = None;
    while let Ok((t, next)) = read_tlv(r) {
        last = Some(t.tag);
        r = next;
    }
    last
}
