//! `application/problem+json` (RFC 9457) responses. Every error the API returns has this shape, with a stable
//! `code` (listed in `docs/errors.md`) and, for invalid input, one entry per bad field in `errors`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_app::AppError;

/// A problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:tessera:error:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Stable machine-readable code.
    pub code: String,
    /// What went wrong this time.
    pub detail: String,
    /// Invalid fields, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// One invalid field.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    /// Dotted path of the field (`roles[1]`, `legal.siren`).
    pub field: String,
    /// Stable code (`required`, `too_long`, `unknown_field`...).
    pub code: String,
    /// Explanation.
    pub message: String,
}

impl Problem {
    /// A problem without field errors.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            type_: format!("urn:tessera:error:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            code: code.to_owned(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// One field error as a 422 `validation_failed`.
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Problem {
        let message = message.into();
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("{field}: {message}"),
        );
        problem.errors.push(ProblemField {
            field: field.to_owned(),
            code: code.to_owned(),
            message,
        });
        problem
    }

    /// The problem's JSON body.
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// A service error on its way out.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        ApiError(error)
    }
}

/// The problem document for a service error. Internal details are logged, never shown.
pub fn problem_for(error: &AppError) -> Problem {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let detail = match error {
        AppError::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            "an unexpected error occurred; it has been logged".to_owned()
        }
        AppError::Unavailable(detail) => {
            tracing::warn!(%detail, "dependency unavailable");
            "the service is temporarily unavailable; retry shortly".to_owned()
        }
        AppError::Unauthenticated { detail, code } => {
            tracing::debug!(%detail, code, "unauthenticated");
            match *code {
                "invalid_token" => "the access token is missing, invalid or expired".to_owned(),
                _ => detail.clone(),
            }
        }
        other => other.to_string(),
    };
    let mut problem = Problem::new(status, error.code(), detail);
    if let AppError::Validation(fields) = error {
        problem.errors = fields
            .0
            .iter()
            .map(|f| ProblemField {
                field: f.field.clone(),
                code: f.code.to_owned(),
                message: f.message.clone(),
            })
            .collect();
    }
    problem
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = problem_for(&self.0).into_response();
        match &self.0 {
            AppError::TooManyRequests { retry_after_secs } => {
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            AppError::Unauthenticated { .. } => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// Unknown routes.
pub async fn not_found_fallback() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// Known routes with another method.
pub async fn method_not_allowed_fallback() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept this method",
    )
}
