/// mimalloc instead of glibc's malloc: flows come and go by the hundred thousand (105,595 on
/// mix.pcap), each with its parser state, and glibc's malloc/free/consolidate took 17% of a
/// `--threads 1` run (perf). Only the binary sets it: test binaries keep their own counting
/// allocator (tests/no_alloc.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

fn main() -> ExitCode {
    exwatch::cli::main()
}
