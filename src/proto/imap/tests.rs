//! IMAP state machine tests on real sessions: curl, Python imaplib and a raw-socket client
//! against Dovecot (fixtures/make-mail-fixtures.sh), one segment file per TCP connection.

use super::*;
use crate::proto::segments::{payload_len, replay};
use crate::proto::{Direction, Probe, StreamParser, Verdict};

const AUTH_PLAIN_FETCH: &[u8] = include_bytes!("../../../fixtures/pdu/imap/imap-dovecot-0.seg");
const AUTH_LOGIN: &[u8] = include_bytes!("../../../fixtures/pdu/imap/imap-dovecot-1.seg");
const STARTTLS: &[u8] = include_bytes!("../../../fixtures/pdu/imap/imap-dovecot-2.seg");
const LOGIN_QUOTED: &[u8] = include_bytes!("../../../fixtures/pdu/imap/imap-dovecot-3.seg");
const LOGIN_LITERAL: &[u8] = include_bytes!("../../../fixtures/pdu/imap/imap-dovecot-4.seg");
const LOGIN_NO: &[u8] = include_bytes!("../../../fixtures/pdu/imap/imap-dovecot-5.seg");
const CRAM_MD5: &[u8] = include_bytes!("../../../fixtures/pdu/imap/imap-dovecot-6.seg");
const ALL: [&[u8]; 7] = [
    AUTH_PLAIN_FETCH,
    AUTH_LOGIN,
    STARTTLS,
    LOGIN_QUOTED,
    LOGIN_LITERAL,
    LOGIN_NO,
    CRAM_MD5,
];
const MALFORMED: &[u8] = include_bytes!("../../../fixtures/malformed/imap-huge-literal-junk.seg");

fn run(file: &[u8]) -> (ImapSummary, Verdict, usize) {
    let mut s = ImapState::new();
    let (v, rest) = replay(&mut s, file, usize::MAX, usize::MAX);
    (s.into_summary(), v, rest)
}

fn count(s: &ImapSummary, verb: &str) -> u64 {
    s.commands.iter().find(|(v, _)| v == verb).map_or(0, |(_, n)| *n)
}

