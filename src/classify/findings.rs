//! Findings: what in a flow breaks the Exchange documentation, or is unsafe whatever it is.
//!
//! [`evaluate`] is a pure function of one flow's facts ([`FlowFacts`], with the parsers'
//! [`Facts`]), the data path it was matched to, what is known of the two hosts' roles and the
//! expectation that announced it. The classify stage calls it on every sighting of an open flow
//! (so a finding is raised when its evidence shows) and once more when the flow ends; a kind is
//! raised once per flow.
//!
//! What the documentation calls normal is not a finding: self-signed certificates where a
//! path's notes say so or between Exchange servers, X-ANONYMOUSTLS, the documented odd ports
//! (587, 2525, 717, 475, 6001-6004, 50636, 5065-5068), clear text on paths documented without
//! encryption (port 80 calendar publishing, Autodiscover fallback, unsecured UM dial plans).
//! When only the port is known (no roles), a path-based finding needs *every* documented path
//! on that port and protocol to promise what was broken; one path that allows it is enough to
//! stay silent.
//!
//! | kind | severity | raised when |
//! |---|---|---|
//! | `cleartext_credentials` | high | SMTP AUTH PLAIN/LOGIN, IMAP LOGIN, POP3 USER/PASS, LDAP simple bind with a password, HTTP Basic — in clear text |
//! | `unencrypted_on_encrypted_path` | high (`required`) / medium (`default`) | the protocol did real work in clear text on a path whose documentation promises TLS/STARTTLS/mutual TLS/SASL sealing; Exchange web services (OWA, EWS, ActiveSync, MAPI, RPC/HTTP, ECP, OAB, PowerShell) over clear HTTP |
//! | `starttls_not_used` | medium | the server offered STARTTLS/STLS and the client went on in clear text |
//! | `starttls_failed` | medium | the server refused STARTTLS, or the TLS handshake after it failed |
//! | `unexpected_port` | medium (SMTP, LDAP) / low | a protocol on a port no documented path uses at all (HTTP and TLS only when a host has a known Exchange role) |
//! | `protocol_mismatch` | medium | a documented port carries a protocol its paths do not expect (clear HTTP on 443) |
//! | `undocumented_path` | medium | port and protocol are documented but not between these roles (internet → mailbox on 135) |
//! | `weak_tls` | high (SSL, NULL, EXPORT, anon) / medium (TLS 1.0/1.1, RC4, DES, 3DES, MD5) | the server chose it |
//! | `self_signed_certificate` | low | the server's leaf certificate is self-signed, where that is not documented as normal |
//! | `expired_certificate` | medium | the server's leaf certificate was expired when sent |
//! | `rpc_without_privacy` | medium (Exchange/AD interfaces or a path documenting RPC encryption) / low | DCE/RPC calls below packet privacy (unauthenticated, or at connect/call/packet/integrity level); endpoint-mapper lookups are exempt |
//! | `dynamic_rpc_unmapped` | low | DCE/RPC on a dynamic port (not 135/593) with no endpoint-mapper answer behind it |
//! | `sip_unsecured` | medium / low | SIP in clear text where every documented path promises (mutual) TLS |
//! | `rtp_unencrypted` | medium (a path promises SRTP) / low | RTP set up by SDP without SRTP |
//! | `ldap_unsigned_bind` | medium | a non-anonymous LDAP bind with neither TLS nor a SASL signing/sealing layer after it (ADV190023) |

use super::catalog::{Crypto, Entry, Level, Protocol, Role, RoleSet};
use crate::flow::announce::Announced;
use crate::flow::facts::{self, Facts, FlowFacts};
use crate::flow::{IPPROTO_TCP, IPPROTO_UDP};

macro_rules! kinds {
    ($($v:ident = $w:literal),+ $(,)?) => {
        /// Finding kinds (stable names: extend, don't rename).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind { $($v),+ }
        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $(Kind::$v => $w),+ }
            }
            /// The bit of this kind in a [`KindSet`].
            pub fn bit(self) -> u32 {
                1 << (self as u32)
            }
        }
    };
}

