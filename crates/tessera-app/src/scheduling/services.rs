//! Services pros deliver by appointment (length, buffers, price, pros, in person or video) and their bookable
//! slots over a date range.

use chrono::Duration;
use serde::Deserialize;
use tessera_domain::ids::IdKind;
use tessera_domain::money::Money;
use tessera_domain::role::Permission;
use tessera_domain::scheduling::slots::{blocked, bookable_slots, Busy, SlotQuery};
use tessera_domain::scheduling::time::{local_date, start_of_local_day};
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::services::{self, ServiceRow};
use tessera_store::models::{appointments, classes, locations};
use tessera_store::{utc, Scoped, TxMode};

use super::hours::load_week;
use super::places::check_name;
use super::views::{List, ServiceView, SlotView};
use super::{check_range, find_pro, location_zones, parse_day, policy, tenant_of, tenant_tz};
use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::pagination::{Page, PageRequest};
use crate::{naive, App, AppError, AppResult, Ctx};

/// A new service.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewService {
    /// Name.
    pub name: String,
    /// Length in minutes (5 to 480).
    pub duration_minutes: i64,
    /// Free minutes the pro needs before (default 0).
    #[serde(default)]
    pub buffer_before_minutes: i64,
    /// Free minutes the pro needs after (default 0).
    #[serde(default)]
    pub buffer_after_minutes: i64,
    /// List price.
    pub price: Money,
    /// Pros who deliver it (accounts with the pro role).
    pub pro_ids: Vec<String>,
    /// `in_person` (default) or `video`.
    pub mode: Option<String>,
    /// The room it takes (in person only).
    pub room_id: Option<String>,
    /// Bookable (default true).
    pub active: Option<bool>,
}

/// Changes to a service; absent fields are kept.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateService {
    /// Name.
    pub name: Option<String>,
    /// List price.
    pub price: Option<Money>,
    /// Pros who deliver it.
    pub pro_ids: Option<Vec<String>>,
    /// Bookable.
    pub active: Option<bool>,
}

fn check_minutes(errors: &mut FieldErrors, field: &str, value: i64, min: i64, max: i64) -> i32 {
    if !(min..=max).contains(&value) {
        errors.push(FieldError::new(
            field,
            "out_of_range",
            format!("{min} to {max} minutes"),
        ));
    }
    value.clamp(min, max) as i32
}

fn check_price(errors: &mut FieldErrors, price: &Money) -> Option<Money> {
    errors.check("price", Money::parse_price(price.amount, &price.currency))
}

fn check_pros(s: &mut Scoped<'_>, errors: &mut FieldErrors, pro_ids: &[String]) -> AppResult<()> {
    if pro_ids.is_empty() {
        errors.push(FieldError::new(
            "pro_ids",
            "required",
            "at least one pro delivers a service",
        ));
    }
    for (i, id) in pro_ids.iter().enumerate() {
        if find_pro(s, id).is_err() {
            errors.push(FieldError::new(
                format!("pro_ids[{i}]"),
                "unknown_pro",
                "not a pro of this brand",
            ));
        }
    }
    Ok(())
}

/// Slots a query asks for.
#[derive(Debug, Clone, Default)]
pub struct SlotsQuery {
    /// First local day (`YYYY-MM-DD`, the brand's time zone); today by default.
    pub from: Option<String>,
    /// Last local day, inclusive; a week after `from` by default; at most 62 days.
    pub to: Option<String>,
    /// Only this pro.
    pub pro: Option<String>,
}

