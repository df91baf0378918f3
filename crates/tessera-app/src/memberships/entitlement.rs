//! What a member's memberships give them for one booking: the one rule that booking services (classes and
//! appointments) ask before they take a place, in the booking's own transaction.

use chrono::{DateTime, Utc};
use tessera_domain::money::Money;
use tessera_store::Scoped;

use crate::{AppError, AppResult};

/// What a booking needs.
#[derive(Debug, Clone)]
pub enum Need<'a> {
    /// A place in a class session of `class_type` at `location_id`, starting at `at`.
    Class {
        /// The class type's code (`yoga`, `hiit`...).
        class_type: &'a str,
        /// Where the session takes place.
        location_id: &'a str,
        /// When it starts.
        at: DateTime<Utc>,
    },
    /// An appointment for `service_id` at `location_id` (`None` for a video session), starting at `at`.
    Service {
        /// The service.
        service_id: &'a str,
        /// Where, or `None` for video.
        location_id: Option<&'a str>,
        /// When it starts.
        at: DateTime<Utc>,
        /// The service's list price, paid in full when no plan includes or discounts it.
        list_price: &'a Money,
    },
}

/// What covers a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    /// The membership that covers it, if any.
    pub membership_id: Option<String>,
    /// What the member owes for this booking (zero when included); billing charges it.
    pub price: Money,
    /// True when the booking takes one session of a class pack (given back by [`give_back`]).
    pub consumes_session: bool,
}

/// Finds what covers `need` for `member_id`, or refuses with a stable code (409): `no_active_membership`,
/// `class_not_included`, `location_not_included`, `outside_access_hours`, `visit_limit_reached`,
/// `pack_exhausted`. Appointments for services no plan includes are not refused: they are priced.
pub fn entitlement(
    _s: &mut Scoped<'_>,
    _member_id: &str,
    _need: &Need<'_>,
) -> AppResult<Entitlement> {
    Err(AppError::Internal(
        "entitlements arrive with the memberships module".into(),
    ))
}

/// Takes the session a booking consumes from its class pack, in the booking's transaction; refuses with
/// `pack_exhausted` when none is left.
pub fn consume(_s: &mut Scoped<'_>, _entitlement: &Entitlement) -> AppResult<()> {
    Err(AppError::Internal(
        "entitlements arrive with the memberships module".into(),
    ))
}

/// Gives a class-pack session back (a booking cancelled in time).
pub fn give_back(_s: &mut Scoped<'_>, _membership_id: &str) -> AppResult<()> {
    Err(AppError::Internal(
        "entitlements arrive with the memberships module".into(),
    ))
}
