//! The findings' scenarios: captures made from real peers with Exchange-like hosts on their own
//! addresses (fixtures/make-scenario-fixtures.sh), read with the site inventory that gives them
//! roles (fixtures/scenario-inventory.toml). Each flow raises exactly the kinds it deserves, and
//! nothing where the documentation calls it normal. The same runs are kept as golden output
//! (`fixtures/expected/scenarios/`, re-bless with `EXWATCH_BLESS=1`).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `exwatch read CAPTURE --inventory scenario-inventory.toml` and its records.
fn read(name: &str, extra: &[&str]) -> Vec<Value> {
    let out = common::exwatch()
        .arg("read")
        .arg(fixtures().join("pcap").join(name))
        .arg("--inventory")
        .arg(fixtures().join("scenario-inventory.toml"))
        .arg("--no-summary")
        .args(extra)
        .output()
        .expect("run exwatch");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// One flow's expected outcome: who talks to which port, the data path (or none), the kinds.
struct Want {
    src: &'static str,
    dst: &'static str,
    port: u64,
    /// Where the URL path is the only difference between flows (the web scenarios).
    target: Option<&'static str>,
    path: Option<(&'static str, &'static str)>,
    kinds: &'static [&'static str],
}

const fn want(
    src: &'static str,
    dst: &'static str,
    port: u64,
    path: Option<(&'static str, &'static str)>,
    kinds: &'static [&'static str],
) -> Want {
    Want {
        src,
        dst,
        port,
        target: None,
        path,
        kinds,
    }
}

fn check(name: &str, wants: &[Want]) {
    let recs = read(name, &[]);
    let flows: Vec<&Value> = recs.iter().filter(|r| r["event_type"] == "flow").collect();
    assert_eq!(flows.len(), wants.len(), "{name}: flows {flows:#?}");
    let mut unmatched: Vec<&Value> = flows.clone();
    for w in wants {
        let i = unmatched
            .iter()
            .position(|f| {
                f["src_ip"] == w.src
                    && f["dst_ip"] == w.dst
                    && f["dst_port"] == w.port
                    && w.target.is_none_or(|t| {
                        f["http"]["requests"][0]["target"]
                            .as_str()
                            .is_some_and(|x| x.starts_with(t))
                    })
            })
            .unwrap_or_else(|| panic!("{name}: no flow {} -> {}:{} {:?}", w.src, w.dst, w.port, w.target));
        let f = unmatched.remove(i);
        let what = format!("{name}: {} -> {}:{} {:?}", w.src, w.dst, w.port, w.target);
        match w.path {
            Some((id, how)) => {
                assert_eq!(f["data_path"]["id"], id, "{what}: {}", f["data_path"]);
                assert_eq!(f["data_path"]["match"], how, "{what}");
            }
            None => {
                assert!(f["data_path"].is_null(), "{what}: {}", f["data_path"]);
                assert!(f["no_path"].as_str().is_some_and(|s| !s.is_empty()), "{what}");
            }
        }
        let listed: BTreeSet<&str> = f["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kind"].as_str().unwrap())
            .collect();
        let want: BTreeSet<&str> = w.kinds.iter().copied().collect();
        assert_eq!(listed, want, "{what}");
        // each listed kind was also written as a finding record of this flow, once
        for k in &want {
            let n = recs
                .iter()
                .filter(|r| r["event_type"] == "finding" && r["kind"] == *k && r["community_id"] == f["community_id"])
                .count();
            assert_eq!(n, 1, "{what}: finding records of {k}");
        }
    }
}

#[test]
fn smtp_between_transport_servers_and_clients() {
    check(
        "scenario-smtp.pcap",
        &[
            // STARTTLS with Setup's self-signed certificate between hub servers: documented
            want(
                "10.1.0.5",
                "10.1.0.6",
                25,
                Some(("ex2010.transport.hub-hub-smtp", "exact")),
                &[],
            ),
            want(
                "10.1.0.5",
                "10.1.0.6",
                25,
                Some(("ex2010.transport.hub-hub-smtp", "exact")),
                &["starttls_not_used", "unencrypted_on_encrypted_path"],
            ),
            want(
                "10.2.0.50",
                "10.1.0.7",
                587,
                Some(("ex2013.fet.client-cas-submission", "exact")),
                &["cleartext_credentials", "unencrypted_on_encrypted_path"],
            ),
            want("10.2.0.50", "10.1.0.7", 2526, None, &["unexpected_port"]),
        ],
    );
}

#[test]
fn exchange_web_services() {
    let web = |target, path, kinds| Want {
        target: Some(target),
        ..want("10.2.0.50", "10.1.0.7", 80, path, kinds)
    };
    check(
        "scenario-web.pcap",
        &[
            want(
                "10.2.0.50",
                "10.1.0.7",
                443,
                None,
                &["protocol_mismatch", "unencrypted_on_encrypted_path"],
            ),
            web(
                "/EWS/",
                Some(("ex2010.cas.client-cas-http", "exact")),
                &["cleartext_credentials", "unencrypted_on_encrypted_path"],
            ),
            // calendar publishing and the Autodiscover fallback are documented on port 80
            web("/owa/calendar/", Some(("ex2010.cas.client-cas-http", "exact")), &[]),
            web("/autodiscover/", Some(("ex2010.cas.client-cas-http", "exact")), &[]),
        ],
    );
}

