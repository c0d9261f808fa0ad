//! What a flow's parsers found that matters for security, in one protocol-neutral shape.
//!
//! The classify stage turns these facts, with the data path and the hosts' roles, into
//! findings and role inferences; it never looks into a parser's summary itself. Two entry
//! points:
//!
//! - [`notable`]: a cheap bit set of what the flow has shown so far, computed after each chunk
//!   of payload. When it gains a bit, the flow layer sends a snapshot of [`Facts`] to the
//!   classify stage, so that a finding is raised the moment its evidence is seen and not when
//!   a long flow ends. The bits only ever grow, so a flow sends few snapshots (one when its
//!   protocol is known, one per new kind of evidence).
//! - [`facts`]: the owned snapshot (allocates; called only when `notable` grew and at flow end).
//!
//! Nothing here holds a secret: user names are kept, passwords and tokens never reached the
//! summaries in the first place.

use super::app::{App, AppLayer};
use super::{Flow, Orientation};
use crate::decode::Addr;
use crate::proto::tls::TlsSummary;

/// A flow's endpoints and start, as the classify stage needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowEnds {
    pub client: Addr,
    pub client_port: u16,
    pub server: Addr,
    pub server_port: u16,
    pub proto: u8,
    pub start_ns: u64,
    pub first_idx: u64,
    /// Client and server come from a SYN or SYN-ACK (else from a port guess, which a dynamic
    /// RPC port above the client's can fool).
    pub handshake_seen: bool,
    /// Client and server are known: from the handshake, or from the first message a parser
    /// recognised (`client_from` `payload`); false only for a port guess.
    pub ends_known: bool,
}

/// What the classify stage needs of a flow, finished or still open (small and owned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFacts {
    pub ends: FlowEnds,
    /// The parser's verdict (`None` when no parser claimed the flow).
    pub app_proto: Option<&'static str>,
    pub app_proto_orig: Option<&'static str>,
    /// `encryption` value and whether it hides the content.
    pub encryption: Option<(&'static str, bool)>,
    /// Wire bytes both ways so far.
    pub bytes: u64,
    /// Packets the server sent so far (it answered).
    pub server_pkts: u64,
    /// Time of the last packet so far.
    pub last_ns: u64,
    pub sec: Facts,
}

/// An open flow's facts when they gained a [`notable`] bit, at the time of that packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub ts_ns: u64,
    pub flow: FlowFacts,
}

/// The classify stage's view of a flow.
pub fn flow_facts(f: &Flow) -> FlowFacts {
    FlowFacts {
        ends: FlowEnds {
            client: f.client,
            client_port: f.client_port,
            server: f.server,
            server_port: f.server_port,
            proto: f.proto,
            start_ns: f.start_ns,
            first_idx: f.first_idx,
            handshake_seen: matches!(f.orientation, Orientation::Syn | Orientation::SynAck),
            ends_known: matches!(
                f.orientation,
                Orientation::Syn | Orientation::SynAck | Orientation::Payload
            ),
        },
        app_proto: f.app.proto_name(),
        app_proto_orig: f.app.orig_name(),
        encryption: f.app.encryption(),
        bytes: f.bytes[0] + f.bytes[1],
        server_pkts: f.pkts[super::TO_CLIENT],
        last_ns: f.last_ns,
        sec: facts(&f.app),
    }
}

