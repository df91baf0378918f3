//! Door access: checks, the signed allowlist, offline uploads, overrides, the log, occupancy, and members'
//! credentials with their card images. The rules live in `tessera_app::access`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use tessera_app::access::batch::{BatchOutcome, OfflineBatch};
use tessera_app::access::credentials::{
    CredentialView, ImageFormat, IssueCredential, RegisterAppKey, Symbology,
};
use tessera_app::access::occupancy::{DayPeaks, Occupancy};
use tessera_app::access::{AccessEventView, CheckRequest, CheckResult};
use tessera_app::pagination::{Page, PageRequest};
use tessera_app::{App, AppError};

use crate::extract::{ApiJson, ApiQuery, RealmCaller};
use crate::problem::{ApiError, Problem};

/// `POST /api/v1/access/check`: a paired door asks about a credential it read.
#[utoipa::path(post, path = "/api/v1/access/check", tag = "access", security(("device" = [])),
    request_body = CheckRequest,
    responses((status = 200, body = CheckResult), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn check(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<CheckRequest>,
) -> Result<Json<CheckResult>, ApiError> {
    Ok(Json(app.check_access(&caller.0, body.value).await?))
}

/// Allowlist parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AllowlistQuery {
    /// The version the door holds: the answer is the changes since, or a full snapshot when that version can no
    /// longer be brought up to date (`since` is then absent from the body).
    pub since: Option<i64>,
}

/// `GET /api/v1/access/allowlist`: the door's signed allowlist. The body is JSON (`tessera-allowlist/1`, see
/// docs/devices.md); `Tessera-Signature` is the Ed25519 signature of `tessera-allowlist/1\n` + the body
/// (base64url), `Tessera-Key-Id` the key's id in `/.well-known/jwks.json`.
#[utoipa::path(get, path = "/api/v1/access/allowlist", tag = "access", security(("device" = [])),
    params(AllowlistQuery),
    responses((status = 200, description = "The signed allowlist", content_type = "application/json"),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn allowlist(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<AllowlistQuery>,
) -> Result<Response, ApiError> {
    let signed = app.door_allowlist(&caller.0, query.since).await?;
    let header_value = |v: &str| {
        HeaderValue::from_str(v).map_err(|e| ApiError::from(AppError::Internal(e.to_string())))
    };
    let mut response = Response::new(Body::from(signed.body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("tessera-signature", header_value(&signed.signature)?);
    headers.insert("tessera-key-id", header_value(&signed.kid)?);
    headers.insert(
        "tessera-allowlist-version",
        header_value(&signed.version.to_string())?,
    );
    Ok(response)
}

/// `POST /api/v1/access/checkins/batch`: a door uploads what it decided offline; idempotent by entry id.
#[utoipa::path(post, path = "/api/v1/access/checkins/batch", tag = "access", security(("device" = [])),
    request_body = OfflineBatch,
    responses((status = 200, body = BatchOutcome), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn upload_batch(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<OfflineBatch>,
) -> Result<Json<BatchOutcome>, ApiError> {
    Ok(Json(app.upload_offline_batch(&caller.0, body.value).await?))
}

/// An override.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    /// The refused decision.
    pub event_id: String,
    /// Why the member is let in anyway.
    pub reason: String,
}

/// `POST /api/v1/access/overrides`: staff let in a member a door refused (`access.manage`), audited.
#[utoipa::path(post, path = "/api/v1/access/overrides", tag = "access", security(("bearer" = [])),
    request_body = OverrideRequest,
    responses((status = 201, body = AccessEventView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn override_refusal(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<OverrideRequest>,
) -> Result<(StatusCode, Json<AccessEventView>), ApiError> {
    let request = body.value;
    Ok((
        StatusCode::CREATED,
        Json(
            app.override_refusal(&caller.0, &request.event_id, &request.reason)
                .await?,
        ),
    ))
}

/// Log filters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// One member's.
    pub member_id: Option<String>,
    /// One location's.
    pub location_id: Option<String>,
    /// Only flagged (or unflagged) ones.
    pub flagged: Option<bool>,
    /// Rows per page, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `GET /api/v1/access/events`: door decisions, newest first (`access.read`).
#[utoipa::path(get, path = "/api/v1/access/events", tag = "access", security(("bearer" = [])),
    params(EventsQuery),
    responses((status = 200, body = Page<AccessEventView>), (status = 403, body = Problem)))]
pub async fn list_events(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<Page<AccessEventView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    Ok(Json(
        app.list_access_events(
            &caller.0,
            query.member_id,
            query.location_id,
            query.flagged,
            page,
        )
        .await?,
    ))
}

/// Occupancy parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OccupancyQuery {
    /// The location.
    pub location_id: String,
}

/// `GET /api/v1/access/occupancy`: who is inside a location now (`access.read`).
#[utoipa::path(get, path = "/api/v1/access/occupancy", tag = "access", security(("bearer" = [])),
    params(OccupancyQuery),
    responses((status = 200, body = Occupancy), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn occupancy(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<OccupancyQuery>,
) -> Result<Json<Occupancy>, ApiError> {
    Ok(Json(app.occupancy(&caller.0, &query.location_id).await?))
}

/// Peak parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeaksQuery {
    /// The location.
    pub location_id: String,
    /// The local day (`YYYY-MM-DD`).
    #[param(value_type = String, format = Date)]
    pub date: NaiveDate,
}

/// `GET /api/v1/access/occupancy/peaks`: entries and peaks per local hour of a day (`access.read`).
#[utoipa::path(get, path = "/api/v1/access/occupancy/peaks", tag = "access", security(("bearer" = [])),
    params(PeaksQuery),
    responses((status = 200, body = DayPeaks), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn occupancy_peaks(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<PeaksQuery>,
) -> Result<Json<DayPeaks>, ApiError> {
    Ok(Json(
        app.occupancy_peaks(&caller.0, &query.location_id, query.date)
            .await?,
    ))
}

/// `GET /api/v1/members/{id}/credentials`: staff (`access.read`), the member or their guardian.
#[utoipa::path(get, path = "/api/v1/members/{id}/credentials", tag = "access", security(("bearer" = [])),
    params(("id" = String, Path, description = "Member id")),
    responses((status = 200, body = Vec<CredentialView>), (status = 404, body = Problem)))]
pub async fn member_credentials(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<CredentialView>>, ApiError> {
    Ok(Json(app.member_credentials(&caller.0, &id).await?))
}

/// `POST /api/v1/members/{id}/credentials`: issue a card or an NFC tag (`access.manage`).
#[utoipa::path(post, path = "/api/v1/members/{id}/credentials", tag = "access", security(("bearer" = [])),
    params(("id" = String, Path, description = "Member id")), request_body = IssueCredential,
    responses((status = 201, body = CredentialView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn issue_credential(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<IssueCredential>,
) -> Result<(StatusCode, Json<CredentialView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.issue_credential(&caller.0, &id, body.value).await?),
    ))
}

/// `POST /api/v1/credentials/{id}/replace`: a lost card or tag (`access.manage`).
#[utoipa::path(post, path = "/api/v1/credentials/{id}/replace", tag = "access", security(("bearer" = [])),
    params(("id" = String, Path, description = "Credential id")), request_body = IssueCredential,
    responses((status = 201, body = CredentialView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn replace_credential(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<IssueCredential>,
) -> Result<(StatusCode, Json<CredentialView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.replace_credential(&caller.0, &id, body.value).await?),
    ))
}

