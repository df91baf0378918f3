//! The outbox of events. An event is inserted in the transaction of the change that causes it, so it exists
//! exactly when the change committed. Feeders read them across realms (system context): on PostgreSQL a
//! `NOTIFY` sent in the same transaction names each new event, and it is delivered only on commit; on SQLite
//! the feeders poll by `seq`, which is assigned under the database's single write lock and so grows in commit
//! order.

use crate::backend::any_of;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::events;
use crate::{DbConnection, Scoped, StoreResult, System};

/// The `NOTIFY` channel of new events (PostgreSQL); the payload is `<tenant_id> <event_id>`.
pub const CHANNEL: &str = "tessera_events";

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = events)]
pub struct EventRow {
    /// Realm key.
    pub tenant_id: String,
    /// `evt_...`.
    pub id: String,
    /// Order across realms.
    pub seq: i64,
    /// E.g. `staff.invited`.
    pub event_type: String,
    /// The account the event is about, which may see it even without the type's permission.
    pub subject_account_id: Option<String>,
    /// Its data, a JSON object.
    pub data_json: String,
    /// The request that caused it.
    pub request_id: Option<String>,
    /// When.
    pub created_at: NaiveDateTime,
}

/// Inserts an event in the caller's transaction, with the next `seq`, and on PostgreSQL announces it on
/// [`CHANNEL`] (delivered on commit only). `row.seq` is ignored.
pub fn insert(s: &mut Scoped<'_>, row: &EventRow) -> StoreResult<EventRow> {
    let mut rows = insert_many(s, std::slice::from_ref(row))?;
    // One row in, one row out.
    rows.pop()
        .ok_or(crate::StoreError::Query(diesel::result::Error::NotFound))
}

/// Events announced by one `NOTIFY`: its payload (one `<tenant_id> <event_id>` line each) stays well under
/// PostgreSQL's 8,000 bytes.
const PER_NOTIFY: usize = 100;

/// Inserts events in the caller's transaction, in order, with the next `seq`s, in a few statements whatever
/// their number; on PostgreSQL they are announced on [`CHANNEL`] (delivered on commit only). `seq` is ignored.
pub fn insert_many(s: &mut Scoped<'_>, rows: &[EventRow]) -> StoreResult<Vec<EventRow>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let seqs = next_seqs(s.conn(), rows.len())?;
    let rows: Vec<EventRow> = rows
        .iter()
        .zip(seqs)
        .map(|(row, seq)| EventRow { seq, ..row.clone() })
        .collect();
    // Under SQLite's limit on bound variables (eight per row).
    for chunk in rows.chunks(500) {
        crate::on_backend!(s.conn(), |c| diesel::insert_into(events::table)
            .values(chunk)
            .execute(c))?;
    }
    if let DbConnection::Postgres(c) = s.conn() {
        for chunk in rows.chunks(PER_NOTIFY) {
            let payload: Vec<String> = chunk
                .iter()
                .map(|r| format!("{} {}", r.tenant_id, r.id))
                .collect();
            diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<diesel::sql_types::Text, _>(CHANNEL)
                .bind::<diesel::sql_types::Text, _>(payload.join("\n"))
                .execute(c)?;
        }
    }
    Ok(rows)
}

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
}

/// `count` new `seq`s, ascending. PostgreSQL: a sequence (its numbers may commit out of order, which is why
/// feeders there follow `NOTIFY`). SQLite: max + 1 onwards under the write lock the transaction holds, hence in
/// commit order.
fn next_seqs(conn: &mut DbConnection, count: usize) -> StoreResult<Vec<i64>> {
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    match conn {
        DbConnection::Postgres(c) => {
            let seqs: Vec<Seq> = diesel::sql_query(
                "SELECT nextval('events_seq_numbers') AS seq FROM generate_series(1, $1)",
            )
            .bind::<diesel::sql_types::BigInt, _>(count)
            .load(c)?;
            let mut seqs: Vec<i64> = seqs.into_iter().map(|s| s.seq).collect();
            seqs.sort_unstable();
            Ok(seqs)
        }
        DbConnection::Sqlite(c) => {
            let first = diesel::sql_query("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM events")
                .get_result::<Seq>(c)?
                .seq;
            Ok((first..first + count).collect())
        }
    }
}

