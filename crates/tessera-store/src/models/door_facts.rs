//! What the door desk keeps in memory, read from the tables: the facts of door decisions that change seldom
//! (credentials, members' profiles, memberships, open invoices, saved cards), for a whole brand or for a few
//! members, and the log of their changes that keeps such a copy current.
//!
//! The log is written by triggers on those tables and on devices and locations (migration
//! `2026-11-28-000025_door_fact_changes`), never by the code: one version counter per brand, and for each version
//! the members it changed (`""` for a change of the whole brand's: a device, a location). Versions are taken in
//! commit order, so a reader that sees a version sees every one before it.

use diesel::prelude::*;

use super::access::CredentialRow;
use super::invoices::InvoiceRow;
use super::members::ProfileRow;
use super::memberships::MembershipRow;
use super::payments::BillingProfileRow;
use crate::schema::{
    access_credentials, billing_profiles, door_fact_changes, door_fact_versions, invoices,
    member_profiles, memberships,
};
use crate::{Scoped, StoreResult};

/// The member of a change that concerns the whole brand (a device, a location).
pub const WHOLE_BRAND: &str = "";

/// The facts of door decisions that change seldom, of a brand or of some of its members.
#[derive(Debug, Default)]
pub struct DoorFactRows {
    /// Credentials, in every status (a revoked one is refused by name).
    pub credentials: Vec<CredentialRow>,
    /// Members' profiles.
    pub profiles: Vec<ProfileRow>,
    /// Memberships, in every status, newest first per member.
    pub memberships: Vec<MembershipRow>,
    /// Open invoices of memberships.
    pub open_invoices: Vec<InvoiceRow>,
    /// Saved payment methods.
    pub billing_profiles: Vec<BillingProfileRow>,
}

/// The realm's last version of door facts (0 before any change).
pub fn version(s: &mut Scoped<'_>) -> StoreResult<i64> {
    let (tenant, conn) = s.parts();
    Ok(door_fact_versions::table
        .filter(door_fact_versions::tenant_id.eq(tenant))
        .select(door_fact_versions::version)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// The changes after version `since`, oldest first, at most `limit` of them: (version, member or
/// [`WHOLE_BRAND`]).
pub fn changes_since(
    s: &mut Scoped<'_>,
    since: i64,
    limit: i64,
) -> StoreResult<Vec<(i64, String)>> {
    let (tenant, conn) = s.parts();
    Ok(door_fact_changes::table
        .filter(door_fact_changes::tenant_id.eq(tenant))
        .filter(door_fact_changes::version.gt(since))
        .order((door_fact_changes::version, door_fact_changes::member_id))
        .limit(limit)
        .select((door_fact_changes::version, door_fact_changes::member_id))
        .load(conn)?)
}

/// Forgets the changes older than the realm's last `keep` versions (a memory further behind than that loads the
/// brand whole); returns how many were deleted.
pub fn prune(s: &mut Scoped<'_>, keep: i64) -> StoreResult<usize> {
    let through = version(s)?.saturating_sub(keep);
    if through <= 0 {
        return Ok(0);
    }
    let (tenant, conn) = s.parts();
    Ok(diesel::delete(
        door_fact_changes::table
            .filter(door_fact_changes::tenant_id.eq(tenant))
            .filter(door_fact_changes::version.le(through)),
    )
    .execute(conn)?)
}

/// The facts of the whole brand.
pub fn of_brand(s: &mut Scoped<'_>) -> StoreResult<DoorFactRows> {
    let (tenant, conn) = s.parts();
    let mut rows = DoorFactRows {
        credentials: access_credentials::table
            .filter(access_credentials::tenant_id.eq(tenant))
            .select(CredentialRow::as_select())
            .load(conn)?,
        profiles: member_profiles::table
            .filter(member_profiles::tenant_id.eq(tenant))
            .select(ProfileRow::as_select())
            .load(conn)?,
        memberships: memberships::table
            .filter(memberships::tenant_id.eq(tenant))
            .select(MembershipRow::as_select())
            .load(conn)?,
        open_invoices: invoices::table
            .filter(invoices::tenant_id.eq(tenant))
            .filter(invoices::status.eq("open"))
            .filter(invoices::membership_id.is_not_null())
            .select(InvoiceRow::as_select())
            .load(conn)?,
        billing_profiles: billing_profiles::table
            .filter(billing_profiles::tenant_id.eq(tenant))
            .select(BillingProfileRow::as_select())
            .load(conn)?,
    };
    // Newest first, as `memberships::of_accounts` gives them (sorted here: see there why not by the query).
    rows.memberships.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(rows)
}

/// The facts of `members` (account ids).
pub fn of_members(s: &mut Scoped<'_>, members: &[String]) -> StoreResult<DoorFactRows> {
    if members.is_empty() {
        return Ok(DoorFactRows::default());
    }
    let credentials = {
        let (tenant, conn) = s.parts();
        let query = access_credentials::table
            .filter(access_credentials::tenant_id.eq(tenant))
            .select(CredentialRow::as_select());
        crate::load_any_of!(query, access_credentials::member_id, members, conn)?
    };
    let open_invoices = {
        let (tenant, conn) = s.parts();
        let query = invoices::table
            .filter(invoices::tenant_id.eq(tenant))
            .filter(invoices::status.eq("open"))
            .filter(invoices::membership_id.is_not_null())
            .select(InvoiceRow::as_select());
        crate::load_any_of!(query, invoices::account_id, members, conn)?
    };
    Ok(DoorFactRows {
        credentials,
        profiles: super::members::find_many(s, members)?,
        memberships: super::memberships::of_accounts(s, members)?,
        open_invoices,
        billing_profiles: super::payments::profiles(s, members)?,
    })
}
