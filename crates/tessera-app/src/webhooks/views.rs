//! What the webhook API shows: endpoints (never their secret, except once on creation or rotation) and
//! deliveries with their attempts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_store::models::webhooks::{AttemptRow, DeliveryRow, EndpointRow};

/// An endpoint as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    /// `whe_...`.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The brand's note.
    pub description: Option<String>,
    /// Event types it receives (`*`: all).
    pub event_types: Vec<String>,
    /// Receives deliveries.
    pub enabled: bool,
    /// Registered.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl EndpointView {
    pub(super) fn of(row: &EndpointRow) -> EndpointView {
        EndpointView {
            id: row.id.clone(),
            url: row.url.clone(),
            description: row.description.clone(),
            event_types: serde_json::from_str(&row.event_types_json).unwrap_or_default(),
            enabled: row.enabled,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

/// A new endpoint, or one whose secret was rotated: the secret is shown this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EndpointWithSecret {
    /// The endpoint.
    pub endpoint: EndpointView,
    /// The signing secret (`whsec_...`): the HMAC key of `Tessera-Signature`.
    pub secret: String,
}

/// A delivery with its attempts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// `whd_...`.
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// HTTP status of the last attempt.
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Accepted by the receiver.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Every attempt, first first.
    pub attempt_log: Vec<AttemptView>,
}

/// One attempt.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    /// 1, 2, ...
    pub attempt: i32,
    /// Sent.
    pub started_at: DateTime<Utc>,
    /// Until the answer.
    pub duration_ms: i32,
    /// The receiver's HTTP status.
    pub status_code: Option<i32>,
    /// Why it failed.
    pub error: Option<String>,
}

pub(super) fn delivery_view(row: DeliveryRow, attempts: &[AttemptRow]) -> DeliveryView {
    DeliveryView {
        attempt_log: attempts
            .iter()
            .filter(|a| a.delivery_id == row.id)
            .map(|a| AttemptView {
                attempt: a.attempt,
                started_at: a.started_at.and_utc(),
                duration_ms: a.duration_ms,
                status_code: a.status_code,
                error: a.error.clone(),
            })
            .collect(),
        id: row.id,
        endpoint_id: row.endpoint_id,
        event_id: row.event_id,
        event_type: row.event_type,
        status: row.status,
        attempts: row.attempts,
        last_status_code: row.last_status_code,
        last_error: row.last_error,
        next_attempt_at: row.next_attempt_at.map(|t| t.and_utc()),
        created_at: row.created_at.and_utc(),
        delivered_at: row.delivered_at.map(|t| t.and_utc()),
    }
}
