//! What the scheduling API shows: times in UTC (RFC 3339), money as `{amount, currency}`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_domain::money::Money;
use tessera_domain::scheduling::time::format_minute_of_day;
use tessera_store::models::{
    appointments::AppointmentRow, classes, locations, pro_hours, services,
};
use tessera_store::utc;

/// A location.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LocationView {
    /// `loc_...`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Postal address.
    pub address: Option<String>,
    /// IANA time zone.
    pub time_zone: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<locations::LocationRow> for LocationView {
    fn from(row: locations::LocationRow) -> Self {
        LocationView {
            id: row.id,
            name: row.name,
            address: row.address,
            time_zone: row.time_zone,
            created_at: utc(row.created_at),
        }
    }
}

/// A room.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoomView {
    /// `room_...`.
    pub id: String,
    /// Its location.
    pub location_id: String,
    /// Name.
    pub name: String,
    /// People at once.
    pub capacity: i32,
}

impl From<locations::RoomRow> for RoomView {
    fn from(row: locations::RoomRow) -> Self {
        RoomView {
            id: row.id,
            location_id: row.location_id,
            name: row.name,
            capacity: row.capacity,
        }
    }
}

/// A service.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServiceView {
    /// `svc_...`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Length in minutes.
    pub duration_minutes: i32,
    /// Free minutes the pro needs before.
    pub buffer_before_minutes: i32,
    /// Free minutes the pro needs after.
    pub buffer_after_minutes: i32,
    /// List price.
    pub price: Money,
    /// Pros who deliver it.
    pub pro_ids: Vec<String>,
    /// `in_person` or `video`.
    pub mode: String,
    /// The room it takes, if any.
    pub room_id: Option<String>,
    /// Bookable.
    pub active: bool,
}

impl From<services::ServiceRow> for ServiceView {
    fn from(row: services::ServiceRow) -> Self {
        ServiceView {
            pro_ids: serde_json::from_str(&row.pro_ids_json).unwrap_or_default(),
            id: row.id,
            name: row.name,
            duration_minutes: row.duration_minutes,
            buffer_before_minutes: row.buffer_before_minutes,
            buffer_after_minutes: row.buffer_after_minutes,
            price: Money {
                amount: row.price_amount,
                currency: row.price_currency,
            },
            mode: row.mode,
            room_id: row.room_id,
            active: row.active,
        }
    }
}

/// A weekly working period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HoursView {
    /// 1 Monday ... 7 Sunday.
    pub weekday: i32,
    /// Local start, `HH:MM`.
    pub start: String,
    /// Local end, `HH:MM`.
    pub end: String,
    /// Where.
    pub location_id: String,
}

/// Days off.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExceptionView {
    /// First day.
    pub from: String,
    /// Last day (inclusive).
    pub until: String,
    /// Why.
    pub reason: Option<String>,
}

/// A pro's hours and exceptions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProHoursView {
    /// The pro.
    pub pro_id: String,
    /// Weekly periods.
    pub hours: Vec<HoursView>,
    /// Days off.
    pub exceptions: Vec<ExceptionView>,
}

impl ProHoursView {
    /// From stored rows.
    pub fn of(
        pro_id: &str,
        hours: Vec<pro_hours::HoursRow>,
        exceptions: Vec<pro_hours::ExceptionRow>,
    ) -> Self {
        ProHoursView {
            pro_id: pro_id.to_owned(),
            hours: hours
                .into_iter()
                .map(|h| HoursView {
                    weekday: h.weekday,
                    start: format_minute_of_day(h.start_minute.max(0) as u32),
                    end: format_minute_of_day(h.end_minute.max(0) as u32),
                    location_id: h.location_id,
                })
                .collect(),
            exceptions: exceptions
                .into_iter()
                .map(|e| ExceptionView {
                    from: e.from_date,
                    until: e.until_date,
                    reason: e.reason,
                })
                .collect(),
        }
    }
}

/// A bookable slot.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlotView {
    /// Start.
    #[serde(serialize_with = "rfc3339_seconds")]
    pub start: DateTime<Utc>,
    /// End.
    #[serde(serialize_with = "rfc3339_seconds")]
    pub end: DateTime<Utc>,
    /// The pro.
    pub pro_id: String,
    /// Where.
    pub location_id: String,
}

/// Writes a UTC time as `YYYY-MM-DDTHH:MM:SSZ` (what chrono writes for whole seconds), without chrono's general
/// formatter: slot lists hold hundreds of times.
fn rfc3339_seconds<S: serde::Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use chrono::{Datelike, Timelike};
    let mut out = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for k in (at..at + width).rev() {
            out[k] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, at.year().clamp(0, 9999) as u32);
    put(5, 2, at.month());
    put(8, 2, at.day());
    put(11, 2, at.hour());
    put(14, 2, at.minute());
    put(17, 2, at.second());
    serializer.serialize_str(std::str::from_utf8(&out).map_err(serde::ser::Error::custom)?)
}

/// Bookable slots.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlotList {
    /// Slots in time order.
    pub data: Vec<SlotView>,
}

