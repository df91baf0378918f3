//! The durable job queue. Jobs belong to a realm (`tenant_id` is a tenant id or `group`); workers claim them
//! across realms in the system context, a batch at a time, under a lease: `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL so that workers of several processes never claim the same job, the `IMMEDIATE` write lock on SQLite
//! for the same guarantee. A job whose lease expired (its worker died) is claimed again, and the lost attempt is
//! recorded. Every attempt is kept in `job_attempts`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{job_attempts, jobs};
use crate::{DbConnection, Scoped, StoreResult, System};

/// A stored job.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    /// Realm key.
    pub tenant_id: String,
    /// `job_...`.
    pub id: String,
    /// What to do, e.g. `email.send`.
    pub kind: String,
    /// Its input, a JSON object.
    pub payload_json: String,
    /// At most one job with this key per realm, ever.
    pub unique_key: Option<String>,
    /// `queued`, `running`, `succeeded`, `dead` or `cancelled`.
    pub status: String,
    /// Not before.
    pub run_at: NaiveDateTime,
    /// Claims so far.
    pub attempts: i32,
    /// Claims allowed before the job is dead.
    pub max_attempts: i32,
    /// The worker holding it.
    pub locked_by: Option<String>,
    /// Its lease.
    pub locked_until: Option<NaiveDateTime>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Queued.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
    /// Succeeded, died or was cancelled.
    pub finished_at: Option<NaiveDateTime>,
}

/// One attempt of a job.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = job_attempts)]
pub struct AttemptRow {
    /// Realm key.
    pub tenant_id: String,
    /// The job.
    pub job_id: String,
    /// 1, 2, ...
    pub attempt: i32,
    /// The worker that ran it.
    pub worker: String,
    /// Claimed.
    pub started_at: NaiveDateTime,
    /// Ended (none when the worker was lost).
    pub finished_at: Option<NaiveDateTime>,
    /// `succeeded`, `failed` or `lease_expired`.
    pub outcome: Option<String>,
    /// The failure.
    pub error: Option<String>,
}

