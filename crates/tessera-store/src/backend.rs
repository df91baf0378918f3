//! Backend-specific SQL, in one place. `MultiConnection` offers no `ON CONFLICT`, `FOR UPDATE` or exact
//! money sums of its own, so these helpers match on the backend and run the same diesel query on each.
//!
//! - Upserts: [`on_backend!`] runs one diesel expression (using `on_conflict`) on the inner connection.
//! - Row locks: [`on_backend!`] again, with `for_update()` on PostgreSQL; on SQLite a writing transaction
//!   already holds the database's write lock (it began `IMMEDIATE`), so the plain query is as safe.
//! - Money sums: [`sum_minor_units`] casts `SUM` back to `BIGINT` (PostgreSQL widens it to `NUMERIC`).
//! - Many rows updated in one statement: an upsert of the whole rows whose `SET` takes every listed column
//!   from the proposed row ([`replace_columns!`]); both backends know `ON CONFLICT ... DO UPDATE`, neither
//!   shares a multi-row `UPDATE` syntax with the other.

use diesel::sql_types::{BigInt, Nullable};

/// Runs `$body` with `$c` bound to the inner `PgConnection` or `SqliteConnection` of a [`crate::DbConnection`].
/// The body is written once and compiled for both backends.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::DbConnection::Postgres($c) => $body,
            $crate::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// The `SET` of an upsert that replaces each listed column of the stored row with the proposed row's value
/// (`excluded`): with rows read earlier in the same transaction, one statement writes many of them back.
#[macro_export]
macro_rules! replace_columns {
    ($table:ident: $($column:ident),+ $(,)?) => {
        ($($table::$column.eq(diesel::upsert::excluded($table::$column)),)+)
    };
}

/// Refuses rows of another realm before they are written back by an upsert: a missing row would be inserted,
/// so only rows of the scope's own realm (read in the same transaction) may be written this way.
pub(crate) fn own_realm<'r>(
    realm: &str,
    mut tenants: impl Iterator<Item = &'r String>,
) -> Result<(), diesel::result::Error> {
    if tenants.all(|t| t == realm) {
        Ok(())
    } else {
        Err(diesel::result::Error::NotFound)
    }
}

/// Runs `$query` (a diesel select, written inline: it is compiled once per backend) locking the selected rows for the rest of the transaction: `FOR UPDATE` on
/// PostgreSQL; on SQLite the writing transaction's lock already covers them.
#[macro_export]
macro_rules! load_locked {
    ($conn:expr, $query:expr, $out:ty) => {{
        use diesel::prelude::*;
        match $conn {
            $crate::DbConnection::Postgres(c) => $query.for_update().load::<$out>(c),
            $crate::DbConnection::Sqlite(c) => $query.load::<$out>(c),
        }
    }};
}

/// `CAST(SUM(column) AS BIGINT)`: an exact sum of minor units, `NULL` over no rows, on both backends.
pub fn sum_minor_units(column: &str) -> diesel::expression::SqlLiteral<Nullable<BigInt>> {
    diesel::dsl::sql::<Nullable<BigInt>>(&format!("CAST(SUM({column}) AS BIGINT)"))
}

/// Advisory lock id serialising signing-key creation and rotation.
pub const LOCK_SIGNING_KEYS: i64 = 7_345_202;
/// Advisory lock id serialising tenant applies.
pub const LOCK_TENANT_APPLY: i64 = 7_345_203;

/// Makes writers of one kind wait for each other until the end of the transaction, even when there is no row
/// to lock yet: `pg_advisory_xact_lock` on PostgreSQL; on SQLite the `IMMEDIATE` transaction already does it.
pub fn serialize_writers(conn: &mut crate::DbConnection, lock_id: i64) -> crate::StoreResult<()> {
    use diesel::RunQueryDsl;
    if let crate::DbConnection::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(lock_id)
            .execute(c)?;
    }
    Ok(())
}

/// Advisory lock namespace of audit chains (the second key is derived from the realm).
pub const LOCK_AUDIT_CHAIN: i32 = 7_345_204;

/// Like [`serialize_writers`], for one member of a family of locks (`namespace`, `key`): writers of the same key
/// wait for each other, writers of other keys do not.
pub fn serialize_writers_keyed(
    conn: &mut crate::DbConnection,
    namespace: i32,
    key: i32,
) -> crate::StoreResult<()> {
    use diesel::RunQueryDsl;
    if let crate::DbConnection::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind::<diesel::sql_types::Integer, _>(namespace)
            .bind::<diesel::sql_types::Integer, _>(key)
            .execute(c)?;
    }
    Ok(())
}
