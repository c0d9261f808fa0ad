//! Protocol facts of a tshark-made `.truth.json` (shared corpus MANIFEST.md) against exwatch's
//! flow records: every fact tshark extracted must appear in exwatch's output. Each comparer
//! returns a list of differences, empty when all agree.

use std::collections::BTreeMap;

use serde_json::Value;

/// Every comparer of a protocol the flow layer feeds (`compare_http`, `compare_imap` and
/// `compare_pop3` join when it feeds those parsers).
pub fn compare_all(truth: &Value, recs: &[Value]) -> Vec<String> {
    let mut d = compare_smtp(truth, recs);
    d.extend(compare_tls(truth, recs));
    d.extend(compare_ldap(truth, recs));
    d.extend(compare_http(truth, recs));
    d.extend(compare_imap(truth, recs));
    d.extend(compare_pop3(truth, recs));
    d.extend(compare_dcerpc(truth, recs));
    d.extend(compare_epm_expectations(truth, recs));
    d.extend(compare_sip(truth, recs));
    d.extend(compare_rtp_expectations(truth, recs));
    d
}

/// `sip.rtp_streams[]` (the RTP tshark decoded because it saw the SDP that set it up): the
/// flow between those endpoints is `rtp`, with `expected` from that SDP.
pub fn compare_rtp_expectations(truth: &Value, recs: &[Value]) -> Vec<String> {
    let mut diffs = Vec::new();
    for r in truth["sip"]["rtp_streams"].as_array().into_iter().flatten() {
        let id = format!("rtp {}:{} -> {}:{}", r["src"], r["sport"], r["dst"], r["dport"]);
        let ends = |f: &Value, a: &str, ap: &str, b: &str, bp: &str| {
            f["src_ip"] == r[a] && f["src_port"] == r[ap] && f["dst_ip"] == r[b] && f["dst_port"] == r[bp]
        };
        let flow = recs.iter().find(|f| {
            f["event_type"] == "flow"
                && f["transport"] == "udp"
                && (ends(f, "src", "sport", "dst", "dport") || ends(f, "dst", "dport", "src", "sport"))
        });
        match flow {
            None => diffs.push(format!("{id}: no flow")),
            Some(f) => {
                check(&mut diffs, &id, "app_proto", &Value::from("rtp"), &f["app_proto"]);
                check(
                    &mut diffs,
                    &id,
                    "expected.by",
                    &Value::from("sdp"),
                    &f["expected"]["by"],
                );
            }
        }
    }
    diffs
}

/// `dcerpc.epm_dynamic_endpoints[]` that a later bind went to: the flows to that address and
/// port carry `expected` from the endpoint mapper, naming the interface (when two answers named
/// the same endpoint, the later one is what later flows see, so only `by` is checked).
pub fn compare_epm_expectations(truth: &Value, recs: &[Value]) -> Vec<String> {
    let mut diffs = Vec::new();
    let eps: Vec<&Value> = truth["dcerpc"]["epm_dynamic_endpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["later_bind_to_this_endpoint"] == true)
        .collect();
    for e in &eps {
        let id = format!("epm endpoint {}:{}", e["ip"], e["tcp_port"]);
        let to_it: Vec<&Value> = recs
            .iter()
            .filter(|r| r["event_type"] == "flow" && r["dst_ip"] == e["ip"] && r["dst_port"] == e["tcp_port"])
            .collect();
        let shared = eps
            .iter()
            .filter(|o| o["ip"] == e["ip"] && o["tcp_port"] == e["tcp_port"])
            .count()
            > 1;
        let ok = to_it
            .iter()
            .any(|r| r["expected"]["by"] == "epm" && (shared || r["expected"]["interface"] == e["interface"]));
        if !ok {
            let got: Vec<&Value> = to_it.iter().map(|r| &r["expected"]).collect();
            diffs.push(format!(
                "{id}: no flow labelled by the endpoint mapper ({} flows: {got:?})",
                to_it.len()
            ));
        }
    }
    diffs
}

/// The flow record of tshark's TCP stream `stream` (matched by the conversation's endpoints).
pub fn flow_of_stream<'a>(truth: &Value, recs: &'a [Value], stream: &Value) -> Option<&'a Value> {
    let conv = truth["conversations"]["tcp"]
        .as_array()?
        .iter()
        .find(|c| &c["stream"] == stream)?;
    recs.iter()
        .filter(|r| r["event_type"] == "flow" && r["transport"] == "tcp")
        .find(|r| is_conversation(r, conv))
}

/// A flow record and a tshark conversation have the same endpoints, in either orientation
/// (tshark's client guess for a flow without a handshake can differ from exwatch's).
fn is_conversation(r: &Value, conv: &Value) -> bool {
    let ends = |a: &str, b: &str| {
        r["src_ip"] == conv[a]
            && r["dst_ip"] == conv[b]
            && r["src_port"] == conv[format!("{a}_port").as_str()]
            && r["dst_port"] == conv[format!("{b}_port").as_str()]
    };
    ends("client", "server") || ends("server", "client")
}

fn check(diffs: &mut Vec<String>, id: &str, what: &str, want: &Value, got: &Value) {
    if want != got {
        diffs.push(format!("{id}: {what}: tshark {want}, exwatch {got}"));
    }
}

