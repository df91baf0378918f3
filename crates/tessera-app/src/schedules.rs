//! Recurring schedules: jobs queued on a cron expression read in each tenant's own time zone (so "every day at
//! 03:15" follows daylight-saving changes). The definitions live in [`definitions`]; later modules (billing
//! runs, reminders) add theirs there. Every process runs a scheduler; the due rows are locked while a run is
//! queued, and each run's job has a unique key naming the schedule and the instant, so a run is queued once
//! however many schedulers look. A process that was down queues one run for what it missed, not one per tick.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_store::models::schedules::{self, ScheduleRow};
use tessera_store::TxMode;

use crate::jobs::NewJob;
use crate::{naive, App, AppError, AppResult};

/// One recurring job of every tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleDef {
    /// Stable name.
    pub name: String,
    /// Cron expression with seconds first (`sec min hour day month weekday`).
    pub cron: String,
    /// The job it queues.
    pub job_kind: String,
    /// The job's payload.
    pub payload: serde_json::Value,
}

/// The schedules every tenant gets under these settings.
pub fn definitions(settings: &tessera_config::Settings) -> Vec<ScheduleDef> {
    let mut defs = vec![
        ScheduleDef {
            name: "maintenance.prune".into(),
            cron: "0 15 3 * * *".into(),
            job_kind: "maintenance.prune".into(),
            payload: serde_json::json!({}),
        },
        ScheduleDef {
            name: crate::memberships::roll::ROLL_KIND.into(),
            cron: "0 5 0 * * *".into(),
            job_kind: crate::memberships::roll::ROLL_KIND.into(),
            payload: serde_json::json!({}),
        },
        ScheduleDef {
            name: crate::billing::run::RUN_KIND.into(),
            cron: "0 0 6 * * *".into(),
            job_kind: crate::billing::run::RUN_KIND.into(),
            payload: serde_json::json!({}),
        },
        ScheduleDef {
            name: crate::scheduling::classes::GENERATE_KIND.into(),
            cron: "0 20 0 * * *".into(),
            job_kind: crate::scheduling::classes::GENERATE_KIND.into(),
            payload: serde_json::json!({}),
        },
    ];
    if let (true, Some(cron)) = (
        settings.jobs.enable_diagnostic_kinds,
        &settings.jobs.diagnostic_schedule,
    ) {
        defs.push(ScheduleDef {
            name: "diagnostic.tick".into(),
            cron: cron.clone(),
            job_kind: "diagnostic.noop".into(),
            payload: serde_json::json!({ "from": "schedule" }),
        });
    }
    defs
}

/// The first run of `cron` in `time_zone` strictly after `after`.
pub fn next_run(cron: &str, time_zone: &str, after: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    let schedule = cron::Schedule::from_str(cron)
        .map_err(|e| AppError::Internal(format!("cron expression {cron:?}: {e}")))?;
    let zone = chrono_tz::Tz::from_str(time_zone)
        .map_err(|_| AppError::Internal(format!("time zone {time_zone:?}")))?;
    schedule
        .after(&after.with_timezone(&zone))
        .next()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| AppError::Internal(format!("{cron:?} never runs again")))
}

/// A schedule as `tessera schedules` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleView {
    /// Realm.
    pub tenant_id: String,
    /// Name.
    pub name: String,
    /// Cron expression.
    pub cron: String,
    /// Its time zone.
    pub time_zone: String,
    /// The job.
    pub job_kind: String,
    /// Next run (UTC).
    pub next_run_at: DateTime<Utc>,
    /// Last run queued (UTC).
    pub last_run_at: Option<DateTime<Utc>>,
}

