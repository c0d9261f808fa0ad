//! The data-path catalog: the embedded one holds every documented path of
//! `exchange-data-paths.md`, and `exwatch signatures` reports errors with file and line.

use std::path::PathBuf;
use std::process::Command;

use exwatch::classify::catalog::{Catalog, Entry, PortSpec};

/// The rows of exchange-data-paths.md, by the seed section their entries cite: a table row is
/// its first cell (with the second when two rows of a table share it), a prose paragraph or a
/// note that names ports is a row of its own.
const ROWS: &[(&str, usize, &[&str])] = &[
    (
        "전송 서버의 데이터 경로",
        11,
        &[
            "hub ↔ hub",
            "hub → edge",
            "edge → hub",
            "edge ↔ edge (two organizations)",
            "mailbox → hub (Mail Submission service)",
            "hub → mailbox (MAPI)",
            "um → hub",
            "hub → edge (EdgeSync)",
            "hub → dc (AD access)",
            "hub → adrms (IRM agent)",
            "client → hub (SMTP clients, e.g. Windows Live Mail)",
        ],
    ),
    (
        "전송 서버에 대한 메모",
        2,
        &[
            "note: AD LDS on the Edge, 50389/tcp",
            "note: protocol analysis agent, open proxy detection",
        ],
    ),
    (
        "사서함 서버의 데이터 경로",
        11,
        &[
            "mailbox → dc (AD access)",
            "admin → mailbox (remote registry)",
            "admin → mailbox (SMB, files)",
            "cas → mailbox (availability web service)",
            "mailbox ↔ mailbox (clustering)",
            "cas ↔ cas (Exchange ActiveSync proxy)",
            "cas ↔ cas (Outlook Web Access proxy)",
            "cas ↔ cas (Exchange Web Services)",
            "cas ↔ cas (POP3)",
            "cas ↔ cas (IMAP4)",
            "ocs → cas (OCS and OWA integration)",
        ],
    ),
    (
        "클라이언트 액세스 서버에 대한 참고 사항",
        5,
        &[
            "client access: Autodiscover, Availability, OWA, Outlook Anywhere, EAS",
            "client access: POP3",
            "client access: IMAP4",
            "client access: cas → mailbox",
            "client access: cas → um",
        ],
    ),
    (
        "통합 메시징 서버의 데이터 경로",
        7,
        &[
            "um → dc (AD access)",
            "ip-gw ↔ um (phone interaction, SIP)",
            "client → um (UM web service)",
            "um → cas (play on phone) | 5075, 5076, 5077/tcp",
            "um → cas (play on phone) | dynamic RPC",
            "um → hub",
            "um → mailbox",
        ],
    ),
    (
        "규칙 윈도우 방화벽",
        20,
        &[
            "MSExchangeADTopology - RPC",
            "MSExchangeMonitoring - RPC",
            "MSExchangeServiceHost - RPC / - RPCEPMap",
            "MSExchangeRPCEPMap (GFW), MSExchangeRPC (GFW)",
            "MSExchange - IMAP4 (GFW), MSExchangeIMAP4",
            "MSExchange - POP3 (GFW), MSExchange - POP3",
            "MSExchange - OWA (GFW), MSExchangeOWAAppPool",
            "MSExchangeAB RPC / -RPCEPMap / -RpcHttp",
            "RpcHttpLBS",
            "MSExchangeRPC - RPC / - RPCEPMap / MSExchangeRPC",
            "MSExchangeMailboxReplication (GFW) / (TCP-In)",
            "MSExchangeIS - RPC / RPCEPMap / (GFW) / (TCP-In)",
            "MSExchangeMailboxAssistants, MailSubmission, Migration, Search, Throttling, MSFTED - RPC / RPCEPMap",
            "MSExchangeRepl - Log Copier / - RPC / - RPC-EPMap",
            "MSExchangeEdgeSync - RPC / RPCEPMap",
            "MSExchangeTransportWorker - RPC / RPCEPMap / (GFW) / (TCP-In)",
            "MSExchangeTransportLogSearch - RPC / RPCEPMap",
            "SESWorker (GFW) / (TCP-In)",
            "UMService (GFW) / (TCP-In)",
            "UMWorkerProcess (GFW) / (TCP-In) / - RPC",
        ],
    ),
    ("Outlook.com을위한 POP, IMAP 및 SMTP 옵션", 3, &["IMAP", "POP", "SMTP"]),
    (
        "적용 :Exchange Server 2016",
        15,
        &[
            "note: internal traffic unrestricted",
            "client → mailbox (Autodiscover, EAS, EWS, OAB, Outlook Anywhere = RPC over HTTP, MAPI over HTTP, Outlook on the web)",
            "client → mailbox (Internet calendar publishing, OWA redirect to 443, Autodiscover fallback)",
            "client → mailbox IMAP4",
            "client → mailbox POP3",
            "client → mailbox authenticated SMTP",
            "mailbox → internet outbound mail",
            "mailbox (front end) → internet outbound proxy",
            "mailbox → dns, edge → dns",
            "internet → edge inbound mail",
            "edge → mailbox inbound mail",
            "mailbox → edge outbound mail",
            "edge → internet outbound mail",
            "mailbox → edge EdgeSync",
            "edge → internet open-proxy detection",
        ],
    ),
    (
        "송신 및 수신 커넥터",
        9,
        &[
            "Default Frontend <server>",
            "Outbound Proxy Frontend <server>",
            "Client Frontend <server>",
            "Client Proxy Send Connector",
            "Inbound Proxy Internal Send Connector",
            "manually made send connector",
            "Mailbox delivery receive connector (Mailbox Transport Delivery service)",
            "Default <server> (Transport service on a mailbox server)",
            "Client Proxy <server> (Transport service)",
        ],
    ),
    (
        "내 Exchange 2000/2003 서버가 사용하는 TCP 및 UDP 포트는 무엇입니까?",
        26,
        &[
            "389/tcp",
            "636/tcp",
            "379/tcp",
            "390/tcp",
            "3268/tcp",
            "3269/tcp",
            "143/tcp",
            "993/tcp",
            "110/tcp",
            "995/tcp",
            "119/tcp",
            "563/tcp",
            "80/tcp | HTTP",
            "443/tcp",
            "25/tcp",
            "465/tcp",
            "691/tcp",
            "80/tcp | RVP",
            "6667/tcp (also 7000)",
            "994/tcp",
            "102/tcp",
            "135/tcp",
            "1503/tcp",
            "522/tcp",
            "1720/tcp",
            "1731/tcp",
        ],
    ),
];

