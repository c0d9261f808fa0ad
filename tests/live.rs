//! `exwatch live` on a real interface: a veth pair inside a network namespace of the test's
//! own (nothing is sent outside it); fixture captures are replayed into one end with tcpreplay
//! while exwatch captures on the other, then SIGTERM. The flows must be the ones `exwatch read`
//! finds in the same captures, and the stats record must carry libpcap's counts.
//!
//! Needs root, `ip` and `tcpreplay`; skipped with a message otherwise. Built only with the
//! `live` feature (`cargo test --release --features live --test live`; `.ci/run` runs it).
#![cfg(feature = "live")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// Fixtures with Ethernet framing (captured on a namespace's loopback), replayed as they are.
const REPLAYED: [&str; 3] = ["loopback-tcp-udp.pcap", "smtp-swaks-aiosmtpd.pcap", "ldap-slapd.pcap"];

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn sh(args: &[&str]) {
    let st = Command::new(args[0]).args(&args[1..]).status().expect("run");
    assert!(st.success(), "{args:?}");
}

/// What must agree between live and offline: endpoints, counts, protocol.
fn key(f: &Value) -> String {
    let k = [
        "src_ip",
        "src_port",
        "dst_ip",
        "dst_port",
        "transport",
        "pkts_toserver",
        "pkts_toclient",
        "bytes_toserver",
        "bytes_toclient",
        "app_proto",
        "app_proto_orig",
        "encryption",
    ];
    k.iter().map(|x| f[*x].to_string()).collect::<Vec<_>>().join(" ")
}

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn live_capture_matches_offline_read() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !have("ip") || !have("tcpreplay") {
        eprintln!("not root, or no ip/tcpreplay: skipping the live capture test");
        return;
    }
    let ns = Netns(format!("exwlive{}", std::process::id()));
    sh(&["ip", "netns", "add", &ns.0]);
    sh(&[
        "ip", "-n", &ns.0, "link", "add", "rep0", "type", "veth", "peer", "name", "cap0",
    ]);
    for dev in ["rep0", "cap0", "lo"] {
        sh(&["ip", "-n", &ns.0, "link", "set", dev, "up"]);
    }
    // no IPv6 autoconfiguration chatter on the pair
    for dev in ["rep0", "cap0"] {
        let _ = Command::new("ip")
            .args(["netns", "exec", &ns.0, "sysctl", "-qw"])
            .arg(format!("net.ipv6.conf.{dev}.disable_ipv6=1"))
            .status();
    }
    let dir = std::env::temp_dir().join(&ns.0);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("live.jsonl");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pcap");
    for threads in ["1", "2"] {
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.0])
            .arg(env!("CARGO_BIN_EXE_exwatch"))
            .args(["live", "-i", "cap0", "--promisc", "--threads", threads, "-o"])
            .arg(&out)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start exwatch live");
        std::thread::sleep(Duration::from_millis(1500));
        let mut want: Vec<String> = Vec::new();
        for f in REPLAYED {
            let cap = fixtures.join(f);
            let st = Command::new("ip")
                .args(["netns", "exec", &ns.0, "tcpreplay", "-q", "-i", "rep0", "--topspeed"])
                .arg(&cap)
                .stdout(Stdio::null())
                .status()
                .expect("tcpreplay");
            assert!(st.success(), "tcpreplay {f}");
            let (_, recs, _) = common::read(&cap, 1);
            want.extend(common::flows(&recs).into_iter().map(key));
        }
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: kill with a pid we spawned.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let res = child.wait_with_output().expect("exwatch exits");
        assert_eq!(
            res.status.code(),
            Some(0),
            "stderr: {}",
            String::from_utf8_lossy(&res.stderr)
        );
        let recs: Vec<Value> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut got: Vec<String> = common::flows(&recs).into_iter().map(key).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "--threads {threads}");
        let st = common::stats(&recs);
        let drops = &st["capture_drops"];
        assert!(drops["received"].as_u64().unwrap() >= st["packets"].as_u64().unwrap());
        assert_eq!(drops["kernel_dropped"], 0);
        // the flows still open when the signal came end as "shutdown", none as end of input
        assert!(common::flows(&recs).iter().all(|f| f["end_reason"] != "end_of_input"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
