//! Paired devices and their pairing codes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{device_pairings, devices};
use crate::{Scoped, StoreResult};

/// A paired device.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = devices, treat_none_as_null = true)]
pub struct DeviceRow {
    /// Tenant.
    pub tenant_id: String,
    /// `dev_...`.
    pub id: String,
    /// `kiosk`, `door` or `body_analyzer`.
    pub kind: String,
    /// A name people recognise ("Front turnstile").
    pub name: String,
    /// Where it stands.
    pub location_id: Option<String>,
    /// `active` or `revoked`.
    pub status: String,
    /// SHA-256 of the device's secret, hex.
    pub secret_hash: String,
    /// A door refuses a second entry without an exit.
    pub anti_passback: bool,
    /// How the door's NFC reader orders a UID's bytes: `msb` or `lsb` first.
    pub nfc_byte_order: String,
    /// Firmware the device last reported.
    pub firmware: Option<String>,
    /// Software version the device last reported.
    pub app_version: Option<String>,
    /// Last call.
    pub last_seen_at: Option<NaiveDateTime>,
    /// Allowlist version when its door settings last changed: older deltas are refused for a full snapshot.
    pub config_version: i64,
    /// Paired.
    pub paired_at: NaiveDateTime,
    /// Revoked.
    pub revoked_at: Option<NaiveDateTime>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// A pairing code waiting for its device.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = device_pairings)]
pub struct PairingRow {
    /// Tenant.
    pub tenant_id: String,
    /// `dpr_...`.
    pub id: String,
    /// SHA-256 of the code, hex.
    pub code_hash: String,
    /// Kind of the device to be.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its location.
    pub location_id: Option<String>,
    /// Anti-passback for a door.
    pub anti_passback: bool,
    /// NFC byte order.
    pub nfc_byte_order: String,
    /// Last instant the code works.
    pub expires_at: NaiveDateTime,
    /// When it was exchanged.
    pub used_at: Option<NaiveDateTime>,
    /// The device it made.
    pub device_id: Option<String>,
    /// Who made it.
    pub created_by: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
}

/// Stores a device.
pub fn insert(s: &mut Scoped<'_>, row: &DeviceRow) -> StoreResult<()> {
    diesel::insert_into(devices::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// Writes every column of a device.
pub fn update(s: &mut Scoped<'_>, row: &DeviceRow) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        devices::table
            .filter(devices::tenant_id.eq(tenant))
            .filter(devices::id.eq(&row.id)),
    )
    .set(row)
    .execute(conn)?;
    Ok(())
}

/// One device.
pub fn find(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<DeviceRow>> {
    let (tenant, conn) = s.parts();
    Ok(devices::table
        .filter(devices::tenant_id.eq(tenant))
        .filter(devices::id.eq(id))
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()?)
}

/// Devices by id.
pub fn find_many(s: &mut Scoped<'_>, ids: &[String]) -> StoreResult<Vec<DeviceRow>> {
    let (tenant, conn) = s.parts();
    let query = devices::table
        .filter(devices::tenant_id.eq(tenant))
        .select(DeviceRow::as_select());
    Ok(crate::load_any_of!(query, devices::id, ids, conn)?)
}

/// Every device of the realm, by id.
pub fn all(s: &mut Scoped<'_>) -> StoreResult<Vec<DeviceRow>> {
    let (tenant, conn) = s.parts();
    Ok(devices::table
        .filter(devices::tenant_id.eq(tenant))
        .order(devices::id.asc())
        .select(DeviceRow::as_select())
        .load(conn)?)
}

/// Records a device's call: when, and the versions it reported.
pub fn touch(
    s: &mut Scoped<'_>,
    id: &str,
    at: NaiveDateTime,
    firmware: Option<&str>,
    app_version: Option<&str>,
) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    let target = devices::table
        .filter(devices::tenant_id.eq(tenant))
        .filter(devices::id.eq(id));
    diesel::update(target)
        .set(devices::last_seen_at.eq(at))
        .execute(conn)?;
    if let Some(firmware) = firmware {
        diesel::update(target)
            .set(devices::firmware.eq(firmware))
            .execute(conn)?;
    }
    if let Some(version) = app_version {
        diesel::update(target)
            .set(devices::app_version.eq(version))
            .execute(conn)?;
    }
    Ok(())
}

/// Stores a pairing code.
pub fn insert_pairing(s: &mut Scoped<'_>, row: &PairingRow) -> StoreResult<()> {
    diesel::insert_into(device_pairings::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// The pairing with this code hash, locked for the exchange.
pub fn find_pairing_locked(s: &mut Scoped<'_>, code_hash: &str) -> StoreResult<Option<PairingRow>> {
    let (tenant, conn) = s.parts();
    let rows = crate::load_locked!(
        conn,
        device_pairings::table
            .filter(device_pairings::tenant_id.eq(tenant))
            .filter(device_pairings::code_hash.eq(code_hash))
            .select(PairingRow::as_select()),
        PairingRow
    )?;
    Ok(rows.into_iter().next())
}

/// Marks a pairing used by `device_id`; false when another exchange got there first.
pub fn use_pairing(
    s: &mut Scoped<'_>,
    id: &str,
    device_id: &str,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    let (tenant, conn) = s.parts();
    let n = diesel::update(
        device_pairings::table
            .filter(device_pairings::tenant_id.eq(tenant))
            .filter(device_pairings::id.eq(id))
            .filter(device_pairings::used_at.is_null()),
    )
    .set((
        device_pairings::used_at.eq(at),
        device_pairings::device_id.eq(device_id),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
