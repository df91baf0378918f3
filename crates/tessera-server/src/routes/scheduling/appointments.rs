//! Appointments: book, read, reschedule, cancel, attendance.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use tessera_app::scheduling::appointments::{NewAppointment, Reschedule};
use tessera_app::scheduling::attendance::Attendance;
use tessera_app::scheduling::views::AppointmentView;
use tessera_app::App;

use super::{created, with_status};
use crate::extract::{ApiJson, IdempotencyKey, RealmCaller};
use crate::problem::{ApiError, Problem};

/// `POST /api/v1/appointments`: book (a member for themself; the desk or a pro with `member_id`). Accepts
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/appointments", tag = "scheduling", security(("bearer" = [])), request_body = NewAppointment,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = AppointmentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn book(
    State(app): State<App>,
    caller: RealmCaller,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<NewAppointment>,
) -> Response {
    let ctx = caller.0;
    let input = body.value;
    crate::idempotent::run(
        &app,
        &ctx,
        key,
        "POST",
        "/api/v1/appointments",
        &body.raw,
        || async { created(app.book_appointment(&ctx, input).await?) },
    )
    .await
}

/// `GET /api/v1/appointments/{id}`: its member, its pro, or the desk.
#[utoipa::path(get, path = "/api/v1/appointments/{id}", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Appointment id")),
    responses((status = 200, body = AppointmentView), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<AppointmentView>, ApiError> {
    Ok(Json(app.get_appointment(&caller.0, &id).await?))
}

/// `POST /api/v1/appointments/{id}/reschedule`: move it. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/reschedule", tag = "scheduling", security(("bearer" = [])), request_body = Reschedule,
    params(("id" = String, Path, description = "Appointment id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 200, body = AppointmentView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn reschedule(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<Reschedule>,
) -> Response {
    let ctx = caller.0;
    let input = body.value;
    let path = format!("/api/v1/appointments/{id}/reschedule");
    crate::idempotent::run(&app, &ctx, key, "POST", &path, &body.raw, || async {
        with_status(
            axum::http::StatusCode::OK,
            app.reschedule_appointment(&ctx, &id, input).await?,
        )
    })
    .await
}

/// `POST /api/v1/appointments/{id}/cancel`: cancel it (late inside the brand's window: the fee is owed).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/cancel", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Appointment id")),
    responses((status = 200, body = AppointmentView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<AppointmentView>, ApiError> {
    Ok(Json(app.cancel_appointment(&caller.0, &id).await?))
}

/// `POST /api/v1/appointments/{id}/attendance`: presence or no-show (`attendance.confirmed`; a pro on their own).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/attendance", tag = "scheduling", security(("bearer" = [])), request_body = Attendance,
    params(("id" = String, Path, description = "Appointment id")),
    responses((status = 200, body = AppointmentView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn attendance(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<Attendance>,
) -> Result<Json<AppointmentView>, ApiError> {
    Ok(Json(
        app.confirm_appointment_attendance(&caller.0, &id, body.value)
            .await?,
    ))
}
