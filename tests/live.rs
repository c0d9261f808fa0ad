//! `exwatch live` on a real interface: a veth pair inside a network namespace of the test's
//! own (nothing is sent outside it); fixture captures are replayed into one end with tcpreplay
//! while exwatch captures on the other, then SIGTERM. The flows and findings must be the ones
//! `exwatch read` finds in the same captures, and the stats records must carry libpcap's
//! counts. Further tests: findings and timeouts written while the sensor runs (wall clock),
//! periodic stats, SIGHUP reopening the output, `--user`.
//!
//! Needs root, `ip` and `tcpreplay`; skipped with a message otherwise. Built only with the
//! `live` feature (`cargo test --release --features live --test live`; `.ci/run` runs it).
#![cfg(feature = "live")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

fn can_run() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !have("ip") || !have("tcpreplay") {
        eprintln!("not root, or no ip/tcpreplay: skipping the live capture test");
        return false;
    }
    true
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

/// A finding's identity: its kind and flow.
fn finding_key(f: &Value) -> String {
    let k = ["kind", "severity", "src_ip", "src_port", "dst_ip", "dst_port"];
    k.iter().map(|x| f[*x].to_string()).collect::<Vec<_>>().join(" ")
}

fn findings(recs: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = recs
        .iter()
        .filter(|r| r["event_type"] == "finding")
        .map(finding_key)
        .collect();
    v.sort();
    v
}

/// A namespace with a veth pair: tcpreplay sends into `rep0`, exwatch captures on `cap0`.
struct Netns {
    name: String,
    dir: PathBuf,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("exw{tag}{}", std::process::id());
        sh(&["ip", "netns", "add", &name]);
        sh(&[
            "ip", "-n", &name, "link", "add", "rep0", "type", "veth", "peer", "name", "cap0",
        ]);
        for dev in ["rep0", "cap0", "lo"] {
            sh(&["ip", "-n", &name, "link", "set", dev, "up"]);
        }
        // no IPv6 autoconfiguration chatter on the pair
        for dev in ["rep0", "cap0"] {
            let _ = Command::new("ip")
                .args(["netns", "exec", &name, "sysctl", "-qw"])
                .arg(format!("net.ipv6.conf.{dev}.disable_ipv6=1"))
                .status();
        }
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        Netns { name, dir }
    }

    /// Start `exwatch live -i cap0 --promisc -o OUT ARGS...` (OUT emptied first).
    fn start(&self, out: &Path, args: &[&str]) -> Child {
        let _ = std::fs::remove_file(out);
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .arg(env!("CARGO_BIN_EXE_exwatch"))
            .args(["live", "-i", "cap0", "--promisc", "-o"])
            .arg(out)
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start exwatch live");
        // the capture is open once the output file exists (it is opened right after)
        let t = Instant::now();
        while !out.exists() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        child
    }

    /// Replay a fixture (its first `limit` packets) into `rep0`, as fast as it goes.
    fn replay(&self, file: &str, limit: Option<u32>) {
        let cap = fixtures().join(file);
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            &self.name,
            "tcpreplay",
            "-q",
            "-i",
            "rep0",
            "--topspeed",
        ]);
        if let Some(n) = limit {
            c.arg(format!("--limit={n}"));
        }
        let st = c.arg(&cap).stdout(Stdio::null()).status().expect("tcpreplay");
        assert!(st.success(), "tcpreplay {file}");
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pcap")
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill with a pid we spawned.
    unsafe { libc::kill(child.id() as i32, sig) };
}

