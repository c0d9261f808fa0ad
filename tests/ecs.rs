//! `--format ecs`: every field name written is an ECS field (of the version in
//! `tests/data/ecs-fields.csv`) or under `exwatch.`, every ECS value has the field's type, the
//! categorisation fields take ECS's allowed values, and the values agree with the native records
//! of the same capture. Run over every fixture capture and over hand-written finding, role and
//! stats records (shapes the classify stage emits).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use exwatch::output::ecs::{ECS_VERSION, translate_lines};
use serde_json::Value;

/// The ECS field list: name -> (type, normalised as an array).
struct Schema {
    version: String,
    fields: BTreeMap<String, (String, bool)>,
}

/// RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

fn schema() -> Schema {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ecs-fields.csv");
    let text = std::fs::read_to_string(&path).expect("tests/data/ecs-fields.csv");
    let rows = csv_rows(&text);
    let head = &rows[0];
    let col = |name: &str| head.iter().position(|h| h == name).expect(name);
    let (v, f, t, n) = (col("ECS_Version"), col("Field"), col("Type"), col("Normalization"));
    let mut fields = BTreeMap::new();
    for r in &rows[1..] {
        fields.insert(r[f].clone(), (r[t].clone(), r[n].contains("array")));
    }
    assert!(fields.len() > 1000, "{} fields", fields.len());
    Schema {
        version: rows[1][v].clone(),
        fields,
    }
}

/// ECS's allowed `event.type` values per `event.category` (the ECS categorisation reference).
fn allowed_types(category: &str) -> &'static [&'static str] {
    match category {
        "network" => &[
            "access",
            "allowed",
            "connection",
            "denied",
            "end",
            "info",
            "protocol",
            "start",
        ],
        "intrusion_detection" => &["allowed", "denied", "info"],
        "host" => &["access", "change", "end", "info", "start"],
        _ => &[],
    }
}

/// Every leaf of `v` as (dotted path, value); array elements share their array's path.
fn leaves<'a>(v: &'a Value, path: &str, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(x, &p, out);
            }
        }
        Value::Array(a) => {
            if a.is_empty() {
                out.push((path.to_string(), v));
            }
            for x in a {
                leaves(x, path, out);
            }
        }
        _ => out.push((path.to_string(), v)),
    }
}

/// Whether `v` (one element, not an array) fits ECS type `t`.
fn fits(t: &str, v: &Value) -> bool {
    match t {
        "keyword" | "wildcard" | "match_only_text" | "constant_keyword" | "text" => v.is_string(),
        "long" | "integer" => v.is_i64() || v.is_u64(),
        "float" | "double" | "scaled_float" => v.is_number(),
        "boolean" => v.is_boolean(),
        "ip" => v.as_str().is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok()),
        // RFC 3339 as exwatch writes it
        "date" => v
            .as_str()
            .is_some_and(|s| s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' && s.ends_with('Z')),
        _ => false,
    }
}

