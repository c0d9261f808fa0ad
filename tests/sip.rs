//! The SIP parser against tshark, before the flow layer feeds it: each SIP capture's payloads
//! are cut out with tshark (UDP datagrams that tshark dissects as SIP; TCP segments of 5060-5068
//! connections, retransmissions dropped), fed to one `SipState` per conversation, written as
//! flow-like records through `output::sip`, and compared with the capture's `.truth.json` by
//! `facts::compare_sip`. Runs on the project's fixtures and, when `EXWATCH_CORPUS` names a
//! folder, on its `sip-*.pcap`. Skipped (with a note) when tshark is not installed.

mod common;

use exwatch::output::json::Obj;
use exwatch::output::sip::write_sip;
use exwatch::proto::sip::SipState;
use exwatch::proto::{Direction, StreamParser};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tshark_rows(cap: &Path, filter: &str, fields: &[&str]) -> Option<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(cap).args(["-Y", filter, "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().ok()?;
    assert!(
        out.status.success(),
        "tshark on {}: {}",
        cap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8(out.stdout)
            .ok()?
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect(),
    )
}

fn unhex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn is_sip_port(p: &str) -> bool {
    p.parse::<u16>().is_ok_and(|p| (5060..=5068).contains(&p))
}

/// One record per UDP or TCP conversation, as the flow layer will write them.
fn records(cap: &Path) -> Option<Vec<Value>> {
    let mut flows: Vec<(String, SipState)> = Vec::new();
    let mut state = |key: String| -> usize {
        match flows.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                flows.push((key, SipState::new()));
                flows.len() - 1
            }
        }
    };
    let udp = tshark_rows(
        cap,
        "sip && udp",
        &["udp.stream", "udp.srcport", "udp.dstport", "udp.payload"],
    )?;
    let mut idx = Vec::new();
    for r in &udp {
        let i = state(format!("udp {}", r[0]));
        let dir = if is_sip_port(&r[2]) {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        idx.push((i, dir, unhex(&r[3])));
    }
    let tcp = tshark_rows(
        cap,
        "tcp.len>0 && !tcp.analysis.retransmission && tcp.port>=5060 && tcp.port<=5068",
        &["tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.payload"],
    )?;
    let mut tidx = Vec::new();
    for r in &tcp {
        let i = state(format!("tcp {}", r[0]));
        let dir = if is_sip_port(&r[2]) {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        tidx.push((i, dir, unhex(&r[3])));
    }
    for (i, dir, p) in idx {
        flows[i].1.datagram(dir, &p);
    }
    for (i, dir, p) in tidx {
        flows[i].1.feed(dir, &p, 0);
    }
    Some(
        flows
            .iter()
            .map(|(_, st)| {
                let mut buf = Vec::new();
                let mut o = Obj::new(&mut buf);
                o.str("event_type", "flow");
                o.obj("sip", |l| write_sip(l, st.summary()));
                o.close();
                serde_json::from_slice(&buf).expect("valid JSON")
            })
            .collect(),
    )
}

fn check(cap: &Path) -> bool {
    let truth: Value =
        serde_json::from_slice(&std::fs::read(format!("{}.truth.json", cap.display())).expect("truth file")).unwrap();
    let Some(recs) = records(cap) else {
        eprintln!("tshark not available: {} not checked", cap.display());
        return false;
    };
    let sum = |k: &str| recs.iter().map(|r| r["sip"][k].as_u64().unwrap_or(0)).sum::<u64>();
    let len = |k: &str| {
        recs.iter()
            .map(|r| r["sip"][k].as_array().map_or(0, Vec::len))
            .sum::<usize>()
    };
    eprintln!(
        "{}: {} conversations, {} messages, {} calls, {} SDP media",
        cap.display(),
        recs.len(),
        sum("messages"),
        len("calls"),
        len("sdp_media")
    );
    let diffs = common::facts::compare_sip(&truth, &recs);
    assert!(diffs.is_empty(), "{}:\n{}", cap.display(), diffs.join("\n"));
    for r in &recs {
        assert_eq!(r["sip"]["parse_errors"], 0, "{}: {r}", cap.display());
    }
    true
}

#[test]
fn sipp_fixtures_match_tshark() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pcap");
    for name in [
        "sip-sipp-udp.pcap",
        "sip-sipp-tcp.pcap",
        "sip-sipp-srtp.pcap",
        "sip-sipp-rtp.pcap",
        "sip-sipp-register.pcap",
    ] {
        if !check(&dir.join(name)) {
            return;
        }
    }
}

#[test]
fn corpus_sip_captures_match_tshark() {
    let Some(dir) = std::env::var_os("EXWATCH_CORPUS").map(PathBuf::from) else {
        return;
    };
    let mut caps: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("EXWATCH_CORPUS")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with("sip-") && (n.ends_with(".pcap") || n.ends_with(".pcapng"))
        })
        .collect();
    caps.sort();
    for c in caps {
        eprintln!("checking {}", c.display());
        if !check(&c) {
            return;
        }
    }
}

/// `compare_sip` is not vacuous: a changed count, URI or SDP port in exwatch's records is
/// reported.
#[test]
fn compare_sip_reports_differences() {
    let cap = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pcap/sip-sipp-udp.pcap");
    let truth: Value =
        serde_json::from_slice(&std::fs::read(format!("{}.truth.json", cap.display())).unwrap()).unwrap();
    let Some(recs) = records(&cap) else { return };
    assert!(common::facts::compare_sip(&truth, &recs).is_empty());
    let mut bad = recs.clone();
    bad[0]["sip"]["methods"]["INVITE"] = 2.into();
    bad[0]["sip"]["calls"][0]["from"] = "sip:other@x".into();
    bad[0]["sip"]["sdp_media"][0]["port"] = 1.into();
    let diffs = common::facts::compare_sip(&truth, &bad);
    assert_eq!(diffs.len(), 3, "{diffs:#?}");
}
