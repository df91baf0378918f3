//! `tessera`, the operator CLI: serve the API, run the demo, migrate, manage tenants, accounts and keys.
//!
//! Exit codes: 0 on success, 1 on failure (one `error:` line on standard error), 2 on usage errors.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod demo;
mod door;
mod output;
mod report;

use clap::Parser;

/// mimalloc returns large freed blocks (such as Argon2's 19 MiB working memory) to the operating system, where the
/// system allocator keeps them in per-thread arenas: after a burst of logins the server's resident memory falls
/// back instead of staying hundreds of megabytes high. It is also faster for the many small allocations of
/// request handling.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    let fail = |error: anyhow::Error| {
        // One line: the error and its causes, joined.
        eprintln!("error: {}", format!("{error:#}").replace('\n', " "));
        std::process::ExitCode::from(1)
    };
    let settings = match commands::settings(&cli) {
        Ok(settings) => settings,
        Err(error) => return fail(error),
    };
    // Blocking threads run database work and password hashes. More of them than connections and hash permits
    // would only wait, each holding a stack and an allocator heap, so the cap follows the settings. Each worker
    // thread may also be reading in place (`App::reading_in_place`), its tasks taken over meanwhile by one more
    // thread of the same pool: those must never wait for a place.
    // tokio's own count: `TOKIO_WORKER_THREADS`, or one per core.
    let workers = std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
    let blocking_threads =
        settings.database.pool_size as usize + settings.auth.max_concurrent_hashes + workers + 4;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(blocking_threads)
        .thread_keep_alive(std::time::Duration::from_secs(2))
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(anyhow::anyhow!("cannot start the async runtime: {error}")),
    };
    match runtime.block_on(commands::run(cli, settings)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => fail(error),
    }
}
