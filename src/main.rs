use std::process::ExitCode;

fn main() -> ExitCode {
    exwatch::cli::main()
}
