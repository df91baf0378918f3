//! The one error type of services. The server turns it into `application/problem+json` with the same `code`;
//! the CLI prints its message on one line.
//!
//! Which to use:
//! - [`AppError::Validation`]: the input is well-formed but a field breaks a rule (422); name every bad field.
//! - [`AppError::BadRequest`]: the request itself is unusable (bad cursor, bad header) (400).
//! - [`AppError::Unauthenticated`]: no token, a bad or expired one, wrong credentials (401).
//! - [`AppError::Forbidden`]: a valid caller without the permission (403).
//! - [`AppError::NotFound`]: nothing with that id *in this realm*. Another tenant's id is also `NotFound`, never
//!   `Forbidden`, so that ids do not leak across brands (404).
//! - [`AppError::Conflict`]: the request clashes with the current state (e-mail taken, key in flight) (409).
//! - [`AppError::TooLarge`]: an upload is over its limit (413).
//! - [`AppError::UnsupportedMediaType`]: an upload's content type is not accepted for its use (415).
//! - [`AppError::TooManyRequests`]: throttled (429).
//! - [`AppError::FileCorrupt`]: stored bytes failed their integrity check (500, but with its own code, since it
//!   is not a bug: the storage was damaged or tampered with).
//! - [`AppError::Unavailable`]: a dependency is down or saturated; the client may retry (503).
//! - [`AppError::Internal`]: a bug or an unexpected failure; details are logged, not shown (500).

use tessera_domain::{FieldError, FieldErrors};
use tessera_store::StoreError;

/// A service error. `code()` is stable and documented in `docs/errors.md`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Invalid fields.
    #[error("invalid input: {0}")]
    Validation(FieldErrors),
    /// An unusable request.
    #[error("{detail}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
    /// Not authenticated.
    #[error("{detail}")]
    Unauthenticated {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
    /// Authenticated, not allowed.
    #[error("you are not allowed to do this")]
    Forbidden,
    /// Authenticated, not allowed, with a code of its own (a device on a route made for people).
    #[error("{detail}")]
    Denied {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
    /// Nothing with that id here.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Clashes with the current state.
    #[error("{detail}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
    /// An upload over its limit.
    #[error("{detail}")]
    TooLarge {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
    /// An upload of a type not accepted here.
    #[error("{detail}")]
    UnsupportedMediaType {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        detail: String,
    },
    /// Stored bytes that fail their integrity check.
    #[error("the stored file failed its integrity check")]
    FileCorrupt,
    /// Same idempotency key, different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// Throttled.
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyRequests {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// A dependency is unavailable.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Unexpected failure.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result of services.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::BadRequest { code, .. }
            | AppError::Unauthenticated { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Denied { code, .. }
            | AppError::TooLarge { code, .. }
            | AppError::UnsupportedMediaType { code, .. } => code,
            AppError::FileCorrupt => "file_corrupt",
            AppError::Forbidden => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::IdempotencyKeyReused => "idempotency_key_reused",
            AppError::TooManyRequests { .. } => "too_many_attempts",
            AppError::Unavailable(_) => "service_unavailable",
            AppError::Internal(_) => "internal_error",
        }
    }

    /// The HTTP status that goes with it.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Validation(_) | AppError::IdempotencyKeyReused => 422,
            AppError::BadRequest { .. } => 400,
            AppError::Unauthenticated { .. } => 401,
            AppError::Forbidden | AppError::Denied { .. } => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict { .. } => 409,
            AppError::TooLarge { .. } => 413,
            AppError::UnsupportedMediaType { .. } => 415,
            AppError::FileCorrupt => 500,
            AppError::TooManyRequests { .. } => 429,
            AppError::Unavailable(_) => 503,
            AppError::Internal(_) => 500,
        }
    }

    /// A validation error on one field.
    pub fn invalid(field: &str, error: FieldError) -> AppError {
        AppError::Validation(FieldErrors::from(error.under(field)))
    }

    /// 401 with the generic "invalid token" code.
    pub fn invalid_token(detail: impl Into<String>) -> AppError {
        AppError::Unauthenticated {
            code: "invalid_token",
            detail: detail.into(),
        }
    }
}

impl From<FieldErrors> for AppError {
    fn from(errors: FieldErrors) -> Self {
        AppError::Validation(errors)
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Pool(e) => AppError::Unavailable(format!("database: {e}")),
            other => AppError::Internal(other.to_string()),
        }
    }
}
