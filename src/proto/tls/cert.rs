//! X.509 certificate facts from a clear-text Certificate message (x509-parser).

use super::{CertInfo, Sender};
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::ParsedExtension;
use x509_parser::objects::{oid_registry, oid2abbrev};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// SAN DNS names kept per certificate (a CDN certificate can list hundreds).
pub const MAX_SAN_NAMES: usize = 64;

/// Owned facts about one DER certificate. `ts_ns` is the time of the packet that completed the
/// Certificate message (for `expired`). A certificate x509-parser cannot read is kept with
/// `parsed: false` and its length only.
pub fn cert_info(der: &[u8], sender: Sender, chain_index: usize, ts_ns: u64) -> CertInfo {
    let mut info = CertInfo {
        sender,
        chain_index,
        der_len: der.len(),
        ..CertInfo::default()
    };
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return info;
    };
    let tbs = &cert.tbs_certificate;
    info.parsed = true;
    info.subject = dn(&tbs.subject);
    info.issuer = dn(&tbs.issuer);
    info.subject_cn = first_cn(&tbs.subject);
    info.issuer_cn = first_cn(&tbs.issuer);
    info.not_before = tbs.validity.not_before.timestamp();
    info.not_after = tbs.validity.not_after.timestamp();
    info.serial = tbs.raw_serial().iter().map(|b| format!("{b:02x}")).collect();
    let now = (ts_ns / 1_000_000_000) as i64;
    info.expired = now > info.not_after;
    info.not_yet_valid = now < info.not_before;
    let (mut aki, mut ski) = (None, None);
    for ext in tbs.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for gn in &san.general_names {
                    if let x509_parser::extensions::GeneralName::DNSName(n) = gn
                        && info.san_dns.len() < MAX_SAN_NAMES
                    {
                        info.san_dns.push((*n).to_string());
                    }
                }
            }
            ParsedExtension::AuthorityKeyIdentifier(a) => aki = a.key_identifier.as_ref().map(|k| k.0),
            ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0),
            _ => {}
        }
    }
    info.self_issued = tbs.subject.as_raw() == tbs.issuer.as_raw();
    info.self_signed = info.self_issued
        && match (aki, ski) {
            (Some(a), Some(s)) => a == s,
            _ => true,
        };
    info
}

/// A DN as `C=US,O=Example, Inc.,CN=host` (RDNs in certificate order, as tshark shows them;
/// multi-valued RDNs joined by `+`; unknown attribute types as dotted OIDs).
pub fn dn(name: &X509Name<'_>) -> String {
    let reg = oid_registry();
    let mut out = String::new();
    for (i, rdn) in name.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match oid2abbrev(atv.attr_type(), reg) {
                Ok(a) => out.push_str(a),
                Err(_) => out.push_str(&atv.attr_type().to_id_string()),
            }
            out.push('=');
            out.push_str(&attr_text(atv));
        }
    }
    out
}

/// An attribute value as text: the string types x509-parser reads, BMPString as UTF-16BE, and
/// anything else (TeletexString, ...) as lossy UTF-8 of its bytes.
fn attr_text(atv: &AttributeTypeAndValue<'_>) -> String {
    if let Ok(s) = atv.as_str() {
        return s.to_string();
    }
    let raw = atv.as_slice();
    if atv.attr_value().tag() == Tag::BmpString {
        let units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        return String::from_utf16_lossy(&units);
    }
    String::from_utf8_lossy(raw).into_owned()
}

fn first_cn(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name().next().map(attr_text)
}
