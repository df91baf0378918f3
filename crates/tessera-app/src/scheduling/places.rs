//! Locations (name, address, time zone defaulting to the brand's) and their rooms (capacity above zero).

use serde::Deserialize;
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_domain::scheduling::time::parse_time_zone;
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::locations::{self, LocationRow, RoomRow};
use tessera_store::TxMode;

use super::tenant_of;
use super::views::{List, LocationView, RoomView};
use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::pagination::{Page, PageRequest};
use crate::{naive, App, AppError, AppResult, Ctx};

/// A new location.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLocation {
    /// Name.
    pub name: String,
    /// Postal address, one line.
    pub address: Option<String>,
    /// IANA time zone; the brand's when absent.
    pub time_zone: Option<String>,
}

/// A new room.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRoom {
    /// Name.
    pub name: String,
    /// People at once, above zero.
    pub capacity: i64,
}

/// Checks a required short text.
pub(crate) fn check_name(errors: &mut FieldErrors, field: &str, value: &str) -> String {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 120 {
        errors.push(FieldError::new(
            field,
            "invalid_name",
            "1 to 120 characters",
        ));
    }
    value.to_owned()
}

impl App {
    /// Creates a location.
    pub async fn create_location(&self, ctx: &Ctx, input: NewLocation) -> AppResult<LocationView> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let mut errors = FieldErrors::default();
        let name = check_name(&mut errors, "name", &input.name);
        let zone = input
            .time_zone
            .clone()
            .unwrap_or_else(|| tenant.config.time_zone.clone());
        errors.check("time_zone", parse_time_zone(&zone));
        errors.into_result()?;
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::ScheduleManage)?;
                let row = LocationRow {
                    tenant_id: tenant_id.clone(),
                    id: IdKind::Location.new_id(),
                    name,
                    address: input
                        .address
                        .map(|a| a.trim().to_owned())
                        .filter(|a| !a.is_empty()),
                    time_zone: zone,
                    created_at: naive(now),
                    updated_at: naive(now),
                };
                locations::insert(s, &row)?;
                audit::record(
                    s,
                    &ctx,
                    Event::on("location.created", "location", &row.id),
                    now,
                )?;
                Ok(row.into())
            })
        })
        .await
    }

    /// A page of locations (any signed-in account of the brand).
    pub async fn list_locations(
        &self,
        ctx: &Ctx,
        page: PageRequest,
    ) -> AppResult<Page<LocationView>> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let rows = locations::list(s, page.after.as_deref(), page.limit + 1)?;
                let views = rows.into_iter().map(LocationView::from).collect();
                Ok(Page::from_rows(views, page.limit, |v: &LocationView| &v.id))
            })
        })
        .await
    }

    /// One location.
    pub async fn get_location(&self, ctx: &Ctx, id: &str) -> AppResult<LocationView> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                Ok(locations::find(s, &id)?
                    .ok_or(AppError::NotFound("location"))?
                    .into())
            })
        })
        .await
    }

    /// Adds a room to a location.
    pub async fn create_room(
        &self,
        ctx: &Ctx,
        location_id: &str,
        input: NewRoom,
    ) -> AppResult<RoomView> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let mut errors = FieldErrors::default();
        let name = check_name(&mut errors, "name", &input.name);
        if !(1..=10_000).contains(&input.capacity) {
            errors.push(FieldError::new(
                "capacity",
                "invalid_capacity",
                "a capacity is 1 to 10000",
            ));
        }
        let now = self.clock().now();
        let (ctx, app, location_id) = (ctx.clone(), self.clone(), location_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::ScheduleManage)?;
                let location =
                    locations::find(s, &location_id)?.ok_or(AppError::NotFound("location"))?;
                errors.into_result()?;
                let row = RoomRow {
                    tenant_id: tenant_id.clone(),
                    id: IdKind::Room.new_id(),
                    location_id: location.id,
                    name,
                    capacity: input.capacity as i32,
                    created_at: naive(now),
                };
                locations::insert_room(s, &row)?;
                audit::record(s, &ctx, Event::on("room.created", "room", &row.id), now)?;
                Ok(row.into())
            })
        })
        .await
    }

    /// A location's rooms.
    pub async fn list_rooms(&self, ctx: &Ctx, location_id: &str) -> AppResult<List<RoomView>> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let (ctx, app, location_id) = (ctx.clone(), self.clone(), location_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let location =
                    locations::find(s, &location_id)?.ok_or(AppError::NotFound("location"))?;
                let data = locations::rooms_of(s, &location.id)?
                    .into_iter()
                    .map(RoomView::from)
                    .collect();
                Ok(List { data })
            })
        })
        .await
    }
}
