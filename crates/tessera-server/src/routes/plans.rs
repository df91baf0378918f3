//! Plans: the public list on sale (no token needed), and staff's full list and changes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tessera_app::pagination::{Page, PageRequest};
use tessera_app::plans::{PlanChanges, PlanInput, PlanView};
use tessera_app::App;

use crate::extract::{ApiJson, ApiQuery, MaybeCaller, RealmCaller};
use crate::problem::{ApiError, Problem};

/// Listing parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// Every plan, staff-only and retired included (staff).
    #[serde(default)]
    pub all: bool,
    /// Locale of names and descriptions (`fr`, `en`).
    pub locale: Option<String>,
    /// Rows per page, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One plan's parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LocaleQuery {
    /// Locale of name and description.
    pub locale: Option<String>,
}

/// `GET /api/v1/plans`: the public plans on sale (anyone), or every plan (`all=true`, staff).
#[utoipa::path(get, path = "/api/v1/plans", tag = "plans", params(PlanQuery),
    responses((status = 200, body = Page<PlanView>), (status = 403, body = Problem)))]
pub async fn list_plans(
    State(app): State<App>,
    caller: MaybeCaller,
    ApiQuery(query): ApiQuery<PlanQuery>,
) -> Result<Json<Page<PlanView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    Ok(Json(
        app.list_plans(&caller.0, query.all, query.locale, page)
            .await?,
    ))
}

/// `POST /api/v1/plans`: create a plan.
#[utoipa::path(post, path = "/api/v1/plans", tag = "plans", security(("bearer" = [])), request_body = PlanInput,
    responses((status = 201, body = PlanView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_plan(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<PlanInput>,
) -> Result<(StatusCode, Json<PlanView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_plan(&caller.0, body.value).await?),
    ))
}

/// `GET /api/v1/plans/{id}`: one plan (public ones to anyone).
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans", params(("id" = String, Path, description = "Plan id"), LocaleQuery),
    responses((status = 200, body = PlanView), (status = 404, body = Problem)))]
pub async fn get_plan(
    State(app): State<App>,
    caller: MaybeCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<LocaleQuery>,
) -> Result<Json<PlanView>, ApiError> {
    Ok(Json(app.get_plan(&caller.0, &id, query.locale).await?))
}

/// `PATCH /api/v1/plans/{id}`: change a plan's texts, price, access, visibility, dates or status.
#[utoipa::path(patch, path = "/api/v1/plans/{id}", tag = "plans", security(("bearer" = [])), request_body = PlanChanges,
    params(("id" = String, Path, description = "Plan id")),
    responses((status = 200, body = PlanView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_plan(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<PlanChanges>,
) -> Result<Json<PlanView>, ApiError> {
    Ok(Json(app.update_plan(&caller.0, &id, body.value).await?))
}