/// Every problem with one ECS event, as text.
fn check_event(schema: &Schema, e: &Value, what: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let mut all = Vec::new();
    leaves(e, "", &mut all);
    for (path, v) in &all {
        if path.starts_with("exwatch.") {
            continue;
        }
        match schema.fields.get(path.as_str()) {
            Some((t, _)) if v.is_array() => {
                // an empty array: nothing to type
                let _ = t;
            }
            Some((t, _)) if !fits(t, v) => bad.push(format!("{what}: {path}: {v} is not a {t}")),
            Some(_) => {}
            None => {
                // a sub-key of an object-typed ECS field is fine
                let under_object = path.match_indices('.').any(|(i, _)| {
                    schema
                        .fields
                        .get(&path[..i])
                        .is_some_and(|(t, _)| matches!(t.as_str(), "object" | "flattened" | "nested"))
                });
                if !under_object {
                    bad.push(format!("{what}: {path} is not an ECS field"));
                }
            }
        }
    }
    // array-normalised fields are written as arrays
    for (name, (_, array)) in &schema.fields {
        let mut v = e;
        for p in name.split('.') {
            v = &v[p];
        }
        if *array && !v.is_null() && !v.is_array() {
            bad.push(format!("{what}: {name} must be an array: {v}"));
        }
    }
    if e["ecs"]["version"] != ECS_VERSION {
        bad.push(format!("{what}: ecs.version {}", e["ecs"]["version"]));
    }
    for k in [
        "@timestamp",
        "event.kind",
        "event.dataset",
        "event.module",
        "observer.product",
    ] {
        let mut v = e;
        for p in k.split('.') {
            v = &v[p];
        }
        if !v.is_string() {
            bad.push(format!("{what}: no {k}"));
        }
    }
    let cats: Vec<&str> = e["event"]["category"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let types: Vec<&str> = e["event"]["type"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if cats.is_empty() || types.is_empty() {
        bad.push(format!("{what}: no event.category or event.type"));
    }
    for c in &cats {
        for t in &types {
            if !allowed_types(c).contains(t) {
                bad.push(format!(
                    "{what}: event.type {t} is not expected with event.category {c}"
                ));
            }
        }
    }
    bad
}

/// The JSON kind of every path of `v` (objects included, array elements at their array's path),
/// for the mapping Elasticsearch would infer: one path must keep one kind across events.
fn kinds(v: &Value, path: &str, out: &mut BTreeMap<String, BTreeSet<&'static str>>) {
    let kind = match v {
        Value::Null => return,
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                kinds(x, &p, out);
            }
            "object"
        }
        Value::Array(a) => {
            for x in a {
                kinds(x, path, out);
            }
            return;
        }
    };
    if !path.is_empty() {
        out.entry(path.to_string()).or_default().insert(kind);
    }
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pcap");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    assert!(v.len() >= 20, "{v:?}");
    v
}

/// `exwatch read FILE --format F --threads N --no-summary`: the lines, parsed.
fn read(file: &Path, format: &str, threads: usize) -> Vec<Value> {
    let out = common::exwatch()
        .arg("read")
        .arg(file)
        .args(["--format", format, "--threads", &threads.to_string(), "--no-summary"])
        .output()
        .expect("run exwatch");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}: {:?}",
        file.display(),
        out
    );
    assert!(
        out.stderr.len() < 400,
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: bad line {l}: {e}", file.display())))
        .collect()
}

#[test]
fn the_check_catches_what_it_should() {
    let schema = schema();
    let e = serde_json::json!({
        "@timestamp": "2024-01-01T00:00:00.000000Z",
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": "event", "dataset": "exwatch.flow", "module": "exwatch",
                  "category": ["network"], "type": ["creation"]},
        "observer": {"product": "exwatch"},
        "source": {"ipp": "10.0.0.1", "port": "25"},
        "tls": {"client": {"ja4": "t13d"}},
        "host": {"ip": "10.0.0.1"},
        "labels": {"anything": "goes"},
        "exwatch": {"anything": {"goes": 1}}
    });
    let bad = check_event(&schema, &e, "x");
    for want in [
        "source.ipp is not an ECS field",
        "source.port: \"25\" is not a long",
        "tls.client.ja4 is not an ECS field",
        "host.ip must be an array",
        "event.type creation is not expected with event.category network",
    ] {
        assert!(bad.iter().any(|b| b.contains(want)), "{want}: {bad:?}");
    }
    assert_eq!(bad.len(), 5, "{bad:?}");
    let mut m = BTreeMap::new();
    kinds(&serde_json::json!({"a": {"b": [1, 2]}, "c": null}), "", &mut m);
    kinds(&serde_json::json!({"a": "x", "c": true}), "", &mut m);
    assert_eq!(m["a"], BTreeSet::from(["object", "string"]));
    assert_eq!(m["a.b"], BTreeSet::from(["number"]));
    assert_eq!(m["c"], BTreeSet::from(["boolean"]));
}

