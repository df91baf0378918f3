//! Recurring class schedules and the sessions generated from them (on creation, `[booking] class_weeks_ahead`
//! weeks ahead; generating again never duplicates a session: one per schedule and start, by a unique index).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_domain::scheduling::recurrence::{occurrences, Recurrence};
use tessera_domain::scheduling::time::{
    local_date, parse_date, parse_minute_of_day, parse_time_zone,
};
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::classes::{self, ScheduleRow, SessionRow};
use tessera_store::models::locations;
use tessera_store::{Scoped, TxMode};

use super::views::{ScheduleView, SessionView};
use super::{find_pro, parse_instant, policy, tenant_of, tenant_tz};
use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::pagination::{Page, PageRequest};
use crate::{naive, App, AppError, AppResult, Ctx};

/// Job kind of the nightly generation of class sessions (every tenant, 00:20 brand time).
pub const GENERATE_KIND: &str = "scheduling.generate_sessions";

/// A new recurring class.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    /// Class type code (`yoga`, `hiit`): lower-case letters, digits, `_` and `-`.
    pub class_type: String,
    /// The pro who teaches it.
    pub pro_id: String,
    /// The room (its location is the class's).
    pub room_id: String,
    /// Places, 1 to the room's capacity.
    pub capacity: i64,
    /// 1 Monday ... 7 Sunday.
    pub weekday: u32,
    /// Local start, `HH:MM`, in the location's time zone.
    pub start_time: String,
    /// Length in minutes.
    pub duration_minutes: i64,
    /// First day, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last day, if it ends.
    pub valid_until: Option<String>,
}

/// Which sessions to list.
#[derive(Debug, Clone, Default)]
pub struct SessionQuery {
    /// From this instant (RFC 3339); now by default.
    pub from: Option<String>,
    /// Until this instant; four weeks after `from` by default; at most 62 days after it.
    pub to: Option<String>,
}

