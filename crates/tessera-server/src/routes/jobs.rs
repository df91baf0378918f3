//! A brand's background jobs: the list and the retry of failed ones. The rules live in
//! `tessera_app::realm_jobs`. Group-capable: operators may look from the brand's host.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use tessera_app::pagination::{Page, PageRequest};
use tessera_app::realm_jobs::JobView;
use tessera_app::App;

use crate::extract::{ApiQuery, GroupCapableCaller};
use crate::problem::{ApiError, Problem};

/// List parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// Only jobs in this state: `queued`, `running`, `succeeded`, `dead` or `cancelled`.
    pub status: Option<String>,
    /// Rows per page, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `GET /api/v1/jobs`: the brand's jobs, newest first (`jobs.manage`); never their input.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", security(("bearer" = [])), params(JobsQuery),
    responses((status = 200, body = Page<JobView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_jobs(
    State(app): State<App>,
    caller: GroupCapableCaller,
    ApiQuery(query): ApiQuery<JobsQuery>,
) -> Result<Json<Page<JobView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    Ok(Json(
        app.list_realm_jobs(&caller.0, query.status, page).await?,
    ))
}

/// `POST /api/v1/jobs/{id}/retry`: queue a dead or cancelled job again (`jobs.manage`, audited).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, body = JobView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn retry_job(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(app.retry_realm_job(&caller.0, &id).await?))
}
