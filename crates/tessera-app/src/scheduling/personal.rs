//! The scheduling section of a personal-data export or erasure: a member's appointments and class bookings are
//! exported; on erasure the calendar feed goes, and the bookings stay (ids, times, statuses and prices: the basis
//! of fees and invoices, no name or address).

use tessera_store::models::{appointments, calendar_feeds, classes};
use tessera_store::Scoped;

use super::views::{AppointmentView, BookingView};
use crate::personal_data::{Erased, Subject};
use crate::AppResult;

/// Exports the account's appointments, class bookings and whether it has a calendar feed.
pub fn export(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    let id = &subject.account.id;
    let appointments: Vec<AppointmentView> = appointments::of_member(s, id, 100_000)?
        .into_iter()
        .map(AppointmentView::from)
        .collect();
    let bookings: Vec<BookingView> = classes::bookings_of_member(s, id, 100_000)?
        .into_iter()
        .map(|b| BookingView::of(b, None))
        .collect();
    Ok(serde_json::json!({ "appointments": appointments, "class_bookings": bookings }))
}

/// Deletes the calendar feed; keeps the bookings (see the module doc).
pub fn erase(
    s: &mut Scoped<'_>,
    subject: &Subject<'_>,
    _now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Erased> {
    let deleted = calendar_feeds::delete(s, &subject.account.id)?;
    Ok(Erased::new(
        deleted,
        0,
        Some("appointments and class bookings (ids, times, statuses and prices, no name or address): the basis of fees and invoices, kept for the legal retention period"),
    ))
}
