//! No heap allocation per line in the HTTP, IMAP and POP3 parsers once a session is warm: the
//! lines of further requests, commands and replies, and the bodies, literals and multi-line
//! responses they carry, are parsed in place (the kept records are bounded and already full,
//! counters already have their names).

use std::alloc::{GlobalAlloc, Layout, System};

use exwatch::proto::http::HttpState;
use exwatch::proto::imap::ImapState;
use exwatch::proto::pop3::Pop3State;
use exwatch::proto::{Direction, StreamParser};

struct Counting;

thread_local! {
    /// Allocations made by this thread: the test harness allocates on its own threads (starting
    /// the next test, reporting one) while a measurement runs.
    static ALLOCS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count() {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

fn allocs() -> usize {
    ALLOCS.with(|c| c.get())
}

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Feeds `round` (pairs of direction and bytes) `n` times.
fn feed<P: StreamParser>(p: &mut P, round: &[(Direction, &[u8])], n: usize) {
    for _ in 0..n {
        for (d, b) in round {
            p.feed(*d, b, 0);
        }
    }
}

fn allocs_during(f: impl FnOnce()) -> usize {
    let before = allocs();
    f();
    allocs() - before
}

#[test]
fn warm_sessions_do_not_allocate_per_line() {
    use Direction::{ToClient as S, ToServer as C};
    let body = vec![b'x'; 4000];

    let http: [(Direction, &[u8]); 4] = [
        (C, b"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail\r\nAuthorization: Basic YWxpY2U6UzNjcmV0IQ==\r\nContent-Length: 4000\r\n\r\n"),
        (C, &body),
        (S, b"HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        (S, b"5\r\nhello\r\n0\r\n\r\n"),
    ];
    let mut h = HttpState::new();
    // past the kept requests and responses (32 each), with the line buffers grown
    feed(&mut h, &http, 40);
    let n = allocs_during(|| feed(&mut h, &http, 100));
    assert_eq!(n, 0, "http");
    assert_eq!(h.summary().request_count, 140);

    let imap: [(Direction, &[u8]); 4] = [
        (C, b"a1 UID FETCH 1 BODY[]\r\n"),
        (S, b"* 1 FETCH (BODY[] {4000}\r\n"),
        (S, &body),
        (S, b")\r\na1 OK done\r\n"),
    ];
    let mut m = ImapState::new();
    m.feed(S, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] Microsoft Exchange\r\n", 0);
    feed(&mut m, &imap, 2);
    let n = allocs_during(|| feed(&mut m, &imap, 100));
    assert_eq!(n, 0, "imap");
    assert_eq!(m.summary().literal_bytes, 102 * 4000);

    let pop3: [(Direction, &[u8]); 4] = [
        (C, b"RETR 1\r\n"),
        (S, b"+OK 4000 octets\r\n"),
        (S, &body),
        (S, b"\r\n.\r\n"),
    ];
    let mut p = Pop3State::new();
    p.feed(S, b"+OK The Microsoft Exchange POP3 service is ready.\r\n", 0);
    feed(&mut p, &pop3, 2);
    let n = allocs_during(|| feed(&mut p, &pop3, 100));
    assert_eq!(n, 0, "pop3");
}
