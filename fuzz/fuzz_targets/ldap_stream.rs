//! Arbitrary bytes through the LDAP parser: `probe_ldap`, `datagram` (CLDAP), and the stream
//! state fed in both directions at split points taken from the input itself. Feeding the same
//! stream in one chunk and in pieces must give the same binds and searches (up to StartTLS).

#![no_main]

use exwatch::proto::ldap::{LdapState, probe_ldap};
use exwatch::proto::{Direction, StreamParser, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = probe_ldap(data);
    let mut d = LdapState::new();
    d.datagram(Direction::ToServer, data);
    d.datagram(Direction::ToClient, data);

    // first byte: split step; second: direction pattern; rest: the stream
    let (step, pattern, body) = match data {
        [a, b, rest @ ..] => (*a as usize % 64 + 1, *b, rest),
        _ => return,
    };
    let mut whole = LdapState::new();
    let whole_tls = whole.feed(Direction::ToServer, body, 0);
    let mut split = LdapState::new();
    let mut split_tls = Verdict::Continue;
    let mut pos = 0;
    while pos < body.len() {
        let end = (pos + step).min(body.len());
        let v = split.feed(Direction::ToServer, &body[pos..end], 0);
        if let Verdict::StartTls { at } = v {
            assert!(at <= end - pos);
            split_tls = Verdict::StartTls { at: pos + at };
            break;
        }
        pos = end;
    }
    if whole_tls == split_tls {
        assert_eq!(whole.summary().binds, split.summary().binds);
        assert_eq!(whole.summary().searches, split.summary().searches);
    }
    // both directions interleaved, with gaps
    let mut both = LdapState::new();
    for (i, chunk) in body.chunks(step).enumerate() {
        let dir = if pattern >> (i % 8) & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
        if i % 7 == 6 {
            both.gap(dir, chunk.len() as u64);
        } else if let Verdict::StartTls { at } = both.feed(dir, chunk, 0) {
            assert!(at <= chunk.len());
        }
    }
});
