//! A pro's weekly working hours and exceptions (leave, holidays), replaced as a whole; and clock entries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{clock_entries, pro_exceptions, pro_hours};
use crate::{Scoped, StoreResult};

/// One weekly working period.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pro_hours)]
pub struct HoursRow {
    /// Tenant.
    pub tenant_id: String,
    /// `hrs_...`.
    pub id: String,
    /// The pro.
    pub pro_id: String,
    /// Where.
    pub location_id: String,
    /// ISO weekday, 1 Monday.
    pub weekday: i32,
    /// Local start, minutes after midnight.
    pub start_minute: i32,
    /// Local end, minutes after midnight.
    pub end_minute: i32,
}

/// Days off.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pro_exceptions)]
pub struct ExceptionRow {
    /// Tenant.
    pub tenant_id: String,
    /// `exc_...`.
    pub id: String,
    /// The pro.
    pub pro_id: String,
    /// First day, `YYYY-MM-DD`.
    pub from_date: String,
    /// Last day (inclusive).
    pub until_date: String,
    /// Why (leave, holiday).
    pub reason: Option<String>,
}

/// A clock-in and, once done, its clock-out.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clock_entries)]
pub struct ClockRow {
    /// Tenant.
    pub tenant_id: String,
    /// `clk_...`.
    pub id: String,
    /// The pro.
    pub pro_id: String,
    /// In.
    pub clock_in_at: NaiveDateTime,
    /// Out.
    pub clock_out_at: Option<NaiveDateTime>,
}

/// Replaces a pro's hours and exceptions.
pub fn replace(
    s: &mut Scoped<'_>,
    pro_id: &str,
    hours: &[HoursRow],
    exceptions: &[ExceptionRow],
) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::delete(
        pro_hours::table
            .filter(pro_hours::tenant_id.eq(tenant))
            .filter(pro_hours::pro_id.eq(pro_id)),
    )
    .execute(conn)?;
    diesel::delete(
        pro_exceptions::table
            .filter(pro_exceptions::tenant_id.eq(tenant))
            .filter(pro_exceptions::pro_id.eq(pro_id)),
    )
    .execute(conn)?;
    for row in hours {
        diesel::insert_into(pro_hours::table)
            .values(row)
            .execute(conn)?;
    }
    for row in exceptions {
        diesel::insert_into(pro_exceptions::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// A pro's weekly hours.
pub fn hours_of(s: &mut Scoped<'_>, pro_id: &str) -> StoreResult<Vec<HoursRow>> {
    let (tenant, conn) = s.parts();
    Ok(pro_hours::table
        .filter(pro_hours::tenant_id.eq(tenant))
        .filter(pro_hours::pro_id.eq(pro_id))
        .order((pro_hours::weekday.asc(), pro_hours::start_minute.asc()))
        .select(HoursRow::as_select())
        .load(conn)?)
}

/// A pro's exceptions.
pub fn exceptions_of(s: &mut Scoped<'_>, pro_id: &str) -> StoreResult<Vec<ExceptionRow>> {
    let (tenant, conn) = s.parts();
    Ok(pro_exceptions::table
        .filter(pro_exceptions::tenant_id.eq(tenant))
        .filter(pro_exceptions::pro_id.eq(pro_id))
        .order(pro_exceptions::from_date.asc())
        .select(ExceptionRow::as_select())
        .load(conn)?)
}

/// Records a clock-in.
pub fn clock_in(s: &mut Scoped<'_>, row: &ClockRow) -> StoreResult<()> {
    diesel::insert_into(clock_entries::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// The pro's open entry (clocked in, not out).
pub fn open_entry(s: &mut Scoped<'_>, pro_id: &str) -> StoreResult<Option<ClockRow>> {
    let (tenant, conn) = s.parts();
    Ok(clock_entries::table
        .filter(clock_entries::tenant_id.eq(tenant))
        .filter(clock_entries::pro_id.eq(pro_id))
        .filter(clock_entries::clock_out_at.is_null())
        .select(ClockRow::as_select())
        .first(conn)
        .optional()?)
}

/// Closes an entry.
pub fn clock_out(s: &mut Scoped<'_>, id: &str, at: NaiveDateTime) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        clock_entries::table
            .filter(clock_entries::tenant_id.eq(tenant))
            .filter(clock_entries::id.eq(id)),
    )
    .set(clock_entries::clock_out_at.eq(Some(at)))
    .execute(conn)?;
    Ok(())
}

/// A pro's entries that began in `[from, to)`.
pub fn entries_between(
    s: &mut Scoped<'_>,
    pro_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Vec<ClockRow>> {
    let (tenant, conn) = s.parts();
    Ok(clock_entries::table
        .filter(clock_entries::tenant_id.eq(tenant))
        .filter(clock_entries::pro_id.eq(pro_id))
        .filter(clock_entries::clock_in_at.ge(from))
        .filter(clock_entries::clock_in_at.lt(to))
        .order(clock_entries::clock_in_at.asc())
        .select(ClockRow::as_select())
        .load(conn)?)
}
