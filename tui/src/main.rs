//! `tessera-console`, the support staff's terminal console. Until its own issue lands it only parses its command
//! line (`--help`, `--version`) and says so; it never touches the database.
#![forbid(unsafe_code)]

use clap::Parser;

/// Tessera support console (ratatui). Not built yet: this release only answers --help and --version.
#[derive(Debug, Parser)]
#[command(name = "tessera-console", version, about)]
struct Args {}

fn main() -> std::process::ExitCode {
    let _args = Args::parse();
    eprintln!(
        "error: the console is not available in this release yet; use the `tessera` CLI or the API"
    );
    std::process::ExitCode::from(1)
}
