//! The durable job queue's services: queueing (inside the caller's transaction, so a job exists exactly when the
//! change that wants it committed), the workers that claim and run jobs, and the operator's view.
//!
//! A worker claims a batch under a lease (system context, a listed use), runs each job, then records the outcomes
//! in one transaction. A failure is retried after an exponentially growing delay with jitter, up to the job's
//! attempts, then the job is dead. Handlers must be idempotent: a job whose worker died is run again once its
//! lease expires.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use tessera_domain::ids::IdKind;
use tessera_store::models::jobs::{self, AttemptRow, JobFilter, JobRow, Outcome};
use tessera_store::{Scoped, TxMode};

use crate::{naive, App, AppError, AppResult};

/// Days succeeded and cancelled jobs are kept.
const FINISHED_JOB_RETENTION_DAYS: i64 = 30;
/// Versions of the door facts' change log kept: a door memory further behind (another server's, after a long
/// pause) loads its brand whole instead of member by member.
const DOOR_FACT_CHANGES_KEPT: i64 = 100_000;

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// What to do.
    pub kind: String,
    /// Its input, a JSON object.
    pub payload: serde_json::Value,
    /// At most one job with this key per realm, ever.
    pub unique_key: Option<String>,
    /// Not before (now when absent).
    pub run_at: Option<DateTime<Utc>>,
    /// Attempts before the job is dead (the configured default when absent).
    pub max_attempts: Option<i32>,
}

impl NewJob {
    /// A job of `kind` with `payload`, to run now.
    pub fn new(kind: &str, payload: serde_json::Value) -> NewJob {
        NewJob {
            kind: kind.to_owned(),
            payload,
            unique_key: None,
            run_at: None,
            max_attempts: None,
        }
    }
}

/// Queues `job` in the realm of `s`, in the caller's transaction; returns its id, or `None` when a job with the
/// same unique key exists.
pub fn enqueue(
    s: &mut Scoped<'_>,
    job: &NewJob,
    default_max_attempts: i32,
    now: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let row = job_row(s, job, default_max_attempts, now);
    Ok(jobs::enqueue(s, &row)?.then_some(row.id))
}

/// Queues several jobs in the realm of `s` in one statement, each unless a job with its unique key exists;
/// returns how many were queued.
pub fn enqueue_many(
    s: &mut Scoped<'_>,
    new_jobs: &[NewJob],
    default_max_attempts: i32,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let rows: Vec<JobRow> = new_jobs
        .iter()
        .map(|job| job_row(s, job, default_max_attempts, now))
        .collect();
    Ok(jobs::enqueue_many(s, &rows)?)
}

/// The stored row of a job queued now.
fn job_row(s: &Scoped<'_>, job: &NewJob, default_max_attempts: i32, now: DateTime<Utc>) -> JobRow {
    JobRow {
        tenant_id: s.realm_key().to_owned(),
        id: IdKind::Job.new_id(),
        kind: job.kind.clone(),
        payload_json: job.payload.to_string(),
        unique_key: job.unique_key.clone(),
        status: "queued".into(),
        run_at: naive(job.run_at.unwrap_or(now)),
        attempts: 0,
        max_attempts: job.max_attempts.unwrap_or(default_max_attempts),
        locked_by: None,
        locked_until: None,
        last_error: None,
        created_at: naive(now),
        updated_at: naive(now),
        finished_at: None,
    }
}

/// Why a job failed.
#[derive(Debug, Clone)]
pub enum JobError {
    /// Worth another attempt later.
    Retry(String),
    /// Will never succeed (unknown kind, invalid payload): dead at once.
    Permanent(String),
    /// Worth another attempt at this time (the job keeps its own retry schedule, as webhook deliveries do).
    RetryAt(String, DateTime<Utc>),
}

/// The delay before attempt `attempts + 1`: base × 2^(attempts − 1), capped, minus up to 25 % jitter so that
/// jobs failing together do not retry together.
pub fn backoff(attempts: i32, base_ms: i64, max_secs: i64) -> chrono::Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let delay_ms = base_ms
        .saturating_mul(1_i64 << exponent)
        .min(max_secs.saturating_mul(1000))
        .max(1);
    let jitter = rand::thread_rng().gen_range(0..=delay_ms / 4);
    chrono::Duration::milliseconds(delay_ms - jitter)
}

