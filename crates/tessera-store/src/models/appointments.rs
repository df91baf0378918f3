//! Appointments with pros. `block_start`/`block_end` include the service's buffers; an appointment that is not
//! cancelled holds its pro (and its room) for that time.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::appointments;
use crate::{Scoped, StoreResult};

/// Statuses that hold time (everything but the cancellations and expired holds). A `pending_payment` booking holds
/// its slot until `hold_until`; [`release_expired_holds`] turns it `expired` after that.
pub const HOLDING: [&str; 4] = ["booked", "attended", "no_show", "pending_payment"];

/// An appointment.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = appointments, primary_key(tenant_id, id), treat_none_as_null = true)]
pub struct AppointmentRow {
    /// Tenant.
    pub tenant_id: String,
    /// `apt_...`.
    pub id: String,
    /// The service.
    pub service_id: String,
    /// The pro.
    pub pro_id: String,
    /// The member.
    pub member_id: String,
    /// Where (none for video).
    pub location_id: Option<String>,
    /// The room it takes.
    pub room_id: Option<String>,
    /// Start.
    pub starts_at: NaiveDateTime,
    /// End.
    pub ends_at: NaiveDateTime,
    /// Start with the buffer before.
    pub block_start: NaiveDateTime,
    /// End with the buffer after.
    pub block_end: NaiveDateTime,
    /// `booked`, `cancelled`, `late_cancelled`, `attended`, `no_show`.
    pub status: String,
    /// What the member owes for it, minor units.
    pub price_amount: i64,
    /// Its currency.
    pub price_currency: String,
    /// The membership that covers it.
    pub membership_id: Option<String>,
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
    /// Attendance confirmed.
    pub attendance_at: Option<NaiveDateTime>,
    /// The invoice paying for it, when paid online at booking.
    pub invoice_id: Option<String>,
    /// Until when an unpaid (`pending_payment`) booking holds its slot.
    pub hold_until: Option<NaiveDateTime>,
}

