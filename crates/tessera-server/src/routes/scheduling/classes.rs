//! Class schedules, sessions, bookings (with waitlist), check-in and attendance.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_app::pagination::{Page, PageRequest};
use tessera_app::scheduling::attendance::SessionAttendance;
use tessera_app::scheduling::bookings::NewBooking;
use tessera_app::scheduling::classes::{NewSchedule, SessionQuery};
use tessera_app::scheduling::views::{BookingView, List, ScheduleView, SessionView};
use tessera_app::App;

use super::created;
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey, RealmCaller};
use crate::problem::{ApiError, Problem};
use crate::routes::staff::PageQuery;

/// `GET /api/v1/class-schedules`: recurring classes.
#[utoipa::path(get, path = "/api/v1/class-schedules", tag = "scheduling", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<ScheduleView>), (status = 401, body = Problem)))]
pub async fn list_schedules(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<ScheduleView>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    Ok(Json(app.list_class_schedules(&caller.0, page).await?))
}

/// `POST /api/v1/class-schedules`: create a recurring class and generate its sessions ahead (`schedule.manage`).
#[utoipa::path(post, path = "/api/v1/class-schedules", tag = "scheduling", security(("bearer" = [])), request_body = NewSchedule,
    responses((status = 201, body = ScheduleView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_schedule(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<NewSchedule>,
) -> Result<(StatusCode, Json<ScheduleView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_class_schedule(&caller.0, body.value).await?),
    ))
}

/// Sessions generated.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Generated {
    /// New sessions (0 when every one already existed).
    pub sessions_generated: usize,
}

/// `POST /api/v1/class-schedules/generate`: generate every active schedule's sessions ahead; idempotent.
#[utoipa::path(post, path = "/api/v1/class-schedules/generate", tag = "scheduling", security(("bearer" = [])),
    responses((status = 200, body = Generated), (status = 403, body = Problem)))]
pub async fn generate(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<Generated>, ApiError> {
    Ok(Json(Generated {
        sessions_generated: app.generate_class_sessions(&caller.0).await?,
    }))
}

/// A window of sessions.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionParams {
    /// From (RFC 3339; now by default).
    pub from: Option<String>,
    /// Until (four weeks after `from` by default; at most 62 days after it).
    pub to: Option<String>,
    /// Rows per page, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `GET /api/v1/class-sessions`: sessions starting in a window, with places taken and waiting.
#[utoipa::path(get, path = "/api/v1/class-sessions", tag = "scheduling", security(("bearer" = [])), params(SessionParams),
    responses((status = 200, body = Page<SessionView>), (status = 422, body = Problem)))]
pub async fn list_sessions(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(q): ApiQuery<SessionParams>,
) -> Result<Json<Page<SessionView>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    Ok(Json(
        app.list_class_sessions(
            &caller.0,
            SessionQuery {
                from: q.from,
                to: q.to,
            },
            page,
        )
        .await?,
    ))
}

/// `GET /api/v1/class-sessions/{id}`: one session.
#[utoipa::path(get, path = "/api/v1/class-sessions/{id}", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, body = SessionView), (status = 404, body = Problem)))]
pub async fn get_session(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, ApiError> {
    Ok(Json(app.get_class_session(&caller.0, &id).await?))
}

/// `GET /api/v1/class-sessions/{id}/bookings`: the session's bookings (its pro or the desk).
#[utoipa::path(get, path = "/api/v1/class-sessions/{id}/bookings", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, body = List<BookingView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_bookings(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<List<BookingView>>, ApiError> {
    Ok(Json(app.list_session_bookings(&caller.0, &id).await?))
}

/// `POST /api/v1/class-sessions/{id}/bookings`: take a place, or a place on the waitlist (`status`,
/// `waitlist_position`); `409 class_full` when both are full. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/class-sessions/{id}/bookings", tag = "scheduling", security(("bearer" = [])), request_body = NewBooking,
    params(("id" = String, Path, description = "Session id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = BookingView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn book(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<NewBooking>,
) -> Response {
    let ctx = caller.0;
    let input = body.value;
    let path = format!("/api/v1/class-sessions/{id}/bookings");
    crate::idempotent::run(&app, &ctx, key, "POST", &path, &body.raw, || async {
        created(app.book_class(&ctx, &id, input).await?)
    })
    .await
}

/// `POST /api/v1/class-sessions/{id}/attendance`: presence or no-show of attendees (a pro on their own).
#[utoipa::path(post, path = "/api/v1/class-sessions/{id}/attendance", tag = "scheduling", security(("bearer" = [])), request_body = SessionAttendance,
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, body = List<BookingView>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn attendance(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<SessionAttendance>,
) -> Result<Json<List<BookingView>>, ApiError> {
    Ok(Json(
        app.confirm_session_attendance(&caller.0, &id, body.value)
            .await?,
    ))
}

/// `GET /api/v1/class-bookings/{id}`: one booking (its member, the session's pro, the desk).
#[utoipa::path(get, path = "/api/v1/class-bookings/{id}", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 404, body = Problem)))]
pub async fn get_booking(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    Ok(Json(app.get_class_booking(&caller.0, &id).await?))
}

/// `POST /api/v1/class-bookings/{id}/cancel`: cancel a place (or leave the waitlist); the first waitlisted
/// member is promoted.
#[utoipa::path(post, path = "/api/v1/class-bookings/{id}/cancel", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel_booking(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    Ok(Json(app.cancel_class_booking(&caller.0, &id).await?))
}

/// `POST /api/v1/class-bookings/{id}/check-in`: check in to the class.
#[utoipa::path(post, path = "/api/v1/class-bookings/{id}/check-in", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn check_in(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    Ok(Json(app.check_in_class_booking(&caller.0, &id).await?))
}
