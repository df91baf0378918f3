//! Appointments with pros: book (a member for themself, the desk or a pro for a member), reschedule, cancel
//! (with the brand's late-cancellation window) and read.
//!
//! Concurrency: the pro's account row is locked (`FOR UPDATE` on PostgreSQL; SQLite's writing transaction is
//! already exclusive) before overlapping appointments are counted, and the room row before its occupancy is, so
//! a pro is never in two appointments at once and a room never holds more than its capacity.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tessera_domain::ids::IdKind;
use tessera_domain::money::Money;
use tessera_domain::role::Permission;
use tessera_domain::scheduling::slots::working_period_at;
use tessera_domain::scheduling::{BookingPolicy, CancelOutcome};
use tessera_domain::FieldError;
use tessera_store::models::appointments::{self, AppointmentRow};
use tessera_store::models::services::{self, ServiceRow};
use tessera_store::models::{classes, locations};
use tessera_store::{utc, Scoped, TxMode};

use super::hours::load_week;
use super::services::block_of;
use super::views::AppointmentView;
use super::{
    booking_member, conflict, find_pro, location_zones, may_act_on, parse_instant, policy,
    tenant_of, tenant_tz,
};
use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::memberships::entitlement::{entitlement, Need};
use crate::{naive, App, AppError, AppResult, Ctx};

/// A booking request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppointment {
    /// The service.
    pub service_id: String,
    /// The pro.
    pub pro_id: String,
    /// Start, RFC 3339.
    pub starts_at: String,
    /// The member, when the desk or a pro books for them; a member booking for themself leaves it out.
    pub member_id: Option<String>,
    /// Pay online now: the booking is invoiced at once and holds its slot as `pending_payment` for
    /// [`PAYMENT_HOLD_MINUTES`]; paying the invoice (`POST /api/v1/invoices/{id}/pay`) books it. Only for a
    /// price no membership covers, at a brand with an online payment provider.
    #[serde(default)]
    pub pay_online: bool,
}

/// How long an appointment booked with online payment holds its slot while the member pays.
pub const PAYMENT_HOLD_MINUTES: i64 = 15;

/// A move.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reschedule {
    /// New start, RFC 3339.
    pub starts_at: String,
}

/// Locks the pro's account row until the end of the transaction: appointments of one pro are decided one at a
/// time.
pub(crate) fn lock_pro(s: &mut Scoped<'_>, pro_id: &str) -> AppResult<()> {
    if appointments::lock_pro(s, pro_id)? {
        Ok(())
    } else {
        Err(AppError::NotFound("pro"))
    }
}

/// Checks, under the pro's (and room's) lock, that an appointment of `service` by `pro_id` at `start` fits:
/// in the pro's working hours, clear of their other appointments and classes, the room not full. Returns the
/// location of the working period.
fn check_fits(
    s: &mut Scoped<'_>,
    tz: chrono_tz::Tz,
    service: &ServiceRow,
    pro_id: &str,
    start: DateTime<Utc>,
    except: Option<&str>,
) -> AppResult<String> {
    let block = block_of(service, start);
    let end = start + chrono::Duration::minutes(i64::from(service.duration_minutes));
    let zones = location_zones(s, tz)?;
    let (week, exceptions) = load_week(s, pro_id)?;
    let location = working_period_at(&week, &exceptions, start, end, |l| {
        zones.get(l).copied().unwrap_or(tz)
    })
    .ok_or_else(|| conflict("outside_working_hours", "the pro does not work then"))?;
    lock_pro(s, pro_id)?;
    if appointments::pro_overlaps(s, pro_id, naive(block.start), naive(block.end), except)? > 0 {
        return Err(conflict(
            "pro_unavailable",
            "the pro already has an appointment then",
        ));
    }
    let teaching = classes::sessions_between(
        s,
        naive(block.start - chrono::Duration::hours(12)),
        naive(block.end),
        Some(pro_id),
        1000,
    )?
    .into_iter()
    .any(|c| {
        c.status != "cancelled" && utc(c.ends_at) > block.start && utc(c.starts_at) < block.end
    });
    if teaching {
        return Err(conflict("pro_unavailable", "the pro teaches a class then"));
    }
    if let Some(room_id) = &service.room_id {
        let room = locations::lock_room(s, room_id)?.ok_or(AppError::NotFound("room"))?;
        // A class in the room takes it whole.
        let class_in_room = classes::sessions_between(
            s,
            naive(start - chrono::Duration::hours(12)),
            naive(end),
            None,
            10_000,
        )?
        .into_iter()
        .any(|c| {
            &c.room_id == room_id
                && c.status != "cancelled"
                && utc(c.ends_at) > start
                && utc(c.starts_at) < end
        });
        if class_in_room {
            return Err(conflict("room_full", "a class takes the room then"));
        }
        if appointments::room_overlaps(s, room_id, naive(start), naive(end), except)?
            >= i64::from(room.capacity)
        {
            return Err(conflict("room_full", "the room is full then"));
        }
    }
    Ok(location)
}