/// A parser owns the flow (its protocol is known).
pub const N_PROTO: u32 = 1 << 0;
/// The protocol did real work in clear text (a mail transaction, a request, a bind, a call).
pub const N_CLEAR_EXCHANGE: u32 = 1 << 1;
/// Credentials crossed in clear text.
pub const N_CREDENTIALS: u32 = 1 << 2;
/// The server offered STARTTLS (or X-ANONYMOUSTLS, STLS).
pub const N_STARTTLS_OFFERED: u32 = 1 << 3;
/// The client asked for STARTTLS.
pub const N_STARTTLS_ASKED: u32 = 1 << 4;
/// The server answered the STARTTLS request (accepted or not).
pub const N_STARTTLS_ANSWERED: u32 = 1 << 5;
/// The TLS version and cipher are chosen (ServerHello, or SSLv2).
pub const N_TLS_CHOSEN: u32 = 1 << 6;
/// The server's certificate chain was seen.
pub const N_TLS_CERT: u32 = 1 << 7;
/// A fatal TLS alert was seen in clear.
pub const N_TLS_FATAL: u32 = 1 << 8;
/// A DCE/RPC bind or a call was seen.
pub const N_RPC: u32 = 1 << 9;
/// An LDAP bind was answered.
pub const N_LDAP_BIND: u32 = 1 << 10;
/// The server named itself Microsoft Exchange (SMTP banner, IMAP/POP3 greeting).
pub const N_EXCHANGE_BANNER: u32 = 1 << 11;
/// A request named an Exchange web service (OWA, EWS, ActiveSync, MAPI/HTTP...).
pub const N_HTTP_SERVICE: u32 = 1 << 12;

/// Clear-text credentials: the first use seen on the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `smtp`, `imap`, `pop3`, `ldap`, `http`.
    pub protocol: &'static str,
    /// `PLAIN`, `LOGIN`, `USER/PASS`, `simple`, `Basic`, ...
    pub mechanism: String,
    pub user: Option<String>,
}

/// STARTTLS-style upgrades (SMTP STARTTLS / X-ANONYMOUSTLS, IMAP STARTTLS, POP3 STLS, LDAP
/// StartTLS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upgrade {
    pub offered: bool,
    pub asked: bool,
    /// The server refused the request (a non-2xx/NO/BAD/-ERR reply or a non-success result).
    pub refused: bool,
    /// The command the client used (`STARTTLS`, `X-ANONYMOUSTLS`, `STLS`, `StartTLS`).
    pub command: Option<&'static str>,
    /// The reply (SMTP code, IMAP status, LDAP result code) as text.
    pub reply: Option<String>,
}

/// The TLS handshake's security facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFacts {
    /// Negotiated version name (`TLSv1.2`, `SSLv3`, ...) and code.
    pub version: Option<&'static str>,
    pub version_code: u16,
    pub cipher: Option<u16>,
    pub cipher_name: Option<&'static str>,
    pub sni: Option<String>,
    /// The server's leaf certificate's names, kept only when it is self-signed or expired (the
    /// evidence of those findings).
    pub leaf_subject: Option<String>,
    pub leaf_issuer: Option<String>,
    pub leaf_self_signed: bool,
    pub leaf_expired: bool,
    /// Unix seconds.
    pub leaf_not_after: Option<i64>,
    /// A fatal alert was seen in clear, by whom (`client`/`server`) and its description code.
    pub fatal_alert: Option<(&'static str, u8)>,
    /// The server chose a version or cipher (the handshake got that far).
    pub chosen: bool,
}

/// DCE/RPC facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpcFacts {
    /// Names of the interfaces bound (known ones), first-seen order, bounded by the parser.
    pub interfaces: Vec<&'static str>,
    /// Every bound interface is the endpoint mapper (or mgmt): lookups, normally
    /// unauthenticated.
    pub lookup_only: bool,
    /// The lowest authentication level seen in a security trailer (1 none … 6 privacy).
    pub lowest_level: Option<u8>,
    /// Request/response PDUs without any authentication.
    pub unauthenticated_calls: u64,
    pub authenticated_pdus: u64,
    pub privacy_pdus: u64,
    /// NTLM user (`DOMAIN\user`) from the AUTHENTICATE message.
    pub user: Option<String>,
    /// The endpoint mapper answered with an endpoint for one of these interfaces.
    pub mapped_interfaces: Vec<&'static str>,
}

