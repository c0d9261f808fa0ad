//! The human summary at the end of `exwatch read`: plain text for the person who ran it, on
//! stderr (or `--summary FILE`), never mixed into the JSON records.
//!
//! Owns [`Summary`], which the writer stage feeds once per finished flow ([`Summary::flow`]) and
//! once per finding ([`Summary::finding`]), and [`Summary::write`], which prints:
//!
//! - a header line: flows, packets, bytes, and the capture's time span when known;
//! - "Data paths seen": id, name, flows and bytes of every labelled data path, most flows first;
//! - "Findings": by severity (high first), then kind, with the count and the top talkers
//!   (client -> server) of each;
//! - "Flows no documented path explains": grouped by (`app_proto`, transport/port), most flows
//!   first, with the classifier's reason, the top [`NO_PATH_GROUPS_SHOWN`].
//!
//! Memory is bounded whatever the traffic: each table is a [`Capped`] map of at most a named
//! number of keys. Totals (flows, bytes, findings, unexplained flows) are exact; while a table has
//! not had to drop a key its rows are exact too, and once it has (a busy table on hostile
//! traffic), the rows it keeps are the heaviest ones with counts that are upper bounds, and the
//! text says so.
//!
//! Strings are the catalog's and the classifier's, but a terminal is no place for control
//! characters whatever their origin: they are shown as `?`, and long values are cut.

use std::collections::HashMap;
use std::hash::Hash;
use std::io::{self, Write};
use std::net::IpAddr;

/// Data-path ids kept (the catalog has a few hundred).
pub const MAX_DATA_PATHS: usize = 1024;
/// (severity, kind) rows kept (the finding kinds are a short, stable list).
pub const MAX_FINDING_KINDS: usize = 64;
/// (client, server) pairs kept per finding kind to rank its talkers.
pub const MAX_TALKERS_PER_KIND: usize = 256;
/// (`app_proto`, transport, port) groups of flows no data path explains.
pub const MAX_NO_PATH_GROUPS: usize = 1024;
/// Distinct `app_proto` names kept for grouping (beyond it they group as `(other)`).
pub const MAX_APP_PROTOS: usize = 64;
/// Talkers shown per finding kind.
pub const TOP_TALKERS_SHOWN: usize = 3;
/// Groups of unexplained flows shown.
pub const NO_PATH_GROUPS_SHOWN: usize = 10;
/// Characters kept of a name, kind or reason.
pub const MAX_TEXT_CHARS: usize = 80;

/// One finished flow, as the summary needs it.
#[derive(Debug, Clone, Copy)]
pub struct SummaryFlow<'a> {
    /// The data path that explains the flow: (id, name).
    pub data_path: Option<(&'a str, &'a str)>,
    /// Why no data path explains it (the classifier's `no_path`).
    pub no_path: Option<&'a str>,
    pub app_proto: Option<&'a str>,
    /// `tcp` or `udp`.
    pub transport: &'static str,
    pub dst_port: u16,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Both directions, on the wire.
    pub bytes: u64,
}

/// A map of at most `cap` keys, each with a weight. When it is full and a new key comes, the
/// lighter half of the keys is dropped at once (so a flood of new keys costs O(1) each, amortised)
/// and `floor` becomes the heaviest weight dropped; a new key starts from `floor`. A key's weight
/// is then an upper bound of its true weight (what it had before being dropped is at most
/// `floor`), and a key that stays among the heavier half keeps growing ("lossy counting", Manku
/// and Motwani, with the space-saving rule of starting from the floor).
#[derive(Debug)]
pub struct Capped<K, V> {
    map: HashMap<K, (u64, V)>,
    cap: usize,
    /// The heaviest weight dropped (0 while every row is exact).
    floor: u64,
}

impl<K: Hash + Eq, V> Capped<K, V> {
    pub fn new(cap: usize) -> Self {
        Capped {
            map: HashMap::new(),
            cap: cap.max(2),
            floor: 0,
        }
    }