#[test]
fn rpc_from_the_internet_and_without_an_endpoint_mapper() {
    check(
        "scenario-rpc-internet.pcap",
        &[want("198.51.100.7", "10.1.0.8", 135, None, &["undocumented_path"])],
    );
    // the first connection was picked up mid-stream (its first request PDU, at integrity
    // level, shows who the client is: port 36800 to 49701); the second is sealed
    check(
        "scenario-rpc-unmapped.pcap",
        &[
            want(
                "127.0.0.1",
                "127.0.0.1",
                49701,
                None,
                &["rpc_without_privacy", "dynamic_rpc_unmapped"],
            ),
            want("127.0.0.1", "127.0.0.1", 49701, None, &["dynamic_rpc_unmapped"]),
        ],
    );
}

#[test]
fn sip_to_unified_messaging() {
    check(
        "scenario-sip-um.pcap",
        &[
            // the unsecured dial plan's port: documented clear text
            want(
                "10.1.0.7",
                "10.1.0.10",
                5060,
                Some(("ex2010.firewall.umservice-sip", "exact")),
                &[],
            ),
            // clear SIP on the port of SIP over mutual TLS
            want(
                "10.1.0.7",
                "10.1.0.10",
                5061,
                None,
                &["protocol_mismatch", "sip_unsecured"],
            ),
        ],
    );
}

#[test]
fn redact_users_hides_user_names() {
    let recs = read("scenario-smtp.pcap", &["--redact-users"]);
    let creds: Vec<&Value> = recs
        .iter()
        .filter(|r| r["event_type"] == "finding" && r["kind"] == "cleartext_credentials")
        .collect();
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0]["evidence"]["user"], "<redacted>");
    let plain = read("scenario-smtp.pcap", &[]);
    let user = plain
        .iter()
        .find(|r| r["event_type"] == "finding" && r["kind"] == "cleartext_credentials")
        .map(|r| r["evidence"]["user"].clone());
    assert_eq!(user, Some("alice".into()));
    // the password never reaches any output
    for r in plain.iter().chain(&recs) {
        assert!(!r.to_string().contains("S3cret"), "{r}");
    }
}

#[test]
fn golden_scenarios() {
    let bless = std::env::var_os("EXWATCH_BLESS").is_some();
    for name in [
        "scenario-smtp.pcap",
        "scenario-web.pcap",
        "scenario-rpc-internet.pcap",
        "scenario-rpc-unmapped.pcap",
        "scenario-sip-um.pcap",
    ] {
        let golden = fixtures().join("expected/scenarios").join(format!("{name}.jsonl"));
        let got: Vec<Value> = read(name, &[])
            .into_iter()
            .map(|mut r| {
                if r["event_type"] == "stats" {
                    r.as_object_mut().unwrap().remove("packet_time_ns");
                    r["capture"]["inputs"] = Value::Null;
                }
                r
            })
            .collect();
        if bless {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, got.iter().map(|v| format!("{v}\n")).collect::<String>()).unwrap();
            continue;
        }
        let want: Vec<Value> = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e} (run with EXWATCH_BLESS=1)", golden.display()))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

/// The kinds the protocol captures show (read without an inventory): on which server port each
/// is raised, and where it must not be.
#[test]
fn protocol_fixtures_raise_their_kinds() {
    let kinds_on = |name: &str| -> BTreeSet<(String, u64)> {
        let (_, recs, _) = common::read(&fixtures().join("pcap").join(name), 1);
        recs.iter()
            .filter(|r| r["event_type"] == "finding")
            .map(|r| (r["kind"].as_str().unwrap().to_string(), r["dst_port"].as_u64().unwrap()))
            .collect()
    };
    let has = |set: &BTreeSet<(String, u64)>, k: &str, port: u64| set.contains(&(k.to_string(), port));
    let tls = kinds_on("tls-openssl.pcap");
    assert!(has(&tls, "weak_tls", 44310) && has(&tls, "weak_tls", 44311), "{tls:?}");
    assert!(has(&tls, "self_signed_certificate", 44310), "{tls:?}");
    assert!(has(&tls, "expired_certificate", 44314), "{tls:?}");
    // TLS 1.2/1.3 with a CA-issued, valid certificate: nothing
    assert!(
        !tls.iter().any(|(_, p)| *p == 44312 || *p == 44313 || *p == 44315),
        "{tls:?}"
    );
    let smtp = kinds_on("smtp-swaks-aiosmtpd.pcap");
    assert!(has(&smtp, "starttls_failed", 2526), "{smtp:?}");
    let ldap = kinds_on("ldap-slapd.pcap");
    assert!(has(&ldap, "ldap_unsigned_bind", 389) && has(&ldap, "cleartext_credentials", 389));
    let rtp = kinds_on("sip-sipp-rtp.pcap");
    assert!(rtp.iter().any(|(k, _)| k == "rtp_unencrypted"), "{rtp:?}");
    let srtp = kinds_on("sip-sipp-srtp.pcap");
    assert!(!srtp.iter().any(|(k, _)| k == "rtp_unencrypted"), "{srtp:?}");
    let rpc = kinds_on("dcerpc-impacket.pcap");
    assert!(rpc.iter().any(|(k, _)| k == "rpc_without_privacy"), "{rpc:?}");
    // endpoint-mapper lookups are not RPC without privacy
    assert!(!has(&rpc, "rpc_without_privacy", 135), "{rpc:?}");
}

/// The sealed LDAP session (DIGEST-MD5 with a security layer) raises nothing; the simple binds do.
#[test]
fn a_sealed_ldap_session_is_not_an_unsigned_bind() {
    let (_, recs, _) = common::read(&fixtures().join("pcap/ldap-slapd.pcap"), 1);
    let sealed: Vec<&Value> = recs
        .iter()
        .filter(|r| r["event_type"] == "flow" && r["encryption"] == "ldap-sasl-seal")
        .collect();
    assert_eq!(sealed.len(), 1);
    assert_eq!(sealed[0]["findings"], serde_json::json!([]));
}
