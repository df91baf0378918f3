//! Memberships: sales, the member's own list, status actions, freezes, plan changes, cancellation (terms, then
//! confirmation) and withdrawal.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use tessera_app::memberships::cancellation::{CancellationConfirmed, CancellationQuote};
use tessera_app::memberships::lifecycle::{FreezeRequest, PlanChanged};
use tessera_app::memberships::{HistoryView, MembershipView, SellMembership};
use tessera_app::pagination::{Page, PageRequest};
use tessera_app::{App, AppError};
use tessera_domain::gym::membership::ChangeTiming;

use crate::extract::{ApiJson, ApiQuery, IdempotencyKey, RealmCaller};
use crate::problem::{ApiError, Problem};

/// Listing parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MembershipQuery {
    /// Only this member's.
    pub member_id: Option<String>,
    /// Only in this status.
    pub status: Option<String>,
    /// Rows per page, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A sale.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleRequest {
    /// The member (required at the desk; online: oneself or a dependant).
    pub member_id: Option<String>,
    /// The plan.
    pub plan_id: String,
    /// First day (today when absent).
    #[schema(value_type = Option<String>, format = Date)]
    pub starts_on: Option<NaiveDate>,
}

/// A status action.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// `activate`, `mark_past_due`, `suspend`, `reinstate` or `end`.
    pub action: String,
}

/// A plan change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChangeRequest {
    /// The new plan.
    pub plan_id: String,
    /// `now` (prorated) or `next_period`.
    pub timing: ChangeTiming,
}

/// A cancellation's confirmation.
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why (optional).
    pub reason: Option<String>,
}

fn sale(request: SaleRequest) -> SellMembership {
    SellMembership {
        member_id: request.member_id,
        plan_id: request.plan_id,
        starts_on: request.starts_on,
    }
}

async fn created(
    app: &App,
    ctx: &tessera_app::Ctx,
    key: Option<String>,
    path: &str,
    raw: &[u8],
    online: bool,
    request: SellMembership,
) -> Response {
    crate::idempotent::run(app, ctx, key, "POST", path, raw, || async {
        let view = if online {
            app.buy_membership(ctx, request).await?
        } else {
            app.sell_membership(ctx, request).await?
        };
        let json = serde_json::to_value(view).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok((StatusCode::CREATED, json))
    })
    .await
}

/// `GET /api/v1/memberships`: a page of memberships (staff).
#[utoipa::path(get, path = "/api/v1/memberships", tag = "memberships", security(("bearer" = [])), params(MembershipQuery),
    responses((status = 200, body = Page<MembershipView>), (status = 403, body = Problem)))]
pub async fn list_memberships(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<MembershipQuery>,
) -> Result<Json<Page<MembershipView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    Ok(Json(
        app.list_memberships(&caller.0, query.member_id, query.status, page)
            .await?,
    ))
}

/// `POST /api/v1/memberships`: sell a plan at the desk. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/memberships", tag = "memberships", security(("bearer" = [])), request_body = SaleRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = MembershipView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn sell_membership(
    State(app): State<App>,
    caller: RealmCaller,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<SaleRequest>,
) -> Response {
    let raw = body.raw.clone();
    created(
        &app,
        &caller.0,
        key,
        "/api/v1/memberships",
        &raw,
        false,
        sale(body.value),
    )
    .await
}

/// `GET /api/v1/me/memberships`: the caller's memberships and their dependants', each with its cancellation link.
#[utoipa::path(get, path = "/api/v1/me/memberships", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Vec<MembershipView>)))]
pub async fn my_memberships(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<Vec<MembershipView>>, ApiError> {
    Ok(Json(app.my_memberships(&caller.0).await?))
}

/// `POST /api/v1/me/memberships`: buy a public plan online (verified address; 14-day withdrawal right). Accepts
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/me/memberships", tag = "me", security(("bearer" = [])), request_body = SaleRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = MembershipView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn buy_membership(
    State(app): State<App>,
    caller: RealmCaller,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<SaleRequest>,
) -> Response {
    let raw = body.raw.clone();
    created(
        &app,
        &caller.0,
        key,
        "/api/v1/me/memberships",
        &raw,
        true,
        sale(body.value),
    )
    .await
}

/// `GET /api/v1/memberships/{id}`: one membership.
#[utoipa::path(get, path = "/api/v1/memberships/{id}", tag = "memberships", security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id")),
    responses((status = 200, body = MembershipView), (status = 404, body = Problem)))]