#[test]
fn schema_version_is_the_one_written() {
    assert_eq!(schema().version, ECS_VERSION);
}

#[test]
fn every_fixture_in_ecs_uses_ecs_names_and_types() {
    let schema = schema();
    let mut bad = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut mapping = BTreeMap::new();
    let mut hand = Vec::new();
    translate_lines(HAND_WRITTEN.as_bytes(), &mut hand);
    for l in String::from_utf8(hand).unwrap().lines() {
        kinds(&serde_json::from_str(l).unwrap(), "", &mut mapping);
    }
    for cap in fixtures() {
        let name = cap.file_name().unwrap().to_string_lossy().into_owned();
        let native = read(&cap, "native", 1);
        let ecs = read(&cap, "ecs", 1);
        assert_eq!(native.len(), ecs.len(), "{name}: one event per record");
        for (i, (n, e)) in native.iter().zip(&ecs).enumerate() {
            let what = format!("{name} line {}", i + 1);
            bad.extend(check_event(&schema, e, &what));
            let mut all = Vec::new();
            leaves(e, "", &mut all);
            seen.extend(all.into_iter().map(|(p, _)| p).filter(|p| !p.starts_with("exwatch.")));
            bad.extend(compare(n, e, &what));
            kinds(e, "", &mut mapping);
        }
        // the same events whatever the number of workers (stats hold timings: flows only)
        let flows = |v: Vec<Value>| -> Vec<Value> {
            v.into_iter()
                .filter(|e| e["event"]["dataset"] == "exwatch.flow")
                .collect()
        };
        assert_eq!(flows(read(&cap, "ecs", 3)), flows(ecs), "{name}: --threads 3");
    }
    // one index can hold them all: no path is an object in one event and a value in another
    for (path, k) in &mapping {
        if k.len() > 1 {
            bad.push(format!("{path} is {k:?} in different events"));
        }
    }
    assert!(bad.is_empty(), "{} problems:\n{}", bad.len(), bad.join("\n"));
    // the fixtures exercise the mappings
    for f in [
        "tls.client.ja3",
        "tls.server.ja3s",
        "tls.client.server_name",
        "tls.server.x509.subject.common_name",
        "tls.client.x509.subject.common_name",
        "http.request.method",
        "url.path",
        "user.name",
        "related.user",
        "email.from.address",
        "network.vlan.id",
        "network.inner.vlan.id",
        "network.protocol",
    ] {
        assert!(seen.contains(f), "no fixture wrote {f}: {seen:?}");
    }
}