/// After STARTTLS (or LDAP StartTLS) and a handshake, the flow is TLS upgraded from `orig`.
fn check_upgraded(diffs: &mut Vec<String>, id: &str, f: &Value, orig: &str) {
    check(
        diffs,
        id,
        "app_proto after the upgrade",
        &Value::from("tls"),
        &f["app_proto"],
    );
    check(diffs, id, "app_proto_orig", &Value::from(orig), &f["app_proto_orig"]);
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// `smtp.sessions[]`: banner, HELO/EHLO name, EHLO capabilities, STARTTLS offered / issued /
/// reply, AUTH mechanisms offered and used, clear-text credentials, envelope and reply counts.
pub fn compare_smtp(truth: &Value, recs: &[Value]) -> Vec<String> {
    let mut diffs = Vec::new();
    for s in truth["smtp"]["sessions"].as_array().into_iter().flatten() {
        let id = format!("smtp stream {}", s["tcp_stream"]);
        let Some(f) = flow_of_stream(truth, recs, &s["tcp_stream"]) else {
            diffs.push(format!("{id}: no flow"));
            continue;
        };
        let m = &f["smtp"];
        if !m.is_object() {
            diffs.push(format!("{id}: no smtp object (app_proto {})", f["app_proto"]));
            continue;
        }
        check(&mut diffs, &id, "banner", &s["banner"], &m["banner"]);
        if let Some(h) = s["helo"].as_array().and_then(|h| h.first()) {
            check(&mut diffs, &id, "helo command", &h["command"], &m["helo"]["command"]);
            check(&mut diffs, &id, "helo name", &h["name"], &m["helo"]["name"]);
        }
        let ours = strs(&m["extensions"]);
        for c in strs(&s["ehlo_capabilities"]) {
            if !ours.contains(&c) {
                diffs.push(format!("{id}: EHLO capability {c:?} missing from {ours:?}"));
            }
        }
        let offered = s["starttls_offered"].as_bool() == Some(true);
        check(
            &mut diffs,
            &id,
            "starttls_offered",
            &s["starttls_offered"],
            &Value::Bool(m["starttls_offered"] == true && offered),
        );
        if s["starttls_issued"] == true {
            check(
                &mut diffs,
                &id,
                "starttls command",
                &Value::from("STARTTLS"),
                &m["starttls"]["command"],
            );
            check(
                &mut diffs,
                &id,
                "starttls reply",
                &s["starttls_response_code"],
                &m["starttls"]["reply_code"],
            );
            check(
                &mut diffs,
                &id,
                "starttls accepted",
                &s["starttls_accepted"],
                &m["starttls"]["accepted"],
            );
            if s["tls_handshake_seen_on_stream"] == true {
                check_upgraded(&mut diffs, &id, f, "smtp");
            }
        }
        let ours = strs(&m["auth_offered"]);
        for a in strs(&s["auth_mechanisms_offered"]) {
            if !ours.contains(&a) {
                diffs.push(format!("{id}: AUTH mechanism {a:?} missing from {ours:?}"));
            }
        }
        let want: Vec<(Value, Value)> = s["auth_commands"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| (a["mechanism"].clone(), a["initial_response_inline"].clone()))
            .collect();
        let got: Vec<(Value, Value)> = m["auth"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| (a["mechanism"].clone(), a["initial_response_inline"].clone()))
            .collect();
        if want != got {
            diffs.push(format!("{id}: AUTH commands: tshark {want:?}, exwatch {got:?}"));
        }
        check(
            &mut diffs,
            &id,
            "auth_in_cleartext",
            &s["auth_in_cleartext"],
            &m["cleartext_credentials"],
        );
        // tshark 4.0 counts only the first of several pipelined MAIL/RCPT/DATA groups when the
        // first DATA was refused (smtp-corrupt-after-18-packets: two MAIL FROM lines, tshark 1):
        // exwatch must count at least what tshark saw
        for k in ["mail_from_count", "rcpt_to_count", "data_count", "bdat_count"] {
            if m[k].as_u64() < s[k].as_u64() {
                diffs.push(format!("{id}: {k}: tshark {}, exwatch {}", s[k], m[k]));
            }
        }
        // tshark counts a reply per TCP segment of a multi-line reply (aiosmtpd sends each EHLO
        // line alone); exwatch counts whole replies (RFC 5321 §4.2.1): 1..=tshark's count
        for (code, n) in s["response_codes"].as_object().into_iter().flatten() {
            let got = m["reply_codes"][code.as_str()].as_u64().unwrap_or(0);
            if got == 0 || Some(got) > n.as_u64() {
                diffs.push(format!("{id}: replies {code}: tshark {n}, exwatch {got}"));
            }
        }
    }
    diffs
}

/// tshark's name for a TLS version number (`TLS1.2`, `SSLv3`, `GREASE`).
fn tls_version_name(v: &Value) -> Value {
    let Some(v) = v.as_u64() else {
        return Value::Null;
    };
    let name = match v {
        _ if v & 0x0f0f == 0x0a0a => "GREASE",
        0x0002 => "SSLv2",
        0x0300 => "SSLv3",
        0x0301 => "TLS1.0",
        0x0302 => "TLS1.1",
        0x0303 => "TLS1.2",
        0x0304 => "TLS1.3",
        _ => return Value::from(format!("0x{v:04x}")),
    };
    Value::from(name)
}

/// exwatch's `TLSv1.2` / `SSLv3` as tshark's `TLS1.2` / `SSLv3`.
fn tls_version_str(v: &Value) -> Value {
    match v.as_str() {
        Some(s) => Value::from(s.replace("TLSv", "TLS")),
        None => Value::Null,
    }
}

fn map_array(v: &Value, f: impl Fn(&Value) -> Value) -> Value {
    Value::Array(v.as_array().into_iter().flatten().map(f).collect())
}

/// The flow record of a tshark TCP stream, and a difference when it has no `key` object.
fn proto_flow<'a>(
    diffs: &mut Vec<String>,
    truth: &Value,
    recs: &'a [Value],
    id: &str,
    stream: &Value,
    key: &str,
) -> Option<&'a Value> {
    let Some(f) = flow_of_stream(truth, recs, stream) else {
        diffs.push(format!("{id}: no flow"));
        return None;
    };
    if !f[key].is_object() {
        diffs.push(format!("{id}: no {key} object (app_proto {})", f["app_proto"]));
        return None;
    }
    Some(f)
}

/// The first hello of each TCP stream: exwatch keeps one ClientHello and one
/// ServerHello per flow (the first; a second comes after a HelloRetryRequest), tshark lists all.
fn first_per_stream(hellos: &Value) -> Vec<&Value> {
    let mut out: Vec<&Value> = Vec::new();
    for h in hellos.as_array().into_iter().flatten() {
        let stream = &h["stream"];
        if h["transport"] == "tcp" && !out.iter().any(|o| &o["stream"] == stream) {
            out.push(h);
        }
    }
    out
}

