//! Shared helpers: run the binary, read its records, compare conversations with a
//! tshark-made `.truth.json` (format: the shared corpus's MANIFEST.md).
#![allow(dead_code)]

pub mod facts;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub fn exwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_exwatch"))
}

/// Run `exwatch read FILE --threads N --no-summary`; returns (exit code, records, stderr).
pub fn read(file: &Path, threads: usize) -> (i32, Vec<Value>, String) {
    let out = exwatch()
        .arg("read")
        .arg(file)
        .args(["--threads", &threads.to_string(), "--no-summary"])
        .output()
        .expect("run exwatch");
    let recs = String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        recs,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn flows(recs: &[Value]) -> Vec<&Value> {
    recs.iter().filter(|r| r["event_type"] == "flow").collect()
}

pub fn stats(recs: &[Value]) -> &Value {
    recs.iter()
        .rev()
        .find(|r| r["event_type"] == "stats")
        .expect("a stats record")
}

/// UDP ports of the tunnels exwatch removes (VXLAN, Geneve, GTP-U).
pub const TUNNEL_UDP_PORTS: [u64; 3] = [4789, 6081, 2152];

/// An unordered endpoint pair and transport: how conversations are matched.
type ConvKey = (String, String, String);

fn key(transport: &str, a: &str, ap: u64, b: &str, bp: u64) -> ConvKey {
    let x = format!("{a}|{ap}");
    let y = format!("{b}|{bp}");
    let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
    (transport.to_string(), lo, hi)
}

/// Counts per endpoint: (frames, bytes) sent by the endpoint `ip|port`.
fn sent(map: &mut BTreeMap<String, (u64, u64)>, ep: String, frames: u64, bytes: u64) {
    let e = map.entry(ep).or_default();
    e.0 += frames;
    e.1 += bytes;
}

/// Compare every TCP and UDP conversation of `truth` with exwatch's flows. Conversations with the
/// same endpoints are summed (tshark and exwatch may split a reused 5-tuple differently; the
/// totals per direction must agree). Returns a list of differences, empty when all agree.
///
/// tshark counts an IP-fragmented datagram once, in the frame that completed it (MANIFEST
/// quirk 7); exwatch counts every frame. For flows with `ip_fragments`, the frame count is
/// compared after removing the extra fragment frames, and the byte count must be at least
/// tshark's.
///
/// tshark lists a UDP tunnel's frames twice: in the outer conversation (to VXLAN 4789, Geneve
/// 6081, GTP-U 2152) and in the inner one (MANIFEST quirk 8: the innermost transport). exwatch
/// removes the tunnel and counts each frame once, in the inner flow (its `tunnel` field names
/// the outer layer), as Zeek does. So a tshark UDP conversation on a tunnel port that exwatch
/// has no flow for is the outer side of a tunnel and is not compared; the inner ones are.
pub fn compare_conversations(truth: &Value, recs: &[Value]) -> Vec<String> {
    let mut want: BTreeMap<ConvKey, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
    for t in ["tcp", "udp"] {
        for c in truth["conversations"][t].as_array().into_iter().flatten() {
            let (cl, cp, sv, sp) = (
                c["client"].as_str().unwrap(),
                c["client_port"].as_u64().unwrap(),
                c["server"].as_str().unwrap(),
                c["server_port"].as_u64().unwrap(),
            );
            let m = want.entry(key(t, cl, cp, sv, sp)).or_default();
            sent(
                m,
                format!("{cl}|{cp}"),
                c["frames_c2s"].as_u64().unwrap(),
                c["bytes_c2s"].as_u64().unwrap(),
            );
            sent(
                m,
                format!("{sv}|{sp}"),
                c["frames_s2c"].as_u64().unwrap(),
                c["bytes_s2c"].as_u64().unwrap(),
            );
        }
    }
    let mut got: BTreeMap<ConvKey, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
    let mut frag_extra: BTreeMap<ConvKey, u64> = BTreeMap::new();
    for f in flows(recs) {
        let t = f["transport"].as_str().unwrap();
        let (cl, cp, sv, sp) = (
            f["src_ip"].as_str().unwrap(),
            f["src_port"].as_u64().unwrap(),
            f["dst_ip"].as_str().unwrap(),
            f["dst_port"].as_u64().unwrap(),
        );
        let k = key(t, cl, cp, sv, sp);
        let m = got.entry(k.clone()).or_default();
        sent(
            m,
            format!("{cl}|{cp}"),
            f["pkts_toserver"].as_u64().unwrap(),
            f["bytes_toserver"].as_u64().unwrap(),
        );
        sent(
            m,
            format!("{sv}|{sp}"),
            f["pkts_toclient"].as_u64().unwrap(),
            f["bytes_toclient"].as_u64().unwrap(),
        );
        if let Some(fr) = f["ip_fragments"].as_object() {
            *frag_extra.entry(k).or_default() += fr["frames"].as_u64().unwrap() - fr["datagrams"].as_u64().unwrap();
        }
    }
    let tunnel_port = |ep: &str| TUNNEL_UDP_PORTS.iter().any(|p| ep.ends_with(&format!("|{p}")));
    want.retain(|k, _| k.0 != "udp" || got.contains_key(k) || !(tunnel_port(&k.1) || tunnel_port(&k.2)));
    let mut diffs = Vec::new();
    for (k, w) in &want {
        let Some(g) = got.get(k) else {
            diffs.push(format!("missing conversation {k:?} (tshark: {w:?})"));
            continue;
        };
        let extra = frag_extra.get(k).copied().unwrap_or(0);
        for (ep, &(wf, wb)) in w {
            let (gf, gb) = g.get(ep).copied().unwrap_or((0, 0));
            // fragment frames beyond the datagram count are ours alone (see above)
            let ok = if extra > 0 {
                gf >= wf && gf - wf <= extra && gb >= wb
            } else {
                gf == wf && gb == wb
            };
            if !ok {
                diffs.push(format!(
                    "{k:?} sent by {ep}: exwatch {gf} frames {gb} bytes, tshark {wf} frames {wb} bytes"
                ));
            }
        }
        if extra > 0 {
            let gsum: u64 = g.values().map(|v| v.0).sum();
            let wsum: u64 = w.values().map(|v| v.0).sum();
            if gsum != wsum + extra {
                diffs.push(format!(
                    "{k:?}: {gsum} frames with fragments, tshark {wsum} + {extra} extra fragment frames"
                ));
            }
        }
    }
    for k in got.keys() {
        if !want.contains_key(k) {
            diffs.push(format!("exwatch has a conversation tshark does not: {k:?}"));
        }
    }
    diffs
}

/// Every `*.truth.json` in `dir`, with its capture.
pub fn truths(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".truth.json"))
        .map(|p| {
            let cap = PathBuf::from(p.to_string_lossy().trim_end_matches(".truth.json"));
            let t: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (cap, t)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}
