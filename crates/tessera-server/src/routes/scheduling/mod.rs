//! Scheduling routes: thin handlers over `tessera_app::scheduling`. Tenant-only (a brand's token on its host).

pub mod appointments;
pub mod classes;
pub mod dashboards;
pub mod places;
pub mod pros;

use axum::http::StatusCode;
use serde::Serialize;
use tessera_app::AppError;

/// A created resource as `(201, json)` for [`crate::idempotent::run`].
pub(crate) fn created<T: Serialize>(value: T) -> Result<(StatusCode, serde_json::Value), AppError> {
    with_status(StatusCode::CREATED, value)
}

/// A resource as `(status, json)` for [`crate::idempotent::run`].
pub(crate) fn with_status<T: Serialize>(
    status: StatusCode,
    value: T,
) -> Result<(StatusCode, serde_json::Value), AppError> {
    let json = serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((status, json))
}