/// SIGTERM, and the exit must be 0; returns stderr.
fn stop(child: Child) -> String {
    signal(&child, libc::SIGTERM);
    let res = child.wait_with_output().expect("exwatch exits");
    let err = String::from_utf8_lossy(&res.stderr).into_owned();
    assert_eq!(res.status.code(), Some(0), "stderr: {err}");
    err
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Wait until `path` holds a record `want` accepts (the sensor flushes at least every second).
fn wait_for(path: &Path, want: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let t = Instant::now();
    loop {
        let recs = records(path);
        if want(&recs) || t.elapsed() > Duration::from_secs(10) {
            return recs;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn live_capture_matches_offline_read() {
    if !can_run() {
        return;
    }
    let ns = Netns::new("live");
    let out = ns.dir.join("live.jsonl");
    for threads in ["1", "2"] {
        let child = ns.start(&out, &["--threads", threads]);
        let mut want: Vec<String> = Vec::new();
        let mut want_findings: Vec<String> = Vec::new();
        for f in REPLAYED {
            ns.replay(f, None);
            let (_, recs, _) = common::read(&fixtures().join(f), 1);
            want.extend(common::flows(&recs).into_iter().map(key));
            want_findings.extend(findings(&recs));
        }
        std::thread::sleep(Duration::from_millis(500));
        stop(child);
        let recs = records(&out);
        let mut got: Vec<String> = common::flows(&recs).into_iter().map(key).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "--threads {threads}");
        want_findings.sort();
        assert!(!want_findings.is_empty());
        assert_eq!(findings(&recs), want_findings, "--threads {threads}");
        let st = common::stats(&recs);
        assert_eq!(st["final"], true);
        let drops = &st["capture_drops"];
        assert!(drops["received"].as_u64().unwrap() >= st["packets"].as_u64().unwrap());
        assert_eq!(drops["kernel_dropped"], 0);
        assert_eq!(drops["queue_dropped"], 0);
        assert_eq!(st["flows"]["active"], 0, "all written at exit");
        // the flows still open when the signal came end as "shutdown", none as end of input
        assert!(common::flows(&recs).iter().all(|f| f["end_reason"] != "end_of_input"));
    }
}

/// Findings as soon as they show, timeouts on the wall clock, periodic stats: all in the
/// output file while the sensor still runs.
#[test]
fn records_come_while_the_sensor_runs() {
    if !can_run() {
        return;
    }
    let ns = Netns::new("run");
    let out = ns.dir.join("run.jsonl");
    let child = ns.start(
        &out,
        &[
            "--threads",
            "2",
            "--stats-interval",
            "1",
            "--tcp-timeout",
            "3",
            "--udp-timeout",
            "3",
        ],
    );
    // the first SMTP session up to its AUTH PLAIN and a few lines more, without its FIN
    ns.replay("smtp-swaks-aiosmtpd.pcap", Some(26));
    let recs = wait_for(&out, |r| r.iter().any(|x| x["event_type"] == "finding"));
    let early = findings(&recs);
    assert!(
        early
            .iter()
            .any(|f| f.starts_with("\"cleartext_credentials\"") && f.contains(" 34844 ")),
        "{early:?}"
    );
    assert!(
        common::flows(&recs).iter().all(|f| f["src_port"] != 34844),
        "the flow is still open"
    );
    // nothing more comes: the flow times out on the wall clock, 3 s after its last packet
    let recs = wait_for(&out, |r| common::flows(r).iter().any(|f| f["src_port"] == 34844));
    let f = common::flows(&recs)
        .into_iter()
        .find(|f| f["src_port"] == 34844)
        .expect("the flow was written on the wall clock");
    assert_eq!(f["end_reason"], "timeout");
    assert_eq!(
        f["pkts_toserver"].as_u64().unwrap() + f["pkts_toclient"].as_u64().unwrap(),
        26
    );
    stop(child);
    let recs = records(&out);
    let stats: Vec<&Value> = recs.iter().filter(|r| r["event_type"] == "stats").collect();
    assert!(stats.len() >= 3, "one a second, and the last: {}", stats.len());
    let (last, periodic) = stats.split_last().unwrap();
    assert_eq!(last["final"], true);
    for s in periodic {
        assert_eq!(s["final"], false);
        assert!(s["capture_drops"]["received"].is_u64());
        assert!(s["memory"]["tcp_reassembly_bytes"].is_u64());
        assert!(s["packet_time_ns"]["samples"].is_u64());
    }
    // counters only grow from one record to the next
    let received: Vec<u64> = stats
        .iter()
        .map(|s| s["capture_drops"]["received"].as_u64().unwrap())
        .collect();
    assert!(received.windows(2).all(|w| w[0] <= w[1]), "{received:?}");
    assert!(*received.last().unwrap() >= 26);
    // while the flow was open a periodic record counted it as active
    assert!(periodic.iter().any(|s| s["flows"]["active"] == 1));
}

/// logrotate: rename the file, SIGHUP; records go on in a new file at the path, none lost.
#[test]
fn sighup_reopens_the_output() {
    if !can_run() {
        return;
    }
    let ns = Netns::new("hup");
    let out = ns.dir.join("hup.jsonl");
    let rotated = ns.dir.join("hup.jsonl.1");
    let child = ns.start(&out, &["--tcp-timeout", "1", "--udp-timeout", "1"]);
    ns.replay("loopback-tcp-udp.pcap", None);
    let before = wait_for(&out, |r| common::flows(r).len() >= 4);
    assert!(!common::flows(&before).is_empty());
    std::fs::rename(&out, &rotated).unwrap();
    signal(&child, libc::SIGHUP);
    let t = Instant::now();
    while !out.exists() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(out.exists(), "reopened within a second or so");
    ns.replay("ldap-slapd.pcap", None);
    std::thread::sleep(Duration::from_millis(500));
    stop(child);
    let (old, new) = (records(&rotated), records(&out));
    let (_, want_old, _) = common::read(&fixtures().join("loopback-tcp-udp.pcap"), 1);
    let (_, want_new, _) = common::read(&fixtures().join("ldap-slapd.pcap"), 1);
    let sorted = |v: Vec<String>| {
        let mut v = v;
        v.sort();
        v
    };
    let keys = |r: &[Value]| sorted(common::flows(r).into_iter().map(key).collect());
    assert_eq!(keys(&old), keys(&want_old));
    assert_eq!(keys(&new), keys(&want_new));
    assert_eq!(common::stats(&new)["final"], true);
}

/// `--user nobody`: the sensor runs without root once the interface is open.
#[test]
fn user_drops_root_before_capturing() {
    if !can_run() {
        return;
    }
    let ns = Netns::new("usr");
    let out = ns.dir.join("usr.jsonl");
    let child = ns.start(&out, &["--user", "nobody"]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let line = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
    };
    // SAFETY: getpwnam with a valid C string; the result is read at once.
    let nobody = unsafe { libc::getpwnam(c"nobody".as_ptr()) };
    assert!(!nobody.is_null());
    let (uid, gid) = unsafe { ((*nobody).pw_uid.to_string(), (*nobody).pw_gid.to_string()) };
    assert_eq!(line("Uid:"), [uid.as_str(); 4], "real, effective, saved, fs");
    assert_eq!(line("Gid:"), [gid.as_str(); 4]);
    assert!(line("Groups:").is_empty());
    assert_eq!(line("CapEff:"), ["0000000000000000"]);
    ns.replay("smtp-swaks-aiosmtpd.pcap", None);
    std::thread::sleep(Duration::from_millis(500));
    stop(child);
    let (_, want, _) = common::read(&fixtures().join("smtp-swaks-aiosmtpd.pcap"), 1);
    assert_eq!(common::flows(&records(&out)).len(), common::flows(&want).len());
}

/// An interface that cannot be opened, a bad filter, an unknown user: one line, exit 2.
#[test]
fn open_errors_are_one_line_and_exit_2() {
    let cases: [&[&str]; 3] = [
        &["-i", "exwnosuch0"],
        &["-i", "lo", "--bpf", "tcp port"],
        &["-i", "lo", "--user", "exw-no-such-user"],
    ];
    for args in cases {
        let res = common::exwatch().arg("live").args(args).output().unwrap();
        let err = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("exwatch: "), "{err}");
        assert!(res.stdout.is_empty());
    }
}

/// The systemd unit in the README: its `ExecStart` must be a command line `exwatch` accepts.
#[test]
fn readme_systemd_unit_parses() {
    use clap::Parser;
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let unit = readme
        .split("```ini\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a systemd unit in README.md");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let args: Vec<&str> = exec.split_whitespace().collect();
    assert!(args[0].ends_with("/exwatch"));
    let cli = exwatch::cli::Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{exec}: {e}"));
    let exwatch::cli::Cmd::Live(live) = cli.cmd else {
        panic!("{exec}: not `live`")
    };
    assert_eq!(live.interface, "eth1");
    assert_eq!(live.user.as_deref(), Some("exwatch"));
    assert!(live.output.is_some(), "the unit writes a file (SIGHUP reopens it)");
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
}
