//! NTLMSSP messages (MS-NLMP §2.2.1): the facts a passive observer may keep — message type,
//! negotiate flags (sign, seal), and the domain, user and workstation names an AUTHENTICATE
//! message carries. Never the challenge responses (they are password-derived).
//!
//! Shared by every protocol that carries NTLM tokens (SMTP `AUTH NTLM`, LDAP Sicily and SASL,
//! DCE/RPC, HTTP `Authorization: NTLM`). Pure functions over `&[u8]`; names are borrowed.

/// MS-NLMP §2.2.1: every message starts with this signature.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// MS-NLMP §2.2.2.5 NEGOTIATE flags the classifier cares about.
pub const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub const NEGOTIATE_SIGN: u32 = 0x0000_0010;
pub const NEGOTIATE_SEAL: u32 = 0x0000_0020;
pub const NEGOTIATE_ANONYMOUS: u32 = 0x0000_0800;

/// The three message types (MS-NLMP §2.2.1.1-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Negotiate,
    Challenge,
    Authenticate,
    Other(u32),
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Negotiate => "negotiate",
            MessageType::Challenge => "challenge",
            MessageType::Authenticate => "authenticate",
            MessageType::Other(_) => "other",
        }
    }
}

/// One NTLMSSP message, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: MessageType,
    /// NegotiateFlags (0 when the message type has none or it is cut short).
    pub flags: u32,
    /// AUTHENTICATE only: the raw name fields, in UTF-16LE when `flags` has NEGOTIATE_UNICODE.
    pub domain: &'a [u8],
    pub user: &'a [u8],
    pub workstation: &'a [u8],
}

impl Message<'_> {
    pub fn signs(&self) -> bool {
        self.flags & NEGOTIATE_SIGN != 0
    }
    pub fn seals(&self) -> bool {
        self.flags & NEGOTIATE_SEAL != 0
    }
    /// AUTHENTICATE with an empty user name and the anonymous flag or an empty NT response.
    pub fn anonymous(&self) -> bool {
        self.kind == MessageType::Authenticate && (self.user.is_empty() || self.flags & NEGOTIATE_ANONYMOUS != 0)
    }
    /// A name field decoded into `out` (UTF-16LE or OEM/ASCII per the flags); invalid units
    /// become U+FFFD. Appends at most `max` bytes.
    pub fn decode_name(&self, raw: &[u8], out: &mut String, max: usize) {
        if self.flags & NEGOTIATE_UNICODE != 0 {
            let units = raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
            for ch in char::decode_utf16(units) {
                let ch = ch.unwrap_or(char::REPLACEMENT_CHARACTER);
                if out.len() + ch.len_utf8() > max {
                    break;
                }
                out.push(ch);
            }
        } else {
            for &b in raw {
                if out.len() >= max {
                    break;
                }
                out.push(if b.is_ascii() {
                    b as char
                } else {
                    char::REPLACEMENT_CHARACTER
                });
            }
        }
    }
}

fn le32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// MS-NLMP §2.2.1.3: a field is Len (u16), MaxLen (u16), BufferOffset (u32) from the message
/// start. A field pointing outside the message reads as empty.
fn field(d: &[u8], at: usize) -> &[u8] {
    let Some(b) = d.get(at..at + 8) else { return &[] };
    let len = u16::from_le_bytes([b[0], b[1]]) as usize;
    let off = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    off.checked_add(len).and_then(|end| d.get(off..end)).unwrap_or(&[])
}

/// Parses an NTLMSSP message at the start of `d` (anything after it is ignored). `None` when
/// the signature or type is missing.
pub fn parse(d: &[u8]) -> Option<Message<'_>> {
    if d.get(..8)? != SIGNATURE {
        return None;
    }
    let kind = match le32(d, 8)? {
        1 => MessageType::Negotiate,
        2 => MessageType::Challenge,
        3 => MessageType::Authenticate,
        n => MessageType::Other(n),
    };
    let mut m = Message {
        kind,
        flags: 0,
        domain: &[],
        user: &[],
        workstation: &[],
    };
    match kind {
        // §2.2.1.1 NEGOTIATE_MESSAGE: Signature, MessageType, NegotiateFlags, ...
        MessageType::Negotiate => m.flags = le32(d, 12).unwrap_or(0),
        // §2.2.1.2 CHALLENGE_MESSAGE: ..., TargetNameFields (8), NegotiateFlags at 20
        MessageType::Challenge => m.flags = le32(d, 20).unwrap_or(0),
        // §2.2.1.3 AUTHENTICATE_MESSAGE: LmChallengeResponseFields 12, NtChallengeResponseFields
        // 20, DomainNameFields 28, UserNameFields 36, WorkstationFields 44,
        // EncryptedRandomSessionKeyFields 52, NegotiateFlags 60
        MessageType::Authenticate => {
            m.flags = le32(d, 60).unwrap_or(0);
            m.domain = field(d, 28);
            m.user = field(d, 36);
            m.workstation = field(d, 44);
        }
        MessageType::Other(_) => {}
    }
    Some(m)
}

/// Finds an NTLMSSP message inside a GSS-API / SPNEGO token (or at its start) by its signature.
pub fn find(token: &[u8]) -> Option<Message<'_>> {
    let at = token.windows(SIGNATURE.len()).position(|w| w == SIGNATURE)?;
    parse(&token[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An AUTHENTICATE message built to MS-NLMP §2.2.1.3 (UTF-16 names "DOM", "bob", "WS").
    fn authenticate() -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(SIGNATURE);
        m.extend_from_slice(&3u32.to_le_bytes());
        let names: [&str; 3] = ["DOM", "bob", "WS"];
        let payload_at = 64u32;
        let mut payload = Vec::new();
        let mut fields = [[0u8; 8]; 6];
        for (i, n) in names.iter().enumerate() {
            let enc: Vec<u8> = n.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
            let off = payload_at + payload.len() as u32;
            let len = enc.len() as u16;
            fields[i + 2][..2].copy_from_slice(&len.to_le_bytes());
            fields[i + 2][2..4].copy_from_slice(&len.to_le_bytes());
            fields[i + 2][4..].copy_from_slice(&off.to_le_bytes());
            payload.extend_from_slice(&enc);
        }
        for f in fields {
            m.extend_from_slice(&f);
        }
        m.extend_from_slice(&(NEGOTIATE_UNICODE | NEGOTIATE_SIGN | NEGOTIATE_SEAL).to_le_bytes());
        assert_eq!(m.len(), 64);
        m.extend_from_slice(&payload);
        m
    }

    #[test]
    fn authenticate_names_and_flags() {
        let m = authenticate();
        let p = parse(&m).unwrap();
        assert_eq!(p.kind, MessageType::Authenticate);
        assert!(p.signs() && p.seals());
        let mut s = String::new();
        p.decode_name(p.domain, &mut s, 64);
        s.push('\\');
        p.decode_name(p.user, &mut s, 64);
        assert_eq!(s, "DOM\\bob");
        let mut w = String::new();
        p.decode_name(p.workstation, &mut w, 64);
        assert_eq!(w, "WS");
    }

    #[test]
    fn every_prefix_is_safe() {
        let m = authenticate();
        for n in 0..m.len() {
            let _ = parse(&m[..n]);
            let _ = find(&m[..n]);
        }
        // a field whose offset points past the end reads as empty
        let mut bad = m.clone();
        bad[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&bad).unwrap().user, b"");
    }
}
