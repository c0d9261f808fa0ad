//! The project's own captures (`fixtures/pcap/`, made by `fixtures/make-fixtures.sh` from real
//! peers): each against tshark's conversation table (its `.truth.json`) and against the golden
//! output in `fixtures/expected/`.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The parts of a run that do not depend on the machine: every flow record, and the stats
/// record without the processing-time histogram.
fn stable(recs: &[Value]) -> Vec<Value> {
    recs.iter()
        .cloned()
        .map(|mut r| {
            if r["event_type"] == "stats" {
                r.as_object_mut().unwrap().remove("packet_time_ns");
                r["capture"]["inputs"] = Value::Null;
                if r["capture"]["damaged"].is_object() {
                    r["capture"]["damaged"]["input"] = Value::Null;
                }
            }
            r
        })
        .collect()
}

#[test]
fn fixtures_match_tshark() {
    let truths = common::truths(&fixtures().join("pcap"));
    assert!(truths.len() >= 12, "fixture truths missing");
    let mut failures = Vec::new();
    for (cap, truth) in &truths {
        let (code, recs, stderr) = common::read(cap, 1);
        let damaged = !truth["capture"]["read_error"].is_null();
        assert_eq!(code, if damaged { 1 } else { 0 }, "{}: {stderr}", cap.display());
        assert_eq!(
            common::stats(&recs)["packets"].as_u64(),
            truth["capture"]["packets_read"].as_u64(),
            "{}",
            cap.display()
        );
        for d in common::compare_conversations(truth, &recs) {
            failures.push(format!("{}: {d}", cap.display()));
        }
        for d in common::facts::compare_all(truth, &recs) {
            failures.push(format!("{}: {d}", cap.display()));
        }
        match common::facts::compare_ja3_with_tshark(cap, truth, &recs) {
            Some(diffs) => failures.extend(diffs.into_iter().map(|d| format!("{}: {d}", cap.display()))),
            None => eprintln!("tshark is not installed: JA3/JA3S of {} not compared", cap.display()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Regenerate with `EXWATCH_BLESS=1 cargo test --test fixtures golden`.
#[test]
fn golden_output() {
    let bless = std::env::var_os("EXWATCH_BLESS").is_some();
    for (cap, _) in common::truths(&fixtures().join("pcap")) {
        let name = cap.file_name().unwrap().to_string_lossy().into_owned();
        let golden = fixtures().join("expected").join(format!("{name}.jsonl"));
        for threads in [1, 2] {
            let (_, recs, _) = common::read(&cap, threads);
            let got = stable(&recs);
            if bless && threads == 1 {
                std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
                let text: String = got.iter().map(|v| format!("{v}\n")).collect();
                std::fs::write(&golden, text).unwrap();
                continue;
            }
            let want: Vec<Value> = std::fs::read_to_string(&golden)
                .unwrap_or_else(|e| panic!("{}: {e} (run with EXWATCH_BLESS=1)", golden.display()))
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(
                got,
                want,
                "{name} --threads {threads} differs from {}",
                golden.display()
            );
        }
    }
}

/// A capture cut in the middle of a record: every frame before it is processed, every flow is
/// written, stderr names the byte offset where the last complete record ends, exit status 1.
#[test]
fn cut_short_capture_stops_at_the_last_whole_record() {
    let cap = fixtures().join("pcap/cut-short.pcap");
    // fixtures/pcap/cut-short.pcap.offsets.txt: record 32 ends at 3115; record 33 is cut
    let (code, recs, stderr) = common::read(&cap, 1);
    assert_eq!(code, 1);
    assert!(stderr.contains("byte offset 3115"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    let st = common::stats(&recs);
    assert_eq!(st["packets"], 32);
    assert_eq!(st["capture"]["damaged"]["offset"], 3115);
    // tshark lists 3 conversations in the first 32 frames (cut-short.pcap.truth.json)
    assert_eq!(common::flows(&recs).len(), 3);
    assert!(
        common::flows(&recs)
            .iter()
            .all(|f| f["end_reason"] == "end_of_input" || f["end_reason"] == "fin")
    );
}

/// The human summary goes to stderr (after the records are flushed), or to `--summary FILE`, or
/// nowhere with `--no-summary`; stdout holds only the records, in either format.
#[test]
fn summary_goes_to_stderr_or_a_file_never_stdout() {
    let cap = fixtures().join("pcap/smtp-swaks-aiosmtpd.pcap");
    let (_, native, _) = common::read(&cap, 1);
    let dir = std::env::temp_dir().join(format!("exwatch-summary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("summary.txt");
    for (args, to_stderr, to_file) in [
        (vec![], true, false),
        (vec!["--format", "ecs"], true, false),
        (vec!["--threads", "2"], true, false),
        (vec!["--summary", file.to_str().unwrap()], false, true),
        (vec!["--no-summary"], false, false),
    ] {
        let _ = std::fs::remove_file(&file);
        let out = common::exwatch().arg("read").arg(&cap).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), native.len(), "{args:?}: only records on stdout");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let written = std::fs::read_to_string(&file).ok();
        let summary = if to_file {
            written.clone().unwrap()
        } else {
            stderr.clone()
        };
        if to_stderr || to_file {
            assert!(summary.starts_with("exwatch summary: 7 flows, "), "{args:?}: {summary}");
            for section in ["Data paths seen", "Findings", "Flows no documented path explains"] {
                assert!(summary.contains(section), "{args:?}: {summary}");
            }
            // the SMTP sessions on 2525 between (inferred) Exchange servers, and what they broke
            assert!(
                summary.contains("ex2013.fet.cas-mailbox-inbound-proxy") && summary.contains("      6  "),
                "{args:?}: {summary}"
            );
            assert!(
                summary.contains("high      cleartext_credentials              3"),
                "{args:?}: {summary}"
            );
        }
        if !to_stderr {
            assert!(stderr.is_empty(), "{args:?}: {stderr}");
        }
        assert_eq!(written.is_some(), to_file, "{args:?}");
    }
    // --summary to a place that cannot be written: exit 2 before reading
    let out = common::exwatch()
        .arg("read")
        .arg(&cap)
        .args(["--summary", dir.join("no/such/dir").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    // a damaged input: the summary, then the damage as the last line
    let out = common::exwatch()
        .arg("read")
        .arg(fixtures().join("pcap/cut-short.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("exwatch summary: 3 flows, 32 packets"), "{stderr}");
    assert!(stderr.lines().last().unwrap().contains("byte offset 3115"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `-` reads the capture from stdin, with the same records as reading the file.
#[test]
fn stdin_gives_the_same_records_as_the_file() {
    for name in ["loopback-tcp-udp.pcap", "multi-interface.pcapng", "cut-short.pcap"] {
        let cap = fixtures().join("pcap").join(name);
        let (code_file, from_file, _) = common::read(&cap, 1);
        let out = common::exwatch()
            .args(["read", "-", "--threads", "2"])
            .stdin(std::fs::File::open(&cap).unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code_file), "{name}");
        let from_stdin: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(common::flows(&from_file), common::flows(&from_stdin), "{name}");
    }
}

/// Nothing readable: one line on stderr, exit status 2, nothing on stdout.
#[test]
fn unreadable_inputs_exit_2() {
    let dir = std::env::temp_dir().join(format!("exwatch-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("notes.txt");
    std::fs::write(&text, "this is not a capture\n").unwrap();
    let empty = dir.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let short = dir.join("short.pcap");
    std::fs::write(&short, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0]).unwrap();
    for (path, needle) in [
        (dir.join("no-such-file.pcap"), "No such file"),
        (text, "not a pcap or pcapng file"),
        (empty, "empty"),
        (short, "too short"),
    ] {
        let out = common::exwatch().arg("read").arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert!(stderr.contains(needle), "{}: {stderr}", path.display());
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A capture with a 96-byte snap length: the payload past the cut was on the wire but is not in
/// the capture, so it is missing, and the flows still end by FIN/RST instead of stalling.
#[test]
fn snap_length_cuts_are_missing_bytes() {
    let (code, recs, _) = common::read(&fixtures().join("pcap/snaplen-96.pcap"), 1);
    assert_eq!(code, 0);
    // Per flow: the TCP payload bytes past 96 bytes of frame, from the uncut capture:
    //   tshark -r loopback-tcp-udp.pcap -Y tcp.len>0 -T fields -e tcp.srcport -e tcp.dstport
    //          -e tcp.len -e frame.cap_len   (sum of min(tcp.len, cap_len - 96) where cap_len > 96)
    let want = [(8080, 234, "fin"), (7001, 6, "fin"), (7001, 6, "rst"), (7009, 0, "rst")];
    let tcp: Vec<_> = common::flows(&recs)
        .into_iter()
        .filter(|f| f["transport"] == "tcp")
        .collect();
    assert_eq!(tcp.len(), want.len());
    for (f, (port, missing, end)) in tcp.iter().zip(want) {
        assert_eq!(f["dst_port"], port);
        assert_eq!(f["missing_bytes"], missing, "{f}");
        assert_eq!(f["end_reason"], end, "{f}");
    }
    let st = common::stats(&recs);
    assert_eq!(st["tcp_reassembly"]["missing_bytes"], 246);
    assert_eq!(
        st["tcp_reassembly"]["out_of_order_segments"], 0,
        "nothing held waiting for cut bytes"
    );
}

/// Inputs a fuzzer found to break a parser (`fixtures/malformed/README.md`): read to the end,
/// no crash, the frames counted.
#[test]
fn malformed_inputs_are_data() {
    let dir = fixtures().join("malformed");
    let (code, recs, stderr) = common::read(&dir.join("ipv6-fragment-then-hop-by-hop.pcap"), 1);
    assert_eq!(code, 0, "{stderr}");
    let st = common::stats(&recs);
    assert_eq!(st["packets"], 1);
    // the fragment is held for reassembly that never completes
    assert_eq!(st["ip_fragments"]["frames"], 1);
    assert_eq!(common::flows(&recs).len(), 0);
}

/// The endpoint mapper's answer comes first; the first connection to the port it named was
/// captured without its handshake and bind (fixtures/make-dcerpc-fixtures.sh cuts them out).
/// That flow is still DCE/RPC and labelled by the answer, at every thread count.
#[test]
fn epm_labels_a_flow_whose_bind_was_not_captured() {
    let cap = fixtures().join("pcap/dcerpc-epm-midstream.pcap");
    for threads in [1, 2] {
        let (code, recs, _) = common::read(&cap, threads);
        assert_eq!(code, 0);
        let mid: Vec<&Value> = common::flows(&recs)
            .into_iter()
            .filter(|f| f["tcp"]["flags_toserver"].as_str().is_some_and(|s| !s.contains('S')))
            .collect();
        assert_eq!(mid.len(), 1, "one flow without a handshake");
        let f = mid[0];
        assert!(
            f["dcerpc"]["binds"].as_array().is_some_and(|b| b.is_empty()),
            "no bind seen"
        );
        assert_eq!(f["app_proto"], "dcerpc");
        // its first PDU is a request: the side that sent it is the client, whatever the ports
        assert_eq!(f["client_from"], "payload");
        assert_eq!(
            (f["src_port"].as_u64(), f["dst_port"].as_u64()),
            (Some(36800), Some(49701))
        );
        assert_eq!(
            (f["pkts_toserver"].as_u64(), f["bytes_toserver"].as_u64()),
            (Some(5), Some(1974))
        );
        assert_eq!(f["expected"]["by"], "epm");
        assert_eq!(f["expected"]["interface_name"], "EMSMDB");
        assert_eq!(f["expected"]["interface"], "a4f1db00-ca47-1067-b31f-00dd010662da");
        assert_eq!(common::stats(&recs)["expectations"]["flows_matched"], 2);
    }
}

/// `--no-decap KIND` leaves that kind's packets as they are: the VXLAN capture is then two UDP
/// flows between the tunnel endpoints to 4789 (one per direction: the kernel picks each side's
/// source port), with every frame; without it, one TCP flow inside with the same frames, the
/// outer layer in `tunnel`. An unknown kind is a usage error (exit 2).
#[test]
fn no_decap_leaves_a_tunnel_kind_alone() {
    let cap = fixtures().join("pcap/tunnel-vxlan.pcap");
    let (_, inner, _) = common::read(&cap, 1);
    let f = common::flows(&inner);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0]["src_ip"].as_str(), f[0]["dst_port"].as_u64()),
        (Some("10.77.0.1"), Some(8080))
    );
    assert_eq!(f[0]["tunnel"][0]["kind"], "vxlan");
    assert_eq!(f[0]["tunnel"][0]["vni"], 42);
    assert_eq!(
        f[0]["pkts_toserver"].as_u64().unwrap() + f[0]["pkts_toclient"].as_u64().unwrap(),
        12
    );
    assert_eq!(common::stats(&inner)["tunnels"]["decapsulated"]["vxlan"], 12);
    for threads in ["1", "2"] {
        let out = common::exwatch()
            .arg("read")
            .arg(&cap)
            .args([
                "--no-summary",
                "--no-decap",
                "vxlan",
                "--no-decap",
                "gre",
                "--threads",
                threads,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let recs: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let f = common::flows(&recs);
        assert_eq!(f.len(), 2, "--threads {threads}");
        for x in &f {
            assert_eq!(x["transport"], "udp");
            assert_eq!(x["dst_port"], 4789);
            assert!(x["tunnel"].is_null());
        }
        let pkts: u64 = f
            .iter()
            .map(|x| x["pkts_toserver"].as_u64().unwrap() + x["pkts_toclient"].as_u64().unwrap())
            .sum();
        assert_eq!(pkts, 12);
        assert_eq!(common::stats(&recs)["tunnels"]["decapsulated"]["vxlan"], 0);
    }
    let out = common::exwatch()
        .arg("read")
        .arg(&cap)
        .args(["--no-decap", "gretap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown tunnel kind"), "{stderr}");
}
