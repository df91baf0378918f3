//! Services pros deliver by appointment.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::services;
use crate::{Scoped, StoreResult};

/// A service.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = services, primary_key(tenant_id, id), treat_none_as_null = true)]
pub struct ServiceRow {
    /// Tenant.
    pub tenant_id: String,
    /// `svc_...`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Length.
    pub duration_minutes: i32,
    /// Free time the pro needs before.
    pub buffer_before_minutes: i32,
    /// Free time the pro needs after.
    pub buffer_after_minutes: i32,
    /// List price, minor units.
    pub price_amount: i64,
    /// Its currency.
    pub price_currency: String,
    /// Pros who deliver it, a JSON array of account ids.
    pub pro_ids_json: String,
    /// `in_person` or `video`.
    pub mode: String,
    /// The room it takes, if any.
    pub room_id: Option<String>,
    /// Bookable.
    pub active: bool,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// Stores a service.
pub fn insert(s: &mut Scoped<'_>, row: &ServiceRow) -> StoreResult<()> {
    diesel::insert_into(services::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// Saves a service's changeable fields.
pub fn update(s: &mut Scoped<'_>, row: &ServiceRow) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        services::table
            .filter(services::tenant_id.eq(tenant))
            .filter(services::id.eq(&row.id)),
    )
    .set(row)
    .execute(conn)?;
    Ok(())
}

/// One service.
pub fn find(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<ServiceRow>> {
    let (tenant, conn) = s.parts();
    Ok(services::table
        .filter(services::tenant_id.eq(tenant))
        .filter(services::id.eq(id))
        .select(ServiceRow::as_select())
        .first(conn)
        .optional()?)
}

/// A page of services after `after`.
pub fn list(s: &mut Scoped<'_>, after: Option<&str>, limit: i64) -> StoreResult<Vec<ServiceRow>> {
    let (tenant, conn) = s.parts();
    let mut query = services::table
        .filter(services::tenant_id.eq(tenant.to_owned()))
        .order(services::id.asc())
        .limit(limit)
        .select(ServiceRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(services::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}
