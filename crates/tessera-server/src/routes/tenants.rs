//! The group's brands, for operators on the group realm.

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use tessera_app::tenants::Tenant;
use tessera_app::App;

use crate::extract::RealmCaller;
use crate::problem::{ApiError, Problem};

/// Every tenant.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantList {
    /// The tenants, by slug.
    pub data: Vec<Tenant>,
}

/// `GET /api/v1/tenants`: every brand (operators, group realm).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = TenantList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_tenants(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<TenantList>, ApiError> {
    let tenants = app.list_tenants(&caller.0).await?;
    Ok(Json(TenantList {
        data: tenants.iter().map(|t| (**t).clone()).collect(),
    }))
}

/// `GET /api/v1/tenants/{slug}`: one brand (operators, group realm).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}", tag = "tenants", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The tenant's slug")),
    responses((status = 200, body = Tenant), (status = 404, body = Problem)))]
pub async fn show_tenant(
    State(app): State<App>,
    caller: RealmCaller,
    Path(slug): Path<String>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json((*app.show_tenant(&caller.0, &slug).await?).clone()))
}
