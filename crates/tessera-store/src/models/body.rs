//! Body-composition measurements (values sealed) and the goals pros set.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::schema::{body_goals, body_measurements};
use crate::{Scoped, StoreResult};

/// A stored measurement.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = body_measurements)]
pub struct MeasurementRow {
    /// Tenant.
    pub tenant_id: String,
    /// `bdm_...`.
    pub id: String,
    /// The member, once matched.
    pub member_id: Option<String>,
    /// `matched` or `unmatched`.
    pub status: String,
    /// `device` or `staff`.
    pub source: String,
    /// `canonical`, `tanita` or `inbody`.
    pub format: String,
    /// The analyser that sent it.
    pub device_id: Option<String>,
    /// Who uploaded it (staff).
    pub uploaded_by: Option<String>,
    /// What the upload said about who it is, kept until matched.
    pub member_hint: Option<String>,
    /// When it was taken.
    pub measured_at: NaiveDateTime,
    /// The data key it is sealed under.
    pub data_key_id: String,
    /// The canonical measurement, sealed (base64).
    pub sealed: String,
    /// Stored.
    pub created_at: NaiveDateTime,
    /// Matched.
    pub matched_at: Option<NaiveDateTime>,
    /// Who matched it.
    pub matched_by: Option<String>,
}

/// A goal.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = body_goals)]
pub struct GoalRow {
    /// Tenant.
    pub tenant_id: String,
    /// `bdg_...`.
    pub id: String,
    /// The member.
    pub member_id: String,
    /// A metric of the canonical measurement.
    pub metric: String,
    /// Target, thousandths of the metric's unit.
    pub target_milli: i64,
    /// By when.
    pub due_on: Option<NaiveDate>,
    /// The pro who set it.
    pub set_by: String,
    /// Set.
    pub created_at: NaiveDateTime,
}

/// Stores a measurement.
pub fn insert(s: &mut Scoped<'_>, row: &MeasurementRow) -> StoreResult<()> {
    diesel::insert_into(body_measurements::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// One measurement.
pub fn find(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<MeasurementRow>> {
    let (tenant, conn) = s.parts();
    Ok(body_measurements::table
        .filter(body_measurements::tenant_id.eq(tenant))
        .filter(body_measurements::id.eq(id))
        .select(MeasurementRow::as_select())
        .first(conn)
        .optional()?)
}

/// A member's measurements, oldest first.
pub fn of_member(s: &mut Scoped<'_>, member_id: &str) -> StoreResult<Vec<MeasurementRow>> {
    let (tenant, conn) = s.parts();
    Ok(body_measurements::table
        .filter(body_measurements::tenant_id.eq(tenant))
        .filter(body_measurements::member_id.eq(member_id))
        .order(body_measurements::measured_at.asc())
        .select(MeasurementRow::as_select())
        .load(conn)?)
}

/// Measurements waiting for a member, oldest first.
pub fn unmatched(s: &mut Scoped<'_>) -> StoreResult<Vec<MeasurementRow>> {
    let (tenant, conn) = s.parts();
    Ok(body_measurements::table
        .filter(body_measurements::tenant_id.eq(tenant))
        .filter(body_measurements::status.eq("unmatched"))
        .order(body_measurements::created_at.asc())
        .select(MeasurementRow::as_select())
        .load(conn)?)
}

/// Links an unmatched measurement to a member; false when it was matched already.
pub fn set_member(
    s: &mut Scoped<'_>,
    id: &str,
    member_id: &str,
    by: &str,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    let (tenant, conn) = s.parts();
    let n = diesel::update(
        body_measurements::table
            .filter(body_measurements::tenant_id.eq(tenant))
            .filter(body_measurements::id.eq(id))
            .filter(body_measurements::status.eq("unmatched")),
    )
    .set((
        body_measurements::member_id.eq(member_id),
        body_measurements::status.eq("matched"),
        body_measurements::member_hint.eq(None::<String>),
        body_measurements::matched_at.eq(at),
        body_measurements::matched_by.eq(by),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Deletes a member's measurements and goals (erasure).
pub fn delete_of_member(s: &mut Scoped<'_>, member_id: &str) -> StoreResult<usize> {
    let (tenant, conn) = s.parts();
    let n = diesel::delete(
        body_measurements::table
            .filter(body_measurements::tenant_id.eq(tenant))
            .filter(body_measurements::member_id.eq(member_id)),
    )
    .execute(conn)?;
    let (tenant, conn) = s.parts();
    diesel::delete(
        body_goals::table
            .filter(body_goals::tenant_id.eq(tenant))
            .filter(body_goals::member_id.eq(member_id)),
    )
    .execute(conn)?;
    Ok(n)
}

/// A member's goals.
pub fn goals(s: &mut Scoped<'_>, member_id: &str) -> StoreResult<Vec<GoalRow>> {
    let (tenant, conn) = s.parts();
    Ok(body_goals::table
        .filter(body_goals::tenant_id.eq(tenant))
        .filter(body_goals::member_id.eq(member_id))
        .order(body_goals::metric.asc())
        .select(GoalRow::as_select())
        .load(conn)?)
}

/// Sets a member's goal for a metric (replacing the previous one).
pub fn set_goal(s: &mut Scoped<'_>, row: &GoalRow) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::delete(
        body_goals::table
            .filter(body_goals::tenant_id.eq(tenant))
            .filter(body_goals::member_id.eq(&row.member_id))
            .filter(body_goals::metric.eq(&row.metric)),
    )
    .execute(conn)?;
    diesel::insert_into(body_goals::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// Members whose profile has this phone number (as typed; callers try the forms they know).
pub fn members_by_phone(s: &mut Scoped<'_>, phone: &str) -> StoreResult<Vec<String>> {
    use crate::schema::member_profiles;
    let (tenant, conn) = s.parts();
    Ok(member_profiles::table
        .filter(member_profiles::tenant_id.eq(tenant))
        .filter(member_profiles::phone.eq(phone))
        .select(member_profiles::account_id)
        .load(conn)?)
}
