//! SMTP state machine tests on real sessions: swaks and Python smtplib against aiosmtpd
//! (fixtures/make-smtp-fixtures.sh), one segment file per TCP connection
//! (fixtures/tools/extract_segments.py).

use super::*;
use crate::proto::segments::segments;
use crate::proto::{Direction, StreamParser, Verdict};

const PLAIN: &[u8] = include_bytes!("../../../fixtures/pdu/smtp/swaks-0.seg");
const LOGIN: &[u8] = include_bytes!("../../../fixtures/pdu/smtp/swaks-1.seg");
const LOGIN_FAIL: &[u8] = include_bytes!("../../../fixtures/pdu/smtp/swaks-2.seg");
const STARTTLS: &[u8] = include_bytes!("../../../fixtures/pdu/smtp/swaks-3.seg");
const PIPELINED: &[u8] = include_bytes!("../../../fixtures/pdu/smtp/swaks-4.seg");
const XANON: &[u8] = include_bytes!("../../../fixtures/pdu/smtp/swaks-5.seg");
const REFUSED: &[u8] = include_bytes!("../../../fixtures/pdu/smtp/swaks-6.seg");
const MALFORMED: &[u8] = include_bytes!("../../../fixtures/malformed/smtp-overlong-binary-bdat.seg");

/// Feeds a session in chunks of at most `chunk` bytes until the parser hands over or stops.
/// Returns the state, the verdict that ended it, and the bytes of the stream left over.
fn run_chunked(file: &[u8], chunk: usize) -> (SmtpState, Verdict, Vec<(Direction, Vec<u8>)>) {
    let mut s = SmtpState::new();
    let segs: Vec<_> = segments(file).collect();
    for (i, (dir, data)) in segs.iter().enumerate() {
        for (k, c) in data.chunks(chunk).enumerate() {
            match s.feed(*dir, c, 0) {
                Verdict::Continue => {}
                v => {
                    let at = match v {
                        Verdict::StartTls { at } => at,
                        _ => c.len(),
                    };
                    let mut rest = vec![(*dir, data[k * chunk + at..].to_vec())];
                    rest.extend(segs[i + 1..].iter().map(|(d, b)| (*d, b.to_vec())));
                    return (s, v, rest);
                }
            }
        }
    }
    (s, Verdict::Continue, Vec::new())
}

fn run(file: &[u8]) -> (SmtpState, Verdict, Vec<(Direction, Vec<u8>)>) {
    run_chunked(file, usize::MAX)
}

fn code(s: &SmtpSummary, c: u16) -> u64 {
    s.reply_codes.iter().find(|(k, _)| *k == c).map_or(0, |(_, n)| *n)
}

#[test]
fn auth_plain_inline_in_clear_text() {
    let (st, v, _) = run(PLAIN);
    assert_eq!(v, Verdict::Continue);
    let s = st.summary();
    assert_eq!(
        s.banner.as_deref(),
        Some("mail.exwatch.test Microsoft ESMTP MAIL Service ready (aiosmtpd fixture)")
    );
    assert_eq!(s.banner_code, Some(220));
    assert!(s.exchange_banner);
    let h = s.helo.as_ref().unwrap();
    assert_eq!(
        (h.command, h.name.as_str(), h.reply_code),
        ("EHLO", "client.exwatch.test", Some(250))
    );
    assert_eq!(
        s.extensions,
        [
            "SIZE 33554432",
            "8BITMIME",
            "STARTTLS",
            "AUTH LOGIN PLAIN",
            "X-ANONYMOUSTLS",
            "HELP"
        ]
    );
    assert!(s.starttls_offered && s.x_anonymoustls_offered && !s.pipelining && !s.chunking);
    assert_eq!(s.auth_offered, ["LOGIN", "PLAIN"]);
    assert_eq!(s.auth.len(), 1);
    let a = &s.auth[0];
    assert_eq!((a.command, a.mechanism.as_str()), ("AUTH", "PLAIN"));
    assert!(a.initial_response_inline && a.success && a.cleartext_credentials);
    assert_eq!(a.user.as_deref(), Some("alice@exwatch.test"));
    assert_eq!(a.reply_code, Some(235));
    assert!(s.cleartext_credentials());
    assert!(s.starttls_not_used());
    assert_eq!(
        (s.mail_from_count, s.rcpt_to_count, s.data_count, s.messages),
        (1, 1, 1, 1)
    );
    assert_eq!(s.mail_from, ["alice@exwatch.test"]);
    assert_eq!(s.rcpt_to, ["bob@exwatch.test"]);
    assert_eq!(
        (code(s, 220), code(s, 250), code(s, 235), code(s, 354), code(s, 221)),
        (1, 4, 1, 1, 1)
    );
    assert_eq!(s.unknown_lines, 0);
    assert!(s.body_bytes > 100, "{}", s.body_bytes);
    // no password anywhere in the summary
    assert!(!format!("{s:?}").contains("S3cret"));
}

