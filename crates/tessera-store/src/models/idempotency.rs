//! The `Idempotency-Key` store: one row per (realm, actor, key), first `in_flight`, then `completed` with the
//! response to replay.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::idempotency_keys;
use crate::{Scoped, StoreResult};

/// A stored idempotency record.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRow {
    /// Realm key.
    pub tenant_id: String,
    /// Who sent the request.
    pub actor_id: String,
    /// The client's key.
    pub idempotency_key: String,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// SHA-256 of method, path and body.
    pub request_sha256: String,
    /// `in_flight` or `completed`.
    pub status: String,
    /// Stored response status.
    pub response_status: Option<i32>,
    /// Stored response body.
    pub response_body: Option<String>,
    /// First seen.
    pub created_at: NaiveDateTime,
    /// Forgotten after.
    pub expires_at: NaiveDateTime,
}

/// Inserts an `in_flight` record unless one exists for the same key; true when this call inserted it.
pub fn try_begin(s: &mut Scoped<'_>, row: &IdempotencyRow) -> StoreResult<bool> {
    let inserted = crate::on_backend!(s.conn(), |c| diesel::insert_into(idempotency_keys::table)
        .values(row)
        .on_conflict((
            idempotency_keys::tenant_id,
            idempotency_keys::actor_id,
            idempotency_keys::idempotency_key
        ))
        .do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// The record for a key.
pub fn find(s: &mut Scoped<'_>, actor_id: &str, key: &str) -> StoreResult<Option<IdempotencyRow>> {
    let (tenant, conn) = s.parts();
    Ok(idempotency_keys::table
        .filter(idempotency_keys::tenant_id.eq(tenant))
        .filter(idempotency_keys::actor_id.eq(actor_id))
        .filter(idempotency_keys::idempotency_key.eq(key))
        .select(IdempotencyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores the response of a finished request.
pub fn complete(
    s: &mut Scoped<'_>,
    actor_id: &str,
    key: &str,
    status: i32,
    body: &str,
) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        idempotency_keys::table
            .filter(idempotency_keys::tenant_id.eq(tenant))
            .filter(idempotency_keys::actor_id.eq(actor_id))
            .filter(idempotency_keys::idempotency_key.eq(key)),
    )
    .set((
        idempotency_keys::status.eq("completed"),
        idempotency_keys::response_status.eq(status),
        idempotency_keys::response_body.eq(body),
    ))
    .execute(conn)?;
    Ok(())
}

/// Forgets a key (the request failed before it changed anything, so a retry may run it again).
pub fn release(s: &mut Scoped<'_>, actor_id: &str, key: &str) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::tenant_id.eq(tenant))
            .filter(idempotency_keys::actor_id.eq(actor_id))
            .filter(idempotency_keys::idempotency_key.eq(key)),
    )
    .execute(conn)?;
    Ok(())
}