/// `tls.client_hellos[]`, `server_hellos[]` and `certificates[]` (MANIFEST.md): versions,
/// SNI, ALPN, cipher suites, groups, key shares, extension types, the selected version and
/// cipher, and every certificate's names, validity, self-issued and expired flags; the
/// STARTTLS origin as `app_proto_orig`.
pub fn compare_tls(truth: &Value, recs: &[Value]) -> Vec<String> {
    let mut diffs = Vec::new();
    let t = &truth["tls"];
    for c in first_per_stream(&t["client_hellos"]) {
        let id = format!("tls stream {} ClientHello", c["stream"]);
        let Some(f) = proto_flow(&mut diffs, truth, recs, &id, &c["stream"], "tls") else {
            continue;
        };
        let h = &f["tls"]["client_hello"];
        check(
            &mut diffs,
            &id,
            "record_version",
            &c["record_version"],
            &tls_version_str(&h["record_version"]),
        );
        check(
            &mut diffs,
            &id,
            "client_version",
            &c["client_version"],
            &tls_version_str(&h["client_version"]),
        );
        check(
            &mut diffs,
            &id,
            "supported_versions",
            &c["supported_versions"],
            &map_array(&h["supported_versions"], tls_version_name),
        );
        check(&mut diffs, &id, "sni", &c["sni"], &h["sni"]);
        check(&mut diffs, &id, "alpn", &c["alpn"], &h["alpn"]);
        let hex = |v: &Value| Value::from(format!("0x{:04x}", v.as_u64().unwrap_or(u64::MAX)));
        check(
            &mut diffs,
            &id,
            "cipher_suites",
            &c["cipher_suites"],
            &map_array(&h["ciphers"], hex),
        );
        check(
            &mut diffs,
            &id,
            "supported_groups",
            &c["supported_groups"],
            &h["supported_groups"],
        );
        check(
            &mut diffs,
            &id,
            "key_share_groups",
            &c["key_share_groups"],
            &h["key_share_groups"],
        );
        check(
            &mut diffs,
            &id,
            "extension_types",
            &c["extension_types"],
            &h["extensions"],
        );
        let orig = match c["starttls_from"].as_str() {
            // tshark names the POP3 dissector "pop"
            Some("pop") => Value::from("pop3"),
            Some(o) => Value::from(o),
            None => Value::Null,
        };
        if !orig.is_null() || f["app_proto"] == "tls" {
            check(&mut diffs, &id, "app_proto", &Value::from("tls"), &f["app_proto"]);
            check(
                &mut diffs,
                &id,
                "app_proto_orig (starttls_from)",
                &orig,
                &f["app_proto_orig"],
            );
        }
    }
    for s in first_per_stream(&t["server_hellos"]) {
        let id = format!("tls stream {} ServerHello", s["stream"]);
        let Some(f) = proto_flow(&mut diffs, truth, recs, &id, &s["stream"], "tls") else {
            continue;
        };
        let h = &f["tls"]["server_hello"];
        check(
            &mut diffs,
            &id,
            "server_version",
            &s["server_version"],
            &tls_version_str(&h["legacy_version"]),
        );
        check(
            &mut diffs,
            &id,
            "selected_version",
            &s["selected_version"],
            &tls_version_str(&h["selected_version"]),
        );
        check(
            &mut diffs,
            &id,
            "version",
            &s["selected_version"],
            &tls_version_str(&f["tls"]["version"]),
        );
        let cipher = h["cipher"].as_u64().map(|c| Value::from(format!("0x{c:04x}")));
        check(
            &mut diffs,
            &id,
            "cipher_suite",
            &s["cipher_suite"],
            &cipher.unwrap_or_default(),
        );
        check(&mut diffs, &id, "alpn", &s["alpn"], &h["alpn"]);
        check(
            &mut diffs,
            &id,
            "key_share_group",
            &s["key_share_group"],
            &h["key_share_group"],
        );
    }
    for (i, c) in t["certificates"].as_array().into_iter().flatten().enumerate() {
        let id = format!("tls stream {} certificate {i}", c["tcp_stream"]);
        let Some(f) = proto_flow(&mut diffs, truth, recs, &id, &c["tcp_stream"], "tls") else {
            continue;
        };
        let server = format!("{}:{}", f["dst_ip"].as_str().unwrap_or(""), f["dst_port"]);
        let server6 = format!("[{}]:{}", f["dst_ip"].as_str().unwrap_or(""), f["dst_port"]);
        let sent_by = c["sent_by"].as_str().unwrap_or("");
        let sender = if sent_by == server || sent_by == server6 {
            "server"
        } else {
            "client"
        };
        let ours = f["tls"]["certificates"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["sender"] == sender && o["chain_index"] == c["chain_index"]);
        let Some(o) = ours else {
            diffs.push(format!(
                "{id}: no {sender} certificate at chain index {}",
                c["chain_index"]
            ));
            continue;
        };
        for k in ["subject", "issuer", "subject_cn", "issuer_cn", "self_issued"] {
            check(&mut diffs, &id, k, &c[k], &o[k]);
        }
        check(&mut diffs, &id, "expired", &c["expired_at_capture_time"], &o["expired"]);
        // tshark "2023-01-04 16:14:07 (UTC)", exwatch "2023-01-04T16:14:07.000000Z"
        for k in ["not_before", "not_after"] {
            let ours = o[k]
                .as_str()
                .map(|v| format!("{} (UTC)", v.replace('T', " ").trim_end_matches(".000000Z")));
            check(&mut diffs, &id, k, &c[k], &ours.map(Value::from).unwrap_or_default());
        }
    }
    diffs
}

/// Add `n` to the count of `key` in a small multiset.
fn bump(m: &mut Vec<(String, u64)>, key: String, n: u64) {
    match m.iter_mut().find(|(k, _)| *k == key) {
        Some((_, c)) => *c += n,
        None => m.push((key, n)),
    }
}

/// `ldap` (MANIFEST.md; capture-wide): operation counts, every bind (name, auth choice, SASL
/// mechanism, password present and its length), bind result codes, extended requests and
/// StartTLS followed by TLS, search bases and scopes, SASL-wrapped traffic, and clear-text
/// simple binds.
pub fn compare_ldap(truth: &Value, recs: &[Value]) -> Vec<String> {
    let l = &truth["ldap"];
    if !l.is_object() {
        return Vec::new();
    }
    let mut diffs = Vec::new();
    let ours: Vec<&Value> = recs
        .iter()
        .filter(|r| r["event_type"] == "flow" && r["ldap"].is_object())
        .collect();
    let mut ops: Vec<(String, u64)> = Vec::new();
    let mut bases: Vec<(String, u64)> = Vec::new();
    let mut wrapped = 0;
    let mut cleartext = false;
    for f in &ours {
        let m = &f["ldap"];
        for (k, n) in m["operations"].as_object().into_iter().flatten() {
            bump(&mut ops, k.clone(), n.as_u64().unwrap_or(0));
        }
        for s in m["searches"].as_array().into_iter().flatten() {
            let base = match s["base"].as_str() {
                Some("") => "<ROOT>",
                Some(b) => b,
                None => "?",
            };
            bump(&mut bases, format!("{base} {}", s["scope"].as_str().unwrap_or("?")), 1);
        }
        wrapped += m["sasl_wrapped_pdus"].as_u64().unwrap_or(0);
        cleartext |= m["simple_bind_in_cleartext"] == true;
    }
    let mut want_ops: Vec<(String, u64)> = Vec::new();
    for (k, n) in l["operation_counts"].as_object().into_iter().flatten() {
        bump(&mut want_ops, k.clone(), n.as_u64().unwrap_or(0));
    }
    ops.sort();
    want_ops.sort();
    // A flow that went idle past the timeout and then carried on is two records here and one
    // stream in tshark; a segment retransmitted into the second record is parsed again there
    // (ldap-mixed-linktypes: a delResponse re-sent a month later). Then exwatch may count more.
    let mut tuples: Vec<String> = ours
        .iter()
        .map(|f| format!("{} {} {} {}", f["src_ip"], f["src_port"], f["dst_ip"], f["dst_port"]))
        .collect();
    tuples.sort();
    let split = tuples.windows(2).any(|w| w[0] == w[1]);
    let covers = want_ops.iter().all(|(k, n)| ops.iter().any(|(o, m)| o == k && m >= n))
        && ops.iter().all(|(o, _)| want_ops.iter().any(|(k, _)| k == o));
    if ops != want_ops && !(split && covers) {
        diffs.push(format!("ldap operations: tshark {want_ops:?}, exwatch {ops:?}"));
    }
    let mut want_bases: Vec<(String, u64)> = Vec::new();
    for b in l["search_base_dns"].as_array().into_iter().flatten() {
        let key = format!(
            "{} {}",
            b["base"].as_str().unwrap_or("?"),
            b["scope"].as_str().unwrap_or("?")
        );
        bump(&mut want_bases, key, b["count"].as_u64().unwrap_or(0));
    }
    bases.sort();
    want_bases.sort();
    if bases != want_bases {
        diffs.push(format!("ldap search bases: tshark {want_bases:?}, exwatch {bases:?}"));
    }
    check(
        &mut diffs,
        "ldap",
        "simple_bind_in_cleartext",
        &l["simple_bind_in_cleartext"],
        &Value::Bool(cleartext),
    );
    let want_wrapped = l["sasl_wrapped_frames"].as_u64().unwrap_or(0) > 0;
    if want_wrapped != (wrapped > 0) {
        diffs.push(format!(
            "ldap SASL-wrapped: tshark {} frames, exwatch {wrapped} PDUs",
            l["sasl_wrapped_frames"]
        ));
    }
    for b in l["binds"].as_array().into_iter().flatten() {
        let id = format!("ldap bind frame {}", b["frame"]);
        let flows: Vec<&Value> = if b["transport"] == "tcp" {
            flow_of_stream(truth, recs, &b["stream"]).into_iter().collect()
        } else {
            ours.clone()
        };
        let found = flows
            .iter()
            .flat_map(|f| f["ldap"]["binds"].as_array().into_iter().flatten())
            .any(|o| {
                o["name"] == b["name"]
                    && o["version"] == b["version"]
                    && o["auth"] == b["auth"]
                    && o["sasl_mechanism"] == b["sasl_mechanism"]
                    && (b["auth"] != "simple"
                        || (o["password_present"] == b["simple_password_present"]
                            && o["password_len"] == b["simple_password_length"]))
            });
        if !found {
            diffs.push(format!("{id}: {b} not among exwatch's binds"));
        }
    }
    // Bind results exwatch paired with a request must be among tshark's bindResponse codes.
    let mut want_codes: Vec<(String, u64)> = Vec::new();
    for r in l["bind_responses"].as_array().into_iter().flatten() {
        bump(&mut want_codes, r["resultCode"].to_string(), 1);
    }
    for f in &ours {
        for o in f["ldap"]["binds"].as_array().into_iter().flatten() {
            if o["result_code"].is_null() {
                continue;
            }
            let code = o["result_code"].to_string();
            match want_codes.iter_mut().find(|(k, _)| *k == code) {
                Some((_, n)) if *n > 0 => *n -= 1,
                _ => diffs.push(format!("ldap bind result {} not among tshark's", o["result_code"])),
            }
        }
    }
    for e in l["extended_requests"].as_array().into_iter().flatten() {
        let id = format!("ldap extended frame {}", e["frame"]);
        let Some(f) = proto_flow(&mut diffs, truth, recs, &id, &e["stream"], "ldap") else {
            continue;
        };
        let found = f["ldap"]["extended"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|o| o["oid"] == e["oid"] && o["name"] == e["name"]);
        if !found {
            diffs.push(format!("{id}: {} not among {}", e["oid"], f["ldap"]["extended"]));
        }
        if e["tls_handshake_seen_on_stream"] == true {
            check_upgraded(&mut diffs, &id, f, "ldap");
        }
    }
    check(
        &mut diffs,
        "ldap",
        "starttls_requested",
        &l["starttls_requested"],
        &Value::Bool(ours.iter().any(|f| f["ldap"]["starttls_requested"] == true)),
    );
    diffs
}

