//! `tessera-console`, the terminal console for support and front-desk staff. It talks only to the HTTP API:
//! state and key handling in [`app`], API calls in the background in [`exec`], the live check-in feed in
//! [`live`], drawing in [`ui`].
#![forbid(unsafe_code)]

mod api;
mod app;
mod config;
mod exec;
mod live;
mod report;
mod terminal;
mod ui;

use clap::Parser;
use crossterm::event::{self, Event, KeyEventKind};
use std::time::{Duration, Instant};

/// Tessera support console.
#[derive(Debug, Parser)]
#[command(name = "tessera-console", version, about)]
struct Args {
    /// Server base URL, e.g. http://127.0.0.1:8080 (remembered).
    #[arg(long, env = "TESSERA_CONSOLE_SERVER")]
    server: Option<String>,
    /// Tenant slug (remembered).
    #[arg(long, env = "TESSERA_CONSOLE_TENANT")]
    tenant: Option<String>,
    /// Login e-mail (remembered); the password is asked on screen.
    #[arg(long, env = "TESSERA_CONSOLE_EMAIL")]
    email: Option<String>,
}

/// Per-frame draw durations, written as count/p50/p99/max when `TESSERA_CONSOLE_FRAME_STATS` names a file.
#[derive(Default)]
struct FrameStats(Vec<Duration>);

impl FrameStats {
    fn write(mut self, path: &std::path::Path) -> std::io::Result<()> {
        self.0.sort();
        let at = |q: f64| {
            let i = ((self.0.len() as f64 - 1.0) * q).round() as usize;
            self.0.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM"))
                    .map(str::to_string)
            })
            .unwrap_or_default();
        std::fs::write(
            path,
            format!(
                "count={} p50_ms={:.3} p99_ms={:.3} max_ms={:.3} vmhwm_kb={}\n",
                self.0.len(),
                at(0.5),
                at(0.99),
                at(1.0),
                rss
            ),
        )
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut remembered = config::load();
    let server = args
        .server
        .or(remembered.server.clone())
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let tenant = args
        .tenant
        .or(remembered.tenant.clone())
        .ok_or_else(|| anyhow::anyhow!("--tenant is required the first time"))?;
    let email = args.email.or(remembered.email.clone()).unwrap_or_default();
    let worker = exec::Worker::spawn(api::Api::new(&server, &tenant)?)?;
    ui::detect_color();
    let today = chrono::Local::now().date_naive();
    let mut app = app::App::new(server.clone(), tenant.clone(), email, today);
    let stats_path = std::env::var_os("TESSERA_CONSOLE_FRAME_STATS").map(std::path::PathBuf::from);
    let mut stats = FrameStats::default();
    let mut remembered_login = false;
    {
        let mut guard = terminal::TerminalGuard::enter()?;
        while !app.quit {
            // Answers of the API, applied between frames: the interface never waits for the network.
            while let Ok(update) = worker.updates.try_recv() {
                update(&mut app);
            }
            if app.logged_in && !remembered_login {
                remembered_login = true;
                remembered = config::Remembered {
                    server: Some(server.clone()),
                    tenant: Some(tenant.clone()),
                    email: Some(app.email.clone()),
                };
                if let Err(e) = config::save(&remembered) {
                    app.error(format!("could not remember the login: {e}"));
                }
            }
            let started = Instant::now();
            guard.terminal.draw(|f| ui::draw(f, &app))?;
            stats.0.push(started.elapsed());
            if !event::poll(Duration::from_millis(50))? {
                continue;
            }
            if let Event::Key(key) = event::read()? {
                if key.kind != KeyEventKind::Press {
                    continue;
                }
                match app.on_key(key) {
                    Some(app::Action::Quit) => app.quit = true,
                    Some(action) => worker.submit(&mut app, action),
                    None => {}
                }
            }
        }
    }
    if let Some(path) = stats_path {
        stats.write(&path)?;
    }
    Ok(())
}
