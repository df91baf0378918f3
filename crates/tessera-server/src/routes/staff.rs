//! A brand's staff. Group-capable: operators may manage any brand's staff from that brand's host.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Deserializer};
use tessera_app::pagination::{Page, PageRequest};
use tessera_app::staff::{InviteStaff, InvitedStaff, UpdateStaff};
use tessera_app::views::AccountView;
use tessera_app::{App, AppError};

use crate::extract::{ApiJson, ApiQuery, GroupCapableCaller, IdempotencyKey};
use crate::problem::{ApiError, Problem};

/// Paging parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An invitation.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Roles: admin, staff, pro, sales_rep, affiliate (and member).
    pub roles: Vec<String>,
    /// coach, nutritionist or therapist; required for a pro.
    pub specialty: Option<String>,
}

/// Changes; absent fields are kept, `"specialty": null` clears the specialty.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// New display name.
    pub display_name: Option<String>,
    /// New roles.
    pub roles: Option<Vec<String>>,
    /// New specialty, or null to clear it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub specialty: Option<Option<String>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `GET /api/v1/staff`: a page of the brand's staff.
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<AccountView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_staff(
    State(app): State<App>,
    caller: GroupCapableCaller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<AccountView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    Ok(Json(app.list_staff(&caller.0, page).await?))
}

/// `POST /api/v1/staff`: invite a staff member. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])), request_body = InviteRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = InvitedStaff), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn invite_staff(
    State(app): State<App>,
    caller: GroupCapableCaller,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<InviteRequest>,
) -> Response {
    let ctx = caller.0;
    let request = body.value;
    let input = InviteStaff {
        email: request.email,
        display_name: request.display_name,
        roles: request.roles,
        specialty: request.specialty,
    };
    crate::idempotent::run(
        &app,
        &ctx,
        key,
        "POST",
        "/api/v1/staff",
        &body.raw,
        || async {
            let invited = app.invite_staff(&ctx, input).await?;
            let json =
                serde_json::to_value(invited).map_err(|e| AppError::Internal(e.to_string()))?;
            Ok((StatusCode::CREATED, json))
        },
    )
    .await
}

/// `GET /api/v1/staff/{id}`: one staff member.
#[utoipa::path(get, path = "/api/v1/staff/{id}", tag = "staff", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = AccountView), (status = 404, body = Problem)))]
pub async fn get_staff(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path(id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(app.get_staff(&caller.0, &id).await?))
}

/// `PATCH /api/v1/staff/{id}`: change name, roles or specialty.
#[utoipa::path(patch, path = "/api/v1/staff/{id}", tag = "staff", security(("bearer" = [])), request_body = UpdateRequest,
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = AccountView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_staff(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path(id): Path<String>,
    body: ApiJson<UpdateRequest>,
) -> Result<Json<AccountView>, ApiError> {
    let request = body.value;
    let input = UpdateStaff {
        display_name: request.display_name,
        roles: request.roles,
        specialty: request.specialty,
    };
    Ok(Json(app.update_staff(&caller.0, &id, input).await?))
}

/// `POST /api/v1/staff/{id}/deactivate`: deactivate a staff member and revoke their sessions.
#[utoipa::path(post, path = "/api/v1/staff/{id}/deactivate", tag = "staff", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = AccountView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn deactivate_staff(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path(id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(app.deactivate_staff(&caller.0, &id).await?))
}
