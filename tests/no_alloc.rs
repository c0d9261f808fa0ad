//! No heap allocation per packet: once a flow exists, decoding its frames and accounting them
//! in the flow table (TCP state, in-order reassembly, the application parser) allocates
//! nothing.

use std::alloc::{GlobalAlloc, Layout, System};

use etherparse::PacketBuilder;
use exwatch::capture::{Frame, LinkType};
use exwatch::decode;
use exwatch::flow::{EndReason, FlowConfig, FlowTable, PacketIn};
use exwatch::proto::http::HttpState;
use exwatch::proto::imap::ImapState;
use exwatch::proto::pop3::Pop3State;
use exwatch::proto::{Direction, StreamParser};

struct Counting;

thread_local! {
    /// Allocations made by this thread: the test harness allocates on its own threads (starting
    /// the next test, reporting one) while a measurement runs.
    static ALLOCS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count() {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

fn allocs() -> usize {
    ALLOCS.with(|c| c.get())
}

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// An Ethernet/IPv4/TCP frame of a connection to port 443.
fn tcp_frame(from_client: bool, seq: u32, ack: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    frame_to(443, from_client, seq, ack, syn, payload)
}

/// An Ethernet/IPv4/TCP frame between 10.1.0.1:50123 and 10.1.0.2:`port`.
fn frame_to(port: u16, from_client: bool, seq: u32, ack: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sp, dp) = if from_client {
        ([10, 1, 0, 1], [10, 1, 0, 2], 50123, port)
    } else {
        ([10, 1, 0, 2], [10, 1, 0, 1], port, 50123)
    };
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .tcp(sp, dp, seq, 65535);
    let b = if syn { b.syn() } else { b };
    let b = if seq != 1000 || !from_client { b.ack(ack) } else { b };
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).unwrap();
    v
}

#[test]
fn steady_state_packets_do_not_allocate() {
    let data = [0x17u8; 1200];
    let mut frames = vec![
        tcp_frame(true, 1000, 0, true, &[]),
        tcp_frame(false, 9000, 1001, true, &[]),
        tcp_frame(true, 1001, 9001, false, &[]),
    ];
    let setup = frames.len();
    let (mut cseq, mut sseq) = (1001u32, 9001u32);
    for _ in 0..5000 {
        frames.push(tcp_frame(true, cseq, sseq, false, &data[..200]));
        cseq += 200;
        frames.push(tcp_frame(false, sseq, cseq, false, &data));
        sseq += 1200;
    }
    assert_eq!(allocations_after(&frames, setup), (0, None));
}

/// SMTP in command mode: once the session is set up, each command line and reply is parsed
/// where it lies in the segment (no copy into a line buffer) and counted without allocating.
#[test]
fn smtp_commands_do_not_allocate() {
    let mut frames = vec![
        frame_to(25, true, 1000, 0, true, &[]),
        frame_to(25, false, 9000, 1001, true, &[]),
        frame_to(25, true, 1001, 9001, false, &[]),
    ];
    let (mut cseq, mut sseq) = (1001u32, 9001u32);
    let mut talk = |frames: &mut Vec<Vec<u8>>, client: &[u8], server: &[u8]| {
        if !server.is_empty() {
            frames.push(frame_to(25, false, sseq, cseq, false, server));
            sseq += server.len() as u32;
        }
        if !client.is_empty() {
            frames.push(frame_to(25, true, cseq, sseq, false, client));
            cseq += client.len() as u32;
        }
    };
    talk(
        &mut frames,
        b"EHLO client.example\r\n",
        b"220 mail.example ESMTP ready\r\n",
    );
    talk(
        &mut frames,
        b"MAIL FROM:<a@example>\r\n",
        b"250-mail.example\r\n250 PIPELINING\r\n",
    );
    talk(&mut frames, b"RCPT TO:<b@example>\r\n", b"250 ok\r\n");
    talk(&mut frames, b"NOOP\r\n", b"250 ok\r\n");
    talk(&mut frames, b"", b"250 ok\r\n");
    let setup = frames.len();
    for _ in 0..2000 {
        talk(&mut frames, b"NOOP\r\n", b"");
        talk(&mut frames, b"", b"250 ok\r\n");
    }
    assert_eq!(allocations_after(&frames, setup), (0, Some("smtp")));
}