fn check_start(policy: &BookingPolicy, start: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<()> {
    policy
        .check_bookable(start, now)
        .map_err(|e| AppError::invalid("starts_at", FieldError::new("", e.code(), e.to_string())))
}

impl App {
    /// Books an appointment.
    pub async fn book_appointment(
        &self,
        ctx: &Ctx,
        input: NewAppointment,
    ) -> AppResult<AppointmentView> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let (tz, rules) = (tenant_tz(&tenant), policy(&tenant));
        let start = parse_instant("starts_at", &input.starts_at)?;
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let member_id = booking_member(s, &principal, input.member_id.as_deref())?;
                let service = services::find(s, &input.service_id)?
                    .filter(|svc| svc.active)
                    .ok_or_else(|| AppError::invalid("service_id", FieldError::new("", "unknown_service", "no such bookable service")))?;
                let pros: Vec<String> = serde_json::from_str(&service.pro_ids_json).unwrap_or_default();
                let pro = find_pro(s, &input.pro_id)
                    .ok()
                    .filter(|p| pros.contains(&p.id))
                    .ok_or_else(|| AppError::invalid("pro_id", FieldError::new("", "pro_not_offering", "this pro does not deliver this service")))?;
                check_start(&rules, start, now)?;
                appointments::release_expired_holds(s, naive(now))?;
                let location = check_fits(s, tz, &service, &pro.id, start, None)?;
                let location = (service.mode != "video").then_some(location);
                let price = Money { amount: service.price_amount, currency: service.price_currency.clone() };
                let covered = entitlement(
                    s,
                    tz,
                    &member_id,
                    &Need::Service { service_id: &service.id, location_id: location.as_deref(), at: start, list_price: &price },
                )?;
                if input.pay_online {
                    if covered.price.amount <= 0 || covered.membership_id.is_some() {
                        return Err(AppError::invalid("pay_online", FieldError::new("", "nothing_to_pay",
                            "a membership covers this appointment: there is nothing to pay online")));
                    }
                    if crate::billing::provider::provider_for(&app, &tenant)?.is_none() {
                        return Err(conflict("online_payment_unavailable", "this brand takes no online payments: book and pay at the desk"));
                    }
                }
                let (status, hold_until) = if input.pay_online {
                    ("pending_payment", Some(naive(now + chrono::Duration::minutes(PAYMENT_HOLD_MINUTES))))
                } else {
                    ("booked", None)
                };
                let block = block_of(&service, start);
                let mut row = AppointmentRow {
                    tenant_id: tenant_id.clone(),
                    id: IdKind::Appointment.new_id(),
                    service_id: service.id.clone(),
                    pro_id: pro.id.clone(),
                    member_id: member_id.clone(),
                    location_id: location,
                    room_id: service.room_id.clone(),
                    starts_at: naive(start),
                    ends_at: naive(start + chrono::Duration::minutes(i64::from(service.duration_minutes))),
                    block_start: naive(block.start),
                    block_end: naive(block.end),
                    status: status.into(),
                    price_amount: covered.price.amount,
                    price_currency: covered.price.currency.clone(),
                    membership_id: covered.membership_id.clone(),
                    fee_amount: None,
                    fee_currency: None,
                    created_by: principal.id.clone(),
                    created_at: naive(now),
                    updated_at: naive(now),
                    cancelled_at: None,
                    attendance_at: None,
                    invoice_id: None,
                    hold_until,
                };
                appointments::insert(s, &row)?;
                if input.pay_online {
                    let local = start.with_timezone(&tz).format("%Y-%m-%d %H:%M");
                    let description = format!("{} — {local}", service.name);
                    let invoice = crate::billing::purchases::invoice_appointment_in(
                        s, &ctx, &app, &tenant, &row, description, now,
                    )?;
                    row.invoice_id = Some(invoice.id);
                    appointments::update(s, &row)?;
                }
                audit::record(s, &ctx, Event::on("appointment.booked", "appointment", &row.id), now)?;
                let data = serde_json::json!({
                    "kind": "appointment", "appointment_id": row.id, "member_id": member_id, "pro_id": pro.id,
                    "service_id": service.id, "starts_at": start, "status": row.status,
                });
                crate::events::publish(s, &ctx, "booking.created", Some(&member_id), data, now)?;
                Ok(row.into())
            })
        })
        .await
    }

    /// One appointment: its member, its pro, or the desk.
    pub async fn get_appointment(&self, ctx: &Ctx, id: &str) -> AppResult<AppointmentView> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let row = appointments::find(s, &id)?
                    .filter(|a| may_act_on(&principal, &a.member_id, &a.pro_id))
                    .ok_or(AppError::NotFound("appointment"))?;
                Ok(row.into())
            })
        })
        .await
    }

    /// Moves an appointment to another start (same service and pro), under the same checks as a booking.
    pub async fn reschedule_appointment(
        &self,
        ctx: &Ctx,
        id: &str,
        input: Reschedule,
    ) -> AppResult<AppointmentView> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let (tz, rules) = (tenant_tz(&tenant), policy(&tenant));
        let start = parse_instant("starts_at", &input.starts_at)?;
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let mut row = appointments::find(s, &id)?
                    .filter(|a| may_act_on(&principal, &a.member_id, &a.pro_id))
                    .ok_or(AppError::NotFound("appointment"))?;
                if row.status != "booked" {
                    return Err(conflict("not_booked", "only a booked appointment can move"));
                }
                rules
                    .cancel_outcome(utc(row.starts_at), now)
                    .map_err(|e| conflict(e.code(), &e.to_string()))?;
                check_start(&rules, start, now)?;
                let service = services::find(s, &row.service_id)?.ok_or(AppError::NotFound("service"))?;
                let location = check_fits(s, tz, &service, &row.pro_id, start, Some(&row.id))?;
                let from = utc(row.starts_at);
                let block = block_of(&service, start);
                row.starts_at = naive(start);
                row.ends_at = naive(start + chrono::Duration::minutes(i64::from(service.duration_minutes)));
                row.block_start = naive(block.start);
                row.block_end = naive(block.end);
                if service.mode != "video" {
                    row.location_id = Some(location);
                }
                row.updated_at = naive(now);
                appointments::update(s, &row)?;
                let details = serde_json::json!({ "from": from, "to": start });
                audit::record(s, &ctx, Event::on("appointment.rescheduled", "appointment", &row.id).with(details), now)?;
                let data = serde_json::json!({
                    "kind": "appointment", "appointment_id": row.id, "member_id": row.member_id, "pro_id": row.pro_id,
                    "from": from, "starts_at": start,
                });
                crate::events::publish(s, &ctx, "booking.rescheduled", Some(&row.member_id), data, now)?;
                Ok(row.into())
            })
        })
        .await
    }

    /// Cancels an appointment: in time, nothing is owed; late, the brand's late-cancellation fee is.
    pub async fn cancel_appointment(&self, ctx: &Ctx, id: &str) -> AppResult<AppointmentView> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let rules = policy(&tenant);
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let mut row = appointments::find(s, &id)?
                    .filter(|a| may_act_on(&principal, &a.member_id, &a.pro_id))
                    .ok_or(AppError::NotFound("appointment"))?;
                if row.status != "booked" {
                    return Err(conflict("not_booked", "this appointment is not booked"));
                }
                let outcome = rules
                    .cancel_outcome(utc(row.starts_at), now)
                    .map_err(|e| conflict(e.code(), &e.to_string()))?;
                let late = match outcome {
                    CancelOutcome::InTime => {
                        row.status = "cancelled".into();
                        false
                    }
                    CancelOutcome::Late { fee } => {
                        row.status = "late_cancelled".into();
                        row.fee_amount = fee.as_ref().map(|f| f.amount);
                        row.fee_currency = fee.map(|f| f.currency);
                        true
                    }
                };
                row.cancelled_at = Some(naive(now));
                row.updated_at = naive(now);
                appointments::update(s, &row)?;
                let details = serde_json::json!({ "late": late });
                audit::record(s, &ctx, Event::on("appointment.cancelled", "appointment", &row.id).with(details), now)?;
                let data = serde_json::json!({
                    "kind": "appointment", "appointment_id": row.id, "member_id": row.member_id, "pro_id": row.pro_id,
                    "late": late, "status": row.status,
                });
                crate::events::publish(s, &ctx, "booking.cancelled", Some(&row.member_id), data, now)?;
                Ok(row.into())
            })
        })
        .await
    }
}

/// Whether an appointment whose hold ended could still take its slot (its pro, room and hours), for one paid late;
/// the pro is locked as for a booking. Any refusal means "no": the payment is recorded either way.
pub(crate) fn slot_still_free_in(
    s: &mut Scoped<'_>,
    tenant: &crate::tenants::Tenant,
    appointment: &AppointmentRow,
) -> AppResult<bool> {
    let Some(service) = services::find(s, &appointment.service_id)? else {
        return Ok(false);
    };
    match check_fits(
        s,
        tenant_tz(tenant),
        &service,
        &appointment.pro_id,
        utc(appointment.starts_at),
        Some(&appointment.id),
    ) {
        Ok(_) => Ok(true),
        Err(AppError::Conflict { .. } | AppError::Validation(_)) => Ok(false),
        Err(other) => Err(other),
    }
}
