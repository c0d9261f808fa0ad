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
use crate::proto::sip::{SipState, probe_sip};
use crate::proto::smtp::{SmtpState, probe_smtp};
use crate::proto::tls::{TlsState, probe_tls};
use crate::proto::{Direction, Probe, StreamParser, Verdict};

/// Payload bytes kept per flow while no probe has decided (a first segment shorter than a
/// record, banner or request line is rare; the HTTP probe reads up to 2 KiB of a request line;
/// beyond this the flow is left unclassified).
pub const MAX_PROBE_BYTES: usize = 2048;
/// UDP datagrams looked at before a flow is left unclassified (a SIP flow may open with
/// CRLF keep-alives; RTP and the rest are not probed forever).
pub const MAX_UDP_PROBES: u8 = 4;

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
    Sip(Box<SipState>),
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
    /// UDP datagrams probed so far.
    udp_probes: u8,
    /// The flow's ends were guessed (no handshake seen): the first message a parser recognises
    /// may tell which side is the client ([`AppLayer::take_flip`]).
    pub may_reorient: bool,
    /// The first message showed the flow layer's directions the wrong way round: every
    /// direction given is taken reversed until the flow layer swaps its ends.
    flipped: bool,
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
            udp_probes: 0,
            may_reorient: false,
            flipped: false,
        }
    }
}

impl AppLayer {
    /// The parser takes no more bytes (it asked to stop, or nothing claimed the flow): what it
    /// found can no longer change.
    pub fn is_done(&self) -> bool {
        self.done
    }

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
            App::Smtp(_) | App::Http(_) | App::Imap(_) | App::Pop3(_) | App::Sip(_) => Some(("none", false)),
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

    /// The parser's first message showed the flow's ends the wrong way round (a flow picked up
    /// mid-stream, oriented by its ports): the flow layer swaps client and server now. Until it
    /// does, directions given here are taken reversed.
    pub fn take_flip(&mut self) -> bool {
        std::mem::take(&mut self.flipped)
    }

    /// In-order stream bytes of one direction.
    pub fn data(&mut self, dir: Direction, data: &[u8], ts_ns: u64) {
        let dir = if self.flipped { dir.flip() } else { dir };
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
            // SMTP, IMAP and POP3 servers speak first: when the server's first bytes matched
            // none of them, the client's verbs (USER, AUTH, ...) are not enough (FTP has them)
            let server_spoke = dir == Direction::ToServer && self.refused[Direction::ToClient.index()];
            match choose(dir, view, server_spoke) {
                Choice::App(app) => {
                    // the first message recognised may say who the client is
                    let reorient =
                        std::mem::take(&mut self.may_reorient) && sender(&app, view).is_some_and(|s| s != dir);
                    self.app = app;
                    let (d, dir) = if reorient {
                        self.flipped = true;
                        self.probe.swap(0, 1);
                        self.refused.swap(0, 1);
                        (1 - d, dir.flip())
                    } else {
                        (d, dir)
                    };
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
                Choice::No => self.refuse(d),
                Choice::NeedMore if view.len() >= MAX_PROBE_BYTES => self.refuse(d),
                Choice::NeedMore if !buffered => {
                    let n = data.len().min(MAX_PROBE_BYTES);
                    self.probe[d].extend_from_slice(&data[..n]);
                }
                Choice::NeedMore => {}
            }
            return;
        }
        self.feed(dir, data, ts_ns);
    }