fn valid_code(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Generates the sessions of `schedule` between today and `weeks` weeks ahead; returns how many were new.
pub(crate) fn generate(
    s: &mut Scoped<'_>,
    schedule: &ScheduleRow,
    fallback: chrono_tz::Tz,
    weeks: u32,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let tz = locations::find(s, &schedule.location_id)?
        .and_then(|l| parse_time_zone(&l.time_zone).ok())
        .unwrap_or(fallback);
    let rule = Recurrence {
        weekday: schedule.weekday.max(0) as u32,
        start_minute: schedule.start_minute.max(0) as u32,
        duration_minutes: schedule.duration_minutes.max(1) as u32,
        valid_from: parse_date(&schedule.valid_from)
            .map_err(|e| AppError::Internal(e.to_string()))?,
        valid_until: schedule
            .valid_until
            .as_deref()
            .and_then(|d| parse_date(d).ok()),
    };
    let today = local_date(tz, now);
    let mut created = 0;
    for (start, end) in occurrences(&rule, tz, today, today + Duration::weeks(i64::from(weeks))) {
        let row = SessionRow {
            tenant_id: s.realm_key().to_owned(),
            id: IdKind::ClassSession.new_id(),
            schedule_id: schedule.id.clone(),
            class_type: schedule.class_type.clone(),
            pro_id: schedule.pro_id.clone(),
            location_id: schedule.location_id.clone(),
            room_id: schedule.room_id.clone(),
            starts_at: naive(start),
            ends_at: naive(end),
            capacity: schedule.capacity,
            next_seq: 1,
            status: "scheduled".into(),
            created_at: naive(now),
        };
        if classes::insert_session_if_absent(s, &row)? {
            created += 1;
        }
    }
    Ok(created)
}

/// Counts of booked and waitlisted places per session.
pub(crate) fn counts(s: &mut Scoped<'_>, ids: &[String]) -> AppResult<HashMap<String, (i64, i64)>> {
    let mut out: HashMap<String, (i64, i64)> = HashMap::new();
    for b in classes::bookings_of_sessions(s, ids)? {
        let entry = out.entry(b.session_id.clone()).or_default();
        if classes::HOLDING.contains(&b.status.as_str()) {
            entry.0 += 1;
        } else if b.status == "waitlisted" {
            entry.1 += 1;
        }
    }
    Ok(out)
}

impl App {
    /// Creates a recurring class and generates its sessions ahead.
    pub async fn create_class_schedule(
        &self,
        ctx: &Ctx,
        input: NewSchedule,
    ) -> AppResult<ScheduleView> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let (tz, weeks) = (tenant_tz(&tenant), policy(&tenant).class_weeks_ahead);
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::ScheduleManage)?;
                let mut errors = FieldErrors::default();
                if !valid_code(&input.class_type) {
                    errors.push(FieldError::new(
                        "class_type",
                        "invalid_code",
                        "lower-case letters, digits, _ and -",
                    ));
                }
                if find_pro(s, &input.pro_id).is_err() {
                    errors.push(FieldError::new(
                        "pro_id",
                        "unknown_pro",
                        "not a pro of this brand",
                    ));
                }
                let room = locations::find_room(s, &input.room_id)?;
                match &room {
                    None => errors.push(FieldError::new("room_id", "unknown_room", "no such room")),
                    Some(room) if input.capacity > i64::from(room.capacity) => {
                        errors.push(FieldError::new(
                            "capacity",
                            "over_room_capacity",
                            format!("the room holds {}", room.capacity),
                        ))
                    }
                    Some(_) => {}
                }
                if input.capacity < 1 {
                    errors.push(FieldError::new(
                        "capacity",
                        "invalid_capacity",
                        "a capacity is at least 1",
                    ));
                }
                if !(1..=7).contains(&input.weekday) {
                    errors.push(FieldError::new(
                        "weekday",
                        "out_of_range",
                        "1 (Monday) to 7 (Sunday)",
                    ));
                }
                let start = errors.check("start_time", parse_minute_of_day(&input.start_time));
                if !(5..=600).contains(&input.duration_minutes) {
                    errors.push(FieldError::new(
                        "duration_minutes",
                        "out_of_range",
                        "5 to 600 minutes",
                    ));
                }
                let from = errors.check("valid_from", parse_date(&input.valid_from));
                let until = match &input.valid_until {
                    Some(text) => errors.check("valid_until", parse_date(text)),
                    None => None,
                };
                if let (Some(from), Some(until)) = (from, until) {
                    if until < from {
                        errors.push(FieldError::new(
                            "valid_until",
                            "end_before_start",
                            "ends before it starts",
                        ));
                    }
                }
                errors.into_result()?;
                let (Some(room), Some(start), Some(from)) = (room, start, from) else {
                    return Err(AppError::Internal("checked above".into()));
                };
                let row = ScheduleRow {
                    tenant_id: tenant_id.clone(),
                    id: IdKind::ClassSchedule.new_id(),
                    class_type: input.class_type,
                    pro_id: input.pro_id,
                    location_id: room.location_id,
                    room_id: room.id,
                    capacity: input.capacity as i32,
                    weekday: input.weekday as i32,
                    start_minute: start as i32,
                    duration_minutes: input.duration_minutes as i32,
                    valid_from: from.to_string(),
                    valid_until: until.map(|d| d.to_string()),
                    active: true,
                    created_at: naive(now),
                };
                classes::insert_schedule(s, &row)?;
                let generated = generate(s, &row, tz, weeks, now)?;
                let details = serde_json::json!({ "sessions_generated": generated });
                audit::record(
                    s,
                    &ctx,
                    Event::on("class_schedule.created", "class_schedule", &row.id).with(details),
                    now,
                )?;
                let mut view = ScheduleView::from(row);
                view.sessions_generated = Some(generated);
                Ok(view)
            })
        })
        .await
    }

    /// Generates every active schedule's sessions ahead (idempotent); returns how many were new. Called on
    /// demand by the desk (`POST /api/v1/class-schedules/generate`) and by the nightly job (no actor).
    pub async fn generate_class_sessions(&self, ctx: &Ctx) -> AppResult<usize> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let (tz, weeks) = (tenant_tz(&tenant), policy(&tenant).class_weeks_ahead);
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                if ctx.actor.is_some() {
                    authorize(app.principals(), s, &ctx, Permission::ScheduleManage)?;
                }
                let mut total = 0;
                for schedule in classes::active_schedules(s)? {
                    total += generate(s, &schedule, tz, weeks, now)?;
                }
                Ok(total)
            })
        })
        .await
    }

    /// The nightly job: generates every active schedule's sessions of the tenant `tenant_id` ahead.
    pub async fn generate_sessions_of(&self, tenant_id: &str) -> AppResult<usize> {
        let tenant = self
            .tenants()
            .by_id(tenant_id)
            .ok_or(AppError::NotFound("tenant"))?;
        self.generate_class_sessions(&Ctx::cli(tenant.realm()))
            .await
    }

    /// A page of class schedules.
    pub async fn list_class_schedules(
        &self,
        ctx: &Ctx,
        page: PageRequest,
    ) -> AppResult<Page<ScheduleView>> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let rows = classes::list_schedules(s, page.after.as_deref(), page.limit + 1)?;
                let views = rows.into_iter().map(ScheduleView::from).collect();
                Ok(Page::from_rows(views, page.limit, |v: &ScheduleView| &v.id))
            })
        })
        .await
    }

    /// Class sessions starting in a window, by start, with their counts.
    pub async fn list_class_sessions(
        &self,
        ctx: &Ctx,
        query: SessionQuery,
        page: PageRequest,
    ) -> AppResult<Page<SessionView>> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let now = self.clock().now();
        let from = match query.from.as_deref() {
            Some(t) => parse_instant("from", t)?,
            None => now,
        };
        let to = match query.to.as_deref() {
            Some(t) => parse_instant("to", t)?,
            None => from + Duration::weeks(4),
        };
        if to <= from {
            return Err(AppError::invalid(
                "to",
                FieldError::new("", "end_before_start", "ends before it starts"),
            ));
        }
        if to - from > Duration::days(62) {
            return Err(AppError::invalid(
                "to",
                FieldError::new("", "range_too_long", "at most 62 days"),
            ));
        }
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let mut rows = classes::sessions_between(s, naive(from), naive(to), None, 10_000)?;
                if let Some(after) = &page.after {
                    if let Some(i) = rows.iter().position(|r| &r.id == after) {
                        rows.drain(..=i);
                    }
                }
                rows.truncate(page.limit as usize + 1);
                let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                let counts = counts(s, &ids)?;
                let views = rows
                    .into_iter()
                    .map(|r| {
                        let (booked, waitlisted) = counts.get(&r.id).copied().unwrap_or_default();
                        SessionView::of(r, booked, waitlisted)
                    })
                    .collect();
                Ok(Page::from_rows(views, page.limit, |v: &SessionView| &v.id))
            })
        })
        .await
    }

    /// One class session.
    pub async fn get_class_session(&self, ctx: &Ctx, id: &str) -> AppResult<SessionView> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let row =
                    classes::find_session(s, &id)?.ok_or(AppError::NotFound("class session"))?;
                let (booked, waitlisted) = counts(s, std::slice::from_ref(&row.id))?
                    .get(&row.id)
                    .copied()
                    .unwrap_or_default();
                Ok(SessionView::of(row, booked, waitlisted))
            })
        })
        .await
    }
}
