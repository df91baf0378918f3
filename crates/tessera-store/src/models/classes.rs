//! Classes: recurring schedules, their generated sessions, and members' bookings in sessions (booked or
//! waitlisted, numbered by `seq` in the order they took the session's lock).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{class_bookings, class_schedules, class_sessions};
use crate::{Scoped, StoreResult};

/// A recurring class.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = class_schedules)]
pub struct ScheduleRow {
    /// Tenant.
    pub tenant_id: String,
    /// `cls_...`.
    pub id: String,
    /// Class type code (`yoga`).
    pub class_type: String,
    /// The pro who teaches it.
    pub pro_id: String,
    /// Where.
    pub location_id: String,
    /// The room.
    pub room_id: String,
    /// Places.
    pub capacity: i32,
    /// ISO weekday.
    pub weekday: i32,
    /// Local start, minutes after midnight.
    pub start_minute: i32,
    /// Length.
    pub duration_minutes: i32,
    /// First day, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last day, if it ends.
    pub valid_until: Option<String>,
    /// Generates sessions.
    pub active: bool,
    /// Created.
    pub created_at: NaiveDateTime,
}

/// One session of a class.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = class_sessions)]
pub struct SessionRow {
    /// Tenant.
    pub tenant_id: String,
    /// `ses_...`.
    pub id: String,
    /// Its schedule.
    pub schedule_id: String,
    /// Class type code.
    pub class_type: String,
    /// The pro.
    pub pro_id: String,
    /// Where.
    pub location_id: String,
    /// The room.
    pub room_id: String,
    /// Start.
    pub starts_at: NaiveDateTime,
    /// End.
    pub ends_at: NaiveDateTime,
    /// Places.
    pub capacity: i32,
    /// The next booking's number.
    pub next_seq: i64,
    /// `scheduled` or `cancelled`.
    pub status: String,
    /// Generated.
    pub created_at: NaiveDateTime,
}

/// A member's booking in a session.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = class_bookings, primary_key(tenant_id, id), treat_none_as_null = true)]
pub struct BookingRow {
    /// Tenant.
    pub tenant_id: String,
    /// `bkg_...`.
    pub id: String,
    /// The session.
    pub session_id: String,
    /// The member.
    pub member_id: String,
    /// `booked`, `waitlisted`, `cancelled`, `late_cancelled`, `attended`, `no_show`.
    pub status: String,
    /// Order of arrival in the session.
    pub seq: i64,
    /// The membership that covers it.
    pub membership_id: Option<String>,
    /// A class-pack session was consumed.
    pub consumed: bool,
    /// What the member owes, minor units.
    pub price_amount: i64,
    /// Its currency.
    pub price_currency: String,
    /// A late-cancellation or no-show fee.
    pub fee_amount: Option<i64>,
    /// Its currency.
    pub fee_currency: Option<String>,
    /// Who booked it.
    pub created_by: String,
    /// Booked.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
    /// Cancelled.
    pub cancelled_at: Option<NaiveDateTime>,
    /// Checked in.
    pub checked_in_at: Option<NaiveDateTime>,
}

/// Statuses that hold a place.
pub const HOLDING: [&str; 3] = ["booked", "attended", "no_show"];