/// Queues a job in the realm of `s`, unless a job with the same unique key exists there; true when queued.
pub fn enqueue(s: &mut Scoped<'_>, row: &JobRow) -> StoreResult<bool> {
    let queued = crate::on_backend!(s.conn(), |c| diesel::insert_into(jobs::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(queued == 1)
}

/// Queues several jobs in the realm of `s` in one statement, each unless a job with its unique key exists
/// there; returns how many were queued.
pub fn enqueue_many(s: &mut Scoped<'_>, rows: &[JobRow]) -> StoreResult<usize> {
    // SQLite (in-process, no round trips) queues them one by one: diesel builds no multi-row upsert for it.
    let crate::DbConnection::Postgres(c) = s.conn() else {
        let mut queued = 0;
        for row in rows {
            queued += usize::from(enqueue(s, row)?);
        }
        return Ok(queued);
    };
    let mut queued = 0;
    for chunk in rows.chunks(500) {
        queued += diesel::insert_into(jobs::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(c)?;
    }
    Ok(queued)
}

/// Claims up to `limit` due jobs (queued and due, or running with an expired lease) for `worker` until
/// `lease_until`, oldest first. Jobs whose lease expired get their lost attempt recorded.
pub fn claim(
    sys: &mut System<'_>,
    worker: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> StoreResult<Vec<JobRow>> {
    let due = jobs::status
        .eq("queued")
        .and(jobs::run_at.le(now))
        .or(jobs::status.eq("running").and(jobs::locked_until.lt(now)));
    let candidates: Vec<JobRow> = match sys.conn() {
        DbConnection::Postgres(c) => jobs::table
            .filter(due)
            .order(jobs::run_at.asc())
            .limit(limit)
            .select(JobRow::as_select())
            .for_update()
            .skip_locked()
            .load(c)?,
        DbConnection::Sqlite(c) => jobs::table
            .filter(due)
            .order(jobs::run_at.asc())
            .limit(limit)
            .select(JobRow::as_select())
            .load(c)?,
    };
    if candidates.is_empty() {
        return Ok(candidates);
    }
    let lost: Vec<AttemptRow> = candidates
        .iter()
        .filter(|j| j.status == "running")
        .map(|j| AttemptRow {
            tenant_id: j.tenant_id.clone(),
            job_id: j.id.clone(),
            attempt: j.attempts,
            worker: j.locked_by.clone().unwrap_or_default(),
            started_at: j.updated_at,
            finished_at: None,
            outcome: Some("lease_expired".into()),
            error: Some("the worker stopped before finishing".into()),
        })
        .collect();
    insert_attempts(sys.conn(), &lost)?;
    let ids: Vec<String> = candidates.iter().map(|j| j.id.clone()).collect();
    let claimed = crate::on_backend!(sys.conn(), |c| diesel::update(
        jobs::table.filter(jobs::id.eq_any(&ids))
    )
    .set((
        jobs::status.eq("running"),
        jobs::locked_by.eq(worker),
        jobs::locked_until.eq(lease_until),
        jobs::attempts.eq(jobs::attempts + 1),
        jobs::updated_at.eq(now),
    ))
    .returning(JobRow::as_returning())
    .get_results(c))?;
    Ok(claimed)
}

fn insert_attempts(conn: &mut DbConnection, rows: &[AttemptRow]) -> StoreResult<()> {
    if !rows.is_empty() {
        crate::on_backend!(conn, |c| diesel::insert_into(job_attempts::table)
            .values(rows)
            .execute(c))?;
    }
    Ok(())
}

/// How one attempt ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Done.
    Succeeded,
    /// Failed; run again at this time.
    Retry {
        /// The failure.
        error: String,
        /// When to try again.
        run_at: NaiveDateTime,
    },
    /// Failed for good.
    Dead {
        /// The failure.
        error: String,
    },
}

/// Records how the attempts of jobs this worker holds ended. A job whose lease was lost meanwhile (another worker
/// claimed it) is left alone.
pub fn finish(
    sys: &mut System<'_>,
    worker: &str,
    started_at: NaiveDateTime,
    now: NaiveDateTime,
    results: &[(JobRow, Outcome)],
) -> StoreResult<()> {
    let succeeded: Vec<String> = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Succeeded))
        .map(|(j, _)| j.id.clone())
        .collect();
    let held = jobs::status.eq("running").and(jobs::locked_by.eq(worker));
    if !succeeded.is_empty() {
        diesel::update(jobs::table.filter(jobs::id.eq_any(&succeeded)).filter(held))
            .set((
                jobs::status.eq("succeeded"),
                jobs::locked_by.eq(None::<String>),
                jobs::locked_until.eq(None::<NaiveDateTime>),
                jobs::updated_at.eq(now),
                jobs::finished_at.eq(now),
            ))
            .execute(sys.conn())?;
    }
    for (job, outcome) in results {
        let target = jobs::table
            .filter(jobs::tenant_id.eq(&job.tenant_id))
            .filter(jobs::id.eq(&job.id))
            .filter(held);
        match outcome {
            Outcome::Succeeded => {}
            Outcome::Retry { error, run_at } => {
                diesel::update(target)
                    .set((
                        jobs::status.eq("queued"),
                        jobs::run_at.eq(run_at),
                        jobs::locked_by.eq(None::<String>),
                        jobs::locked_until.eq(None::<NaiveDateTime>),
                        jobs::last_error.eq(error),
                        jobs::updated_at.eq(now),
                    ))
                    .execute(sys.conn())?;
            }
            Outcome::Dead { error } => {
                diesel::update(target)
                    .set((
                        jobs::status.eq("dead"),
                        jobs::locked_by.eq(None::<String>),
                        jobs::locked_until.eq(None::<NaiveDateTime>),
                        jobs::last_error.eq(error),
                        jobs::updated_at.eq(now),
                        jobs::finished_at.eq(now),
                    ))
                    .execute(sys.conn())?;
            }
        }
    }
    let attempts: Vec<AttemptRow> = results
        .iter()
        .map(|(job, outcome)| AttemptRow {
            tenant_id: job.tenant_id.clone(),
            job_id: job.id.clone(),
            attempt: job.attempts,
            worker: worker.to_owned(),
            started_at,
            finished_at: Some(now),
            outcome: Some(match outcome {
                Outcome::Succeeded => "succeeded".into(),
                Outcome::Retry { .. } | Outcome::Dead { .. } => "failed".into(),
            }),
            error: match outcome {
                Outcome::Succeeded => None,
                Outcome::Retry { error, .. } | Outcome::Dead { error } => Some(error.clone()),
            },
        })
        .collect();
    insert_attempts(sys.conn(), &attempts)
}

/// Filters of a listing.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only this realm.
    pub realm: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
}