/// JA3 and JA3S hashes against tshark's own (`tls.handshake.ja3`, `tls.handshake.ja3s`), run
/// with the options recorded in the truth file. `None` when tshark is not installed; the first
/// ClientHello and ServerHello of each TCP stream are compared.
/// The `sip` key of a truth file (capture-wide: tshark counts every SIP frame) against the
/// `sip` objects of exwatch's flow records, summed over flows: method and status-code counts,
/// Via transports, per-call (Call-ID) From/To URIs, methods, codes, transports and auth
/// schemes, and the SDP media list (call, carrying message, media, port, proto, address). Not
/// in `compare_all` until the flow layer feeds the SIP parser.
pub fn compare_sip(truth: &Value, recs: &[Value]) -> Vec<String> {
    let t = &truth["sip"];
    if !t.is_object() {
        return Vec::new();
    }
    let mut diffs = Vec::new();
    let ours: Vec<&Value> = recs
        .iter()
        .filter(|r| r["event_type"] == "flow" && r["sip"].is_object())
        .collect();
    let counts = |v: &Value| {
        let mut m: Vec<(String, u64)> = Vec::new();
        for (k, n) in v.as_object().into_iter().flatten() {
            bump(&mut m, k.clone(), n.as_u64().unwrap_or(0));
        }
        m
    };
    let summed = |key: &str| {
        let mut m: Vec<(String, u64)> = Vec::new();
        for f in &ours {
            for (k, n) in counts(&f["sip"][key]) {
                bump(&mut m, k, n);
            }
        }
        m.sort();
        m
    };
    for (ours_key, truth_key) in [
        ("methods", "methods"),
        ("status_codes", "status_codes"),
        ("via_transports", "via_transports"),
    ] {
        let mut want = counts(&t[truth_key]);
        want.sort();
        let got = summed(ours_key);
        if got != want {
            diffs.push(format!("sip {truth_key}: tshark {want:?}, exwatch {got:?}"));
        }
    }
    // calls, merged over flows by Call-ID
    struct Call {
        from: Value,
        to: Value,
        methods: Vec<(String, u64)>,
        codes: Vec<(String, u64)>,
        transports: Vec<String>,
        auth: Vec<String>,
    }
    let mut calls: Vec<(String, Call)> = Vec::new();
    for f in &ours {
        let transport = f["sip"]["transport"].as_str().unwrap_or("?").to_string();
        for c in f["sip"]["calls"].as_array().into_iter().flatten() {
            let id = c["call_id"].as_str().unwrap_or("?").to_string();
            let i = match calls.iter().position(|(k, _)| *k == id) {
                Some(i) => i,
                None => {
                    calls.push((
                        id,
                        Call {
                            from: c["from"].clone(),
                            to: c["to"].clone(),
                            methods: Vec::new(),
                            codes: Vec::new(),
                            transports: Vec::new(),
                            auth: Vec::new(),
                        },
                    ));
                    calls.len() - 1
                }
            };
            let e = &mut calls[i].1;
            for (k, n) in counts(&c["methods"]) {
                bump(&mut e.methods, k, n);
            }
            for (k, n) in counts(&c["status_codes"]) {
                bump(&mut e.codes, k, n);
            }
            if !e.transports.contains(&transport) {
                e.transports.push(transport.clone());
            }
            for a in strs(&c["auth_schemes"]) {
                if !e.auth.contains(&a) {
                    e.auth.push(a);
                }
            }
        }
    }
    let want_calls = t["calls"].as_array().cloned().unwrap_or_default();
    if want_calls.len() != calls.len() {
        diffs.push(format!(
            "sip calls: tshark {}, exwatch {}",
            want_calls.len(),
            calls.len()
        ));
    }
    for w in &want_calls {
        let id = w["call_id"].as_str().unwrap_or("?");
        let Some((_, c)) = calls.iter_mut().find(|(k, _)| k == id) else {
            diffs.push(format!("sip call {id}: not in exwatch's records"));
            continue;
        };
        check(&mut diffs, id, "from", &w["from"], &c.from);
        check(&mut diffs, id, "to", &w["to"], &c.to);
        let mut wm = counts(&w["methods"]);
        let mut wc = counts(&w["status_codes"]);
        wm.sort();
        wc.sort();
        c.methods.sort();
        c.codes.sort();
        if wm != c.methods {
            diffs.push(format!("sip call {id} methods: tshark {wm:?}, exwatch {:?}", c.methods));
        }
        if wc != c.codes {
            diffs.push(format!(
                "sip call {id} status codes: tshark {wc:?}, exwatch {:?}",
                c.codes
            ));
        }
        let mut wt = strs(&w["transports"]);
        let mut wa = strs(&w["auth_schemes"]);
        wt.sort();
        wa.sort();
        c.transports.sort();
        c.auth.sort();
        if wt != c.transports {
            diffs.push(format!(
                "sip call {id} transports: tshark {wt:?}, exwatch {:?}",
                c.transports
            ));
        }
        if wa != c.auth {
            diffs.push(format!(
                "sip call {id} auth schemes: tshark {wa:?}, exwatch {:?}",
                c.auth
            ));
        }
    }
    // SDP media as a multiset of (call, carrying message, media, port, proto, address)
    let key = |call: &Value, sip: &Value, media: &Value, port: &Value, proto: &Value, addr: &Value| {
        let sip = match sip {
            Value::Number(n) => n.to_string(),
            v => v.as_str().unwrap_or("?").to_string(),
        };
        format!(
            "{} {sip} {} {} {} {}",
            call.as_str().unwrap_or("?"),
            media.as_str().unwrap_or("?"),
            port,
            proto.as_str().unwrap_or("?"),
            addr.as_str().unwrap_or("-")
        )
    };
    let mut want_media: Vec<String> = t["sdp_media"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            key(
                &m["call_id"],
                &m["sip"],
                &m["media"],
                &m["port"],
                &m["proto"],
                &m["connection_address"],
            )
        })
        .collect();
    let mut got_media: Vec<String> = ours
        .iter()
        .flat_map(|f| f["sip"]["sdp_media"].as_array().into_iter().flatten())
        .map(|m| {
            key(
                &m["call_id"],
                &m["sip"],
                &m["media"],
                &m["port"],
                &m["proto"],
                &m["address"],
            )
        })
        .collect();
    want_media.sort();
    got_media.sort();
    if want_media != got_media {
        diffs.push(format!("sip sdp media: tshark {want_media:?}, exwatch {got_media:?}"));
    }
    diffs
}

