//! The `tls` object of a flow record: what [`TlsSummary`] holds, as JSON.
//!
//! Ids are numbers (cipher suites, extension types, groups, signature algorithms, versions in
//! lists), with a name beside them where one is known (`cipher` + `cipher_name`); versions of
//! the connection are strings (`TLSv1.2`); certificate validity is RFC 3339.
//!
//! | field | meaning |
//! |---|---|
//! | `version` | negotiated version (`SSLv2` ... `TLSv1.3`) or `null` |
//! | `client_hello` | `record_version`, `client_version`, `supported_versions`, `sni`, `alpn`, `ciphers`, `extensions`, `supported_groups`, `signature_algorithms`, `key_share_groups`, `ec_point_formats`, `session_ticket`, `psk`, `sslv2_format`, `ja3`, `ja3_hash`, `ja4` |
//! | `server_hello` | `legacy_version`, `selected_version`, `cipher`, `cipher_name`, `alpn`, `key_share_group`, `extensions`, `session_id_echoed`, `psk`, `session_ticket`, `ja3s`, `ja3s_hash` |
//! | `resumed`, `hello_retry_request`, `sslv2`, `session_ticket_issued` | booleans |
//! | `weak` | [`TlsSummary::weak_reasons`] |
//! | `certificates` | `sender`, `chain_index`, `subject`, `issuer`, `subject_cn`, `issuer_cn`, `san_dns`, `not_before`, `not_after`, `serial`, `self_issued`, `self_signed`, `expired`, `not_yet_valid` (or `parsed: false` and `der_len`) |
//! | `alerts` | `sender`, `level`, `description` |
//! | `app_data_records_toserver`, `..._toclient` | application-data records counted before the parser stopped |
//! | `malformed`, `gap`, `too_large` | directions (`toserver`/`toclient`) where parsing stopped early, and why |

use super::json::Obj;
use crate::proto::tls::{CertInfo, TlsSummary, cipher_name, version_name};

/// A version as its name, or `0x....` when unknown.
fn version_str(v: u16) -> String {
    version_name(v).map_or_else(|| format!("0x{v:04x}"), str::to_string)
}

fn u16s(v: &[u16]) -> impl Iterator<Item = u64> + '_ {
    v.iter().map(|&x| x as u64)
}

/// Seconds since the epoch as RFC 3339 (`null` for times before 1970).
fn unix_time(o: &mut Obj<'_>, k: &str, secs: i64) {
    match u64::try_from(secs) {
        Ok(s) => o.time(k, s.saturating_mul(1_000_000_000)),
        Err(_) => o.null(k),
    };
}

fn dirs(o: &mut Obj<'_>, k: &str, v: [bool; 2]) {
    let names = ["toserver", "toclient"];
    o.str_array(k, names.iter().zip(v).filter(|(_, b)| *b).map(|(n, _)| *n));
}

fn write_cert(o: &mut Obj<'_>, c: &CertInfo) {
    o.str("sender", c.sender.as_str())
        .u64("chain_index", c.chain_index as u64);
    let x = &c.cert;
    if !x.parsed {
        o.bool("parsed", false).u64("der_len", x.der_len as u64);
        return;
    }
    o.str("subject", &x.subject)
        .str("issuer", &x.issuer)
        .opt_str("subject_cn", x.subject_cn.as_deref())
        .opt_str("issuer_cn", x.issuer_cn.as_deref())
        .str_array("san_dns", x.san_dns.iter().map(String::as_str));
    unix_time(o, "not_before", x.not_before);
    unix_time(o, "not_after", x.not_after);
    o.str("serial", &x.serial)
        .bool("self_issued", x.self_issued)
        .bool("self_signed", x.self_signed)
        .bool("expired", c.expired)
        .bool("not_yet_valid", c.not_yet_valid);
}