#[test]
fn auth_login_user_and_failure() {
    let (st, _, _) = run(LOGIN);
    let a = &st.summary().auth[0];
    assert_eq!(
        (a.mechanism.as_str(), a.user.as_deref(), a.responses),
        ("LOGIN", Some("alice"), 2)
    );
    assert!(!a.initial_response_inline && a.success && a.cleartext_credentials);
    assert_eq!(code(st.summary(), 334), 2);
    assert_eq!(st.summary().messages, 1);

    let (st, _, _) = run(LOGIN_FAIL);
    let s = st.summary();
    let a = &s.auth[0];
    assert_eq!(
        (a.user.as_deref(), a.reply_code, a.success),
        (Some("mallory"), Some(535), false)
    );
    assert!(a.cleartext_credentials);
    assert_eq!(s.messages, 0);
    assert!(s.commands.iter().any(|(v, n)| v == "QUIT" && *n == 1));
    assert!(!format!("{s:?}").contains("wrong"));
}

#[test]
fn starttls_hands_over_after_the_220() {
    let (st, v, rest) = run(STARTTLS);
    let s = st.summary();
    let t = s.starttls.as_ref().unwrap();
    assert_eq!((t.command, t.reply_code, t.accepted), ("STARTTLS", Some(220), true));
    assert!(!s.starttls_not_used() && s.auth.is_empty());
    let Verdict::StartTls { at } = v else { panic!("{v:?}") };
    // the 220 reply was the whole segment; what follows is the client's ClientHello
    assert_eq!(at, b"220 Ready to start TLS\r\n".len());
    let (dir, next) = rest.iter().find(|(_, b)| !b.is_empty()).unwrap();
    assert_eq!(*dir, Direction::ToServer);
    assert_eq!(&next[..3], &[0x16, 0x03, 0x01]);
}

#[test]
fn x_anonymoustls_is_starttls() {
    let (st, v, _) = run(XANON);
    assert!(matches!(v, Verdict::StartTls { .. }));
    let s = st.summary();
    let t = s.starttls.as_ref().unwrap();
    assert_eq!(
        (t.command, t.reply_code, t.accepted),
        ("X-ANONYMOUSTLS", Some(220), true)
    );
    assert_eq!(s.helo.as_ref().unwrap().name, "hub1.exwatch.test");
}

#[test]
fn starttls_refused_then_clear_text() {
    let (st, v, _) = run(REFUSED);
    assert_eq!(v, Verdict::Continue);
    let s = st.summary();
    let t = s.starttls.as_ref().unwrap();
    assert_eq!((t.reply_code, t.accepted), (Some(454), false));
    // the server without a certificate does not offer it
    assert!(!s.starttls_offered);
    assert_eq!((s.mail_from_count, s.messages), (1, 1));
    assert_eq!(s.rcpt_to, ["erin@exwatch.test"]);
}

#[test]
fn pipelined_envelope() {
    let (st, _, _) = run(PIPELINED);
    let s = st.summary();
    assert_eq!((s.rcpt_to_count, s.messages), (2, 1));
    assert_eq!(s.rcpt_to, ["bob@exwatch.test", "carol@exwatch.test"]);
    assert!(s.auth.is_empty() && !s.cleartext_credentials());
}

#[test]
fn byte_by_byte_equals_whole() {
    for f in [PLAIN, LOGIN, LOGIN_FAIL, STARTTLS, PIPELINED, XANON, REFUSED] {
        let (a, va, ra) = run(f);
        let (b, vb, rb) = run_chunked(f, 1);
        assert_eq!(a.summary(), b.summary());
        assert_eq!(std::mem::discriminant(&va), std::mem::discriminant(&vb));
        assert_eq!(ra.concat_bytes(), rb.concat_bytes());
    }
}

trait ConcatBytes {
    fn concat_bytes(&self) -> Vec<u8>;
}
impl ConcatBytes for Vec<(Direction, Vec<u8>)> {
    fn concat_bytes(&self) -> Vec<u8> {
        self.iter().flat_map(|(_, b)| b.iter().copied()).collect()
    }
}

/// Every prefix of every session (cut inside any segment) is safe, and a prefix never reports
/// more than the whole session.
#[test]
fn every_prefix() {
    for f in [PLAIN, LOGIN, STARTTLS, REFUSED] {
        let segs: Vec<_> = segments(f).collect();
        let (whole, _, _) = run(f);
        let total: usize = segs.iter().map(|(_, d)| d.len()).sum();
        for cut in 0..total {
            let mut s = SmtpState::new();
            let mut left = cut;
            for (dir, d) in &segs {
                let n = left.min(d.len());
                if s.feed(*dir, &d[..n], 0) != Verdict::Continue || n < d.len() {
                    break;
                }
                left -= n;
            }
            let p = s.summary();
            assert!(p.messages <= whole.summary().messages);
            assert!(p.auth.len() <= whole.summary().auth.len());
            assert_eq!(p.unknown_lines, 0, "cut {cut}");
        }
    }
}