impl App {
    /// Creates a service.
    pub async fn create_service(&self, ctx: &Ctx, input: NewService) -> AppResult<ServiceView> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::ScheduleManage)?;
                let mut errors = FieldErrors::default();
                let name = check_name(&mut errors, "name", &input.name);
                let duration = check_minutes(
                    &mut errors,
                    "duration_minutes",
                    input.duration_minutes,
                    5,
                    480,
                );
                let before = check_minutes(
                    &mut errors,
                    "buffer_before_minutes",
                    input.buffer_before_minutes,
                    0,
                    240,
                );
                let after = check_minutes(
                    &mut errors,
                    "buffer_after_minutes",
                    input.buffer_after_minutes,
                    0,
                    240,
                );
                let price = check_price(&mut errors, &input.price);
                let mode = input.mode.clone().unwrap_or_else(|| "in_person".into());
                if mode != "in_person" && mode != "video" {
                    errors.push(FieldError::new(
                        "mode",
                        "invalid_mode",
                        "in_person or video",
                    ));
                }
                check_pros(s, &mut errors, &input.pro_ids)?;
                if let Some(room) = &input.room_id {
                    if mode == "video" {
                        errors.push(FieldError::new(
                            "room_id",
                            "not_allowed",
                            "a video service takes no room",
                        ));
                    } else if locations::find_room(s, room)?.is_none() {
                        errors.push(FieldError::new("room_id", "unknown_room", "no such room"));
                    }
                }
                errors.into_result()?;
                let price = price.ok_or_else(|| AppError::Internal("price checked".into()))?;
                let row = ServiceRow {
                    tenant_id: tenant_id.clone(),
                    id: IdKind::Service.new_id(),
                    name,
                    duration_minutes: duration,
                    buffer_before_minutes: before,
                    buffer_after_minutes: after,
                    price_amount: price.amount,
                    price_currency: price.currency,
                    pro_ids_json: serde_json::json!(input.pro_ids).to_string(),
                    mode,
                    room_id: input.room_id,
                    active: input.active.unwrap_or(true),
                    created_at: naive(now),
                    updated_at: naive(now),
                };
                services::insert(s, &row)?;
                audit::record(
                    s,
                    &ctx,
                    Event::on("service.created", "service", &row.id),
                    now,
                )?;
                Ok(row.into())
            })
        })
        .await
    }

    /// Changes a service.
    pub async fn update_service(
        &self,
        ctx: &Ctx,
        id: &str,
        input: UpdateService,
    ) -> AppResult<ServiceView> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::ScheduleManage)?;
                let mut row = services::find(s, &id)?.ok_or(AppError::NotFound("service"))?;
                let mut errors = FieldErrors::default();
                if let Some(name) = &input.name {
                    row.name = check_name(&mut errors, "name", name);
                }
                if let Some(price) = &input.price {
                    if let Some(price) = check_price(&mut errors, price) {
                        row.price_amount = price.amount;
                        row.price_currency = price.currency;
                    }
                }
                if let Some(pros) = &input.pro_ids {
                    check_pros(s, &mut errors, pros)?;
                    row.pro_ids_json = serde_json::json!(pros).to_string();
                }
                if let Some(active) = input.active {
                    row.active = active;
                }
                errors.into_result()?;
                row.updated_at = naive(now);
                services::update(s, &row)?;
                audit::record(
                    s,
                    &ctx,
                    Event::on("service.updated", "service", &row.id),
                    now,
                )?;
                Ok(row.into())
            })
        })
        .await
    }

    /// A page of services.
    pub async fn list_services(
        &self,
        ctx: &Ctx,
        page: PageRequest,
    ) -> AppResult<Page<ServiceView>> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let rows = services::list(s, page.after.as_deref(), page.limit + 1)?;
                let views = rows.into_iter().map(ServiceView::from).collect();
                Ok(Page::from_rows(views, page.limit, |v: &ServiceView| &v.id))
            })
        })
        .await
    }

    /// One service.
    pub async fn get_service(&self, ctx: &Ctx, id: &str) -> AppResult<ServiceView> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                Ok(services::find(s, &id)?
                    .ok_or(AppError::NotFound("service"))?
                    .into())
            })
        })
        .await
    }

    /// Bookable slots of a service, for one pro or all its pros, over local days of the brand's time zone.
    pub async fn service_slots(
        &self,
        ctx: &Ctx,
        id: &str,
        query: SlotsQuery,
    ) -> AppResult<List<SlotView>> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let tz = tenant_tz(&tenant);
        let now = self.clock().now();
        let today = local_date(tz, now);
        let from = parse_day("from", query.from.as_deref(), today)?;
        let to = parse_day("to", query.to.as_deref(), from + Duration::days(6))?;
        check_range(from, to, 62)?;
        let step = policy(&tenant).slot_step_minutes;
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let service = services::find(s, &id)?.ok_or(AppError::NotFound("service"))?;
                let view = ServiceView::from(service.clone());
                let pros: Vec<String> = match &query.pro {
                    Some(pro) if view.pro_ids.contains(pro) => vec![pro.clone()],
                    Some(_) => {
                        return Err(AppError::invalid(
                            "pro",
                            FieldError::new(
                                "",
                                "pro_not_offering",
                                "this pro does not deliver this service",
                            ),
                        ))
                    }
                    None => view.pro_ids.clone(),
                };
                if !service.active {
                    return Ok(List { data: Vec::new() });
                }
                let zones = location_zones(s, tz)?;
                let window_start = start_of_local_day(tz, from).unwrap_or(now) - Duration::days(1);
                let window_end = start_of_local_day(tz, to + Duration::days(1)).unwrap_or(now)
                    + Duration::days(1);
                let slot_query = SlotQuery {
                    from,
                    until: to,
                    duration_minutes: service.duration_minutes.max(1) as u32,
                    buffer_before_minutes: service.buffer_before_minutes.max(0) as u32,
                    buffer_after_minutes: service.buffer_after_minutes.max(0) as u32,
                    step_minutes: step,
                    now,
                };
                let mut data = Vec::new();
                for pro in pros {
                    let (week, exceptions) = load_week(s, &pro)?;
                    let busy = busy_of(s, &pro, window_start, window_end)?;
                    for slot in bookable_slots(&slot_query, &week, &exceptions, &busy, |l| {
                        zones.get(l).copied().unwrap_or(tz)
                    }) {
                        data.push(SlotView {
                            start: slot.start,
                            end: slot.end,
                            pro_id: pro.clone(),
                            location_id: slot.location_id,
                        });
                    }
                }
                data.sort_by(|a, b| (a.start, &a.pro_id).cmp(&(b.start, &b.pro_id)));
                Ok(List { data })
            })
        })
        .await
    }
}

/// What already takes a pro's time between `from` and `to`: appointments (with their buffers) and the class
/// sessions they teach.
pub(crate) fn busy_of(
    s: &mut Scoped<'_>,
    pro_id: &str,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> AppResult<Vec<Busy>> {
    let mut busy: Vec<Busy> = appointments::of_pro_between(s, pro_id, naive(from), naive(to))?
        .into_iter()
        .map(|a| Busy {
            start: utc(a.block_start),
            end: utc(a.block_end),
        })
        .collect();
    for session in classes::sessions_between(s, naive(from), naive(to), Some(pro_id), 10_000)? {
        if session.status != "cancelled" {
            busy.push(Busy {
                start: utc(session.starts_at),
                end: utc(session.ends_at),
            });
        }
    }
    Ok(busy)
}

/// The blocked time of an appointment of `service` at `start`.
pub(crate) fn block_of(service: &ServiceRow, start: chrono::DateTime<chrono::Utc>) -> Busy {
    blocked(
        start,
        service.duration_minutes.max(1) as u32,
        service.buffer_before_minutes.max(0) as u32,
        service.buffer_after_minutes.max(0) as u32,
    )
}