#[test]
fn greeting_capabilities_and_authenticate_plain() {
    let (s, v, _) = run(AUTH_PLAIN_FETCH);
    assert_eq!(v, Verdict::Continue);
    assert_eq!(s.greeting_status, Some("OK"));
    assert_eq!(
        s.greeting.as_deref(),
        Some("The Microsoft Exchange IMAP4 service is ready. (dovecot fixture)")
    );
    assert!(s.exchange_greeting);
    assert!(s.starttls_offered && !s.logindisabled);
    assert_eq!(s.auth_offered, ["PLAIN", "LOGIN", "CRAM-MD5"]);
    assert!(s.capabilities.iter().any(|c| c == "IMAP4rev1"));
    assert!(
        s.capabilities.iter().any(|c| c == "QRESYNC"),
        "post-login capabilities: {:?}",
        s.capabilities
    );
    let a = &s.auth[0];
    assert_eq!(
        (a.command, a.mechanism.as_str(), a.user.as_deref()),
        ("AUTHENTICATE", "PLAIN", Some("alice"))
    );
    assert!(a.initial_response_inline && a.success && a.cleartext_credentials);
    assert_eq!((a.status, a.responses), (Some("OK"), 1));
    assert!(s.cleartext_credentials() && s.starttls_not_used());
    assert_eq!(
        (
            count(&s, "CAPABILITY"),
            count(&s, "SELECT"),
            count(&s, "UID FETCH"),
            count(&s, "LOGOUT")
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(s.literal_bytes, 156);
    assert_eq!((s.tagged_ok, s.tagged_no, s.tagged_bad, s.unknown_lines), (5, 0, 0, 0));
    assert!(!format!("{s:?}").contains("S3cret"));
}

#[test]
fn authenticate_login_with_continuations() {
    let (s, _, _) = run(AUTH_LOGIN);
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
fn starttls_hands_over_after_the_tagged_ok() {
    let (s, v, rest) = run(STARTTLS);
    assert_eq!(
        v,
        Verdict::StartTls {
            at: "A002 OK Begin TLS negotiation now.\r\n".len()
        }
    );
    assert_eq!(rest, 0);
    let t = s.starttls.as_ref().unwrap();
    assert_eq!((t.status, t.accepted), (Some("OK"), true));
    assert!(s.auth.is_empty() && !s.cleartext_credentials() && !s.starttls_not_used());
    // the next bytes (the ClientHello) are not fed: Stop
    let mut st = ImapState::new();
    replay(&mut st, STARTTLS, usize::MAX, usize::MAX);
    assert_eq!(st.feed(Direction::ToServer, b"\x16\x03\x01", 0), Verdict::Stop);
}

#[test]
fn login_quoted_literal_and_refused() {
    let (s, _, _) = run(LOGIN_QUOTED);
    let a = &s.auth[0];
    assert_eq!(
        (a.command, a.user.as_deref(), a.status),
        ("LOGIN", Some("alice"), Some("OK"))
    );
    assert!(a.cleartext_credentials && a.success);
    assert_eq!(s.literal_bytes, 156);

    let (s, _, _) = run(LOGIN_LITERAL);
    let a = &s.auth[0];
    assert_eq!((a.user.as_deref(), a.success), (Some("alice"), true));
    assert_eq!(s.literal_bytes, 5 + 7);
    assert_eq!(s.unknown_lines, 0);
    assert!(!format!("{s:?}").contains("S3cret"));

    let (s, _, _) = run(LOGIN_NO);
    let a = &s.auth[0];
    assert_eq!(
        (a.user.as_deref(), a.status, a.success),
        (Some("mallory"), Some("NO"), false)
    );
    assert_eq!(s.tagged_no, 1);
}

#[test]
fn cram_md5_is_not_a_cleartext_password() {
    let (s, _, _) = run(CRAM_MD5);
    let a = &s.auth[0];
    assert_eq!((a.mechanism.as_str(), a.user.as_deref()), ("CRAM-MD5", Some("alice")));
    assert!(a.success && !a.cleartext_credentials);
}

#[test]
fn every_chunking_gives_the_same_summary() {
    for f in ALL {
        let (whole, v, _) = run(f);
        for chunk in [1, 2, 5, 64] {
            let mut s = ImapState::new();
            let (v2, _) = replay(&mut s, f, chunk, usize::MAX);
            assert_eq!(s.summary(), &whole, "chunk {chunk}");
            assert_eq!(
                matches!(v2, Verdict::StartTls { .. }),
                matches!(v, Verdict::StartTls { .. })
            );
        }
    }
}

/// Every prefix of every session: no panic, and no fact the whole session does not have.
#[test]
fn truncation() {
    for f in ALL {
        let (whole, _, _) = run(f);
        for n in 0..=payload_len(f) {
            let mut s = ImapState::new();
            replay(&mut s, f, usize::MAX, n);
            let p = s.summary();
            assert!(p.auth.len() <= whole.auth.len());
            for (a, b) in p.auth.iter().zip(&whole.auth) {
                assert!(a.user.is_none() || a.user == b.user, "{n}: {:?} {:?}", a.user, b.user);
                assert!(!a.success || b.success);
                assert!(!a.cleartext_credentials || b.cleartext_credentials);
            }
            assert!(p.capabilities.iter().all(|c| whole.capabilities.contains(c)));
            assert!(!p.starttls_offered || whole.starttls_offered);
            assert!(p.starttls.is_none() || whole.starttls.is_some());
            assert!(p.literal_bytes <= whole.literal_bytes);
            assert_eq!(p.unknown_lines, 0, "{n}");
        }
    }
}

#[test]
fn malformed_session_is_bounded_and_stops() {
    let mut s = ImapState::new();
    let (v, _) = replay(&mut s, MALFORMED, 50, usize::MAX);
    assert_eq!(v, Verdict::Stop);
    assert!(s.summary().literal_bytes > 0);
    assert!(s.buffered_bytes() <= 2 * state::MAX_LINE_BYTES + 4096);
}

#[test]
fn gap_inside_a_literal_keeps_the_count() {
    let mut s = ImapState::new();
    s.feed(Direction::ToClient, b"* OK ready\r\n* 1 FETCH (BODY[] {100}\r\nabc", 0);
    s.gap(Direction::ToClient, 90);
    s.feed(Direction::ToClient, b"1234567)\r\na1 OK done\r\n", 0);
    let sum = s.summary();
    assert_eq!((sum.literal_bytes, sum.tagged_ok, sum.unknown_lines), (100, 1, 0));
}

#[test]
fn probe() {
    assert_eq!(
        probe_imap(Direction::ToClient, b"* OK [CAPABILITY IMAP4rev1] hi\r\n"),
        Probe::Yes
    );
    assert_eq!(probe_imap(Direction::ToClient, b"* PREAUTH x\r\n"), Probe::Yes);
    assert_eq!(probe_imap(Direction::ToClient, b"* O"), Probe::NeedMore);
    assert_eq!(probe_imap(Direction::ToClient, b"+OK POP3\r\n"), Probe::No);
    assert_eq!(probe_imap(Direction::ToClient, b"220 smtp\r\n"), Probe::No);
    assert_eq!(probe_imap(Direction::ToServer, b"a1 CAPABILITY\r\n"), Probe::Yes);
    assert_eq!(probe_imap(Direction::ToServer, b"a1 LOG"), Probe::NeedMore);
    assert_eq!(probe_imap(Direction::ToServer, b"GET / HTTP/1.1\r\n"), Probe::No);
    assert_eq!(probe_imap(Direction::ToServer, b"\x16\x03\x01"), Probe::No);
}

/// AUTHENTICATE NTLM (Dovecot here has no NTLM): curl's real NTLMSSP NEGOTIATE and
/// AUTHENTICATE messages from the HTTP fixture, as the SASL responses.
#[test]
fn authenticate_ntlm_names_domain_and_user() {
    let ews = include_bytes!("../../../fixtures/pdu/http/http-curl-1.seg");
    let (t1, t3) = (
        crate::proto::segments::ntlm_token(ews, 0),
        crate::proto::segments::ntlm_token(ews, 1),
    );
    let mut s = ImapState::new();
    s.feed(
        Direction::ToClient,
        b"* OK [CAPABILITY IMAP4rev1 AUTH=NTLM] Microsoft Exchange IMAP4 ready\r\n",
        0,
    );
    s.feed(Direction::ToServer, b"a1 AUTHENTICATE NTLM\r\n", 0);
    s.feed(Direction::ToClient, b"+ \r\n", 0);
    s.feed(Direction::ToServer, &[&t1[..], b"\r\n"].concat(), 0);
    s.feed(
        Direction::ToClient,
        b"+ TlRMTVNTUAACAAAADgAOADAAAAABAougoWncLRKZ0XAAAAAAAAAAAAAAAAA+AAAARQBYAFcAQQBUAEMASAA=\r\n",
        0,
    );
    s.feed(Direction::ToServer, &[&t3[..], b"\r\n"].concat(), 0);
    s.feed(
        Direction::ToClient,
        b"a1 OK NTLM authentication successful\r\na2 x\r\n",
        0,
    );
    s.feed(Direction::ToServer, b"a2 SELECT INBOX\r\n", 0);
    let sum = s.summary();
    let a = &sum.auth[0];
    assert_eq!(
        (a.mechanism.as_str(), a.user.as_deref(), a.responses),
        ("NTLM", Some("EXWATCH\\bob"), 2)
    );
    assert!(a.success && !a.cleartext_credentials);
    assert_eq!(sum.auth_offered, ["NTLM"]);
    assert!(sum.exchange_greeting);
    assert_eq!(count(sum, "SELECT"), 1);
}

#[test]
fn idle_done_is_not_a_bad_line() {
    let mut s = ImapState::new();
    s.feed(Direction::ToClient, b"* OK ready\r\n", 0);
    s.feed(Direction::ToServer, b"a1 IDLE\r\n", 0);
    s.feed(Direction::ToClient, b"+ idling\r\n* 2 EXISTS\r\n", 0);
    s.feed(Direction::ToServer, b"DONE\r\n", 0);
    s.feed(Direction::ToClient, b"a1 OK IDLE terminated\r\n", 0);
    let sum = s.summary();
    assert_eq!((count(sum, "IDLE"), sum.tagged_ok, sum.unknown_lines), (1, 1, 0));
}

/// A synchronising literal the server refuses (RFC 9051 §4.3): the client sends no literal, and
/// its next command is a command again.
#[test]
fn refused_literal_is_not_waited_for() {
    let mut s = ImapState::new();
    s.feed(Direction::ToClient, b"* OK ready\r\n", 0);
    s.feed(Direction::ToServer, b"a1 APPEND INBOX {99999}\r\n", 0);
    s.feed(Direction::ToClient, b"a1 NO [TOOBIG] too big\r\n", 0);
    s.feed(Direction::ToServer, b"a2 LOGOUT\r\n", 0);
    let sum = s.summary();
    assert_eq!(
        (count(sum, "APPEND"), count(sum, "LOGOUT"), sum.literal_bytes),
        (1, 1, 0)
    );
    // an accepted one is skipped by count
    let mut s = ImapState::new();
    s.feed(Direction::ToServer, b"a1 APPEND INBOX {5}\r\n", 0);
    s.feed(Direction::ToClient, b"+ go\r\n", 0);
    s.feed(Direction::ToServer, b"a2 X\r\n\r\na3 NOOP\r\n", 0);
    s.feed(Direction::ToClient, b"a1 OK appended\r\n", 0);
    assert_eq!((s.summary().literal_bytes, count(s.summary(), "NOOP")), (5, 1));
}
