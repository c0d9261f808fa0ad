//! `--format ecs`: each native record translated into one Elastic Common Schema event, one JSON
//! object per line, which Elasticsearch ingests as is (nested objects, no dotted keys).
//!
//! Owns the translation of one finished native line ([`translate`], [`translate_lines`]): it
//! parses the native record with serde_json (a cost paid only when `--format ecs` is chosen; the
//! native writer is untouched) and builds the ECS event. ECS names what it can; everything else
//! goes under `exwatch.*`, native sub-objects kept whole.
//!
//! Every event has `@timestamp`, `ecs.version` ([`ECS_VERSION`], the schema the field names are
//! checked against in `tests/ecs.rs`), `event.kind`, `event.category`, `event.type`,
//! `event.dataset` (`exwatch.<event_type>`), `event.module` (`exwatch`) and `observer.*`.
//!
//! | native | ECS |
//! |---|---|
//! | flow `timestamp`, `end`, `duration_s` | `@timestamp` and `event.start` (flow start), `event.end`, `event.duration` (ns); `event.kind` `event`, `event.category` `[network]`, `event.type` `[connection, end]` (`[connection, info]` on an interim record) |
//! | `src_ip`/`src_port`, `pkts_toserver`/`bytes_toserver` | `source.ip`/`port`/`packets`/`bytes` (the client) |
//! | `dst_ip`/`dst_port`, `pkts_toclient`/`bytes_toclient` | `destination.ip`/`port`/`packets`/`bytes` (the server) |
//! | `transport`, `app_proto`, `community_id`, `vlan` | `network.transport`, `network.iana_number`, `network.type` (`ipv4`/`ipv6`), `network.protocol`, `network.community_id`, `network.bytes`, `network.packets`, `network.vlan.id` (outer tag), `network.inner.vlan.id` (inner tag); `related.ip` |
//! | `tls` | `tls.version`, `tls.version_protocol`, `tls.cipher`, `tls.next_protocol`, `tls.resumed`, `tls.established` (a ServerHello and no fatal alert in clear), `tls.client.server_name`, `tls.client.ja3` (JA3 hash), `tls.client.supported_ciphers` (names), `tls.server.ja3s` (JA3S hash); the leaf certificate each side sent: `tls.{server,client}.{subject,issuer,not_before,not_after}` and `tls.{server,client}.x509.{subject,issuer}.{common_name,distinguished_name}`, `...x509.{not_before,not_after,serial_number,alternative_names}` |
//! | `http` (first request and response) | `http.request.method`, `http.version`, `http.response.status_code`, `url.original`, `url.path`, `url.query`, `url.domain`, `user_agent.original` |
//! | `smtp` | `email.from.address`, `email.to.address` |
//! | user names the parsers found (SMTP/IMAP/POP3 AUTH, HTTP, LDAP bind name and NTLMSSP, DCE/RPC NTLMSSP, SIP digest) | `user.name` (the first; `user.domain` with an NTLMSSP one), `related.user` (all) |
//! | `data_path` `id`, `name` | `rule.id`, `rule.name` |
//! | everything else (`client_from`, `tunnel`, `end_reason`, `interim`, `updates`, `missing_bytes`, `tcp`, `encryption`, `expected`, `data_path`, `no_path`, `findings`, and each protocol object: `smtp`, `tls`, `ldap`, `http`, `imap`, `pop3`, `dcerpc`, `sip`) | `exwatch.<field>`, whole |
//! | finding | `event.kind` `alert`, `event.category` `[network, intrusion_detection]`, `event.type` `[info]`, `event.severity` (high 73, medium 47, low 21, info 0: the Elastic detection-rule scale), `message`, `rule.id`/`rule.name` (the kind), `rule.description` (the message), `rule.ruleset` `exwatch`, the 5-tuple in `source`/`destination`/`network`, `user.name` from `evidence.user`; `exwatch.finding.{severity, data_path, evidence}` |
//! | role | `event.kind` `event`, `event.category` `[host]`, `event.type` `[info]`, `host.ip`, `network.community_id`; `exwatch.role.{role, source, evidence, evidence_kind}` |
//! | stats | `event.kind` `metric`, `event.category` `[network]`, `event.type` `[info]`, `event.start`/`event.end` (first and last packet); `exwatch.stats.*` (the whole record) |
//!
//! A line that is not a JSON object (never written by exwatch) becomes an `event.kind`
//! `pipeline_error` event with `error.message` and `event.original`, so the output stays one
//! valid event per line.