/// Job attempts run by this process, by (kind, outcome), for the metrics.
#[derive(Default)]
pub struct OutcomeCounts(std::sync::Mutex<std::collections::HashMap<(String, String), u64>>);

impl OutcomeCounts {
    /// The counts so far.
    pub fn snapshot(&self) -> Vec<((String, String), u64)> {
        let counts = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    pub(crate) fn add(&self, kind: &str, outcome: &str) {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *counts
            .entry((kind.to_owned(), outcome.to_owned()))
            .or_default() += 1;
    }
}

/// A worker's own thread for its database work. Polling every few hundred milliseconds on the shared blocking
/// pool would keep its threads alive forever, and with them the memory their allocator heaps hold from busy
/// moments; on a thread of its own the pool's threads go idle and end.
struct WorkerThread {
    tasks: std::sync::mpsc::Sender<DbTask>,
}

/// A piece of database work sent to a worker's thread.
type DbTask = Box<dyn FnOnce(&tessera_store::Database) + Send>;

impl WorkerThread {
    fn start(db: tessera_store::Database) -> AppResult<WorkerThread> {
        let (tasks, queue) =
            std::sync::mpsc::channel::<Box<dyn FnOnce(&tessera_store::Database) + Send>>();
        std::thread::Builder::new()
            .name("tessera-job-worker".into())
            .spawn(move || {
                // Ends when the worker drops its sender.
                while let Ok(task) = queue.recv() {
                    task(&db);
                }
            })
            .map_err(|e| AppError::Internal(format!("cannot start a worker thread: {e}")))?;
        Ok(WorkerThread { tasks })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&tessera_store::Database) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tasks
            .send(Box::new(move |db| {
                // The receiver is gone only when the worker itself stopped waiting.
                let _ = tx.send(f(db));
            }))
            .map_err(|_| AppError::Internal("the worker thread stopped".into()))?;
        rx.await
            .map_err(|_| AppError::Internal("the worker thread stopped".into()))?
    }
}

/// A job and its attempts, for `tessera jobs show`.
#[derive(Debug, Clone, Serialize)]
pub struct JobDetail {
    /// The job.
    pub job: JobRow,
    /// Its attempts, first first.
    pub attempts: Vec<AttemptRow>,
}

impl App {
    /// Queues `count` copies of a job in a realm in one transaction of its own (operators' `tessera jobs
    /// enqueue`; services queue inside their own transactions with [`enqueue`]). Returns the ids queued: a unique
    /// key queues at most one.
    pub async fn enqueue_jobs(
        &self,
        realm_key: String,
        job: NewJob,
        count: u32,
    ) -> AppResult<Vec<String>> {
        if job.kind.starts_with("diagnostic.") && !self.settings().jobs.enable_diagnostic_kinds {
            let reason = "diagnostic kinds are disabled (jobs.enable_diagnostic_kinds)";
            return Err(AppError::invalid(
                "kind",
                tessera_domain::FieldError::new("", "unknown_kind", reason),
            ));
        }
        let now = self.clock().now();
        let default_attempts = self.settings().jobs.default_max_attempts;
        self.blocking(move |db| {
            db.scoped(&realm_key, TxMode::Write, |s| {
                let mut ids = Vec::new();
                for _ in 0..count {
                    ids.extend(enqueue(s, &job, default_attempts, now)?);
                }
                Ok(ids)
            })
        })
        .await
    }

