//! Memberships, their freezes and their history.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::schema::{membership_freezes, membership_history, memberships};
use crate::{Scoped, StoreResult};

/// A stored membership, with the plan's terms copied at sale.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = memberships, treat_none_as_null = true)]
pub struct MembershipRow {
    /// Tenant.
    pub tenant_id: String,
    /// `mem_...`.
    pub id: String,
    /// The member.
    pub account_id: String,
    /// The plan sold.
    pub plan_id: String,
    /// State-machine status.
    pub status: String,
    /// Plan name at sale.
    pub plan_name: String,
    /// Plan kind.
    pub kind: String,
    /// Price per period (or of the term or pack), minor units.
    pub price_amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// Billing period of a recurring plan.
    pub billing_period: Option<String>,
    /// Term or pack validity, months.
    pub term_months: Option<i32>,
    /// Commitment, months.
    pub commitment_months: i32,
    /// Notice, days.
    pub notice_days: i32,
    /// Enrolment fee, minor units.
    pub enrolment_fee_amount: i64,
    /// Trial, days.
    pub trial_days: i32,
    /// Freeze allowance per contract year, days.
    pub freeze_max_days_per_year: i32,
    /// Access rules at sale, JSON.
    pub access_json: String,
    /// Sessions of a pack.
    pub sessions_total: Option<i32>,
    /// Sessions used.
    pub sessions_used: i32,
    /// First day.
    pub starts_on: NaiveDate,
    /// End of the commitment (moved by freezes).
    pub commitment_until: NaiveDate,
    /// First day without the membership (term end or effective cancellation), when known.
    pub ends_on: Option<NaiveDate>,
    /// Concluded online (withdrawal right, online cancellation).
    pub sold_online: bool,
    /// When the contract was concluded.
    pub concluded_at: NaiveDateTime,
    /// Last day of the withdrawal period, for online sales.
    pub withdrawal_until: Option<NaiveDate>,
    /// When cancellation was asked.
    pub cancel_requested_at: Option<NaiveDateTime>,
    /// Why.
    pub cancel_reason: Option<String>,
    /// Plan taking over at the next period.
    pub next_plan_id: Option<String>,
    /// When it takes over.
    pub next_plan_on: Option<NaiveDate>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
    /// First day not invoiced yet (billing); None before the first invoice.
    pub billed_until: Option<NaiveDate>,
}

/// A freeze.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = membership_freezes)]
pub struct FreezeRow {
    /// Tenant.
    pub tenant_id: String,
    /// `frz_...`.
    pub id: String,
    /// The membership.
    pub membership_id: String,
    /// First frozen day.
    pub starts_on: NaiveDate,
    /// First day active again.
    pub ends_on: NaiveDate,
    /// Why.
    pub reason: Option<String>,
    /// Asked.
    pub created_at: NaiveDateTime,
    /// Called off before it started (or ended early).
    pub cancelled_at: Option<NaiveDateTime>,
}

/// One change of a membership.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = membership_history)]
pub struct HistoryRow {
    /// Tenant.
    pub tenant_id: String,
    /// `mch_...`.
    pub id: String,
    /// The membership.
    pub membership_id: String,
    /// What happened (`created`, an action name, `cancellation_scheduled`, `plan_change_scheduled`...).
    pub action: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: String,
    /// Details, JSON.
    pub detail_json: String,
    /// Who (account or operator id; `None` for the system).
    pub actor_id: Option<String>,
    /// When.
    pub at: NaiveDateTime,
}

