//! Plans on sale.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::schema::plans;
use crate::{Scoped, StoreResult};

/// A stored plan.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = plans, treat_none_as_null = true)]
pub struct PlanRow {
    /// Tenant.
    pub tenant_id: String,
    /// `pln_...`.
    pub id: String,
    /// Short unique code (`monthly-12`).
    pub code: String,
    /// Name in the brand's default locale.
    pub name: String,
    /// Description in the brand's default locale.
    pub description: String,
    /// `{locale: {name, description}}`, JSON.
    pub translations_json: String,
    /// `recurring`, `fixed_term` or `class_pack`.
    pub kind: String,
    /// Price per period, or of the term or pack, minor units.
    pub price_amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// `week`, `month`, `year` for recurring plans.
    pub billing_period: Option<String>,
    /// Fixed term or pack validity, months.
    pub term_months: Option<i32>,
    /// Sessions of a pack.
    pub sessions: Option<i32>,
    /// Minimum commitment, months.
    pub commitment_months: i32,
    /// Notice, days.
    pub notice_days: i32,
    /// Enrolment fee, minor units.
    pub enrolment_fee_amount: i64,
    /// Free trial, days.
    pub trial_days: i32,
    /// Freeze allowance per contract year, days.
    pub freeze_max_days_per_year: i32,
    /// Access rules, JSON.
    pub access_json: String,
    /// `public` or `staff_only`.
    pub visibility: String,
    /// On sale from.
    pub available_from: Option<NaiveDate>,
    /// On sale until (inclusive).
    pub available_until: Option<NaiveDate>,
    /// `active` or `retired`.
    pub status: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// One plan.
pub fn find(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<PlanRow>> {
    let (tenant, conn) = s.parts();
    Ok(plans::table
        .filter(plans::tenant_id.eq(tenant))
        .filter(plans::id.eq(id))
        .select(PlanRow::as_select())
        .first(conn)
        .optional()?)
}

/// A page of plans by id; `public_only` keeps active public ones.
pub fn list(
    s: &mut Scoped<'_>,
    public_only: bool,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<PlanRow>> {
    let (tenant, conn) = s.parts();
    let mut query = plans::table
        .filter(plans::tenant_id.eq(tenant.to_owned()))
        .order(plans::id.asc())
        .limit(limit)
        .select(PlanRow::as_select())
        .into_boxed();
    if public_only {
        query = query
            .filter(plans::visibility.eq("public"))
            .filter(plans::status.eq("active"));
    }
    if let Some(after) = after {
        query = query.filter(plans::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Inserts a plan.
pub fn insert(s: &mut Scoped<'_>, row: &PlanRow) -> StoreResult<()> {
    diesel::insert_into(plans::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// Writes every field of a plan.
pub fn update(s: &mut Scoped<'_>, row: &PlanRow) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        plans::table
            .filter(plans::tenant_id.eq(tenant))
            .filter(plans::id.eq(&row.id)),
    )
    .set(row)
    .execute(conn)?;
    Ok(())
}
