//! Accounts of one brand and their roles. Tenant-owned: every function takes a [`Scoped`] connection.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{account_roles, accounts};
use crate::{Scoped, StoreResult};

/// A stored account.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    /// Tenant.
    pub tenant_id: String,
    /// `acc_...`.
    pub id: String,
    /// Group person.
    pub person_id: String,
    /// Normalised e-mail address, unique in the tenant.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Argon2id PHC string; `None` until an invited account sets its password.
    pub password_hash: Option<String>,
    /// A pro's specialty.
    pub specialty: Option<String>,
    /// `active`, `invited` or `deactivated`.
    pub status: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
    /// When the address was verified.
    pub email_verified_at: Option<NaiveDateTime>,
}

/// Which accounts a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountFilter {
    /// Every account.
    All,
    /// Accounts holding at least one of these roles.
    AnyRole(&'static [&'static str]),
}

/// One account by id.
pub fn find(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<AccountRow>> {
    let (tenant, conn) = s.parts();
    Ok(accounts::table
        .filter(accounts::tenant_id.eq(tenant))
        .filter(accounts::id.eq(id))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?)
}

/// Several accounts by id.
pub fn find_many(s: &mut Scoped<'_>, ids: &[String]) -> StoreResult<Vec<AccountRow>> {
    let (tenant, conn) = s.parts();
    Ok(accounts::table
        .filter(accounts::tenant_id.eq(tenant))
        .filter(accounts::id.eq_any(ids))
        .select(AccountRow::as_select())
        .load(conn)?)
}

/// One account by normalised e-mail address.
pub fn find_by_email(s: &mut Scoped<'_>, email: &str) -> StoreResult<Option<AccountRow>> {
    let (tenant, conn) = s.parts();
    Ok(accounts::table
        .filter(accounts::tenant_id.eq(tenant))
        .filter(accounts::email.eq(email))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?)
}

/// The role names of one account, sorted.
pub fn roles(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<Vec<String>> {
    let (tenant, conn) = s.parts();
    Ok(account_roles::table
        .filter(account_roles::tenant_id.eq(tenant))
        .filter(account_roles::account_id.eq(account_id))
        .order(account_roles::role.asc())
        .select(account_roles::role)
        .load(conn)?)
}

/// The roles of several accounts, as (account id, role) pairs.
pub fn roles_of(s: &mut Scoped<'_>, account_ids: &[String]) -> StoreResult<Vec<(String, String)>> {
    let (tenant, conn) = s.parts();
    Ok(account_roles::table
        .filter(account_roles::tenant_id.eq(tenant))
        .filter(account_roles::account_id.eq_any(account_ids))
        .order((account_roles::account_id.asc(), account_roles::role.asc()))
        .select((account_roles::account_id, account_roles::role))
        .load(conn)?)
}

/// A page of accounts ordered by id (time-ordered), starting after `after`.
pub fn list(
    s: &mut Scoped<'_>,
    filter: AccountFilter,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<AccountRow>> {
    let (tenant, conn) = s.parts();
    let mut query = accounts::table
        .filter(accounts::tenant_id.eq(tenant.to_owned()))
        .order(accounts::id.asc())
        .limit(limit)
        .select(AccountRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(accounts::id.gt(after.to_owned()));
    }
    if let AccountFilter::AnyRole(roles) = filter {
        query = query.filter(diesel::dsl::exists(
            account_roles::table
                .filter(account_roles::tenant_id.eq(accounts::tenant_id))
                .filter(account_roles::account_id.eq(accounts::id))
                .filter(account_roles::role.eq_any(roles)),
        ));
    }
    Ok(query.load(conn)?)
}

/// Inserts an account with its roles.
pub fn insert(s: &mut Scoped<'_>, row: &AccountRow, roles: &[&str]) -> StoreResult<()> {
    diesel::insert_into(accounts::table)
        .values(row)
        .execute(s.conn())?;
    set_roles(s, &row.id, roles)
}

/// Replaces an account's roles.
pub fn set_roles(s: &mut Scoped<'_>, account_id: &str, roles: &[&str]) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::delete(
        account_roles::table
            .filter(account_roles::tenant_id.eq(tenant))
            .filter(account_roles::account_id.eq(account_id)),
    )
    .execute(conn)?;
    let rows: Vec<_> = roles
        .iter()
        .map(|role| {
            (
                account_roles::tenant_id.eq(tenant),
                account_roles::account_id.eq(account_id),
                account_roles::role.eq(*role),
            )
        })
        .collect();
    // One statement per row: SQLite's multi-row insert is not available through MultiConnection.
    for row in rows {
        diesel::insert_into(account_roles::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Changes to an account's profile; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = accounts)]
pub struct AccountChanges {
    /// New display name.
    pub display_name: Option<String>,
    /// New specialty (`Some(None)` clears it).
    pub specialty: Option<Option<String>>,
    /// New status.
    pub status: Option<String>,
    /// New password hash.
    pub password_hash: Option<Option<String>>,
    /// Always set.
    pub updated_at: Option<NaiveDateTime>,
    /// Set when the address is verified.
    pub email_verified_at: Option<Option<NaiveDateTime>>,
}

/// Applies changes to one account; returns the number of rows changed (0 when it does not exist).
pub fn update(
    s: &mut Scoped<'_>,
    account_id: &str,
    changes: &AccountChanges,
) -> StoreResult<usize> {
    let (tenant, conn) = s.parts();
    Ok(diesel::update(
        accounts::table
            .filter(accounts::tenant_id.eq(tenant))
            .filter(accounts::id.eq(account_id)),
    )
    .set(changes)
    .execute(conn)?)
}
