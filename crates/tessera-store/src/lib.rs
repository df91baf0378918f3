//! Tessera's database crate: the diesel schema and models, one code path over PostgreSQL and SQLite
//! (`#[derive(diesel::MultiConnection)]`), the connection pool, embedded migrations for both backends, and the
//! two ways in to the data:
//!
//! - [`Database::scoped`] gives a [`Scoped`] connection for one realm (a tenant, or the group). Every function
//!   that touches a tenant-owned table takes `&mut Scoped` and filters by its realm key; on PostgreSQL the
//!   transaction also sets `app.tenant_id`, so row-level security hides other tenants' rows even from a query that
//!   forgot its filter.
//! - [`Database::system`] gives a [`System`] connection for the few places that must span tenants; on PostgreSQL
//!   it switches to the `tessera_system` role for that transaction. `docs/architecture.md` lists its callers.
//!
//! Backend-specific SQL (upserts, row locks) lives in [`backend`] and nowhere else.
#![forbid(unsafe_code)]

pub mod backend;
pub mod backup;
pub mod connection;
mod context;
pub mod migrate;
pub mod models;
pub mod schema;

pub use connection::{Backend, DbConnection};
pub use context::{Database, Listener, PoolOptions, Scoped, System, TxMode};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL's scheme is neither `postgres://` nor `sqlite://`.
    #[error("unsupported database URL: expected postgres://... or sqlite://...")]
    UnsupportedUrl,
    /// No connection could be had from the pool in time.
    #[error("database unavailable: {0}")]
    Pool(#[from] r2d2::Error),
    /// A connection could not be opened.
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A backup or a restore failed.
    #[error("{0}")]
    Backup(String),
    /// The database's file could not be flushed to disk.
    #[error("database file: {0}")]
    File(#[from] std::io::Error),
    /// The blocking task running the query panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// True when the error is a unique-key violation (a row with the same key exists).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// True when the database refused a statement for its data: a key, a reference, a required value or a check it
    /// breaks. Running it again cannot succeed, unlike a lost connection or a busy database.
    pub fn is_refused_data(&self) -> bool {
        use diesel::result::DatabaseErrorKind as Kind;
        matches!(
            self,
            StoreError::Query(diesel::result::Error::DatabaseError(
                Kind::UniqueViolation
                    | Kind::ForeignKeyViolation
                    | Kind::NotNullViolation
                    | Kind::CheckViolation,
                _
            ))
        )
    }
}

/// Result of store functions.
pub type StoreResult<T> = Result<T, StoreError>;

/// Converts a stored UTC timestamp to a `DateTime<Utc>`.
pub fn utc(at: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    at.and_utc()
}

#[cfg(test)]
mod tests;
