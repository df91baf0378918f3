//! The pool and the two transaction contexts: realm-scoped ([`Scoped`]) and cross-tenant ([`System`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, Connection, SimpleConnection, TransactionManager,
};

use crate::connection::{Backend, ConnectionManager, DbConnection};
use crate::{StoreError, StoreResult};

mod checkpoint;

/// Whether a transaction writes. On SQLite a writing transaction begins `IMMEDIATE`, taking the write lock up
/// front, so that concurrent writers wait (up to the busy timeout) instead of failing with "database is locked".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// Reads only.
    Read,
    /// Reads and writes.
    Write,
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most connections kept open.
    pub max_size: u32,
    /// How long to wait for a free connection.
    pub timeout: Duration,
    /// SQLite busy timeout in milliseconds.
    pub sqlite_busy_timeout_ms: u32,
    /// SQLite: the write-ahead log's size in pages at which the transaction that crosses it copies the log into
    /// the database (SQLite's `wal_autocheckpoint`; 1,000 is SQLite's own). A server that checkpoints in the
    /// background ([`Database::checkpoint_wal`]) sets it high, as a backstop only.
    pub sqlite_autocheckpoint_pages: u32,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            timeout: Duration::from_secs(5),
            sqlite_busy_timeout_ms: 10_000,
            sqlite_autocheckpoint_pages: 1_000,
        }
    }
}

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<ConnectionManager>,
    backend: Backend,
    /// Opens connections outside the pool (listeners).
    manager: ConnectionManager,
    /// On SQLite, writing transactions of this process take turns here before `BEGIN IMMEDIATE`. SQLite has one
    /// writer at a time anyway; without this, waiting writers poll the lock with SQLite's busy handler, which
    /// sleeps in growing steps (up to 100 ms), so many concurrent writers spend most of their time asleep. Other
    /// processes on the same file still wait through the busy timeout.
    sqlite_writer: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// A connection inside a transaction scoped to one realm: a tenant, or the group (`group`).
pub struct Scoped<'a> {
    conn: &'a mut DbConnection,
    realm_key: &'a str,
    /// Events published while deferring, written together before the transaction ends.
    deferred_events: Option<Vec<crate::models::events::EventRow>>,
}

impl Scoped<'_> {
    /// Starts holding the events published in this transaction, for the caller to write them together with
    /// [`Scoped::take_deferred_events`]; false when events are deferred already (by an outer caller, who
    /// writes them).
    pub fn defer_events(&mut self) -> bool {
        if self.deferred_events.is_some() {
            return false;
        }
        self.deferred_events = Some(Vec::new());
        true
    }

    /// The buffer of deferred events, when deferring.
    pub fn deferred_events(&mut self) -> Option<&mut Vec<crate::models::events::EventRow>> {
        self.deferred_events.as_mut()
    }

    /// Stops deferring and returns the events held.
    pub fn take_deferred_events(&mut self) -> Vec<crate::models::events::EventRow> {
        self.deferred_events.take().unwrap_or_default()
    }

    /// The realm key every query of tenant-owned tables filters by.
    pub fn realm_key(&self) -> &str {
        self.realm_key
    }

    /// The connection, for queries.
    pub fn conn(&mut self) -> &mut DbConnection {
        self.conn
    }

    /// The realm key and the connection at once, for queries that need both.
    pub fn parts(&mut self) -> (&str, &mut DbConnection) {
        (self.realm_key, self.conn)
    }
}

/// A connection inside a cross-tenant transaction (`tessera_system` on PostgreSQL).
pub struct System<'a> {
    conn: &'a mut DbConnection,
}

impl System<'_> {
    /// The connection, for queries.
    pub fn conn(&mut self) -> &mut DbConnection {
        self.conn
    }

    /// A realm-scoped view of this connection, for reusing the tenant-owned query functions from
    /// cross-tenant maintenance (the system role sees every tenant, so the functions' own filter is what
    /// scopes them).
    pub fn scoped<'b>(&'b mut self, realm_key: &'b str) -> Scoped<'b> {
        Scoped {
            conn: self.conn,
            realm_key,
            deferred_events: None,
        }
    }
}

impl Database {
    /// Opens a pool for `url`. On PostgreSQL, connections switch to the `tessera_app` role, which owns no table,
    /// so row-level security applies to everything the pool runs.
    pub fn connect(url: &str, options: &PoolOptions) -> StoreResult<Database> {
        Self::build(url, options, true)
    }

