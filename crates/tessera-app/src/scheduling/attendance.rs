//! Attendance and service hours: the pro (or the desk) confirms presence or no-show for an appointment and for
//! each attendee of a class session (a no-show owes the brand's no-show fee); pros clock in and out; a timesheet
//! sums a pro's confirmed sessions and clocked time over a period.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::ids::IdKind;
use tessera_domain::role::{Permission, Role};
use tessera_domain::scheduling::time::{local_date, start_of_local_day};
use tessera_store::models::appointments;
use tessera_store::models::classes;
use tessera_store::models::pro_hours::{self, ClockRow};
use tessera_store::{utc, TxMode};

use super::views::{AppointmentView, BookingView, List};
use super::{check_range, conflict, find_pro, parse_day, policy, tenant_of, tenant_tz};
use crate::audit::{self, Event};
use crate::auth::{authorize, Principal};
use crate::{naive, App, AppError, AppResult, Ctx};

/// Presence or no-show.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendance {
    /// True: came; false: no-show.
    pub present: bool,
}

/// One attendee's outcome.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendeeOutcome {
    /// The booking.
    pub booking_id: String,
    /// True: came; false: no-show.
    pub present: bool,
}

/// A class session's attendance.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionAttendance {
    /// Outcomes of booked attendees.
    pub attendees: Vec<AttendeeOutcome>,
}

/// A clock entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClockView {
    /// `clk_...`.
    pub id: String,
    /// The pro.
    pub pro_id: String,
    /// In.
    pub clock_in_at: DateTime<Utc>,
    /// Out.
    pub clock_out_at: Option<DateTime<Utc>>,
}

impl From<ClockRow> for ClockView {
    fn from(row: ClockRow) -> Self {
        ClockView {
            id: row.id,
            pro_id: row.pro_id,
            clock_in_at: utc(row.clock_in_at),
            clock_out_at: row.clock_out_at.map(utc),
        }
    }
}

/// A pro's service hours over a period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Timesheet {
    /// The pro.
    pub pro_id: String,
    /// First local day.
    pub from: String,
    /// Last local day (inclusive).
    pub to: String,
    /// Appointments with confirmed attendance (present or no-show: the pro was there).
    pub appointments: i64,
    /// Their minutes.
    pub appointment_minutes: i64,
    /// Class sessions taught with confirmed attendance.
    pub classes: i64,
    /// Their minutes.
    pub class_minutes: i64,
    /// Total confirmed service minutes.
    pub service_minutes: i64,
    /// Minutes between clock-ins and clock-outs.
    pub clocked_minutes: i64,
    /// The clock entries.
    pub clock_entries: Vec<ClockView>,
}

