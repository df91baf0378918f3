//! Files: streaming upload and download, metadata, signed download URLs, deletion. The rules (types, limits,
//! permissions, encryption, audit) live in `tessera_app::storage`; these handlers parse and stream.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::Deserialize;
use tessera_app::storage::{Download, DownloadUrl, FileView, NewUpload, StorageError};
use tessera_app::App;
use tokio::sync::Mutex;

use crate::extract::{ApiJson, ApiQuery, PublicCtx, RealmCaller};
use crate::problem::{ApiError, Problem};

/// Parameters of an upload.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// What the file is for: member_photo, document, identity_document, signed_contract, health_report,
    /// video_recording, personal_data_export, invoice_pdf.
    pub purpose: String,
    /// The account the file belongs to (staff uploading for someone); the caller when absent.
    pub owner: Option<String>,
    /// The file's original name.
    pub filename: Option<String>,
}

/// Asking for a download URL.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadUrlRequest {
    /// Lifetime in seconds (default `storage.signed_url_ttl_secs`, at most `storage.signed_url_max_ttl_secs`).
    pub expires_in_secs: Option<u64>,
}

/// The token of a signed download URL.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    /// The signed token.
    pub token: String,
}

/// `POST /api/v1/files`: upload a file. The body is the file itself, streamed (any length up to the purpose's
/// limit; the server's JSON body limit does not apply); `Content-Type` is the file's type.
#[utoipa::path(post, path = "/api/v1/files", tag = "files", security(("bearer" = [])), params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes, sent with the file's own Content-Type"),
    responses((status = 201, body = FileView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn upload_file(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<FileView>), ApiError> {
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let input = NewUpload {
        purpose: query.purpose,
        owner: query.owner,
        filename: query.filename,
        content_type: header_text(header::CONTENT_TYPE),
        content_length: header_text(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
    };
    let declared = input.content_length;
    let body = body.into_data_stream();
    let prepared = match app.prepare_upload(&caller.0, input).await {
        Ok(prepared) => prepared,
        Err(error) => {
            if declared.is_none_or(|len| len <= DRAIN_LIMIT) {
                drain(body).await;
            }
            return Err(error.into());
        }
    };
    // Shared so that what the service leaves unread of a refused upload (over the limit mid-stream) can still be
    // drained here.
    let shared = Arc::new(Mutex::new(body));
    let stream = futures::stream::unfold(shared.clone(), |body| async move {
        let next = body.lock().await.next().await;
        next.map(|item| (item.map_err(|e| StorageError::Upload(e.to_string())), body))
    })
    // Consumers may ask again after the end; an unfold must not be polled then.
    .fuse()
    .boxed();
    match app.store_upload(&caller.0, prepared, stream).await {
        Ok(file) => Ok((StatusCode::CREATED, Json(file))),
        Err(error) => {
            let mut body = shared.lock().await;
            drain(&mut *body).await;
            Err(error.into())
        }
    }
}

/// Most bytes of a refused upload read and discarded so that the client, still sending, gets to read the answer
/// instead of a reset connection; bigger bodies are cut off (the client then sees the connection close).
const DRAIN_LIMIT: u64 = 32 * 1024 * 1024;
/// Longest time spent discarding a refused upload.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

async fn drain(mut body: impl futures::Stream<Item = Result<Bytes, axum::Error>> + Unpin) {
    let mut read = 0u64;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = body.next().await {
            read += chunk.len() as u64;
            if read > DRAIN_LIMIT {
                break;
            }
        }
    })
    .await;
}

/// `GET /api/v1/files/{id}`: a file's metadata.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses((status = 200, body = FileView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_file(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<FileView>, ApiError> {
    Ok(Json(app.file_metadata(&caller.0, &id).await?))
}

/// `DELETE /api/v1/files/{id}`: delete a file.
#[utoipa::path(delete, path = "/api/v1/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_file(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.delete_file(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/files/{id}/content`: the file's content, streamed (decrypted on the fly for a sensitive file;
/// each such view is audited). A file corrupt from its first chunk is a `file_corrupt` problem; corruption found
/// later aborts the transfer.
#[utoipa::path(get, path = "/api/v1/files/{id}/content", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses((status = 200, description = "The content, with the file's Content-Type", content_type = "application/octet-stream"),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 500, body = Problem)))]
pub async fn file_content(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(stream_response(app.download_file(&caller.0, &id).await?))
}

/// `POST /api/v1/files/{id}/download-url`: a short-lived download URL for a non-sensitive file (a path on this
/// host for the local backend, a presigned URL for S3). Sensitive files get `sensitive_file_no_url`.
#[utoipa::path(post, path = "/api/v1/files/{id}/download-url", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")), request_body = DownloadUrlRequest,
    responses((status = 200, body = DownloadUrl), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn download_url(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<DownloadUrlRequest>,
) -> Result<Json<DownloadUrl>, ApiError> {
    Ok(Json(
        app.file_download_url(&caller.0, &id, body.value.expires_in_secs)
            .await?,
    ))
}

/// `GET /api/v1/files/download?token=...`: the file a signed URL names, without a bearer token, on the brand's
/// host, until the URL expires (`signed_url_expired`, `signed_url_invalid`).
#[utoipa::path(get, path = "/api/v1/files/download", tag = "files", params(DownloadQuery),
    responses((status = 200, description = "The content", content_type = "application/octet-stream"),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn download_signed(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    ApiQuery(query): ApiQuery<DownloadQuery>,
) -> Result<Response, ApiError> {
    Ok(stream_response(
        app.download_signed(&ctx, &query.token).await?,
    ))
}

/// A file name safe inside a quoted `Content-Disposition` parameter.
fn disposition(filename: Option<&str>) -> HeaderValue {
    let name: String = filename
        .unwrap_or("file")
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// A download as a streamed response with its type, length and file name.
pub(crate) fn stream_response(download: Download) -> Response {
    let Download { file, body } = download;
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&file.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size_bytes));
    headers.insert(
        header::CONTENT_DISPOSITION,
        disposition(file.filename.as_deref()),
    );
    response
}
