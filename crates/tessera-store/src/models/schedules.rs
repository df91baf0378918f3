//! Recurring schedules: one row per (realm, name), the next run kept in UTC. The scheduler of any process
//! locks the due rows, queues their jobs and moves them on, so that two processes never queue the same run
//! (the job's unique key says so again).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::schedules;
use crate::{StoreResult, System};

/// A schedule.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = schedules)]
pub struct ScheduleRow {
    /// Realm key.
    pub tenant_id: String,
    /// Stable name, e.g. `maintenance.prune`.
    pub name: String,
    /// Cron expression, seconds first.
    pub cron: String,
    /// The IANA zone the expression is read in.
    pub time_zone: String,
    /// The job it queues.
    pub job_kind: String,
    /// The job's payload, a JSON object.
    pub payload_json: String,
    /// The next run, UTC.
    pub next_run_at: NaiveDateTime,
    /// The last run queued, UTC.
    pub last_run_at: Option<NaiveDateTime>,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// Every schedule (system context: the scheduler, `tessera schedules`).
pub fn all(sys: &mut System<'_>) -> StoreResult<Vec<ScheduleRow>> {
    Ok(schedules::table
        .order((schedules::tenant_id.asc(), schedules::name.asc()))
        .select(ScheduleRow::as_select())
        .load(sys.conn())?)
}

/// Inserts a schedule, or updates its definition (cron, zone, kind, payload) and next run when the definition
/// changed; `last_run_at` is kept.
pub fn upsert(sys: &mut System<'_>, row: &ScheduleRow) -> StoreResult<()> {
    let existing: Option<ScheduleRow> = schedules::table
        .filter(schedules::tenant_id.eq(&row.tenant_id))
        .filter(schedules::name.eq(&row.name))
        .select(ScheduleRow::as_select())
        .first(sys.conn())
        .optional()?;
    match existing {
        None => {
            crate::on_backend!(sys.conn(), |c| diesel::insert_into(schedules::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(c))?;
        }
        Some(old)
            if old.cron != row.cron
                || old.time_zone != row.time_zone
                || old.job_kind != row.job_kind
                || old.payload_json != row.payload_json =>
        {
            diesel::update(
                schedules::table
                    .filter(schedules::tenant_id.eq(&row.tenant_id))
                    .filter(schedules::name.eq(&row.name)),
            )
            .set((
                schedules::cron.eq(&row.cron),
                schedules::time_zone.eq(&row.time_zone),
                schedules::job_kind.eq(&row.job_kind),
                schedules::payload_json.eq(&row.payload_json),
                schedules::next_run_at.eq(row.next_run_at),
                schedules::updated_at.eq(row.updated_at),
            ))
            .execute(sys.conn())?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// Removes schedules of a realm whose names are not in `keep` (a definition that went away).
pub fn remove_others(sys: &mut System<'_>, tenant_id: &str, keep: &[String]) -> StoreResult<usize> {
    Ok(diesel::delete(
        schedules::table
            .filter(schedules::tenant_id.eq(tenant_id))
            .filter(schedules::name.ne_all(keep)),
    )
    .execute(sys.conn())?)
}

/// Locks and returns the schedules due at `now` (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so that a second
/// scheduler skips what the first holds; the write lock on SQLite).
pub fn lock_due(sys: &mut System<'_>, now: NaiveDateTime) -> StoreResult<Vec<ScheduleRow>> {
    let due = schedules::table
        .filter(schedules::next_run_at.le(now))
        .order(schedules::next_run_at.asc())
        .limit(500);
    Ok(match sys.conn() {
        crate::DbConnection::Postgres(c) => due
            .select(ScheduleRow::as_select())
            .for_update()
            .skip_locked()
            .load(c)?,
        crate::DbConnection::Sqlite(c) => due.select(ScheduleRow::as_select()).load(c)?,
    })
}

/// Moves a schedule on after queuing the run of `ran_at`.
pub fn advance(
    sys: &mut System<'_>,
    row: &ScheduleRow,
    ran_at: NaiveDateTime,
    next_run_at: NaiveDateTime,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(
        schedules::table
            .filter(schedules::tenant_id.eq(&row.tenant_id))
            .filter(schedules::name.eq(&row.name)),
    )
    .set((
        schedules::last_run_at.eq(ran_at),
        schedules::next_run_at.eq(next_run_at),
        schedules::updated_at.eq(now),
    ))
    .execute(sys.conn())?;
    Ok(())
}
