//! POP3 state machine tests on real sessions: curl and Python poplib against Dovecot
//! (fixtures/make-mail-fixtures.sh), one segment file per TCP connection.

use super::*;
use crate::proto::segments::{payload_len, replay};
use crate::proto::{Direction, Probe, StreamParser, Verdict};

const USER_PASS: &[u8] = include_bytes!("../../../fixtures/pdu/pop3/pop3-dovecot-0.seg");
const APOP: &[u8] = include_bytes!("../../../fixtures/pdu/pop3/pop3-dovecot-1.seg");
const AUTH_PLAIN: &[u8] = include_bytes!("../../../fixtures/pdu/pop3/pop3-dovecot-2.seg");
const AUTH_LOGIN: &[u8] = include_bytes!("../../../fixtures/pdu/pop3/pop3-dovecot-3.seg");
const STLS: &[u8] = include_bytes!("../../../fixtures/pdu/pop3/pop3-dovecot-4.seg");
const ALL: [&[u8]; 5] = [USER_PASS, APOP, AUTH_PLAIN, AUTH_LOGIN, STLS];
const MALFORMED: &[u8] = include_bytes!("../../../fixtures/malformed/pop3-unterminated-retr-junk.seg");

fn run(file: &[u8]) -> (Pop3Summary, Verdict) {
    let mut s = Pop3State::new();
    let (v, _) = replay(&mut s, file, usize::MAX, usize::MAX);
    (s.into_summary(), v)
}

fn count(s: &Pop3Summary, verb: &str) -> u64 {
    s.commands.iter().find(|(v, _)| v == verb).map_or(0, |(_, n)| *n)
}

#[test]
fn user_pass_capa_and_multiline_bodies() {
    let (s, v) = run(USER_PASS);
    assert_eq!(v, Verdict::Continue);
    let g = s.greeting.as_deref().unwrap();
    assert!(
        g.starts_with("The Microsoft Exchange POP3 service is ready. (dovecot fixture) <"),
        "{g}"
    );
    assert!(s.exchange_greeting);
    assert!(s.apop_timestamp.as_deref().unwrap().ends_with("@vm>"));
    assert_eq!(
        s.capa,
        [
            "CAPA",
            "TOP",
            "UIDL",
            "RESP-CODES",
            "PIPELINING",
            "AUTH-RESP-CODE",
            "STLS",
            "USER",
            "SASL PLAIN LOGIN CRAM-MD5"
        ]
    );
    assert!(s.stls_offered && s.user_offered && s.stls_not_used());
    assert_eq!(s.sasl_offered, ["PLAIN", "LOGIN", "CRAM-MD5"]);
    assert_eq!(s.auth.len(), 1);
    let a = &s.auth[0];
    assert_eq!(
        (a.command, a.user.as_deref(), a.status, a.responses),
        ("USER", Some("alice"), Some("+OK"), 1)
    );
    assert!(a.success && a.cleartext_credentials);
    assert!(s.cleartext_credentials());
    assert_eq!(
        (
            count(&s, "RETR"),
            count(&s, "TOP"),
            count(&s, "LIST"),
            count(&s, "UIDL"),
            count(&s, "QUIT")
        ),
        (1, 1, 1, 1, 1)
    );
    // LIST, UIDL, RETR (the stuffed body and its "."), TOP
    assert!(s.multiline_bytes > 156 + 100, "{}", s.multiline_bytes);
    assert_eq!((s.ok_replies, s.err_replies, s.unknown_lines), (10, 0, 0));
    assert!(!format!("{s:?}").contains("S3cret"));
}

#[test]
fn apop_is_not_a_cleartext_password() {
    let (s, _) = run(APOP);
    let a = &s.auth[0];
    assert_eq!((a.command, a.user.as_deref(), a.success), ("APOP", Some("alice"), true));
    assert!(!s.cleartext_credentials());
}

#[test]
fn auth_plain_and_login_with_continuations() {
    let (s, _) = run(AUTH_PLAIN);
    let a = &s.auth[0];
    assert_eq!(
        (a.command, a.mechanism.as_str(), a.user.as_deref()),
        ("AUTH", "PLAIN", Some("alice"))
    );
    assert!(!a.initial_response_inline && a.success && a.cleartext_credentials);
    assert_eq!(s.unknown_lines, 0);
    assert!(!format!("{s:?}").contains("S3cret"));

    let (s, _) = run(AUTH_LOGIN);
    let a = &s.auth[0];
    assert_eq!(
        (a.mechanism.as_str(), a.user.as_deref(), a.responses),
        ("LOGIN", Some("alice"), 2)
    );
    assert!(a.success && a.cleartext_credentials);
    assert_eq!(count(&s, "LIST"), 1);
    assert_eq!(s.unknown_lines, 0);
}

