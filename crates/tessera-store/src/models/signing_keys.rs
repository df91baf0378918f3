//! Token-signing keys: group-level, read by the app role, rotated in the system context.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::signing_keys;
use crate::{DbConnection, StoreResult, System};

/// A stored signing key.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    /// The `kid`.
    pub id: String,
    /// `EdDSA`.
    pub algorithm: String,
    /// PKCS#8 DER of the private key, base64.
    pub private_key: String,
    /// Raw public key, base64url (the JWK `x`).
    pub public_key: String,
    /// `next`, `current` or `retired`.
    pub status: String,
    /// Generated.
    pub created_at: NaiveDateTime,
    /// Became current.
    pub activated_at: Option<NaiveDateTime>,
    /// Stopped signing.
    pub retired_at: Option<NaiveDateTime>,
}

/// Every key, oldest first.
pub fn list(conn: &mut DbConnection) -> StoreResult<Vec<SigningKeyRow>> {
    Ok(signing_keys::table
        .order(signing_keys::created_at.asc())
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// Every key, locked, for a rotation.
pub fn list_locked(sys: &mut System<'_>) -> StoreResult<Vec<SigningKeyRow>> {
    Ok(crate::load_locked!(
        sys.conn(),
        signing_keys::table
            .order(signing_keys::created_at.asc())
            .select(SigningKeyRow::as_select()),
        SigningKeyRow
    )?)
}

/// Stores a new key.
pub fn insert(sys: &mut System<'_>, row: &SigningKeyRow) -> StoreResult<()> {
    diesel::insert_into(signing_keys::table)
        .values(row)
        .execute(sys.conn())?;
    Ok(())
}

/// Sets a key's status and the matching timestamp.
pub fn set_status(
    sys: &mut System<'_>,
    id: &str,
    status: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let target = signing_keys::table.filter(signing_keys::id.eq(id));
    let conn = sys.conn();
    match status {
        "current" => diesel::update(target)
            .set((
                signing_keys::status.eq(status),
                signing_keys::activated_at.eq(now),
            ))
            .execute(conn)?,
        "retired" => diesel::update(target)
            .set((
                signing_keys::status.eq(status),
                signing_keys::retired_at.eq(now),
            ))
            .execute(conn)?,
        _ => diesel::update(target)
            .set(signing_keys::status.eq(status))
            .execute(conn)?,
    };
    Ok(())
}

/// Deletes retired keys retired before `before` (no token they signed can still be valid).
pub fn delete_retired_before(sys: &mut System<'_>, before: NaiveDateTime) -> StoreResult<usize> {
    Ok(diesel::delete(
        signing_keys::table
            .filter(signing_keys::status.eq("retired"))
            .filter(signing_keys::retired_at.lt(before)),
    )
    .execute(sys.conn())?)
}