fn entries_for<'c>(c: &'c Catalog, seed: &str, row: &str) -> Vec<&'c Entry> {
    c.entries
        .iter()
        .filter(|e| e.source.seed == seed && e.source.row.as_deref() == Some(row))
        .collect()
}

#[test]
fn the_embedded_catalog_holds_every_documented_row() {
    let c = Catalog::embedded();
    let mut missing = Vec::new();
    for (seed, count, rows) in ROWS {
        assert_eq!(rows.len(), *count, "{seed}: rows listed");
        for row in *rows {
            if entries_for(&c, seed, row).is_empty() {
                missing.push(format!("{seed}: {row}"));
            }
        }
    }
    assert!(missing.is_empty(), "rows with no entry:\n{}", missing.join("\n"));
    // and every entry cites one of these rows: nothing is invented
    for e in &c.entries {
        let row = e.source.row.as_deref().unwrap_or_default();
        assert!(
            ROWS.iter()
                .any(|(s, _, rows)| *s == e.source.seed && rows.contains(&row)),
            "{} ({}:{}) cites no known row: {:?}",
            e.id,
            e.file,
            e.line,
            e.source
        );
    }
    assert!(c.len() >= ROWS.iter().map(|r| r.1).sum::<usize>());
}

/// The numbers and symbols of a ports cell: each number (ranges give both ends), and whether
/// it names dynamic RPC or any port.
fn cell_ports(cell: &str) -> (Vec<u32>, bool, bool) {
    let mut nums = Vec::new();
    let mut cur = String::new();
    for ch in cell.chars().chain(std::iter::once(' ')) {
        if ch.is_ascii_digit() {
            cur.push(ch);
        } else if !cur.is_empty() {
            nums.push(cur.parse().unwrap());
            cur.clear();
        }
    }
    let lower = cell.to_lowercase();
    (
        nums,
        lower.contains("dynamic rpc"),
        lower.trim_start().starts_with("any"),
    )
}

fn covers(e: &Entry, n: u32) -> bool {
    e.ports.iter().any(|p| match *p {
        PortSpec::One(x) => x as u32 == n,
        PortSpec::Range(a, b) => (a as u32..=b as u32).contains(&n),
        _ => false,
    })
}

