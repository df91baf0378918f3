//! Scheduling: locations and rooms, services, pros' working hours and bookable slots, appointments, classes and
//! their bookings (with waitlists), attendance, service hours and timesheets, dashboards and calendar feeds.
//!
//! Every write runs in one transaction that authorises the caller, checks the rules of
//! [`tessera_domain::scheduling`], takes the row lock that protects the invariant it could break (the pro's
//! account row for "a pro is never in two appointments at once", the room row for its capacity, the session row
//! for a class's places), writes, records the audit entry and publishes the event.

pub mod appointments;
pub mod attendance;
pub mod bookings;
pub mod calendar;
pub mod classes;
pub mod dashboards;
pub mod demo;
pub mod hours;
pub mod personal;
pub mod places;
pub mod services;
pub mod views;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use tessera_domain::role::Role;
use tessera_domain::scheduling::time::{parse_date, parse_time_zone};
use tessera_domain::scheduling::BookingPolicy;
use tessera_domain::FieldError;
use tessera_store::models::{accounts, locations};
use tessera_store::Scoped;

use crate::auth::Principal;
use crate::tenants::Tenant;
use crate::{App, AppError, AppResult, Ctx};

/// The tenant of a request (scheduling is tenant-only: the group realm has no agenda).
pub(crate) fn tenant_of(app: &App, ctx: &Ctx) -> AppResult<(String, Arc<Tenant>)> {
    let id = ctx
        .realm
        .tenant_id()
        .ok_or(AppError::NotFound("route"))?
        .to_owned();
    let tenant = app
        .tenants()
        .by_id(&id)
        .ok_or(AppError::NotFound("route"))?;
    Ok((id, tenant))
}

/// The tenant's time zone.
pub(crate) fn tenant_tz(tenant: &Tenant) -> Tz {
    parse_time_zone(&tenant.config.time_zone).unwrap_or(chrono_tz::UTC)
}

/// The tenant's booking rules.
pub(crate) fn policy(tenant: &Tenant) -> BookingPolicy {
    tenant.config.booking.clone()
}

/// Parses an RFC 3339 instant of field `field`.
pub(crate) fn parse_instant(field: &str, text: &str) -> AppResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            AppError::invalid(
                field,
                FieldError::new(
                    "",
                    "invalid_time",
                    "an RFC 3339 time, e.g. 2026-03-29T09:00:00Z",
                ),
            )
        })
}

/// Parses an optional `YYYY-MM-DD` of field `field`, or gives `default`.
pub(crate) fn parse_day(
    field: &str,
    text: Option<&str>,
    default: NaiveDate,
) -> AppResult<NaiveDate> {
    match text {
        None | Some("") => Ok(default),
        Some(text) => parse_date(text).map_err(|e| AppError::invalid(field, e)),
    }
}

/// A date range of at most `max_days`, ending on or after its start.
pub(crate) fn check_range(from: NaiveDate, to: NaiveDate, max_days: i64) -> AppResult<()> {
    if to < from {
        return Err(AppError::invalid(
            "to",
            FieldError::new("", "end_before_start", "the range ends before it starts"),
        ));
    }
    if (to - from).num_days() >= max_days {
        return Err(AppError::invalid(
            "to",
            FieldError::new("", "range_too_long", format!("at most {max_days} days")),
        ));
    }
    Ok(())
}

/// The account `id` if it is a pro of the tenant who is not deactivated (an invited pro's hours may be set before
/// they accept).
pub(crate) fn find_pro(s: &mut Scoped<'_>, id: &str) -> AppResult<accounts::AccountRow> {
    let row = accounts::find(s, id)?.ok_or(AppError::NotFound("pro"))?;
    if row.status != "deactivated" && accounts::roles(s, &row.id)?.iter().any(|r| r == "pro") {
        Ok(row)
    } else {
        Err(AppError::NotFound("pro"))
    }
}

/// The account `id` if it is a member of the tenant.
pub(crate) fn find_member(s: &mut Scoped<'_>, id: &str) -> AppResult<accounts::AccountRow> {
    let row = accounts::find(s, id)?.ok_or(AppError::NotFound("member"))?;
    if row.status == "active" && accounts::roles(s, &row.id)?.iter().any(|r| r == "member") {
        Ok(row)
    } else {
        Err(AppError::NotFound("member"))
    }
}

/// Who a booking is for: `member_id` when given (the caller needs `bookings.manage`), else the caller, who must
/// be a member.
pub(crate) fn booking_member(
    s: &mut Scoped<'_>,
    principal: &Principal,
    member_id: Option<&str>,
) -> AppResult<String> {
    match member_id {
        Some(id) if id != principal.id => {
            if !tessera_domain::role::Permission::BookingsManage.allowed_for(&principal.roles) {
                return Err(AppError::Forbidden);
            }
            Ok(find_member(s, id)?.id)
        }
        _ => {
            if !principal.has(Role::Member) {
                return Err(AppError::invalid(
                    "member_id",
                    FieldError::new("", "required", "say which member the booking is for"),
                ));
            }
            Ok(principal.id.clone())
        }
    }
}

/// True when the caller may act on a booking of `member_id` with `pro_id`: the member, that pro, or the desk
/// (admin, staff).
pub(crate) fn may_act_on(principal: &Principal, member_id: &str, pro_id: &str) -> bool {
    principal.id == member_id
        || principal.id == pro_id
        || principal.has(Role::Admin)
        || principal.has(Role::Staff)
}

/// The time zone of each location, for reading working hours; the tenant's for unknown ones.
pub(crate) fn location_zones(
    s: &mut Scoped<'_>,
    fallback: Tz,
) -> AppResult<std::collections::HashMap<String, Tz>> {
    Ok(locations::all(s)?
        .into_iter()
        .map(|l| (l.id, parse_time_zone(&l.time_zone).unwrap_or(fallback)))
        .collect())
}

/// `Conflict` with a code.
pub(crate) fn conflict(code: &'static str, detail: &str) -> AppError {
    AppError::Conflict {
        code,
        detail: detail.to_owned(),
    }
}