/// An appointment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AppointmentView {
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
    /// The room.
    pub room_id: Option<String>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// `booked`, `pending_payment` (booked with online payment, not paid yet), `expired` (not paid in time),
    /// `cancelled`, `late_cancelled`, `attended`, `no_show`.
    pub status: String,
    /// What the member owes for it.
    pub price: Money,
    /// The membership that covers it.
    pub membership_id: Option<String>,
    /// A late-cancellation or no-show fee.
    pub fee: Option<Money>,
    /// The invoice to pay, for one booked with online payment.
    pub invoice_id: Option<String>,
    /// Until when a `pending_payment` booking holds its slot.
    pub hold_until: Option<DateTime<Utc>>,
}

impl From<AppointmentRow> for AppointmentView {
    fn from(row: AppointmentRow) -> Self {
        AppointmentView {
            fee: fee(row.fee_amount, row.fee_currency),
            id: row.id,
            service_id: row.service_id,
            pro_id: row.pro_id,
            member_id: row.member_id,
            location_id: row.location_id,
            room_id: row.room_id,
            starts_at: utc(row.starts_at),
            ends_at: utc(row.ends_at),
            status: row.status,
            price: Money {
                amount: row.price_amount,
                currency: row.price_currency,
            },
            membership_id: row.membership_id,
            invoice_id: row.invoice_id,
            hold_until: row.hold_until.map(utc),
        }
    }
}

fn fee(amount: Option<i64>, currency: Option<String>) -> Option<Money> {
    match (amount, currency) {
        (Some(amount), Some(currency)) => Some(Money { amount, currency }),
        _ => None,
    }
}

/// A recurring class.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    /// `cls_...`.
    pub id: String,
    /// Class type code.
    pub class_type: String,
    /// The pro.
    pub pro_id: String,
    /// Where.
    pub location_id: String,
    /// The room.
    pub room_id: String,
    /// Places.
    pub capacity: i32,
    /// 1 Monday ... 7 Sunday.
    pub weekday: i32,
    /// Local start, `HH:MM`.
    pub start_time: String,
    /// Length in minutes.
    pub duration_minutes: i32,
    /// First day.
    pub valid_from: String,
    /// Last day, if it ends.
    pub valid_until: Option<String>,
    /// Sessions generated by this request (creation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions_generated: Option<usize>,
}

impl From<classes::ScheduleRow> for ScheduleView {
    fn from(row: classes::ScheduleRow) -> Self {
        ScheduleView {
            id: row.id,
            class_type: row.class_type,
            pro_id: row.pro_id,
            location_id: row.location_id,
            room_id: row.room_id,
            capacity: row.capacity,
            weekday: row.weekday,
            start_time: format_minute_of_day(row.start_minute.max(0) as u32),
            duration_minutes: row.duration_minutes,
            valid_from: row.valid_from,
            valid_until: row.valid_until,
            sessions_generated: None,
        }
    }
}

/// A class session.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionView {
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
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Places.
    pub capacity: i32,
    /// Places taken.
    pub booked: i64,
    /// People waiting.
    pub waitlisted: i64,
}

impl SessionView {
    /// A session with its counts.
    pub fn of(row: classes::SessionRow, booked: i64, waitlisted: i64) -> Self {
        SessionView {
            id: row.id,
            schedule_id: row.schedule_id,
            class_type: row.class_type,
            pro_id: row.pro_id,
            location_id: row.location_id,
            room_id: row.room_id,
            starts_at: utc(row.starts_at),
            ends_at: utc(row.ends_at),
            capacity: row.capacity,
            booked,
            waitlisted,
        }
    }
}

/// A member's booking in a class session.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BookingView {
    /// `bkg_...`.
    pub id: String,
    /// The session.
    pub session_id: String,
    /// The member.
    pub member_id: String,
    /// `booked`, `waitlisted`, `cancelled`, `late_cancelled`, `attended`, `no_show`.
    pub status: String,
    /// 1-based place on the waitlist, while waitlisted.
    pub waitlist_position: Option<i64>,
    /// What the member owes.
    pub price: Money,
    /// The membership that covers it.
    pub membership_id: Option<String>,
    /// A late-cancellation or no-show fee.
    pub fee: Option<Money>,
    /// Checked in.
    pub checked_in_at: Option<DateTime<Utc>>,
}

impl BookingView {
    /// A booking, with its waitlist position when waitlisted.
    pub fn of(row: classes::BookingRow, waitlist_position: Option<i64>) -> Self {
        BookingView {
            fee: fee(row.fee_amount, row.fee_currency),
            id: row.id,
            session_id: row.session_id,
            member_id: row.member_id,
            status: row.status,
            waitlist_position,
            price: Money {
                amount: row.price_amount,
                currency: row.price_currency,
            },
            membership_id: row.membership_id,
            checked_in_at: row.checked_in_at.map(utc),
        }
    }
}

/// A list without paging (bounded by its query).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct List<T> {
    /// The rows.
    pub data: Vec<T>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn slot_times_are_written_like_chrono_writes_them() {
        let at = chrono::DateTime::parse_from_rfc3339("2027-03-28T07:05:09Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let view = super::SlotView {
            start: at,
            end: at,
            pro_id: "p".into(),
            location_id: "l".into(),
        };
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["start"], serde_json::to_value(at).unwrap());
        assert_eq!(json["start"], "2027-03-28T07:05:09Z");
    }
}