pub fn compare_ja3_with_tshark(cap: &std::path::Path, truth: &Value, recs: &[Value]) -> Option<Vec<String>> {
    if !truth["tls"].is_object() {
        return Some(Vec::new());
    }
    let opts: Vec<String> = strs(&truth["generated_by"]["tshark_options"]);
    let out = std::process::Command::new("tshark")
        .args(&opts)
        .arg("-r")
        .arg(cap)
        .args([
            "-Y",
            "tls.handshake.type == 1 || tls.handshake.type == 2",
            "-T",
            "fields",
        ])
        .args([
            "-e",
            "tcp.stream",
            "-e",
            "tls.handshake.ja3",
            "-e",
            "tls.handshake.ja3s",
        ])
        .output()
        .ok()?;
    let mut diffs = Vec::new();
    let mut seen: Vec<(u64, &str)> = Vec::new();
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let Some(stream) = cols.first().and_then(|s| s.parse::<u64>().ok()) else {
            continue;
        };
        // a frame may carry both hellos' fields only in odd captures; take each non-empty one
        for (col, obj, key, what) in [
            (1, "client_hello", "ja3_hash", "JA3"),
            (2, "server_hello", "ja3s_hash", "JA3S"),
        ] {
            let Some(want) = cols.get(col).map(|v| v.split(',').next().unwrap_or("")) else {
                continue;
            };
            if want.is_empty() || seen.contains(&(stream, what)) {
                continue;
            }
            seen.push((stream, what));
            let id = format!("tls stream {stream}");
            let Some(f) = flow_of_stream(truth, recs, &Value::from(stream)) else {
                diffs.push(format!("{id}: no flow"));
                continue;
            };
            check(&mut diffs, &id, what, &Value::from(want), &f["tls"][obj][key]);
        }
    }
    if seen.is_empty() && !truth["tls"]["client_hellos"].as_array().is_none_or(|c| c.is_empty()) {
        diffs.push(format!(
            "tshark printed no JA3 for a capture with ClientHellos: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Some(diffs)
}

/// A record's `key` object (`http`, `imap`, `pop3`) of the flow of tshark's TCP stream.
fn proto_obj<'a>(
    diffs: &mut Vec<String>,
    truth: &Value,
    recs: &'a [Value],
    key: &str,
    id: &str,
    stream: &Value,
) -> Option<&'a Value> {
    proto_flow(diffs, truth, recs, id, stream, key).map(|f| &f[key])
}

/// The flow records that carry a `key` object.
fn proto_objs<'a>(recs: &'a [Value], key: &str) -> Vec<&'a Value> {
    recs.iter()
        .filter(|r| r["event_type"] == "flow" && r[key].is_object())
        .map(|r| &r[key])
        .collect()
}

/// Command counts summed over every flow's `commands` object, against tshark's file-wide
/// `command_counts` (tshark's names for lines that are not commands — a literal's
/// continuation such as `{7}`, a SASL response — are skipped: they start with no letter or
/// are not upper case).
fn compare_command_counts(diffs: &mut Vec<String>, what: &str, truth: &Value, objs: &[&Value]) {
    let mut ours: BTreeMap<String, u64> = BTreeMap::new();
    for m in objs {
        for (k, v) in m["commands"].as_object().into_iter().flatten() {
            *ours.entry(k.clone()).or_default() += v.as_u64().unwrap_or(0);
        }
    }
    for (k, v) in truth.as_object().into_iter().flatten() {
        let is_command = k.starts_with(|c: char| c.is_ascii_alphabetic())
            && k.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == ' ' || c == '-');
        if is_command && ours.get(k).copied() != v.as_u64() {
            diffs.push(format!("{what}: command {k}: tshark {v}, exwatch {:?}", ours.get(k)));
        }
    }
}

