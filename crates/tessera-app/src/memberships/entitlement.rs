//! What a member's memberships give them for one booking: the one rule that booking services (classes and
//! appointments) ask before they take a place, in the booking's own transaction.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tessera_domain::gym::membership::MembershipStatus;
use tessera_domain::gym::plan::{AccessRefused, AccessRules};
use tessera_domain::money::Money;
use tessera_store::models::memberships::{self, MembershipRow};
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

fn refused(code: &'static str, detail: &str) -> AppError {
    AppError::Conflict {
        code,
        detail: detail.to_owned(),
    }
}

fn refusal(reason: AccessRefused) -> AppError {
    let detail = match reason {
        AccessRefused::ClassNotIncluded => "the member's plan does not include this class",
        AccessRefused::LocationNotIncluded => "the member's plan is not valid at this location",
        AccessRefused::OutsideAccessHours => "the member's plan does not cover this day or hour",
    };
    refused(reason.code(), detail)
}

/// The memberships of a member that are running on the booking's day.
fn running(
    s: &mut Scoped<'_>,
    member_id: &str,
    day: chrono::NaiveDate,
) -> AppResult<Vec<MembershipRow>> {
    Ok(memberships::of_account(s, member_id)?
        .into_iter()
        .filter(|m| {
            MembershipStatus::parse(&m.status).is_some_and(MembershipStatus::grants_access)
                && m.starts_on <= day
                && m.ends_on.is_none_or(|end| day < end)
        })
        .collect())
}

/// Refuses a member who owes money: a membership `past_due` or `suspended` (billing's dunning) blocks every
/// new booking until the overdue invoices are paid (which reinstates it at once).
fn check_not_overdue(s: &mut Scoped<'_>, member_id: &str) -> AppResult<()> {
    let overdue = memberships::of_account(s, member_id)?.into_iter().any(|m| {
        matches!(
            MembershipStatus::parse(&m.status),
            Some(MembershipStatus::PastDue | MembershipStatus::Suspended)
        )
    });
    if overdue {
        return Err(refused(
            "payment_overdue",
            "the member has overdue invoices: pay them to book again",
        ));
    }
    Ok(())
}

/// Finds what covers `need` for `member_id` (times read in the brand's zone `tz`), or refuses with a stable
/// code (409): `payment_overdue` (checked first, for classes and appointments alike), `no_active_membership`, `class_not_included`, `location_not_included`, `outside_access_hours`,
/// `visit_limit_reached`, `pack_exhausted`. Appointments for services no plan includes are not refused: they
/// are priced.
pub fn entitlement(
    s: &mut Scoped<'_>,
    tz: Tz,
    member_id: &str,
    need: &Need<'_>,
) -> AppResult<Entitlement> {
    check_not_overdue(s, member_id)?;
    match need {
        Need::Class {
            class_type,
            location_id,
            at,
        } => {
            let local = at.with_timezone(&tz).naive_local();
            let candidates = running(s, member_id, local.date())?;
            if candidates.is_empty() {
                return Err(refused(
                    "no_active_membership",
                    "the member has no running membership on that day",
                ));
            }
            // Unlimited memberships first, packs after: a pack session is only spent when nothing else covers.
            let mut ordered = candidates;
            ordered.sort_by_key(|m| m.sessions_total.is_some());
            let mut first_refusal = None;
            for m in &ordered {
                let rules: AccessRules = serde_json::from_str(&m.access_json).unwrap_or_default();
                if let Err(reason) = rules.admits_class(class_type, location_id, local) {
                    first_refusal.get_or_insert(refusal(reason));
                    continue;
                }
                if let Some(limit) = rules.visits_per_week {
                    let visits = crate::clients::visits_in_week(s, member_id, tz, *at)?;
                    if visits >= u64::from(limit) {
                        first_refusal.get_or_insert(refused(
                            "visit_limit_reached",
                            "the member's plan allows no more visits this week",
                        ));
                        continue;
                    }
                }
                if let Some(total) = m.sessions_total {
                    if m.sessions_used >= total {
                        first_refusal.get_or_insert(refused(
                            "pack_exhausted",
                            "no session left in the pack",
                        ));
                        continue;
                    }
                }
                return Ok(Entitlement {
                    membership_id: Some(m.id.clone()),
                    price: Money::zero(&m.currency),
                    consumes_session: m.sessions_total.is_some(),
                });
            }
            Err(first_refusal
                .unwrap_or_else(|| refused("no_active_membership", "no membership covers it")))
        }
        Need::Service {
            service_id,
            location_id,
            at,
            list_price,
        } => {
            let local = at.with_timezone(&tz).naive_local();
            let mut best: Option<Entitlement> = None;
            for m in running(s, member_id, local.date())? {
                let rules: AccessRules = serde_json::from_str(&m.access_json).unwrap_or_default();
                if rules.admits(*location_id, local).is_err() || m.currency != list_price.currency {
                    continue;
                }
                if let Some(price) = rules.service_price(service_id, list_price.amount) {
                    if best.as_ref().is_none_or(|b| price < b.price.amount) {
                        best = Some(Entitlement {
                            membership_id: Some(m.id.clone()),
                            price: Money {
                                amount: price,
                                currency: m.currency.clone(),
                            },
                            consumes_session: false,
                        });
                    }
                }
            }
            Ok(best.unwrap_or_else(|| Entitlement {
                membership_id: None,
                price: (*list_price).clone(),
                consumes_session: false,
            }))
        }
    }
}

/// Takes the session a booking consumes from its class pack, in the booking's transaction; refuses with
/// `pack_exhausted` when none is left (the update is conditional, so concurrent bookings cannot overdraw).
pub fn consume(s: &mut Scoped<'_>, entitlement: &Entitlement) -> AppResult<()> {
    match (&entitlement.membership_id, entitlement.consumes_session) {
        (Some(id), true) => {
            if memberships::take_session(s, id)? {
                Ok(())
            } else {
                Err(refused("pack_exhausted", "no session left in the pack"))
            }
        }
        _ => Ok(()),
    }
}

/// Gives a class-pack session back (a booking cancelled in time).
pub fn give_back(s: &mut Scoped<'_>, membership_id: &str) -> AppResult<()> {
    memberships::give_back_session(s, membership_id)?;
    Ok(())
}
