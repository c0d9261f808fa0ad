//! X.509 certificate facts from a clear-text Certificate message (x509-parser).

use super::{Cert, CertInfo, Sender};
use crate::proto::hex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// SAN DNS names kept per certificate (a CDN certificate can list hundreds).
pub const MAX_SAN_NAMES: usize = 64;

/// Distinct certificates remembered per thread (a server sends the same chain on every
/// connection: parsing it once per connection was a fifth of the run time on mix.pcap).
pub const MAX_CACHED_CERTS: usize = 1024;
/// DER bytes held by the cache at most; past either limit it starts over empty.
pub const MAX_CACHED_CERT_BYTES: usize = 4 << 20;

/// Bytes from the end of a DER certificate that key the cache: they are signature bytes,
/// different for every certificate (the whole DER is compared on a hit).
const CACHE_KEY_TAIL: usize = 32;

#[derive(Default)]
struct CertCache {
    map: HashMap<u64, (Box<[u8]>, Arc<Cert>)>,
    bytes: usize,
}

thread_local! {
    static CACHE: RefCell<CertCache> = RefCell::default();
}

/// FNV-1a over the length and the last [`CACHE_KEY_TAIL`] bytes.
fn cache_key(der: &[u8]) -> u64 {
    let tail = &der[der.len().saturating_sub(CACHE_KEY_TAIL)..];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in (der.len() as u64).to_le_bytes().iter().chain(tail) {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// One certificate of a Certificate message. `ts_ns` is the time of the packet that completed
/// the message (for `expired`). The certificate's facts come from a per-thread memo of
/// [`parse_cert`], so the same DER seen again costs a hash and a compare.
pub fn cert_info(der: &[u8], sender: Sender, chain_index: usize, ts_ns: u64) -> CertInfo {
    let key = cache_key(der);
    let cert = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some((d, cert)) = c.map.get(&key)
            && **d == *der
        {
            return cert.clone();
        }
        let cert = Arc::new(parse_cert(der));
        if c.map.len() >= MAX_CACHED_CERTS || c.bytes + der.len() > MAX_CACHED_CERT_BYTES {
            c.map.clear();
            c.bytes = 0;
        }
        if der.len() <= MAX_CACHED_CERT_BYTES {
            c.bytes += der.len();
            if let Some((old, _)) = c.map.insert(key, (der.into(), cert.clone())) {
                c.bytes -= old.len();
            }
        }
        cert
    });
    let now = (ts_ns / 1_000_000_000) as i64;
    CertInfo {
        sender,
        chain_index,
        expired: cert.parsed && now > cert.not_after,
        not_yet_valid: cert.parsed && now < cert.not_before,
        cert,
    }
}

/// The facts of one DER certificate (RFC 5280 §4.1). One x509-parser cannot read is kept with
/// `parsed: false` and its length only.
pub fn parse_cert(der: &[u8]) -> Cert {
    let mut info = Cert {
        der_len: der.len(),
        ..Cert::default()
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
    info.serial = hex(tbs.raw_serial());
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

/// Attribute types written by name in a DN: RFC 4514 §3's short names (without STREET, which
/// tshark and OpenSSL print otherwise) and `emailAddress` (PKCS #9), as tshark writes them, so
/// DNs compare equal across tools. Every other type is its dotted OID (RFC 4514 §2.3).
const DN_NAMES: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
];

/// A DN as `C=US,O=Example, Inc.,CN=host` (RDNs in certificate order, as tshark shows them;
/// multi-valued RDNs joined by `+`; attribute types named as in [`DN_NAMES`], else dotted).
pub fn dn(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    for (i, rdn) in name.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = atv.attr_type().to_id_string();
            match DN_NAMES.iter().find(|(o, _)| *o == oid) {
                Some((_, n)) => out.push_str(n),
                None => out.push_str(&oid),
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::proto::tls::TlsState;
    use crate::proto::{Direction, StreamParser};

    /// openssl s_server's flight with its self-signed certificate (make-tls-fixtures.sh).
    const SERVER_FLIGHT: &[u8] = include_bytes!("../../../fixtures/pdu/tls/tls10-selfsigned.s2c.bin");

    fn server_cert(ts_ns: u64) -> CertInfo {
        let mut st = TlsState::new();
        st.feed(Direction::ToClient, SERVER_FLIGHT, ts_ns);
        st.summary().certificates[0].clone()
    }

    fn cached() -> (usize, usize) {
        CACHE.with(|c| {
            let c = c.borrow();
            (c.map.len(), c.bytes)
        })
    }

    #[test]
    fn the_same_der_is_parsed_once_and_dated_per_sighting() {
        let a = server_cert(0);
        let b = server_cert(u64::MAX / 2);
        assert!(Arc::ptr_eq(&a.cert, &b.cert), "one parse for both connections");
        assert_eq!(a.cert.subject, "CN=selfsigned.exwatch.test");
        assert!(a.not_yet_valid && !a.expired, "1970 is before the certificate");
        assert!(b.expired && !b.not_yet_valid, "2262 is after it");
        assert_eq!((b.sender, b.chain_index), (Sender::Server, 0));
    }

    #[test]
    fn the_cache_stays_bounded() {
        for i in 0..(MAX_CACHED_CERTS as u32 + 10) {
            let junk = i.to_be_bytes().repeat(16);
            let c = cert_info(&junk, Sender::Server, 0, 0);
            assert!(!c.cert.parsed && !c.expired && !c.not_yet_valid);
            let (n, bytes) = cached();
            assert!(n <= MAX_CACHED_CERTS && bytes <= MAX_CACHED_CERT_BYTES);
        }
        // a certificate larger than the whole cache is parsed but not kept
        let big = vec![0x30; MAX_CACHED_CERT_BYTES + 1];
        cert_info(&big, Sender::Server, 0, 0);
        assert!(cached().1 <= MAX_CACHED_CERT_BYTES);
    }
}
