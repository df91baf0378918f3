//! Bookings in class sessions: a place while there is one, else the waitlist (positions in the order requests
//! took the session's lock) or `class_full`; cancellation with the late window; automatic promotion of the
//! first waitlisted member when a place frees; check-in.
//!
//! Every change locks the session row first (`FOR UPDATE` on PostgreSQL; SQLite's writing transaction is already
//! exclusive), so places are counted and taken one request at a time and capacity always holds.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tessera_domain::ids::IdKind;
use tessera_domain::role::{Permission, Role};
use tessera_domain::scheduling::CancelOutcome;
use tessera_store::models::classes::{self, BookingRow, SessionRow};
use tessera_store::{utc, Scoped, TxMode};

use super::views::BookingView;
use super::{booking_member, conflict, may_act_on, policy, tenant_of, tenant_tz};
use crate::audit::{self, Event};
use crate::auth::{authorize, Principal};
use crate::memberships::entitlement::{consume, entitlement, give_back, Need};
use crate::{naive, App, AppError, AppResult, Ctx};

/// A booking request.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBooking {
    /// The member, when the desk or a pro books for them; a member booking for themself leaves it out.
    pub member_id: Option<String>,
}

/// The 1-based waitlist position of `booking` among `all` (the session's bookings by `seq`).
fn position(all: &[BookingRow], booking: &BookingRow) -> Option<i64> {
    (booking.status == "waitlisted").then(|| {
        all.iter()
            .filter(|b| b.status == "waitlisted" && b.seq <= booking.seq)
            .count() as i64
    })
}

fn lock(s: &mut Scoped<'_>, id: &str) -> AppResult<SessionRow> {
    classes::lock_session(s, id)?
        .filter(|r| r.status != "cancelled")
        .ok_or(AppError::NotFound("class session"))
}