    /// Runs one job. New kinds are added here, each calling its service.
    async fn run_job(&self, job: &JobRow) -> Result<(), JobError> {
        let payload: serde_json::Value = serde_json::from_str(&job.payload_json)
            .map_err(|e| JobError::Permanent(format!("payload: {e}")))?;
        match job.kind.as_str() {
            kind if kind.starts_with("diagnostic.")
                && !self.settings().jobs.enable_diagnostic_kinds =>
            {
                Err(JobError::Permanent("diagnostic kinds are disabled".into()))
            }
            "email.send" => crate::email::send(self, &job.tenant_id, &payload).await,
            crate::webhooks::DELIVER_KIND => {
                crate::webhooks::deliver(self, &job.tenant_id, &payload).await
            }
            "maintenance.prune" => self
                .prune_realm(&job.tenant_id)
                .await
                .map_err(|e| JobError::Retry(e.to_string())),
            crate::memberships::roll::ROLL_KIND => self
                .roll_memberships(&job.tenant_id, None)
                .await
                .map(|_| ())
                .map_err(|e| JobError::Retry(e.to_string())),
            crate::billing::documents::RENDER_PDF_KIND => {
                crate::billing::pdf::render_job(self, &job.tenant_id, &payload).await
            }
            crate::billing::run::RUN_KIND => {
                let slug = self
                    .tenants()
                    .by_id(&job.tenant_id)
                    .map(|t| t.slug.clone())
                    .ok_or_else(|| JobError::Permanent("unknown tenant".into()))?;
                self.run_billing(&slug, None, false, &|_, _, _| {})
                    .await
                    .map(|_| ())
                    .map_err(|e| JobError::Retry(e.to_string()))
            }
            crate::scheduling::classes::GENERATE_KIND => self
                .generate_sessions_of(&job.tenant_id)
                .await
                .map(|_| ())
                .map_err(|e| JobError::Retry(e.to_string())),
            "diagnostic.noop" => Ok(()),
            "diagnostic.invoice_email" => {
                crate::email::diagnostic_invoice(self, &job.tenant_id, &payload)
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))
            }
            "diagnostic.publish" => self
                .diagnostic_publish(&job.tenant_id, &payload)
                .await
                .map_err(|e| JobError::Retry(e.to_string())),
            "diagnostic.sleep" => {
                let ms = payload["ms"].as_u64().unwrap_or(0).min(600_000);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(())
            }
            "diagnostic.fail" => {
                // Fails until attempt `succeed_on` (never, when absent).
                match payload["succeed_on"].as_i64() {
                    Some(n) if i64::from(job.attempts) >= n => Ok(()),
                    _ => Err(JobError::Retry(format!(
                        "diagnostic failure on attempt {}",
                        job.attempts
                    ))),
                }
            }
            other => Err(JobError::Permanent(format!("unknown job kind {other:?}"))),
        }
    }

    /// Claims one batch, runs it, records the outcomes; returns how many jobs ran. The database work goes to
    /// `thread`, the worker's own.
    async fn run_job_batch(&self, worker: &str, thread: &WorkerThread) -> AppResult<usize> {
        let settings = self.settings().jobs.clone();
        let started = self.clock().now();
        let lease_until = started + chrono::Duration::seconds(settings.lease_secs);
        let worker_id = worker.to_owned();
        let claimed = thread
            .run(move |db| {
                db.system(TxMode::Write, |sys| {
                    Ok::<_, AppError>(jobs::claim(
                        sys,
                        &worker_id,
                        naive(started),
                        naive(lease_until),
                        settings.batch_size,
                    )?)
                })
            })
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let heartbeat = self.keep_leases(worker, &claimed, settings.lease_secs);
        let mut results = Vec::with_capacity(claimed.len());
        for job in claimed {
            let outcome = match self.run_job(&job).await {
                Ok(()) => Outcome::Succeeded,
                Err(JobError::Permanent(error)) => Outcome::Dead { error },
                Err(JobError::Retry(error) | JobError::RetryAt(error, _))
                    if job.attempts >= job.max_attempts =>
                {
                    Outcome::Dead { error }
                }
                Err(JobError::RetryAt(error, at)) => Outcome::Retry {
                    error,
                    run_at: naive(at),
                },
                Err(JobError::Retry(error)) => {
                    let delay = backoff(
                        job.attempts,
                        settings.backoff_base_ms,
                        settings.backoff_max_secs,
                    );
                    Outcome::Retry {
                        error,
                        run_at: naive(self.clock().now() + delay),
                    }
                }
            };
            if let Outcome::Dead { error } = &outcome {
                tracing::warn!(job = %job.id, kind = %job.kind, %error, "job is dead");
            }

            results.push((job, outcome));
        }
        heartbeat.abort();
        let count = results.len();
        // Counted once the outcomes are committed, so that the metrics never run ahead of the database.
        let labels: Vec<(String, &'static str)> = results
            .iter()
            .map(|(job, outcome)| {
                let label = match outcome {
                    Outcome::Succeeded => "succeeded",
                    Outcome::Retry { .. } => "failed",
                    Outcome::Dead { .. } => "dead",
                };
                (job.kind.clone(), label)
            })
            .collect();
        let finished = self.clock().now();
        let worker_id = worker.to_owned();
        thread
            .run(move |db| {
                db.system(TxMode::Write, |sys| {
                    Ok::<_, AppError>(jobs::finish(
                        sys,
                        &worker_id,
                        naive(started),
                        naive(finished),
                        &results,
                    )?)
                })
            })
            .await?;
        for (kind, label) in labels {
            self.inner.job_outcomes.add(&kind, label);
        }
        Ok(count)
    }

    /// Extends the lease of a claimed batch every third of the lease while it runs, so that a long job is not
    /// claimed again by another worker; a worker that dies stops extending and its jobs come back after one
    /// lease. The task is aborted when the batch is done.
    fn keep_leases(
        &self,
        worker: &str,
        claimed: &[JobRow],
        lease_secs: i64,
    ) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        let worker = worker.to_owned();
        let ids: Vec<String> = claimed.iter().map(|j| j.id.clone()).collect();
        let every =
            Duration::from_millis(u64::try_from(lease_secs.max(1) * 1000 / 3).unwrap_or(1000));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let until = naive(app.clock().now() + chrono::Duration::seconds(lease_secs));
                let (worker, ids) = (worker.clone(), ids.clone());
                let extended = app
                    .blocking(move |db| {
                        db.system(TxMode::Write, |sys| {
                            Ok::<_, AppError>(jobs::extend_lease(sys, &worker, &ids, until)?)
                        })
                    })
                    .await;
                if let Err(error) = extended {
                    tracing::warn!(%error, "could not extend a job lease");
                }
            }
        })
    }

    /// Deletes what a realm no longer needs: events past their retention, finished jobs older than 30 days
    /// (system context, a listed use: the app role may not delete jobs), the door facts' changes but the last
    /// [`DOOR_FACT_CHANGES_KEPT`], and orphaned objects of the store.
    async fn prune_realm(&self, realm_key: &str) -> AppResult<()> {
        let now = self.clock().now();
        let events_before =
            naive(now - chrono::Duration::days(self.settings().events.retention_days));
        let jobs_before = naive(now - chrono::Duration::days(FINISHED_JOB_RETENTION_DAYS));
        let realm = realm_key.to_owned();
        let (events, jobs, door_changes) = self
            .blocking(move |db| {
                db.system(TxMode::Write, |sys| {
                    let mut s = sys.scoped(&realm);
                    let events = tessera_store::models::events::prune(&mut s, events_before)?;
                    let jobs = jobs::prune(&mut s, jobs_before)?;
                    let door_changes =
                        tessera_store::models::door_facts::prune(&mut s, DOOR_FACT_CHANGES_KEPT)?;
                    Ok::<_, AppError>((events, jobs, door_changes))
                })
            })
            .await?;
        let objects = if realm_key == tessera_domain::realm::GROUP_REALM_KEY {
            0
        } else {
            self.sweep_orphaned_objects(realm_key).await?
        };
        tracing::info!(
            realm = realm_key,
            events,
            jobs,
            door_changes,
            objects,
            "pruned"
        );
        Ok(())
    }

    /// `diagnostic.publish`: publishes a `diagnostic.published` event, then fails when the payload says
    /// `"fail": true`, so that tests can see that a rolled-back change sends nothing.
    async fn diagnostic_publish(
        &self,
        realm_key: &str,
        payload: &serde_json::Value,
    ) -> AppResult<()> {
        let realm = realm_key.to_owned();
        let fail = payload["fail"].as_bool().unwrap_or(false);
        let data = serde_json::json!({ "note": payload["note"].clone() });
        let now = self.clock().now();
        self.blocking(move |db| {
            db.scoped(&realm, TxMode::Write, |s| {
                let ctx = crate::Ctx::cli(tessera_domain::realm::Realm::Group);
                crate::events::publish(s, &ctx, "diagnostic.published", None, data, now)?;
                if fail {
                    return Err(AppError::Internal(
                        "diagnostic failure after publishing".into(),
                    ));
                }
                Ok(())
            })
        })
        .await
    }

    /// A worker: claims and runs batches until `stop` turns true, resting `poll_interval_ms` when idle.
    pub async fn run_worker(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let worker = IdKind::Worker.new_id();
        let idle = Duration::from_millis(self.settings().jobs.poll_interval_ms.max(10));
        let thread = match WorkerThread::start(self.db().clone()) {
            Ok(thread) => thread,
            Err(error) => {
                tracing::error!(%worker, %error, "job worker could not start");
                return;
            }
        };
        tracing::info!(%worker, "job worker started");
        while !*stop.borrow() {
            let rest = match self.run_job_batch(&worker, &thread).await {
                Ok(0) => idle,
                Ok(_) => Duration::ZERO,
                Err(error) => {
                    tracing::warn!(%worker, %error, "job worker could not run a batch");
                    idle
                }
            };
            if !rest.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(rest) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        tracing::info!(%worker, "job worker stopped");
    }

    /// Job attempts run by this process so far, by (kind, outcome).
    pub fn job_outcomes(&self) -> Vec<((String, String), u64)> {
        self.inner.job_outcomes.snapshot()
    }

    /// Jobs per (status, kind) across every realm (system context, a listed use: the metrics).
    pub async fn job_counts(&self) -> AppResult<Vec<(String, String, i64)>> {
        self.blocking(|db| db.system(TxMode::Read, |sys| Ok(jobs::counts(sys)?)))
            .await
    }

    /// Jobs for the operator (system context, a listed use), newest first.
    pub async fn list_jobs(&self, filter: JobFilter, limit: i64) -> AppResult<Vec<JobRow>> {
        self.blocking(move |db| db.system(TxMode::Read, |sys| Ok(jobs::list(sys, &filter, limit)?)))
            .await
    }

    /// One job and its attempts.
    pub async fn show_job(&self, id: String) -> AppResult<JobDetail> {
        self.blocking(move |db| {
            db.system(TxMode::Read, |sys| {
                let (job, attempts) = jobs::find(sys, &id)?.ok_or(AppError::NotFound("job"))?;
                Ok(JobDetail { job, attempts })
            })
        })
        .await
    }

    /// Queues a dead or cancelled job again.
    pub async fn retry_job(&self, id: String) -> AppResult<()> {
        let now = naive(self.clock().now());
        let done = self
            .blocking(move |db| {
                db.system(TxMode::Write, |sys| {
                    Ok::<_, AppError>(jobs::retry(sys, &id, now)?)
                })
            })
            .await?;
        done.then_some(()).ok_or(AppError::Conflict {
            code: "job_not_retryable",
            detail: "only dead or cancelled jobs can be retried".into(),
        })
    }

    /// Cancels a queued job.
    pub async fn cancel_job(&self, id: String) -> AppResult<()> {
        let now = naive(self.clock().now());
        let done = self
            .blocking(move |db| {
                db.system(TxMode::Write, |sys| {
                    Ok::<_, AppError>(jobs::cancel(sys, &id, now)?)
                })
            })
            .await?;
        done.then_some(()).ok_or(AppError::Conflict {
            code: "job_not_cancellable",
            detail: "only queued jobs can be cancelled".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for _ in 0..50 {
            let first = backoff(1, 1000, 3600).num_milliseconds();
            let third = backoff(3, 1000, 3600).num_milliseconds();
            assert!((750..=1000).contains(&first), "{first}");
            assert!((3000..=4000).contains(&third), "{third}");
            assert!(backoff(40, 1000, 60).num_milliseconds() <= 60_000);
        }
    }
}
