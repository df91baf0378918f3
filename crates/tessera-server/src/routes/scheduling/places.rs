//! Locations, rooms and services, and a service's bookable slots.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tessera_app::pagination::{Page, PageRequest};
use tessera_app::scheduling::places::{NewLocation, NewRoom};
use tessera_app::scheduling::services::{NewService, SlotsQuery, UpdateService};
use tessera_app::scheduling::views::{List, LocationView, RoomView, ServiceView, SlotView};
use tessera_app::App;

use crate::extract::{ApiJson, ApiQuery, RealmCaller};
use crate::problem::{ApiError, Problem};
use crate::routes::staff::PageQuery;

/// `GET /api/v1/locations`: the brand's locations.
#[utoipa::path(get, path = "/api/v1/locations", tag = "scheduling", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<LocationView>), (status = 401, body = Problem)))]
pub async fn list_locations(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<LocationView>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    Ok(Json(app.list_locations(&caller.0, page).await?))
}

/// `POST /api/v1/locations`: create a location (`schedule.manage`).
#[utoipa::path(post, path = "/api/v1/locations", tag = "scheduling", security(("bearer" = [])), request_body = NewLocation,
    responses((status = 201, body = LocationView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_location(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<NewLocation>,
) -> Result<(StatusCode, Json<LocationView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_location(&caller.0, body.value).await?),
    ))
}

/// `GET /api/v1/locations/{id}`: one location.
#[utoipa::path(get, path = "/api/v1/locations/{id}", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Location id")),
    responses((status = 200, body = LocationView), (status = 404, body = Problem)))]
pub async fn get_location(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<LocationView>, ApiError> {
    Ok(Json(app.get_location(&caller.0, &id).await?))
}

/// `GET /api/v1/locations/{id}/rooms`: a location's rooms.
#[utoipa::path(get, path = "/api/v1/locations/{id}/rooms", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Location id")),
    responses((status = 200, body = List<RoomView>), (status = 404, body = Problem)))]
pub async fn list_rooms(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<List<RoomView>>, ApiError> {
    Ok(Json(app.list_rooms(&caller.0, &id).await?))
}

/// `POST /api/v1/locations/{id}/rooms`: add a room (`schedule.manage`); capacity above zero.
#[utoipa::path(post, path = "/api/v1/locations/{id}/rooms", tag = "scheduling", security(("bearer" = [])), request_body = NewRoom,
    params(("id" = String, Path, description = "Location id")),
    responses((status = 201, body = RoomView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_room(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<NewRoom>,
) -> Result<(StatusCode, Json<RoomView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_room(&caller.0, &id, body.value).await?),
    ))
}

/// `GET /api/v1/services`: the brand's services.
#[utoipa::path(get, path = "/api/v1/services", tag = "scheduling", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<ServiceView>), (status = 401, body = Problem)))]
pub async fn list_services(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<ServiceView>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    Ok(Json(app.list_services(&caller.0, page).await?))
}

/// `POST /api/v1/services`: create a service (`schedule.manage`).
#[utoipa::path(post, path = "/api/v1/services", tag = "scheduling", security(("bearer" = [])), request_body = NewService,
    responses((status = 201, body = ServiceView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_service(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<NewService>,
) -> Result<(StatusCode, Json<ServiceView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_service(&caller.0, body.value).await?),
    ))
}

/// `GET /api/v1/services/{id}`: one service.
#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Service id")),
    responses((status = 200, body = ServiceView), (status = 404, body = Problem)))]
pub async fn get_service(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<ServiceView>, ApiError> {
    Ok(Json(app.get_service(&caller.0, &id).await?))
}

/// `PATCH /api/v1/services/{id}`: change name, price, pros or whether it is bookable (`schedule.manage`).
#[utoipa::path(patch, path = "/api/v1/services/{id}", tag = "scheduling", security(("bearer" = [])), request_body = UpdateService,
    params(("id" = String, Path, description = "Service id")),
    responses((status = 200, body = ServiceView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_service(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<UpdateService>,
) -> Result<Json<ServiceView>, ApiError> {
    Ok(Json(app.update_service(&caller.0, &id, body.value).await?))
}

/// Slot query.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SlotParams {
    /// First local day, `YYYY-MM-DD` in the brand's time zone (today by default).
    pub from: Option<String>,
    /// Last local day, inclusive (a week after `from` by default; at most 62 days).
    pub to: Option<String>,
    /// Only this pro.
    pub pro: Option<String>,
}

/// `GET /api/v1/services/{id}/slots`: bookable slots, in the brand's time zone's days, as UTC times.
#[utoipa::path(get, path = "/api/v1/services/{id}/slots", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Service id"), SlotParams),
    responses((status = 200, body = List<SlotView>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn service_slots(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SlotParams>,
) -> Result<Json<List<SlotView>>, ApiError> {
    let query = SlotsQuery {
        from: q.from,
        to: q.to,
        pro: q.pro,
    };
    Ok(Json(app.service_slots(&caller.0, &id, query).await?))
}
