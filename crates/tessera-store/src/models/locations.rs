//! Locations (a gym, a studio, with its time zone) and their rooms.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{locations, rooms};
use crate::{Scoped, StoreResult};

/// A location.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = locations)]
pub struct LocationRow {
    /// Tenant.
    pub tenant_id: String,
    /// `loc_...`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Postal address, one line.
    pub address: Option<String>,
    /// IANA time zone.
    pub time_zone: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// A room of a location.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rooms)]
pub struct RoomRow {
    /// Tenant.
    pub tenant_id: String,
    /// `room_...`.
    pub id: String,
    /// Its location.
    pub location_id: String,
    /// Name.
    pub name: String,
    /// People at once, more than 0.
    pub capacity: i32,
    /// Created.
    pub created_at: NaiveDateTime,
}

/// Stores a location.
pub fn insert(s: &mut Scoped<'_>, row: &LocationRow) -> StoreResult<()> {
    diesel::insert_into(locations::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// One location.
pub fn find(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<LocationRow>> {
    let (tenant, conn) = s.parts();
    Ok(locations::table
        .filter(locations::tenant_id.eq(tenant))
        .filter(locations::id.eq(id))
        .select(LocationRow::as_select())
        .first(conn)
        .optional()?)
}

/// Locations by id.
pub fn find_many(s: &mut Scoped<'_>, ids: &[String]) -> StoreResult<Vec<LocationRow>> {
    let (tenant, conn) = s.parts();
    let query = locations::table
        .filter(locations::tenant_id.eq(tenant))
        .select(LocationRow::as_select());
    Ok(crate::load_any_of!(query, locations::id, ids, conn)?)
}

/// Every location of the realm (a brand has few).
pub fn all(s: &mut Scoped<'_>) -> StoreResult<Vec<LocationRow>> {
    let (tenant, conn) = s.parts();
    Ok(locations::table
        .filter(locations::tenant_id.eq(tenant))
        .order(locations::id.asc())
        .select(LocationRow::as_select())
        .load(conn)?)
}

/// A page of locations after `after`.
pub fn list(s: &mut Scoped<'_>, after: Option<&str>, limit: i64) -> StoreResult<Vec<LocationRow>> {
    let (tenant, conn) = s.parts();
    let mut query = locations::table
        .filter(locations::tenant_id.eq(tenant.to_owned()))
        .order(locations::id.asc())
        .limit(limit)
        .select(LocationRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(locations::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Stores a room.
pub fn insert_room(s: &mut Scoped<'_>, row: &RoomRow) -> StoreResult<()> {
    diesel::insert_into(rooms::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// One room.
pub fn find_room(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<RoomRow>> {
    let (tenant, conn) = s.parts();
    Ok(rooms::table
        .filter(rooms::tenant_id.eq(tenant))
        .filter(rooms::id.eq(id))
        .select(RoomRow::as_select())
        .first(conn)
        .optional()?)
}

/// One room, locked until the end of the transaction (its bookings are being counted).
pub fn lock_room(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<RoomRow>> {
    let (tenant, conn) = s.parts();
    let rows = crate::load_locked!(
        conn,
        rooms::table
            .filter(rooms::tenant_id.eq(tenant))
            .filter(rooms::id.eq(id))
            .select(RoomRow::as_select()),
        RoomRow
    )?;
    Ok(rows.into_iter().next())
}

/// A location's rooms.
pub fn rooms_of(s: &mut Scoped<'_>, location_id: &str) -> StoreResult<Vec<RoomRow>> {
    let (tenant, conn) = s.parts();
    Ok(rooms::table
        .filter(rooms::tenant_id.eq(tenant))
        .filter(rooms::location_id.eq(location_id))
        .order(rooms::id.asc())
        .select(RoomRow::as_select())
        .load(conn)?)
}
