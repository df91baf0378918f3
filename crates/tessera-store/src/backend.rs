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
//! - A text column matching any of a list: [`any_of`], one bound parameter whatever the list's length, so that
//!   the statement is prepared once per connection on both backends (diesel's `eq_any` writes one parameter per
//!   value on SQLite, and such a statement is parsed anew on every call); [`load_any_of!`] loads with a plain `=`
//!   when the list holds one value, which PostgreSQL runs from a kept plan.

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::{IsNull, Output, ToSql};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::sqlite::Sqlite;

use crate::connection::MultiBackend;

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

/// Makes PostgreSQL plan each statement of the rest of the transaction for its own parameters and the table's
/// current size (`plan_cache_mode = force_custom_plan`); nothing on SQLite. For a lookup on a table that grows from
/// empty while the server runs (the live feeder's events): a generic plan made while it was nearly empty reads it
/// whole, until autovacuum's next `ANALYZE`.
pub fn plan_each_time(conn: &mut crate::DbConnection) -> crate::StoreResult<()> {
    use diesel::connection::SimpleConnection;
    if let crate::DbConnection::Postgres(c) = conn {
        c.batch_execute("SET LOCAL plan_cache_mode = force_custom_plan")?;
    }
    Ok(())
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

/// Loads `$query` narrowed to the rows whose `$column` (a text column) is one of `$values` (`&[String]`): with
/// `$column = $1` when there is one value, with [`any_of`] otherwise. `$query` has every other filter and its
/// `select` already.
///
/// Why one value has a statement of its own: PostgreSQL plans a statement with `= ANY($1)` again for its
/// parameters on every call (a plan for an array of unknown length, which it assumes to hold ten values, looks
/// dearer than one for the array at hand), while it runs `= $1` from a plan kept per connection. Lookups of one
/// value are the common case of the door's reads, many a second, and their planning cost PostgreSQL more than
/// running them (docs/performance.md, issue 6). Each form is its own statement type, so diesel still finds each
/// prepared statement by its type.
#[macro_export]
macro_rules! load_any_of {
    ($query:expr, $column:expr, $values:expr, $conn:expr) => {{
        let values: &[String] = $values;
        match values {
            [one] => diesel::RunQueryDsl::load(
                diesel::QueryDsl::filter($query, diesel::ExpressionMethods::eq($column, one)),
                $conn,
            ),
            many => diesel::RunQueryDsl::load(
                diesel::QueryDsl::filter($query, $crate::backend::any_of($column, many)),
                $conn,
            ),
        }
    }};
}

/// `column` equals one of `values` (a text column): `column = ANY($1)` with one array parameter on PostgreSQL,
/// `column IN (SELECT value FROM json_each(?))` with one JSON parameter on SQLite. The SQL text does not depend on
/// the number of values, so each backend prepares it once per connection; both use the column's index.
pub fn any_of<C>(column: C, values: &[String]) -> AnyOf<C> {
    AnyOf {
        column,
        values: ValueList(values.to_vec()),
    }
}

/// The expression [`any_of`] builds.
#[derive(Debug, Clone)]
pub struct AnyOf<C> {
    column: C,
    values: ValueList,
}

/// The values of an [`AnyOf`]: bound as a text array on PostgreSQL, as one JSON text on SQLite (written only there,
/// when the statement is bound).
#[derive(Debug, Clone)]
pub struct ValueList(Vec<String>);

impl ToSql<Text, Sqlite> for ValueList {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> diesel::serialize::Result {
        out.set_value(serde_json::to_string(&self.0)?);
        Ok(IsNull::No)
    }
}

impl<C: Expression> Expression for AnyOf<C> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for AnyOf<C> {}

impl<C: SelectableExpression<QS>, QS> SelectableExpression<QS> for AnyOf<C> {}

impl<C: ValidGrouping<()>> ValidGrouping<()> for AnyOf<C> {
    type IsAggregate = C::IsAggregate;
}

/// The query id of an [`AnyOf`] on column `C`.
#[derive(Debug)]
pub struct AnyOfId<C>(std::marker::PhantomData<C>);

impl<C: QueryId> QueryId for AnyOf<C> {
    type QueryId = AnyOfId<C::QueryId>;
    // The SQL text depends on the column alone, never on the list: a statement built with it can be cached by its
    // type, without writing its SQL again for each execution to look it up.
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for AnyOf<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = ANY(");
        out.push_bind_param::<Array<Text>, _>(&self.values.0)?;
        out.push_sql(")");
        Ok(())
    }
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for AnyOf<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.values)?;
        out.push_sql("))");
        Ok(())
    }
}

impl<C: QueryFragment<Pg> + QueryFragment<Sqlite>> QueryFragment<MultiBackend> for AnyOf<C> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> diesel::QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
    }
}
