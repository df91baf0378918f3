//! Runs a handler's work under an `Idempotency-Key` (when the client sent one): replays a stored response,
//! refuses a reused or in-flight key, or runs the work and stores its response.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_app::idempotency::{Begin, KeyedRequest};
use tessera_app::{App, AppError, Ctx};

use crate::problem::{problem_for, ApiError};

/// Runs `work` at most once per key. `work` returns the status and JSON body of a success.
pub async fn run<F, Fut>(
    app: &App,
    ctx: &Ctx,
    key: Option<String>,
    method: &str,
    path: &str,
    raw_body: &[u8],
    work: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(StatusCode, serde_json::Value), AppError>>,
{
    let Some(key) = key else {
        return respond(work().await);
    };
    let actor = ctx
        .actor
        .as_ref()
        .map(|a| a.subject_id.clone())
        .unwrap_or_default();
    let request = match KeyedRequest::new(&key, &actor, method, path, raw_body) {
        Ok(request) => request,
        Err(error) => return ApiError(error).into_response(),
    };
    match app.idempotency_begin(ctx, &request).await {
        Err(error) => ApiError(error).into_response(),
        Ok(Begin::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let content_type = if status.is_success() {
                "application/json"
            } else {
                "application/problem+json"
            };
            let mut response = (status, body).into_response();
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static(content_type));
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
        Ok(Begin::Proceed) => {
            let outcome = work().await;
            let (status, body) = match &outcome {
                Ok((status, body)) => (*status, body.to_string()),
                Err(error) => {
                    let problem = problem_for(error);
                    (
                        StatusCode::from_u16(problem.status)
                            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                        problem.body(),
                    )
                }
            };
            if let Err(error) = app
                .idempotency_finish(ctx, &request, status.as_u16(), body)
                .await
            {
                tracing::error!(%error, "could not store the idempotent response");
            }
            respond(outcome)
        }
    }
}

fn respond(outcome: Result<(StatusCode, serde_json::Value), AppError>) -> Response {
    match outcome {
        Ok((status, body)) => (status, axum::Json(body)).into_response(),
        Err(error) => ApiError(error).into_response(),
    }
}
