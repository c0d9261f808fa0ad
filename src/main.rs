/// mimalloc instead of glibc's malloc: flows come and go by the hundred thousand (105,595 on
/// mix.pcap), each with its parser state, and glibc's malloc/free/consolidate took 17% of a
/// `--threads 1` run (perf). Only the binary sets it: test binaries keep their own counting
/// allocator (tests/no_alloc.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_t` (the same index in the v2 and v3
/// headers libmimalloc-sys builds; the Rust binding does not name it).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
/// How long freed memory stays mapped before mimalloc returns it (milliseconds).
const PURGE_DELAY_MS: std::ffi::c_long = 1000;

unsafe extern "C" {
    /// mimalloc.h: set a runtime option (not thread safe: call before threads start).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

use std::process::ExitCode;

fn main() -> ExitCode {
    // Hand freed pages back to the OS only after they stayed free for a second. Records and
    // flow state freed on another thread than the one that allocated them leave pages empty;
    // with mimalloc's default 10 ms the next allocation faulted them back in, zeroing 2 MiB
    // transparent huge pages: 1.0 s of system time on mix.pcap with --threads 2 (0.4 s with
    // no purging). A long-running sensor still returns what a quiet second leaves unused.
    // SAFETY: no other thread runs yet; the option is a plain integer.
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
        debug_assert_eq!(mi_option_get(MI_OPTION_PURGE_DELAY), PURGE_DELAY_MS);
    }
    exwatch::cli::main()
}
