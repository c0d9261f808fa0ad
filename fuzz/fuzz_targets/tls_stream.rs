//! `TlsState` over arbitrary bytes: the input is cut into pieces at fuzzer-chosen points, each
//! piece going to the direction and with the action its one-byte header chooses (feed, or a
//! gap), and `probe_tls` sees the start of every piece. Checked: no panic, the summary stays
//! within its limits, and once the parser says `Stop` it keeps saying so.
//!
//! Input: repeated `[ctl][len][len bytes]`: ctl bit 0 = direction, bit 1 = a gap instead of data.

#![no_main]

use exwatch::proto::tls::{TlsState, probe_tls, state::MAX_ALERTS, state::MAX_CERTIFICATES};
use exwatch::proto::{Direction, StreamParser, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut st = TlsState::new();
    let mut rest = data;
    let mut stopped = false;
    while let [ctl, len, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        let (piece, tail) = tail.split_at(n);
        rest = tail;
        let dir = if ctl & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
        let _ = probe_tls(piece);
        if ctl & 2 != 0 {
            st.gap(dir, n as u64);
            continue;
        }
        let v = st.feed(dir, piece, 1_700_000_000_000_000_000);
        if stopped {
            assert_eq!(v, Verdict::Stop);
        }
        stopped |= v == Verdict::Stop;
    }
    let s = st.summary();
    assert!(s.certificates.len() <= MAX_CERTIFICATES);
    assert!(s.alerts.len() <= MAX_ALERTS);
    let _ = s.weak_reasons();
    let _ = s.version();
});
