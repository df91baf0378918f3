//! One connection type over both backends, and the r2d2 manager that opens and prepares connections.

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::StoreError;

pub use multi::DbConnection;
pub(crate) use multi::MultiBackend;

mod multi {
    // The derive generates public items of its own that carry no docs.
    #![allow(missing_docs)]
    use diesel::{PgConnection, SqliteConnection};

    /// A connection to PostgreSQL or SQLite; diesel queries run on either through the same code.
    #[derive(diesel::MultiConnection)]
    pub enum DbConnection {
        /// PostgreSQL (production).
        Postgres(PgConnection),
        /// SQLite (embedded default).
        Sqlite(SqliteConnection),
    }
}

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl Backend {
    /// The backend named by a URL's scheme.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite://") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// `postgres` or `sqlite`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// The URL libpq gets: unless the operator chose a `gssencmode`, GSSAPI transport encryption is turned off.
/// libpq otherwise initialises Kerberos for every connection, and a pooled connection closed while the process
/// exits can then abort it inside Kerberos' already-destroyed state. TLS (`sslmode`) is unaffected.
pub fn postgres_url(url: &str) -> String {
    if url.contains("gssencmode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&gssencmode=disable")
    } else {
        format!("{url}?gssencmode=disable")
    }
}

/// The file path of a `sqlite://` URL.
pub fn sqlite_path(url: &str) -> &str {
    url.trim_start_matches("sqlite://")
}

/// How a new connection is prepared.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionManager {
    pub(crate) url: String,
    pub(crate) backend: Backend,
    /// PostgreSQL: switch to the role that owns no table (`tessera_app`) for the session.
    pub(crate) as_app_role: bool,
    pub(crate) sqlite_busy_timeout_ms: u32,
    pub(crate) sqlite_autocheckpoint_pages: u32,
}

impl ConnectionManager {
    /// Opens and prepares one connection.
    pub(crate) fn open(&self) -> Result<DbConnection, StoreError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&postgres_url(&self.url))?;
                conn.batch_execute("SET TIME ZONE 'UTC'")?;
                if self.as_app_role {
                    conn.batch_execute("SET ROLE tessera_app")?;
                }
                Ok(DbConnection::Postgres(conn))
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(sqlite_path(&self.url))?;
                // The busy timeout comes first: switching to WAL itself needs the lock. The page cache is 16 MiB
                // per connection instead of SQLite's 2 MiB: a brand's hot indexes (invoices, events, audit) outgrow
                // 2 MiB at a few tens of thousands of rows, and every miss is a read and a copy from the OS; the
                // cache fills only as pages are read, so idle connections stay small. Temporary storage is kept in
                // memory: a statement that writes many rows in a transaction (a door writer's run, a billing batch)
                // keeps a journal of its own to undo itself alone, which SQLite otherwise spills to a temporary file
                // past 64 KiB, with a write call per page (a third of what a door check wrote).
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = {}; \
                     PRAGMA temp_store = MEMORY;",
                    self.sqlite_busy_timeout_ms, self.sqlite_autocheckpoint_pages
                ))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConnection, StoreError> {
        self.open()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        conn.batch_execute("SELECT 1").map_err(StoreError::from)
    }

    /// A connection given back while its thread unwinds, or still inside a transaction (a panic in a
    /// transaction's body skipped both its commit and its rollback), must not serve anyone again: their work would
    /// run inside that transaction, and on SQLite it would hold the write lock. r2d2 closes it instead.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking()
            || <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;

    use crate::{Database, PoolOptions, TxMode};

    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        temp_store: i32,
    }

    /// Every SQLite connection keeps its temporary storage, statement journals included, in memory (2), for
    /// writes and reads alike: a large statement's journal would otherwise go to a temporary file page by page.
    #[test]
    fn sqlite_connections_keep_temporary_storage_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Database::connect(&url, &PoolOptions::default()).unwrap();
        for mode in [TxMode::Read, TxMode::Write] {
            let setting = db
                .system(mode, |s| {
                    diesel::sql_query("PRAGMA temp_store")
                        .get_result::<Setting>(s.conn())
                        .map_err(crate::StoreError::from)
                })
                .unwrap();
            assert_eq!(setting.temp_store, 2, "{mode:?}");
        }
    }

    /// A SQLite pool of one connection (in a folder removed when the first value drops): whatever the pool hands
    /// back is that connection or its replacement.
    fn one_connection_pool() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let options = PoolOptions {
            max_size: 1,
            ..PoolOptions::default()
        };
        let db = Database::connect(&url, &options).unwrap();
        (dir, db)
    }

    /// A write goes through: no connection of the pool is stuck inside an earlier transaction.
    fn assert_writable(db: &Database) {
        let written = db.system(TxMode::Write, |s| {
            diesel::sql_query("CREATE TABLE t (x INTEGER)")
                .execute(s.conn())
                .map_err(crate::StoreError::from)
        });
        assert!(written.is_ok(), "{written:?}");
    }

    /// A transaction whose body panics leaves its connection inside it: the pool must close that connection, or
    /// the next write would wait for a lock nobody will give back.
    #[test]
    fn a_connection_left_in_a_transaction_by_a_panic_is_not_reused() {
        let (_dir, db) = one_connection_pool();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            db.system(TxMode::Write, |_| -> crate::StoreResult<()> {
                panic!("the body of a transaction panics")
            })
        }));
        assert!(panicked.is_err());
        assert_writable(&db);
    }

    /// The same for a connection given back inside a transaction without a panic (a code path that forgot to
    /// finish it).
    #[test]
    fn a_connection_given_back_inside_a_transaction_is_not_reused() {
        use diesel::connection::{Connection, TransactionManager};
        let (_dir, db) = one_connection_pool();
        db.with_conn(|conn| {
            <super::DbConnection as Connection>::TransactionManager::begin_transaction(conn)?;
            diesel::sql_query("CREATE TABLE left_open (x INTEGER)").execute(conn)?;
            Ok(())
        })
        .unwrap();
        assert_writable(&db);
    }
}