/// The caller is the pro or holds `permission` over every pro (admin, staff).
fn pro_or_desk(principal: &Principal, pro_id: &str) -> AppResult<()> {
    if principal.id == pro_id || principal.has(Role::Admin) || principal.has(Role::Staff) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

impl App {
    /// Confirms presence or no-show for an appointment.
    pub async fn confirm_appointment_attendance(
        &self,
        ctx: &Ctx,
        id: &str,
        input: Attendance,
    ) -> AppResult<AppointmentView> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let rules = policy(&tenant);
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::AttendanceConfirm)?;
                let mut row = appointments::find(s, &id)?.ok_or(AppError::NotFound("appointment"))?;
                pro_or_desk(&principal, &row.pro_id)?;
                if !matches!(row.status.as_str(), "booked" | "attended" | "no_show") {
                    return Err(conflict("not_booked", "this appointment was cancelled"));
                }
                rules
                    .check_attendance(utc(row.starts_at), now)
                    .map_err(|e| conflict(e.code(), &e.to_string()))?;
                row.status = if input.present { "attended" } else { "no_show" }.into();
                let fee = rules.attendance_fee(input.present);
                row.fee_amount = fee.as_ref().map(|f| f.amount);
                row.fee_currency = fee.map(|f| f.currency);
                row.attendance_at = Some(naive(now));
                row.updated_at = naive(now);
                appointments::update(s, &row)?;
                let details = serde_json::json!({ "present": input.present });
                audit::record(s, &ctx, Event::on("attendance.confirmed", "appointment", &row.id).with(details), now)?;
                let data = serde_json::json!({
                    "kind": "appointment", "appointment_id": row.id, "member_id": row.member_id, "pro_id": row.pro_id,
                    "present": input.present,
                });
                crate::events::publish(s, &ctx, "attendance.confirmed", Some(&row.member_id), data, now)?;
                Ok(row.into())
            })
        })
        .await
    }

    /// Confirms presence or no-show for attendees of a class session.
    pub async fn confirm_session_attendance(
        &self,
        ctx: &Ctx,
        session_id: &str,
        input: SessionAttendance,
    ) -> AppResult<List<BookingView>> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let rules = policy(&tenant);
        let now = self.clock().now();
        let (ctx, app, session_id) = (ctx.clone(), self.clone(), session_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::AttendanceConfirm)?;
                let session = classes::lock_session(s, &session_id)?.ok_or(AppError::NotFound("class session"))?;
                pro_or_desk(&principal, &session.pro_id)?;
                rules
                    .check_attendance(utc(session.starts_at), now)
                    .map_err(|e| conflict(e.code(), &e.to_string()))?;
                let mut out = Vec::new();
                for (i, outcome) in input.attendees.iter().enumerate() {
                    let mut row = classes::find_booking(s, &outcome.booking_id)?
                        .filter(|b| b.session_id == session.id)
                        .ok_or_else(|| AppError::invalid(
                            &format!("attendees[{i}].booking_id"),
                            tessera_domain::FieldError::new("", "unknown_booking", "not a booking of this session"),
                        ))?;
                    if !matches!(row.status.as_str(), "booked" | "attended" | "no_show") {
                        return Err(conflict("not_booked", "only booked attendees have an attendance"));
                    }
                    row.status = if outcome.present { "attended" } else { "no_show" }.into();
                    let fee = rules.attendance_fee(outcome.present);
                    row.fee_amount = fee.as_ref().map(|f| f.amount);
                    row.fee_currency = fee.map(|f| f.currency);
                    row.updated_at = naive(now);
                    classes::update_booking(s, &row)?;
                    let details = serde_json::json!({ "present": outcome.present });
                    audit::record(s, &ctx, Event::on("attendance.confirmed", "class_booking", &row.id).with(details), now)?;
                    let data = serde_json::json!({
                        "kind": "class", "booking_id": row.id, "session_id": session.id, "member_id": row.member_id,
                        "present": outcome.present,
                    });
                    crate::events::publish(s, &ctx, "attendance.confirmed", Some(&row.member_id), data, now)?;
                    out.push(BookingView::of(row, None));
                }
                Ok(List { data: out })
            })
        })
        .await
    }

    /// Clocks a pro in (the pro themself or the desk); refused while an entry is open.
    pub async fn clock_in(&self, ctx: &Ctx, pro_id: &str) -> AppResult<ClockView> {
        self.clock_change(ctx, pro_id, true).await
    }

    /// Clocks a pro out; refused when not clocked in.
    pub async fn clock_out(&self, ctx: &Ctx, pro_id: &str) -> AppResult<ClockView> {
        self.clock_change(ctx, pro_id, false).await
    }

    async fn clock_change(&self, ctx: &Ctx, pro_id: &str, going_in: bool) -> AppResult<ClockView> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, pro_id) = (ctx.clone(), self.clone(), pro_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let pro = find_pro(s, &pro_id)?;
                pro_or_desk(&principal, &pro.id)?;
                super::appointments::lock_pro(s, &pro.id)?;
                let open = pro_hours::open_entry(s, &pro.id)?;
                let row = match (going_in, open) {
                    (true, Some(_)) => {
                        return Err(conflict("already_clocked_in", "clock out first"))
                    }
                    (false, None) => return Err(conflict("not_clocked_in", "clock in first")),
                    (true, None) => {
                        let row = ClockRow {
                            tenant_id: tenant_id.clone(),
                            id: IdKind::ClockEntry.new_id(),
                            pro_id: pro.id.clone(),
                            clock_in_at: naive(now),
                            clock_out_at: None,
                        };
                        pro_hours::clock_in(s, &row)?;
                        row
                    }
                    (false, Some(mut row)) => {
                        pro_hours::clock_out(s, &row.id, naive(now))?;
                        row.clock_out_at = Some(naive(now));
                        row
                    }
                };
                let action = if going_in {
                    "pro.clocked_in"
                } else {
                    "pro.clocked_out"
                };
                audit::record(s, &ctx, Event::on(action, "clock_entry", &row.id), now)?;
                Ok(row.into())
            })
        })
        .await
    }

    /// A pro's timesheet over local days `from..=to` (the brand's time zone; default: the current month so far).
    pub async fn timesheet(
        &self,
        ctx: &Ctx,
        pro_id: &str,
        from: Option<String>,
        to: Option<String>,
    ) -> AppResult<Timesheet> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let tz = tenant_tz(&tenant);
        let now = self.clock().now();
        let today = local_date(tz, now);
        let month_start = today - Duration::days(i64::from(chrono::Datelike::day(&today)) - 1);
        let from = parse_day("from", from.as_deref(), month_start)?;
        let to = parse_day("to", to.as_deref(), today)?;
        check_range(from, to, 370)?;
        let start = start_of_local_day(tz, from).unwrap_or(now);
        let end = start_of_local_day(tz, to + Duration::days(1)).unwrap_or(now);
        let (ctx, app, pro_id) = (ctx.clone(), self.clone(), pro_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let pro = find_pro(s, &pro_id)?;
                if principal.id != pro.id
                    && !Permission::TimesheetsRead.allowed_for(&principal.roles)
                {
                    return Err(AppError::Forbidden);
                }
                let mut sheet = Timesheet {
                    pro_id: pro.id.clone(),
                    from: from.to_string(),
                    to: to.to_string(),
                    appointments: 0,
                    appointment_minutes: 0,
                    classes: 0,
                    class_minutes: 0,
                    service_minutes: 0,
                    clocked_minutes: 0,
                    clock_entries: Vec::new(),
                };
                for a in appointments::of_pro_between(s, &pro.id, naive(start), naive(end))? {
                    if a.starts_at >= naive(start) && a.attendance_at.is_some() {
                        sheet.appointments += 1;
                        sheet.appointment_minutes += (a.ends_at - a.starts_at).num_minutes();
                    }
                }
                let sessions =
                    classes::sessions_between(s, naive(start), naive(end), Some(&pro.id), 10_000)?;
                let ids: Vec<String> = sessions.iter().map(|x| x.id.clone()).collect();
                let confirmed: std::collections::HashSet<String> =
                    classes::bookings_of_sessions(s, &ids)?
                        .into_iter()
                        .filter(|b| b.status == "attended" || b.status == "no_show")
                        .map(|b| b.session_id)
                        .collect();
                for session in sessions.iter().filter(|x| confirmed.contains(&x.id)) {
                    sheet.classes += 1;
                    sheet.class_minutes += (session.ends_at - session.starts_at).num_minutes();
                }
                sheet.service_minutes = sheet.appointment_minutes + sheet.class_minutes;
                for entry in pro_hours::entries_between(s, &pro.id, naive(start), naive(end))? {
                    let out = entry.clock_out_at.unwrap_or(naive(now).min(naive(end)));
                    sheet.clocked_minutes += (out - entry.clock_in_at).num_minutes().max(0);
                    sheet.clock_entries.push(entry.into());
                }
                Ok(sheet)
            })
        })
        .await
    }
}
