//! `compare_sip` (run on every capture by the corpus and fixture tests) is not vacuous: a
//! changed count, URI or SDP port in exwatch's records is reported.

mod common;

use serde_json::Value;
use std::path::Path;

#[test]
fn compare_sip_reports_differences() {
    let cap = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pcap/sip-sipp-udp.pcap");
    let truth: Value =
        serde_json::from_slice(&std::fs::read(format!("{}.truth.json", cap.display())).unwrap()).unwrap();
    let (_, recs, _) = common::read(&cap, 1);
    assert!(common::facts::compare_sip(&truth, &recs).is_empty());
    let mut bad = recs.clone();
    let i = bad.iter().position(|r| r["sip"].is_object()).expect("a SIP flow");
    bad[i]["sip"]["methods"]["INVITE"] = 2.into();
    bad[i]["sip"]["calls"][0]["from"] = "sip:other@x".into();
    bad[i]["sip"]["sdp_media"][0]["port"] = 1.into();
    let diffs = common::facts::compare_sip(&truth, &bad);
    assert_eq!(diffs.len(), 3, "{diffs:#?}");
}
