//! The caller.

use axum::extract::State;
use axum::Json;
use tessera_app::me::MeView;
use tessera_app::App;

use crate::extract::{GroupCapableCaller, RealmCaller};
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

/// `POST /api/v1/me/email-verification`: e-mail the caller a link that proves their address.
#[utoipa::path(post, path = "/api/v1/me/email-verification", tag = "me", security(("bearer" = [])),
    responses((status = 202, description = "A link is on its way"), (status = 401, body = Problem)))]
pub async fn request_email_verification(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<axum::http::StatusCode, ApiError> {
    app.request_email_verification(&caller.0).await?;
    Ok(axum::http::StatusCode::ACCEPTED)
}
