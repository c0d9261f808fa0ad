//! Criterion benches for layers 1 and 2: the capture parser and the frame decoder, over the real
//! frames of the project's fixtures (`fixtures/pcap/*.pcap`, `*.pcapng`).
//!
//! - `decode/*`: `decode::decode` per fixture and over all fixtures' frames (throughput in
//!   frames), and `decode::shard_hash` (the reader's per-frame cost of picking a worker).
//! - `capture/*`: `MappedFile::for_each` over each whole fixture file (tiny files: includes the
//!   per-call page-population advice), then over a large capture made by concatenating a
//!   fixture many times (pcap, and pcapng whose copies are new sections), through the mapped
//!   file, the bare `CaptureParser`, and the stdin path (`StreamReader` over `&[u8]`).
//!
//! Run: `cargo bench --bench decode` (add `-- --quick` for a short run).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use exwatch::capture::{CaptureParser, Detect, Frame, LinkType, MappedFile, Next, StreamReader};
use exwatch::decode::{self, L4};

/// One frame copied out of a fixture.
struct OwnedFrame {
    ts_ns: u64,
    link_type: LinkType,
    data: Vec<u8>,
    orig_len: u32,
}

impl OwnedFrame {
    fn frame(&self) -> Frame<'_> {
        Frame {
            ts_ns: self.ts_ns,
            link_type: self.link_type,
            data: &self.data,
            orig_len: self.orig_len,
        }
    }
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pcap")
}

/// Every capture in the fixtures folder, sorted by name.
fn fixture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .expect("fixtures/pcap exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcap" | "pcapng")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixture captures in {}", fixture_dir().display());
    files
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// The frames of one capture, copied. A capture cut short (a fixture does this on purpose)
/// yields the frames before the damage.
fn load_frames(path: &Path) -> Vec<OwnedFrame> {
    let m = MappedFile::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut v = Vec::new();
    let _ = m.for_each(|fr, _| {
        v.push(OwnedFrame {
            ts_ns: fr.ts_ns,
            link_type: fr.link_type,
            data: fr.data.to_vec(),
            orig_len: fr.orig_len,
        })
    });
    v
}

fn bench_decode(c: &mut Criterion) {
    let per_file: Vec<(String, Vec<OwnedFrame>)> =
        fixture_files().iter().map(|p| (name_of(p), load_frames(p))).collect();
    let all: Vec<&OwnedFrame> = per_file.iter().flat_map(|(_, v)| v.iter()).collect();
    let tcp_udp = all
        .iter()
        .filter(|f| matches!(decode::decode(&f.frame()), Ok(m) if matches!(m.l4, L4::Tcp(_) | L4::Udp { .. })))
        .count();
    eprintln!(
        "decode bench: {} frames from {} fixtures ({tcp_udp} TCP/UDP)",
        all.len(),
        per_file.len()
    );

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(all.len() as u64));
    g.bench_function("all_fixtures", |b| {
        b.iter(|| {
            let mut ok = 0u32;
            for f in &all {
                if decode::decode(black_box(&f.frame())).is_ok() {
                    ok += 1;
                }
            }
            ok
        })
    });
    for (name, frames) in &per_file {
        g.throughput(Throughput::Elements(frames.len() as u64));
        g.bench_with_input(BenchmarkId::new("fixture", name), frames, |b, frames| {
            b.iter(|| {
                for f in frames {
                    let _ = black_box(decode::decode(black_box(&f.frame())));
                }
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("shard_hash");
    g.throughput(Throughput::Elements(all.len() as u64));
    g.bench_function("all_fixtures", |b| {
        b.iter(|| {
            let mut h = 0u64;
            for f in &all {
                h ^= decode::shard_hash(black_box(&f.frame()));
            }
            h
        })
    });
    g.finish();
}

/// Walk a mapped capture, touching each frame; returns the frame count.
fn count_frames(m: &MappedFile) -> u64 {
    let mut n = 0u64;
    let _ = m.for_each(|fr, _| {
        black_box(fr.data);
        n += 1;
    });
    n
}

/// `copies` copies of a pcap (file header once) or a pcapng (each copy a new section).
fn concatenated(path: &Path, copies: usize) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("fixture readable");
    let pcapng = bytes.starts_with(&[0x0A, 0x0D, 0x0D, 0x0A]);
    let mut out = Vec::with_capacity(bytes.len() * copies);
    out.extend_from_slice(&bytes);
    let body = if pcapng {
        &bytes[..]
    } else {
        &bytes[exwatch::capture::format::PCAP_HEADER_LEN..]
    };
    for _ in 1..copies {
        out.extend_from_slice(body);
    }
    out
}

/// A temporary file removed on drop.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn bench_capture(c: &mut Criterion) {
    let mut g = c.benchmark_group("capture");

    // Each fixture file, whole: what `exwatch read` does per input.
    for path in fixture_files() {
        let m = MappedFile::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let n = count_frames(&m);
        g.throughput(Throughput::Elements(n));
        g.bench_function(BenchmarkId::new("mapped_for_each", name_of(&path)), |b| {
            b.iter(|| count_frames(black_box(&m)))
        });
    }

    // Large captures: the per-frame cost with the per-call overhead amortised.
    const COPIES: usize = 1000;
    let big = [
        ("pcap", fixture_dir().join("loopback-tcp-udp.pcap")),
        ("pcapng", fixture_dir().join("multi-interface.pcapng")),
    ];
    for (kind, src) in big {
        let bytes = concatenated(&src, COPIES);
        let tmp =
            TempFile(std::env::temp_dir().join(format!("exwatch-bench-{}-{}.{kind}", std::process::id(), COPIES)));
        std::fs::write(&tmp.0, &bytes).expect("temp file writable");
        let m = MappedFile::open(&tmp.0).unwrap_or_else(|e| panic!("{e}"));
        let n = count_frames(&m);
        assert_eq!(
            n as usize,
            COPIES * load_frames(&src).len(),
            "{kind}: every copy parses"
        );
        g.throughput(Throughput::Elements(n));
        let label = format!("{kind}_x{COPIES}_{}MB", bytes.len() / 1_000_000);

        g.bench_function(BenchmarkId::new("mapped_for_each", &label), |b| {
            b.iter(|| count_frames(black_box(&m)))
        });
        g.bench_function(BenchmarkId::new("parser", &label), |b| {
            b.iter(|| {
                let buf = black_box(&bytes[..]);
                let Detect::Capture { mut parser, header_len } = CaptureParser::detect(buf) else {
                    panic!("not a capture")
                };
                let mut pos = header_len;
                let mut n = 0u64;
                while let Next::Frame(fr) = parser.next(buf, &mut pos, 0) {
                    black_box(fr.data);
                    n += 1;
                }
                n
            })
        });
        g.bench_function(BenchmarkId::new("stream_reader", &label), |b| {
            b.iter(|| {
                let r = StreamReader::open("bench", black_box(&bytes[..])).expect("a capture");
                let mut n = 0u64;
                r.for_each(|_, fr, _| {
                    black_box(fr.data);
                    n += 1;
                })
                .expect("undamaged");
                n
            })
        });
        drop(m);
    }
    g.finish();
}

criterion_group!(benches, bench_decode, bench_capture);
criterion_main!(benches);