    /// Opens a pool that keeps the URL's own role (the owner): for migrations and the tests that inspect the
    /// schema. Request handling never uses it.
    pub fn connect_as_owner(url: &str, options: &PoolOptions) -> StoreResult<Database> {
        Self::build(url, options, false)
    }

    fn build(url: &str, options: &PoolOptions, as_app_role: bool) -> StoreResult<Database> {
        let backend = Backend::from_url(url)?;
        let manager = ConnectionManager {
            url: url.to_owned(),
            backend,
            as_app_role,
            sqlite_busy_timeout_ms: options.sqlite_busy_timeout_ms,
            sqlite_autocheckpoint_pages: options.sqlite_autocheckpoint_pages,
        };
        // Open the first connection now so that a bad URL fails here with its own message, not as a pool
        // time-out.
        let mut first = manager.open()?;
        first.batch_execute("SELECT 1")?;
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(1))
            .connection_timeout(options.timeout)
            .test_on_check_out(false)
            .build(manager.clone())?;
        Ok(Database {
            pool,
            backend,
            manager,
            sqlite_writer: Arc::new(Mutex::new(())),
        })
    }

    /// Takes this process's SQLite writer turn for a writing transaction; nothing on PostgreSQL or for reads.
    fn writer_turn(&self, mode: TxMode) -> Option<std::sync::MutexGuard<'_, ()>> {
        (self.backend == Backend::Sqlite && mode == TxMode::Write).then(|| {
            // The mutex guards no data, so a panic of a previous holder leaves nothing inconsistent: take it back.
            self.sqlite_writer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Connections open and idle, for metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Runs `f` in one transaction scoped to `realm_key` (a tenant id, or `group`). Blocking: call it from a
    /// blocking thread.
    pub fn scoped<T, E>(
        &self,
        realm_key: &str,
        mode: TxMode,
        f: impl FnOnce(&mut Scoped<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let _turn = self.writer_turn(mode);
        let mut conn = self.pool.get().map_err(StoreError::from)?;
        // PostgreSQL's row-level security reads the realm from `app.tenant_id`, set with the `BEGIN` in one round
        // trip.
        let begin = Begin::Scoped(realm_key);
        transaction(&mut conn, mode, begin, |conn| {
            f(&mut Scoped {
                conn,
                realm_key,
                deferred_events: None,
            })
        })
    }

    /// Runs `read`, then `write` with what it returned, scoped to `realm_key`, for a short decision that reads much
    /// and writes little (a door's). On PostgreSQL both run in one writing transaction. On SQLite, where one
    /// writer at a time holds the database, `read` runs in a reading transaction, concurrently with other
    /// processes' work, and only `write` takes the writer's turn. So `write` must not rely on `read`'s snapshot
    /// staying current: what matters under concurrency is enforced by the database's own keys inside `write`.
    pub fn scoped_read_then_write<R, T, E>(
        &self,
        realm_key: &str,
        read: impl FnOnce(&mut Scoped<'_>) -> Result<R, E>,
        write: impl FnOnce(&mut Scoped<'_>, R) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        if self.backend == Backend::Postgres {
            return self.scoped(realm_key, TxMode::Write, |s| {
                let seen = read(s)?;
                write(s, seen)
            });
        }
        let seen = self.scoped(realm_key, TxMode::Read, read)?;
        self.scoped(realm_key, TxMode::Write, |s| write(s, seen))
    }

    /// Runs `f` in one cross-tenant transaction. Only the places listed in `docs/architecture.md` call this.
    pub fn system<T, E>(
        &self,
        mode: TxMode,
        f: impl FnOnce(&mut System<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let _turn = self.writer_turn(mode);
        let mut conn = self.pool.get().map_err(StoreError::from)?;
        transaction(&mut conn, mode, Begin::System, |conn| {
            f(&mut System { conn })
        })
    }

    /// A connection of its own that `LISTEN`s on `channel` (PostgreSQL), for the live-event feeder; `None` on
    /// SQLite, which has no notifications. Kept out of the pool: it holds a session-level `LISTEN`.
    pub fn listen(&self, channel: &str) -> StoreResult<Option<Listener>> {
        let mut conn = self.manager.open()?;
        match &mut conn {
            DbConnection::Postgres(c) => {
                // A channel is an identifier; ours are constants of the code, checked here anyway.
                if !channel
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_')
                {
                    return Err(StoreError::Migration(format!(
                        "invalid channel name {channel:?}"
                    )));
                }
                c.batch_execute(&format!("LISTEN {channel}"))?;
                Ok(Some(Listener { conn }))
            }
            DbConnection::Sqlite(_) => Ok(None),
        }
    }

    /// Refreshes the planner's statistics of `tables` on PostgreSQL, through a connection of its own that keeps
    /// the URL's role (the tables' owner: the app role may not `ANALYZE`); nothing on SQLite, whose plans do not
    /// depend on statistics we gather. For a long job that fills tables which were nearly empty when it began (a
    /// first billing run): plans cached before would otherwise read them as if they were still empty until
    /// autovacuum analyses them, and `ANALYZE` makes every session plan those statements again.
    pub fn refresh_statistics(&self, tables: &[&str]) -> StoreResult<()> {
        if self.backend != Backend::Postgres || tables.is_empty() {
            return Ok(());
        }
        // Table names are constants of the code; checked anyway, since they are written into the statement.
        if let Some(bad) = tables
            .iter()
            .find(|t| !t.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        {
            return Err(StoreError::Migration(format!("invalid table name {bad:?}")));
        }
        let owner = ConnectionManager {
            as_app_role: false,
            ..self.manager.clone()
        };
        let mut conn = owner.open()?;
        conn.batch_execute(&format!("ANALYZE {}", tables.join(", ")))?;
        Ok(())
    }

    /// Runs `f` on a pooled connection outside any transaction (health checks).
    pub fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }
}

/// What a transaction starts with on PostgreSQL, besides `BEGIN`.
#[derive(Debug, Clone, Copy)]
enum Begin<'a> {
    /// The realm for row-level security.
    Scoped(&'a str),
    /// The cross-tenant role.
    System,
}

impl Begin<'_> {
    /// `BEGIN` and the transaction's settings, as one batch: one round trip instead of two. The realm is a tenant id
    /// or `group`, written as a string literal with its quotes doubled (PostgreSQL's standard-conforming strings,
    /// the default since 9.1, give a backslash no meaning there).
    fn postgres_sql(self) -> String {
        match self {
            Begin::Scoped(realm) => format!(
                "BEGIN; SELECT set_config('app.tenant_id', '{}', true)",
                realm.replace('\'', "''")
            ),
            Begin::System => "BEGIN; SET LOCAL ROLE tessera_system".to_owned(),
        }
    }
}

/// Begins (IMMEDIATE for SQLite writes), runs `f`, commits on `Ok` and rolls back on `Err`.
fn transaction<T, E>(
    conn: &mut DbConnection,
    mode: TxMode,
    begin: Begin<'_>,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    let begun = match (conn as &mut DbConnection, mode) {
        (DbConnection::Sqlite(sqlite), TxMode::Write) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
        }
        (DbConnection::Postgres(pg), _) => {
            AnsiTransactionManager::begin_transaction_sql(pg, &begin.postgres_sql())
        }
        (conn, _) => Manager::begin_transaction(conn),
    };
    begun.map_err(StoreError::from)?;
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn).map_err(StoreError::from)?;
            Ok(value)
        }
        Err(error) => {
            // The caller's error is what matters; a failed rollback leaves the connection broken, which the
            // transaction manager records, and r2d2 then discards it.
            let _ = Manager::rollback_transaction(conn);
            Err(error)
        }
    }
}

/// A PostgreSQL session listening for notifications.
pub struct Listener {
    conn: DbConnection,
}

impl Listener {
    /// The payloads received since the last call; does not wait. An error means the session is lost (open a
    /// new listener and catch up).
    pub fn take(&mut self) -> StoreResult<Vec<String>> {
        match &mut self.conn {
            DbConnection::Postgres(c) => c
                .notifications_iter()
                .map(|n| n.map(|n| n.payload).map_err(StoreError::from))
                .collect(),
            DbConnection::Sqlite(_) => Ok(Vec::new()),
        }
    }

    /// Checks that the session is alive (a notification-only session would not notice a lost server).
    pub fn ping(&mut self) -> StoreResult<()> {
        Ok(self.conn.batch_execute("SELECT 1")?)
    }
}
