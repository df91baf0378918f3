//! Both migration sets, embedded, and the status of a database against them.

use diesel::connection::SimpleConnection;
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::connection::{Backend, ConnectionManager, DbConnection};
use crate::{StoreError, StoreResult};

const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// One migration and whether it has run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationState {
    /// The migration's version (the date-and-number part of its name).
    pub version: String,
    /// The migration's full name.
    pub name: String,
    /// True when it has run on this database.
    pub applied: bool,
}

/// Runs every pending migration as the URL's own role (the owner) and returns the names that ran. Creates the
/// SQLite file's folder when needed.
pub fn run_pending(url: &str) -> StoreResult<Vec<String>> {
    let backend = Backend::from_url(url)?;
    if backend == Backend::Sqlite {
        let path = std::path::Path::new(crate::connection::sqlite_path(url));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Migration(format!("{}: {e}", dir.display())))?;
        }
    }
    let mut conn = open_as_owner(url)?;
    let ran: Result<Vec<String>, _> = match &mut conn {
        DbConnection::Postgres(c) => {
            // One migrator at a time, however many processes start together.
            c.batch_execute("SELECT pg_advisory_lock(7345201)")?;
            let ran = c
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(ToString::to_string).collect());
            c.batch_execute("SELECT pg_advisory_unlock(7345201)")?;
            ran
        }
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map(|v| v.iter().map(ToString::to_string).collect()),
    };
    let ran = ran.map_err(|e| StoreError::Migration(e.to_string()))?;
    // Report full names (`2026-11-26-000001_foundation`), not bare versions.
    let states = status(&mut conn)?;
    Ok(states
        .into_iter()
        .filter(|m| ran.iter().any(|v| v.replace('-', "") == m.version))
        .map(|m| m.name)
        .collect())
}

/// One connection as the URL's own role (the owner), for migrations and their status.
fn open_as_owner(url: &str) -> StoreResult<DbConnection> {
    let backend = Backend::from_url(url)?;
    ConnectionManager {
        url: url.to_owned(),
        backend,
        as_app_role: false,
        sqlite_busy_timeout_ms: 30_000,
        sqlite_autocheckpoint_pages: 1_000,
    }
    .open()
}

/// The status of the database at `url` (see [`status`]), read as the URL's own role.
pub fn status_at(url: &str) -> StoreResult<Vec<MigrationState>> {
    status(&mut open_as_owner(url)?)
}

#[derive(diesel::QueryableByName)]
struct AppliedVersion {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// Every embedded migration of this backend, with whether it has run. Reads the migrations table directly, so
/// it works as the app role, which may not create tables.
pub fn status(conn: &mut DbConnection) -> StoreResult<Vec<MigrationState>> {
    use diesel::migration::MigrationSource;
    let names: Vec<String> = match conn {
        DbConnection::Postgres(_) => MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES)
            .map_err(|e| StoreError::Migration(e.to_string()))?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
        DbConnection::Sqlite(_) => MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE)
            .map_err(|e| StoreError::Migration(e.to_string()))?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
    };
    let applied: Vec<String> =
        match diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
            .load::<AppliedVersion>(conn)
        {
            Ok(rows) => rows.into_iter().map(|r| r.version).collect(),
            // A database that was never migrated has no migrations table yet.
            Err(diesel::result::Error::DatabaseError(..)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
    Ok(names
        .into_iter()
        .map(|name| {
            let version = name.split('_').next().unwrap_or(&name).replace('-', "");
            let applied = applied.iter().any(|a| a.replace('-', "") == version);
            MigrationState {
                version,
                name,
                applied,
            }
        })
        .collect())
}
