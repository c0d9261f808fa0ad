/// mimalloc instead of glibc's malloc: flows come and go by the hundred thousand (105,595 on
/// mix.pcap), each with its parser state, and glibc's malloc/free/consolidate took 17% of a
/// `--threads 1` run (perf). Built without transparent huge pages (`no_thp`): memory freed on
/// another thread than the one that allocated it left pages empty that mimalloc purged, and
/// faulting them back zeroed whole 2 MiB pages (0.5-0.9 s of system time on mix.pcap with
/// `--threads 2`; 0.25 s without). Only the binary sets it: test binaries keep their own
/// counting allocator (tests/no_alloc.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

fn main() -> ExitCode {
    exwatch::cli::main()
}
