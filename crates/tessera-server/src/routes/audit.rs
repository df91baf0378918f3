//! The audit log of the realm.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use tessera_app::audit::AuditView;
use tessera_app::pagination::{Page, PageRequest};
use tessera_app::App;
use tessera_store::models::audit::AuditFilter;

use crate::extract::{ApiQuery, GroupCapableCaller};
use crate::problem::{ApiError, Problem};

/// Filters and paging.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action (`auth.login_failed`, `staff.deactivated`...).
    pub action: Option<String>,
    /// Only this actor's entries.
    pub actor_id: Option<String>,
    /// Only entries about this target.
    pub target_id: Option<String>,
    /// Rows per page, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `GET /api/v1/audit`: the realm's audit log, newest first (admins; operators on the group realm or a brand's
/// host).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = Page<AuditView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_audit(
    State(app): State<App>,
    caller: GroupCapableCaller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let filter = AuditFilter {
        action: query.action,
        actor_id: query.actor_id,
        target_id: query.target_id,
        before_seq: None,
    };
    Ok(Json(app.list_audit(&caller.0, filter, page).await?))
}
