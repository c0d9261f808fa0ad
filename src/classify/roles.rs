//! Roles: what each host is, from the site inventory ([`super::inventory`]) and, where the
//! inventory says nothing, from what the host was seen doing (passive inference).
//!
//! This module owns [`Roles`] (the run's table of inferred roles over the inventory), the
//! per-host answer [`HostRoles`], the kinds of [`Evidence`], and the pure tests the classify
//! stage runs on a flow's parsed facts to find evidence ([`smtp_banner_evidence`],
//! [`mail_banner_evidence`], [`epm_evidence`], [`http_path_evidence`],
//! [`http_header_evidence`], [`served_evidence`]). The caller calls [`Roles::infer`] with what
//! it found and emits a `role` event when that returns `Some`.
//!
//! Rules:
//! - **The inventory wins**: a host the inventory gives roles is never inferred over (an
//!   `infer` for it returns `None`). A host inside `internal` with no role can be inferred.
//! - **Only the site's own hosts are inferred**: a host outside the internal networks is
//!   `internet` (the documented paths' word for any outside host), whatever it answers. A
//!   partner's Exchange answering SMTP is still `internet`; inferring `hub` for it would label
//!   an outside host's traffic to our Edge as the trusted hub → edge path. Refusals are counted.
//! - **Inferred roles are a lower bound**: what the host was seen doing, not all it is (an
//!   Exchange 2016 server seen answering SMTP is also a client access server). The label matcher
//!   ([`super::label`]) lets inferred roles make an exact match but never rule a path out.
//! - Bounded: at most [`MAX_INFERRED_HOSTS`] hosts are inferred; past it new hosts are refused
//!   and counted (the roles already learned are kept: they are what later flows are labelled
//!   with).
//!
//! # Evidence and the role it shows
//! | evidence ([`Evidence::kind`]) | role | why |
//! |---|---|---|
//! | `edgesync-ldaps`: serves TLS on tcp/50636 | `edge` | EdgeSync's secure LDAP: only the Edge's AD LDS instance listens there |
//! | `smtp-banner`: an SMTP greeting with `Microsoft ESMTP MAIL Service` or `Microsoft Exchange` | `hub`; `mailbox` on 2525/475/717/465 | `hub` is the vocabulary's word for the Exchange transport service, which is what the banner shows (an Edge greets the same way; so does the IIS SMTP service, whose banner adds `Version:`). The ports 2525, 475, 717 and 465 are the 2013+ transport services, which run on the mailbox role |
//! | `global-catalog`: serves LDAP on tcp/3268 or TLS on tcp/3269 | `dc` | global catalog ports |
//! | `kerberos`: answers on port 88 | `dc` | the KDC runs on domain controllers |
//! | `epm-interface`: answers an endpoint-mapper lookup with EMSMDB, AsyncEMSMDB, NSPI or RFR | `mailbox` | Exchange 2013+ runs every client access service on the mailbox role, and a 2010 mailbox server's store registers EMSMDB too; a 2010 CAS answering gets `mailbox`, which (a lower bound) does not rule out its `cas` paths. A global catalog also serves NSPI: the Exchange address book is the common answer since 2010 |
//! | `um-sip`: serves SIP (or SIP over TLS) on tcp/5065-5068 | `um` | the UM worker process's ports |
//! | `imap-banner`, `pop3-banner`: a greeting naming Microsoft Exchange | `cas` | the IMAP4/POP3 services are client access (in 2013+ the front end on a mailbox server) |
//! | `http-path`: serves `/owa`, `/ews`, `/Microsoft-Server-ActiveSync`, `/mapi/`, `/ecp`, `/oab` | `cas` | client access web services |
//! | `http-header`: answers with `X-OWA-Version`, `X-FEServer`, `X-BEServer`, `X-CalculatedBETarget` | `cas` | headers Exchange adds; the `Server` header names IIS, not Exchange |

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::catalog::{Role, RoleSet};
use super::inventory::Inventory;
use crate::decode::Addr;
use crate::flow::{IPPROTO_TCP, IPPROTO_UDP};