/// `http.requests[]`: every request tshark dissected is found, in order, among the requests
/// of its flow (method and target), with the same version, Host, User-Agent, Authorization
/// scheme, NTLMSSP message type and NTLM user; each of tshark's `exchange_vdir_requests` names
/// an Exchange service; `basic_auth_in_cleartext` for the file.
/// exwatch may see more requests than tshark (tshark 4.0 misses some pipelined ones).
pub fn compare_http(truth: &Value, recs: &[Value]) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut cursor: BTreeMap<String, usize> = BTreeMap::new();
    for t in truth["http"]["requests"].as_array().into_iter().flatten() {
        if t["transport"] != "tcp" {
            continue;
        }
        let id = format!("http stream {} frame {}", t["stream"], t["frame"]);
        let Some(m) = proto_obj(&mut diffs, truth, recs, "http", &id, &t["stream"]) else {
            continue;
        };
        let ours = m["requests"].as_array().cloned().unwrap_or_default();
        let at = cursor.entry(t["stream"].to_string()).or_default();
        let Some(k) = (*at..ours.len()).find(|&k| ours[k]["method"] == t["method"] && ours[k]["target"] == t["uri"])
        else {
            diffs.push(format!("{id}: request {} {} not found", t["method"], t["uri"]));
            continue;
        };
        *at = k + 1;
        let r = &ours[k];
        check(&mut diffs, &id, "version", &t["version"], &r["version"]);
        // tshark gives "" for a Host header cut by the snap length (snaplen-96: the frame ends
        // at "Host"); exwatch has no header line to read there
        let host = if t["host"] == "" { &Value::Null } else { &t["host"] };
        check(&mut diffs, &id, "host", host, &r["host"]);
        check(&mut diffs, &id, "user_agent", &t["user_agent"], &r["user_agent"]);
        check(
            &mut diffs,
            &id,
            "authorization scheme",
            &t["authorization_scheme"],
            &r["authorization"].get("scheme").cloned().unwrap_or(Value::Null),
        );
        if let Some(types) = t["ntlmssp_message_types"].as_array() {
            let ty = &r["authorization"]["ntlmssp_type"];
            if !types.contains(ty) {
                diffs.push(format!("{id}: NTLMSSP type: tshark {types:?}, exwatch {ty}"));
            }
        }
        // tshark writes an empty NTLM domain as "NULL"; exwatch writes the bare user name
        if let Some(u) = t["ntlmssp_user"].as_str() {
            let u = Value::from(u.strip_prefix("NULL\\").unwrap_or(u));
            check(&mut diffs, &id, "NTLM user", &u, &r["authorization"]["user"]);
        }
    }
    // every request tshark's truth calls an Exchange virtual directory names a service here
    let ours: Vec<&Value> = proto_objs(recs, "http")
        .into_iter()
        .flat_map(|m| m["requests"].as_array().into_iter().flatten())
        .collect();
    for v in truth["http"]["exchange_vdir_requests"].as_array().into_iter().flatten() {
        if !ours.iter().any(|r| r["target"] == v["uri"] && r["service"].is_string()) {
            diffs.push(format!(
                "http frame {}: {} names no Exchange service",
                v["frame"], v["uri"]
            ));
        }
    }
    if let Some(b) = truth["http"]["basic_auth_in_cleartext"].as_bool() {
        let ours = proto_objs(recs, "http")
            .iter()
            .any(|m| m["basic_auth_in_cleartext"] == true);
        if b != ours {
            diffs.push(format!("http: basic_auth_in_cleartext: tshark {b}, exwatch {ours}"));
        }
    }
    diffs
}

/// `imap`: the greeting, capabilities advertised (file-wide), STARTTLS offered/issued, LOGIN
/// in clear text, AUTHENTICATE mechanisms, user names, and command counts.
pub fn compare_imap(truth: &Value, recs: &[Value]) -> Vec<String> {
    let mut diffs = Vec::new();
    let t = &truth["imap"];
    if !t.is_object() {
        return diffs;
    }
    let objs = proto_objs(recs, "imap");
    let caps: Vec<String> = objs.iter().flat_map(|m| strs(&m["capabilities"])).collect();
    for c in strs(&t["capabilities_advertised"]) {
        if !caps.iter().any(|x| x.eq_ignore_ascii_case(&c)) {
            diffs.push(format!("imap: capability {c:?} missing"));
        }
    }
    for (k, ours) in [
        ("starttls_offered", "starttls_offered"),
        ("logindisabled_advertised", "logindisabled"),
    ] {
        if let Some(b) = t[k].as_bool()
            && b != objs.iter().any(|m| m[ours] == true)
        {
            diffs.push(format!("imap: {k}: tshark {b}"));
        }
    }
    if let Some(banner) = t["banner"].as_str()
        && !objs.iter().any(|m| {
            m["greeting"].as_str().is_some_and(|g| banner.ends_with(g))
                && m["greeting_status"]
                    .as_str()
                    .is_some_and(|s| banner[2..].starts_with(s))
        })
    {
        diffs.push(format!("imap: greeting {banner:?} not seen"));
    }
    compare_command_counts(&mut diffs, "imap", &t["command_counts"], &objs);
    for s in t["sessions"].as_array().into_iter().flatten() {
        let id = format!("imap stream {}", s["tcp_stream"]);
        let Some(m) = proto_obj(&mut diffs, truth, recs, "imap", &id, &s["tcp_stream"]) else {
            continue;
        };
        let auth = m["auth"].as_array().cloned().unwrap_or_default();
        let login = auth.iter().any(|a| a["command"] == "LOGIN");
        check(
            &mut diffs,
            &id,
            "login_in_cleartext",
            &s["login_in_cleartext"],
            &Value::Bool(login),
        );
        let mechs: Vec<Value> = auth
            .iter()
            .filter(|a| a["command"] == "AUTHENTICATE")
            .map(|a| a["mechanism"].clone())
            .collect();
        check(
            &mut diffs,
            &id,
            "AUTHENTICATE mechanisms",
            &s["authenticate_mechanisms"],
            &Value::from(mechs),
        );
        check(
            &mut diffs,
            &id,
            "starttls issued",
            &s["starttls_issued"],
            &Value::Bool(m["starttls"].is_object()),
        );
        let users: Vec<String> = auth
            .iter()
            .filter_map(|a| a["user"].as_str().map(str::to_string))
            .collect();
        // tshark 4.0 names a user sent as a literal by its marker ("{5}"); exwatch reads the
        // literal, so those are not compared
        for u in strs(&s["usernames"])
            .into_iter()
            .filter(|u| !(u.starts_with('{') && u.ends_with('}')))
        {
            if !users.contains(&u) {
                diffs.push(format!("{id}: user {u:?} missing from {users:?}"));
            }
        }
    }
    diffs
}