use serde_json::{Map, Value};

/// The ECS version whose field list (`tests/data/ecs-fields.csv`) the output is checked against.
pub const ECS_VERSION: &str = "9.5.0-dev";
/// `observer.product`, `observer.vendor`, `event.module`, `rule.ruleset`.
pub const PRODUCT: &str = "exwatch";
/// `observer.type`: a passive network sensor.
pub const OBSERVER_TYPE: &str = "sensor";
/// User names kept in `related.user` per event.
pub const MAX_RELATED_USERS: usize = 16;
/// Bytes of an unparsable line kept in `event.original`.
pub const MAX_ORIGINAL_BYTES: usize = 4096;

/// `event.severity` for a finding severity: the scale of Elastic's detection rules
/// (`risk_score` 73 high, 47 medium, 21 low); `info` is 0.
pub fn severity_score(s: &str) -> Option<u64> {
    match s {
        "critical" => Some(99),
        "high" => Some(73),
        "medium" => Some(47),
        "low" => Some(21),
        "info" => Some(0),
        _ => None,
    }
}

/// Translate every line of `buf` (native records, each ending in `\n`) into ECS lines appended
/// to `out`. Blank lines are skipped.
pub fn translate_lines(buf: &[u8], out: &mut Vec<u8>) {
    for line in buf.split(|&b| b == b'\n') {
        if !line.iter().all(u8::is_ascii_whitespace) {
            translate(line, out);
        }
    }
}

/// Translate one native record into one ECS line (ending in `\n`) appended to `out`.
pub fn translate(line: &[u8], out: &mut Vec<u8>) {
    let ev = match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(m)) => event(m),
        Ok(_) => pipeline_error("not a JSON object", line),
        Err(e) => pipeline_error(&format!("not JSON: {e}"), line),
    };
    // a map of string keys always serialises
    let _ = serde_json::to_writer(&mut *out, &Value::Object(ev.0));
    out.push(b'\n');
}

/// An ECS document under construction: `set("source.ip", ..)` makes the nested objects.
struct Doc(Map<String, Value>);

