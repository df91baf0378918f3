//! Outgoing webhooks: a brand's endpoints, the deliveries of events to them, and each delivery's attempts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{webhook_attempts, webhook_deliveries, webhook_endpoints};
use crate::{Scoped, StoreResult};

/// A registered endpoint.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointRow {
    /// Realm key.
    pub tenant_id: String,
    /// `whe_...`.
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The brand's note.
    pub description: Option<String>,
    /// Event types it receives, a JSON array (`*` for all).
    pub event_types_json: String,
    /// The signing secret, sealed with the master key.
    pub secret_sealed: String,
    /// Receives deliveries.
    pub enabled: bool,
    /// Registered.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
    /// Deleted (kept for its deliveries' history).
    pub deleted_at: Option<NaiveDateTime>,
}

/// One event sent (or to be sent) to one endpoint.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    /// Realm key.
    pub tenant_id: String,
    /// `whd_...`.
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// `pending`, `succeeded` or `failed` (for good).
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// HTTP status of the last attempt.
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due.
    pub next_attempt_at: Option<NaiveDateTime>,
    /// Queued.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
    /// Accepted by the receiver.
    pub delivered_at: Option<NaiveDateTime>,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    /// Realm key.
    pub tenant_id: String,
    /// The delivery.
    pub delivery_id: String,
    /// 1, 2, ...
    pub attempt: i32,
    /// Sent.
    pub started_at: NaiveDateTime,
    /// Until the answer (or the failure).
    pub duration_ms: i32,
    /// The receiver's HTTP status.
    pub status_code: Option<i32>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Registers an endpoint.
pub fn insert_endpoint(s: &mut Scoped<'_>, row: &EndpointRow) -> StoreResult<()> {
    diesel::insert_into(webhook_endpoints::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// The realm's endpoints (not deleted), by id, after `after`.
pub fn list_endpoints(
    s: &mut Scoped<'_>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<EndpointRow>> {
    let (realm, conn) = s.parts();
    let mut query = webhook_endpoints::table
        .filter(webhook_endpoints::tenant_id.eq(realm.to_owned()))
        .filter(webhook_endpoints::deleted_at.is_null())
        .order(webhook_endpoints::id.asc())
        .limit(limit)
        .select(EndpointRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(webhook_endpoints::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// The realm's enabled endpoints, for fanning an event out.
pub fn enabled_endpoints(s: &mut Scoped<'_>) -> StoreResult<Vec<EndpointRow>> {
    let (realm, conn) = s.parts();
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::tenant_id.eq(realm))
        .filter(webhook_endpoints::deleted_at.is_null())
        .filter(webhook_endpoints::enabled.eq(true))
        .select(EndpointRow::as_select())
        .load(conn)?)
}

/// One endpoint of the realm (deleted ones too, for their deliveries).
pub fn find_endpoint(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<EndpointRow>> {
    let (realm, conn) = s.parts();
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::tenant_id.eq(realm))
        .filter(webhook_endpoints::id.eq(id))
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()?)
}

/// Saves an endpoint's changeable fields.
pub fn update_endpoint(s: &mut Scoped<'_>, row: &EndpointRow) -> StoreResult<()> {
    let (realm, conn) = s.parts();
    diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::tenant_id.eq(realm))
            .filter(webhook_endpoints::id.eq(&row.id)),
    )
    .set((
        webhook_endpoints::url.eq(&row.url),
        webhook_endpoints::description.eq(&row.description),
        webhook_endpoints::event_types_json.eq(&row.event_types_json),
        webhook_endpoints::secret_sealed.eq(&row.secret_sealed),
        webhook_endpoints::enabled.eq(row.enabled),
        webhook_endpoints::updated_at.eq(row.updated_at),
        webhook_endpoints::deleted_at.eq(row.deleted_at),
    ))
    .execute(conn)?;
    Ok(())
}

/// Queues a delivery.
pub fn insert_delivery(s: &mut Scoped<'_>, row: &DeliveryRow) -> StoreResult<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// One delivery of the realm.
pub fn find_delivery(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<DeliveryRow>> {
    let (realm, conn) = s.parts();
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(realm))
        .filter(webhook_deliveries::id.eq(id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?)
}

/// An endpoint's deliveries, newest first, before `before`.
pub fn list_deliveries(
    s: &mut Scoped<'_>,
    endpoint_id: &str,
    before: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<DeliveryRow>> {
    let (realm, conn) = s.parts();
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(realm.to_owned()))
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id.to_owned()))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(DeliveryRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Saves a delivery's state.
pub fn update_delivery(s: &mut Scoped<'_>, row: &DeliveryRow) -> StoreResult<()> {
    let (realm, conn) = s.parts();
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::tenant_id.eq(realm))
            .filter(webhook_deliveries::id.eq(&row.id)),
    )
    .set((
        webhook_deliveries::status.eq(&row.status),
        webhook_deliveries::attempts.eq(row.attempts),
        webhook_deliveries::last_status_code.eq(row.last_status_code),
        webhook_deliveries::last_error.eq(&row.last_error),
        webhook_deliveries::next_attempt_at.eq(row.next_attempt_at),
        webhook_deliveries::updated_at.eq(row.updated_at),
        webhook_deliveries::delivered_at.eq(row.delivered_at),
    ))
    .execute(conn)?;
    Ok(())
}

/// Records an attempt.
pub fn insert_attempt(s: &mut Scoped<'_>, row: &AttemptRow) -> StoreResult<()> {
    diesel::insert_into(webhook_attempts::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// The attempts of some deliveries, oldest first.
pub fn attempts_of(s: &mut Scoped<'_>, delivery_ids: &[String]) -> StoreResult<Vec<AttemptRow>> {
    let (realm, conn) = s.parts();
    Ok(webhook_attempts::table
        .filter(webhook_attempts::tenant_id.eq(realm))
        .filter(webhook_attempts::delivery_id.eq_any(delivery_ids))
        .order((
            webhook_attempts::delivery_id.asc(),
            webhook_attempts::attempt.asc(),
        ))
        .select(AttemptRow::as_select())
        .load(conn)?)
}