/// Write the summary's fields into `o` (the caller opens the `tls` object).
pub fn write_tls(o: &mut Obj<'_>, s: &TlsSummary) {
    o.opt_str("version", s.version());
    match &s.client_hello {
        Some(c) => {
            o.obj("client_hello", |t| {
                t.str("record_version", &version_str(c.record_version))
                    .str("client_version", &version_str(c.client_version))
                    .u64_array("supported_versions", u16s(&c.supported_versions))
                    .opt_str("sni", c.sni.as_deref())
                    .str_array("alpn", c.alpn.iter().map(String::as_str))
                    .u64_array("ciphers", u16s(&c.ciphers))
                    .u64_array("extensions", u16s(&c.extensions))
                    .u64_array("supported_groups", u16s(&c.supported_groups))
                    .u64_array("signature_algorithms", u16s(&c.signature_algorithms))
                    .u64_array("key_share_groups", u16s(&c.key_share_groups))
                    .u64_array("ec_point_formats", c.ec_point_formats.iter().map(|&x| x as u64))
                    .bool("session_ticket", c.session_ticket)
                    .bool("psk", c.psk)
                    .bool("sslv2_format", c.sslv2_format)
                    .str("ja3", &c.ja3)
                    .str("ja3_hash", &c.ja3_hash)
                    .str("ja4", &c.ja4);
            });
        }
        None => {
            o.null("client_hello");
        }
    }
    match &s.server_hello {
        Some(h) => {
            o.obj("server_hello", |t| {
                t.str("legacy_version", &version_str(h.legacy_version))
                    .str("selected_version", &version_str(h.selected_version))
                    .u64("cipher", h.cipher as u64)
                    .opt_str("cipher_name", cipher_name(h.cipher))
                    .opt_str("alpn", h.alpn.as_deref());
                match h.key_share_group {
                    Some(g) => t.u64("key_share_group", g as u64),
                    None => t.null("key_share_group"),
                };
                t.u64_array("extensions", u16s(&h.extensions))
                    .bool("session_id_echoed", h.session_id_echoed)
                    .bool("psk", h.psk)
                    .bool("session_ticket", h.session_ticket)
                    .str("ja3s", &h.ja3s)
                    .str("ja3s_hash", &h.ja3s_hash);
            });
        }
        None => {
            o.null("server_hello");
        }
    }
    o.bool("resumed", s.resumed())
        .bool("hello_retry_request", s.hello_retry_request)
        .bool("sslv2", s.sslv2)
        .bool("session_ticket_issued", s.session_ticket_issued)
        .str_array("weak", s.weak_reasons())
        .obj_array("certificates", &s.certificates, write_cert)
        .obj_array("alerts", &s.alerts, |t, a| {
            t.str("sender", a.sender.as_str())
                .u64("level", a.level as u64)
                .u64("description", a.description as u64);
        })
        .u64("app_data_records_toserver", s.app_data_records[0])
        .u64("app_data_records_toclient", s.app_data_records[1]);
    dirs(o, "malformed", s.malformed);
    dirs(o, "gap", s.gap);
    dirs(o, "too_large", s.too_large);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tls::{Cert, ServerHelloInfo, TlsSummary};

    #[test]
    fn writes_valid_json_with_names() {
        let s = TlsSummary {
            server_hello: Some(ServerHelloInfo {
                legacy_version: 0x0303,
                selected_version: 0x0304,
                cipher: 4865,
                key_share_group: Some(29),
                ..ServerHelloInfo::default()
            }),
            certificates: vec![CertInfo {
                sender: Default::default(),
                chain_index: 0,
                expired: false,
                not_yet_valid: false,
                cert: std::sync::Arc::new(Cert {
                    parsed: true,
                    subject: "CN=a\"b".into(),
                    not_before: 0,
                    not_after: 1_704_067_200,
                    ..Cert::default()
                }),
            }],
            malformed: [false, true],
            ..TlsSummary::default()
        };
        let mut buf = Vec::new();
        let mut o = Obj::new(&mut buf);
        o.obj("tls", |t| write_tls(t, &s));
        o.close();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        let t = &v["tls"];
        assert_eq!(t["version"], "TLSv1.3");
        assert_eq!(t["server_hello"]["cipher"], 4865);
        assert_eq!(t["server_hello"]["cipher_name"], "TLS_AES_128_GCM_SHA256");
        assert_eq!(t["server_hello"]["legacy_version"], "TLSv1.2");
        assert_eq!(t["client_hello"], serde_json::Value::Null);
        assert_eq!(t["certificates"][0]["subject"], "CN=a\"b");
        assert_eq!(t["certificates"][0]["not_after"], "2024-01-01T00:00:00.000000Z");
        assert_eq!(t["malformed"], serde_json::json!(["toclient"]));
    }
}