kinds!(
    CleartextCredentials = "cleartext_credentials",
    UnencryptedOnEncryptedPath = "unencrypted_on_encrypted_path",
    StarttlsNotUsed = "starttls_not_used",
    StarttlsFailed = "starttls_failed",
    UnexpectedPort = "unexpected_port",
    UndocumentedPath = "undocumented_path",
    ProtocolMismatch = "protocol_mismatch",
    WeakTls = "weak_tls",
    SelfSignedCertificate = "self_signed_certificate",
    ExpiredCertificate = "expired_certificate",
    RpcWithoutPrivacy = "rpc_without_privacy",
    DynamicRpcUnmapped = "dynamic_rpc_unmapped",
    SipUnsecured = "sip_unsecured",
    RtpUnencrypted = "rtp_unencrypted",
    LdapUnsignedBind = "ldap_unsigned_bind",
);

/// A set of kinds (one bit each).
pub type KindSet = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// One finding on one flow. Evidence never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    pub message: String,
    /// Key/value evidence, in order (`user` is a user name: `--redact-users` hides it).
    pub evidence: Vec<(&'static str, String)>,
}

/// Why a flow has no data path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoPath {
    /// No documented path uses the transport and port at all.
    NoPathOnPort,
    /// Paths use the port, for other protocols.
    ProtocolNotDocumented,
    /// Port and protocol are documented, not between these roles.
    RolesNotDocumented,
}

/// What the classify stage knows of a flow besides its facts.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The path the flow was matched to, and whether roles matched too (`exact`).
    pub path: Option<&'a Entry>,
    pub exact: bool,
    /// The documented paths the flow may be: with a match, the matched one and the others as
    /// good; without one, the port's paths the reason is about (for another protocol: clear
    /// SIP on the port of SIP over mutual TLS is then `sip_unsecured`).
    pub candidates: &'a [&'a Entry],
    pub no_path: Option<NoPath>,
    pub client_roles: RoleSet,
    pub server_roles: RoleSet,
    /// The server's roles come from the inventory or were inferred (not only its address).
    pub server_role_known: bool,
    pub client_role_known: bool,
    /// What announced the flow's endpoint, if an expectation matched.
    pub announced: Option<&'a Announced>,
}

/// Server roles of Exchange itself.
pub fn exchange_roles() -> RoleSet {
    RoleSet::of(&[
        Role::Hub,
        Role::Edge,
        Role::Mailbox,
        Role::Cas,
        Role::Um,
        Role::Exchange,
    ])
}

/// Ports where DCE/RPC is not "dynamic": the endpoint mapper, RPC over HTTP's endpoint
/// mapper, and Exchange's RPC/HTTP back-end ports.
const STATIC_RPC_PORTS: &[u16] = &[135, 593, 6001, 6002, 6003, 6004];
/// Dynamic RPC ports start above the well-known range.
const FIRST_DYNAMIC_PORT: u16 = 1024;
/// MS-RPCE §2.2.1.1.8: RPC_C_AUTHN_LEVEL_PKT_PRIVACY.
const RPC_AUTH_LEVEL_PRIVACY: u8 = 6;

/// Interfaces whose traffic is Exchange or directory content (names as the DCE/RPC table
/// gives them).
const SENSITIVE_INTERFACES: &[&str] = &[
    "EMSMDB",
    "AsyncEMSMDB",
    "NSPI",
    "RFR",
    "DRSUAPI",
    "Netlogon",
    "LSA",
    "SAMR",
];