/// Stores an appointment.
pub fn insert(s: &mut Scoped<'_>, row: &AppointmentRow) -> StoreResult<()> {
    diesel::insert_into(appointments::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// Saves an appointment.
pub fn update(s: &mut Scoped<'_>, row: &AppointmentRow) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        appointments::table
            .filter(appointments::tenant_id.eq(tenant))
            .filter(appointments::id.eq(&row.id)),
    )
    .set(row)
    .execute(conn)?;
    Ok(())
}

/// One appointment.
pub fn find(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<AppointmentRow>> {
    let (tenant, conn) = s.parts();
    Ok(appointments::table
        .filter(appointments::tenant_id.eq(tenant))
        .filter(appointments::id.eq(id))
        .select(AppointmentRow::as_select())
        .first(conn)
        .optional()?)
}

/// How many holding appointments of the pro overlap `[start, end)` (buffers included), leaving out `except`.
pub fn pro_overlaps(
    s: &mut Scoped<'_>,
    pro_id: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
    except: Option<&str>,
) -> StoreResult<i64> {
    let (tenant, conn) = s.parts();
    Ok(appointments::table
        .filter(appointments::tenant_id.eq(tenant))
        .filter(appointments::pro_id.eq(pro_id))
        .filter(appointments::status.eq_any(HOLDING))
        .filter(appointments::block_start.lt(end))
        .filter(appointments::block_end.gt(start))
        .filter(appointments::id.ne(except.unwrap_or("")))
        .count()
        .get_result(conn)?)
}

/// How many holding appointments in the room overlap `[start, end)`, leaving out `except`.
pub fn room_overlaps(
    s: &mut Scoped<'_>,
    room_id: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
    except: Option<&str>,
) -> StoreResult<i64> {
    let (tenant, conn) = s.parts();
    Ok(appointments::table
        .filter(appointments::tenant_id.eq(tenant))
        .filter(appointments::room_id.eq(room_id))
        .filter(appointments::status.eq_any(HOLDING))
        .filter(appointments::starts_at.lt(end))
        .filter(appointments::ends_at.gt(start))
        .filter(appointments::id.ne(except.unwrap_or("")))
        .count()
        .get_result(conn)?)
}

/// The pro's holding appointments whose blocked time meets `[from, to)`, by start.
pub fn of_pro_between(
    s: &mut Scoped<'_>,
    pro_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Vec<AppointmentRow>> {
    let (tenant, conn) = s.parts();
    Ok(appointments::table
        .filter(appointments::tenant_id.eq(tenant))
        .filter(appointments::pro_id.eq(pro_id))
        .filter(appointments::status.eq_any(HOLDING))
        .filter(appointments::block_start.lt(to))
        .filter(appointments::block_end.gt(from))
        .order(appointments::starts_at.asc())
        .select(AppointmentRow::as_select())
        .load(conn)?)
}

/// Every appointment starting in `[from, to)`, any status, by start.
pub fn starting_between(
    s: &mut Scoped<'_>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Vec<AppointmentRow>> {
    let (tenant, conn) = s.parts();
    Ok(appointments::table
        .filter(appointments::tenant_id.eq(tenant))
        .filter(appointments::starts_at.ge(from))
        .filter(appointments::starts_at.lt(to))
        .order(appointments::starts_at.asc())
        .select(AppointmentRow::as_select())
        .load(conn)?)
}

/// A member's appointments, most recent start first, at most `limit`.
pub fn of_member(
    s: &mut Scoped<'_>,
    member_id: &str,
    limit: i64,
) -> StoreResult<Vec<AppointmentRow>> {
    let (tenant, conn) = s.parts();
    Ok(appointments::table
        .filter(appointments::tenant_id.eq(tenant))
        .filter(appointments::member_id.eq(member_id))
        .order(appointments::starts_at.desc())
        .limit(limit)
        .select(AppointmentRow::as_select())
        .load(conn)?)
}

/// Locks the pro's account row until the end of the transaction, so that one pro's appointments are decided one
/// at a time; false when there is no such account.
pub fn lock_pro(s: &mut Scoped<'_>, pro_id: &str) -> StoreResult<bool> {
    use crate::schema::accounts;
    let (tenant, conn) = s.parts();
    let locked = crate::load_locked!(
        conn,
        accounts::table
            .filter(accounts::tenant_id.eq(tenant))
            .filter(accounts::id.eq(pro_id))
            .select(accounts::id),
        String
    )?;
    Ok(!locked.is_empty())
}

/// True when `member_id` has (or had) an appointment, any status, with `pro_id`.
pub fn member_booked_with(s: &mut Scoped<'_>, member_id: &str, pro_id: &str) -> StoreResult<bool> {
    let (tenant, conn) = s.parts();
    let found: i64 = appointments::table
        .filter(appointments::tenant_id.eq(tenant))
        .filter(appointments::member_id.eq(member_id))
        .filter(appointments::pro_id.eq(pro_id))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Turns the unpaid bookings whose hold ended by `now` into `expired`, freeing their slots; returns how many.
pub fn release_expired_holds(s: &mut Scoped<'_>, now: NaiveDateTime) -> StoreResult<usize> {
    let (tenant, conn) = s.parts();
    Ok(diesel::update(
        appointments::table
            .filter(appointments::tenant_id.eq(tenant))
            .filter(appointments::status.eq("pending_payment"))
            .filter(appointments::hold_until.le(now)),
    )
    .set((
        appointments::status.eq("expired"),
        appointments::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// The appointments an invoice pays for.
pub fn of_invoice(s: &mut Scoped<'_>, invoice_id: &str) -> StoreResult<Vec<AppointmentRow>> {
    let (tenant, conn) = s.parts();
    Ok(appointments::table
        .filter(appointments::tenant_id.eq(tenant))
        .filter(appointments::invoice_id.eq(invoice_id))
        .select(AppointmentRow::as_select())
        .load(conn)?)
}