/// Hosts whose roles are inferred at most; new hosts past it are refused (and counted).
pub const MAX_INFERRED_HOSTS: usize = 65_536;

/// Why a host is believed to hold a role (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Evidence {
    /// Served TLS on tcp/50636 (EdgeSync's secure LDAP).
    EdgeSync,
    /// Greeted SMTP on `port` with an Exchange banner.
    SmtpBanner { port: u16 },
    /// Served LDAP on tcp/3268 or TLS on tcp/3269 (global catalog).
    GlobalCatalog { port: u16 },
    /// Answered on port 88 (Kerberos).
    Kerberos,
    /// Answered an endpoint-mapper lookup for an Exchange interface.
    EpmInterface { name: &'static str },
    /// Served SIP on `port`, one of 5065-5068 (UM worker process).
    UmSip { port: u16 },
    /// Greeted IMAP4 or POP3 (`pop3`) naming Microsoft Exchange.
    MailBanner { pop3: bool },
    /// Served an Exchange web path (`path` is its canonical prefix, e.g. `/owa`).
    HttpPath { path: &'static str },
    /// Answered HTTP with a header only Exchange adds.
    HttpHeader { name: &'static str },
}

impl Evidence {
    /// The role this evidence shows.
    pub fn role(&self) -> Role {
        match self {
            Evidence::EdgeSync => Role::Edge,
            Evidence::SmtpBanner { port } if MAILBOX_TRANSPORT_PORTS.contains(port) => Role::Mailbox,
            Evidence::SmtpBanner { .. } => Role::Hub,
            Evidence::GlobalCatalog { .. } | Evidence::Kerberos => Role::Dc,
            Evidence::EpmInterface { .. } => Role::Mailbox,
            Evidence::UmSip { .. } => Role::Um,
            Evidence::MailBanner { .. } | Evidence::HttpPath { .. } | Evidence::HttpHeader { .. } => Role::Cas,
        }
    }

    /// A stable word for output (`evidence.kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Evidence::EdgeSync => "edgesync-ldaps",
            Evidence::SmtpBanner { .. } => "smtp-banner",
            Evidence::GlobalCatalog { .. } => "global-catalog",
            Evidence::Kerberos => "kerberos",
            Evidence::EpmInterface { .. } => "epm-interface",
            Evidence::UmSip { .. } => "um-sip",
            Evidence::MailBanner { pop3: false } => "imap-banner",
            Evidence::MailBanner { pop3: true } => "pop3-banner",
            Evidence::HttpPath { .. } => "http-path",
            Evidence::HttpHeader { .. } => "http-header",
        }
    }

    /// What was seen, for people (`evidence.description`).
    pub fn describe(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::EdgeSync => f.write_str("served TLS on tcp/50636 (EdgeSync secure LDAP, Edge Transport)"),
            Evidence::SmtpBanner { port } => {
                write!(f, "greeted SMTP on port {port} with a Microsoft Exchange banner")
            }
            Evidence::GlobalCatalog { port } => write!(f, "served LDAP on global catalog port {port}"),
            Evidence::Kerberos => f.write_str("answered Kerberos on port 88"),
            Evidence::EpmInterface { name } => {
                write!(
                    f,
                    "answered an endpoint-mapper lookup for the Exchange interface {name}"
                )
            }
            Evidence::UmSip { port } => {
                write!(f, "served SIP on tcp/{port} (Unified Messaging worker process)")
            }
            Evidence::MailBanner { pop3 } => write!(
                f,
                "greeted {} as Microsoft Exchange",
                if *pop3 { "POP3" } else { "IMAP4" }
            ),
            Evidence::HttpPath { path } => write!(f, "served the Exchange web path {path}"),
            Evidence::HttpHeader { name } => write!(f, "answered HTTP with the Exchange header {name}"),
        }
    }
}

/// Ports of the Exchange 2013+ transport services (on the mailbox role): the Transport
/// service's 2525 and 465, Mailbox Transport Delivery's 475, the front end's outbound proxy 717.
pub const MAILBOX_TRANSPORT_PORTS: &[u16] = &[2525, 475, 717, 465];

