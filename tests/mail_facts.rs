//! HTTP, IMAP and POP3 facts against tshark, before the flow layer feeds these parsers: each
//! TCP stream's segment file (fixtures/tools/extract_segments.py) goes through the parser and
//! its output writer, and the record is checked with `compare_http` / `compare_imap` /
//! `compare_pop3` against the capture's `.truth.json`.
//!
//! - The project's fixtures (`fixtures/pcap/{http,imap,pop3}-*.pcap`, segment files in
//!   `fixtures/pdu/`) always.
//! - With `EXWATCH_MAIL_SEGS=DIR`: every `X.truth.json` in DIR with segment files
//!   `X-<stream>.seg` next to it (a scratch folder made from the shared corpus; nothing of it is
//!   committed).

mod common;

use std::path::Path;

use common::facts::{compare_http, compare_imap, compare_pop3};
use exwatch::output::json::Obj;
use exwatch::proto::segments::segments;
use exwatch::proto::{Direction, Probe, StreamParser, Verdict, http, imap, pop3};
use serde_json::{Value, json};

/// Runs `P` over a segment file and writes its object with `write`; `None` when the probe
/// rejects the stream's first bytes in both directions.
fn object<P: StreamParser>(
    seg: &[u8],
    probe: fn(Direction, &[u8]) -> Probe,
    mut p: P,
    summary: impl Fn(&P, &mut Obj<'_>),
) -> Option<Value> {
    let first = |d: Direction| segments(seg).find(|(x, _)| *x == d).map(|(_, b)| b);
    let yes = [Direction::ToServer, Direction::ToClient]
        .into_iter()
        .any(|d| first(d).is_some_and(|b| probe(d, b) == Probe::Yes));
    if !yes {
        return None;
    }
    for (d, b) in segments(seg) {
        if p.feed(d, b, 0) != Verdict::Continue {
            break;
        }
    }
    let mut buf = Vec::new();
    let mut o = Obj::new(&mut buf);
    summary(&p, &mut o);
    o.close();
    Some(serde_json::from_slice(&buf).expect("writer output is JSON"))
}

/// One flow-like record per TCP conversation of `truth` whose segment file `seg(stream)` exists.
fn records(truth: &Value, seg: impl Fn(&Value) -> std::path::PathBuf) -> Vec<Value> {
    let mut recs = Vec::new();
    for c in truth["conversations"]["tcp"].as_array().into_iter().flatten() {
        let Ok(bytes) = std::fs::read(seg(&c["stream"])) else {
            continue;
        };
        let mut r = json!({
            "event_type": "flow", "transport": "tcp",
            "src_ip": c["client"], "src_port": c["client_port"],
            "dst_ip": c["server"], "dst_port": c["server_port"],
        });
        if let Some(v) = object(&bytes, http::probe_http, http::HttpState::new(), |p, o| {
            exwatch::output::http::write_http(o, p.summary())
        }) {
            r["http"] = v;
        }
        if let Some(v) = object(&bytes, imap::probe_imap, imap::ImapState::new(), |p, o| {
            exwatch::output::imap::write_imap(o, p.summary())
        }) {
            r["imap"] = v;
        }
        if let Some(v) = object(&bytes, pop3::probe_pop3, pop3::Pop3State::new(), |p, o| {
            exwatch::output::pop3::write_pop3(o, p.summary())
        }) {
            r["pop3"] = v;
        }
        recs.push(r);
    }
    recs
}

fn diffs(truth: &Value, recs: &[Value]) -> Vec<String> {
    let mut d = compare_http(truth, recs);
    d.extend(compare_imap(truth, recs));
    d.extend(compare_pop3(truth, recs));
    d
}

#[test]
fn fixtures_agree_with_tshark() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for (proto, base) in [
        ("http", "http-curl"),
        ("imap", "imap-dovecot"),
        ("pop3", "pop3-dovecot"),
    ] {
        let truth: Value =
            serde_json::from_slice(&std::fs::read(root.join(format!("pcap/{base}.pcap.truth.json"))).unwrap()).unwrap();
        let recs = records(&truth, |s| root.join(format!("pdu/{proto}/{base}-{s}.seg")));
        assert!(
            recs.iter().all(|r| r[proto].is_object()),
            "{base}: every stream is {proto}"
        );
        let d = diffs(&truth, &recs);
        assert!(d.is_empty(), "{base}:\n{}", d.join("\n"));
    }
}

#[test]
fn corpus_segments_agree_with_tshark() {
    let Some(dir) = std::env::var_os("EXWATCH_MAIL_SEGS") else {
        eprintln!("EXWATCH_MAIL_SEGS not set: skipped");
        return;
    };
    let dir = Path::new(&dir);
    let mut failed = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let Some(name) = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".truth.json"))
        else {
            continue;
        };
        let truth: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        let recs = records(&truth, |s| dir.join(format!("{name}-{s}.seg")));
        let d = diffs(&truth, &recs);
        eprintln!("{name}: {} streams, {} differences", recs.len(), d.len());
        for x in &d {
            eprintln!("  {x}");
        }
        if !d.is_empty() {
            failed.push(name.to_string());
        }
    }
    assert!(failed.is_empty(), "differences in {failed:?}");
}
