//! Refresh tokens (realm-keyed: tenant id or `group`) and single-use account tokens (invitations, later password
//! resets and address verification). Only hashes are stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{account_tokens, refresh_tokens};
use crate::{Scoped, StoreResult};

/// A stored refresh token.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    /// Realm key.
    pub tenant_id: String,
    /// `rtk_...`.
    pub id: String,
    /// The family: every token rotated from the same login.
    pub family_id: String,
    /// Account or operator id.
    pub subject_id: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// `active`, `used` (rotated) or `revoked`.
    pub status: String,
    /// Expiry.
    pub expires_at: NaiveDateTime,
    /// Issued.
    pub created_at: NaiveDateTime,
    /// When it was rotated.
    pub used_at: Option<NaiveDateTime>,
}

/// Stores a new refresh token.
pub fn insert_refresh(s: &mut Scoped<'_>, row: &RefreshTokenRow) -> StoreResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// The refresh token with this hash, locked for the rest of the transaction so that two concurrent uses of the
/// same token are decided one after the other.
pub fn find_refresh_locked(
    s: &mut Scoped<'_>,
    token_hash: &str,
) -> StoreResult<Option<RefreshTokenRow>> {
    let (tenant, conn) = s.parts();
    let rows = crate::load_locked!(
        conn,
        refresh_tokens::table
            .filter(refresh_tokens::tenant_id.eq(tenant))
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .select(RefreshTokenRow::as_select()),
        RefreshTokenRow
    )?;
    Ok(rows.into_iter().next())
}

/// Marks one refresh token as rotated.
pub fn mark_refresh_used(s: &mut Scoped<'_>, id: &str, now: NaiveDateTime) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::tenant_id.eq(tenant))
            .filter(refresh_tokens::id.eq(id)),
    )
    .set((
        refresh_tokens::status.eq("used"),
        refresh_tokens::used_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Revokes every still-usable token of a family; returns how many.
pub fn revoke_family(s: &mut Scoped<'_>, family_id: &str) -> StoreResult<usize> {
    let (tenant, conn) = s.parts();
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::tenant_id.eq(tenant))
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::status.eq("active")),
    )
    .set(refresh_tokens::status.eq("revoked"))
    .execute(conn)?)
}

/// Revokes every still-usable token of a subject (deactivation, password reset); returns how many.
pub fn revoke_subject(s: &mut Scoped<'_>, subject_id: &str) -> StoreResult<usize> {
    let (tenant, conn) = s.parts();
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::tenant_id.eq(tenant))
            .filter(refresh_tokens::subject_id.eq(subject_id))
            .filter(refresh_tokens::status.eq("active")),
    )
    .set(refresh_tokens::status.eq("revoked"))
    .execute(conn)?)
}

/// A stored single-use account token.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = account_tokens)]
pub struct AccountTokenRow {
    /// Tenant.
    pub tenant_id: String,
    /// `atk_...`.
    pub id: String,
    /// The account it acts on.
    pub account_id: String,
    /// `invite` (later `password_reset`, `verify_email`).
    pub purpose: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Expiry.
    pub expires_at: NaiveDateTime,
    /// When it was used; a used token never works again.
    pub used_at: Option<NaiveDateTime>,
    /// Issued.
    pub created_at: NaiveDateTime,
}

/// Stores a new account token.
pub fn insert_account_token(s: &mut Scoped<'_>, row: &AccountTokenRow) -> StoreResult<()> {
    diesel::insert_into(account_tokens::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// The account token with this hash and purpose, locked for the rest of the transaction.
pub fn find_account_token_locked(
    s: &mut Scoped<'_>,
    purpose: &str,
    token_hash: &str,
) -> StoreResult<Option<AccountTokenRow>> {
    let (tenant, conn) = s.parts();
    let rows = crate::load_locked!(
        conn,
        account_tokens::table
            .filter(account_tokens::tenant_id.eq(tenant))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::token_hash.eq(token_hash))
            .select(AccountTokenRow::as_select()),
        AccountTokenRow
    )?;
    Ok(rows.into_iter().next())
}

/// Marks an account token used.
pub fn mark_account_token_used(
    s: &mut Scoped<'_>,
    id: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        account_tokens::table
            .filter(account_tokens::tenant_id.eq(tenant))
            .filter(account_tokens::id.eq(id)),
    )
    .set(account_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(())
}
