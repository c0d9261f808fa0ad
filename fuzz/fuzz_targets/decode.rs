//! One frame: the first byte picks the link type (`common::LINKS`), the rest is the frame.
//! `decode` and `shard_hash` must not panic; a frame and the same frame with its addresses
//! swapped (the other direction of the flow, or of the tunnel that carries it) must hash to the
//! same worker; and what decodes to TCP, UDP, an ICMP error or a fragment goes through a fresh defragmenter and flow table
//! (created per input: libFuzzer inputs must be independent), which must account for it.

#![no_main]

mod common;

use exwatch::capture::{Frame, LinkType};
use exwatch::decode::{self, L4};
use libfuzzer_sys::fuzz_target;

/// The frame with its IP source and destination swapped, for the link types where the IP
/// header starts the frame.
fn swapped(link: LinkType, d: &[u8]) -> Option<Vec<u8>> {
    if !matches!(
        link,
        LinkType::RAW | LinkType::RAW_ALT | LinkType::RAW_OPENBSD | LinkType::IPV4 | LinkType::IPV6
    ) {
        return None;
    }
    let (a, b, n) = match d.first()? >> 4 {
        4 if d.len() >= 20 => (12, 16, 4),
        6 if d.len() >= 40 => (8, 24, 16),
        _ => return None,
    };
    let mut v = d.to_vec();
    v[a..a + n].copy_from_slice(&d[b..b + n]);
    v[b..b + n].copy_from_slice(&d[a..a + n]);
    Some(v)
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let link = common::link(sel);
    let fr = Frame {
        ts_ns: 1_700_000_000_000_000_000,
        link_type: link,
        data: bytes,
        orig_len: bytes.len() as u32,
    };
    let res = decode::decode(&fr);
    let hash = decode::shard_hash(&fr);

    if let Some(other) = swapped(link, bytes) {
        let fr2 = Frame { data: &other, ..fr };
        assert_eq!(
            hash,
            decode::shard_hash(&fr2),
            "the two directions of a flow hash apart"
        );
        let res2 = decode::decode(&fr2);
        assert_eq!(res.is_ok(), res2.is_ok());
        if let (Ok(m), Ok(m2)) = (&res, &res2) {
            match (m.tunnels.as_slice().first(), m2.tunnels.as_slice().first()) {
                (None, None) => assert_eq!((m.src, m.dst), (m2.dst, m2.src)),
                // the outer header was swapped: the first layer's addresses, not the inner ones
                (Some(t), Some(t2)) => {
                    assert_eq!(t.outer().map(|(s, d)| (d, s)), t2.outer());
                    assert_eq!((m.src, m.dst, m.tunnels.len()), (m2.src, m2.dst, m2.tunnels.len()));
                }
                _ => panic!("a tunnel one way and not the other"),
            }
        }
    }

    let Ok(meta) = res else { return };
    if let L4::Tcp(t) = meta.l4 {
        assert!(t.payload.len() <= bytes.len());
        assert!(t.payload_len as usize >= t.payload.len(), "declared payload shorter than captured");
    }
    if matches!(
        meta.l4,
        L4::Tcp(_) | L4::Udp { .. } | L4::IcmpError(_) | L4::Fragment(_)
    ) {
        let mut flows = common::Flows::new(if sel & 0x80 != 0 {
            common::tiny_limits()
        } else {
            common::roomy_limits()
        });
        flows.frame(1, &fr);
        flows.finish();
    }
});
