//! A brand's own view of its background jobs (`GET /api/v1/jobs`, `POST /api/v1/jobs/{id}/retry`), for its
//! admins and the support console: what ran, what failed and why, and a retry for the dead ones. Only the
//! brand's jobs are seen (another brand's job is not found), and never a job's input: payloads hold personal
//! data and message bodies that the queue's operator view (`tessera jobs`) alone may show.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_domain::role::Permission;
use tessera_domain::FieldError;
use tessera_store::models::jobs::{self, JobRow};
use tessera_store::TxMode;

use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::pagination::{Page, PageRequest};
use crate::{naive, App, AppError, AppResult, Ctx};

/// The statuses a job can be in.
pub const STATUSES: [&str; 5] = ["queued", "running", "succeeded", "dead", "cancelled"];

/// The longest last error shown (errors may quote a remote server's answer at length).
const ERROR_CHARS: usize = 500;

/// A job as the brand sees it: never its input.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    /// `job_...`.
    pub id: String,
    /// What it does, e.g. `email.send`, `invoices.render_pdf`, `webhooks.deliver`.
    pub kind: String,
    /// `queued`, `running`, `succeeded`, `dead` or `cancelled`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// Attempts allowed before it is dead.
    pub max_attempts: i32,
    /// The last failure, shortened.
    pub last_error: Option<String>,
    /// Not run before.
    pub run_at: DateTime<Utc>,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Succeeded, died or was cancelled.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<JobRow> for JobView {
    fn from(row: JobRow) -> Self {
        JobView {
            id: row.id,
            kind: row.kind,
            status: row.status,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            last_error: row.last_error.map(|e| {
                if e.chars().count() > ERROR_CHARS {
                    format!("{}…", e.chars().take(ERROR_CHARS).collect::<String>())
                } else {
                    e
                }
            }),
            run_at: tessera_store::utc(row.run_at),
            created_at: tessera_store::utc(row.created_at),
            finished_at: row.finished_at.map(tessera_store::utc),
        }
    }
}

impl App {
    /// `GET /api/v1/jobs` (`jobs.manage`): the brand's jobs, newest first, of one status when asked.
    pub async fn list_realm_jobs(
        &self,
        ctx: &Ctx,
        status: Option<String>,
        page: PageRequest,
    ) -> AppResult<Page<JobView>> {
        if let Some(status) = &status {
            if !STATUSES.contains(&status.as_str()) {
                return Err(AppError::invalid(
                    "status",
                    FieldError::new("", "unknown_status", STATUSES.join(", ")),
                ));
            }
        }
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::JobsManage)?;
                let rows =
                    jobs::of_realm(s, status.as_deref(), page.after.as_deref(), page.limit + 1)?;
                let views = rows.into_iter().map(JobView::from).collect();
                Ok(Page::from_rows(views, page.limit, |v: &JobView| &v.id))
            })
        })
        .await
    }

    /// `POST /api/v1/jobs/{id}/retry` (`jobs.manage`): queues a dead or cancelled job of the brand again, now,
    /// with a fresh set of attempts (audited). Another brand's job is not found; a job in any other state is a
    /// conflict and stays as it is.
    pub async fn retry_realm_job(&self, ctx: &Ctx, id: &str) -> AppResult<JobView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::JobsManage)?;
                let job = jobs::find_in(s, &id)?.ok_or(AppError::NotFound("job"))?;
                if !jobs::retry_in(s, &id, naive(now))? {
                    return Err(AppError::Conflict {
                        code: "job_not_retryable",
                        detail: format!(
                            "the job is {}: only dead or cancelled jobs can be retried",
                            job.status
                        ),
                    });
                }
                audit::record(
                    s,
                    &ctx,
                    Event::on("job.retried", "job", &id)
                        .with(serde_json::json!({ "kind": job.kind })),
                    now,
                )?;
                let job = jobs::find_in(s, &id)?.ok_or(AppError::NotFound("job"))?;
                Ok(JobView::from(job))
            })
        })
        .await
    }
}
