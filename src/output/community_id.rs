//! Community ID flow hashing, version 1 (<https://github.com/corelight/community-id-spec>).
//!
//! `base64(sha1(seed:u16be ‖ saddr ‖ daddr ‖ proto:u8 ‖ 0:u8 ‖ sport:u16be ‖ dport:u16be))`
//! prefixed with `1:`, where the endpoints are ordered so that the smaller (address, port)
//! comes first: the same flow gets the same ID in both directions and in every tool.

use crate::decode::Addr;

/// Community ID v1 of a TCP/UDP/SCTP 5-tuple with the given seed.
///
/// ```
/// use exwatch::decode::Addr;
/// use exwatch::output::community_id_v1;
/// // the spec's baseline: TCP 128.232.110.120:34855 -> 66.35.250.204:80, seed 0
/// let (a, b) = (Addr::v4([128, 232, 110, 120]), Addr::v4([66, 35, 250, 204]));
/// assert_eq!(community_id_v1(0, a, 34855, b, 80, 6), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
/// // the same flow seen from the other side
/// assert_eq!(community_id_v1(0, b, 80, a, 34855, 6), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
/// ```
pub fn community_id_v1(seed: u16, a: Addr, ap: u16, b: Addr, bp: u16, proto: u8) -> String {
    let (src, sport, dst, dport) = if (a.octets(), ap) <= (b.octets(), bp) {
        (a, ap, b, bp)
    } else {
        (b, bp, a, ap)
    };
    let mut h = sha1_smol::Sha1::new();
    h.update(&seed.to_be_bytes());
    h.update(src.octets());
    h.update(dst.octets());
    h.update(&[proto, 0]);
    h.update(&sport.to_be_bytes());
    h.update(&dport.to_be_bytes());
    let digest = h.digest().bytes();
    let mut out = String::with_capacity(30);
    out.push_str("1:");
    base64_into(&digest, &mut out);
    out
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64_into(data: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        out.push(ALPHABET[(n >> 18) as usize & 63] as char);
        out.push(ALPHABET[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            ALPHABET[n as usize & 63] as char
        } else {
            '='
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Addr {
        let ip: std::net::Ipv4Addr = s.parse().unwrap();
        Addr::v4(ip.octets())
    }
    fn v6(s: &str) -> Addr {
        let ip: std::net::Ipv6Addr = s.parse().unwrap();
        Addr::v6(ip.octets())
    }

    /// The spec's published baseline (community-id-spec `baseline/baseline_deflt.json` for seed 0
    /// and `baseline_seed1.json` for seed 1): (proto, saddr, sport, daddr, dport, seed 0, seed 1).
    const BASELINE: &[(u8, &str, u16, &str, u16, &str, &str)] = &[
        (
            6,
            "128.232.110.120",
            34855,
            "66.35.250.204",
            80,
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            "1:3V71V58M3Ksw/yuFALMcW0LAHvc=",
        ),
        (
            17,
            "192.168.1.52",
            54585,
            "8.8.8.8",
            53,
            "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=",
        ),
        (
            6,
            "2001:470:e5bf:dead:4957:2174:e82c:4887",
            63943,
            "2607:f8b0:400c:c03::1a",
            25,
            "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            "1:eJYTW6AOzFLlSUoESovMjnu7rMw=",
        ),
        (
            132,
            "192.168.170.8",
            7,
            "192.168.170.56",
            7,
            "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=",
        ),
    ];

    fn addr(s: &str) -> Addr {
        if s.contains(':') { v6(s) } else { v4(s) }
    }

    #[test]
    fn spec_baseline_both_directions_both_seeds() {
        for &(proto, sa, sp, da, dp, seed0, seed1) in BASELINE {
            let (a, b) = (addr(sa), addr(da));
            assert_eq!(community_id_v1(0, a, sp, b, dp, proto), seed0, "{sa}:{sp} -> {da}:{dp}");
            assert_eq!(community_id_v1(0, b, dp, a, sp, proto), seed0, "{da}:{dp} -> {sa}:{sp}");
            assert_eq!(
                community_id_v1(1, a, sp, b, dp, proto),
                seed1,
                "seed 1 {sa}:{sp} -> {da}:{dp}"
            );
            assert_eq!(
                community_id_v1(1, b, dp, a, sp, proto),
                seed1,
                "seed 1 {da}:{dp} -> {sa}:{sp}"
            );
        }
    }
}