/// LDAP facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LdapFacts {
    pub cldap: bool,
    /// A bind succeeded that was not anonymous (a name or credentials went).
    pub authenticated_bind: bool,
    /// The binds' kinds (`simple`, `sasl`, `sicilyNegotiate`, ...), first of each.
    pub bind_kinds: Vec<String>,
    pub bind_name: Option<String>,
    /// SASL security layer PDUs followed the bind (signing or sealing).
    pub sasl_wrapped: bool,
    /// The NTLM negotiation asked for signing or sealing.
    pub ntlm_sign_or_seal: bool,
}

/// SIP facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SipFacts {
    pub cleartext: bool,
    pub udp: bool,
    pub messages: u64,
    /// The first Call-ID.
    pub call_id: Option<String>,
    /// SDP offered media without SRTP (`RTP/AVP`, no `a=crypto`).
    pub media_without_srtp: u32,
    pub media_with_srtp: u32,
}

/// HTTP facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpFacts {
    /// Exchange services requested, first-seen order.
    pub services: Vec<&'static str>,
    /// Any request path (for documented exceptions such as calendar publishing).
    pub calendar_publishing: bool,
    /// A response came from the server (it serves, not only listens).
    pub answered: bool,
    /// The first Exchange service the server answered without an error (a success, a
    /// redirect or an authentication challenge): evidence of a client access role.
    pub served_service: Option<&'static str>,
    /// The first `Host` header.
    pub host: Option<String>,
}

/// Every security-relevant fact of one flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// [`notable`] when the snapshot was taken.
    pub notable: u32,
    pub credentials: Option<Credentials>,
    pub upgrade: Upgrade,
    /// The server named itself Microsoft Exchange.
    pub exchange_banner: bool,
    pub tls: Option<TlsFacts>,
    pub rpc: Option<RpcFacts>,
    pub ldap: Option<LdapFacts>,
    pub sip: Option<SipFacts>,
    pub http: Option<HttpFacts>,
}

/// The bit set of what the flow has shown (see the module doc). Cheap: a few loads from the
/// parser's summary, no allocation.
pub fn notable(a: &AppLayer) -> u32 {
    if matches!(a.app, App::Probing | App::Unknown) {
        return 0;
    }
    let clear = a.before_tls.as_ref().unwrap_or(&a.app);
    let mut n = N_PROTO | clear_bits(clear);
    if let App::Tls(t) = &a.app {
        n |= tls_bits(t.summary());
    }
    n
}

fn tls_bits(t: &TlsSummary) -> u32 {
    let mut n = 0;
    if t.server_hello.is_some() || t.sslv2 {
        n |= N_TLS_CHOSEN;
    }
    if t.certificates
        .iter()
        .any(|c| c.sender == crate::proto::tls::Sender::Server)
    {
        n |= N_TLS_CERT;
    }
    if t.alerts.iter().any(|al| al.level == TLS_ALERT_FATAL) {
        n |= N_TLS_FATAL;
    }
    n
}

/// RFC 8446 §6: AlertLevel fatal.
const TLS_ALERT_FATAL: u8 = 2;

fn bit(b: bool, v: u32) -> u32 {
    if b { v } else { 0 }
}

