//! Private calendar feeds: one secret URL per account, stored as a hash; re-issuing replaces it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::calendar_feeds;
use crate::{Scoped, StoreResult};

/// An account's feed.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = calendar_feeds)]
pub struct FeedRow {
    /// Tenant.
    pub tenant_id: String,
    /// The account.
    pub account_id: String,
    /// SHA-256 of the secret token, hex.
    pub token_hash: String,
    /// Issued.
    pub created_at: NaiveDateTime,
}

/// Stores the account's feed, replacing (so revoking) the previous one.
pub fn replace(s: &mut Scoped<'_>, row: &FeedRow) -> StoreResult<()> {
    crate::on_backend!(s.conn(), |c| diesel::insert_into(calendar_feeds::table)
        .values(row)
        .on_conflict((calendar_feeds::tenant_id, calendar_feeds::account_id))
        .do_update()
        .set((
            calendar_feeds::token_hash.eq(&row.token_hash),
            calendar_feeds::created_at.eq(row.created_at),
        ))
        .execute(c))?;
    Ok(())
}

/// The feed with this token hash.
pub fn find_by_hash(s: &mut Scoped<'_>, token_hash: &str) -> StoreResult<Option<FeedRow>> {
    let (tenant, conn) = s.parts();
    Ok(calendar_feeds::table
        .filter(calendar_feeds::tenant_id.eq(tenant))
        .filter(calendar_feeds::token_hash.eq(token_hash))
        .select(FeedRow::as_select())
        .first(conn)
        .optional()?)
}

/// Deletes the account's feed (its URL stops working); the number of rows deleted.
pub fn delete(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<usize> {
    let (tenant, conn) = s.parts();
    Ok(diesel::delete(
        calendar_feeds::table
            .filter(calendar_feeds::tenant_id.eq(tenant))
            .filter(calendar_feeds::account_id.eq(account_id)),
    )
    .execute(conn)?)
}