/// An overlong line, binary junk, a BDAT of 2^64-1 bytes and a flood of pipelined commands:
/// no panic, bounded buffers, and the parser gives up on junk.
#[test]
fn malformed_session() {
    let mut s = SmtpState::new();
    let mut stopped = false;
    for (dir, d) in segments(MALFORMED) {
        if s.feed(dir, d, 0) == Verdict::Stop {
            stopped = true;
            break;
        }
        assert!(s.buffered_bytes() <= 4 * state::MAX_LINE_BYTES);
    }
    assert!(stopped, "junk lines end the parse");
    let sm = s.summary();
    assert_eq!(sm.banner.as_deref(), Some("mx.exwatch.test ESMTP"));
    assert!(sm.banner.as_ref().unwrap().len() <= summary::MAX_TEXT_BYTES);
    assert!(sm.commands.len() <= summary::MAX_DISTINCT);
}

/// Exchange's EHLO reply (protocol-notes §3.1, the Microsoft test-smtp-telnet transcript) with
/// BDAT chunking and X-EXPS: the line grammar on single messages.
#[test]
fn exchange_ehlo_bdat_and_x_exps() {
    let mut s = SmtpState::new();
    let server =
        |s: &mut SmtpState, t: &str| assert_eq!(s.feed(Direction::ToClient, t.as_bytes(), 0), Verdict::Continue);
    let client = |s: &mut SmtpState, t: &[u8]| assert_eq!(s.feed(Direction::ToServer, t, 0), Verdict::Continue);
    server(
        &mut s,
        "220 mail.contoso.com Microsoft ESMTP MAIL Service ready at Thu, 26 Nov 2026 10:00:00 +0000\r\n",
    );
    client(&mut s, b"EHLO hub2.contoso.com\r\n");
    server(
        &mut s,
        "250-mail.contoso.com Hello [10.0.0.2]\r\n250-SIZE 37748736\r\n250-PIPELINING\r\n250-DSN\r\n\
         250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-X-ANONYMOUSTLS\r\n250-AUTH NTLM\r\n\
         250-X-EXPS GSSAPI NTLM\r\n250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250-XEXCH50\r\n250 XRDST\r\n",
    );
    client(&mut s, b"X-EXPS GSSAPI YIIBhgYGKwYBBQUCoIIBejCCAXag\r\n");
    server(&mut s, "235 2.7.0 Authentication successful\r\n");
    client(
        &mut s,
        b"MAIL FROM:<a@contoso.com>\r\nRCPT TO:<b@contoso.com>\r\nBDAT 10\r\n0123456789BDAT 3 LAST\r\nabc",
    );
    server(
        &mut s,
        "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.6.0 10 bytes received\r\n",
    );
    server(&mut s, "250 2.6.0 <id@contoso.com> Queued mail for delivery\r\n");
    client(&mut s, b"QUIT\r\n");
    let sm = s.summary();
    assert!(sm.exchange_banner && sm.x_anonymoustls_offered && sm.chunking && sm.pipelining && sm.xexch50_offered);
    assert_eq!(sm.auth_offered, ["NTLM"]);
    assert_eq!(sm.x_exps_offered, ["GSSAPI", "NTLM"]);
    let a = &sm.auth[0];
    assert_eq!(
        (a.command, a.mechanism.as_str(), a.success, a.cleartext_credentials),
        ("X-EXPS", "GSSAPI", true, false)
    );
    assert_eq!((sm.bdat_count, sm.messages, sm.body_bytes), (2, 1, 13));
    assert!(sm.starttls_not_used());
}