/// The bits of a clear-text protocol's summary.
fn clear_bits(app: &App) -> u32 {
    match app {
        App::Smtp(s) => {
            let s = s.summary();
            bit(s.mail_from_count > 0 || !s.auth.is_empty(), N_CLEAR_EXCHANGE)
                | bit(s.cleartext_credentials(), N_CREDENTIALS)
                | bit(s.starttls_offered || s.x_anonymoustls_offered, N_STARTTLS_OFFERED)
                | bit(s.starttls.is_some(), N_STARTTLS_ASKED)
                | bit(
                    s.starttls
                        .as_ref()
                        .is_some_and(|t| t.reply_code.is_some() || t.accepted),
                    N_STARTTLS_ANSWERED,
                )
                | bit(s.exchange_banner, N_EXCHANGE_BANNER)
        }
        App::Imap(s) => {
            let s = s.summary();
            bit(!s.auth.is_empty() || s.tagged_ok > 1, N_CLEAR_EXCHANGE)
                | bit(s.cleartext_credentials(), N_CREDENTIALS)
                | bit(s.starttls_offered, N_STARTTLS_OFFERED)
                | bit(s.starttls.is_some(), N_STARTTLS_ASKED)
                | bit(
                    s.starttls.as_ref().is_some_and(|t| t.status.is_some() || t.accepted),
                    N_STARTTLS_ANSWERED,
                )
                | bit(s.exchange_greeting, N_EXCHANGE_BANNER)
        }
        App::Pop3(s) => {
            let s = s.summary();
            bit(!s.auth.is_empty(), N_CLEAR_EXCHANGE)
                | bit(s.cleartext_credentials(), N_CREDENTIALS)
                | bit(s.stls_offered, N_STARTTLS_OFFERED)
                | bit(s.stls.is_some(), N_STARTTLS_ASKED)
                | bit(
                    s.stls.as_ref().is_some_and(|t| t.status.is_some() || t.accepted),
                    N_STARTTLS_ANSWERED,
                )
                | bit(s.exchange_greeting, N_EXCHANGE_BANNER)
        }
        App::Http(h) => {
            let s = h.summary();
            bit(s.request_count > 0, N_CLEAR_EXCHANGE)
                | bit(s.basic_auth_in_cleartext, N_CREDENTIALS)
                | bit(!s.services.is_empty(), N_HTTP_SERVICE)
        }
        App::Ldap(l) => {
            let s = l.summary();
            let answered = s.binds.iter().any(|b| b.result_code.is_some());
            bit(!s.ops.is_empty(), N_CLEAR_EXCHANGE)
                | bit(s.simple_bind_in_cleartext, N_CREDENTIALS)
                | bit(answered, N_LDAP_BIND)
                | bit(s.starttls_requested, N_STARTTLS_ASKED)
                | bit(
                    s.extended
                        .iter()
                        .any(|e| e.name == Some("StartTLS") && e.result_code.is_some()),
                    N_STARTTLS_ANSWERED,
                )
        }
        App::Dcerpc(d) => {
            let s = d.summary();
            bit(!s.binds.is_empty() || s.count(0) > 0, N_RPC) | bit(s.count(0) > 0, N_CLEAR_EXCHANGE)
        }
        App::Sip(s) => bit(s.summary().messages > 0, N_CLEAR_EXCHANGE),
        App::Tls(_) | App::Probing | App::Unknown => 0,
    }
}

/// The owned snapshot of the flow's facts.
pub fn facts(a: &AppLayer) -> Facts {
    let mut f = Facts {
        notable: notable(a),
        ..Facts::default()
    };
    let clear = a.before_tls.as_ref().unwrap_or(&a.app);
    clear_facts(clear, &mut f);
    if let App::Tls(t) = &a.app {
        f.tls = Some(tls_facts(t.summary()));
    }
    f
}

fn tls_facts(t: &TlsSummary) -> TlsFacts {
    use crate::proto::tls::Sender;
    let sh = t.server_hello.as_ref();
    let leaf = t
        .certificates
        .iter()
        .find(|c| c.sender == Sender::Server && c.chain_index == 0);
    let fatal = t.alerts.iter().find(|al| al.level == TLS_ALERT_FATAL).map(|al| {
        let who = if al.sender == Sender::Server {
            "server"
        } else {
            "client"
        };
        (who, al.description)
    });
    let notable_leaf = leaf.filter(|c| c.cert.self_signed || c.expired);
    TlsFacts {
        version: t.version(),
        version_code: if t.sslv2 {
            0x0002
        } else {
            sh.map_or(0, |s| s.selected_version)
        },
        cipher: sh.map(|s| s.cipher),
        cipher_name: sh.and_then(|s| crate::proto::tls::cipher_name(s.cipher)),
        // names only where a finding will show them (a self-signed or expired leaf)
        sni: notable_leaf.and_then(|_| t.client_hello.as_ref()?.sni.clone()),
        leaf_subject: notable_leaf.map(|c| c.cert.subject.clone()).filter(|s| !s.is_empty()),
        leaf_issuer: notable_leaf.map(|c| c.cert.issuer.clone()).filter(|s| !s.is_empty()),
        leaf_self_signed: leaf.is_some_and(|c| c.cert.self_signed),
        leaf_expired: leaf.is_some_and(|c| c.expired),
        leaf_not_after: leaf.filter(|c| c.cert.parsed).map(|c| c.cert.not_after),
        fatal_alert: fatal,
        chosen: sh.is_some() || t.sslv2,
    }
}

