//! The segment-file format of `fixtures/tools/extract_segments.py`: one TCP connection's
//! payload in capture order, for unit tests, benches and fuzz seeds that replay a real session
//! through a stream parser without the capture and flow layers.
//!
//! Records, little-endian: `u8` direction (0 to the server, 1 to the client), `u32` length,
//! then that many payload bytes. A record cut short ends the iteration.

use super::Direction;

/// Bytes of a record header (direction and length).
const HEADER_LEN: usize = 5;

/// The records of a segment file, in order.
pub fn segments(file: &[u8]) -> Segments<'_> {
    Segments { rest: file }
}

/// Iterator over `(direction, payload)` records; see [`segments`].
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Segments<'a> {
    type Item = (Direction, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (head, body) = self.rest.split_at_checked(HEADER_LEN)?;
        let dir = if head[0] == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let Some((payload, rest)) = body.split_at_checked(len) else {
            self.rest = &[];
            return None;
        };
        self.rest = rest;
        Some((dir, payload))
    }
}

/// Test support: replays the records of a segment file through `p` in chunks of at most
/// `chunk` bytes, stopping after `limit` bytes of payload in all, or at the first verdict that
/// is not `Continue`, which is returned with the bytes of its chunk left over (for StartTls,
/// the bytes from `at`).
#[cfg(test)]
pub(crate) fn replay<P: super::StreamParser>(
    p: &mut P,
    file: &[u8],
    chunk: usize,
    limit: usize,
) -> (super::Verdict, usize) {
    let mut left = limit;
    for (dir, data) in segments(file) {
        let data = &data[..data.len().min(left)];
        left -= data.len();
        for c in data.chunks(chunk.max(1)) {
            match p.feed(dir, c, 0) {
                super::Verdict::Continue => {}
                v @ super::Verdict::StartTls { at } => return (v, c.len() - at),
                v => return (v, 0),
            }
        }
        if left == 0 {
            break;
        }
    }
    (super::Verdict::Continue, 0)
}

/// Test support: the base64 token of the `n`-th `Authorization: NTLM ` header of a segment file
/// (a real NTLMSSP message from curl, for the SASL NTLM tests of IMAP and POP3).
#[cfg(test)]
pub(crate) fn ntlm_token(file: &[u8], n: usize) -> Vec<u8> {
    const HEAD: &[u8] = b"Authorization: NTLM ";
    let all: Vec<u8> = segments(file).flat_map(|(_, d)| d.iter().copied()).collect();
    let at = all
        .windows(HEAD.len())
        .enumerate()
        .filter(|(_, w)| *w == HEAD)
        .nth(n)
        .expect("an NTLM header")
        .0
        + HEAD.len();
    let end = at + all[at..].iter().position(|&b| b == b'\r').unwrap();
    all[at..end].to_vec()
}

/// Test support: the payload bytes of a segment file.
#[cfg(test)]
pub(crate) fn payload_len(file: &[u8]) -> usize {
    segments(file).map(|(_, d)| d.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_a_cut_tail() {
        let file = [0, 2, 0, 0, 0, b'h', b'i', 1, 1, 0, 0, 0, b'!', 0, 9, 0, 0, 0, b'x'];
        let got: Vec<_> = segments(&file).collect();
        assert_eq!(
            got,
            vec![(Direction::ToServer, &b"hi"[..]), (Direction::ToClient, &b"!"[..])]
        );
        for n in 0..file.len() {
            assert!(segments(&file[..n]).count() <= 2);
        }
    }
}