impl Doc {
    fn set(&mut self, path: &str, v: impl Into<Value>) {
        let v = v.into();
        if v.is_null() {
            return;
        }
        let mut m = &mut self.0;
        let mut parts = path.split('.').peekable();
        while let Some(p) = parts.next() {
            if parts.peek().is_none() {
                m.insert(p.to_string(), v);
                return;
            }
            let e = m.entry(p.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !e.is_object() {
                *e = Value::Object(Map::new());
            }
            m = e.as_object_mut().expect("made an object");
        }
    }

    fn set_opt<T: Into<Value>>(&mut self, path: &str, v: Option<T>) {
        if let Some(v) = v {
            self.set(path, v);
        }
    }
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn u(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Non-empty strings of an array field.
fn strs<'a>(v: &'a Value, k: &str) -> impl Iterator<Item = &'a str> {
    arr(v, k).iter().filter_map(Value::as_str).filter(|s| !s.is_empty())
}

/// The wall clock as RFC 3339 (for records without a time of their own).
fn now() -> String {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    super::json::rfc3339(ns)
}

/// The fields every event has.
fn base(d: &mut Doc, ts: Option<&str>, kind: &str, category: &[&str], types: &[&str], dataset: &str) {
    d.set("@timestamp", ts.map_or_else(now, str::to_string));
    d.set("ecs.version", ECS_VERSION);
    d.set("event.kind", kind);
    d.set("event.category", category.to_vec());
    d.set("event.type", types.to_vec());
    d.set("event.dataset", dataset);
    d.set("event.module", PRODUCT);
    d.set("observer.product", PRODUCT);
    d.set("observer.vendor", PRODUCT);
    d.set("observer.type", OBSERVER_TYPE);
    d.set("observer.version", env!("CARGO_PKG_VERSION"));
}

fn event(mut n: Map<String, Value>) -> Doc {
    let mut d = Doc(Map::new());
    let et = n.remove("event_type");
    let ts = n.remove("timestamp");
    let ts = ts.as_ref().and_then(Value::as_str);
    match et.as_ref().and_then(Value::as_str) {
        Some("flow") => flow(&mut d, ts, n),
        Some("finding") => finding(&mut d, ts, n),
        Some("role") => role(&mut d, ts, n),
        Some("stats") => stats(&mut d, ts, n),
        other => {
            let name = other
                .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
                .unwrap_or("unknown");
            base(&mut d, ts, "event", &["network"], &["info"], &format!("exwatch.{name}"));
            d.set("exwatch.record", Value::Object(n));
        }
    }
    d
}

fn pipeline_error(why: &str, line: &[u8]) -> Doc {
    let mut d = Doc(Map::new());
    base(&mut d, None, "pipeline_error", &["network"], &["info"], "exwatch.error");
    d.set("error.message", why);
    let cut = &line[..line.len().min(MAX_ORIGINAL_BYTES)];
    d.set("event.original", String::from_utf8_lossy(cut).into_owned());
    d
}

/// `source`, `destination`, `network` and `related.ip` from the native 5-tuple fields.
fn five_tuple(d: &mut Doc, n: &Value) {
    let src = s(n, "src_ip");
    let dst = s(n, "dst_ip");
    d.set_opt("source.ip", src);
    d.set_opt("source.port", u(n, "src_port"));
    d.set_opt("destination.ip", dst);
    d.set_opt("destination.port", u(n, "dst_port"));
    let transport = s(n, "transport");
    d.set_opt("network.transport", transport);
    d.set_opt(
        "network.iana_number",
        match transport {
            Some("tcp") => Some("6"),
            Some("udp") => Some("17"),
            _ => None,
        },
    );
    if let Some(ip) = src.or(dst) {
        d.set("network.type", if ip.contains(':') { "ipv6" } else { "ipv4" });
    }
    d.set_opt("network.protocol", s(n, "app_proto"));
    d.set_opt("network.community_id", s(n, "community_id"));
    let mut ips: Vec<&str> = src.into_iter().chain(dst).collect();
    ips.dedup();
    if !ips.is_empty() {
        d.set("related.ip", ips);
    }
}

/// Native fields that ECS holds whole: not repeated under `exwatch.*`.
const FLOW_IN_ECS: &[&str] = &[
    "end",
    "duration_s",
    "community_id",
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
];

fn flow(d: &mut Doc, ts: Option<&str>, n: Map<String, Value>) {
    // an interim record of a flow still open is not its end
    let interim = n.get("interim").and_then(Value::as_bool) == Some(true);
    let types: &[&str] = if interim {
        &["connection", "info"]
    } else {
        &["connection", "end"]
    };
    base(d, ts, "event", &["network"], types, "exwatch.flow");
    let v = Value::Object(n);
    d.set_opt("event.start", ts);
    d.set_opt("event.end", s(&v, "end"));
    if let Some(secs) = v.get("duration_s").and_then(Value::as_f64)
        && secs.is_finite()
        && secs >= 0.0
    {
        // the native value has microseconds: round there, then scale
        d.set("event.duration", (secs * 1e6).round() as u64 * 1000);
    }
    five_tuple(d, &v);
    let (ps, pc) = (u(&v, "pkts_toserver"), u(&v, "pkts_toclient"));
    let (bs, bc) = (u(&v, "bytes_toserver"), u(&v, "bytes_toclient"));
    d.set_opt("source.packets", ps);
    d.set_opt("source.bytes", bs);
    d.set_opt("destination.packets", pc);
    d.set_opt("destination.bytes", bc);
    if let (Some(a), Some(b)) = (bs, bc) {
        d.set("network.bytes", a.saturating_add(b));
    }
    if let (Some(a), Some(b)) = (ps, pc) {
        d.set("network.packets", a.saturating_add(b));
    }
    let vlan = arr(&v, "vlan");
    if let Some(outer) = vlan.first().and_then(Value::as_u64) {
        d.set("network.vlan.id", outer.to_string());
    }
    if let Some(inner) = vlan.get(1).and_then(Value::as_u64) {
        d.set("network.inner.vlan.id", inner.to_string());
    }
    if let Some(t) = v.get("tls").filter(|t| t.is_object()) {
        tls(d, t);
    }
    if let Some(h) = v.get("http").filter(|h| h.is_object()) {
        http(d, h);
    }
    if let Some(m) = v.get("smtp") {
        let from: Vec<&str> = strs(m, "mail_from").collect();
        let to: Vec<&str> = strs(m, "rcpt_to").collect();
        if !from.is_empty() {
            d.set("email.from.address", from);
        }
        if !to.is_empty() {
            d.set("email.to.address", to);
        }
    }
    users(d, &flow_users(&v));
    if let Some(p) = v.get("data_path").filter(|p| p.is_object()) {
        d.set_opt("rule.id", s(p, "id"));
        d.set_opt("rule.name", s(p, "name"));
    }
    let Value::Object(mut n) = v else { return };
    for k in FLOW_IN_ECS {
        n.remove(*k);
    }
    // two tags or fewer are whole in network.vlan.id / network.inner.vlan.id
    if n.get("vlan").and_then(Value::as_array).is_some_and(|t| t.len() <= 2) {
        n.remove("vlan");
    }
    rest(d, "exwatch", n);
}

/// Non-null native fields under `prefix.<field>`.
fn rest(d: &mut Doc, prefix: &str, n: Map<String, Value>) {
    for (k, v) in n {
        if !v.is_null() {
            d.set(&format!("{prefix}.{k}"), v);
        }
    }
}

/// (user, NTLMSSP domain) pairs found by the parsers, in a fixed order.
fn flow_users(v: &Value) -> Vec<(&str, Option<&str>)> {
    let mut out: Vec<(&str, Option<&str>)> = Vec::new();
    for p in ["smtp", "imap", "pop3"] {
        if let Some(o) = v.get(p) {
            out.extend(arr(o, "auth").iter().filter_map(|a| s(a, "user")).map(|u| (u, None)));
        }
    }
    if let Some(h) = v.get("http") {
        out.extend(strs(h, "users").map(|u| (u, None)));
    }
    if let Some(l) = v.get("ldap") {
        if let Some(nt) = l.get("ntlmssp") {
            out.extend(s(nt, "user").map(|u| (u, s(nt, "domain"))));
        }
        out.extend(arr(l, "binds").iter().filter_map(|b| s(b, "name")).map(|u| (u, None)));
    }
    if let Some(nt) = v.get("dcerpc").and_then(|x| x.get("ntlmssp")) {
        out.extend(s(nt, "user").map(|u| (u, s(nt, "domain"))));
    }
    if let Some(sip) = v.get("sip") {
        for c in arr(sip, "calls") {
            out.extend(strs(c, "digest_usernames").map(|u| (u, None)));
        }
    }
    out.retain(|(u, _)| !u.is_empty());
    out
}

/// `user.name` (and `user.domain`) from the first, `related.user` from all.
fn users(d: &mut Doc, found: &[(&str, Option<&str>)]) {
    let Some(&(first, domain)) = found.first() else {
        return;
    };
    d.set("user.name", first);
    d.set_opt("user.domain", domain.filter(|x| !x.is_empty()));
    let mut related: Vec<&str> = Vec::new();
    for (u, _) in found {
        if !related.contains(u) && related.len() < MAX_RELATED_USERS {
            related.push(u);
        }
    }
    d.set("related.user", related);
}

/// `TLSv1.2` as (`tls`, `1.2`), `SSLv3` as (`ssl`, `3.0`).
fn tls_version(v: &str) -> Option<(&'static str, String)> {
    if let Some(x) = v.strip_prefix("TLSv") {
        return Some(("tls", x.to_string()));
    }
    let x = v.strip_prefix("SSLv")?;
    Some((
        "ssl",
        if x.contains('.') {
            x.to_string()
        } else {
            format!("{x}.0")
        },
    ))
}

fn tls(d: &mut Doc, t: &Value) {
    if let Some((proto, ver)) = s(t, "version").and_then(tls_version) {
        d.set("tls.version_protocol", proto);
        d.set("tls.version", ver);
    }
    let ch = t.get("client_hello").filter(|x| x.is_object());
    let sh = t.get("server_hello").filter(|x| x.is_object());
    if let Some(c) = ch {
        d.set_opt("tls.client.server_name", s(c, "sni").filter(|x| !x.is_empty()));
        d.set_opt("tls.client.ja3", s(c, "ja3_hash").filter(|x| !x.is_empty()));
        let names: Vec<&str> = arr(c, "ciphers")
            .iter()
            .filter_map(Value::as_u64)
            .filter_map(|id| u16::try_from(id).ok())
            .filter_map(crate::proto::tls::cipher_name)
            .collect();
        if !names.is_empty() {
            d.set("tls.client.supported_ciphers", names);
        }
    }
    if let Some(h) = sh {
        d.set_opt("tls.cipher", s(h, "cipher_name"));
        d.set_opt("tls.next_protocol", s(h, "alpn").filter(|x| !x.is_empty()));
        d.set_opt("tls.server.ja3s", s(h, "ja3s_hash").filter(|x| !x.is_empty()));
    }
    d.set_opt("tls.resumed", t.get("resumed").and_then(Value::as_bool));
    let fatal = arr(t, "alerts").iter().any(|a| u(a, "level") == Some(2));
    d.set("tls.established", sh.is_some() && !fatal);
    for side in ["server", "client"] {
        let leaf = arr(t, "certificates")
            .iter()
            .find(|c| s(c, "sender") == Some(side) && u(c, "chain_index") == Some(0) && c.get("subject").is_some());
        if let Some(c) = leaf {
            cert(d, &format!("tls.{side}"), c);
        }
    }
}

/// One certificate's fields under `prefix` (`tls.server`, `tls.client`).
fn cert(d: &mut Doc, prefix: &str, c: &Value) {
    let x = format!("{prefix}.x509");
    d.set_opt(&format!("{prefix}.subject"), s(c, "subject"));
    d.set_opt(&format!("{prefix}.issuer"), s(c, "issuer"));
    d.set_opt(&format!("{prefix}.not_before"), s(c, "not_before"));
    d.set_opt(&format!("{prefix}.not_after"), s(c, "not_after"));
    d.set_opt(&format!("{x}.subject.distinguished_name"), s(c, "subject"));
    d.set_opt(&format!("{x}.issuer.distinguished_name"), s(c, "issuer"));
    d.set_opt(&format!("{x}.subject.common_name"), s(c, "subject_cn").map(|v| vec![v]));
    d.set_opt(&format!("{x}.issuer.common_name"), s(c, "issuer_cn").map(|v| vec![v]));
    d.set_opt(&format!("{x}.not_before"), s(c, "not_before"));
    d.set_opt(&format!("{x}.not_after"), s(c, "not_after"));
    // ECS: alphanumeric serials without colons, in upper case
    d.set_opt(
        &format!("{x}.serial_number"),
        s(c, "serial").map(|v| v.replace(':', "").to_ascii_uppercase()),
    );
    let san: Vec<&str> = strs(c, "san_dns").collect();
    if !san.is_empty() {
        d.set(&format!("{x}.alternative_names"), san);
    }
}

/// The host part of a `Host` header (`[::1]:8080` is `::1`, `mail.example:443` is `mail.example`).
fn host_name(h: &str) -> &str {
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match h.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => h,
    }
}