fn clear_facts(app: &App, f: &mut Facts) {
    match app {
        App::Smtp(s) => {
            let s = s.summary();
            f.exchange_banner = s.exchange_banner;
            let auths = s
                .auth
                .iter()
                .map(|a| (a.cleartext_credentials, a.command, &a.mechanism, &a.user));
            f.credentials = first_in_clear("smtp", auths);
            let req = s.starttls.as_ref();
            f.upgrade = upgrade(
                s.starttls_offered || s.x_anonymoustls_offered,
                req.map(|t| (t.command, t.accepted, t.reply_code.map(|c| c.to_string()))),
            );
        }
        App::Imap(s) => {
            let s = s.summary();
            f.exchange_banner = s.exchange_greeting;
            let auths = s
                .auth
                .iter()
                .map(|a| (a.cleartext_credentials, a.command, &a.mechanism, &a.user));
            f.credentials = first_in_clear("imap", auths);
            let req = s.starttls.as_ref();
            f.upgrade = upgrade(
                s.starttls_offered,
                req.map(|t| ("STARTTLS", t.accepted, t.status.map(str::to_string))),
            );
        }
        App::Pop3(s) => {
            let s = s.summary();
            f.exchange_banner = s.exchange_greeting;
            let auths = s
                .auth
                .iter()
                .map(|a| (a.cleartext_credentials, a.command, &a.mechanism, &a.user));
            f.credentials = first_in_clear("pop3", auths);
            let req = s.stls.as_ref();
            f.upgrade = upgrade(
                s.stls_offered,
                req.map(|t| ("STLS", t.accepted, t.status.map(str::to_string))),
            );
        }
        App::Http(h) => {
            let s = h.summary();
            if s.basic_auth_in_cleartext {
                let user = s
                    .requests
                    .iter()
                    .filter_map(|r| r.authorization.as_ref())
                    .find(|a| a.scheme.eq_ignore_ascii_case("basic"))
                    .and_then(|a| a.user.clone());
                f.credentials = Some(Credentials {
                    protocol: "http",
                    mechanism: "Basic".into(),
                    user,
                });
            }
            f.http = Some(HttpFacts {
                services: s.services.clone(),
                calendar_publishing: s.requests.iter().any(|r| is_calendar_publishing(&r.target)),
                answered: s.response_count > 0,
                served_service: s
                    .requests
                    .iter()
                    .find(|r| r.service.is_some() && r.status.is_some_and(|c| c < 400 || c == 401))
                    .and_then(|r| r.service),
                host: s.requests.iter().find_map(|r| r.host.clone()),
            });
        }
        App::Ldap(l) => {
            let s = l.summary();
            if s.simple_bind_in_cleartext {
                let b = s.binds.iter().find(|b| b.auth == "simple" && b.password_present);
                f.credentials = Some(Credentials {
                    protocol: "ldap",
                    mechanism: "simple".into(),
                    user: b.map(|b| b.name.clone()).filter(|n| !n.is_empty()),
                });
            }
            let authenticated = s
                .binds
                .iter()
                .filter(|b| b.result_code == Some(0))
                .any(|b| b.auth != "simple" || b.password_present || !b.name.is_empty());
            let mut kinds: Vec<String> = Vec::new();
            for b in &s.binds {
                if !kinds.contains(&b.auth) {
                    kinds.push(b.auth.clone());
                }
            }
            let start_tls = s.extended.iter().find(|e| e.name == Some("StartTLS"));
            f.upgrade = upgrade(
                false,
                start_tls.map(|e| {
                    (
                        "StartTLS",
                        e.result_code == Some(0),
                        e.result_code.map(|c| c.to_string()),
                    )
                }),
            );
            f.ldap = Some(LdapFacts {
                cldap: s.cldap,
                authenticated_bind: authenticated,
                bind_kinds: kinds,
                bind_name: s.binds.iter().map(|b| b.name.clone()).find(|n| !n.is_empty()),
                sasl_wrapped: s.sasl_wrapped_pdus > 0,
                ntlm_sign_or_seal: s.ntlm.sign || s.ntlm.seal,
            });
        }
        App::Dcerpc(d) => {
            let s = d.summary();
            let mut names: Vec<&'static str> = Vec::new();
            let mut lookup_only = true;
            for c in s.binds.iter().flat_map(|b| b.contexts.iter()) {
                match c.name {
                    Some(n) => {
                        if !names.contains(&n) {
                            names.push(n);
                        }
                        if !matches!(n, "EPM" | "mgmt") {
                            lookup_only = false;
                        }
                    }
                    None => lookup_only = false,
                }
            }
            let mut mapped: Vec<&'static str> = Vec::new();
            for e in &s.epm_endpoints {
                if let Some(n) = e.name
                    && !mapped.contains(&n)
                {
                    mapped.push(n);
                }
            }
            f.rpc = Some(RpcFacts {
                interfaces: names,
                lookup_only: lookup_only && !s.binds.is_empty(),
                lowest_level: s.lowest_auth_level,
                unauthenticated_calls: s.unauthenticated_calls,
                authenticated_pdus: s.authenticated_pdus,
                privacy_pdus: s.privacy_pdus,
                user: s.ntlm.user.as_ref().map(|u| match &s.ntlm.domain {
                    Some(d) if !d.is_empty() => format!("{d}\\{u}"),
                    _ => u.clone(),
                }),
                mapped_interfaces: mapped,
            });
        }
        App::Sip(s) => {
            let s = s.summary();
            f.sip = Some(SipFacts {
                cleartext: s.cleartext,
                udp: s.udp,
                messages: s.messages,
                call_id: s.calls.first().map(|c| c.call_id.clone()),
                media_without_srtp: s.sdp_media.iter().filter(|m| !m.srtp).count() as u32,
                media_with_srtp: s.sdp_media.iter().filter(|m| m.srtp).count() as u32,
            });
        }
        App::Tls(_) | App::Probing | App::Unknown => {}
    }
}

