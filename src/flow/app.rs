//! The application layer of one flow: which protocol parser owns its bytes.
//!
//! Owns the choice of parser (by probing the first payload bytes of either direction, never by
//! port), the hand-over to TLS when a clear-text protocol upgrades (SMTP STARTTLS and
//! X-ANONYMOUSTLS, LDAP StartTLS, IMAP STARTTLS, POP3 STLS), and when to stop feeding (a parser said `Stop`, or nothing
//! claimed the flow). The flow layer calls [`AppLayer::data`] and [`AppLayer::gap`] with the
//! reassembler's in-order chunks, and [`AppLayer::datagram`] with UDP payloads.

use super::announce::Announced;
use super::announce::Pending;
use super::{IPPROTO_TCP, IPPROTO_UDP};
use crate::decode::Addr;
use crate::proto::dcerpc::{DcerpcState, probe_dcerpc};
use crate::proto::http::{HttpState, probe_http};
use crate::proto::imap::{ImapState, probe_imap};
use crate::proto::ldap::{LdapState, probe_ldap};
use crate::proto::pop3::{Pop3State, probe_pop3};
use crate::proto::smtp::{SmtpState, probe_smtp};
use crate::proto::tls::{TlsState, probe_tls};
use crate::proto::{Direction, Probe, StreamParser, Verdict};

/// Payload bytes kept per flow while no probe has decided (a first segment shorter than a
/// record, banner or request line is rare; the HTTP probe reads up to 2 KiB of a request line;
/// beyond this the flow is left unclassified).
pub const MAX_PROBE_BYTES: usize = 2048;

/// The parser that owns a flow's bytes.
#[derive(Debug)]
pub enum App {
    /// No payload yet, or not enough to tell.
    Probing,
    Tls(Box<TlsState>),
    Smtp(Box<SmtpState>),
    Ldap(Box<LdapState>),
    Http(Box<HttpState>),
    Imap(Box<ImapState>),
    Pop3(Box<Pop3State>),
    Dcerpc(Box<DcerpcState>),
    /// Nothing claimed the flow.
    Unknown,
}

/// Per-flow application state.
#[derive(Debug)]
pub struct AppLayer {
    pub app: App,
    /// The clear-text protocol before a STARTTLS-style upgrade (its summary is kept here).
    pub before_tls: Option<App>,
    /// Bytes seen while probing, per direction (each bounded by [`MAX_PROBE_BYTES`]).
    probe: [Vec<u8>; 2],
    /// No probe matched this direction's first bytes.
    refused: [bool; 2],
    /// The parser asked not to be fed any more.
    done: bool,
    /// Endpoints the parser announced (endpoint-mapper answers, SDP media) that the flow layer
    /// has not stamped yet; bounded by what one packet can announce.
    pub announced: Vec<Pending>,
    /// How many of the parser's announcing entries (EPM endpoints, SDP media) were taken.
    announced_upto: usize,
}

impl Default for AppLayer {
    fn default() -> Self {
        AppLayer {
            app: App::Probing,
            before_tls: None,
            probe: [Vec::new(), Vec::new()],
            refused: [false; 2],
            done: false,
            announced: Vec::new(),
            announced_upto: 0,
        }
    }
}