/// AUTH NTLM: the AUTHENTICATE message's DOMAIN\user is kept (MS-SMTPNTLM §3.1.5.2).
#[test]
fn auth_ntlm_user() {
    let mut s = SmtpState::new();
    s.feed(Direction::ToClient, b"220 x ESMTP\r\n", 0);
    s.feed(
        Direction::ToServer,
        b"AUTH NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==\r\n",
        0,
    );
    s.feed(Direction::ToClient, b"334 TlRMTVNTUAACAAAA\r\n", 0);
    // NTLMSSP AUTHENTICATE: OEM names, domain "CONTOSO" user "svc" (MS-NLMP §2.2.1.3 layout)
    let mut m = Vec::from(&b"NTLMSSP\0\x03\0\0\0"[..]);
    m.extend_from_slice(&[0u8; 16]); // Lm, Nt response fields (empty)
    for (len, off) in [(7u16, 64u32), (3, 71), (0, 74)] {
        m.extend_from_slice(&len.to_le_bytes());
        m.extend_from_slice(&len.to_le_bytes());
        m.extend_from_slice(&off.to_le_bytes());
    }
    m.extend_from_slice(&[0u8; 8]); // session key field
    m.extend_from_slice(&0u32.to_le_bytes()); // flags: OEM
    m.extend_from_slice(b"CONTOSOsvc");
    let b64 = base64(&m);
    s.feed(Direction::ToServer, format!("{b64}\r\n").as_bytes(), 0);
    s.feed(Direction::ToClient, b"235 2.7.0 Authentication successful\r\n", 0);
    let a = &s.summary().auth[0];
    assert_eq!(
        (a.mechanism.as_str(), a.user.as_deref(), a.success),
        ("NTLM", Some("CONTOSO\\svc"), true)
    );
    assert!(!a.cleartext_credentials);
}

fn base64(d: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in d.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[test]
fn probes() {
    use crate::proto::Probe;
    let segs: Vec<_> = segments(PLAIN).collect();
    assert_eq!(probe_smtp(Direction::ToClient, segs[0].1), Probe::Yes);
    assert_eq!(
        probe_smtp(Direction::ToClient, b"220 mail.exwatch.test Microsoft ESMTP"),
        Probe::Yes
    );
    assert_eq!(
        probe_smtp(Direction::ToClient, b"220 ftp.example.com FTP server ready\r\n"),
        Probe::No
    );
    assert_eq!(probe_smtp(Direction::ToClient, b"22"), Probe::NeedMore);
    assert_eq!(probe_smtp(Direction::ToClient, b"220 mail.exa"), Probe::NeedMore);
    assert_eq!(
        probe_smtp(Direction::ToServer, b"ehlo localhost.localdomain\r\n"),
        Probe::Yes
    );
    assert_eq!(probe_smtp(Direction::ToServer, b"EH"), Probe::NeedMore);
    assert_eq!(probe_smtp(Direction::ToServer, b"GET / HTTP/1.1\r\n"), Probe::No);
    assert_eq!(probe_smtp(Direction::ToServer, b"\x16\x03\x01\x02\x00"), Probe::No);
    assert_eq!(probe_smtp(Direction::ToServer, b""), Probe::NeedMore);
}

/// Pipelined MAIL/RCPT/DATA refused (553, 503, 503), RSET, then a second group accepted: the
/// lines of a real Sendmail session (the corpus's smtp-corrupt-after-18-packets capture).
#[test]
fn pipelined_group_refused_then_accepted() {
    let mut s = SmtpState::new();
    let mut f = |d, t: &[u8]| assert_eq!(s.feed(d, t, 0), Verdict::Continue);
    let (c, sv) = (Direction::ToServer, Direction::ToClient);
    f(
        sv,
        b"220 tux319.loginserver.ch ESMTP Sendmail 8.14.9/8.12.11; Mon, 29 Jul 2019 19:01:46 +0200\r\n",
    );
    f(c, b"EHLO 173-66-46-112.wash.fios.verizon.net\r\n");
    f(sv, b"250-tux319.loginserver.ch Hello\r\n250-PIPELINING\r\n250 HELP\r\n");
    f(
        c,
        b"MAIL FROM: <a@gezydb01.apis.dhl.com> \r\nRCPT TO:<mirjam@abrakadabra.ch>\r\nDATA\r\n",
    );
    f(
        sv,
        b"553 5.1.8 <a@gezydb01.apis.dhl.com>... Domain of sender address does not exist\r\n",
    );
    f(
        sv,
        b"503 5.0.0 Need MAIL before RCPT\r\n503 5.0.0 Need MAIL command\r\n",
    );
    f(c, b"RSET\r\n");
    f(sv, b"250 2.0.0 Reset state\r\n");
    f(
        c,
        b"MAIL FROM: <b@gateway2c.dhl.com> \r\nRCPT TO:<mirjam@abrakadabra.ch>\r\nDATA\r\n",
    );
    f(
        sv,
        b"250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n354 Enter mail, end with \".\" on a line by itself\r\n",
    );
    f(c, b"Subject: x\r\n\r\nbody\r\n.\r\n");
    f(sv, b"250 2.0.0 Message accepted for delivery\r\n");
    let m = s.summary();
    assert_eq!(
        (m.mail_from_count, m.rcpt_to_count, m.data_count, m.messages),
        (2, 2, 2, 1)
    );
    assert_eq!(m.mail_from, ["a@gezydb01.apis.dhl.com", "b@gateway2c.dhl.com"]);
    assert_eq!(m.commands.iter().find(|(v, _)| v == "RSET").map(|e| e.1), Some(1));
    assert_eq!(m.unknown_lines, 0);
}
