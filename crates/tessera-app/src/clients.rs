//! Who is whose client: a member is a pro's client once they have an appointment or a class booking with the
//! pro. Member notes (a pro reads only their clients') ask here.

use tessera_store::Scoped;

use crate::AppResult;

/// True when `member_id` has (or had) an appointment or a class booking with `pro_id`. Appointments and
/// class bookings arrive with the scheduling module; until then no pro has clients.
pub fn is_client_of(_s: &mut Scoped<'_>, _pro_id: &str, _member_id: &str) -> AppResult<bool> {
    Ok(false)
}

/// Visits (class bookings not cancelled) of a member in the calendar week (Monday to Sunday, brand time) of
/// `at`, for plans that limit visits per week. Class bookings arrive with the scheduling module; until then
/// there are none.
pub fn visits_in_week(
    _s: &mut Scoped<'_>,
    _member_id: &str,
    _tz: chrono_tz::Tz,
    _at: chrono::DateTime<chrono::Utc>,
) -> AppResult<u64> {
    Ok(0)
}
