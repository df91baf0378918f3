//! Tessera's application services: one function per use case, given a context ([`Ctx`]: realm, actor, request)
//! and the [`App`] (database, settings, keys, clock). Handlers and CLI commands parse, call one of these and
//! render; every rule, permission check included, lives here.
//!
//! Services are `async` for their callers but run their database work on blocking threads
//! ([`App::blocking`]), so that diesel never blocks the async workers.
#![forbid(unsafe_code)]

pub mod access;
pub mod audit;
pub mod auth;
mod background;
pub mod billing;
pub mod body;
pub mod clients;
mod context;
pub mod devices;
pub mod email;
pub mod error;
pub mod events;
pub mod gym_demo;
pub mod idempotency;
pub mod jobs;
pub mod keys;
pub mod me;
pub mod members;
pub mod memberships;
pub mod pagination;
pub mod password_reset;
pub mod passwords;
pub mod personal_data;
pub mod plans;
pub mod realm_jobs;
pub mod reports;
pub mod rewrap;
pub mod schedules;
pub mod scheduling;
pub mod sealing;
pub mod staff;
pub mod storage;
pub mod tenants;
mod throttle;
pub mod users;
pub mod views;
pub mod webhooks;

use std::sync::Arc;

pub use context::{Actor, ActorKind, Ctx};
pub use error::{AppError, AppResult};
use tessera_config::Settings;
use tessera_domain::clock::{Clock, SystemClock};
use tessera_store::{Database, PoolOptions};

/// Everything services need, shared by every request.
#[derive(Clone)]
pub struct App {
    inner: Arc<AppInner>,
}

struct AppInner {
    db: Database,
    settings: Settings,
    tenants: tenants::TenantRegistry,
    keys: keys::KeyRing,
    passwords: passwords::Passwords,
    throttle: throttle::LoginThrottle,
    principals: auth::PrincipalCache,
    devices: devices::DeviceCache,
    doors: access::DoorDesk,
    door_memory: access::DoorMemory,
    master: sealing::MasterKey,
    job_outcomes: jobs::OutcomeCounts,
    webhook_outcomes: jobs::OutcomeCounts,
    events: events::live::EventHub,
    storage: storage::Storage,
    background: background::Lane,
    clock: Arc<dyn Clock>,
}