/// The newest jobs matching `filter` (system context: operators look across realms).
pub fn list(sys: &mut System<'_>, filter: &JobFilter, limit: i64) -> StoreResult<Vec<JobRow>> {
    let mut query = jobs::table
        .order(jobs::id.desc())
        .limit(limit)
        .select(JobRow::as_select())
        .into_boxed();
    if let Some(realm) = &filter.realm {
        query = query.filter(jobs::tenant_id.eq(realm.clone()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(jobs::status.eq(status.clone()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(jobs::kind.eq(kind.clone()));
    }
    Ok(query.load(sys.conn())?)
}

/// One job and its attempts.
pub fn find(sys: &mut System<'_>, id: &str) -> StoreResult<Option<(JobRow, Vec<AttemptRow>)>> {
    let Some(job) = jobs::table
        .filter(jobs::id.eq(id))
        .select(JobRow::as_select())
        .first(sys.conn())
        .optional()?
    else {
        return Ok(None);
    };
    let attempts = job_attempts::table
        .filter(job_attempts::tenant_id.eq(&job.tenant_id))
        .filter(job_attempts::job_id.eq(&job.id))
        .order(job_attempts::attempt.asc())
        .select(AttemptRow::as_select())
        .load(sys.conn())?;
    Ok(Some((job, attempts)))
}

/// Queues a dead or cancelled job again, now, with a fresh set of attempts; true when it was one.
pub fn retry(sys: &mut System<'_>, id: &str, now: NaiveDateTime) -> StoreResult<bool> {
    let realm: Option<String> = jobs::table
        .filter(jobs::id.eq(id))
        .select(jobs::tenant_id)
        .first(sys.conn())
        .optional()?;
    match realm {
        Some(realm) => requeue(sys.conn(), &realm, id, now),
        None => Ok(false),
    }
}

/// [`retry`] within the realm of `s`: a job of another realm is not found (false).
pub fn retry_in(s: &mut Scoped<'_>, id: &str, now: NaiveDateTime) -> StoreResult<bool> {
    let (realm, conn) = s.parts();
    requeue(conn, realm, id, now)
}

fn requeue(
    conn: &mut DbConnection,
    realm: &str,
    id: &str,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    Ok(diesel::update(
        jobs::table
            .filter(jobs::tenant_id.eq(realm))
            .filter(jobs::id.eq(id))
            .filter(jobs::status.eq_any(["dead", "cancelled"])),
    )
    .set((
        jobs::status.eq("queued"),
        jobs::run_at.eq(now),
        jobs::max_attempts.eq(jobs::attempts + jobs::max_attempts),
        jobs::finished_at.eq(None::<NaiveDateTime>),
        jobs::updated_at.eq(now),
    ))
    .execute(conn)?
        == 1)
}

/// The realm's jobs, newest first, of `status` when given, after the id `before` (keyset paging).
pub fn of_realm(
    s: &mut Scoped<'_>,
    status: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<JobRow>> {
    let (realm, conn) = s.parts();
    let mut query = jobs::table
        .filter(jobs::tenant_id.eq(realm.to_owned()))
        .order(jobs::id.desc())
        .limit(limit)
        .select(JobRow::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(jobs::status.eq(status.to_owned()));
    }
    if let Some(before) = before {
        query = query.filter(jobs::id.lt(before.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// One job of the realm.
pub fn find_in(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<JobRow>> {
    let (realm, conn) = s.parts();
    Ok(jobs::table
        .filter(jobs::tenant_id.eq(realm))
        .filter(jobs::id.eq(id))
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// Cancels a queued job; true when it was one.
pub fn cancel(sys: &mut System<'_>, id: &str, now: NaiveDateTime) -> StoreResult<bool> {
    Ok(diesel::update(
        jobs::table
            .filter(jobs::id.eq(id))
            .filter(jobs::status.eq("queued")),
    )
    .set((
        jobs::status.eq("cancelled"),
        jobs::updated_at.eq(now),
        jobs::finished_at.eq(now),
    ))
    .execute(sys.conn())?
        == 1)
}

/// How many jobs there are per (status, kind).
pub fn counts(sys: &mut System<'_>) -> StoreResult<Vec<(String, String, i64)>> {
    Ok(jobs::table
        .group_by((jobs::status, jobs::kind))
        .select((jobs::status, jobs::kind, diesel::dsl::count_star()))
        .load(sys.conn())?)
}

/// Extends the lease of the jobs `worker` still holds among `ids` (a long job's heartbeat); returns how many.
pub fn extend_lease(
    sys: &mut System<'_>,
    worker: &str,
    ids: &[String],
    lease_until: NaiveDateTime,
) -> StoreResult<usize> {
    Ok(diesel::update(
        jobs::table
            .filter(jobs::id.eq_any(ids))
            .filter(jobs::status.eq("running"))
            .filter(jobs::locked_by.eq(worker)),
    )
    .set(jobs::locked_until.eq(lease_until))
    .execute(sys.conn())?)
}

/// Deletes the realm's finished jobs (succeeded or cancelled) older than `before`, with their attempts: their
/// payloads may hold sealed personal data that has no use once sent. Dead jobs stay for the operator.
pub fn prune(s: &mut Scoped<'_>, before: NaiveDateTime) -> StoreResult<usize> {
    let (realm, conn) = s.parts();
    let old: Vec<String> = jobs::table
        .filter(jobs::tenant_id.eq(realm))
        .filter(jobs::status.eq_any(["succeeded", "cancelled"]))
        .filter(jobs::finished_at.lt(before))
        .select(jobs::id)
        .load(conn)?;
    if old.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        job_attempts::table
            .filter(job_attempts::tenant_id.eq(realm))
            .filter(job_attempts::job_id.eq_any(&old)),
    )
    .execute(conn)?;
    Ok(diesel::delete(
        jobs::table
            .filter(jobs::tenant_id.eq(realm))
            .filter(jobs::id.eq_any(&old)),
    )
    .execute(conn)?)
}
