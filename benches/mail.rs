//! Criterion benches for the IMAP and POP3 parsers.
//!
//! - `imap/session_auth_plain_fetch`, `pop3/session_user_pass_retr`: real Dovecot sessions
//!   (fixtures/pdu/{imap,pop3}) through the state machines segment by segment.
//! - `imap/fetch_literal_1mib`: a FETCH response carrying a 1 MiB literal: skipped by count.
//! - `pop3/retr_1mib`: a 1 MiB RETR body: the dot-end scan that skips it.
//! - `imap/probe`, `pop3/probe`: the probes on a greeting.
//!
//! Throughput is in bytes. Run: `cargo bench --bench mail` (add `-- --quick`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exwatch::proto::imap::{ImapState, probe_imap};
use exwatch::proto::pop3::{Pop3State, probe_pop3};
use exwatch::proto::segments::segments;
use exwatch::proto::{Direction, StreamParser};

const IMAP: &[u8] = include_bytes!("../fixtures/pdu/imap/imap-dovecot-0.seg");
const POP3: &[u8] = include_bytes!("../fixtures/pdu/pop3/pop3-dovecot-0.seg");

fn lorem_1mib() -> Vec<u8> {
    let mut body = Vec::with_capacity(1 << 20);
    while body.len() < (1 << 20) - 80 {
        body.extend_from_slice(b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n");
    }
    body
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("imap");
    let segs: Vec<_> = segments(IMAP).collect();
    g.throughput(Throughput::Bytes(segs.iter().map(|(_, d)| d.len() as u64).sum()));
    g.bench_function("session_auth_plain_fetch", |b| {
        b.iter(|| {
            let mut s = ImapState::new();
            for (dir, d) in &segs {
                black_box(s.feed(*dir, d, 0));
            }
            black_box(s.summary().tagged_ok)
        })
    });
    let body = lorem_1mib();
    let head = format!("* 1 FETCH (BODY[] {{{}}}\r\n", body.len());
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("fetch_literal_1mib", |b| {
        b.iter(|| {
            let mut s = ImapState::new();
            s.feed(Direction::ToClient, b"* OK ready\r\n", 0);
            s.feed(Direction::ToClient, head.as_bytes(), 0);
            for chunk in body.chunks(1448) {
                s.feed(Direction::ToClient, chunk, 0);
            }
            s.feed(Direction::ToClient, b")\r\na1 OK done\r\n", 0);
            black_box(s.summary().literal_bytes)
        })
    });
    let greeting = b"* OK The Microsoft Exchange IMAP4 service is ready.\r\n";
    g.throughput(Throughput::Elements(1));
    g.bench_function("probe", |b| {
        b.iter(|| probe_imap(Direction::ToClient, black_box(greeting)))
    });
    g.finish();

    let mut g = c.benchmark_group("pop3");
    let segs: Vec<_> = segments(POP3).collect();
    g.throughput(Throughput::Bytes(segs.iter().map(|(_, d)| d.len() as u64).sum()));
    g.bench_function("session_user_pass_retr", |b| {
        b.iter(|| {
            let mut s = Pop3State::new();
            for (dir, d) in &segs {
                black_box(s.feed(*dir, d, 0));
            }
            black_box(s.summary().ok_replies)
        })
    });
    let mut retr = body.clone();
    retr.extend_from_slice(b".\r\n");
    g.throughput(Throughput::Bytes(retr.len() as u64));
    g.bench_function("retr_1mib", |b| {
        b.iter(|| {
            let mut s = Pop3State::new();
            s.feed(Direction::ToClient, b"+OK ready\r\n", 0);
            s.feed(Direction::ToServer, b"RETR 1\r\n", 0);
            s.feed(Direction::ToClient, b"+OK 1048576 octets\r\n", 0);
            for chunk in retr.chunks(1448) {
                s.feed(Direction::ToClient, chunk, 0);
            }
            black_box(s.summary().multiline_bytes)
        })
    });
    let greeting = b"+OK The Microsoft Exchange POP3 service is ready.\r\n";
    g.throughput(Throughput::Elements(1));
    g.bench_function("probe", |b| {
        b.iter(|| probe_pop3(Direction::ToClient, black_box(greeting)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