pub async fn get_membership(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<MembershipView>, ApiError> {
    Ok(Json(app.get_membership(&caller.0, &id).await?))
}

/// `GET /api/v1/memberships/{id}/history`: every change, oldest first.
#[utoipa::path(get, path = "/api/v1/memberships/{id}/history", tag = "memberships", security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id")),
    responses((status = 200, body = Vec<HistoryView>), (status = 404, body = Problem)))]
pub async fn membership_history(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<HistoryView>>, ApiError> {
    Ok(Json(app.membership_history(&caller.0, &id).await?))
}

/// `POST /api/v1/memberships/{id}/actions`: activate, mark past due, suspend, reinstate or end (staff, billing).
#[utoipa::path(post, path = "/api/v1/memberships/{id}/actions", tag = "memberships", security(("bearer" = [])), request_body = ActionRequest,
    params(("id" = String, Path, description = "Membership id")),
    responses((status = 200, body = MembershipView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn membership_action(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<ActionRequest>,
) -> Result<Json<MembershipView>, ApiError> {
    Ok(Json(
        app.apply_membership_action(&caller.0, &id, &body.value.action)
            .await?,
    ))
}

/// `POST /api/v1/memberships/{id}/freezes`: freeze (now or planned).
#[utoipa::path(post, path = "/api/v1/memberships/{id}/freezes", tag = "memberships", security(("bearer" = [])), request_body = FreezeRequest,
    params(("id" = String, Path, description = "Membership id")),
    responses((status = 200, body = MembershipView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn freeze_membership(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<FreezeRequest>,
) -> Result<Json<MembershipView>, ApiError> {
    Ok(Json(
        app.freeze_membership(&caller.0, &id, body.value).await?,
    ))
}

/// `POST /api/v1/memberships/{id}/unfreeze`: end the current freeze today.
#[utoipa::path(post, path = "/api/v1/memberships/{id}/unfreeze", tag = "memberships", security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id")),
    responses((status = 200, body = MembershipView), (status = 409, body = Problem)))]
pub async fn unfreeze_membership(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<MembershipView>, ApiError> {
    Ok(Json(app.unfreeze_membership(&caller.0, &id).await?))
}

/// `POST /api/v1/memberships/{id}/plan-change`: change plan now (prorated) or at the next period.
#[utoipa::path(post, path = "/api/v1/memberships/{id}/plan-change", tag = "memberships", security(("bearer" = [])), request_body = PlanChangeRequest,
    params(("id" = String, Path, description = "Membership id")),
    responses((status = 200, body = PlanChanged), (status = 409, body = Problem)))]
pub async fn change_plan(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<PlanChangeRequest>,
) -> Result<Json<PlanChanged>, ApiError> {
    let r = body.value;
    Ok(Json(
        app.change_membership_plan(&caller.0, &id, &r.plan_id, r.timing)
            .await?,
    ))
}

/// `GET /api/v1/memberships/{id}/cancellation`: the terms of cancelling today (end date), before confirming.
#[utoipa::path(get, path = "/api/v1/memberships/{id}/cancellation", tag = "memberships", security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id")),
    responses((status = 200, body = CancellationQuote), (status = 409, body = Problem)))]
pub async fn cancellation_quote(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<CancellationQuote>, ApiError> {
    Ok(Json(app.cancellation_quote(&caller.0, &id).await?))
}

/// `POST /api/v1/memberships/{id}/cancellation`: confirm the cancellation with today's terms.
#[utoipa::path(post, path = "/api/v1/memberships/{id}/cancellation", tag = "memberships", security(("bearer" = [])), request_body = CancelRequest,
    params(("id" = String, Path, description = "Membership id")),
    responses((status = 200, body = CancellationConfirmed), (status = 409, body = Problem)))]
pub async fn confirm_cancellation(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<CancelRequest>,
) -> Result<Json<CancellationConfirmed>, ApiError> {
    Ok(Json(
        app.confirm_cancellation(&caller.0, &id, body.value.reason)
            .await?,
    ))
}

/// `POST /api/v1/memberships/{id}/withdrawal`: withdraw within 14 days of an online sale.
#[utoipa::path(post, path = "/api/v1/memberships/{id}/withdrawal", tag = "memberships", security(("bearer" = [])),
    params(("id" = String, Path, description = "Membership id")),
    responses((status = 200, body = MembershipView), (status = 409, body = Problem)))]
pub async fn withdraw(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<MembershipView>, ApiError> {
    Ok(Json(app.withdraw_membership(&caller.0, &id).await?))
}