#[test]
fn stls_hands_over_after_ok() {
    let (s, v) = run(STLS);
    assert_eq!(
        v,
        Verdict::StartTls {
            at: "+OK Begin TLS negotiation now.\r\n".len()
        }
    );
    let t = s.stls.as_ref().unwrap();
    assert_eq!((t.status, t.accepted), (Some("+OK"), true));
    assert!(!s.stls_not_used() && s.auth.is_empty());
}

#[test]
fn every_chunking_gives_the_same_summary() {
    for f in ALL {
        let (whole, _) = run(f);
        for chunk in [1, 2, 5, 64] {
            let mut s = Pop3State::new();
            replay(&mut s, f, chunk, usize::MAX);
            assert_eq!(s.summary(), &whole, "chunk {chunk}");
        }
    }
}

/// Every prefix of every session: no panic, and no fact the whole session does not have.
#[test]
fn truncation() {
    for f in ALL {
        let (whole, _) = run(f);
        for n in 0..=payload_len(f) {
            let mut s = Pop3State::new();
            replay(&mut s, f, usize::MAX, n);
            let p = s.summary();
            assert!(p.auth.len() <= whole.auth.len());
            for (a, b) in p.auth.iter().zip(&whole.auth) {
                assert!(a.user.is_none() || a.user == b.user, "{n}");
                assert!(!a.success || b.success);
                assert!(!a.cleartext_credentials || b.cleartext_credentials);
            }
            assert!(p.capa.iter().all(|c| whole.capa.contains(c)));
            assert!(!p.stls_offered || whole.stls_offered);
            assert!(p.multiline_bytes <= whole.multiline_bytes);
            assert_eq!(p.unknown_lines, 0, "{n}");
        }
    }
}

#[test]
fn malformed_session_is_bounded_and_stops() {
    let mut s = Pop3State::new();
    let (v, _) = replay(&mut s, MALFORMED, 33, usize::MAX);
    assert_eq!(v, Verdict::Stop);
    assert!(s.summary().multiline_bytes > 0 && s.summary().overlong_lines == 1);
    assert!(s.buffered_bytes() <= 2 * state::MAX_LINE_BYTES + 1024);
}

#[test]
fn probe() {
    assert_eq!(
        probe_pop3(
            Direction::ToClient,
            b"+OK The Microsoft Exchange POP3 service is ready.\r\n"
        ),
        Probe::Yes
    );
    assert_eq!(probe_pop3(Direction::ToClient, b"+O"), Probe::NeedMore);
    assert_eq!(probe_pop3(Direction::ToClient, b"* OK imap"), Probe::No);
    assert_eq!(probe_pop3(Direction::ToServer, b"CAPA\r\n"), Probe::Yes);
    assert_eq!(probe_pop3(Direction::ToServer, b"user alice\r\n"), Probe::Yes);
    assert_eq!(probe_pop3(Direction::ToServer, b"US"), Probe::NeedMore);
    assert_eq!(probe_pop3(Direction::ToServer, b"CAPABILITY"), Probe::No);
    assert_eq!(probe_pop3(Direction::ToServer, b"EHLO x\r\n"), Probe::No);
}

/// AUTH NTLM (Dovecot here has no NTLM): curl's real NTLMSSP messages from the HTTP fixture.
#[test]
fn auth_ntlm_names_domain_and_user() {
    let ews = include_bytes!("../../../fixtures/pdu/http/http-curl-1.seg");
    let (t1, t3) = (
        crate::proto::segments::ntlm_token(ews, 0),
        crate::proto::segments::ntlm_token(ews, 1),
    );
    let mut s = Pop3State::new();
    s.feed(
        Direction::ToClient,
        b"+OK The Microsoft Exchange POP3 service is ready.\r\n",
        0,
    );
    s.feed(Direction::ToServer, b"AUTH NTLM\r\n", 0);
    s.feed(Direction::ToClient, b"+ \r\n", 0);
    s.feed(Direction::ToServer, &[&t1[..], b"\r\n"].concat(), 0);
    s.feed(
        Direction::ToClient,
        b"+ TlRMTVNTUAACAAAADgAOADAAAAABAougoWncLRKZ0XAAAAAAAAAAAAAAAAA+AAAARQBYAFcAQQBUAEMASAA=\r\n",
        0,
    );
    s.feed(Direction::ToServer, &[&t3[..], b"\r\n"].concat(), 0);
    s.feed(Direction::ToClient, b"+OK User successfully authenticated.\r\n", 0);
    s.feed(Direction::ToServer, b"STAT\r\n", 0);
    s.feed(Direction::ToClient, b"+OK 0 0\r\n", 0);
    let sum = s.summary();
    let a = &sum.auth[0];
    assert_eq!(
        (a.mechanism.as_str(), a.user.as_deref(), a.responses),
        ("NTLM", Some("EXWATCH\\bob"), 2)
    );
    assert!(a.success && !a.cleartext_credentials);
    assert_eq!((count(sum, "STAT"), sum.unknown_lines), (1, 0));
}