/// Stores a schedule.
pub fn insert_schedule(s: &mut Scoped<'_>, row: &ScheduleRow) -> StoreResult<()> {
    diesel::insert_into(class_schedules::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// One schedule.
pub fn find_schedule(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<ScheduleRow>> {
    let (tenant, conn) = s.parts();
    Ok(class_schedules::table
        .filter(class_schedules::tenant_id.eq(tenant))
        .filter(class_schedules::id.eq(id))
        .select(ScheduleRow::as_select())
        .first(conn)
        .optional()?)
}

/// A page of schedules after `after`.
pub fn list_schedules(
    s: &mut Scoped<'_>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<ScheduleRow>> {
    let (tenant, conn) = s.parts();
    let mut query = class_schedules::table
        .filter(class_schedules::tenant_id.eq(tenant.to_owned()))
        .order(class_schedules::id.asc())
        .limit(limit)
        .select(ScheduleRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(class_schedules::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Active schedules.
pub fn active_schedules(s: &mut Scoped<'_>) -> StoreResult<Vec<ScheduleRow>> {
    let (tenant, conn) = s.parts();
    Ok(class_schedules::table
        .filter(class_schedules::tenant_id.eq(tenant))
        .filter(class_schedules::active.eq(true))
        .select(ScheduleRow::as_select())
        .load(conn)?)
}

/// Stores a session unless its schedule already has one at that start; true when stored.
pub fn insert_session_if_absent(s: &mut Scoped<'_>, row: &SessionRow) -> StoreResult<bool> {
    let inserted = crate::on_backend!(s.conn(), |c| diesel::insert_into(class_sessions::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// One session.
pub fn find_session(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<SessionRow>> {
    let (tenant, conn) = s.parts();
    Ok(class_sessions::table
        .filter(class_sessions::tenant_id.eq(tenant))
        .filter(class_sessions::id.eq(id))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?)
}

/// One session, locked until the end of the transaction: bookings of a session are counted under this lock.
pub fn lock_session(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<SessionRow>> {
    let (tenant, conn) = s.parts();
    let rows = crate::load_locked!(
        conn,
        class_sessions::table
            .filter(class_sessions::tenant_id.eq(tenant))
            .filter(class_sessions::id.eq(id))
            .select(SessionRow::as_select()),
        SessionRow
    )?;
    Ok(rows.into_iter().next())
}

/// Takes the session's next booking number.
pub fn take_seq(s: &mut Scoped<'_>, session: &SessionRow) -> StoreResult<i64> {
    let (tenant, conn) = s.parts();
    diesel::update(
        class_sessions::table
            .filter(class_sessions::tenant_id.eq(tenant))
            .filter(class_sessions::id.eq(&session.id)),
    )
    .set(class_sessions::next_seq.eq(class_sessions::next_seq + 1))
    .execute(conn)?;
    Ok(session.next_seq)
}

/// Sessions starting in `[from, to)`, by start, at most `limit`.
pub fn sessions_between(
    s: &mut Scoped<'_>,
    from: NaiveDateTime,
    to: NaiveDateTime,
    pro_id: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<SessionRow>> {
    let (tenant, conn) = s.parts();
    let mut query = class_sessions::table
        .filter(class_sessions::tenant_id.eq(tenant.to_owned()))
        .filter(class_sessions::starts_at.ge(from))
        .filter(class_sessions::starts_at.lt(to))
        .order((class_sessions::starts_at.asc(), class_sessions::id.asc()))
        .limit(limit)
        .select(SessionRow::as_select())
        .into_boxed();
    if let Some(pro) = pro_id {
        query = query.filter(class_sessions::pro_id.eq(pro.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Stores a booking.
pub fn insert_booking(s: &mut Scoped<'_>, row: &BookingRow) -> StoreResult<()> {
    diesel::insert_into(class_bookings::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// Saves a booking.
pub fn update_booking(s: &mut Scoped<'_>, row: &BookingRow) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        class_bookings::table
            .filter(class_bookings::tenant_id.eq(tenant))
            .filter(class_bookings::id.eq(&row.id)),
    )
    .set(row)
    .execute(conn)?;
    Ok(())
}

/// One booking.
pub fn find_booking(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<BookingRow>> {
    let (tenant, conn) = s.parts();
    Ok(class_bookings::table
        .filter(class_bookings::tenant_id.eq(tenant))
        .filter(class_bookings::id.eq(id))
        .select(BookingRow::as_select())
        .first(conn)
        .optional()?)
}

/// A session's bookings, in order of arrival.
pub fn bookings_of(s: &mut Scoped<'_>, session_id: &str) -> StoreResult<Vec<BookingRow>> {
    let (tenant, conn) = s.parts();
    Ok(class_bookings::table
        .filter(class_bookings::tenant_id.eq(tenant))
        .filter(class_bookings::session_id.eq(session_id))
        .order(class_bookings::seq.asc())
        .select(BookingRow::as_select())
        .load(conn)?)
}

/// Bookings of several sessions (any status).
pub fn bookings_of_sessions(
    s: &mut Scoped<'_>,
    session_ids: &[String],
) -> StoreResult<Vec<BookingRow>> {
    let (tenant, conn) = s.parts();
    Ok(class_bookings::table
        .filter(class_bookings::tenant_id.eq(tenant))
        .filter(class_bookings::session_id.eq_any(session_ids))
        .order(class_bookings::seq.asc())
        .select(BookingRow::as_select())
        .load(conn)?)
}

/// A member's bookings, newest first, at most `limit`.
pub fn bookings_of_member(
    s: &mut Scoped<'_>,
    member_id: &str,
    limit: i64,
) -> StoreResult<Vec<BookingRow>> {
    let (tenant, conn) = s.parts();
    Ok(class_bookings::table
        .filter(class_bookings::tenant_id.eq(tenant))
        .filter(class_bookings::member_id.eq(member_id))
        .order(class_bookings::id.desc())
        .limit(limit)
        .select(BookingRow::as_select())
        .load(conn)?)
}

/// Sessions by id.
pub fn sessions_by_id(s: &mut Scoped<'_>, ids: &[String]) -> StoreResult<Vec<SessionRow>> {
    let (tenant, conn) = s.parts();
    Ok(class_sessions::table
        .filter(class_sessions::tenant_id.eq(tenant))
        .filter(class_sessions::id.eq_any(ids))
        .select(SessionRow::as_select())
        .load(conn)?)
}

/// True when `member_id` has (or had) a booking, any status, in a session taught by `pro_id`.
pub fn member_booked_with(s: &mut Scoped<'_>, member_id: &str, pro_id: &str) -> StoreResult<bool> {
    let (tenant, conn) = s.parts();
    let sessions = class_sessions::table
        .filter(class_sessions::tenant_id.eq(tenant))
        .filter(class_sessions::pro_id.eq(pro_id))
        .select(class_sessions::id);
    let found: i64 = class_bookings::table
        .filter(class_bookings::tenant_id.eq(tenant))
        .filter(class_bookings::member_id.eq(member_id))
        .filter(class_bookings::session_id.eq_any(sessions))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// A member's class bookings that are not cancelled (booked, waitlisted, attended, no-show) in sessions starting
/// in `[from, to)`.
pub fn visits_between(
    s: &mut Scoped<'_>,
    member_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<i64> {
    let (tenant, conn) = s.parts();
    let sessions = class_sessions::table
        .filter(class_sessions::tenant_id.eq(tenant))
        .filter(class_sessions::starts_at.ge(from))
        .filter(class_sessions::starts_at.lt(to))
        .select(class_sessions::id);
    Ok(class_bookings::table
        .filter(class_bookings::tenant_id.eq(tenant))
        .filter(class_bookings::member_id.eq(member_id))
        .filter(class_bookings::status.eq_any(["booked", "waitlisted", "attended", "no_show"]))
        .filter(class_bookings::session_id.eq_any(sessions))
        .count()
        .get_result(conn)?)
}