/// Promotes waitlisted members, first come first served, while the session has free places and has not started,
/// and returns them; the caller records their audit entries and events afterwards (after every row lock the
/// transaction takes). A waitlisted member whose plan no longer covers the class stays waitlisted and the next one
/// is tried.
pub(crate) fn promote(
    s: &mut Scoped<'_>,
    tz: chrono_tz::Tz,
    session: &SessionRow,
    now: DateTime<Utc>,
) -> AppResult<Vec<BookingRow>> {
    let mut promoted = Vec::new();
    if utc(session.starts_at) <= now {
        return Ok(promoted);
    }
    let all = classes::bookings_of(s, &session.id)?;
    let mut free = i64::from(session.capacity)
        - all
            .iter()
            .filter(|b| classes::HOLDING.contains(&b.status.as_str()))
            .count() as i64;
    for mut waiting in all.into_iter().filter(|b| b.status == "waitlisted") {
        if free <= 0 {
            break;
        }
        let need = Need::Class {
            class_type: &session.class_type,
            location_id: &session.location_id,
            at: utc(session.starts_at),
        };
        let covered = match entitlement(s, tz, &waiting.member_id, &need) {
            Ok(covered) => covered,
            Err(AppError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        };
        if covered.consumes_session {
            match consume(s, &covered) {
                Ok(()) => {}
                Err(AppError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        waiting.status = "booked".into();
        waiting.membership_id = covered.membership_id.clone();
        waiting.consumed = covered.consumes_session;
        waiting.price_amount = covered.price.amount;
        waiting.price_currency = covered.price.currency.clone();
        waiting.updated_at = naive(now);
        classes::update_booking(s, &waiting)?;
        promoted.push(waiting);
        free -= 1;
    }
    Ok(promoted)
}

/// Records the audit entries and events of promotions.
fn record_promotions(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    session: &SessionRow,
    promoted: &[BookingRow],
    now: DateTime<Utc>,
) -> AppResult<()> {
    for booking in promoted {
        audit::record(
            s,
            ctx,
            Event::on("class_booking.promoted", "class_booking", &booking.id),
            now,
        )?;
        let data = serde_json::json!({
            "kind": "class", "booking_id": booking.id, "session_id": session.id, "member_id": booking.member_id,
            "status": "booked",
        });
        crate::events::publish(
            s,
            ctx,
            "booking.promoted",
            Some(&booking.member_id),
            data,
            now,
        )?;
    }
    Ok(())
}

fn may_see(principal: &Principal, booking: &BookingRow, session: &SessionRow) -> bool {
    may_act_on(principal, &booking.member_id, &session.pro_id)
}

impl App {
    /// Books a place in a class session, or a place on its waitlist.
    pub async fn book_class(
        &self,
        ctx: &Ctx,
        session_id: &str,
        input: NewBooking,
    ) -> AppResult<BookingView> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let (rules, tz) = (policy(&tenant), tenant_tz(&tenant));
        let now = self.clock().now();
        let (ctx, app, session_id) = (ctx.clone(), self.clone(), session_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let session = lock(s, &session_id)?;
                let member_id = booking_member(s, &principal, input.member_id.as_deref())?;
                rules
                    .check_bookable(utc(session.starts_at), now)
                    .map_err(|e| conflict(e.code(), "this class has already started"))?;
                let all = classes::bookings_of(s, &session.id)?;
                if all.iter().any(|b| b.member_id == member_id && (b.status == "booked" || b.status == "waitlisted")) {
                    return Err(conflict("already_booked", "this member already has a place or waits for one"));
                }
                let need = Need::Class { class_type: &session.class_type, location_id: &session.location_id, at: utc(session.starts_at) };
                let covered = entitlement(s, tz, &member_id, &need)?;
                let taken = all.iter().filter(|b| classes::HOLDING.contains(&b.status.as_str())).count() as i64;
                let waiting = all.iter().filter(|b| b.status == "waitlisted").count() as i64;
                let status = if taken < i64::from(session.capacity) {
                    "booked"
                } else if waiting < i64::from(rules.waitlist_size) {
                    "waitlisted"
                } else {
                    return Err(conflict("class_full", "the class and its waitlist are full"));
                };
                let consumed = status == "booked" && covered.consumes_session;
                if consumed {
                    consume(s, &covered)?;
                }
                let seq = classes::take_seq(s, &session)?;
                let row = BookingRow {
                    tenant_id: tenant_id.clone(),
                    id: IdKind::ClassBooking.new_id(),
                    session_id: session.id.clone(),
                    member_id: member_id.clone(),
                    status: status.into(),
                    seq,
                    membership_id: covered.membership_id.clone(),
                    consumed,
                    price_amount: covered.price.amount,
                    price_currency: covered.price.currency.clone(),
                    fee_amount: None,
                    fee_currency: None,
                    created_by: principal.id.clone(),
                    created_at: naive(now),
                    updated_at: naive(now),
                    cancelled_at: None,
                    checked_in_at: None,
                };
                classes::insert_booking(s, &row)?;
                let position = (status == "waitlisted").then_some(waiting + 1);
                let details = serde_json::json!({ "status": status, "waitlist_position": position });
                audit::record(s, &ctx, Event::on("class_booking.created", "class_booking", &row.id).with(details), now)?;
                let data = serde_json::json!({
                    "kind": "class", "booking_id": row.id, "session_id": session.id, "member_id": member_id,
                    "status": status, "waitlist_position": position, "starts_at": utc(session.starts_at),
                });
                crate::events::publish(s, &ctx, "booking.created", Some(&member_id), data, now)?;
                Ok(BookingView::of(row, position))
            })
        })
        .await
    }

    /// One class booking: its member, the session's pro, or the desk.
    pub async fn get_class_booking(&self, ctx: &Ctx, id: &str) -> AppResult<BookingView> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let row =
                    classes::find_booking(s, &id)?.ok_or(AppError::NotFound("class booking"))?;
                let session = classes::find_session(s, &row.session_id)?
                    .ok_or(AppError::NotFound("class booking"))?;
                if !may_see(&principal, &row, &session) {
                    return Err(AppError::NotFound("class booking"));
                }
                let all = classes::bookings_of(s, &session.id)?;
                let position = position(&all, &row);
                Ok(BookingView::of(row, position))
            })
        })
        .await
    }

    /// A session's bookings, in order of arrival: the session's pro or the desk.
    pub async fn list_session_bookings(
        &self,
        ctx: &Ctx,
        session_id: &str,
    ) -> AppResult<super::views::List<BookingView>> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let (ctx, app, id) = (ctx.clone(), self.clone(), session_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                let principal =
                    authorize(app.principals(), s, &ctx, Permission::AttendanceConfirm)?;
                let session =
                    classes::find_session(s, &id)?.ok_or(AppError::NotFound("class session"))?;
                if principal.id != session.pro_id
                    && !principal.has(Role::Admin)
                    && !principal.has(Role::Staff)
                {
                    return Err(AppError::Forbidden);
                }
                let all = classes::bookings_of(s, &session.id)?;
                let data = all
                    .iter()
                    .map(|b| BookingView::of(b.clone(), position(&all, b)))
                    .collect();
                Ok(super::views::List { data })
            })
        })
        .await
    }

    /// Cancels a class booking (or leaves the waitlist). A place freed promotes the first waitlisted member.
    pub async fn cancel_class_booking(&self, ctx: &Ctx, id: &str) -> AppResult<BookingView> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let (rules, tz) = (policy(&tenant), tenant_tz(&tenant));
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let found = classes::find_booking(s, &id)?.ok_or(AppError::NotFound("class booking"))?;
                let session = lock(s, &found.session_id)?;
                let mut row = classes::find_booking(s, &id)?.ok_or(AppError::NotFound("class booking"))?;
                if !may_see(&principal, &row, &session) {
                    return Err(AppError::NotFound("class booking"));
                }
                let late = match row.status.as_str() {
                    "waitlisted" => {
                        row.status = "cancelled".into();
                        false
                    }
                    "booked" => match rules
                        .cancel_outcome(utc(session.starts_at), now)
                        .map_err(|e| conflict(e.code(), &e.to_string()))?
                    {
                        CancelOutcome::InTime => {
                            if row.consumed {
                                if let Some(membership) = &row.membership_id {
                                    give_back(s, membership)?;
                                }
                                row.consumed = false;
                            }
                            row.status = "cancelled".into();
                            false
                        }
                        CancelOutcome::Late { fee } => {
                            row.status = "late_cancelled".into();
                            row.fee_amount = fee.as_ref().map(|f| f.amount);
                            row.fee_currency = fee.map(|f| f.currency);
                            true
                        }
                    },
                    _ => return Err(conflict("not_booked", "this booking is not active")),
                };
                row.cancelled_at = Some(naive(now));
                row.updated_at = naive(now);
                classes::update_booking(s, &row)?;
                let promoted = promote(s, tz, &session, now)?;
                let details = serde_json::json!({ "late": late });
                audit::record(s, &ctx, Event::on("class_booking.cancelled", "class_booking", &row.id).with(details), now)?;
                let data = serde_json::json!({
                    "kind": "class", "booking_id": row.id, "session_id": session.id, "member_id": row.member_id,
                    "late": late, "status": row.status,
                });
                crate::events::publish(s, &ctx, "booking.cancelled", Some(&row.member_id), data, now)?;
                record_promotions(s, &ctx, &session, &promoted, now)?;
                Ok(BookingView::of(row, None))
            })
        })
        .await
    }

    /// Checks a member in to their class (the member, the session's pro or the desk), from an hour before it
    /// starts until it ends.
    pub async fn check_in_class_booking(&self, ctx: &Ctx, id: &str) -> AppResult<BookingView> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let mut row =
                    classes::find_booking(s, &id)?.ok_or(AppError::NotFound("class booking"))?;
                let session = classes::find_session(s, &row.session_id)?
                    .ok_or(AppError::NotFound("class booking"))?;
                if !may_see(&principal, &row, &session) {
                    return Err(AppError::NotFound("class booking"));
                }
                if row.status != "booked" {
                    return Err(conflict(
                        "not_booked",
                        "only a booked place can be checked in",
                    ));
                }
                if now < utc(session.starts_at) - chrono::Duration::hours(1)
                    || now > utc(session.ends_at)
                {
                    return Err(conflict(
                        "check_in_closed",
                        "check-in opens an hour before the class and closes at its end",
                    ));
                }
                if row.checked_in_at.is_none() {
                    row.checked_in_at = Some(naive(now));
                    row.updated_at = naive(now);
                    classes::update_booking(s, &row)?;
                    audit::record(
                        s,
                        &ctx,
                        Event::on("class_booking.checked_in", "class_booking", &row.id),
                        now,
                    )?;
                }
                Ok(BookingView::of(row, None))
            })
        })
        .await
    }
}
