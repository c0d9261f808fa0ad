//! Criterion benches for the SMTP parser.
//!
//! - `smtp/session_auth_plain`: a real swaks session (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT)
//!   from fixtures/pdu/smtp, through `SmtpState` segment by segment.
//! - `smtp/body_1mib`: a 1 MiB message body after DATA: the end-marker scan that skips bodies.
//! - `smtp/probe`: `probe_smtp` on a banner.
//!
//! Throughput is in bytes. Run: `cargo bench --bench smtp` (add `-- --quick`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exwatch::proto::segments::segments;
use exwatch::proto::smtp::{SmtpState, probe_smtp};
use exwatch::proto::{Direction, StreamParser};

const SESSION: &[u8] = include_bytes!("../fixtures/pdu/smtp/swaks-0.seg");

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("smtp");
    let segs: Vec<_> = segments(SESSION).collect();
    let bytes: usize = segs.iter().map(|(_, d)| d.len()).sum();
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("session_auth_plain", |b| {
        b.iter(|| {
            let mut s = SmtpState::new();
            for (dir, d) in &segs {
                black_box(s.feed(*dir, d, 0));
            }
            black_box(s.summary().messages)
        })
    });

    let mut body = Vec::with_capacity(1 << 20);
    while body.len() < (1 << 20) - 80 {
        body.extend_from_slice(b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n");
    }
    body.extend_from_slice(b".\r\n");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("body_1mib", |b| {
        b.iter(|| {
            let mut s = SmtpState::new();
            s.feed(Direction::ToClient, b"220 mx ESMTP\r\n", 0);
            s.feed(
                Direction::ToServer,
                b"EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
                0,
            );
            for chunk in body.chunks(1448) {
                s.feed(Direction::ToServer, chunk, 0);
            }
            black_box(s.summary().body_bytes)
        })
    });

    let banner = b"220 mail.contoso.com Microsoft ESMTP MAIL Service ready at Thu, 26 Nov 2026 10:00:00 +0000\r\n";
    g.throughput(Throughput::Elements(1));
    g.bench_function("probe", |b| {
        b.iter(|| probe_smtp(Direction::ToClient, black_box(banner)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
