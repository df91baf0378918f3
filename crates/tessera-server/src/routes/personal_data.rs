//! Personal data: one's own export, and an admin's export and erasure of an account (data-protection
//! requests). Group-capable for the admin routes: operators may answer a request from the brand's host.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::Deserialize;
use tessera_app::personal_data::{ErasureReport, Export};
use tessera_app::{App, AppError};

use crate::extract::{ApiJson, GroupCapableCaller, RealmCaller};
use crate::problem::{ApiError, Problem};

/// Streams the export's zip from its temporary file, which is deleted once the response is done.
async fn zip_response(export: Export) -> Result<Response, ApiError> {
    let disposition = format!("attachment; filename=\"{}\"", export.filename);
    let file = tokio::fs::File::open(&export.path)
        .await
        .map_err(|e| AppError::Internal(format!("export: {e}")))?;
    let length = file
        .metadata()
        .await
        .map_err(|e| AppError::Internal(format!("export: {e}")))?
        .len();
    let path = export.path;
    let stream = tokio_util::io::ReaderStream::new(file).map(move |chunk| {
        // Holding the path keeps the temporary file until the last chunk is read.
        let _keep = &path;
        chunk
    });
    let mut response = axum::body::Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

/// `GET /api/v1/me/export`: everything the brand holds about the caller, as a zip (`personal-data.json`).
#[utoipa::path(get, path = "/api/v1/me/export", tag = "personal data", security(("bearer" = [])),
    responses((status = 200, description = "A zip file", content_type = "application/zip"),
        (status = 401, body = Problem)))]
pub async fn export_mine(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Response, ApiError> {
    zip_response(app.export_my_data(&caller.0).await?).await
}

/// `GET /api/v1/accounts/{id}/export`: everything the brand holds about an account, as a zip.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/export", tag = "personal data", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, description = "A zip file", content_type = "application/zip"),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn export_account(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    zip_response(app.export_account_data(&caller.0, &id).await?).await
}

/// An erasure request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// Why (the data subject's request, its date and channel...), kept in the audit log.
    pub reason: String,
}

/// `POST /api/v1/accounts/{id}/erasure`: erase an account's personal data; the answer says what was deleted,
/// anonymised and kept, and why.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/erasure", tag = "personal data", security(("bearer" = [])),
    request_body = ErasureRequest, params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = ErasureReport), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn erase_account(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path(id): Path<String>,
    body: ApiJson<ErasureRequest>,
) -> Result<Json<ErasureReport>, ApiError> {
    Ok(Json(
        app.erase_account(&caller.0, &id, &body.value.reason)
            .await?,
    ))
}
