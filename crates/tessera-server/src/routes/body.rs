//! Body composition: uploads from analysers and staff, matching, a member's history and trends, goals, and the
//! report of one measurement. The rules live in `tessera_app::body`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tessera_app::body::{
    BodyReport, BodyUpload, Goal, HealthView, MeasurementView, ReportFormat, UploadOutcome,
};
use tessera_app::storage::FileView;
use tessera_app::App;

use crate::extract::{ApiJson, ApiQuery, RealmCaller};
use crate::problem::{ApiError, Problem};

/// `POST /api/v1/body-measurements`: from a paired analyser, or staff (`body.manage`). Canonical JSON or an
/// analyser's export (`tanita`, `inbody`); stored only with the member's health-data consent.
#[utoipa::path(post, path = "/api/v1/body-measurements", tag = "body", security(("device" = []), ("bearer" = [])),
    request_body = BodyUpload,
    responses((status = 201, body = UploadOutcome), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn upload(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<BodyUpload>,
) -> Result<(StatusCode, Json<UploadOutcome>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.upload_body_measurements(&caller.0, body.value).await?),
    ))
}

/// `GET /api/v1/body-measurements/unmatched`: measurements waiting for a member (`body.manage`).
#[utoipa::path(get, path = "/api/v1/body-measurements/unmatched", tag = "body", security(("bearer" = [])),
    responses((status = 200, body = Vec<MeasurementView>), (status = 403, body = Problem)))]
pub async fn unmatched(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<Vec<MeasurementView>>, ApiError> {
    Ok(Json(app.unmatched_body_measurements(&caller.0).await?))
}

/// A match.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    /// The member it belongs to.
    pub member_id: String,
}

/// `POST /api/v1/body-measurements/{id}/match`: staff link a waiting measurement to a member (`body.manage`).
#[utoipa::path(post, path = "/api/v1/body-measurements/{id}/match", tag = "body", security(("bearer" = [])),
    params(("id" = String, Path, description = "Measurement id")), request_body = MatchRequest,
    responses((status = 200, body = MeasurementView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn match_measurement(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<MatchRequest>,
) -> Result<Json<MeasurementView>, ApiError> {
    Ok(Json(
        app.match_body_measurement(&caller.0, &id, &body.value.member_id)
            .await?,
    ))
}

/// Report parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `html` (default) or `pdf`.
    pub format: Option<ReportFormat>,
}

/// `GET /api/v1/body-measurements/{id}/report`: the report of one measurement, as a web page or (`?format=pdf`)
/// an A4 PDF. Health data: never cached.
#[utoipa::path(get, path = "/api/v1/body-measurements/{id}/report", tag = "body", security(("bearer" = [])),
    params(("id" = String, Path, description = "Measurement id"), ReportQuery),
    responses((status = 200, description = "The report: `text/html`, or `application/pdf` with `format=pdf`",
        content_type = "text/html"),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn report(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let format = query.format.unwrap_or_default();
    let (mut response, content_type) = match app.body_report(&caller.0, &id, format).await? {
        BodyReport::Html(html) => (html.into_response(), "text/html; charset=utf-8"),
        BodyReport::Pdf(pdf) => (pdf.into_response(), "application/pdf"),
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// `GET /api/v1/members/{id}/body-measurements`: history, trends and goals (staff with `body.read`, audited; the
/// member; their guardian).
#[utoipa::path(get, path = "/api/v1/members/{id}/body-measurements", tag = "body", security(("bearer" = [])),
    params(("id" = String, Path, description = "Member id")),
    responses((status = 200, body = HealthView), (status = 404, body = Problem)))]
pub async fn member_health(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<HealthView>, ApiError> {
    Ok(Json(app.member_health(&caller.0, &id).await?))
}

/// `GET /api/v1/members/{id}/body-scans`: the member's 3D body scans (files of purpose `body_scan`, uploaded
/// through `/api/v1/files`), newest first; staff with `body.read` (audited), the member, their guardian.
#[utoipa::path(get, path = "/api/v1/members/{id}/body-scans", tag = "body", security(("bearer" = [])),
    params(("id" = String, Path, description = "Member id")),
    responses((status = 200, body = Vec<FileView>), (status = 404, body = Problem)))]
pub async fn member_scans(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<FileView>>, ApiError> {
    Ok(Json(app.member_body_scans(&caller.0, &id).await?))
}

/// `PUT /api/v1/members/{id}/body-goals`: a pro sets a goal (`body.manage`).
#[utoipa::path(put, path = "/api/v1/members/{id}/body-goals", tag = "body", security(("bearer" = [])),
    params(("id" = String, Path, description = "Member id")), request_body = Goal,
    responses((status = 200, body = Goal), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_goal(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<Goal>,
) -> Result<Json<Goal>, ApiError> {
    Ok(Json(app.set_body_goal(&caller.0, &id, body.value).await?))
}

/// `GET /api/v1/me/health`: the caller's own measurements, trends and goals.
#[utoipa::path(get, path = "/api/v1/me/health", tag = "body", security(("bearer" = [])),
    responses((status = 200, body = HealthView), (status = 401, body = Problem)))]
pub async fn my_health(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<HealthView>, ApiError> {
    Ok(Json(app.my_health(&caller.0).await?))
}
