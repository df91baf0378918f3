//! The caller.

use axum::extract::State;
use axum::Json;
use tessera_app::me::MeView;
use tessera_app::App;

use crate::extract::GroupCapableCaller;
use crate::problem::{ApiError, Problem};

/// `GET /api/v1/me`: the caller's account, tenant and roles. Group-capable.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = MeView), (status = 401, body = Problem)))]
pub async fn me(
    State(app): State<App>,
    caller: GroupCapableCaller,
) -> Result<Json<MeView>, ApiError> {
    Ok(Json(app.me(&caller.0).await?))
}