/// EdgeSync's secure LDAP port.
pub const EDGESYNC_PORT: u16 = 50636;

/// Whether `hay` contains `needle`, ASCII case-insensitively (no allocation).
fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    !n.is_empty() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Whether an SMTP greeting is Exchange's (`Microsoft ESMTP MAIL Service`, or one naming
/// `Microsoft Exchange`, as Exchange 5.5 and 2000 did).
pub fn exchange_smtp_banner(banner: &str) -> bool {
    contains_ci(banner, "Microsoft ESMTP MAIL Service") || exchange_banner(banner)
}

/// Whether a greeting names Microsoft Exchange (`* OK The Microsoft Exchange IMAP4 service is
/// ready.`, `+OK The Microsoft Exchange POP3 service is ready.`).
pub fn exchange_banner(banner: &str) -> bool {
    contains_ci(banner, "Microsoft Exchange")
}

/// The evidence in an SMTP server's greeting on `server_port`, if it is Exchange's.
pub fn smtp_banner_evidence(banner: &str, server_port: u16) -> Option<Evidence> {
    exchange_smtp_banner(banner).then_some(Evidence::SmtpBanner { port: server_port })
}

/// The evidence in an IMAP4 or POP3 server's greeting (`app_proto` `imap` or `pop3`).
pub fn mail_banner_evidence(app_proto: &str, banner: &str) -> Option<Evidence> {
    let pop3 = match app_proto {
        "imap" => false,
        "pop3" => true,
        _ => return None,
    };
    exchange_banner(banner).then_some(Evidence::MailBanner { pop3 })
}

/// The evidence in an endpoint-mapper answer naming `interface` (a name of
/// [`crate::proto::dcerpc::interfaces::INTERFACES`]).
pub fn epm_evidence(interface: &str) -> Option<Evidence> {
    let name = ["EMSMDB", "AsyncEMSMDB", "NSPI", "RFR"]
        .into_iter()
        .find(|n| *n == interface)?;
    Some(Evidence::EpmInterface { name })
}

/// Exchange web services by path prefix (the case the clients use; matched case-insensitively).
pub const EXCHANGE_PATHS: &[&str] = &["/owa", "/ews", "/Microsoft-Server-ActiveSync", "/mapi", "/ecp", "/oab"];

/// The evidence in a request path the server answered: an Exchange web service when the path
/// is one of [`EXCHANGE_PATHS`] or below it (`/owa`, `/owa/`, `/OWA?x`; not `/owards`).
pub fn http_path_evidence(path: &str) -> Option<Evidence> {
    let p = path.as_bytes();
    EXCHANGE_PATHS
        .iter()
        .find(|x| {
            let x = x.as_bytes();
            p.len() >= x.len()
                && p[..x.len()].eq_ignore_ascii_case(x)
                && matches!(p.get(x.len()), None | Some(b'/' | b'?' | b'#'))
        })
        .map(|&path| Evidence::HttpPath { path })
}

/// Response headers only Exchange adds.
pub const EXCHANGE_HEADERS: &[&str] = &["X-OWA-Version", "X-FEServer", "X-BEServer", "X-CalculatedBETarget"];

/// The evidence in an HTTP response header name.
pub fn http_header_evidence(name: &str) -> Option<Evidence> {
    EXCHANGE_HEADERS
        .iter()
        .find(|h| h.eq_ignore_ascii_case(name))
        .map(|&name| Evidence::HttpHeader { name })
}