/// Whether a documented protocol fits what the parsers found.
pub fn protocol_fits(p: Protocol, app_proto: Option<&str>, orig: Option<&str>) -> bool {
    let Some(app) = app_proto else { return false };
    match (app, orig) {
        ("tls", Some(o)) => matches!(
            (o, p),
            ("smtp", Protocol::Smtp) | ("ldap", Protocol::Ldap) | ("imap", Protocol::Imap) | ("pop3", Protocol::Pop3)
        ),
        ("tls", None) => matches!(
            p,
            Protocol::Https
                | Protocol::Smtps
                | Protocol::Ldaps
                | Protocol::Imaps
                | Protocol::Pop3s
                | Protocol::Sips
                | Protocol::Nntps
                | Protocol::Ircs
                // TLS-wrapped RPC over HTTP and unspecified paths
                | Protocol::Unspecified
        ),
        ("smtp", _) => p == Protocol::Smtp,
        ("ldap", _) => p == Protocol::Ldap,
        ("http", _) => p == Protocol::Http,
        ("imap", _) => p == Protocol::Imap,
        ("pop3", _) => p == Protocol::Pop3,
        ("dcerpc", _) => p == Protocol::Dcerpc,
        ("sip", _) => p == Protocol::Sip,
        ("rtp", _) => p == Protocol::Rtp,
        _ => p == Protocol::Unspecified,
    }
}

/// How strongly a path promises encryption of the given kinds: `Some(level)` when its level is
/// `required`/`default` and it names one of `crypto`.
fn promise(e: &Entry, crypto: &[Crypto]) -> Option<Level> {
    let l = e.encryption.level;
    (matches!(l, Level::Required | Level::Default) && e.encryption.with.iter().any(|c| crypto.contains(c))).then_some(l)
}

/// The promise every candidate makes (the weakest), or the matched path's when roles matched.
fn promised(ctx: &Context<'_>, crypto: &[Crypto]) -> Option<(Level, &'static str)> {
    if ctx.exact {
        let e = ctx.path?;
        return promise(e, crypto).map(|l| (l, "exact"));
    }
    if ctx.candidates.is_empty() {
        return None;
    }
    let mut weakest = Level::Required;
    for e in ctx.candidates {
        if promise(e, crypto)? == Level::Default {
            weakest = Level::Default;
        }
    }
    Some((weakest, "port"))
}

fn severity_of(l: Level) -> Severity {
    if l == Level::Required {
        Severity::High
    } else {
        Severity::Medium
    }
}

/// The documentation expects a self-signed certificate here.
fn self_signed_is_normal(ctx: &Context<'_>) -> bool {
    let ex = exchange_roles();
    if ctx.client_roles.intersects(ex) && ctx.server_roles.intersects(ex) {
        return true;
    }
    let notes = |e: &Entry| e.notes.iter().any(|n| n.to_ascii_lowercase().contains("self-signed"));
    let server_to_server =
        |e: &Entry| e.src_role.iter().any(|r| ex.contains(*r)) && e.dst_role.iter().any(|r| ex.contains(*r));
    match (ctx.exact, ctx.path) {
        (true, Some(e)) => notes(e) || server_to_server(e),
        _ => ctx.candidates.iter().any(|e| notes(e) || server_to_server(e)),
    }
}

/// Why a TLS choice is weak, and how badly.
pub fn weak_tls(version_code: u16, cipher_name: Option<&str>) -> Option<(Severity, String)> {
    let mut worst: Option<(Severity, String)> = None;
    let mut raise = |s: Severity, why: String| {
        if worst.as_ref().is_none_or(|(w, _)| s > *w) {
            worst = Some((s, why));
        }
    };
    match version_code {
        0x0002 | 0x0300 => raise(Severity::High, format!("{} negotiated", facts_version(version_code))),
        0x0301 | 0x0302 => raise(Severity::Medium, format!("{} negotiated", facts_version(version_code))),
        _ => {}
    }
    if let Some(c) = cipher_name {
        let u = c.to_ascii_uppercase();
        if u.contains("_NULL_") || u.ends_with("_NULL") || u.contains("EXPORT") || u.contains("_ANON_") {
            raise(Severity::High, format!("cipher suite {c}"));
        } else if u.contains("RC4") || u.contains("_DES_") || u.contains("3DES") || u.ends_with("_MD5") {
            raise(Severity::Medium, format!("cipher suite {c}"));
        }
    }
    worst
}

fn facts_version(code: u16) -> &'static str {
    crate::proto::tls::version_name(code).unwrap_or("an unknown version")
}