/// What an ECS event must say of its native record.
fn compare(n: &Value, e: &Value, what: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let mut eq = |field: &str, got: &Value, want: &Value| {
        if got != want {
            bad.push(format!("{what}: {field}: {got} != native {want}"));
        }
    };
    eq("@timestamp", &e["@timestamp"], &n["timestamp"]);
    match n["event_type"].as_str() {
        Some("flow") => {
            eq("event.kind", &e["event"]["kind"], &"event".into());
            eq("source.ip", &e["source"]["ip"], &n["src_ip"]);
            eq("source.port", &e["source"]["port"], &n["src_port"]);
            eq("destination.ip", &e["destination"]["ip"], &n["dst_ip"]);
            eq("destination.port", &e["destination"]["port"], &n["dst_port"]);
            eq("source.bytes", &e["source"]["bytes"], &n["bytes_toserver"]);
            eq("destination.bytes", &e["destination"]["bytes"], &n["bytes_toclient"]);
            eq("source.packets", &e["source"]["packets"], &n["pkts_toserver"]);
            eq("destination.packets", &e["destination"]["packets"], &n["pkts_toclient"]);
            let total = n["bytes_toserver"].as_u64().unwrap() + n["bytes_toclient"].as_u64().unwrap();
            eq("network.bytes", &e["network"]["bytes"], &total.into());
            eq("network.transport", &e["network"]["transport"], &n["transport"]);
            eq(
                "network.community_id",
                &e["network"]["community_id"],
                &n["community_id"],
            );
            eq("event.end", &e["event"]["end"], &n["end"]);
            let us = (n["duration_s"].as_f64().unwrap() * 1e6).round() as u64;
            eq("event.duration", &e["event"]["duration"], &(us * 1000).into());
            if !n["app_proto"].is_null() {
                eq("network.protocol", &e["network"]["protocol"], &n["app_proto"]);
            }
            if let Some(v) = n["vlan"].as_array() {
                eq("network.vlan.id", &e["network"]["vlan"]["id"], &v[0].to_string().into());
            }
            let tls = &n["tls"];
            if tls.is_object() {
                let ch = &tls["client_hello"];
                if ch.is_object() {
                    eq("tls.client.ja3", &e["tls"]["client"]["ja3"], &ch["ja3_hash"]);
                    if !ch["sni"].is_null() {
                        eq("tls.client.server_name", &e["tls"]["client"]["server_name"], &ch["sni"]);
                    }
                }
                let sh = &tls["server_hello"];
                if sh.is_object() {
                    eq("tls.server.ja3s", &e["tls"]["server"]["ja3s"], &sh["ja3s_hash"]);
                    eq("tls.cipher", &e["tls"]["cipher"], &sh["cipher_name"]);
                }
                let ver = tls["version"].as_str().and_then(|v| v.strip_prefix("TLSv"));
                if let Some(v) = ver {
                    eq("tls.version", &e["tls"]["version"], &v.into());
                }
                if let Some(leaf) = tls["certificates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| c["sender"] == "server" && c["chain_index"] == 0)
                {
                    let cn = &e["tls"]["server"]["x509"]["subject"]["common_name"];
                    eq(
                        "tls.server.x509.subject.common_name",
                        cn,
                        &Value::Array(vec![leaf["subject_cn"].clone()]),
                    );
                    eq(
                        "tls.server.x509.not_after",
                        &e["tls"]["server"]["x509"]["not_after"],
                        &leaf["not_after"],
                    );
                }
                // the native object is kept whole
                eq("exwatch.tls", &e["exwatch"]["tls"], tls);
            }
            for p in [
                "smtp",
                "ldap",
                "http",
                "imap",
                "pop3",
                "dcerpc",
                "sip",
                "tcp",
                "expected",
                "data_path",
            ] {
                if !n[p].is_null() {
                    eq(&format!("exwatch.{p}"), &e["exwatch"][p], &n[p]);
                }
            }
            eq("exwatch.findings", &e["exwatch"]["findings"], &n["findings"]);
            eq("exwatch.end_reason", &e["exwatch"]["end_reason"], &n["end_reason"]);
        }
        Some("stats") => {
            eq("event.kind", &e["event"]["kind"], &"metric".into());
            eq(
                "exwatch.stats.packets",
                &e["exwatch"]["stats"]["packets"],
                &n["packets"],
            );
            eq("exwatch.stats.flows", &e["exwatch"]["stats"]["flows"], &n["flows"]);
        }
        Some("finding") => {
            eq("event.kind", &e["event"]["kind"], &"alert".into());
            eq("rule.id", &e["rule"]["id"], &n["kind"]);
            eq("message", &e["message"], &n["message"]);
            eq("source.ip", &e["source"]["ip"], &n["src_ip"]);
            eq("destination.port", &e["destination"]["port"], &n["dst_port"]);
            eq(
                "network.community_id",
                &e["network"]["community_id"],
                &n["community_id"],
            );
            eq(
                "exwatch.finding.evidence",
                &e["exwatch"]["finding"]["evidence"],
                &n["evidence"],
            );
        }
        Some("role") => {
            eq("host.ip", &e["host"]["ip"], &serde_json::json!([n["ip"].clone()]));
            eq("exwatch.role.role", &e["exwatch"]["role"]["role"], &n["role"]);
        }
        other => bad.push(format!("{what}: unexpected native record {other:?}")),
    }
    bad
}

#[test]
fn user_names_from_the_parsers() {
    // SMTP AUTH, IMAP LOGIN, POP3 USER, HTTP Basic, LDAP simple bind
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pcap");
    for (cap, user) in [
        ("smtp-swaks-aiosmtpd.pcap", "alice@exwatch.test"),
        ("imap-dovecot.pcap", "alice"),
        ("pop3-dovecot.pcap", "alice"),
        ("http-curl.pcap", "carol"),
        ("ldap-slapd.pcap", "cn=admin,dc=exwatch,dc=test"),
    ] {
        let ecs = read(&fx.join(cap), "ecs", 1);
        assert!(
            ecs.iter().any(|e| e["user"]["name"] == user
                && e["related"]["user"]
                    .as_array()
                    .is_some_and(|a| a.contains(&user.into()))),
            "{cap}: no event with user.name {user}"
        );
    }
}

/// Shapes the classify stage emits (findings as they are detected, roles as they are learned),
/// a flow with an exact data path, and the stats record.
const HAND_WRITTEN: &str = r#"{"event_type":"finding","timestamp":"2024-01-01T00:00:00.000000Z","kind":"cleartext_credentials","severity":"high","message":"SMTP AUTH PLAIN in clear text","community_id":"1:wCb3OG7yAFWelaUydu0D+125CLM=","src_ip":"10.0.0.9","src_port":50000,"dst_ip":"10.0.0.5","dst_port":25,"transport":"tcp","app_proto":"smtp","data_path":"ex2016.mail.internet-edge-smtp","evidence":{"protocol":"smtp","mechanism":"PLAIN","user":"alice"}}
{"event_type":"finding","timestamp":"2024-01-01T00:00:01.000000Z","kind":"unexpected_port","severity":"medium","message":"LDAP on tcp/8389, which no documented path uses","community_id":"1:x=","src_ip":"fd00::9","src_port":50001,"dst_ip":"fd00::5","dst_port":8389,"transport":"tcp","app_proto":"ldap","data_path":null,"evidence":{"protocol":"ldap"}}
{"event_type":"finding","timestamp":"2024-01-01T00:00:02.000000Z","kind":"weak_tls","severity":"low","message":"TLS 1.0","community_id":"1:y=","src_ip":"10.0.0.9","src_port":50002,"dst_ip":"10.0.0.5","dst_port":443,"transport":"tcp","app_proto":"tls","data_path":null,"evidence":{"version":"TLSv1.0"}}
{"event_type":"finding","timestamp":"2024-01-01T00:00:03.000000Z","kind":"self_signed_certificate","severity":"info","message":"self-signed","community_id":"1:z=","src_ip":"10.0.0.9","src_port":50003,"dst_ip":"10.0.0.5","dst_port":443,"transport":"udp","app_proto":null,"data_path":null,"evidence":{}}
{"event_type":"role","timestamp":"2024-01-01T00:00:00.000000Z","ip":"10.0.0.5","role":"edge","source":"inferred","evidence":"serves tcp/50636 (EdgeSync LDAPS)","evidence_kind":"edgesync_ldaps","community_id":"1:wCb3OG7yAFWelaUydu0D+125CLM="}
{"event_type":"role","timestamp":"2024-01-01T00:00:00.000000Z","ip":"fd00::5","role":"hub","source":"inventory","evidence":"inventory.toml","evidence_kind":"inventory","community_id":null}
{"event_type":"flow","timestamp":"2024-01-01T00:00:00.000000Z","end":"2024-01-01T00:00:02.500000Z","duration_s":2.500000,"community_id":"1:wCb3OG7yAFWelaUydu0D+125CLM=","src_ip":"10.0.0.4","src_port":50000,"dst_ip":"10.0.0.5","dst_port":50636,"client_from":"syn","transport":"tcp","vlan":[10,20,30],"pkts_toserver":10,"pkts_toclient":9,"bytes_toserver":1000,"bytes_toclient":900,"end_reason":"fin","missing_bytes":0,"ip_fragments":null,"icmp_errors":0,"tcp":{"state":"closed","flags_toserver":"SAFP","flags_toclient":"SAFP"},"app_proto":"tls","app_proto_orig":null,"encrypted":true,"encryption":"tls","expected":null,"data_path":{"id":"ex2010.transport.hub-edge-edgesync","name":"Hub Transport to Edge Transport: EdgeSync (LDAP over SSL to AD LDS)","exchange_versions":["2010"],"src_role":"hub","dst_role":"edge","src_role_from":"inventory","dst_role_from":"inferred","match":"exact","candidates":[]},"findings":[{"kind":"self_signed_certificate","severity":"info","message":"m"}]}
{"event_type":"flow","timestamp":"2024-01-01T00:00:00.000000Z","end":"2024-01-01T00:00:00.000000Z","duration_s":0.000000,"community_id":"1:q=","src_ip":"10.0.0.4","src_port":5000,"dst_ip":"10.0.0.5","dst_port":5001,"client_from":"port","transport":"udp","vlan":null,"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":60,"bytes_toclient":0,"end_reason":"timeout","missing_bytes":0,"ip_fragments":null,"icmp_errors":0,"tcp":null,"app_proto":null,"app_proto_orig":null,"encrypted":null,"encryption":null,"expected":null,"data_path":null,"no_path":"no documented path uses udp/5001","findings":[]}
{"event_type":"stats","timestamp":null,"capture":{"inputs":["-"],"damaged":null,"first_packet":null,"last_packet":null},"packets":0,"bytes":0,"flows":{"total":0}}
"#;

#[test]
fn hand_written_findings_roles_and_stats() {
    let schema = schema();
    let mut out = Vec::new();
    translate_lines(HAND_WRITTEN.as_bytes(), &mut out);
    let events: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), HAND_WRITTEN.lines().count());
    let bad: Vec<String> = events
        .iter()
        .enumerate()
        .flat_map(|(i, e)| check_event(&schema, e, &format!("line {}", i + 1)))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));

    let kinds: Vec<&str> = events.iter().map(|e| e["event"]["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "alert", "alert", "alert", "alert", "event", "event", "event", "event", "metric"
        ]
    );
    let sev: Vec<u64> = events[..4]
        .iter()
        .map(|e| e["event"]["severity"].as_u64().unwrap())
        .collect();
    assert_eq!(sev, [73, 47, 21, 0]);
    let f = &events[0];
    assert_eq!(f["rule"]["id"], "cleartext_credentials");
    assert_eq!(f["rule"]["name"], "cleartext_credentials");
    assert_eq!(f["user"]["name"], "alice");
    assert_eq!(f["exwatch"]["finding"]["data_path"], "ex2016.mail.internet-edge-smtp");
    assert_eq!(events[1]["network"]["type"], "ipv6");
    let r = &events[4];
    assert_eq!(r["host"]["ip"], serde_json::json!(["10.0.0.5"]));
    assert_eq!(r["exwatch"]["role"]["evidence"], "serves tcp/50636 (EdgeSync LDAPS)");
    let flow = &events[6];
    assert_eq!(flow["rule"]["id"], "ex2010.transport.hub-edge-edgesync");
    assert_eq!(flow["exwatch"]["data_path"]["src_role_from"], "inventory");
    // three tags do not fit network.vlan/network.inner.vlan: kept whole too
    assert_eq!(flow["exwatch"]["vlan"], serde_json::json!([10, 20, 30]));
    assert_eq!(flow["network"]["vlan"]["id"], "10");
    assert_eq!(flow["network"]["inner"]["vlan"]["id"], "20");
    assert_eq!(events[7]["exwatch"]["no_path"], "no documented path uses udp/5001");
    assert_eq!(events[7]["event"]["duration"], 0);
    // a stats record without packets still has a time
    assert!(events[8]["@timestamp"].is_string());
}