    /// Add `w` to `key`'s weight (making its value with `make` when it is new); its value.
    pub fn add<Q>(&mut self, key: &Q, w: u64, make: impl FnOnce() -> (K, V)) -> &mut V
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        // two lookups when present keeps the borrow checker content without unsafe
        if self.map.contains_key(key) {
            let e = self.map.get_mut(key).expect("just checked");
            e.0 = e.0.saturating_add(w);
            return &mut e.1;
        }
        if self.map.len() >= self.cap {
            let mut weights: Vec<u64> = self.map.values().map(|(n, _)| *n).collect();
            let mid = weights.len() / 2;
            let cut = *weights.select_nth_unstable(mid).1;
            self.map.retain(|_, (n, _)| *n > cut);
            self.floor = self.floor.max(cut).max(1);
        }
        let (k, v) = make();
        let start = self.floor.saturating_add(w);
        &mut self.map.entry(k).or_insert((start, v)).1
    }

    /// Whether some key had to make room (the weights are then upper bounds).
    pub fn approximate(&self) -> bool {
        self.floor > 0
    }

    /// Every row, heaviest first; ties in key order (`order`) so the text is stable.
    fn ranked(&self, order: impl Fn(&K, &K) -> std::cmp::Ordering) -> Vec<(&K, u64, &V)> {
        let mut v: Vec<(&K, u64, &V)> = self.map.iter().map(|(k, (n, v))| (k, *n, v)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| order(a.0, b.0)));
        v
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A labelled data path's row.
#[derive(Debug)]
struct PathRow {
    name: String,
    bytes: u64,
}

/// A finding kind's row: its talkers.
#[derive(Debug)]
struct FindingRow {
    talkers: Capped<(IpAddr, IpAddr), ()>,
}

/// A group of unexplained flows: the first reason the classifier gave for it.
#[derive(Debug)]
struct NoPathRow {
    reason: Option<String>,
}

/// (index into `Summary::protos`, or `None` for no parser; transport is tcp; server port).
type GroupKey = (Option<u16>, bool, u16);

/// What a run saw, for people. See the module documentation.
#[derive(Debug)]
pub struct Summary {
    on: bool,
    flows: u64,
    bytes: u64,
    packets: Option<u64>,
    span_ns: Option<(u64, u64)>,
    data_paths: Capped<String, PathRow>,
    /// Key: (severity rank, kind).
    findings: Capped<(u8, String), FindingRow>,
    findings_total: u64,
    unexplained: u64,
    no_path: Capped<GroupKey, NoPathRow>,
    /// `app_proto` names, interned so grouping a flow allocates nothing.
    protos: Vec<String>,
}

impl Default for Summary {
    fn default() -> Self {
        Summary::new()
    }
}

/// Severity words in the order the summary lists them; anything else comes last.
const SEVERITIES: [&str; 4] = ["high", "medium", "low", "info"];

fn severity_rank(s: &str) -> u8 {
    SEVERITIES.iter().position(|x| *x == s).unwrap_or(SEVERITIES.len()) as u8
}

/// `s` fit for a terminal: control characters as `?`, at most [`MAX_TEXT_CHARS`] characters.
fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(MAX_TEXT_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().nth(MAX_TEXT_CHARS).is_some() {
        out.pop();
        out.push('…');
    }
    out
}

impl Summary {
    pub fn new() -> Self {
        Summary {
            on: true,
            flows: 0,
            bytes: 0,
            packets: None,
            span_ns: None,
            data_paths: Capped::new(MAX_DATA_PATHS),
            findings: Capped::new(MAX_FINDING_KINDS),
            findings_total: 0,
            unexplained: 0,
            no_path: Capped::new(MAX_NO_PATH_GROUPS),
            protos: Vec::new(),
        }
    }

    /// A summary that ignores what it is fed (`--no-summary`, live capture): feeding it costs
    /// one branch.
    pub fn off() -> Self {
        Summary {
            on: false,
            ..Summary::new()
        }
    }

    pub fn is_on(&self) -> bool {
        self.on
    }

    /// The capture's packets and the times of its first and last packet (from the stats).
    pub fn capture(&mut self, packets: u64, first_ns: Option<u64>, last_ns: Option<u64>) {
        self.packets = Some(packets);
        self.span_ns = first_ns.zip(last_ns);
    }

    /// One finished flow.
    pub fn flow(&mut self, f: &SummaryFlow<'_>) {
        if !self.on {
            return;
        }
        self.flows += 1;
        self.bytes = self.bytes.saturating_add(f.bytes);
        match f.data_path {
            Some((id, name)) => {
                let row = self.data_paths.add(id, 1, || {
                    (
                        id.to_string(),
                        PathRow {
                            name: clean(name),
                            bytes: 0,
                        },
                    )
                });
                row.bytes = row.bytes.saturating_add(f.bytes);
            }
            None => {
                self.unexplained += 1;
                let proto = f.app_proto.map(|p| self.intern(p));
                let key: GroupKey = (proto, f.transport == "tcp", f.dst_port);
                let row = self.no_path.add(&key, 1, || {
                    (
                        key,
                        NoPathRow {
                            reason: f.no_path.map(clean),
                        },
                    )
                });
                if row.reason.is_none() {
                    row.reason = f.no_path.map(clean);
                }
            }
        }
    }