/// Every finding the flow deserves now (the caller drops kinds already raised).
pub fn evaluate(f: &FlowFacts, ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let s: &Facts = &f.sec;
    let clear = matches!(f.encryption, Some(("none", _)));
    let app = f.app_proto;
    let port = f.ends.server_port;
    let transport = match f.ends.proto {
        IPPROTO_TCP => "tcp",
        IPPROTO_UDP => "udp",
        _ => "ip",
    };
    let mut push = |kind: Kind, severity: Severity, message: String, evidence: Vec<(&'static str, String)>| {
        out.push(Finding {
            kind,
            severity,
            message,
            evidence,
        });
    };

    // clear-text credentials: the parsers only see clear text, so any use counts
    if let Some(c) = &s.credentials {
        let mut ev = vec![("protocol", c.protocol.to_string()), ("mechanism", c.mechanism.clone())];
        if let Some(u) = &c.user {
            ev.push(("user", u.clone()));
        }
        push(
            Kind::CleartextCredentials,
            Severity::High,
            format!(
                "{} {} credentials in clear text",
                c.protocol.to_ascii_uppercase(),
                c.mechanism
            ),
            ev,
        );
    }

    // STARTTLS-style upgrades
    let u = &s.upgrade;
    if u.offered && !u.asked && s.notable & facts::N_CLEAR_EXCHANGE != 0 {
        push(
            Kind::StarttlsNotUsed,
            Severity::Medium,
            format!(
                "the server offered STARTTLS; the {} session went on in clear text",
                app.unwrap_or("")
            ),
            vec![("protocol", app.unwrap_or("").to_string())],
        );
    }
    let handshake_failed = app == Some("tls")
        && f.app_proto_orig.is_some()
        && s.tls.as_ref().is_some_and(|t| !t.chosen && t.fatal_alert.is_some());
    if u.asked && (u.refused || handshake_failed) {
        let mut ev = vec![("command", u.command.unwrap_or("STARTTLS").to_string())];
        if let Some(r) = &u.reply {
            ev.push(("reply", r.clone()));
        }
        let why = if u.refused {
            "refused by the server"
        } else {
            "its TLS handshake failed"
        };
        push(
            Kind::StarttlsFailed,
            Severity::Medium,
            format!("{} {why}", u.command.unwrap_or("STARTTLS")),
            ev,
        );
    }

    // clear text where the path promises encryption (RPC and SIP have their own kinds)
    if clear && s.notable & facts::N_CLEAR_EXCHANGE != 0 && !matches!(app, Some("dcerpc" | "sip")) {
        let crypto = [
            Crypto::Tls,
            Crypto::Starttls,
            Crypto::XAnonymousTls,
            Crypto::MutualTls,
            Crypto::LdapSaslSeal,
        ];
        let sealed = app == Some("ldap") && s.ldap.as_ref().is_some_and(|l| l.sasl_wrapped);
        if !sealed && let Some((level, how)) = promised(ctx, &crypto) {
            let name = ctx
                .path
                .map_or_else(|| format!("{transport}/{port}"), |e| e.name.clone());
            push(
                Kind::UnencryptedOnEncryptedPath,
                severity_of(level),
                format!(
                    "{} in clear text on {name}, documented as encrypted ({})",
                    app.unwrap_or(""),
                    level.as_str()
                ),
                vec![("promise", level.as_str().to_string()), ("match", how.to_string())],
            );
        }
    }
    if clear && let Some(h) = &s.http {
        let web: Vec<&str> = h
            .services
            .iter()
            .copied()
            .filter(|sv| *sv != "autodiscover" && !(*sv == "owa" && h.calendar_publishing))
            .collect();
        if !web.is_empty() {
            let sev = if s.credentials.is_some() {
                Severity::High
            } else {
                Severity::Medium
            };
            push(
                Kind::UnencryptedOnEncryptedPath,
                sev,
                format!("Exchange web services over clear HTTP: {}", web.join(", ")),
                vec![("services", web.join(","))],
            );
        }
    }

    // ports and paths
    let server_exchange = ctx.server_roles.intersects(exchange_roles()) && ctx.server_role_known;
    let client_exchange = ctx.client_roles.intersects(exchange_roles()) && ctx.client_role_known;
    match (ctx.no_path, app) {
        (Some(NoPath::NoPathOnPort), Some(a)) => {
            let sev = match a {
                "smtp" | "ldap" => Some(Severity::Medium),
                "imap" | "pop3" | "sip" => Some(Severity::Low),
                "http" | "tls" if server_exchange || client_exchange => Some(Severity::Low),
                _ => None,
            };
            let dynamic_rpc = a == "dcerpc";
            if let (Some(sev), false) = (sev, dynamic_rpc) {
                let shown = f.app_proto_orig.unwrap_or(a);
                push(
                    Kind::UnexpectedPort,
                    sev,
                    format!("{shown} on {transport}/{port}, a port no documented Exchange path uses"),
                    vec![("protocol", shown.to_string()), ("port", port.to_string())],
                );
            }
        }
        (Some(NoPath::ProtocolNotDocumented), Some(a)) if a != "dcerpc" || !dynamic(port) => {
            let shown = f
                .app_proto_orig
                .map_or_else(|| a.to_string(), |o| format!("{o} over tls"));
            push(
                Kind::ProtocolMismatch,
                Severity::Medium,
                format!("{shown} on {transport}/{port}, where the documented paths expect another protocol"),
                vec![("protocol", shown.clone()), ("port", port.to_string())],
            );
        }
        (Some(NoPath::RolesNotDocumented), Some(a)) if ctx.server_role_known => {
            let roles = |r: RoleSet| r.iter().map(|x| x.as_str()).collect::<Vec<_>>().join("+");
            push(
                Kind::UndocumentedPath,
                Severity::Medium,
                format!(
                    "{a} from {} to {} on {transport}/{port}: no documented path between these roles",
                    roles(ctx.client_roles),
                    roles(ctx.server_roles)
                ),
                vec![
                    ("src_role", roles(ctx.client_roles)),
                    ("dst_role", roles(ctx.server_roles)),
                ],
            );
        }
        _ => {}
    }

    // TLS
    if let Some(t) = &s.tls {
        if let Some((sev, why)) = weak_tls(t.version_code, t.cipher_name) {
            let mut ev = vec![("version", t.version.unwrap_or("").to_string())];
            if let Some(c) = t.cipher_name {
                ev.push(("cipher", c.to_string()));
            }
            push(Kind::WeakTls, sev, format!("weak TLS: {why}"), ev);
        }
        let cert_ev = || {
            let mut ev = Vec::new();
            if let Some(x) = &t.leaf_subject {
                ev.push(("subject", x.clone()));
            }
            if let Some(x) = &t.leaf_issuer {
                ev.push(("issuer", x.clone()));
            }
            if let Some(x) = &t.sni {
                ev.push(("sni", x.clone()));
            }
            ev
        };
        if t.leaf_self_signed && !self_signed_is_normal(ctx) {
            push(
                Kind::SelfSignedCertificate,
                Severity::Low,
                format!(
                    "self-signed server certificate {}",
                    t.leaf_subject.as_deref().unwrap_or("")
                ),
                cert_ev(),
            );
        }
        if t.leaf_expired {
            let mut ev = cert_ev();
            if let Some(na) = t.leaf_not_after {
                ev.push(("not_after", na.to_string()));
            }
            push(
                Kind::ExpiredCertificate,
                Severity::Medium,
                format!("expired server certificate {}", t.leaf_subject.as_deref().unwrap_or("")),
                ev,
            );
        }
    }

    // DCE/RPC
    if let Some(r) = &s.rpc {
        let below = r.unauthenticated_calls > 0 || r.lowest_level.is_some_and(|l| l < RPC_AUTH_LEVEL_PRIVACY);
        if below && !r.lookup_only && s.notable & facts::N_CLEAR_EXCHANGE != 0 {
            let sensitive = r.interfaces.iter().any(|i| SENSITIVE_INTERFACES.contains(i));
            let documented = promised(ctx, &[Crypto::RpcPrivacy]).is_some()
                || ctx
                    .path
                    .is_some_and(|e| e.encryption.with.contains(&Crypto::RpcPrivacy));
            let sev = if sensitive || documented {
                Severity::Medium
            } else {
                Severity::Low
            };
            let level = match r.lowest_level {
                Some(l) if r.unauthenticated_calls == 0 => auth_level_name(l).to_string(),
                _ => "unauthenticated".to_string(),
            };
            let names = if r.interfaces.is_empty() {
                "interface unknown: its bind was not captured".to_string()
            } else {
                r.interfaces.join(", ")
            };
            let mut ev = vec![("auth_level", level.clone()), ("interfaces", r.interfaces.join(","))];
            if documented {
                ev.push(("documented", "rpc-privacy".into()));
            }
            if let Some(u) = &r.user {
                ev.push(("user", u.clone()));
            }
            push(
                Kind::RpcWithoutPrivacy,
                sev,
                format!("DCE/RPC calls at {level}, below packet privacy ({names})"),
                ev,
            );
        }
    }
    if app == Some("dcerpc")
        && f.ends.proto == IPPROTO_TCP
        && dynamic(port)
        && ctx.announced.is_none()
        && !s.rpc.as_ref().is_some_and(|r| r.lookup_only)
    {
        push(
            Kind::DynamicRpcUnmapped,
            Severity::Low,
            format!("DCE/RPC on dynamic port {port} with no endpoint-mapper answer behind it"),
            vec![("port", port.to_string())],
        );
    }

    // SIP and RTP
    if let Some(sp) = &s.sip
        && sp.cleartext
        && let Some((level, how)) = promised(ctx, &[Crypto::Tls, Crypto::MutualTls])
    {
        push(
            Kind::SipUnsecured,
            if level == Level::Required {
                Severity::Medium
            } else {
                Severity::Low
            },
            format!(
                "SIP in clear text over {} where TLS is documented ({})",
                transport,
                level.as_str()
            ),
            vec![("promise", level.as_str().to_string()), ("match", how.to_string())],
        );
    }
    if let Some(Announced::Media {
        call_id,
        media,
        srtp: false,
    }) = ctx.announced
    {
        let sev = if promised(ctx, &[Crypto::Srtp]).is_some() {
            Severity::Medium
        } else {
            Severity::Low
        };
        push(
            Kind::RtpUnencrypted,
            sev,
            format!("RTP {media} without SRTP (call {call_id})"),
            vec![("call_id", call_id.clone()), ("media", media.clone())],
        );
    }

    // LDAP signing (ADV190023)
    if let Some(l) = &s.ldap
        && clear
        && !l.cldap
        && l.authenticated_bind
        && !l.sasl_wrapped
    {
        let mut ev = vec![("bind", l.bind_kinds.join(","))];
        if let Some(n) = &l.bind_name {
            ev.push(("user", n.clone()));
        }
        push(
            Kind::LdapUnsignedBind,
            Severity::Medium,
            format!("LDAP {} bind without TLS, signing or sealing", l.bind_kinds.join("/")),
            ev,
        );
    }
}

