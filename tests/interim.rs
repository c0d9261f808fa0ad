//! Interim records of long-lived flows (`--flow-update-interval`, on by default in `live`),
//! checked offline on a capture made here: a SIP call of 9 s with its RTP stream
//! (`fixtures/pcap/sip-sipp-rtp.pcap`).

mod common;

use std::path::Path;

use serde_json::Value;

fn run(args: &[&str]) -> Vec<Value> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pcap/sip-sipp-rtp.pcap");
    let out = common::exwatch()
        .arg("read")
        .arg(&file)
        .args(["--no-summary"])
        .args(args)
        .output()
        .expect("run exwatch");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// One flow's identity across its records.
fn id(f: &Value) -> String {
    format!("{} {}", f["community_id"], f["timestamp"])
}

fn total_pkts(f: &Value) -> u64 {
    f["pkts_toserver"].as_u64().unwrap() + f["pkts_toclient"].as_u64().unwrap()
}

#[test]
fn long_flows_get_interim_records_every_interval() {
    let recs = run(&["--flow-update-interval", "3"]);
    let flows = common::flows(&recs);
    let (interim, last): (Vec<&Value>, Vec<&Value>) = flows.iter().partition(|f| f["interim"] == true);
    // the call lasts 9.02 s and its RTP stream 8.14 s: updates at 3, 6 and 9 s of capture time
    // for the call; the RTP stream's third is due at 9 s too, after its last packet (8.14 s)
    // but before the capture ends
    assert_eq!(last.len(), 2);
    assert_eq!(interim.len(), 6);
    for f in &last {
        assert_eq!(f["updates"], 3, "{f}");
        assert_eq!(f["end_reason"], "end_of_input");
    }
    for f in &interim {
        assert_eq!(f["end_reason"], Value::Null);
    }
    // each flow's interim records, in order: numbered 0, 1, 2; counters only grow, up to the
    // final record's
    for f in &last {
        let mine: Vec<&&Value> = interim.iter().filter(|i| id(i) == id(f)).collect();
        assert_eq!(mine.len(), 3);
        let mut prev = 0;
        for (k, i) in mine.iter().enumerate() {
            assert_eq!(i["updates"], k as u64);
            assert!(total_pkts(i) >= prev);
            prev = total_pkts(i);
            // the findings raised so far are on the interim record too
            assert_eq!(i["findings"], f["findings"]);
            assert_eq!(i["data_path"], f["data_path"]);
        }
        assert!(total_pkts(f) >= prev);
    }
    // the RTP stream: 204 of its 492 packets by the first update (3 s), 408 by the second
    let rtp: Vec<u64> = flows
        .iter()
        .filter(|f| f["app_proto"] == "rtp")
        .map(|f| total_pkts(f))
        .collect();
    assert_eq!(rtp, [204, 408, 492, 492]);
    // the stats count each flow once
    let st = common::stats(&recs);
    assert_eq!(st["flows"]["total"], 2);
    assert_eq!(st["app_protos"]["sip"], 1);
}

#[test]
fn interim_records_leave_the_final_ones_alone() {
    let plain = run(&[]);
    let with = run(&["--flow-update-interval", "3"]);
    let finals = |recs: &[Value]| -> Vec<Value> {
        common::flows(recs)
            .into_iter()
            .filter(|f| f["interim"] == false)
            .map(|f| {
                let mut f = f.clone();
                f["updates"] = Value::Null;
                f
            })
            .collect()
    };
    assert_eq!(finals(&plain), finals(&with));
    assert!(common::flows(&plain).iter().all(|f| f["updates"] == 0));
    // findings are raised once, however many records their flow has
    let kinds = |recs: &[Value]| recs.iter().filter(|r| r["event_type"] == "finding").count();
    assert_eq!(kinds(&plain), kinds(&with));
    // and the same for any number of workers
    let two = run(&["--flow-update-interval", "3", "--threads", "2"]);
    let no_stats =
        |recs: &[Value]| -> Vec<Value> { recs.iter().filter(|r| r["event_type"] != "stats").cloned().collect() };
    assert_eq!(no_stats(&with), no_stats(&two));
}

#[test]
fn ecs_tells_interim_records_from_flow_ends() {
    let recs = run(&["--flow-update-interval", "3", "--format", "ecs"]);
    let types: Vec<(String, bool)> = recs
        .iter()
        .filter(|r| r["event"]["dataset"] == "exwatch.flow")
        .map(|r| (r["event"]["type"].to_string(), r["exwatch"]["interim"] == true))
        .collect();
    assert_eq!(types.len(), 8);
    for (t, interim) in types {
        let want = if interim {
            r#"["connection","info"]"#
        } else {
            r#"["connection","end"]"#
        };
        assert_eq!(t, want);
    }
}