/// The evidence in what a server served on its port: call it only for a flow whose server
/// answered (bytes came back). EdgeSync and the global catalog over TLS need `tls`; LDAP on
/// 3268 needs `ldap` (or `tls` after StartTLS); the UM worker ports need `sip` or `tls`;
/// Kerberos (no parser) needs a flow no parser claimed.
pub fn served_evidence(transport: u8, server_port: u16, app_proto: Option<&str>) -> Option<Evidence> {
    match (transport, server_port, app_proto) {
        (IPPROTO_TCP, EDGESYNC_PORT, Some("tls")) => Some(Evidence::EdgeSync),
        (IPPROTO_TCP, 3268, Some("ldap" | "tls")) | (IPPROTO_TCP, 3269, Some("tls")) => {
            Some(Evidence::GlobalCatalog { port: server_port })
        }
        (IPPROTO_TCP | IPPROTO_UDP, 88, None) => Some(Evidence::Kerberos),
        (IPPROTO_TCP, 5065..=5068, Some("sip" | "tls")) => Some(Evidence::UmSip { port: server_port }),
        _ => None,
    }
}

/// A role learned passively: the first time a host was seen acting as `role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inferred {
    pub role: Role,
    pub evidence: Evidence,
    /// When (capture time of the flow that showed it).
    pub ts_ns: u64,
}

/// Where a host's roles come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleSource {
    /// The inventory names the host: its roles are what the site says.
    Inventory,
    /// Seen acting as these roles (a lower bound); the first inference and its evidence.
    Inferred(Inferred),
    /// Outside every internal network and not named: `internet`.
    Outside,
    /// An internal host with no known role.
    Unknown,
}

impl RoleSource {
    /// `inventory`, `inferred`, `address` (outside the internal networks) or `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RoleSource::Inventory => "inventory",
            RoleSource::Inferred(_) => "inferred",
            RoleSource::Outside => "address",
            RoleSource::Unknown => "unknown",
        }
    }
}

/// What is known of one host's roles. `Copy`; built per flow end without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostRoles {
    /// The roles: from the inventory, inferred, `{internet}` for an outside host, or empty.
    pub roles: RoleSet,
    pub source: RoleSource,
    /// The host is the site's own (inside `internal`, or named by the inventory).
    pub internal: bool,
}

impl HostRoles {
    /// An internal host of unknown role.
    pub const UNKNOWN: HostRoles = HostRoles {
        roles: RoleSet::EMPTY,
        source: RoleSource::Unknown,
        internal: true,
    };

    /// An outside host.
    pub fn internet() -> HostRoles {
        HostRoles {
            roles: RoleSet::EMPTY.with(Role::Internet),
            source: RoleSource::Outside,
            internal: false,
        }
    }

    /// Roles the inventory gives.
    pub fn inventory(roles: RoleSet) -> HostRoles {
        HostRoles {
            roles,
            source: RoleSource::Inventory,
            internal: true,
        }
    }

    /// Whether anything is known (`internet` counts: it is a role).
    pub fn is_known(&self) -> bool {
        !matches!(self.source, RoleSource::Unknown)
    }

    /// Whether the roles were inferred (the caller marks them so in output).
    pub fn is_inferred(&self) -> bool {
        matches!(self.source, RoleSource::Inferred(_))
    }
}

#[derive(Debug, Clone, Copy)]
struct Host {
    roles: RoleSet,
    first: Inferred,
}

/// The run's roles: the inventory, and what was inferred for the hosts it does not name.
#[derive(Debug)]
pub struct Roles {
    inv: Arc<Inventory>,
    hosts: HashMap<Addr, Host>,
    /// Inferences refused because [`MAX_INFERRED_HOSTS`] hosts were held.
    pub refused_full: u64,
    /// Inferences refused because the host is outside the internal networks.
    pub refused_outside: u64,
}

impl Default for Roles {
    fn default() -> Self {
        Roles::new(None)
    }
}

impl Roles {
    /// With no inventory: no roles known, the default private ranges internal
    /// ([`super::inventory::DEFAULT_INTERNAL`]).
    pub fn new(inv: Option<Arc<Inventory>>) -> Roles {
        Roles {
            inv: inv.unwrap_or_default(),
            hosts: HashMap::new(),
            refused_full: 0,
            refused_outside: 0,
        }
    }

    pub fn inventory(&self) -> &Inventory {
        &self.inv
    }

    /// Hosts with inferred roles.
    pub fn inferred_hosts(&self) -> usize {
        self.hosts.len()
    }