fn http(d: &mut Doc, h: &Value) {
    let req = arr(h, "requests").first();
    if let Some(r) = req {
        d.set_opt("http.request.method", s(r, "method"));
        d.set_opt("http.version", s(r, "version").and_then(|v| v.strip_prefix("HTTP/")));
        d.set_opt("user_agent.original", s(r, "user_agent"));
        d.set_opt("url.domain", s(r, "host").map(host_name).filter(|x| !x.is_empty()));
        if let Some(t) = s(r, "target") {
            d.set("url.original", t);
            // origin form (`/owa/?x=1`) or absolute form (`http://host/owa/`)
            let path = if t.starts_with('/') {
                Some(t)
            } else {
                t.split_once("://")
                    .map(|(_, after)| after.find('/').map_or("/", |i| &after[i..]))
            };
            if let Some(p) = path {
                let (p, q) = p.split_once('?').map_or((p, None), |(p, q)| (p, Some(q)));
                d.set("url.path", p);
                d.set_opt("url.query", q.filter(|q| !q.is_empty()));
            }
        }
    }
    let status = arr(h, "responses")
        .first()
        .and_then(|r| u(r, "status"))
        .or_else(|| req.and_then(|r| u(r, "status")));
    d.set_opt("http.response.status_code", status);
}