/// Against the markdown itself, when it is around (`EXWATCH_DATA_PATHS`, or
/// `../shared/exchange-data-paths.md` beside the project): every table row has an entry, and
/// every port its ports cell names is in one of that row's entries.
#[test]
fn every_row_and_port_of_the_markdown_is_in_the_catalog() {
    let path = std::env::var_os("EXWATCH_DATA_PATHS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/exchange-data-paths.md"));
    let Ok(md) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} not found (set EXWATCH_DATA_PATHS)", path.display());
        return;
    };
    let c = Catalog::embedded();
    // which column holds the ports, by table header
    let port_col = |header: &str| match header {
        "data path" => 1,
        "rule" | "connector" => 2,
        "port" => 0,
        h => panic!("unknown table: {h}"),
    };
    let mut section = 0usize; // index into the ROWS of tables
    // the markdown's tables, in its order (the other ROWS are prose and notes)
    let tables: Vec<&(&str, usize, &[&str])> = [
        "전송 서버의 데이터 경로",
        "사서함 서버의 데이터 경로",
        "통합 메시징 서버의 데이터 경로",
        "규칙 윈도우 방화벽",
        "적용 :Exchange Server 2016",
        "송신 및 수신 커넥터",
        "내 Exchange 2000/2003 서버가 사용하는 TCP 및 UDP 포트는 무엇입니까?",
    ]
    .iter()
    .map(|s| ROWS.iter().find(|r| r.0 == *s).unwrap())
    .collect();
    let mut header: Option<String> = None;
    let mut seen_rows: Vec<Vec<String>> = Vec::new();
    let mut checked = 0;
    let mut problems = Vec::new();
    for line in md.lines() {
        if !line.starts_with('|') {
            if header.take().is_some() {
                section += 1;
            }
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.replace("**[ref]**", "").trim().to_string())
            .collect();
        if cells[0].starts_with("---") {
            continue;
        }
        let Some(h) = &header else {
            header = Some(cells[0].clone());
            seen_rows.push(Vec::new());
            continue;
        };
        let rows = seen_rows.last_mut().unwrap();
        rows.push(cells[0].clone());
        let (seed, _, keys) = tables[section];
        let key = if keys.contains(&cells[0].as_str()) {
            cells[0].clone()
        } else {
            format!("{} | {}", cells[0], cells[1])
        };
        let es = entries_for(&c, seed, &key);
        if es.is_empty() {
            problems.push(format!("{seed}: no entry for row \"{key}\""));
            continue;
        }
        let (nums, dynamic, any) = cell_ports(&cells[port_col(h)]);
        for n in nums {
            if !es.iter().any(|e| covers(e, n)) {
                problems.push(format!("{seed}: row \"{key}\": port {n} in no entry"));
            }
        }
        if dynamic && !es.iter().any(|e| e.ports.contains(&PortSpec::DynamicRpc)) {
            problems.push(format!("{seed}: row \"{key}\": dynamic RPC in no entry"));
        }
        if any && !es.iter().any(|e| e.ports.contains(&PortSpec::Any)) {
            problems.push(format!("{seed}: row \"{key}\": \"any\" in no entry"));
        }
        checked += 1;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let counts: Vec<usize> = seen_rows.iter().map(|r| r.len()).collect();
    let want: Vec<usize> = tables
        .iter()
        .map(|t| t.1 - t.2.iter().filter(|x| x.starts_with("note:")).count())
        .collect();
    assert_eq!(counts, want, "rows per table in the markdown");
    assert_eq!(checked, want.iter().sum::<usize>());
}

fn exwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_exwatch"))
}

#[test]
fn signatures_check_names_file_and_line() {
    let dir = std::env::temp_dir().join(format!("exwatch-sig-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("site.toml"),
        "# a site path\n[[path]]\nid = \"site.relay\"\nname = \"Relay\"\nexchange_versions = [\"2016\"]\n\
         src_role = \"mailbox\"\ndst_role = \"relay\"\ntransport = \"tcp\"\nports = [\"2600-2500\"]\n\
         protocol = \"smtp\"\nauth_default = [\"anonymous\"]\nencryption = { level = \"none\" }\n\
         source = { seed = \"site\" }\n",
    )
    .unwrap();
    let out = exwatch().args(["signatures", "check"]).arg(&dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let file = dir.join("site.toml").display().to_string();
    assert!(
        stdout.contains(&format!("{file}:7: dst_role: unknown word \"relay\"")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("{file}:9: ports: \"2600-2500\"")), "{stdout}");

    // the same directory given to `read` is one line on stderr and exit 2
    let out = exwatch()
        .args(["read", "/dev/null", "--signatures-extra"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("2 errors, the first:"), "{stderr}");

    // a good site file adds to the embedded catalog; `list` shows it
    std::fs::write(
        dir.join("site.toml"),
        std::fs::read_to_string(dir.join("site.toml"))
            .unwrap()
            .replace("\"relay\"", "\"internet\"")
            .replace("2600-2500", "2500-2600"),
    )
    .unwrap();
    let out = exwatch().args(["signatures", "check"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1 data paths in 1 files: ok\n");
    let out = exwatch().args(["signatures", "list"]).arg(&dir).output().unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.lines().nth(1).unwrap().starts_with("site.relay"), "{list}");
    assert!(list.contains("mailbox -> internet"), "{list}");
    assert!(list.contains("tcp/2500-2600"), "{list}");

    // --extra checks it with the embedded catalog: an embedded id is a duplicate
    std::fs::write(
        dir.join("site.toml"),
        std::fs::read_to_string(dir.join("site.toml"))
            .unwrap()
            .replace("site.relay", "ex2016.edge-dns"),
    )
    .unwrap();
    let out = exwatch().args(["signatures", "check"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "alone it is fine");
    let out = exwatch()
        .args(["signatures", "check", "--extra"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{file}:3: duplicate id \"ex2016.edge-dns\" (first defined at signatures/exchange-2016.toml:"
        )),
        "{stdout}"
    );

    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_embedded_catalog_checks_clean() {
    let out = exwatch().args(["signatures", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.ends_with("files: ok\n"), "{s}");
}
