//! A pro's weekly working hours per location and their exceptions (leave, holidays), replaced as a whole by the
//! desk or by the pro themself.

use serde::Deserialize;
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_domain::scheduling::hours::validate_week;
use tessera_domain::scheduling::time::{parse_date, parse_minute_of_day};
use tessera_domain::scheduling::{DateRange, WeeklyHours};
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::locations;
use tessera_store::models::pro_hours::{self, ExceptionRow, HoursRow};
use tessera_store::{Scoped, TxMode};

use super::views::ProHoursView;
use super::{find_pro, tenant_of};
use crate::audit::{self, Event};
use crate::auth::{authorize, Principal};
use crate::{App, AppError, AppResult, Ctx};

/// One weekly period as written.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursInput {
    /// 1 Monday ... 7 Sunday.
    pub weekday: u32,
    /// Local start, `HH:MM`.
    pub start: String,
    /// Local end, `HH:MM` (`24:00` is not accepted; use `23:59`).
    pub end: String,
    /// Where.
    pub location_id: String,
}

/// Days off as written.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionInput {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day (inclusive).
    pub until: String,
    /// Why (leave, holiday).
    pub reason: Option<String>,
}

/// A pro's whole week and exceptions.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetHours {
    /// Weekly periods.
    pub hours: Vec<HoursInput>,
    /// Days off.
    #[serde(default)]
    pub exceptions: Vec<ExceptionInput>,
}

/// The caller may manage `pro_id`'s hours: `schedule.manage`, or the pro themself.
fn may_manage_hours(principal: &Principal, pro_id: &str) -> AppResult<()> {
    if principal.id == pro_id || Permission::ScheduleManage.allowed_for(&principal.roles) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// A pro's week and exceptions, as domain values.
pub(crate) fn load_week(
    s: &mut Scoped<'_>,
    pro_id: &str,
) -> AppResult<(Vec<WeeklyHours>, Vec<DateRange>)> {
    let week = pro_hours::hours_of(s, pro_id)?
        .into_iter()
        .map(|h| WeeklyHours {
            weekday: h.weekday.max(0) as u32,
            start_minute: h.start_minute.max(0) as u32,
            end_minute: h.end_minute.max(0) as u32,
            location_id: h.location_id,
        })
        .collect();
    let exceptions = pro_hours::exceptions_of(s, pro_id)?
        .into_iter()
        .filter_map(|e| {
            DateRange::new(
                parse_date(&e.from_date).ok()?,
                parse_date(&e.until_date).ok()?,
            )
            .ok()
        })
        .collect();
    Ok((week, exceptions))
}

impl App {
    /// Replaces a pro's weekly hours and exceptions.
    pub async fn set_pro_hours(
        &self,
        ctx: &Ctx,
        pro_id: &str,
        input: SetHours,
    ) -> AppResult<ProHoursView> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, pro_id) = (ctx.clone(), self.clone(), pro_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let pro = find_pro(s, &pro_id)?;
                may_manage_hours(&principal, &pro.id)?;
                let mut errors = FieldErrors::default();
                let mut week = Vec::new();
                for (i, h) in input.hours.iter().enumerate() {
                    let start =
                        errors.check(&format!("hours[{i}].start"), parse_minute_of_day(&h.start));
                    let end = errors.check(&format!("hours[{i}].end"), parse_minute_of_day(&h.end));
                    if locations::find(s, &h.location_id)?.is_none() {
                        errors.push(FieldError::new(
                            format!("hours[{i}].location_id"),
                            "unknown_location",
                            "no such location",
                        ));
                    }
                    week.push(WeeklyHours {
                        weekday: h.weekday,
                        start_minute: start.unwrap_or(0),
                        end_minute: end.unwrap_or(1),
                        location_id: h.location_id.clone(),
                    });
                }
                if errors.is_empty() {
                    if let Err(e) = validate_week(&week) {
                        errors.0.extend(e.0);
                    }
                }
                let mut exceptions = Vec::new();
                for (i, e) in input.exceptions.iter().enumerate() {
                    let from = errors.check(&format!("exceptions[{i}].from"), parse_date(&e.from));
                    let until =
                        errors.check(&format!("exceptions[{i}].until"), parse_date(&e.until));
                    if let (Some(from), Some(until)) = (from, until) {
                        if let Some(range) =
                            errors.check(&format!("exceptions[{i}]"), DateRange::new(from, until))
                        {
                            exceptions.push((range, e.reason.clone()));
                        }
                    }
                }
                errors.into_result()?;
                let hour_rows: Vec<HoursRow> = week
                    .iter()
                    .map(|h| HoursRow {
                        tenant_id: tenant_id.clone(),
                        id: IdKind::WorkingHours.new_id(),
                        pro_id: pro.id.clone(),
                        location_id: h.location_id.clone(),
                        weekday: h.weekday as i32,
                        start_minute: h.start_minute as i32,
                        end_minute: h.end_minute as i32,
                    })
                    .collect();
                let exception_rows: Vec<ExceptionRow> = exceptions
                    .iter()
                    .map(|(r, reason)| ExceptionRow {
                        tenant_id: tenant_id.clone(),
                        id: IdKind::HoursException.new_id(),
                        pro_id: pro.id.clone(),
                        from_date: r.from.to_string(),
                        until_date: r.until.to_string(),
                        reason: reason.clone(),
                    })
                    .collect();
                pro_hours::replace(s, &pro.id, &hour_rows, &exception_rows)?;
                audit::record(s, &ctx, Event::on("pro_hours.set", "account", &pro.id), now)?;
                Ok(ProHoursView::of(&pro.id, hour_rows, exception_rows))
            })
        })
        .await
    }

    /// A pro's weekly hours and exceptions (anyone signed in: members see when pros work).
    pub async fn get_pro_hours(&self, ctx: &Ctx, pro_id: &str) -> AppResult<ProHoursView> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let (ctx, app, pro_id) = (ctx.clone(), self.clone(), pro_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let pro = find_pro(s, &pro_id)?;
                let hours = pro_hours::hours_of(s, &pro.id)?;
                let exceptions = pro_hours::exceptions_of(s, &pro.id)?;
                Ok(ProHoursView::of(&pro.id, hours, exceptions))
            })
        })
        .await
    }
}
