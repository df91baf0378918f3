//! `tessera`, the operator CLI: serve the API, run the demo, migrate, manage tenants, accounts and keys.
//!
//! Exit codes: 0 on success, 1 on failure (one `error:` line on standard error), 2 on usage errors.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod demo;
mod output;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line: the error and its causes, joined.
            eprintln!("error: {}", format!("{error:#}").replace('\n', " "));
            std::process::ExitCode::from(1)
        }
    }
}