/// Feeds every frame to a flow table and returns the allocations made after the first `setup`
/// frames, and the protocol the flow's parser found.
fn allocations_after(frames: &[Vec<u8>], setup: usize) -> (usize, Option<&'static str>) {
    let mut table = FlowTable::new(FlowConfig::default());
    let mut ended = 0usize;
    let mut feed = |table: &mut FlowTable, i: usize, data: &[u8]| {
        let fr = Frame {
            ts_ns: 1_700_000_000_000_000_000 + i as u64 * 1000,
            link_type: LinkType::ETHERNET,
            data,
            orig_len: data.len() as u32,
        };
        let meta = decode::decode(&fr).expect("decodes");
        let _ = decode::shard_hash(&fr);
        let p = PacketIn {
            idx: i as u64 + 1,
            ts_ns: fr.ts_ns,
            frames: 1,
            wire_bytes: fr.orig_len as u64,
            fragmented: false,
            meta: &meta,
            l4: meta.l4,
        };
        table.packet(&p, &mut |_, _| ended += 1);
    };
    for (i, f) in frames[..setup].iter().enumerate() {
        feed(&mut table, i, f);
    }
    let before = allocs();
    assert!(
        before > 0,
        "the counter sees this thread's allocations (setting up the flow made some)"
    );
    for (i, f) in frames.iter().enumerate().skip(setup) {
        feed(&mut table, i, f);
    }
    let after = allocs();
    assert_eq!(table.len(), 1);
    assert_eq!(ended, 0);
    let mut proto = None;
    table.flush(EndReason::EndOfInput, &mut |f, _| proto = f.app.proto_name());
    (after - before, proto)
}

/// SIP, parser alone (the flow layer does not feed it yet): once a call's methods, codes and
/// values are known and the SDP media list is full, its messages allocate nothing, over UDP and
/// over TCP (whole messages per segment, and one message split over two segments).
#[test]
fn sip_messages_do_not_allocate_once_known() {
    use exwatch::proto::segments::segments;
    use exwatch::proto::sip::SipState;
    use exwatch::proto::sip::summary::MAX_SDP_MEDIA;

    let tcp = include_bytes!("../fixtures/pdu/sip/sipp-tcp.seg");
    let invite = include_bytes!("../fixtures/pdu/sip/udp-udp-00-c.bin");
    let segs: Vec<_> = segments(tcp).collect();
    let mut st = SipState::new();
    let mut udp = SipState::new();
    let (d0, p0) = segs[0];
    let (a, b) = p0.split_at(p0.len() / 2);
    // warm up: fill the SDP media list (two media per session), grow the buffer once
    for _ in 0..MAX_SDP_MEDIA {
        for &(d, p) in &segs {
            st.feed(d, p, 0);
        }
        st.feed(d0, a, 0);
        st.feed(d0, b, 0);
        udp.datagram(Direction::ToServer, invite);
    }
    let before = allocs();
    for _ in 0..10 {
        for &(d, p) in &segs {
            st.feed(d, p, 0);
        }
        st.feed(d0, a, 0);
        st.feed(d0, b, 0);
        udp.datagram(Direction::ToServer, invite);
    }
    let n = allocs() - before;
    assert_eq!(n, 0, "{n} allocations");
    assert!(st.summary().sdp_media_dropped > 0 && udp.summary().sdp_media_dropped > 0);
}

// HTTP, IMAP and POP3: once a session is warm, the lines of further requests, commands and
// replies, and the bodies, literals and multi-line responses they carry, are parsed in place
// (the kept records are bounded and already full, counters already have their names).

/// Feeds `round` (pairs of direction and bytes) `n` times.
fn feed<P: StreamParser>(p: &mut P, round: &[(Direction, &[u8])], n: usize) {
    for _ in 0..n {
        for (d, b) in round {
            p.feed(*d, b, 0);
        }
    }
}

fn allocs_during(f: impl FnOnce()) -> usize {
    let before = allocs();
    f();
    allocs() - before
}