    /// One finding on the flow from `src` (client) to `dst` (server).
    pub fn finding(&mut self, kind: &str, severity: &str, src: IpAddr, dst: IpAddr) {
        if !self.on {
            return;
        }
        self.findings_total += 1;
        let key = (severity_rank(severity), kind.to_string());
        let row = self.findings.add(&key, 1, || {
            (
                key.clone(),
                FindingRow {
                    talkers: Capped::new(MAX_TALKERS_PER_KIND),
                },
            )
        });
        row.talkers.add(&(src, dst), 1, || ((src, dst), ()));
    }

    /// The index of `app_proto` name `p` (`u16::MAX` once [`MAX_APP_PROTOS`] are known).
    fn intern(&mut self, p: &str) -> u16 {
        if let Some(i) = self.protos.iter().position(|x| x == p) {
            return i as u16;
        }
        if self.protos.len() >= MAX_APP_PROTOS {
            return u16::MAX;
        }
        self.protos.push(clean(p));
        (self.protos.len() - 1) as u16
    }

    fn proto_name(&self, i: Option<u16>) -> &str {
        match i {
            None => "(none)",
            Some(i) => self.protos.get(i as usize).map_or("(other)", String::as_str),
        }
    }

    /// The text (see the module documentation). Writes nothing when the summary is off.
    pub fn write(&self, w: &mut dyn Write) -> io::Result<()> {
        if !self.on {
            return Ok(());
        }
        let mut head = format!("exwatch summary: {} flows", self.flows);
        if let Some(p) = self.packets {
            head += &format!(", {p} packets");
        }
        head += &format!(", {} bytes", self.bytes);
        if let Some((a, b)) = self.span_ns {
            let secs = b.saturating_sub(a) as f64 / 1e9;
            head += &format!(
                ", {} to {} ({secs:.3} s)",
                super::json::rfc3339(a),
                super::json::rfc3339(b)
            );
        }
        writeln!(w, "{head}")?;

        writeln!(w)?;
        writeln!(w, "Data paths seen")?;
        if self.data_paths.is_empty() {
            writeln!(w, "  (none)")?;
        } else {
            let rows: Vec<Vec<String>> = self
                .data_paths
                .ranked(|a, b| a.cmp(b))
                .into_iter()
                .map(|(id, n, r)| vec![clean(id), r.name.clone(), n.to_string(), r.bytes.to_string()])
                .collect();
            table(w, &["id", "name", "flows", "bytes"], &[false, false, true, true], &rows)?;
            if self.data_paths.approximate() {
                writeln!(w, "  (more than {MAX_DATA_PATHS} data paths: counts are upper bounds)")?;
            }
        }

        writeln!(w)?;
        writeln!(w, "Findings")?;
        if self.findings.is_empty() {
            writeln!(w, "  (none)")?;
        } else {
            let mut rows = self.findings.ranked(|a, b| a.cmp(b));
            // severity first, then kind; the count only within the same (severity, kind)
            rows.sort_by(|a, b| a.0.cmp(b.0));
            let rows: Vec<Vec<String>> = rows
                .into_iter()
                .map(|((sev, kind), n, r)| {
                    let talkers: Vec<String> = r
                        .talkers
                        .ranked(|a, b| a.cmp(b))
                        .into_iter()
                        .take(TOP_TALKERS_SHOWN)
                        .map(|((s, d), n, _)| format!("{s} -> {d} ({n})"))
                        .collect();
                    let mut t = talkers.join(", ");
                    if r.talkers.approximate() {
                        t += " (approx.)";
                    }
                    vec![
                        SEVERITIES.get(*sev as usize).copied().unwrap_or("other").to_string(),
                        clean(kind),
                        n.to_string(),
                        t,
                    ]
                })
                .collect();
            table(
                w,
                &["severity", "kind", "count", "top talkers"],
                &[false, false, true, false],
                &rows,
            )?;
            if self.findings.approximate() {
                writeln!(w, "  (more than {MAX_FINDING_KINDS} kinds: counts are upper bounds)")?;
            }
            writeln!(w, "  {} findings", self.findings_total)?;
        }

        writeln!(w)?;
        writeln!(w, "Flows no documented path explains")?;
        if self.no_path.is_empty() {
            writeln!(w, "  (none)")?;
        } else {
            let ranked = self
                .no_path
                .ranked(|a, b| (self.proto_name(a.0), !a.1, a.2).cmp(&(self.proto_name(b.0), !b.1, b.2)));
            let shown = ranked.len().min(NO_PATH_GROUPS_SHOWN);
            let rows: Vec<Vec<String>> = ranked[..shown]
                .iter()
                .map(|((p, tcp, port), n, r)| {
                    vec![
                        self.proto_name(*p).to_string(),
                        format!("{}/{port}", if *tcp { "tcp" } else { "udp" }),
                        n.to_string(),
                        r.reason.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            table(
                w,
                &["app_proto", "port", "flows", "reason"],
                &[false, false, true, false],
                &rows,
            )?;
            let rest: u64 = ranked[shown..].iter().map(|r| r.1).sum();
            if ranked.len() > shown {
                writeln!(w, "  ... {} more groups, {rest} flows", ranked.len() - shown)?;
            }
            let approx = if self.no_path.approximate() {
                " (group counts are upper bounds)"
            } else {
                ""
            };
            writeln!(w, "  {} of {} flows{approx}", self.unexplained, self.flows)?;
        }
        Ok(())
    }
}

/// Rows under a header, two spaces in, columns two apart; `right` aligns numbers to the right.
/// The last column is not padded.
fn table(w: &mut dyn Write, head: &[&str], right: &[bool], rows: &[Vec<String>]) -> io::Result<()> {
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(x) = width.get_mut(i) {
                *x = (*x).max(c.chars().count());
            }
        }
    }
    let line = |w: &mut dyn Write, cells: &[&str]| -> io::Result<()> {
        let mut s = String::from(" ");
        let last = cells.len().saturating_sub(1);
        for (i, c) in cells.iter().enumerate() {
            let pad = width[i].saturating_sub(c.chars().count());
            s.push(' ');
            if right[i] {
                s.extend(std::iter::repeat_n(' ', pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                if i != last {
                    s.extend(std::iter::repeat_n(' ', pad));
                }
            }
            if i != last {
                s.push(' ');
            }
        }
        writeln!(w, "{}", s.trim_end())
    };
    line(w, head)?;
    for r in rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        line(w, &cells)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn flow<'a>(dp: Option<(&'a str, &'a str)>, no: Option<&'a str>, p: Option<&'a str>, port: u16) -> SummaryFlow<'a> {
        SummaryFlow {
            data_path: dp,
            no_path: no,
            app_proto: p,
            transport: "tcp",
            dst_port: port,
            src: ip("10.0.0.9"),
            dst: ip("10.0.0.5"),
            bytes: 100,
        }
    }

    fn text(s: &Summary) -> String {
        let mut v = Vec::new();
        s.write(&mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn tables_sorted_and_aligned() {
        let mut s = Summary::new();
        let edge = Some(("ex2016.mail.internet-edge-smtp", "Internet to Edge: SMTP"));
        let hub = Some(("ex2010.transport.hub-hub-smtp", "Hub to Hub: SMTP"));
        for _ in 0..3 {
            s.flow(&flow(edge, None, Some("smtp"), 25));
        }
        s.flow(&flow(hub, None, Some("smtp"), 25));
        for _ in 0..2 {
            s.flow(&flow(None, Some("no catalog entry for tcp/8443"), Some("tls"), 8443));
        }
        s.flow(&flow(None, None, None, 31337));
        s.finding("weak_tls", "medium", ip("10.0.0.1"), ip("10.0.0.2"));
        s.finding("cleartext_credentials", "high", ip("10.0.0.9"), ip("10.0.0.5"));
        s.finding("cleartext_credentials", "high", ip("10.0.0.9"), ip("10.0.0.5"));
        s.finding("cleartext_credentials", "high", ip("10.0.0.8"), ip("10.0.0.5"));
        s.finding("starttls_not_used", "low", ip("10.0.0.8"), ip("10.0.0.5"));
        s.capture(42, Some(1_704_067_200_000_000_000), Some(1_704_067_201_500_000_000));
        let want = "\
exwatch summary: 7 flows, 42 packets, 700 bytes, 2024-01-01T00:00:00.000000Z to 2024-01-01T00:00:01.500000Z (1.500 s)

Data paths seen
  id                              name                    flows  bytes
  ex2016.mail.internet-edge-smtp  Internet to Edge: SMTP      3    300
  ex2010.transport.hub-hub-smtp   Hub to Hub: SMTP            1    100

Findings
  severity  kind                   count  top talkers
  high      cleartext_credentials      3  10.0.0.9 -> 10.0.0.5 (2), 10.0.0.8 -> 10.0.0.5 (1)
  medium    weak_tls                   1  10.0.0.1 -> 10.0.0.2 (1)
  low       starttls_not_used          1  10.0.0.8 -> 10.0.0.5 (1)
  5 findings

Flows no documented path explains
  app_proto  port       flows  reason
  tls        tcp/8443       2  no catalog entry for tcp/8443
  (none)     tcp/31337      1  -
  3 of 7 flows
";
        assert_eq!(text(&s), want);
    }

    #[test]
    fn empty_run_and_off() {
        let s = Summary::new();
        let t = text(&s);
        assert!(t.starts_with("exwatch summary: 0 flows, 0 bytes\n"), "{t}");
        assert_eq!(t.matches("(none)").count(), 3, "{t}");
        let mut off = Summary::off();
        off.flow(&flow(None, None, None, 1));
        off.finding("weak_tls", "medium", ip("10.0.0.1"), ip("10.0.0.2"));
        assert_eq!(text(&off), "");
    }

    #[test]
    fn top_ten_groups_and_the_rest() {
        let mut s = Summary::new();
        for port in 1..=15u16 {
            for _ in 0..port {
                s.flow(&flow(None, None, Some("http"), port));
            }
        }
        let t = text(&s);
        let rows: Vec<&str> = t.lines().filter(|l| l.contains("http ")).collect();
        assert_eq!(rows.len(), NO_PATH_GROUPS_SHOWN, "{t}");
        assert!(rows[0].contains("tcp/15") && rows[0].contains(" 15 "), "{t}");
        // groups 1..=5 are left: 15 flows
        assert!(t.contains("... 5 more groups, 15 flows"), "{t}");
        assert!(t.contains("120 of 120 flows"), "{t}");
    }

    #[test]
    fn memory_is_capped_and_heavy_hitters_stay() {
        let mut s = Summary::new();
        // one heavy pair among many one-off pairs
        for i in 0..(MAX_TALKERS_PER_KIND as u32 * 4) {
            let src = IpAddr::from(0x0a00_0000u32.wrapping_add(i).to_be_bytes());
            s.finding("unexpected_port", "low", src, ip("10.0.0.5"));
            if i % 4 == 0 {
                s.finding("unexpected_port", "low", ip("192.0.2.1"), ip("10.0.0.5"));
            }
        }
        for port in 0..(MAX_NO_PATH_GROUPS as u32 * 3) {
            s.flow(&flow(None, None, None, port as u16));
        }
        let row = s.findings.map.values().next().unwrap();
        assert!(row.1.talkers.len() <= MAX_TALKERS_PER_KIND);
        assert!(s.no_path.len() <= MAX_NO_PATH_GROUPS);
        let t = text(&s);
        let line = t.lines().find(|l| l.contains("unexpected_port")).unwrap();
        // exact total, the heavy pair first, marked approximate
        assert!(line.contains(&format!(" {} ", MAX_TALKERS_PER_KIND * 5)), "{line}");
        assert!(line.contains("192.0.2.1 -> 10.0.0.5"), "{line}");
        assert!(line.ends_with("(approx.)"), "{line}");
        assert!(t.contains(&format!(
            "{0} of {0} flows (group counts are upper bounds)",
            MAX_NO_PATH_GROUPS * 3
        )));
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let mut s = Summary::new();
        let long = "x".repeat(200);
        s.flow(&flow(Some(("id\x1b[31m", &long)), None, None, 25));
        s.flow(&flow(None, Some("bad\x1b]0;title\x07"), Some("ht\ntp"), 80));
        s.finding("k\x1bind", "nope", ip("::1"), ip("::2"));
        let t = text(&s);
        assert!(!t.chars().any(|c| c.is_control() && c != '\n'), "{t:?}");
        assert!(t.contains(&format!("{}…", "x".repeat(MAX_TEXT_CHARS - 1))), "{t}");
        assert!(t.contains("other     k?ind"), "{t}");
    }
}
