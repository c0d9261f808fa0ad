//! A minimal BER reader for LDAP (RFC 4511 §5.1, X.690 §8.1): definite lengths only, one-byte
//! tags, borrowed bodies, no allocation.
//!
//! Why not rusticata's `ldap-parser`: its `AuthenticationChoice` knows only simple and SASL, so a
//! Microsoft Sicily bind (tags 9, 10, 11) is a parse error, and it allocates per message (Vec of
//! attributes, Cow DNs). LDAP needs a handful of TLVs; reading them here keeps the dependency
//! list short and the parser streaming and borrowed.

/// Longest length-of-length accepted (4 bytes: up to 4 GiB, X.690 §8.1.3.5).
pub const MAX_LEN_OCTETS: usize = 4;

/// Why a TLV could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BerError {
    /// More bytes are needed (`needed` total bytes from the start of the TLV, if known).
    Incomplete(Option<usize>),
    /// Not valid BER for LDAP (indefinite length, multi-byte tag, length too large).
    Invalid,
}

/// One TLV: the identifier octet and the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub body: &'a [u8],
}

/// Read an identifier and a definite length: returns `(tag, header_len, body_len)`.
// X.690 §8.1.2 identifier (LDAP uses only low tag numbers, < 31), §8.1.3 length.
pub fn read_header(i: &[u8]) -> Result<(u8, usize, usize), BerError> {
    let tag = *i.first().ok_or(BerError::Incomplete(None))?;
    if tag & 0x1f == 0x1f {
        return Err(BerError::Invalid);
    }
    let l0 = *i.get(1).ok_or(BerError::Incomplete(None))?;
    if l0 < 0x80 {
        return Ok((tag, 2, l0 as usize));
    }
    let n = (l0 & 0x7f) as usize;
    // 0x80 is the indefinite form, which RFC 4511 §5.1 forbids.
    if n == 0 || n > MAX_LEN_OCTETS {
        return Err(BerError::Invalid);
    }
    let bytes = i.get(2..2 + n).ok_or(BerError::Incomplete(None))?;
    let len = bytes.iter().fold(0u64, |a, &b| (a << 8) | b as u64);
    let len = usize::try_from(len).map_err(|_| BerError::Invalid)?;
    Ok((tag, 2 + n, len))
}

/// Read one whole TLV; returns it and the rest.
pub fn read_tlv(i: &[u8]) -> Result<(Tlv<'_>, &[u8]), BerError> {
    let (tag, h, len) = read_header(i)?;
    let total = h.checked_add(len).ok_or(BerError::Invalid)?;
    let body = i.get(h..total).ok_or(BerError::Incomplete(Some(total)))?;
    let rest = i.get(total..).unwrap_or(&[]);
    Ok((Tlv { tag, body }, rest))
}

/// Read a TLV that must carry `tag`; inside a length-delimited body a short read is invalid.
pub fn expect(i: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match read_tlv(i) {
        Ok((t, rest)) if t.tag == tag => Some((t.body, rest)),
        _ => None,
    }
}

/// A BER INTEGER/ENUMERATED body (X.690 §8.3) of at most 8 bytes, as i64.
pub fn int(body: &[u8]) -> Option<i64> {
    if body.is_empty() || body.len() > 8 {
        return None;
    }
    let neg = body.first().is_some_and(|b| b & 0x80 != 0);
    let init: i64 = if neg { -1 } else { 0 };
    Some(body.iter().fold(init, |a, &b| (a << 8) | b as i64))
}