/// Events of any realm after `seq`, oldest first (system context: the feeders).
pub fn after(sys: &mut System<'_>, seq: i64, limit: i64) -> StoreResult<Vec<EventRow>> {
    Ok(events::table
        .filter(events::seq.gt(seq))
        .order(events::seq.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(sys.conn())?)
}

/// The highest `seq` so far (0 when none), where a feeder starts.
pub fn last_seq(sys: &mut System<'_>) -> StoreResult<i64> {
    Ok(events::table
        .select(diesel::dsl::max(events::seq))
        .first::<Option<i64>>(sys.conn())?
        .unwrap_or(0))
}

/// Events named by (realm, id) pairs, of any realm (system context: the PostgreSQL feeder after `NOTIFY`), in
/// `seq` order.
pub fn find_many(sys: &mut System<'_>, keys: &[(String, String)]) -> StoreResult<Vec<EventRow>> {
    let mut by_realm: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (realm, id) in keys {
        by_realm.entry(realm.as_str()).or_default().push(id.clone());
    }
    // One lookup per realm on the primary key (realm, id), sorted here, each planned for the table's current size:
    // with a plan cached while the table was nearly empty, PostgreSQL read every event (1-2 ms a lookup after a
    // few thousand events, growing with the table).
    crate::backend::plan_each_time(sys.conn())?;
    let mut rows = Vec::with_capacity(keys.len());
    for (realm, ids) in by_realm {
        let found: Vec<EventRow> = events::table
            .filter(events::tenant_id.eq(realm))
            .filter(any_of(events::id, &ids))
            .select(EventRow::as_select())
            .load(sys.conn())?;
        rows.extend(found);
    }
    rows.sort_by_key(|r| r.seq);
    Ok(rows)
}

/// One event of the realm.
pub fn find(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<EventRow>> {
    let (realm, conn) = s.parts();
    Ok(events::table
        .filter(events::tenant_id.eq(realm))
        .filter(events::id.eq(id))
        .select(EventRow::as_select())
        .first(conn)
        .optional()?)
}

/// The realm's events about one account (personal-data export).
pub fn about_account(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<Vec<EventRow>> {
    let (realm, conn) = s.parts();
    Ok(events::table
        .filter(events::tenant_id.eq(realm))
        .filter(events::subject_account_id.eq(account_id))
        .order(events::seq.asc())
        .select(EventRow::as_select())
        .load(conn)?)
}

/// Empties the realm's events about one account (erasure): their data and subject go, the rows stay so that
/// `seq` never goes back (SQLite feeders follow it).
pub fn scrub_about_account(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<usize> {
    let (realm, conn) = s.parts();
    Ok(diesel::update(
        events::table
            .filter(events::tenant_id.eq(realm))
            .filter(events::subject_account_id.eq(account_id)),
    )
    .set((
        events::data_json.eq("{}"),
        events::subject_account_id.eq(None::<String>),
    ))
    .execute(conn)?)
}

/// Deletes the realm's events older than `before` (retention), except the newest event of all, which keeps
/// `seq` from going back on SQLite; returns how many.
pub fn prune(s: &mut Scoped<'_>, before: NaiveDateTime) -> StoreResult<usize> {
    let newest: Option<i64> = events::table
        .select(diesel::dsl::max(events::seq))
        .first(s.conn())?;
    let (realm, conn) = s.parts();
    Ok(diesel::delete(
        events::table
            .filter(events::tenant_id.eq(realm))
            .filter(events::created_at.lt(before))
            .filter(events::seq.lt(newest.unwrap_or(0))),
    )
    .execute(conn)?)
}