impl App {
    /// Connects to the database named by the settings (as the app role) and loads tenants and signing keys,
    /// creating the first keys when there are none.
    pub async fn start(settings: Settings) -> AppResult<App> {
        Self::start_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Like [`App::start`] with a given clock.
    pub async fn start_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> AppResult<App> {
        use secrecy::ExposeSecret;
        let url = settings.database.url.expose_secret().to_owned();
        let options = PoolOptions {
            max_size: settings.database.pool_size,
            timeout: std::time::Duration::from_secs(settings.database.pool_timeout_secs),
            sqlite_busy_timeout_ms: settings.database.sqlite_busy_timeout_ms,
            // With background checkpoints, SQLite's own are a backstop (at least 10,000 pages, about 40 MiB of
            // log) for processes that do not run them (the CLI) or a checkpointer that falls behind; above the
            // length at which the checkpointer makes the log start over, so that it does not fire first.
            sqlite_autocheckpoint_pages: if settings.database.sqlite_checkpoint_every_ms > 0 {
                settings
                    .database
                    .sqlite_log_restart_pages
                    .saturating_mul(2)
                    .max(10_000)
            } else {
                1_000
            },
        };
        let db = tokio::task::spawn_blocking(move || Database::connect(&url, &options))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
        let master = sealing::MasterKey::parse(settings.secrets.master_key.as_ref())?;
        let storage = storage::Storage::open(&settings.storage, &master)?;
        let passwords = passwords::Passwords::new(&settings.auth)?;
        let throttle = throttle::LoginThrottle::new(
            settings.auth.max_failed_logins,
            std::time::Duration::from_secs(settings.auth.failed_login_window_secs.max(1) as u64),
        );
        let principals = auth::PrincipalCache::new(std::time::Duration::from_millis(
            settings.auth.principal_cache_ttl_ms,
        ));
        let devices = devices::DeviceCache::new(std::time::Duration::from_millis(
            settings.auth.principal_cache_ttl_ms,
        ));
        let settings_buffer = settings.events.subscriber_buffer;
        let doors = access::DoorDesk::new(db.backend());
        let door_memory = access::DoorMemory::new(settings.server.door_memory);
        let background = background::Lane::start(settings.server.background_at_idle_priority)
            .map_err(|e| AppError::Internal(format!("background threads: {e}")))?;
        let app = App {
            inner: Arc::new(AppInner {
                db,
                settings,
                tenants: tenants::TenantRegistry::default(),
                keys: keys::KeyRing::default(),
                passwords,
                throttle,
                principals,
                devices,
                doors,
                door_memory,
                master,
                job_outcomes: jobs::OutcomeCounts::default(),
                webhook_outcomes: jobs::OutcomeCounts::default(),
                events: events::live::EventHub::new(settings_buffer),
                storage,
                background,
                clock,
            }),
        };
        app.ensure_signing_keys().await?;
        app.refresh().await?;
        Ok(app)
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.inner.db
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The tenants this process knows.
    pub fn tenants(&self) -> &tenants::TenantRegistry {
        &self.inner.tenants
    }

    /// The signing keys this process knows.
    pub fn keys(&self) -> &keys::KeyRing {
        &self.inner.keys
    }

    /// What this process read of callers recently.
    pub fn principals(&self) -> &auth::PrincipalCache {
        &self.inner.principals
    }

    /// The master key.
    pub fn master(&self) -> &sealing::MasterKey {
        &self.inner.master
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    /// Counts a webhook delivery attempt's outcome (`succeeded`, `pending`: will retry, `failed`: for good).
    pub(crate) fn outcomes_webhooks(&self, status: &str) {
        self.inner.webhook_outcomes.add("webhook", status);
    }

    /// Webhook delivery attempts by outcome, for the metrics.
    pub fn webhook_outcomes(&self) -> Vec<(String, u64)> {
        self.inner
            .webhook_outcomes
            .snapshot()
            .into_iter()
            .map(|((_, outcome), n)| (outcome, n))
            .collect()
    }

    /// Runs blocking database work on a blocking thread.
    pub async fn blocking<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> AppResult<T> + Send + 'static,
    {
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| AppError::Internal(format!("task: {e}")))?
    }

    /// Runs database work that no request waits for on the background lane, at idle priority (see
    /// [`background`]).
    pub(crate) async fn in_background<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> AppResult<T> + Send + 'static,
    {
        let db = self.inner.db.clone();
        self.inner.background.run(move || f(&db)).await
    }

    /// Runs a short database read that a request waits for: on SQLite on this very thread, on PostgreSQL (and
    /// outside tokio's multi-threaded runtime) as [`App::blocking`] does.
    ///
    /// Why: a door decision's read on SQLite is in-process and short (0.1–0.4 ms), and handing it to a blocking
    /// thread made it wait for that thread to get a core, a millisecond or more when the doors are busy. Here
    /// tokio's `block_in_place` hands this worker's other tasks to another thread instead, so the runtime never
    /// waits for the read. PostgreSQL's reads wait on the network, where that costs more than it saves
    /// (docs/performance.md, "2026-11-28 13:05–13:35 UTC").
    pub async fn reading_in_place<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> AppResult<T> + Send + 'static,
    {
        let multi_threaded = tokio::runtime::Handle::try_current().is_ok_and(|runtime| {
            runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
        });
        if multi_threaded && self.inner.db.backend() == tessera_store::Backend::Sqlite {
            // A panic in `f` must come back as an error, as it does from a blocking thread, rather than unwind
            // the caller (a brand's decider, which would stop answering its doors). What `f` shares may be left
            // as a panic on a blocking thread would leave it; its database connection is closed by the pool,
            // which drops one given back while unwinding.
            let db = &self.inner.db;
            tokio::task::block_in_place(|| catching_panics("a database read", || f(db)))
        } else {
            self.blocking(f).await
        }
    }

    /// SQLite: copies the write-ahead log into the database every `database.sqlite_checkpoint_every_ms`, and makes
    /// it start over past `database.sqlite_log_restart_pages`, until `stop`, so that no request's commit does
    /// either (see [`Database::checkpoint_wal`]). Returns at once on PostgreSQL or when the interval is 0.
    pub async fn run_checkpointer(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let every = self.settings().database.sqlite_checkpoint_every_ms;
        if every == 0 || self.inner.db.backend() != tessera_store::Backend::Sqlite {
            return;
        }
        let restart_at = self.settings().database.sqlite_log_restart_pages;
        while !*stop.borrow() {
            if let Err(error) = self
                .in_background(move |db| Ok(db.checkpoint_wal(restart_at)?))
                .await
            {
                tracing::warn!(%error, "could not checkpoint the write-ahead log");
            }
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_millis(every)) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Reloads tenants and signing keys when they changed in the database (another process applied tenant
    /// files or rotated keys). Cheap when nothing changed; the server calls it every few seconds.
    pub async fn refresh(&self) -> AppResult<()> {
        self.reload_tenants_if_changed().await?;
        self.reload_keys().await
    }
}

/// Runs `f`, turning a panic in it into an internal error naming `what` panicked: for work run on a thread that
/// must outlive it (a brand's decider, the background lane).
pub(crate) fn catching_panics<T>(what: &str, f: impl FnOnce() -> AppResult<T>) -> AppResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(AppError::Internal(format!("{what} panicked"))))
}

/// A random token of `bytes` bytes, base64url without padding: for refresh tokens, invitations and the like.
pub fn tokens_random(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a token, hex: what is stored in place of the token.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// Converts a UTC instant to the stored form.
pub(crate) fn naive(at: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    at.naive_utc()
}

#[cfg(test)]
mod tests {
    //! `App`'s ways of running database work, on a fresh SQLite database.

    use super::*;
    use tessera_store::TxMode;

    /// The test suite's fixed master key (32 bytes, base64); never a production key.
    const TEST_MASTER_KEY: &str = "dGVzc2VyYS10ZXN0LW1hc3Rlci1rZXktMzItYnl0ZXM=";

    /// An app on a migrated SQLite database in `dir`.
    async fn sqlite_app(dir: &std::path::Path) -> App {
        let url = format!("sqlite://{}", dir.join("tessera.db").display());
        tessera_store::migrate::run_pending(&url).expect("migrations run");
        let vars = [
            ("TESSERA_DATABASE__URL", url),
            (
                "TESSERA_STORAGE__LOCAL_DIR",
                dir.join("files").display().to_string(),
            ),
            ("TESSERA_SECRETS__MASTER_KEY", TEST_MASTER_KEY.to_owned()),
        ]
        .map(|(key, value)| (key.to_owned(), value));
        let settings = Settings::load_with_env(None, vars).expect("settings load");
        App::start(settings).await.expect("the app starts")
    }

    /// The newest event's position, read through the pool.
    fn last_seq(db: &Database) -> AppResult<i64> {
        Ok(db.system(TxMode::Read, tessera_store::models::events::last_seq)?)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_in_place_that_panics_holding_a_connection_comes_back_as_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let app = sqlite_app(dir.path()).await;
        let before = app.blocking(last_seq).await.unwrap();
        // On SQLite under the multi-threaded runtime the read runs on this very worker (`block_in_place`): a panic
        // in it, inside a transaction, must not unwind the caller.
        let failed = app
            .reading_in_place(|db| {
                db.system(TxMode::Read, |_s| -> AppResult<()> {
                    panic!("a read that breaks its own invariant")
                })
            })
            .await;
        match failed {
            Err(AppError::Internal(message)) => assert_eq!(message, "a database read panicked"),
            other => panic!("expected an internal error, got {other:?}"),
        }
        // The worker and the pool carry on: the next reads on this worker get their answers.
        for _ in 0..12 {
            assert_eq!(app.reading_in_place(last_seq).await.unwrap(), before);
        }
    }
}