fn finding(d: &mut Doc, ts: Option<&str>, n: Map<String, Value>) {
    base(
        d,
        ts,
        "alert",
        &["network", "intrusion_detection"],
        &["info"],
        "exwatch.finding",
    );
    let v = Value::Object(n);
    five_tuple(d, &v);
    let kind = s(&v, "kind");
    d.set_opt("rule.id", kind);
    d.set_opt("rule.name", kind);
    d.set_opt("rule.description", s(&v, "message"));
    d.set("rule.ruleset", PRODUCT);
    d.set_opt("message", s(&v, "message"));
    d.set_opt("event.severity", s(&v, "severity").and_then(severity_score));
    if let Some(user) = v.get("evidence").and_then(|e| s(e, "user")).filter(|x| !x.is_empty()) {
        users(d, &[(user, None)]);
    }
    let Value::Object(mut n) = v else { return };
    for k in [
        "kind",
        "message",
        "src_ip",
        "src_port",
        "dst_ip",
        "dst_port",
        "transport",
        "app_proto",
        "community_id",
    ] {
        n.remove(k);
    }
    rest(d, "exwatch.finding", n);
}

fn role(d: &mut Doc, ts: Option<&str>, mut n: Map<String, Value>) {
    base(d, ts, "event", &["host"], &["info"], "exwatch.role");
    if let Some(ip) = n.remove("ip").filter(|x| x.is_string()) {
        d.set("host.ip", vec![ip.clone()]);
        d.set("related.ip", vec![ip]);
    }
    if let Some(c) = n.remove("community_id") {
        d.set("network.community_id", c);
    }
    rest(d, "exwatch.role", n);
}