    /// This direction's first bytes match nothing; the other may still (a capture that starts
    /// mid-stream can show either side first).
    fn refuse(&mut self, d: usize) {
        self.refused[d] = true;
        self.probe[d] = Vec::new();
        if self.refused[1 - d] {
            self.app = App::Unknown;
            self.done = true;
            self.probe = [Vec::new(), Vec::new()];
        }
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
            App::Sip(p) => p.feed(dir, data, ts_ns),
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
        if let App::Sip(p) = &self.app {
            let media = &p.summary().sdp_media;
            for m in media.iter().skip(self.announced_upto) {
                let (Some(ip), true) = (m.ip(), m.port != 0) else {
                    continue;
                };
                let addr = match ip {
                    std::net::IpAddr::V4(a) => Addr::v4(a.octets()),
                    std::net::IpAddr::V6(a) => Addr::v6(a.octets()),
                };
                // RTP on the port, RTCP on a=rtcp or the next port (RFC 3550 §11)
                let rtcp = m.rtcp_port.unwrap_or(m.port.wrapping_add(1));
                for port in [m.port, rtcp] {
                    self.announced.push(Pending {
                        addr: Some(addr),
                        port,
                        proto: IPPROTO_UDP,
                        what: Announced::Media {
                            call_id: m.call_id.clone(),
                            media: m.media.clone(),
                            srtp: m.srtp,
                        },
                    });
                }
            }
            self.announced_upto = media.len();
            return;
        }
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
        let dir = if self.flipped { dir.flip() } else { dir };
        match &mut self.app {
            App::Tls(p) => p.gap(dir, len),
            App::Smtp(p) => p.gap(dir, len),
            App::Ldap(p) => p.gap(dir, len),
            App::Http(p) => p.gap(dir, len),
            App::Imap(p) => p.gap(dir, len),
            App::Pop3(p) => p.gap(dir, len),
            App::Dcerpc(p) => p.gap(dir, len),
            App::Sip(p) => p.gap(dir, len),
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
            // CLDAP or SIP over UDP; a few datagrams are looked at before giving up
            if probe_sip(data) == Probe::Yes {
                self.app = App::Sip(Box::default());
            } else if probe_ldap(data) == Probe::Yes {
                self.app = App::Ldap(Box::default());
            } else {
                self.udp_probes += 1;
                if self.udp_probes >= MAX_UDP_PROBES {
                    self.done = true;
                    self.app = App::Unknown;
                }
                return;
            }
        }
        match &mut self.app {
            App::Ldap(p) => p.datagram(dir, data),
            App::Sip(p) => p.datagram(dir, data),
            _ => {}
        }
        self.collect_announced();
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
        App::Sip(_) => Some("sip"),
        App::Probing | App::Unknown => None,
    }
}

/// Which way the first message of a chosen parser was going, when the protocol tells requests
/// from answers by their first bytes alone (TLS hellos, DCE/RPC PTYPEs, LDAP protocolOps).
/// HTTP, SMTP, IMAP, POP3 and SIP are not asked: their probes already read the direction.
fn sender(app: &App, data: &[u8]) -> Option<Direction> {
    match app {
        App::Tls(_) => crate::proto::tls::sender(data),
        App::Dcerpc(_) => crate::proto::dcerpc::sender(data),
        App::Ldap(_) => crate::proto::ldap::sender(data),
        _ => None,
    }
}

/// What probing a direction's first bytes decided.
enum Choice {
    App(App),
    /// No probe said yes, but one could with more bytes.
    NeedMore,
    No,
}