impl App {
    /// Brings the stored schedules in line with the definitions for every known tenant (system context, a
    /// listed use).
    async fn sync_schedules(&self) -> AppResult<()> {
        let defs = definitions(self.settings());
        let now = self.clock().now();
        let mut wanted = Vec::new();
        for tenant in self.tenants().all() {
            for def in &defs {
                wanted.push(ScheduleRow {
                    tenant_id: tenant.id.clone(),
                    name: def.name.clone(),
                    cron: def.cron.clone(),
                    time_zone: tenant.config.time_zone.clone(),
                    job_kind: def.job_kind.clone(),
                    payload_json: def.payload.to_string(),
                    next_run_at: naive(next_run(&def.cron, &tenant.config.time_zone, now)?),
                    last_run_at: None,
                    updated_at: naive(now),
                });
            }
        }
        let names: Vec<String> = defs.iter().map(|d| d.name.clone()).collect();
        self.blocking(move |db| {
            db.system(TxMode::Write, |sys| {
                let stored = schedules::all(sys)?;
                for row in &wanted {
                    let same = stored.iter().any(|s| {
                        s.tenant_id == row.tenant_id
                            && s.name == row.name
                            && s.cron == row.cron
                            && s.time_zone == row.time_zone
                            && s.job_kind == row.job_kind
                            && s.payload_json == row.payload_json
                    });
                    if !same {
                        schedules::upsert(sys, row)?;
                    }
                }
                let mut tenants: Vec<&str> = stored.iter().map(|s| s.tenant_id.as_str()).collect();
                tenants.dedup();
                for tenant in tenants {
                    schedules::remove_others(sys, tenant, &names)?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Queues the runs that are due and moves their schedules on; returns how many were queued.
    pub async fn queue_due_schedules(&self) -> AppResult<usize> {
        let now = self.clock().now();
        let default_attempts = self.settings().jobs.default_max_attempts;
        self.blocking(move |db| {
            db.system(TxMode::Write, |sys| {
                let due = schedules::lock_due(sys, naive(now))?;
                let mut queued = 0;
                for row in due {
                    let payload =
                        serde_json::from_str(&row.payload_json).unwrap_or(serde_json::json!({}));
                    let mut job = NewJob::new(&row.job_kind, payload);
                    job.unique_key = Some(format!(
                        "schedule:{}:{}",
                        row.name,
                        row.next_run_at.and_utc().to_rfc3339()
                    ));
                    let next = next_run(&row.cron, &row.time_zone, now)?;
                    let mut scoped = sys.scoped(&row.tenant_id);
                    if crate::jobs::enqueue(&mut scoped, &job, default_attempts, now)?.is_some() {
                        queued += 1;
                    }
                    schedules::advance(sys, &row, row.next_run_at, naive(next), naive(now))?;
                }
                Ok(queued)
            })
        })
        .await
    }

    /// Every stored schedule (system context: the operator's `tessera schedules`). Read only: the servers and
    /// workers, which share the configuration, keep the definitions in line; a CLI with other settings must not.
    pub async fn list_schedules(&self) -> AppResult<Vec<ScheduleView>> {
        self.blocking(|db| {
            db.system(TxMode::Read, |sys| {
                Ok(schedules::all(sys)?
                    .into_iter()
                    .map(|r| ScheduleView {
                        tenant_id: r.tenant_id,
                        name: r.name,
                        cron: r.cron,
                        time_zone: r.time_zone,
                        job_kind: r.job_kind,
                        next_run_at: r.next_run_at.and_utc(),
                        last_run_at: r.last_run_at.map(|t| t.and_utc()),
                    })
                    .collect())
            })
        })
        .await
    }

    /// The scheduler: every `jobs.schedule_poll_secs`, syncs the definitions and queues due runs, until `stop`.
    pub async fn run_scheduler(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let every = Duration::from_secs(self.settings().jobs.schedule_poll_secs.max(1));
        while !*stop.borrow() {
            if let Err(error) = self.sync_schedules().await {
                tracing::warn!(%error, "could not sync schedules");
            } else if let Err(error) = self.queue_due_schedules().await {
                tracing::warn!(%error, "could not queue scheduled jobs");
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn daily_runs_follow_the_tenant_zone_across_daylight_saving() {
        // Paris moves from UTC+1 to UTC+2 on 2026-03-29 at 02:00 local.
        let before = Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap();
        let first = next_run("0 15 3 * * *", "Europe/Paris", before).unwrap();
        assert_eq!(first, Utc.with_ymd_and_hms(2026, 3, 29, 1, 15, 0).unwrap());
        let second = next_run("0 15 3 * * *", "Europe/Paris", first).unwrap();
        assert_eq!(second, Utc.with_ymd_and_hms(2026, 3, 30, 1, 15, 0).unwrap());
        // 02:30 does not exist in Paris on 2026-03-29: that day has no such run, the next day has one.
        let skipped = next_run("0 30 2 * * *", "Europe/Paris", before).unwrap();
        assert_eq!(
            skipped,
            Utc.with_ymd_and_hms(2026, 3, 30, 0, 30, 0).unwrap()
        );
        // Back to UTC+1 on 2026-10-25.
        let autumn = Utc.with_ymd_and_hms(2026, 10, 25, 12, 0, 0).unwrap();
        let run = next_run("0 15 3 * * *", "Europe/Paris", autumn).unwrap();
        assert_eq!(run, Utc.with_ymd_and_hms(2026, 10, 26, 2, 15, 0).unwrap());
    }

    #[test]
    fn bad_expressions_are_errors() {
        assert!(next_run("not cron", "Europe/Paris", Utc::now()).is_err());
        assert!(next_run("0 15 3 * * *", "Mars/Olympus", Utc::now()).is_err());
    }
}
