//! A pro's working hours, clock-in/out, timesheet and agenda.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use tessera_app::scheduling::attendance::{ClockView, Timesheet};
use tessera_app::scheduling::dashboards::Agenda;
use tessera_app::scheduling::hours::SetHours;
use tessera_app::scheduling::views::ProHoursView;
use tessera_app::App;

use crate::extract::{ApiJson, ApiQuery, RealmCaller};
use crate::problem::{ApiError, Problem};

/// `GET /api/v1/pros/{id}/hours`: a pro's weekly hours and exceptions.
#[utoipa::path(get, path = "/api/v1/pros/{id}/hours", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Pro's account id")),
    responses((status = 200, body = ProHoursView), (status = 404, body = Problem)))]
pub async fn get_hours(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<ProHoursView>, ApiError> {
    Ok(Json(app.get_pro_hours(&caller.0, &id).await?))
}

/// `PUT /api/v1/pros/{id}/hours`: replace a pro's weekly hours and exceptions (`schedule.manage`, or the pro).
#[utoipa::path(put, path = "/api/v1/pros/{id}/hours", tag = "scheduling", security(("bearer" = [])), request_body = SetHours,
    params(("id" = String, Path, description = "Pro's account id")),
    responses((status = 200, body = ProHoursView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_hours(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<SetHours>,
) -> Result<Json<ProHoursView>, ApiError> {
    Ok(Json(app.set_pro_hours(&caller.0, &id, body.value).await?))
}

/// `POST /api/v1/pros/{id}/clock-in`: the pro starts work.
#[utoipa::path(post, path = "/api/v1/pros/{id}/clock-in", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Pro's account id")),
    responses((status = 200, body = ClockView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn clock_in(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<ClockView>, ApiError> {
    Ok(Json(app.clock_in(&caller.0, &id).await?))
}

/// `POST /api/v1/pros/{id}/clock-out`: the pro stops work.
#[utoipa::path(post, path = "/api/v1/pros/{id}/clock-out", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Pro's account id")),
    responses((status = 200, body = ClockView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn clock_out(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<ClockView>, ApiError> {
    Ok(Json(app.clock_out(&caller.0, &id).await?))
}

/// A period of local days.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodParams {
    /// First local day, `YYYY-MM-DD` (the first of this month by default).
    pub from: Option<String>,
    /// Last local day, inclusive (today by default).
    pub to: Option<String>,
}

/// `GET /api/v1/pros/{id}/timesheet`: confirmed service hours and clocked time (`timesheets.read`, or the pro).
#[utoipa::path(get, path = "/api/v1/pros/{id}/timesheet", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Pro's account id"), PeriodParams),
    responses((status = 200, body = Timesheet), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn timesheet(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PeriodParams>,
) -> Result<Json<Timesheet>, ApiError> {
    Ok(Json(app.timesheet(&caller.0, &id, q.from, q.to).await?))
}

/// A local day.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayParams {
    /// `YYYY-MM-DD` in the brand's time zone (today by default).
    pub date: Option<String>,
}

/// `GET /api/v1/pros/{id}/agenda`: the pro's day (`dashboard.read`, or the pro).
#[utoipa::path(get, path = "/api/v1/pros/{id}/agenda", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Pro's account id"), DayParams),
    responses((status = 200, body = Agenda), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn agenda(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DayParams>,
) -> Result<Json<Agenda>, ApiError> {
    Ok(Json(app.pro_agenda(&caller.0, &id, q.date).await?))
}