/// The parser the first bytes of `dir` call for, each probe run once (`server_refused`: the
/// server already spoke and matched no server-first protocol, so SMTP, IMAP and POP3 are not
/// asked).
fn choose(dir: Direction, data: &[u8], server_refused: bool) -> Choice {
    type Make = fn() -> App;
    type DirProbe = fn(Direction, &[u8]) -> Probe;
    let server_first: [(DirProbe, Make); 3] = [
        (probe_smtp, || App::Smtp(Box::default())),
        (probe_imap, || App::Imap(Box::default())),
        (probe_pop3, || App::Pop3(Box::default())),
    ];
    let mut more = false;
    let mut answer = |p: Probe, make: Make| match p {
        Probe::Yes => Some(make()),
        Probe::NeedMore => {
            more = true;
            None
        }
        Probe::No => None,
    };
    let found = answer(probe_tls(data), || App::Tls(Box::default()))
        .or_else(|| {
            server_first
                .iter()
                .filter(|_| !server_refused)
                .find_map(|&(probe, make)| answer(probe(dir, data), make))
        })
        .or_else(|| answer(probe_http(dir, data), || App::Http(Box::default())))
        .or_else(|| answer(probe_sip(data), || App::Sip(Box::default())))
        .or_else(|| answer(probe_dcerpc(data), || App::Dcerpc(Box::default())))
        .or_else(|| answer(probe_ldap(data), || App::Ldap(Box::default())));
    match found {
        Some(app) => Choice::App(app),
        None if more => Choice::NeedMore,
        None => Choice::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FTP's banner matches no server-first protocol, and its `USER` must then not make the
    /// flow POP3 (the corpus's SIP capture has such an FTP session).
    #[test]
    fn client_verbs_do_not_outvote_a_foreign_banner() {
        let mut a = AppLayer::default();
        a.data(
            Direction::ToClient,
            b"220 ProFTPD 1.3.0 Server (ProFTPD) [192.168.1.2]\r\n",
            1,
        );
        a.data(Direction::ToServer, b"USER anonymous\r\n", 2);
        assert_eq!(a.proto_name(), None);
        // without a banner first, USER is POP3's (a capture that missed the greeting)
        let mut b = AppLayer::default();
        b.data(Direction::ToServer, b"USER alice\r\n", 1);
        assert_eq!(b.proto_name(), Some("pop3"));
    }

    /// The first bytes that tell who sent them, and every prefix of them: never the wrong way,
    /// never a panic.
    #[test]
    fn senders_of_first_messages() {
        use Direction::{ToClient, ToServer};
        let tls = App::Tls(Box::default());
        let rpc = App::Dcerpc(Box::default());
        let ldap = App::Ldap(Box::default());
        let cases: [(&App, &[u8], Option<Direction>); 9] = [
            // TLS 1.2 record carrying a ClientHello / ServerHello (RFC 8446 §5.1, §4)
            (&tls, &[22, 3, 1, 0, 0x2f, 1, 0, 0, 0x2b, 3, 3], Some(ToServer)),
            (&tls, &[22, 3, 3, 0, 0x31, 2, 0, 0, 0x2d, 3, 3], Some(ToClient)),
            // application data mid-session tells nothing
            (&tls, &[23, 3, 3, 0, 0x20, 0xde, 0xad], None),
            // DCE/RPC bind (PTYPE 11) and bind_ack (12), C706 §12.6.4
            (
                &rpc,
                &[5, 0, 11, 3, 0x10, 0, 0, 0, 0x48, 0, 0, 0, 1, 0, 0, 0],
                Some(ToServer),
            ),
            (
                &rpc,
                &[5, 0, 12, 3, 0x10, 0, 0, 0, 0x44, 0, 0, 0, 1, 0, 0, 0],
                Some(ToClient),
            ),
            // LDAP bindRequest / bindResponse / searchResEntry (RFC 4511 §4.2, §4.5.2)
            (
                &ldap,
                &[
                    0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00,
                ],
                Some(ToServer),
            ),
            (
                &ldap,
                &[
                    0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
                ],
                Some(ToClient),
            ),
            (
                &ldap,
                &[
                    0x30, 0x84, 0, 0, 0, 0x08, 0x02, 0x02, 0x01, 0x00, 0x64, 0x02, 0x04, 0x00,
                ],
                Some(ToClient),
            ),
            // unbindRequest: [APPLICATION 2], primitive
            (&ldap, &[0x30, 0x05, 0x02, 0x01, 0x03, 0x42, 0x00], Some(ToServer)),
        ];
        for (app, bytes, want) in cases {
            assert_eq!(sender(app, bytes), want, "{bytes:02x?}");
            for n in 0..bytes.len() {
                let got = sender(app, &bytes[..n]);
                assert!(got.is_none() || got == want, "prefix {n} of {bytes:02x?}: {got:?}");
            }
        }
        // other parsers are not asked
        assert_eq!(sender(&App::Http(Box::default()), b"HTTP/1.1 200 OK\r\n"), None);
    }

    /// A SIP flow over UDP may open with keep-alives; RTP is not probed past MAX_UDP_PROBES.
    #[test]
    fn udp_probing_is_bounded() {
        let mut a = AppLayer::default();
        a.datagram(Direction::ToServer, b"\r\n\r\n", 1);
        a.datagram(
            Direction::ToServer,
            b"OPTIONS sip:u@h SIP/2.0\r\nContent-Length: 0\r\n\r\n",
            2,
        );
        assert_eq!(a.proto_name(), Some("sip"));
        let mut rtp = AppLayer::default();
        for i in 0..10 {
            rtp.datagram(Direction::ToServer, &[0x80, 8, 0, i, 0, 0, 0, 0, 1, 2, 3, 4], i as u64);
        }
        assert_eq!(rtp.proto_name(), None);
        assert!(rtp.done);
    }
}