impl AppLayer {
    /// The protocol name for `app_proto`.
    pub fn proto_name(&self) -> Option<&'static str> {
        name(&self.app)
    }

    /// The protocol the flow started with, when it upgraded to TLS.
    pub fn orig_name(&self) -> Option<&'static str> {
        self.before_tls.as_ref().and_then(name)
    }

    /// What protects the payload (the `encryption` value) and whether it hides the content;
    /// `None` while no parser owns the flow.
    pub fn encryption(&self) -> Option<(&'static str, bool)> {
        match &self.app {
            App::Tls(_) if self.before_tls.is_some() => Some(("starttls", true)),
            App::Tls(_) => Some(("tls", true)),
            App::Smtp(_) | App::Http(_) | App::Imap(_) | App::Pop3(_) => Some(("none", false)),
            App::Dcerpc(d) => {
                let e = d.summary().encryption();
                Some((e, e == "rpc-privacy"))
            }
            App::Ldap(l) => {
                let e = l.summary().encryption();
                // SASL signing protects integrity only: the content is still readable
                Some((e, e == "ldap-sasl-seal"))
            }
            App::Probing | App::Unknown => None,
        }
    }

    /// In-order stream bytes of one direction.
    pub fn data(&mut self, dir: Direction, data: &[u8], ts_ns: u64) {
        if self.done || data.is_empty() || (matches!(self.app, App::Probing) && self.refused[dir.index()]) {
            return;
        }
        if let App::Probing = self.app {
            // Probe on what this direction has so far: held bytes plus this chunk.
            let d = dir.index();
            let buffered = !self.probe[d].is_empty();
            let mut copied = 0;
            if buffered {
                copied = data.len().min(MAX_PROBE_BYTES.saturating_sub(self.probe[d].len()));
                self.probe[d].extend_from_slice(&data[..copied]);
            }
            let view: &[u8] = if buffered { &self.probe[d] } else { data };
            match choose(dir, view) {
                Some(app) => {
                    self.app = app;
                    // replay what was held (the other direction first: it came earlier), then
                    // the rest of this chunk
                    let held = std::mem::take(&mut self.probe);
                    let o = 1 - d;
                    let od = if o == 0 {
                        Direction::ToServer
                    } else {
                        Direction::ToClient
                    };
                    if self.refused[o] {
                        // the other direction's first bytes were dropped while probing
                        self.gap(od, 1);
                    }
                    if !held[o].is_empty() {
                        self.feed(od, &held[o], ts_ns);
                    }
                    if buffered {
                        self.feed(dir, &held[d], ts_ns);
                        self.feed(dir, &data[copied..], ts_ns);
                    } else {
                        self.feed(dir, data, ts_ns);
                    }
                }
                None if view.len() >= MAX_PROBE_BYTES || !needs_more(dir, view) => {
                    // This direction matches nothing; the other may still (a capture that
                    // starts mid-stream can show either side first).
                    self.refused[d] = true;
                    self.probe[d] = Vec::new();
                    if self.refused[1 - d] {
                        self.app = App::Unknown;
                        self.done = true;
                        self.probe = [Vec::new(), Vec::new()];
                    }
                }
                None if !buffered => {
                    let n = data.len().min(MAX_PROBE_BYTES);
                    self.probe[d].extend_from_slice(&data[..n]);
                }
                None => {}
            }
            return;
        }
        self.feed(dir, data, ts_ns);
    }

    fn feed(&mut self, dir: Direction, data: &[u8], ts_ns: u64) {
        if self.done || data.is_empty() {
            return;
        }
        let verdict = match &mut self.app {
            App::Tls(p) => p.feed(dir, data, ts_ns),
            App::Smtp(p) => p.feed(dir, data, ts_ns),
            App::Ldap(p) => p.feed(dir, data, ts_ns),
            App::Http(p) => p.feed(dir, data, ts_ns),
            App::Imap(p) => p.feed(dir, data, ts_ns),
            App::Pop3(p) => p.feed(dir, data, ts_ns),
            App::Dcerpc(p) => p.feed(dir, data, ts_ns),
            App::Probing | App::Unknown => Verdict::Stop,
        };
        self.collect_announced();
        match verdict {
            Verdict::Continue => {}
            Verdict::Stop => self.done = true,
            Verdict::StartTls { at } => {
                let clear = std::mem::replace(&mut self.app, App::Tls(Box::default()));
                self.before_tls = Some(clear);
                if at < data.len() {
                    self.feed(dir, &data[at..], ts_ns);
                }
            }
        }
    }

    /// Take what the parser announced since the last look: the endpoint mapper's TCP and UDP
    /// endpoints (an address of 0.0.0.0 or none means the server that answered).
    fn collect_announced(&mut self) {
        let App::Dcerpc(p) = &self.app else { return };
        let eps = &p.summary().epm_endpoints;
        for e in eps.iter().skip(self.announced_upto) {
            let proto = match e.transport {
                "ncacn_ip_tcp" | "ncacn_http" => IPPROTO_TCP,
                "ncadg_ip_udp" => IPPROTO_UDP,
                _ => continue,
            };
            let Some(port) = e.port.filter(|&p| p != 0) else {
                continue;
            };
            let addr = e.ip.filter(|ip| !ip.is_unspecified()).map(|ip| Addr::v4(ip.octets()));
            self.announced.push(Pending {
                addr,
                port,
                proto,
                what: Announced::RpcEndpoint {
                    interface: e.interface.to_string(),
                    version: e.version.0,
                    name: e.name,
                },
            });
        }
        self.announced_upto = eps.len();
    }

    /// `len` bytes of `dir` were not captured.
    pub fn gap(&mut self, dir: Direction, len: u64) {
        match &mut self.app {
            App::Tls(p) => p.gap(dir, len),
            App::Smtp(p) => p.gap(dir, len),
            App::Ldap(p) => p.gap(dir, len),
            App::Http(p) => p.gap(dir, len),
            App::Imap(p) => p.gap(dir, len),
            App::Pop3(p) => p.gap(dir, len),
            App::Dcerpc(p) => p.gap(dir, len),
            // a gap before anything was recognised: what follows starts mid-message
            App::Probing => self.probe = [Vec::new(), Vec::new()],
            App::Unknown => {}
        }
    }

    /// One UDP datagram (CLDAP).
    pub fn datagram(&mut self, dir: Direction, data: &[u8], _ts_ns: u64) {
        if self.done || data.is_empty() {
            return;
        }
        if let App::Probing = self.app {
            self.app = match probe_ldap(data) {
                Probe::Yes => App::Ldap(Box::default()),
                _ => {
                    self.done = true;
                    App::Unknown
                }
            };
        }
        if let App::Ldap(p) = &mut self.app {
            p.datagram(dir, data);
        }
    }
}