/// `pop3`: the greeting, CAPA lines and STLS offered (file-wide), per session USER/PASS and
/// SASL credentials in clear text, APOP, AUTH mechanisms, STLS issued, user names; command
/// counts.
pub fn compare_pop3(truth: &Value, recs: &[Value]) -> Vec<String> {
    let mut diffs = Vec::new();
    let t = &truth["pop3"];
    if !t.is_object() {
        return diffs;
    }
    let objs = proto_objs(recs, "pop3");
    if let Some(b) = t["banner"].as_str()
        && !objs.iter().any(|m| m["greeting"] == b)
    {
        diffs.push(format!("pop3: greeting {b:?} not seen"));
    }
    let capa: Vec<String> = objs.iter().flat_map(|m| strs(&m["capa"])).collect();
    for c in strs(&t["capa_lines"]) {
        if !capa.contains(&c) {
            diffs.push(format!("pop3: CAPA line {c:?} missing"));
        }
    }
    if let Some(b) = t["stls_offered"].as_bool()
        && b != objs.iter().any(|m| m["stls_offered"] == true)
    {
        diffs.push(format!("pop3: stls_offered: tshark {b}"));
    }
    compare_command_counts(&mut diffs, "pop3", &t["command_counts"], &objs);
    for s in t["sessions"].as_array().into_iter().flatten() {
        let id = format!("pop3 stream {}", s["tcp_stream"]);
        let Some(m) = proto_obj(&mut diffs, truth, recs, "pop3", &id, &s["tcp_stream"]) else {
            continue;
        };
        let auth = m["auth"].as_array().cloned().unwrap_or_default();
        let has = |cmd: &str, clear: bool| {
            auth.iter()
                .any(|a| a["command"] == cmd && (!clear || a["cleartext_credentials"] == true))
        };
        check(
            &mut diffs,
            &id,
            "user_pass_in_cleartext",
            &s["user_pass_in_cleartext"],
            &Value::Bool(has("USER", true)),
        );
        check(&mut diffs, &id, "apop", &s["apop"], &Value::Bool(has("APOP", false)));
        check(
            &mut diffs,
            &id,
            "sasl_auth_in_cleartext",
            &s["sasl_auth_in_cleartext"],
            &Value::Bool(has("AUTH", true)),
        );
        let mechs: Vec<Value> = auth
            .iter()
            .filter(|a| a["command"] == "AUTH")
            .map(|a| a["mechanism"].clone())
            .collect();
        check(
            &mut diffs,
            &id,
            "AUTH mechanisms",
            &s["auth_mechanisms"],
            &Value::from(mechs),
        );
        check(
            &mut diffs,
            &id,
            "stls issued",
            &s["stls_issued"],
            &Value::Bool(m["stls"].is_object()),
        );
        let users: Vec<String> = auth
            .iter()
            .filter_map(|a| a["user"].as_str().map(str::to_string))
            .collect();
        for u in strs(&s["usernames"]) {
            if !users.contains(&u) {
                diffs.push(format!("{id}: user {u:?} missing from {users:?}"));
            }
        }
    }
    diffs
}

/// tshark's auth_type names (the truth files) for exwatch's (`output::dcerpc`).
fn dcerpc_auth_type(ours: &str) -> &str {
    match ours {
        "ntlmssp" => "NTLMSSP",
        "spnego" => "SPNEGO",
        "kerberos" => "KRB5",
        "netlogon" => "NETLOGON",
        "schannel" => "SCHANNEL",
        o => o,
    }
}

/// `dcerpc` (MANIFEST.md; capture-wide), for DCE/RPC straight over TCP (the truth also counts
/// DCE/RPC inside SMB named pipes, which exwatch does not parse: binds `via` another transport
/// are skipped, and auth counts may only fall short): every bind's interfaces and transfer
/// syntaxes, (auth_type, auth_level) PDU counts, NTLMSSP AUTHENTICATE users, and every
/// ncacn_ip_tcp endpoint the endpoint mapper announced.
pub fn compare_dcerpc(truth: &Value, recs: &[Value]) -> Vec<String> {
    let t = &truth["dcerpc"];
    if !t.is_object() {
        return Vec::new();
    }
    let mut diffs = Vec::new();
    let ours: Vec<&Value> = recs
        .iter()
        .filter(|r| r["event_type"] == "flow" && r["dcerpc"].is_object())
        .collect();
    // binds: (kind, uuid, transfer syntax) of every context offered over TCP
    let mut want: Vec<(String, u64)> = Vec::new();
    for b in t["binds"].as_array().into_iter().flatten() {
        if b["via"] != "ncacn_ip_tcp" {
            continue;
        }
        for i in b["interfaces"].as_array().into_iter().flatten() {
            let key = format!("{} {} {}", b["pkt_type"], i["uuid"], i["transfer_syntax"]);
            bump(&mut want, key, 1);
        }
    }
    let mut got: Vec<(String, u64)> = Vec::new();
    let mut auth: Vec<(String, u64)> = Vec::new();
    let mut users: Vec<String> = Vec::new();
    let mut endpoints: Vec<String> = Vec::new();
    // tshark's heuristics sometimes give a DCE/RPC stream to another dissector (the Exchange
    // capture's stream 12 is "c1222"); its PDUs are then missing from the truth
    let tshark_dcerpc = |f: &Value| {
        truth["conversations"]["tcp"].as_array().into_iter().flatten().any(|c| {
            is_conversation(f, c)
                && c["app_protocols"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|x| x == "dcerpc"))
        })
    };
    for f in ours.iter().filter(|f| tshark_dcerpc(f)) {
        let d = &f["dcerpc"];
        for b in d["binds"].as_array().into_iter().flatten() {
            for c in b["contexts"].as_array().into_iter().flatten() {
                for ts in c["transfer_syntaxes"].as_array().into_iter().flatten() {
                    bump(
                        &mut got,
                        format!("\"{}\" {} {}", b["kind"].as_str().unwrap_or("?"), c["uuid"], ts),
                        1,
                    );
                }
            }
        }
        for a in d["auth"].as_array().into_iter().flatten() {
            let key = format!(
                "{} {}",
                dcerpc_auth_type(a["auth_type"].as_str().unwrap_or("?")),
                a["auth_level"].as_str().unwrap_or("?")
            );
            bump(&mut auth, key, a["pdus"].as_u64().unwrap_or(0));
        }
        let n = &d["ntlmssp"];
        if let Some(u) = n["user"].as_str() {
            let dom = n["domain"].as_str().filter(|s| !s.is_empty()).unwrap_or("NULL");
            let user = format!("{dom}\\{u}");
            if !users.contains(&user) {
                users.push(user);
            }
        }
        for e in d["epm_endpoints"].as_array().into_iter().flatten() {
            if e["transport"] == "ncacn_ip_tcp" {
                let key = format!("{} {} {}", e["uuid"], e["ip"], e["port"]);
                if !endpoints.contains(&key) {
                    endpoints.push(key);
                }
            }
        }
    }
    want.sort();
    got.sort();
    if want != got {
        diffs.push(format!("dcerpc binds: tshark {want:?}, exwatch {got:?}"));
    }
    let mut want_auth: Vec<(String, u64)> = Vec::new();
    for a in t["auth_type_level_counts"].as_array().into_iter().flatten() {
        let key = format!(
            "{} {}",
            a["auth_type"].as_str().unwrap_or("?"),
            a["auth_level"].as_str().unwrap_or("?")
        );
        bump(&mut want_auth, key, a["pdus"].as_u64().unwrap_or(0));
    }
    for (k, n) in &auth {
        if !want_auth.iter().any(|(w, m)| w == k && n <= m) {
            diffs.push(format!("dcerpc auth {k}: exwatch {n} PDUs, tshark {want_auth:?}"));
        }
    }
    let mut want_users: Vec<String> = t["ntlmssp_auth_users"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_string))
        .collect();
    want_users.sort();
    users.sort();
    if users.iter().any(|u| !want_users.contains(u)) {
        diffs.push(format!(
            "dcerpc NTLMSSP users: tshark {want_users:?}, exwatch {users:?}"
        ));
    }
    let mut want_eps: Vec<String> = Vec::new();
    for r in t["epm_responses"].as_array().into_iter().flatten() {
        for tw in r["towers_with_tcp_endpoint"].as_array().into_iter().flatten() {
            let key = format!("{} {} {}", tw["interface"], tw["ip"], tw["tcp_port"]);
            if !want_eps.contains(&key) {
                want_eps.push(key);
            }
        }
    }
    want_eps.sort();
    endpoints.sort();
    if want_eps != endpoints {
        diffs.push(format!(
            "dcerpc EPM endpoints: tshark {want_eps:?}, exwatch {endpoints:?}"
        ));
    }
    diffs
}