fn stats(d: &mut Doc, ts: Option<&str>, n: Map<String, Value>) {
    base(d, ts, "metric", &["network"], &["info"], "exwatch.stats");
    if let Some(c) = n.get("capture") {
        d.set_opt("event.start", s(c, "first_packet"));
        d.set_opt("event.end", s(c, "last_packet"));
    }
    rest(d, "exwatch.stats", n);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ecs(native: &str) -> Value {
        let mut out = Vec::new();
        translate(native.as_bytes(), &mut out);
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        serde_json::from_slice(&out).expect("valid JSON")
    }

    #[test]
    fn finding_is_an_alert() {
        let e = ecs(
            r#"{"event_type":"finding","timestamp":"2024-01-01T00:00:00.000000Z","kind":"cleartext_credentials","severity":"high","message":"SMTP AUTH PLAIN in clear text","community_id":"1:abc=","src_ip":"10.0.0.9","src_port":50000,"dst_ip":"10.0.0.5","dst_port":25,"transport":"tcp","app_proto":"smtp","data_path":"ex2016.mail.internet-edge-smtp","evidence":{"protocol":"smtp","mechanism":"PLAIN","user":"alice"}}"#,
        );
        assert_eq!(e["@timestamp"], "2024-01-01T00:00:00.000000Z");
        assert_eq!(e["event"]["kind"], "alert");
        assert_eq!(e["event"]["severity"], 73);
        assert_eq!(e["event"]["dataset"], "exwatch.finding");
        assert_eq!(e["rule"]["id"], "cleartext_credentials");
        assert_eq!(e["rule"]["description"], "SMTP AUTH PLAIN in clear text");
        assert_eq!(e["message"], "SMTP AUTH PLAIN in clear text");
        assert_eq!(e["source"], json!({"ip": "10.0.0.9", "port": 50000}));
        assert_eq!(e["destination"], json!({"ip": "10.0.0.5", "port": 25}));
        assert_eq!(e["network"]["protocol"], "smtp");
        assert_eq!(e["network"]["community_id"], "1:abc=");
        assert_eq!(e["user"]["name"], "alice");
        assert_eq!(e["related"]["user"], json!(["alice"]));
        assert_eq!(
            e["exwatch"]["finding"],
            json!({"severity": "high", "data_path": "ex2016.mail.internet-edge-smtp",
                   "evidence": {"protocol": "smtp", "mechanism": "PLAIN", "user": "alice"}})
        );
    }

    #[test]
    fn severities() {
        for (w, n) in [("high", 73), ("medium", 47), ("low", 21), ("info", 0)] {
            let e = ecs(&format!(
                r#"{{"event_type":"finding","severity":"{w}","kind":"weak_tls","data_path":null}}"#
            ));
            assert_eq!(e["event"]["severity"], n);
            // a null data path is left out
            assert!(e["exwatch"]["finding"].get("data_path").is_none());
        }
    }

    #[test]
    fn role_names_the_host() {
        let e = ecs(
            r#"{"event_type":"role","timestamp":"2024-01-01T00:00:00.000000Z","ip":"10.0.0.5","role":"edge","source":"inferred","evidence":"serves tcp/50636 (EdgeSync LDAPS)","evidence_kind":"edgesync_ldaps","community_id":"1:x="}"#,
        );
        assert_eq!(e["host"]["ip"], json!(["10.0.0.5"]));
        assert_eq!(e["event"]["kind"], "event");
        assert_eq!(e["network"]["community_id"], "1:x=");
        assert_eq!(e["exwatch"]["role"]["role"], "edge");
        assert_eq!(e["exwatch"]["role"]["evidence_kind"], "edgesync_ldaps");
    }

    #[test]
    fn flow_with_a_data_path_and_findings() {
        let e = ecs(
            r#"{"event_type":"flow","timestamp":"2024-01-01T00:00:00.000000Z","end":"2024-01-01T00:00:01.026737Z","duration_s":1.026737,"community_id":"1:c=","src_ip":"fe80::1","src_port":1,"dst_ip":"fe80::2","dst_port":25,"transport":"tcp","vlan":[100,200],"pkts_toserver":3,"pkts_toclient":2,"bytes_toserver":300,"bytes_toclient":200,"end_reason":"fin","app_proto":"smtp","app_proto_orig":null,"data_path":{"id":"ex2016.mail.internet-edge-smtp","name":"Internet to Edge: SMTP","exchange_versions":["2016"],"src_role":null,"dst_role":"edge","src_role_from":null,"dst_role_from":"inventory","match":"exact","candidates":[]},"findings":[{"kind":"starttls_not_used","severity":"medium","message":"m"}]}"#,
        );
        assert_eq!(e["event"]["duration"], 1_026_737_000u64);
        assert_eq!(e["event"]["type"], json!(["connection", "end"]));
        assert_eq!(e["network"]["type"], "ipv6");
        assert_eq!(e["network"]["iana_number"], "6");
        assert_eq!(e["network"]["bytes"], 500);
        assert_eq!(e["network"]["packets"], 5);
        assert_eq!(e["network"]["vlan"]["id"], "100");
        assert_eq!(e["network"]["inner"]["vlan"]["id"], "200");
        assert_eq!(e["rule"]["id"], "ex2016.mail.internet-edge-smtp");
        assert_eq!(e["rule"]["name"], "Internet to Edge: SMTP");
        assert_eq!(e["exwatch"]["data_path"]["match"], "exact");
        assert_eq!(e["exwatch"]["findings"][0]["kind"], "starttls_not_used");
        assert_eq!(e["exwatch"]["end_reason"], "fin");
        for gone in ["vlan", "src_ip", "bytes_toserver", "app_proto", "app_proto_orig"] {
            assert!(e["exwatch"].get(gone).is_none(), "{gone}");
        }
    }

    #[test]
    fn no_path_and_user_sources() {
        let e = ecs(
            r#"{"event_type":"flow","src_ip":"10.0.0.1","dst_ip":"10.0.0.1","data_path":null,"no_path":"no catalog entry","ldap":{"binds":[{"name":""}],"ntlmssp":{"user":"bob","domain":"CORP"}},"dcerpc":{"ntlmssp":{"user":"bob","domain":"CORP"}},"http":{"users":["carol"],"requests":[{"method":"GET","target":"http://mail.example/owa/?a=1","version":"HTTP/1.1","host":"[::1]:8080","status":200}],"responses":[]}}"#,
        );
        assert_eq!(e["exwatch"]["no_path"], "no catalog entry");
        assert_eq!(e["user"]["name"], "carol");
        assert!(e["user"].get("domain").is_none());
        assert_eq!(e["related"]["user"], json!(["carol", "bob"]));
        assert_eq!(e["related"]["ip"], json!(["10.0.0.1"]));
        assert_eq!(e["url"]["path"], "/owa/");
        assert_eq!(e["url"]["query"], "a=1");
        assert_eq!(e["url"]["domain"], "::1");
        assert_eq!(e["http"]["version"], "1.1");
        assert_eq!(e["http"]["response"]["status_code"], 200);
        assert!(e.get("rule").is_none());
    }

    #[test]
    fn host_names() {
        assert_eq!(host_name("mail.example:443"), "mail.example");
        assert_eq!(host_name("mail.example"), "mail.example");
        assert_eq!(host_name("[2001:db8::1]:80"), "2001:db8::1");
        assert_eq!(host_name("2001:db8::1"), "2001:db8::1");
    }

    #[test]
    fn tls_versions() {
        assert_eq!(tls_version("TLSv1.3"), Some(("tls", "1.3".into())));
        assert_eq!(tls_version("SSLv3"), Some(("ssl", "3.0".into())));
        assert_eq!(tls_version("0x7f17"), None);
    }

    #[test]
    fn garbage_is_a_pipeline_error_not_a_panic() {
        for bad in [
            "",
            "not json",
            "[1,2]",
            "{\"event_type\":",
            "{\"event_type\":7,\"timestamp\":null}",
        ] {
            let mut out = Vec::new();
            translate(bad.as_bytes(), &mut out);
            let e: Value = serde_json::from_slice(&out).unwrap();
            assert!(e["@timestamp"].is_string(), "{bad}");
            assert_eq!(e["ecs"]["version"], ECS_VERSION);
        }
        let e = ecs("[1]");
        assert_eq!(e["event"]["kind"], "pipeline_error");
        assert_eq!(e["event"]["original"], "[1]");
        let e = ecs(r#"{"event_type":7}"#);
        assert_eq!(e["event"]["dataset"], "exwatch.unknown");
    }

    #[test]
    fn lines_one_for_one() {
        let mut out = Vec::new();
        translate_lines(b"{\"event_type\":\"stats\",\"timestamp\":\"2024-01-01T00:00:00.000000Z\",\"capture\":{\"first_packet\":\"2024-01-01T00:00:00.000000Z\",\"last_packet\":null}}\n\n{\"event_type\":\"role\",\"ip\":\"10.0.0.5\"}\n", &mut out);
        let lines: Vec<Value> = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"]["kind"], "metric");
        assert_eq!(lines[0]["event"]["start"], "2024-01-01T00:00:00.000000Z");
        assert!(lines[0]["event"].get("end").is_none());
        assert_eq!(lines[0]["exwatch"]["stats"]["capture"]["last_packet"], Value::Null);
        assert_eq!(lines[1]["host"]["ip"], json!(["10.0.0.5"]));
    }
}