fn name(app: &App) -> Option<&'static str> {
    match app {
        App::Tls(_) => Some("tls"),
        App::Smtp(_) => Some("smtp"),
        App::Ldap(_) => Some("ldap"),
        App::Http(_) => Some("http"),
        App::Imap(_) => Some("imap"),
        App::Pop3(_) => Some("pop3"),
        App::Dcerpc(_) => Some("dcerpc"),
        App::Probing | App::Unknown => None,
    }
}

/// The parser the first bytes of `dir` call for.
fn choose(dir: Direction, data: &[u8]) -> Option<App> {
    if probe_tls(data) == Probe::Yes {
        return Some(App::Tls(Box::default()));
    }
    if probe_smtp(dir, data) == Probe::Yes {
        return Some(App::Smtp(Box::default()));
    }
    if probe_imap(dir, data) == Probe::Yes {
        return Some(App::Imap(Box::default()));
    }
    if probe_pop3(dir, data) == Probe::Yes {
        return Some(App::Pop3(Box::default()));
    }
    if probe_http(dir, data) == Probe::Yes {
        return Some(App::Http(Box::default()));
    }
    if probe_dcerpc(data) == Probe::Yes {
        return Some(App::Dcerpc(Box::default()));
    }
    if probe_ldap(data) == Probe::Yes {
        return Some(App::Ldap(Box::default()));
    }
    None
}

/// Could more bytes still make a probe say yes?
fn needs_more(dir: Direction, data: &[u8]) -> bool {
    probe_tls(data) == Probe::NeedMore
        || probe_smtp(dir, data) == Probe::NeedMore
        || probe_imap(dir, data) == Probe::NeedMore
        || probe_pop3(dir, data) == Probe::NeedMore
        || probe_http(dir, data) == Probe::NeedMore
        || probe_dcerpc(data) == Probe::NeedMore
        || probe_ldap(data) == Probe::NeedMore
}