/// Findings against the truth: a finding that states a fact (clear-text credentials, STARTTLS
/// offered and not used, a self-issued or expired server certificate) is only raised on a TCP
/// stream where tshark saw that fact, and clear-text credentials tshark saw are all raised.
/// Every flow that carries SMTP, LDAP, DCE/RPC, SIP or TLS has a data path or says why not.
pub fn compare_findings(truth: &Value, recs: &[Value]) -> Vec<String> {
    use std::collections::BTreeSet;
    let mut diffs = Vec::new();
    let empty = Vec::new();
    let arr = |v: &Value| v.as_array().unwrap_or(&empty).clone();
    // community ids of the flows of the TCP streams that satisfy `pick`
    let cids = |items: Vec<Value>, stream_key: &str, pick: &dyn Fn(&Value) -> bool| -> BTreeSet<String> {
        items
            .iter()
            .filter(|s| pick(s))
            .filter_map(|s| flow_of_stream(truth, recs, &s[stream_key]))
            .filter_map(|f| f["community_id"].as_str().map(str::to_string))
            .collect()
    };
    let t = |v: &Value| v.as_bool() == Some(true);
    let mut creds = cids(arr(&truth["smtp"]["sessions"]), "tcp_stream", &|s| {
        t(&s["auth_in_cleartext"])
    });
    creds.extend(cids(arr(&truth["imap"]["sessions"]), "tcp_stream", &|s| {
        t(&s["login_in_cleartext"])
    }));
    creds.extend(cids(arr(&truth["pop3"]["sessions"]), "tcp_stream", &|s| {
        t(&s["user_pass_in_cleartext"]) || t(&s["sasl_auth_in_cleartext"])
    }));
    creds.extend(cids(arr(&truth["ldap"]["binds"]), "stream", &|b| {
        b["auth"] == "simple" && t(&b["simple_password_present"]) && b["simple_password_length"].as_u64() > Some(0)
    }));
    creds.extend(cids(arr(&truth["http"]["requests"]), "stream", &|r| {
        r["authorization_scheme"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("basic"))
    }));
    // IMAP AUTHENTICATE PLAIN/LOGIN: tshark does not say whether the exchange completed, so a
    // finding there does not contradict it (but is not required)
    let mut creds_allowed = creds.clone();
    creds_allowed.extend(cids(arr(&truth["imap"]["sessions"]), "tcp_stream", &|s| {
        arr(&s["authenticate_mechanisms"]).iter().any(|m| {
            m.as_str()
                .is_some_and(|m| m.eq_ignore_ascii_case("plain") || m.eq_ignore_ascii_case("login"))
        })
    }));
    let imap_offered = t(&truth["imap"]["starttls_offered"]);
    let pop3_offered = t(&truth["pop3"]["stls_offered"]);
    let mut not_used = cids(arr(&truth["smtp"]["sessions"]), "tcp_stream", &|s| {
        t(&s["starttls_offered"]) && !t(&s["starttls_issued"])
    });
    not_used.extend(cids(arr(&truth["imap"]["sessions"]), "tcp_stream", &|s| {
        imap_offered && !t(&s["starttls_issued"])
    }));
    not_used.extend(cids(arr(&truth["pop3"]["sessions"]), "tcp_stream", &|s| {
        pop3_offered && !t(&s["stls_issued"])
    }));
    // the server's leaf: `sent_by` is tshark's `ip:port` of the sender; the server of the
    // stream's conversation sent it
    let leaf = |c: &Value| {
        let conv = arr(&truth["conversations"]["tcp"])
            .into_iter()
            .find(|v| v["stream"] == c["tcp_stream"]);
        let server = conv.map(|v| format!("{}:{}", v["server"].as_str().unwrap_or(""), v["server_port"]));
        c["chain_index"].as_u64() == Some(0) && server.is_some_and(|s| c["sent_by"].as_str() == Some(s.as_str()))
    };
    let self_signed = cids(arr(&truth["tls"]["certificates"]), "tcp_stream", &|c| {
        leaf(c) && t(&c["self_issued"])
    });
    let expired = cids(arr(&truth["tls"]["certificates"]), "tcp_stream", &|c| {
        leaf(c) && t(&c["expired_at_capture_time"])
    });

    let mut raised: BTreeSet<(String, String)> = BTreeSet::new();
    for f in recs.iter().filter(|r| r["event_type"] == "finding") {
        let cid = f["community_id"].as_str().unwrap_or("").to_string();
        let kind = f["kind"].as_str().unwrap_or("").to_string();
        let allowed = match kind.as_str() {
            "cleartext_credentials" => Some(&creds_allowed),
            "starttls_not_used" => Some(&not_used),
            "self_signed_certificate" => Some(&self_signed),
            "expired_certificate" => Some(&expired),
            _ => None,
        };
        if let Some(a) = allowed
            && !a.contains(&cid)
        {
            diffs.push(format!(
                "finding {kind} on {cid} ({}:{} -> {}:{}) where tshark saw no such fact",
                f["src_ip"], f["src_port"], f["dst_ip"], f["dst_port"]
            ));
        }
        for key in ["password", "pass", "secret"] {
            if f["evidence"].get(key).is_some() {
                diffs.push(format!("finding {kind} on {cid} carries evidence.{key}"));
            }
        }
        raised.insert((kind, cid));
    }
    for cid in &creds {
        if !raised.contains(&("cleartext_credentials".to_string(), cid.clone())) {
            diffs.push(format!(
                "tshark saw clear-text credentials on {cid}: no cleartext_credentials finding"
            ));
        }
    }
    for f in recs.iter().filter(|r| r["event_type"] == "flow") {
        let labelled = f["data_path"].is_object() || f["no_path"].as_str().is_some_and(|s| !s.is_empty());
        let carries = matches!(
            f["app_proto"].as_str(),
            Some("smtp" | "ldap" | "dcerpc" | "sip" | "tls")
        );
        if carries && !labelled {
            diffs.push(format!(
                "flow {} ({}) has neither a data path nor a no_path reason",
                f["community_id"], f["app_proto"]
            ));
        }
        // a flow lists what was raised on it
        let cid = f["community_id"].as_str().unwrap_or("");
        for k in f["findings"].as_array().unwrap_or(&empty) {
            let kind = k["kind"].as_str().unwrap_or("").to_string();
            if !raised.contains(&(kind.clone(), cid.to_string())) {
                diffs.push(format!("flow {cid} lists {kind}, never written as a finding record"));
            }
        }
    }
    diffs
}