/// One membership.
pub fn find(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<MembershipRow>> {
    let (tenant, conn) = s.parts();
    Ok(memberships::table
        .filter(memberships::tenant_id.eq(tenant))
        .filter(memberships::id.eq(id))
        .select(MembershipRow::as_select())
        .first(conn)
        .optional()?)
}

/// One membership, locked for the rest of the transaction (concurrent changes wait).
pub fn find_locked(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<MembershipRow>> {
    let (tenant, conn) = s.parts();
    let rows = crate::load_locked!(
        conn,
        memberships::table
            .filter(memberships::tenant_id.eq(tenant))
            .filter(memberships::id.eq(id))
            .select(MembershipRow::as_select()),
        MembershipRow
    )?;
    Ok(rows.into_iter().next())
}

/// A member's memberships, newest first.
pub fn of_account(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<Vec<MembershipRow>> {
    of_accounts(s, &[account_id.to_owned()])
}

/// The memberships of several accounts, newest first.
pub fn of_accounts(s: &mut Scoped<'_>, account_ids: &[String]) -> StoreResult<Vec<MembershipRow>> {
    let (tenant, conn) = s.parts();
    let query = memberships::table
        .filter(memberships::tenant_id.eq(tenant))
        .select(MembershipRow::as_select());
    let mut rows: Vec<MembershipRow> =
        crate::load_any_of!(query, memberships::account_id, account_ids, conn)?;
    // Sorted here, not by the query: with `ORDER BY id` SQLite walks the brand's primary key (tenant_id, id) to
    // skip a sort and reads every membership of the brand (100,000 rows per door decision at 100,000 members);
    // without it, the (tenant_id, account_id) index finds the members' few rows.
    rows.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(rows)
}

/// A page of memberships by id, optionally of one member and in one status.
pub fn list(
    s: &mut Scoped<'_>,
    account_id: Option<&str>,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<MembershipRow>> {
    let (tenant, conn) = s.parts();
    let mut query = memberships::table
        .filter(memberships::tenant_id.eq(tenant.to_owned()))
        .order(memberships::id.asc())
        .limit(limit)
        .select(MembershipRow::as_select())
        .into_boxed();
    if let Some(account_id) = account_id {
        query = query.filter(memberships::account_id.eq(account_id.to_owned()));
    }
    if let Some(status) = status {
        query = query.filter(memberships::status.eq(status.to_owned()));
    }
    if let Some(after) = after {
        query = query.filter(memberships::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Memberships that may need a dated change (not over yet), for the daily roll.
pub fn open(s: &mut Scoped<'_>) -> StoreResult<Vec<MembershipRow>> {
    let (tenant, conn) = s.parts();
    Ok(memberships::table
        .filter(memberships::tenant_id.eq(tenant))
        .filter(memberships::status.ne_all(["cancelled", "ended"]))
        .select(MembershipRow::as_select())
        .load(conn)?)
}

/// What a door's allowlist needs of a membership: a fifth of the columns of [`MembershipRow`], which matters
/// when a full allowlist reads 100,000 of them.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = memberships)]
pub struct DoorMembershipRow {
    /// The member.
    pub account_id: String,
    /// State-machine status.
    pub status: String,
    /// Access rules at sale, JSON.
    pub access_json: String,
    /// First day.
    pub starts_on: NaiveDate,
    /// First day without the membership, when known.
    pub ends_on: Option<NaiveDate>,
}

impl From<&MembershipRow> for DoorMembershipRow {
    fn from(m: &MembershipRow) -> Self {
        DoorMembershipRow {
            account_id: m.account_id.clone(),
            status: m.status.clone(),
            access_json: m.access_json.clone(),
            starts_on: m.starts_on,
            ends_on: m.ends_on,
        }
    }
}

/// [`open`], with only what an allowlist needs.
pub fn open_for_doors(s: &mut Scoped<'_>) -> StoreResult<Vec<DoorMembershipRow>> {
    let (tenant, conn) = s.parts();
    Ok(memberships::table
        .filter(memberships::tenant_id.eq(tenant))
        .filter(memberships::status.ne_all(["cancelled", "ended"]))
        .select(DoorMembershipRow::as_select())
        .load(conn)?)
}

/// Inserts a membership.
pub fn insert(s: &mut Scoped<'_>, row: &MembershipRow) -> StoreResult<()> {
    diesel::insert_into(memberships::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// Writes every field of a membership.
pub fn update(s: &mut Scoped<'_>, row: &MembershipRow) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        memberships::table
            .filter(memberships::tenant_id.eq(tenant))
            .filter(memberships::id.eq(&row.id)),
    )
    .set(row)
    .execute(conn)?;
    Ok(())
}

/// Moves the end of what several memberships are billed until to `until` in one statement (a billing run's
/// batch: renewals of one day end on the same day).
pub fn set_billed_until(s: &mut Scoped<'_>, ids: &[String], until: NaiveDate) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        memberships::table
            .filter(memberships::tenant_id.eq(tenant))
            .filter(memberships::id.eq_any(ids)),
    )
    .set(memberships::billed_until.eq(until))
    .execute(conn)?;
    Ok(())
}

/// Several memberships, locked for the rest of the transaction, by id.
pub fn find_many_locked(s: &mut Scoped<'_>, ids: &[String]) -> StoreResult<Vec<MembershipRow>> {
    let (tenant, conn) = s.parts();
    let mut rows = crate::load_locked!(
        conn,
        memberships::table
            .filter(memberships::tenant_id.eq(tenant))
            .filter(memberships::id.eq_any(ids))
            .select(MembershipRow::as_select()),
        MembershipRow
    )?;
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// Takes one session of a pack if one is left: returns false when none is (the update is conditional, so
/// concurrent bookings can never take more than the pack holds; the database's check backs it).
pub fn take_session(s: &mut Scoped<'_>, id: &str) -> StoreResult<bool> {
    let (tenant, conn) = s.parts();
    let changed = diesel::update(
        memberships::table
            .filter(memberships::tenant_id.eq(tenant))
            .filter(memberships::id.eq(id))
            .filter(memberships::sessions_total.is_not_null())
            .filter(memberships::sessions_used.lt(memberships::sessions_total.assume_not_null())),
    )
    .set(memberships::sessions_used.eq(memberships::sessions_used + 1))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Gives one session back to a pack.
pub fn give_back_session(s: &mut Scoped<'_>, id: &str) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        memberships::table
            .filter(memberships::tenant_id.eq(tenant))
            .filter(memberships::id.eq(id))
            .filter(memberships::sessions_used.gt(0)),
    )
    .set(memberships::sessions_used.eq(memberships::sessions_used - 1))
    .execute(conn)?;
    Ok(())
}

/// Adds a freeze.
pub fn insert_freeze(s: &mut Scoped<'_>, row: &FreezeRow) -> StoreResult<()> {
    diesel::insert_into(membership_freezes::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// A membership's freezes that were not called off, by start.
pub fn freezes(s: &mut Scoped<'_>, membership_id: &str) -> StoreResult<Vec<FreezeRow>> {
    let (tenant, conn) = s.parts();
    Ok(membership_freezes::table
        .filter(membership_freezes::tenant_id.eq(tenant))
        .filter(membership_freezes::membership_id.eq(membership_id))
        .filter(membership_freezes::cancelled_at.is_null())
        .order(membership_freezes::starts_on.asc())
        .select(FreezeRow::as_select())
        .load(conn)?)
}

/// The freezes of several memberships that were not called off, by start.
pub fn freezes_of(s: &mut Scoped<'_>, membership_ids: &[String]) -> StoreResult<Vec<FreezeRow>> {
    let (tenant, conn) = s.parts();
    let mut rows = membership_freezes::table
        .filter(membership_freezes::tenant_id.eq(tenant))
        .filter(membership_freezes::membership_id.eq_any(membership_ids))
        .filter(membership_freezes::cancelled_at.is_null())
        .select(FreezeRow::as_select())
        .load(conn)?;
    rows.sort_by(|a, b| (&a.membership_id, a.starts_on).cmp(&(&b.membership_id, b.starts_on)));
    Ok(rows)
}

/// Shortens a freeze (ended early) or calls it off.
pub fn end_freeze(
    s: &mut Scoped<'_>,
    id: &str,
    ends_on: NaiveDate,
    cancelled_at: Option<NaiveDateTime>,
) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        membership_freezes::table
            .filter(membership_freezes::tenant_id.eq(tenant))
            .filter(membership_freezes::id.eq(id)),
    )
    .set((
        membership_freezes::ends_on.eq(ends_on),
        membership_freezes::cancelled_at.eq(cancelled_at),
    ))
    .execute(conn)?;
    Ok(())
}

/// Appends to the history.
pub fn record(s: &mut Scoped<'_>, row: &HistoryRow) -> StoreResult<()> {
    diesel::insert_into(membership_history::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// A membership's history, oldest first.
pub fn history(s: &mut Scoped<'_>, membership_id: &str) -> StoreResult<Vec<HistoryRow>> {
    let (tenant, conn) = s.parts();
    // Sorted here: an ORDER BY id would lure SQLite into the primary key instead of the membership's index.
    let mut rows = membership_history::table
        .filter(membership_history::tenant_id.eq(tenant))
        .filter(membership_history::membership_id.eq(membership_id))
        .select(HistoryRow::as_select())
        .load(conn)?;
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// History entries with one of `actions` in `[from, to)` (the today view's counts).
pub fn count_history(
    s: &mut Scoped<'_>,
    actions: &[&str],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<i64> {
    let (tenant, conn) = s.parts();
    Ok(membership_history::table
        .filter(membership_history::tenant_id.eq(tenant))
        .filter(membership_history::action.eq_any(actions))
        .filter(membership_history::at.ge(from))
        .filter(membership_history::at.lt(to))
        .count()
        .get_result(conn)?)
}

/// Memberships a billing run must look at on `day`, by id after `after` and up to `until` (inclusive) when given:
/// not over, not frozen, and either never invoiced or invoiced up to a day that has come (recurring plans).
pub fn billing_candidates(
    s: &mut Scoped<'_>,
    day: NaiveDate,
    after: &str,
    until: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<MembershipRow>> {
    let (tenant, conn) = s.parts();
    let mut query = memberships::table
        .filter(memberships::tenant_id.eq(tenant))
        .filter(memberships::status.eq_any(["pending", "active", "past_due"]))
        .filter(
            memberships::billed_until.is_null().or(memberships::kind
                .eq("recurring")
                .and(memberships::billed_until.le(day))),
        )
        .filter(memberships::id.gt(after))
        .into_boxed();
    if let Some(until) = until {
        query = query.filter(memberships::id.le(until));
    }
    Ok(query
        .order(memberships::id.asc())
        .limit(limit)
        .select(MembershipRow::as_select())
        .load(conn)?)
}

/// Recurring memberships whose invoiced time ends on `day` (their renewal), for reminders.
pub fn renewing_on(s: &mut Scoped<'_>, day: NaiveDate) -> StoreResult<Vec<MembershipRow>> {
    let (tenant, conn) = s.parts();
    Ok(memberships::table
        .filter(memberships::tenant_id.eq(tenant))
        .filter(memberships::status.eq_any(["active", "past_due"]))
        .filter(memberships::kind.eq("recurring"))
        .filter(memberships::billed_until.eq(day))
        .select(MembershipRow::as_select())
        .load(conn)?)
}