/// The first authentication exchange whose credentials crossed in clear text, from
/// `(cleartext, command, mechanism, user)` items (the mechanism names it, else the command:
/// IMAP `LOGIN`, POP3 `USER`).
fn first_in_clear<'a>(
    protocol: &'static str,
    auths: impl IntoIterator<Item = (bool, &'static str, &'a String, &'a Option<String>)>,
) -> Option<Credentials> {
    auths
        .into_iter()
        .find(|a| a.0)
        .map(|(_, command, mechanism, user)| Credentials {
            protocol,
            mechanism: if mechanism.is_empty() {
                command.to_string()
            } else {
                mechanism.clone()
            },
            user: user.clone(),
        })
}

/// An in-band upgrade: whether the server offered it, and the request if one was made
/// (`command`, whether TLS followed, the server's reply as text).
fn upgrade(offered: bool, req: Option<(&'static str, bool, Option<String>)>) -> Upgrade {
    match req {
        None => Upgrade {
            offered,
            ..Upgrade::default()
        },
        Some((command, accepted, reply)) => Upgrade {
            offered,
            asked: true,
            refused: !accepted && reply.is_some(),
            command: Some(command),
            reply,
        },
    }
}

/// Exchange calendar publishing (`/owa/calendar/...`), documented over port 80.
fn is_calendar_publishing(target: &str) -> bool {
    let t = target.as_bytes();
    const P: &[u8] = b"/owa/calendar";
    t.len() >= P.len() && t[..P.len()].eq_ignore_ascii_case(P)
}