/// A revocation.
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// Why.
    pub reason: Option<String>,
}

/// `POST /api/v1/credentials/{id}/revoke`: staff (`access.manage`), or a member for their own app key.
#[utoipa::path(post, path = "/api/v1/credentials/{id}/revoke", tag = "access", security(("bearer" = [])),
    params(("id" = String, Path, description = "Credential id")), request_body = RevokeRequest,
    responses((status = 200, body = CredentialView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn revoke_credential(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<RevokeRequest>,
) -> Result<Json<CredentialView>, ApiError> {
    Ok(Json(
        app.revoke_credential(&caller.0, &id, body.value.reason)
            .await?,
    ))
}

/// Image parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// `code128` (default) or `qr`.
    pub symbology: Option<Symbology>,
    /// `png` (default) or `svg`.
    pub format: Option<ImageFormat>,
}

/// `GET /api/v1/credentials/{id}/image`: a card's barcode or QR code.
#[utoipa::path(get, path = "/api/v1/credentials/{id}/image", tag = "access", security(("bearer" = [])),
    params(("id" = String, Path, description = "Credential id"), ImageQuery),
    responses((status = 200, description = "PNG or SVG", content_type = "image/png"),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn credential_image(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ImageQuery>,
) -> Result<Response, ApiError> {
    let (mime, bytes) = app
        .credential_image(
            &caller.0,
            &id,
            query.symbology.unwrap_or(Symbology::Code128),
            query.format.unwrap_or(ImageFormat::Png),
        )
        .await?;
    let mut response = Response::new(Body::from(bytes));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// `GET /api/v1/me/credentials`: the caller's own credentials.
#[utoipa::path(get, path = "/api/v1/me/credentials", tag = "access", security(("bearer" = [])),
    responses((status = 200, body = Vec<CredentialView>), (status = 401, body = Problem)))]
pub async fn my_credentials(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<Vec<CredentialView>>, ApiError> {
    Ok(Json(app.my_credentials(&caller.0).await?))
}

/// `POST /api/v1/me/app-keys`: the member's app registers the public key of its rotating QR codes.
#[utoipa::path(post, path = "/api/v1/me/app-keys", tag = "access", security(("bearer" = [])),
    request_body = RegisterAppKey,
    responses((status = 201, body = CredentialView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn register_app_key(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<RegisterAppKey>,
) -> Result<(StatusCode, Json<CredentialView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.register_app_key(&caller.0, body.value).await?),
    ))
}
