//! Who is whose client: a member is a pro's client once they have an appointment or a class booking with the
//! pro. Member notes (a pro reads only their clients') ask here.

use tessera_store::models::{appointments, classes};
use tessera_store::Scoped;

use crate::AppResult;

/// True when `member_id` has (or had) an appointment or a class booking with `pro_id`, whatever its status.
pub fn is_client_of(s: &mut Scoped<'_>, pro_id: &str, member_id: &str) -> AppResult<bool> {
    Ok(appointments::member_booked_with(s, member_id, pro_id)?
        || classes::member_booked_with(s, member_id, pro_id)?)
}

/// Visits (class bookings not cancelled: booked, waitlisted, attended, no-show) of a member in the calendar week
/// (Monday to Sunday, brand time) of `at`, for plans that limit visits per week.
pub fn visits_in_week(
    s: &mut Scoped<'_>,
    member_id: &str,
    tz: chrono_tz::Tz,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<u64> {
    use chrono::Datelike;
    use tessera_domain::scheduling::time::{local_date, start_of_local_day};
    let day = local_date(tz, at);
    let monday = day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()));
    let (Some(from), Some(to)) = (
        start_of_local_day(tz, monday),
        start_of_local_day(tz, monday + chrono::Duration::days(7)),
    ) else {
        return Ok(0);
    };
    let visits = classes::visits_between(s, member_id, from.naive_utc(), to.naive_utc())?;
    Ok(u64::try_from(visits).unwrap_or(0))
}
