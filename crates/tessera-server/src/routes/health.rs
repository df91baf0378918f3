//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tessera_app::App;

use crate::problem::Problem;

/// Liveness.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// Readiness details.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// `ready`.
    pub status: &'static str,
    /// `postgres` or `sqlite`.
    pub database: &'static str,
    /// Migrations applied.
    pub migrations_applied: usize,
    /// Migrations embedded in this binary but not yet applied.
    pub migrations_pending: usize,
    /// Tenants served.
    pub tenants: usize,
    /// Job workers running in this process (`tessera worker` processes run others).
    pub job_workers: usize,
    /// The object store: `local` or `s3` (checked: the folder is writable, the bucket answers).
    pub storage: &'static str,
}

/// `GET /healthz`: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// `GET /readyz`: the database answers, its migrations are current and the object store is usable.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, body = Ready), (status = 503, body = Problem)))]
pub async fn readyz(State(app): State<App>) -> Response {
    let status = app
        .blocking(|db| Ok(db.with_conn(tessera_store::migrate::status)?))
        .await;
    match status {
        Ok(migrations) => {
            let pending = migrations.iter().filter(|m| !m.applied).count();
            if pending > 0 {
                return Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "migrations_pending",
                    format!("{pending} migration(s) not applied: run `tessera migrate`"),
                )
                .into_response();
            }
            let storage = match app.check_storage().await {
                Ok(name) => name,
                Err(error) => {
                    tracing::warn!(%error, "object store not ready");
                    return Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "storage_unavailable",
                        format!(
                            "the {} object store is not usable",
                            app.storage().store().name()
                        ),
                    )
                    .into_response();
                }
            };
            Json(Ready {
                status: "ready",
                database: app.db().backend().name(),
                migrations_applied: migrations.len(),
                migrations_pending: 0,
                tenants: app.tenants().all().len(),
                job_workers: app.settings().jobs.workers_in_server,
                storage,
            })
            .into_response()
        }
        Err(error) => {
            tracing::warn!(%error, "not ready");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database does not answer",
            )
            .into_response()
        }
    }
}