fn dynamic(port: u16) -> bool {
    port >= FIRST_DYNAMIC_PORT && !STATIC_RPC_PORTS.contains(&port)
}

/// MS-RPCE §2.2.1.1.8 authentication levels.
pub fn auth_level_name(l: u8) -> &'static str {
    match l {
        1 => "none",
        2 => "connect",
        3 => "call",
        4 => "packet",
        5 => "integrity",
        6 => "privacy",
        _ => "default",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Catalog;
    use crate::decode::Addr;
    use crate::flow::facts::{Credentials, FlowEnds, LdapFacts, TlsFacts, Upgrade};

    fn flow(port: u16, app: &'static str, enc: &'static str, sec: Facts) -> FlowFacts {
        FlowFacts {
            ends: FlowEnds {
                client: Addr::v4([10, 2, 0, 50]),
                client_port: 50000,
                server: Addr::v4([10, 1, 0, 5]),
                server_port: port,
                proto: IPPROTO_TCP,
                start_ns: 1,
                first_idx: 1,
                handshake_seen: true,
                ends_known: true,
            },
            app_proto: Some(app),
            app_proto_orig: None,
            encryption: Some((enc, enc != "none")),
            bytes: 100,
            server_pkts: 1,
            last_ns: 2,
            sec,
        }
    }

    fn ctx<'a>(path: Option<&'a Entry>, exact: bool, cands: &'a [&'a Entry]) -> Context<'a> {
        Context {
            path,
            exact,
            candidates: cands,
            no_path: None,
            client_roles: RoleSet::EMPTY,
            server_roles: RoleSet::EMPTY,
            server_role_known: false,
            client_role_known: false,
            announced: None,
        }
    }

    fn kinds(f: &FlowFacts, c: &Context<'_>) -> Vec<&'static str> {
        let mut out = Vec::new();
        evaluate(f, c, &mut out);
        out.iter().map(|x| x.kind.as_str()).collect()
    }

    fn entry<'c>(cat: &'c Catalog, id: &str) -> &'c Entry {
        cat.entries
            .iter()
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("no entry {id}"))
    }

    #[test]
    fn weak_tls_grades() {
        assert_eq!(weak_tls(0x0303, Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")), None);
        assert_eq!(weak_tls(0x0304, Some("TLS_AES_128_GCM_SHA256")), None);
        assert_eq!(weak_tls(0x0301, None).map(|w| w.0), Some(Severity::Medium));
        assert_eq!(weak_tls(0x0300, None).map(|w| w.0), Some(Severity::High));
        assert_eq!(
            weak_tls(0x0303, Some("TLS_RSA_WITH_RC4_128_SHA")).map(|w| w.0),
            Some(Severity::Medium)
        );
        assert_eq!(
            weak_tls(0x0303, Some("TLS_RSA_WITH_3DES_EDE_CBC_SHA")).map(|w| w.0),
            Some(Severity::Medium)
        );
        assert_eq!(
            weak_tls(0x0303, Some("TLS_RSA_WITH_NULL_SHA256")).map(|w| w.0),
            Some(Severity::High)
        );
        assert_eq!(
            weak_tls(0x0303, Some("TLS_RSA_EXPORT_WITH_RC4_40_MD5")).map(|w| w.0),
            Some(Severity::High)
        );
        // the worse of version and cipher
        assert_eq!(
            weak_tls(0x0301, Some("TLS_DH_anon_WITH_AES_128_CBC_SHA")).map(|w| w.0),
            Some(Severity::High)
        );
    }

    #[test]
    fn clear_credentials_always_and_redactable_user_in_evidence() {
        let sec = Facts {
            notable: facts::N_PROTO | facts::N_CLEAR_EXCHANGE | facts::N_CREDENTIALS,
            credentials: Some(Credentials {
                protocol: "pop3",
                mechanism: "USER".into(),
                user: Some("alice".into()),
            }),
            ..Facts::default()
        };
        let f = flow(110, "pop3", "none", sec);
        let mut out = Vec::new();
        evaluate(&f, &ctx(None, false, &[]), &mut out);
        let c = out
            .iter()
            .find(|x| x.kind == Kind::CleartextCredentials)
            .expect("raised");
        assert_eq!(c.severity, Severity::High);
        assert!(c.evidence.contains(&("user", "alice".to_string())));
    }

    #[test]
    fn smtp_between_transport_servers_without_starttls() {
        let cat = Catalog::embedded();
        let hub = entry(&cat, "ex2010.transport.hub-hub-smtp");
        let sec = Facts {
            notable: facts::N_PROTO | facts::N_CLEAR_EXCHANGE | facts::N_STARTTLS_OFFERED,
            upgrade: Upgrade {
                offered: true,
                ..Upgrade::default()
            },
            ..Facts::default()
        };
        let f = flow(25, "smtp", "none", sec.clone());
        let cands = [hub];
        let k = kinds(&f, &ctx(Some(hub), true, &cands));
        assert_eq!(k, ["starttls_not_used", "unencrypted_on_encrypted_path"]);
        // the STARTTLS upgrade itself with Setup's self-signed certificate: silent
        let mut up = flow(25, "tls", "starttls", Facts::default());
        up.app_proto_orig = Some("smtp");
        up.sec.upgrade = Upgrade {
            offered: true,
            asked: true,
            command: Some("STARTTLS"),
            reply: Some("220".into()),
            ..Upgrade::default()
        };
        up.sec.tls = Some(TlsFacts {
            version: Some("TLSv1.2"),
            version_code: 0x0303,
            leaf_self_signed: true,
            chosen: true,
            ..TlsFacts::default()
        });
        assert!(kinds(&up, &ctx(Some(hub), true, &cands)).is_empty());
    }

    #[test]
    fn port_only_matches_need_every_candidate_to_promise() {
        let cat = Catalog::embedded();
        let sec = Facts {
            notable: facts::N_PROTO | facts::N_CLEAR_EXCHANGE,
            ..Facts::default()
        };
        let f = flow(25, "smtp", "none", sec);
        let all: Vec<&Entry> = cat
            .port_candidates(IPPROTO_TCP, 25)
            .filter(|e| e.protocol == Protocol::Smtp)
            .collect();
        assert!(all.len() > 1);
        let allowing = all
            .iter()
            .any(|e| promise(e, &[Crypto::Tls, Crypto::Starttls]).is_none());
        let k = kinds(&f, &ctx(Some(all[0]), false, &all));
        assert_eq!(k.contains(&"unencrypted_on_encrypted_path"), !allowing);
    }

    #[test]
    fn ldap_binds() {
        let bound = |kind: &str, wrapped: bool| Facts {
            notable: facts::N_PROTO | facts::N_CLEAR_EXCHANGE | facts::N_LDAP_BIND,
            ldap: Some(LdapFacts {
                authenticated_bind: true,
                bind_kinds: vec![kind.into()],
                sasl_wrapped: wrapped,
                ..LdapFacts::default()
            }),
            ..Facts::default()
        };
        let c = ctx(None, false, &[]);
        assert_eq!(
            kinds(&flow(389, "ldap", "none", bound("sasl", false)), &c),
            ["ldap_unsigned_bind"]
        );
        assert!(kinds(&flow(389, "ldap", "ldap-sasl-seal", bound("sasl", true)), &c).is_empty());
        let mut anon = bound("simple", false);
        anon.ldap.as_mut().unwrap().authenticated_bind = false;
        assert!(kinds(&flow(389, "ldap", "none", anon), &c).is_empty());
    }

    #[test]
    fn ports_and_roles() {
        let sec = Facts {
            notable: facts::N_PROTO | facts::N_CLEAR_EXCHANGE,
            ..Facts::default()
        };
        let mut c = ctx(None, false, &[]);
        c.no_path = Some(NoPath::NoPathOnPort);
        assert_eq!(
            kinds(&flow(10389, "ldap", "none", sec.clone()), &c),
            ["unexpected_port"]
        );
        // TLS on an odd port says nothing without an Exchange role
        assert!(kinds(&flow(8443, "tls", "tls", Facts::default()), &c).is_empty());
        c.no_path = Some(NoPath::ProtocolNotDocumented);
        assert_eq!(
            kinds(&flow(443, "http", "none", sec.clone()), &c),
            ["protocol_mismatch"]
        );
        c.no_path = Some(NoPath::RolesNotDocumented);
        c.client_roles = RoleSet::EMPTY.with(Role::Internet);
        c.server_roles = RoleSet::EMPTY.with(Role::Mailbox);
        c.server_role_known = true;
        assert_eq!(
            kinds(&flow(135, "dcerpc", "none", Facts::default()), &c),
            ["undocumented_path"]
        );
        // an outside server's role is only its address: not enough to call a path undocumented
        c.server_role_known = false;
        assert!(kinds(&flow(135, "dcerpc", "none", Facts::default()), &c).is_empty());
    }
}