    /// What is known of `a`: the inventory's roles, else `internet` when outside the internal
    /// networks, else the inferred roles, else unknown.
    pub fn role_of(&self, a: &Addr) -> HostRoles {
        let named = self.inv.roles_of(a);
        if !named.is_empty() {
            return HostRoles::inventory(named);
        }
        if !self.inv.is_internal(a) {
            return HostRoles::internet();
        }
        match self.hosts.get(a) {
            Some(h) => HostRoles {
                roles: h.roles,
                source: RoleSource::Inferred(h.first),
                internal: true,
            },
            None => HostRoles::UNKNOWN,
        }
    }

    /// Record that `a` was seen acting as `role` (normally `ev.role()`). `Some` the first time
    /// this host is learned to hold this role (emit a `role` event); `None` when it was known
    /// already, when the inventory names the host, when the host is outside the internal
    /// networks, for `internet` and `any` (not a host's role), and when the table is full.
    pub fn infer(&mut self, a: Addr, role: Role, ev: Evidence, ts_ns: u64) -> Option<Inferred> {
        if matches!(role, Role::Internet | Role::Any) || !self.inv.roles_of(&a).is_empty() {
            return None;
        }
        if !self.inv.is_internal(&a) {
            self.refused_outside += 1;
            return None;
        }
        let inf = Inferred {
            role,
            evidence: ev,
            ts_ns,
        };
        let full = self.hosts.len() >= MAX_INFERRED_HOSTS;
        match self.hosts.get_mut(&a) {
            Some(h) if h.roles.contains(role) => None,
            Some(h) => {
                h.roles.insert(role);
                Some(inf)
            }
            None if full => {
                self.refused_full += 1;
                None
            }
            None => {
                self.hosts.insert(
                    a,
                    Host {
                        roles: RoleSet::EMPTY.with(role),
                        first: inf,
                    },
                );
                Some(inf)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv() -> Arc<Inventory> {
        let text = "internal = [\"10.0.0.0/8\"]\n[roles]\nhub = \"10.1.0.5\"\nedge = \"203.0.113.10\"\n";
        Arc::new(Inventory::from_text("inv.toml", text).expect("loads"))
    }

    const A: [u8; 4] = [10, 1, 0, 9];

    #[test]
    fn the_first_inference_is_news_then_it_is_known() {
        let mut r = Roles::new(Some(inv()));
        let a = Addr::v4(A);
        assert_eq!(r.role_of(&a), HostRoles::UNKNOWN, "internal, role unknown");
        let ev = smtp_banner_evidence("220 mx.contoso.com Microsoft ESMTP MAIL Service ready at Tue", 25)
            .expect("Exchange banner");
        assert_eq!(ev.role(), Role::Hub);
        let got = r.infer(a, ev.role(), ev, 7).expect("first time");
        assert_eq!(
            got,
            Inferred {
                role: Role::Hub,
                evidence: ev,
                ts_ns: 7
            }
        );
        assert_eq!(r.infer(a, Role::Hub, ev, 8), None, "known already");
        let h = r.role_of(&a);
        assert_eq!(h.roles.to_string(), "hub");
        assert_eq!(h.source, RoleSource::Inferred(got));
        assert!(h.is_inferred() && h.is_known() && h.internal);

        // a second role: news; the first evidence stays the host's source
        let ev2 = epm_evidence("EMSMDB").expect("Exchange interface");
        assert_eq!(r.infer(a, ev2.role(), ev2, 9).map(|i| i.role), Some(Role::Mailbox));
        let h = r.role_of(&a);
        assert_eq!(h.roles.to_string(), "hub,mailbox");
        assert_eq!(h.source, RoleSource::Inferred(got));
        assert_eq!(r.inferred_hosts(), 1);
    }

    #[test]
    fn the_inventory_wins_and_outside_hosts_stay_internet() {
        let mut r = Roles::new(Some(inv()));
        let hub = Addr::v4([10, 1, 0, 5]);
        let ev = Evidence::EdgeSync;
        assert_eq!(r.infer(hub, Role::Edge, ev, 1), None, "the inventory says hub");
        assert_eq!(r.role_of(&hub), HostRoles::inventory(RoleSet::EMPTY.with(Role::Hub)));
        let edge = Addr::v4([203, 0, 113, 10]);
        assert_eq!(r.role_of(&edge).roles.to_string(), "edge");
        assert!(r.role_of(&edge).internal, "named: ours");

        let outside = Addr::v4([198, 51, 100, 7]);
        assert_eq!(r.infer(outside, Role::Hub, Evidence::SmtpBanner { port: 25 }, 1), None);
        assert_eq!(r.refused_outside, 1);
        let h = r.role_of(&outside);
        assert_eq!(
            (h.roles.to_string(), h.source, h.internal),
            ("internet".into(), RoleSource::Outside, false)
        );
        assert!(h.is_known());

        let a = Addr::v4(A);
        assert_eq!(r.infer(a, Role::Internet, ev, 1), None);
        assert_eq!(r.infer(a, Role::Any, ev, 1), None);
        assert_eq!(r.inferred_hosts(), 0);
    }

    #[test]
    fn without_an_inventory_private_ranges_are_internal() {
        let mut r = Roles::default();
        let a = Addr::v4([192, 168, 1, 2]);
        assert_eq!(r.role_of(&a), HostRoles::UNKNOWN);
        assert!(r.infer(a, Role::Dc, Evidence::Kerberos, 1).is_some());
        assert_eq!(r.role_of(&Addr::v4([8, 8, 8, 8])), HostRoles::internet());
    }

    #[test]
    fn the_table_is_bounded() {
        let mut r = Roles::default();
        for i in 0..MAX_INFERRED_HOSTS as u32 {
            let b = i.to_be_bytes();
            assert!(
                r.infer(
                    Addr::v4([10, b[1], b[2], b[3]]),
                    Role::Cas,
                    Evidence::HttpPath { path: "/owa" },
                    1
                )
                .is_some()
            );
        }
        let late = Addr::v4([10, 250, 0, 1]);
        assert_eq!(r.infer(late, Role::Cas, Evidence::HttpPath { path: "/owa" }, 2), None);
        assert_eq!(r.refused_full, 1);
        assert_eq!(r.role_of(&late), HostRoles::UNKNOWN);
        // a host already held still learns a new role
        let first = Addr::v4([10, 0, 0, 0]);
        assert!(r.infer(first, Role::Um, Evidence::UmSip { port: 5066 }, 3).is_some());
        assert_eq!(r.inferred_hosts(), MAX_INFERRED_HOSTS);
    }

    #[test]
    fn evidence_helpers() {
        assert!(exchange_smtp_banner(
            "220 mail.contoso.com Microsoft ESMTP MAIL Service ready at Mon, 1 Jan"
        ));
        assert!(exchange_smtp_banner(
            "220 x microsoft esmtp mail service, Version: 6.0.3790.4675 ready"
        ));
        assert!(exchange_smtp_banner(
            "220 x Microsoft Exchange Internet Mail Service 5.5.2653.13 ready"
        ));
        assert!(!exchange_smtp_banner("220 mx.example.org ESMTP Postfix"));
        assert!(!exchange_smtp_banner(""));
        assert_eq!(
            smtp_banner_evidence("220 Microsoft ESMTP MAIL Service", 2525).map(|e| e.role()),
            Some(Role::Mailbox)
        );
        assert_eq!(
            smtp_banner_evidence("220 Microsoft ESMTP MAIL Service", 587).map(|e| e.role()),
            Some(Role::Hub)
        );
        assert_eq!(smtp_banner_evidence("220 Postfix", 25), None);

        let imap = mail_banner_evidence("imap", "* OK The Microsoft Exchange IMAP4 service is ready. [TQBCAFgA]");
        assert_eq!(imap, Some(Evidence::MailBanner { pop3: false }));
        assert_eq!(imap.map(|e| (e.role(), e.kind())), Some((Role::Cas, "imap-banner")));
        let pop = mail_banner_evidence("pop3", "+OK The Microsoft Exchange POP3 service is ready.");
        assert_eq!(pop.map(|e| e.kind()), Some("pop3-banner"));
        assert_eq!(mail_banner_evidence("pop3", "+OK Dovecot ready."), None);
        assert_eq!(mail_banner_evidence("smtp", "Microsoft Exchange"), None);

        for i in ["EMSMDB", "AsyncEMSMDB", "NSPI", "RFR"] {
            let e = epm_evidence(i).expect(i);
            assert_eq!(e.role(), Role::Mailbox);
            assert!(e.describe().ends_with(i));
        }
        assert_eq!(epm_evidence("DRSUAPI"), None);
        assert_eq!(epm_evidence("emsmdb"), None, "the dissector's names are exact");

        for (p, want) in [
            ("/owa", Some("/owa")),
            ("/owa/auth/logon.aspx?x", Some("/owa")),
            ("/OWA?x", Some("/owa")),
            ("/EWS/Exchange.asmx", Some("/ews")),
            (
                "/Microsoft-Server-ActiveSync?Cmd=Sync",
                Some("/Microsoft-Server-ActiveSync"),
            ),
            ("/mapi/emsmdb/?MailboxId=x", Some("/mapi")),
            ("/owards", None),
            ("/", None),
            ("", None),
            ("/index.html", None),
        ] {
            let got = http_path_evidence(p).map(|e| match e {
                Evidence::HttpPath { path } => path,
                _ => "?",
            });
            assert_eq!(got, want, "{p}");
        }
        assert_eq!(http_header_evidence("x-owa-version").map(|e| e.role()), Some(Role::Cas));
        assert_eq!(http_header_evidence("Server"), None);

        assert_eq!(
            served_evidence(IPPROTO_TCP, 50636, Some("tls")),
            Some(Evidence::EdgeSync)
        );
        assert_eq!(served_evidence(IPPROTO_TCP, 50636, None), None);
        assert_eq!(
            served_evidence(IPPROTO_TCP, 3268, Some("ldap")),
            Some(Evidence::GlobalCatalog { port: 3268 })
        );
        assert_eq!(
            served_evidence(IPPROTO_TCP, 3269, Some("tls")),
            Some(Evidence::GlobalCatalog { port: 3269 })
        );
        assert_eq!(served_evidence(IPPROTO_TCP, 3269, Some("ldap")), None);
        assert_eq!(
            served_evidence(IPPROTO_TCP, 389, Some("ldap")),
            None,
            "any DC-or-not LDAP server"
        );
        assert_eq!(served_evidence(IPPROTO_UDP, 88, None), Some(Evidence::Kerberos));
        assert_eq!(served_evidence(IPPROTO_TCP, 88, Some("http")), None);
        assert_eq!(
            served_evidence(IPPROTO_TCP, 5066, Some("tls")),
            Some(Evidence::UmSip { port: 5066 })
        );
        assert_eq!(
            served_evidence(IPPROTO_TCP, 5060, Some("sip")),
            None,
            "5060 is not UM's alone"
        );
        assert_eq!(Evidence::UmSip { port: 5065 }.role(), Role::Um);

        // every kind has a distinct word and a description
        let all = [
            Evidence::EdgeSync,
            Evidence::SmtpBanner { port: 25 },
            Evidence::GlobalCatalog { port: 3268 },
            Evidence::Kerberos,
            Evidence::EpmInterface { name: "NSPI" },
            Evidence::UmSip { port: 5067 },
            Evidence::MailBanner { pop3: false },
            Evidence::MailBanner { pop3: true },
            Evidence::HttpPath { path: "/ews" },
            Evidence::HttpHeader { name: "X-FEServer" },
        ];
        let kinds: std::collections::HashSet<_> = all.iter().map(|e| e.kind()).collect();
        assert_eq!(kinds.len(), all.len());
        assert!(all.iter().all(|e| !e.describe().is_empty()));
    }
}
