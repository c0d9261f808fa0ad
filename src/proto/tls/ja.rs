//! Client and server hello fingerprints: JA3 / JA3S (salesforce/ja3, BSD-3) and the JA4 client
//! fingerprint (FoxIO JA4, BSD-3). JA4S, JA4X and the rest of "JA4+" are under the FoxIO
//! License and deliberately not implemented.

use super::parser::{EXT_ALPN, EXT_SERVER_NAME, is_grease};
use crate::proto::hex;
use md5::{Digest as _, Md5};
use sha2::Sha256;
use std::fmt::Write as _;

/// Hex characters of a JA4 hash part (the spec truncates SHA-256 to 12).
const JA4_HASH_LEN: usize = 12;
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
/// JA4 counts are two decimal digits, capped.
const JA4_MAX_COUNT: usize = 99;

fn join_dec<T: Copy + Into<u32>>(out: &mut String, vals: impl IntoIterator<Item = T>) {
    let mut num = itoa::Buffer::new();
    for (n, v) in vals.into_iter().enumerate() {
        if n > 0 {
            out.push('-');
        }
        out.push_str(num.format(v.into()));
    }
}

/// Lower-case hex of the MD5 digest of `s`.
pub fn md5_hex(s: &str) -> String {
    hex(&Md5::digest(s.as_bytes()))
}

/// JA3: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, decimal
/// values joined by `-`, GREASE values (RFC 8701) left out of every list, as the JA3 README and
/// tshark do.
pub fn ja3_string(version: u16, ciphers: &[u16], extensions: &[u16], groups: &[u16], point_formats: &[u8]) -> String {
    let mut s = String::with_capacity(256);
    s.push_str(itoa::Buffer::new().format(version));
    s.push(',');
    join_dec(&mut s, ciphers.iter().copied().filter(|&c| !is_grease(c)));
    s.push(',');
    join_dec(&mut s, extensions.iter().copied().filter(|&e| !is_grease(e)));
    s.push(',');
    join_dec(&mut s, groups.iter().copied().filter(|&g| !is_grease(g)));
    s.push(',');
    join_dec(&mut s, point_formats.iter().copied());
    s
}

/// JA3S: `SSLVersion,Cipher,Extensions` (server hello), decimal, extensions joined by `-`.
pub fn ja3s_string(version: u16, cipher: u16, extensions: &[u16]) -> String {
    let mut s = String::with_capacity(64);
    let _ = write!(s, "{version},{cipher},");
    join_dec(&mut s, extensions.iter().copied());
    s
}

/// The JA4 two-character version code.
fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// First 12 hex characters of SHA-256 of `s`, or twelve zeros when the list was empty.
fn ja4_hash(s: &str, empty: bool) -> String {
    if empty {
        return "0".repeat(JA4_HASH_LEN);
    }
    let mut h = hex(&Sha256::digest(s.as_bytes()));
    h.truncate(JA4_HASH_LEN);
    h
}

fn hex4_list(vals: &[u16]) -> String {
    let mut s = String::with_capacity(vals.len() * 5);
    for (n, v) in vals.iter().enumerate() {
        if n > 0 {
            s.push(',');
        }
        for shift in [12, 8, 4, 0] {
            s.push(HEX_DIGITS[((v >> shift) & 15) as usize] as char);
        }
    }
    s
}

/// The inputs JA4 reads from a ClientHello.
#[derive(Debug, Clone, Copy)]
pub struct Ja4Input<'a> {
    /// `legacy_version`, used when there is no supported_versions extension.
    pub legacy_version: u16,
    pub supported_versions: &'a [u16],
    pub ciphers: &'a [u16],
    /// Extension types in wire order.
    pub extensions: &'a [u16],
    pub has_sni: bool,
    /// The first ALPN value, raw.
    pub first_alpn: Option<&'a [u8]>,
    pub signature_algorithms: &'a [u16],
}

/// JA4 (FoxIO, technical_details/JA4.md), TCP: `a_b_c` where
/// a = `t` + version (highest non-GREASE supported_versions, else legacy_version) + `d`/`i`
/// (SNI present or not) + cipher count + extension count (two digits each, GREASE excluded,
/// capped at 99) + first and last character of the first ALPN value (`00` if none; the first
/// and last hex digit of the value when either end is not ASCII alphanumeric);
/// b = SHA-256 of the sorted 4-hex-digit cipher list joined by `,`, first 12 hex characters;
/// c = the same over the sorted extension list without SNI (0) and ALPN (16), then `_` and the
/// signature algorithms in wire order (the `_` part left out when there are none).
pub fn ja4(i: &Ja4Input<'_>) -> String {
    let version = i
        .supported_versions
        .iter()
        .copied()
        .filter(|&v| !is_grease(v))
        .max()
        .unwrap_or(i.legacy_version);
    let mut ciphers: Vec<u16> = i.ciphers.iter().copied().filter(|&c| !is_grease(c)).collect();
    let exts: Vec<u16> = i.extensions.iter().copied().filter(|&e| !is_grease(e)).collect();
    let alpn = match i.first_alpn {
        Some(p) if !p.is_empty() => {
            let (f, l) = (p[0], p[p.len() - 1]);
            if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                format!("{}{}", f as char, l as char)
            } else {
                let h = hex(p);
                let (a, b) = (h.chars().next().unwrap_or('0'), h.chars().last().unwrap_or('0'));
                format!("{a}{b}")
            }
        }
        _ => "00".to_string(),
    };
    let mut s = String::with_capacity(40);
    let _ = write!(
        s,
        "t{}{}{:02}{:02}{}_",
        ja4_version(version),
        if i.has_sni { 'd' } else { 'i' },
        ciphers.len().min(JA4_MAX_COUNT),
        exts.len().min(JA4_MAX_COUNT),
        alpn
    );
    ciphers.sort_unstable();
    s.push_str(&ja4_hash(&hex4_list(&ciphers), ciphers.is_empty()));
    s.push('_');
    let mut sorted: Vec<u16> = exts
        .iter()
        .copied()
        .filter(|&e| e != EXT_SERVER_NAME && e != EXT_ALPN)
        .collect();
    sorted.sort_unstable();
    let mut c = hex4_list(&sorted);
    let sigs: Vec<u16> = i
        .signature_algorithms
        .iter()
        .copied()
        .filter(|&v| !is_grease(v))
        .collect();
    if !sigs.is_empty() {
        c.push('_');
        c.push_str(&hex4_list(&sigs));
    }
    s.push_str(&ja4_hash(&c, sorted.is_empty()));
    s
}
