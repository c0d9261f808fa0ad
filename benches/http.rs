//! Criterion benches for the HTTP parser.
//!
//! - `http/session_owa_ntlm_chunked`: a real curl session (seven requests on one keep-alive
//!   connection: 401 challenges, NTLM, a chunked response) from fixtures/pdu/http.
//! - `http/pipelined`: four pipelined requests in one segment and their responses.
//! - `http/body_1mib`: a 1 MiB Content-Length body (RPC_IN_DATA style) in 1448-byte segments:
//!   skipped by count.
//! - `http/chunked_1mib`: a 1 MiB response in 4 KiB chunks: chunk framing.
//! - `http/probe`: `probe_http` on a request line.
//!
//! Throughput is in bytes. Run: `cargo bench --bench http` (add `-- --quick`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exwatch::proto::http::{HttpState, probe_http};
use exwatch::proto::segments::segments;
use exwatch::proto::{Direction, StreamParser};

const SESSION: &[u8] = include_bytes!("../fixtures/pdu/http/http-curl-0.seg");
const PIPELINED: &[u8] = include_bytes!("../fixtures/pdu/http/http-curl-6.seg");

fn session(c: &mut Criterion, name: &str, file: &[u8]) {
    let segs: Vec<_> = segments(file).collect();
    let bytes: usize = segs.iter().map(|(_, d)| d.len()).sum();
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function(name, |b| {
        b.iter(|| {
            let mut s = HttpState::new();
            for (dir, d) in &segs {
                black_box(s.feed(*dir, d, 0));
            }
            black_box(s.summary().request_count)
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    session(c, "session_owa_ntlm_chunked", SESSION);
    session(c, "pipelined", PIPELINED);

    let mut g = c.benchmark_group("http");
    let body = vec![b'x'; 1 << 20];
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("body_1mib", |b| {
        b.iter(|| {
            let mut s = HttpState::new();
            s.feed(
                Direction::ToServer,
                b"RPC_IN_DATA /rpc/rpcproxy.dll?mail.example.test:6001 HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n",
                0,
            );
            for chunk in body.chunks(1448) {
                s.feed(Direction::ToServer, chunk, 0);
            }
            black_box(s.summary().request_body_bytes)
        })
    });

    let mut chunked = Vec::with_capacity((1 << 20) + 4096);
    chunked.extend_from_slice(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..256 {
        chunked.extend_from_slice(b"1000\r\n");
        chunked.extend_from_slice(&[b'y'; 4096]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    g.throughput(Throughput::Bytes(chunked.len() as u64));
    g.bench_function("chunked_1mib", |b| {
        b.iter(|| {
            let mut s = HttpState::new();
            s.feed(Direction::ToServer, b"GET /owa/ HTTP/1.1\r\nHost: a\r\n\r\n", 0);
            for chunk in chunked.chunks(1448) {
                s.feed(Direction::ToClient, chunk, 0);
            }
            black_box(s.summary().response_body_bytes)
        })
    });

    let line = b"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail.contoso.com\r\n";
    g.throughput(Throughput::Elements(1));
    g.bench_function("probe", |b| b.iter(|| probe_http(Direction::ToServer, black_box(line))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