#[test]
fn warm_sessions_do_not_allocate_per_line() {
    use Direction::{ToClient as S, ToServer as C};
    let body = vec![b'x'; 4000];

    let http: [(Direction, &[u8]); 4] = [
        (C, b"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail\r\nAuthorization: Basic YWxpY2U6UzNjcmV0IQ==\r\nContent-Length: 4000\r\n\r\n"),
        (C, &body),
        (S, b"HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        (S, b"5\r\nhello\r\n0\r\n\r\n"),
    ];
    let mut h = HttpState::new();
    // past the kept requests and responses (32 each), with the line buffers grown
    feed(&mut h, &http, 40);
    let n = allocs_during(|| feed(&mut h, &http, 100));
    assert_eq!(n, 0, "http");
    assert_eq!(h.summary().request_count, 140);

    let imap: [(Direction, &[u8]); 4] = [
        (C, b"a1 UID FETCH 1 BODY[]\r\n"),
        (S, b"* 1 FETCH (BODY[] {4000}\r\n"),
        (S, &body),
        (S, b")\r\na1 OK done\r\n"),
    ];
    let mut m = ImapState::new();
    m.feed(S, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] Microsoft Exchange\r\n", 0);
    feed(&mut m, &imap, 2);
    let n = allocs_during(|| feed(&mut m, &imap, 100));
    assert_eq!(n, 0, "imap");
    assert_eq!(m.summary().literal_bytes, 102 * 4000);

    let pop3: [(Direction, &[u8]); 4] = [
        (C, b"RETR 1\r\n"),
        (S, b"+OK 4000 octets\r\n"),
        (S, &body),
        (S, b"\r\n.\r\n"),
    ];
    let mut p = Pop3State::new();
    p.feed(S, b"+OK The Microsoft Exchange POP3 service is ready.\r\n", 0);
    feed(&mut p, &pop3, 2);
    let n = allocs_during(|| feed(&mut p, &pop3, 100));
    assert_eq!(n, 0, "pop3");
}

/// Per flow, the classify stage asks each end's roles and labels the flow: neither allocates.
#[test]
fn role_lookup_and_labels_do_not_allocate() {
    use exwatch::classify::Catalog;
    use exwatch::classify::inventory::Inventory;
    use exwatch::classify::label::{ExpectKind, PathQuery};
    use exwatch::classify::roles::{Evidence, Roles};
    use exwatch::decode::Addr;
    use exwatch::flow::IPPROTO_TCP;
    use std::sync::Arc;

    let text = "internal = [\"10.0.0.0/8\", \"fd00::/8\"]\n[roles]\nhub = [\"10.1.0.5\"]\nmailbox = [\"10.1.0.0/24\", \"fd00::5\"]\nclient = [\"10.20.0.0/16\"]\n";
    let inv = Inventory::from_text("site.toml", text).expect("inventory");
    let mut roles = Roles::new(Some(Arc::new(inv)));
    let dc = Addr::v4([10, 2, 0, 1]);
    assert!(
        roles
            .infer(dc, Evidence::Kerberos.role(), Evidence::Kerberos, 1)
            .is_some()
    );
    let catalog = Catalog::embedded();
    let hosts = [
        Addr::v4([10, 1, 0, 5]),
        Addr::v4([10, 1, 0, 9]),
        Addr::v4([10, 20, 3, 4]),
        Addr::v4([8, 8, 8, 8]),
        dc,
        Addr::v6([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]),
    ];
    let mut labelled = 0;
    let n = allocs_during(|| {
        for (i, c) in hosts.iter().enumerate() {
            for s in &hosts {
                for (port, app) in [
                    (25, Some("smtp")),
                    (443, Some("tls")),
                    (135, Some("dcerpc")),
                    (59000, None),
                ] {
                    let q = PathQuery {
                        transport: IPPROTO_TCP,
                        server_port: port,
                        app_proto: app,
                        app_proto_orig: None,
                        tls_from_start: true,
                        client: roles.role_of(c),
                        server: roles.role_of(s),
                        expectation: (i % 2 == 0).then_some(ExpectKind::Epm {
                            interface: Some("EMSMDB"),
                        }),
                    };
                    let m = catalog.label(&q);
                    labelled += m.others().count() + m.entry().is_some() as usize;
                }
            }
        }
    });
    assert!(labelled > 0);
    assert_eq!(n, 0, "allocations while looking roles up and labelling");
}
