//! Devices (`/api/v1/devices`, `/api/v1/device`): pairing codes made by staff (or `tessera device pair`) and
//! exchanged once, within ten minutes, by the device for a credential of its own; listing, renaming, moving and
//! revoking; and the authentication of a device's calls.
//!
//! A device's credential is `tdv.<device id>.<secret>`, sent as a bearer token. Only the secret's SHA-256 is
//! stored. Verifying it reads the device (kept in memory for `auth.principal_cache_ttl_ms`, evicted at once when
//! this process revokes or changes the device): a revoked device is refused on its next call.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tessera_domain::access::credential::ByteOrder;
use tessera_domain::ids::IdKind;
use tessera_domain::realm::Realm;
use tessera_domain::role::Permission;
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::devices::{self, DeviceRow, PairingRow};
use tessera_store::models::{access as access_store, locations};
use tessera_store::{Scoped, TxMode};

use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::tenants::Tenant;
use crate::{naive, token_hash, tokens_random, Actor, ActorKind, App, AppError, AppResult, Ctx};

/// How long a pairing code works.
pub const PAIRING_TTL_MINUTES: i64 = 10;
/// Prefix of device credentials.
pub const TOKEN_PREFIX: &str = "tdv.";
/// Unambiguous letters and digits of pairing codes (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// Kinds of devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A self-service kiosk.
    Kiosk,
    /// A door reader, turnstile or controller.
    Door,
    /// A body-composition analyser.
    BodyAnalyzer,
}

impl DeviceKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Kiosk => "kiosk",
            DeviceKind::Door => "door",
            DeviceKind::BodyAnalyzer => "body_analyzer",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<DeviceKind> {
        match name {
            "kiosk" => Some(DeviceKind::Kiosk),
            "door" => Some(DeviceKind::Door),
            "body_analyzer" => Some(DeviceKind::BodyAnalyzer),
            _ => None,
        }
    }
}

/// A pairing code request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairingRequest {
    /// `kiosk`, `door` or `body_analyzer`.
    pub kind: DeviceKind,
    /// A name people recognise.
    pub name: Option<String>,
    /// Where it stands (required for a door).
    pub location_id: Option<String>,
    /// A door refuses a second entry without an exit (default true for doors).
    pub anti_passback: Option<bool>,
    /// The door's NFC reader writes UIDs `msb` (default) or `lsb` first.
    pub nfc_byte_order: Option<ByteOrder>,
}

/// A pairing code, shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PairingCode {
    /// `dpr_...`.
    pub id: String,
    /// The code to type or scan on the device (`XXXX-XXXX`).
    pub code: String,
    /// What the QR code holds: `tessera-pair:<brand slug>:<code>`.
    pub pairing_uri: String,
    /// The code stops working then.
    pub expires_at: DateTime<Utc>,
    /// Kind of the device to be.
    pub kind: DeviceKind,
    /// Its name.
    pub name: String,
    /// Its location.
    pub location_id: Option<String>,
}

/// What a device sends to pair.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairDevice {
    /// The code.
    pub code: String,
    /// Firmware version.
    pub firmware: Option<String>,
    /// Software version.
    pub app_version: Option<String>,
}

/// What a device gets once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PairedDevice {
    /// The device.
    pub device: DeviceView,
    /// Its credential: send it as `Authorization: Bearer <token>`. Shown once.
    pub token: String,
    /// The brand.
    pub tenant_id: String,
}

/// A device as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeviceView {
    /// `dev_...`.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Location.
    pub location_id: Option<String>,
    /// `active` or `revoked`.
    pub status: String,
    /// Anti-passback (doors).
    pub anti_passback: bool,
    /// NFC byte order (doors).
    pub nfc_byte_order: String,
    /// Firmware last reported.
    pub firmware: Option<String>,
    /// Software version last reported.
    pub app_version: Option<String>,
    /// Last call (to the minute).
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Paired.
    pub paired_at: DateTime<Utc>,
    /// Revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<DeviceRow> for DeviceView {
    fn from(r: DeviceRow) -> Self {
        DeviceView {
            id: r.id,
            kind: r.kind,
            name: r.name,
            location_id: r.location_id,
            status: r.status,
            anti_passback: r.anti_passback,
            nfc_byte_order: r.nfc_byte_order,
            firmware: r.firmware,
            app_version: r.app_version,
            last_seen_at: r.last_seen_at.map(tessera_store::utc),
            paired_at: tessera_store::utc(r.paired_at),
            revoked_at: r.revoked_at.map(tessera_store::utc),
        }
    }
}

/// A change to a device.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceChanges {
    /// New name.
    pub name: Option<String>,
    /// New location.
    pub location_id: Option<String>,
    /// Anti-passback.
    pub anti_passback: Option<bool>,
    /// NFC byte order.
    pub nfc_byte_order: Option<ByteOrder>,
}

/// A heartbeat: what the device runs.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// Firmware version.
    pub firmware: Option<String>,
    /// Software version.
    pub app_version: Option<String>,
}

/// Devices this process read recently, by realm and id.
pub struct DeviceCache {
    ttl: StdDuration,
    entries: Mutex<HashMap<(String, String), (Instant, DeviceRow)>>,
}

/// Most devices remembered (a brand has a few dozen).
const DEVICE_CACHE_MAX: usize = 10_000;

impl DeviceCache {
    /// A cache keeping devices for `ttl` (zero disables it).
    pub fn new(ttl: StdDuration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), (Instant, DeviceRow)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, realm: &str, id: &str) -> Option<DeviceRow> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.lock();
        let (at, row) = entries.get(&(realm.to_owned(), id.to_owned()))?;
        (at.elapsed() < self.ttl).then(|| row.clone())
    }

    fn put(&self, realm: &str, row: &DeviceRow) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= DEVICE_CACHE_MAX {
            entries.clear();
        }
        entries.insert(
            (realm.to_owned(), row.id.clone()),
            (Instant::now(), row.clone()),
        );
    }

    /// Forgets a device after a change.
    pub fn evict(&self, realm: &str, id: &str) {
        self.lock().remove(&(realm.to_owned(), id.to_owned()));
    }
}

fn invalid_device() -> AppError {
    AppError::Unauthenticated {
        code: "invalid_device_credential",
        detail: "the device credential is unknown or revoked; pair the device again".into(),
    }
}

/// The calling device, read in the service's transaction (so a revocation is seen at once), or 403 for people.
pub(crate) fn calling_device(s: &mut Scoped<'_>, ctx: &Ctx) -> AppResult<DeviceRow> {
    calling_devices(s, &crate::access::Known::Database, &[ctx])?
        .pop()
        .unwrap_or_else(|| Err(invalid_device()))
}

/// The calling device of each context, in one read: a paired, active device, or why not.
pub(crate) fn calling_devices(
    s: &mut Scoped<'_>,
    known: &crate::access::Known,
    ctxs: &[&Ctx],
) -> AppResult<Vec<AppResult<DeviceRow>>> {
    let ids: Vec<String> = ctxs
        .iter()
        .filter_map(|c| c.actor.as_ref())
        .filter(|a| a.kind == ActorKind::Device)
        .map(|a| a.subject_id.clone())
        .collect();
    let found: HashMap<String, DeviceRow> = if ids.is_empty() {
        HashMap::new()
    } else {
        known
            .devices(s, &ids)?
            .into_iter()
            .map(|d| (d.id.clone(), d))
            .collect()
    };
    Ok(ctxs
        .iter()
        .map(|ctx| {
            let actor = ctx.actor.as_ref().ok_or(AppError::Unauthenticated {
                code: "unauthenticated",
                detail: "a device credential is required".into(),
            })?;
            if actor.kind != ActorKind::Device {
                return Err(AppError::Denied {
                    code: "device_only",
                    detail: "this route is for paired devices".into(),
                });
            }
            found
                .get(&actor.subject_id)
                .filter(|d| d.status == "active")
                .cloned()
                .ok_or_else(invalid_device)
        })
        .collect())
}

fn new_code() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    let chars: String = (0..8)
        .map(|_| char::from(CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())]))
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// The code as stored: uppercase, without the dash or spaces, hashed.
fn code_hash(code: &str) -> String {
    let folded: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    token_hash(&folded)
}

fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AppError::invalid(
            "name",
            FieldError::new("", "invalid_name", "1 to 80 characters"),
        ));
    }
    Ok(name.to_owned())
}

fn check_location(s: &mut Scoped<'_>, location_id: Option<&str>) -> AppResult<()> {
    if let Some(id) = location_id {
        if locations::find(s, id)?.is_none() {
            return Err(AppError::invalid(
                "location_id",
                FieldError::new("", "unknown_location", "no such location in this brand"),
            ));
        }
    }
    Ok(())
}

/// Makes a pairing code in the transaction, for staff or the command line.
fn make_pairing(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    tenant: &Tenant,
    request: &PairingRequest,
    now: DateTime<Utc>,
) -> AppResult<PairingCode> {
    let mut errors = FieldErrors::default();
    if request.kind == DeviceKind::Door && request.location_id.is_none() {
        errors.push(FieldError::new(
            "location_id",
            "required",
            "a door belongs to a location",
        ));
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    check_location(s, request.location_id.as_deref())?;
    let name = match &request.name {
        Some(name) => check_name(name)?,
        None => format!(
            "{} {}",
            request.kind.as_str(),
            &IdKind::Device.new_id()[20..]
        ),
    };
    let code = new_code();
    let row = PairingRow {
        tenant_id: tenant.id.clone(),
        id: IdKind::DevicePairing.new_id(),
        code_hash: code_hash(&code),
        kind: request.kind.as_str().to_owned(),
        name: name.clone(),
        location_id: request.location_id.clone(),
        anti_passback: request
            .anti_passback
            .unwrap_or(request.kind == DeviceKind::Door),
        nfc_byte_order: request
            .nfc_byte_order
            .unwrap_or(ByteOrder::Msb)
            .as_str()
            .to_owned(),
        expires_at: naive(now + Duration::minutes(PAIRING_TTL_MINUTES)),
        used_at: None,
        device_id: None,
        created_by: ctx.actor.as_ref().map(|a| a.subject_id.clone()),
        created_at: naive(now),
    };
    devices::insert_pairing(s, &row)?;
    audit::record(
        s,
        ctx,
        Event::on("device.pairing_created", "device_pairing", &row.id)
            .with(serde_json::json!({ "kind": row.kind, "location_id": row.location_id })),
        now,
    )?;
    Ok(PairingCode {
        id: row.id,
        pairing_uri: format!("tessera-pair:{}:{code}", tenant.slug),
        code,
        expires_at: now + Duration::minutes(PAIRING_TTL_MINUTES),
        kind: request.kind,
        name,
        location_id: row.location_id,
    })
}

impl App {
    /// The devices this process read recently.
    pub(crate) fn device_cache(&self) -> &DeviceCache {
        &self.inner.devices
    }

    /// Verifies a device credential for `realm` and returns the actor it makes. Read from memory when the device
    /// was read within the cache's time.
    pub async fn authenticate_device(&self, realm: &Realm, token: &str) -> AppResult<Actor> {
        let Realm::Tenant { id: tenant_id, .. } = realm else {
            return Err(invalid_device());
        };
        let rest = token
            .strip_prefix(TOKEN_PREFIX)
            .ok_or_else(invalid_device)?;
        let (device_id, secret) = rest.split_once('.').ok_or_else(invalid_device)?;
        if !IdKind::Device.matches(device_id) {
            return Err(invalid_device());
        }
        let row = match self.device_cache().get(tenant_id, device_id) {
            Some(row) => row,
            None => {
                let (tenant, id) = (tenant_id.clone(), device_id.to_owned());
                let row = self
                    .blocking(move |db| {
                        db.scoped(&tenant, TxMode::Read, |s| Ok(devices::find(s, &id)?))
                    })
                    .await?
                    .ok_or_else(invalid_device)?;
                self.device_cache().put(tenant_id, &row);
                row
            }
        };
        let matches: bool = token_hash(secret)
            .as_bytes()
            .ct_eq(row.secret_hash.as_bytes())
            .into();
        if !matches || row.status != "active" {
            return Err(invalid_device());
        }
        Ok(Actor {
            subject_id: row.id,
            kind: ActorKind::Device,
        })
    }

    /// `POST /api/v1/devices/pairings` (`devices.manage`): a pairing code for a new device.
    pub async fn create_pairing(
        &self,
        ctx: &Ctx,
        request: PairingRequest,
    ) -> AppResult<PairingCode> {
        let (_, tenant) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::DevicesManage)?;
                make_pairing(s, &ctx, &tenant, &request, now)
            })
        })
        .await
    }

    /// `tessera device pair`: a pairing code made by the operator on the server host.
    pub async fn create_pairing_from_cli(
        &self,
        tenant_slug: &str,
        location: Option<&str>,
        mut request: PairingRequest,
    ) -> AppResult<PairingCode> {
        let tenant = self
            .tenants()
            .by_slug(tenant_slug)
            .ok_or(AppError::NotFound("tenant"))?;
        let ctx = Ctx::cli(tenant.realm());
        let now = self.clock().now();
        let location = location.map(str::to_owned);
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                if let Some(wanted) = location {
                    // A location is named by id or by name.
                    let found = locations::all(s)?
                        .into_iter()
                        .find(|l| l.id == wanted || l.name.eq_ignore_ascii_case(&wanted))
                        .ok_or_else(|| {
                            AppError::invalid(
                                "location",
                                FieldError::new("", "unknown_location", "no such location"),
                            )
                        })?;
                    request.location_id = Some(found.id);
                }
                make_pairing(s, &ctx, &tenant, &request, now)
            })
        })
        .await
    }

    /// `POST /api/v1/devices/pair`: the device exchanges its code, once and in time, for its credential.
    pub async fn pair_device(&self, ctx: &Ctx, request: PairDevice) -> AppResult<PairedDevice> {
        let (tenant_id, _) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let secret = tokens_random(32);
        let secret_hash = token_hash(&secret);
        let (ctx, tenant) = (ctx.clone(), tenant_id.clone());
        let refused = || AppError::Unauthenticated {
            code: "invalid_pairing_code",
            detail: "the pairing code is unknown, expired or already used".into(),
        };
        let row = self
            .blocking(move |db| {
                db.scoped(&tenant, TxMode::Write, |s| {
                    let Some(pairing) = devices::find_pairing_locked(s, &code_hash(&request.code))?
                    else {
                        return Ok(None);
                    };
                    if pairing.used_at.is_some() || tessera_store::utc(pairing.expires_at) < now {
                        return Ok(None);
                    }
                    let id = IdKind::Device.new_id();
                    if !devices::use_pairing(s, &pairing.id, &id, naive(now))? {
                        return Ok(None);
                    }
                    let version = access_store::version(s)?;
                    let row = DeviceRow {
                        tenant_id: s.realm_key().to_owned(),
                        id,
                        kind: pairing.kind,
                        name: pairing.name,
                        location_id: pairing.location_id,
                        status: "active".into(),
                        secret_hash,
                        anti_passback: pairing.anti_passback,
                        nfc_byte_order: pairing.nfc_byte_order,
                        firmware: request.firmware,
                        app_version: request.app_version,
                        last_seen_at: Some(naive(now)),
                        config_version: version,
                        paired_at: naive(now),
                        revoked_at: None,
                        created_at: naive(now),
                        updated_at: naive(now),
                    };
                    devices::insert(s, &row)?;
                    let mut device_ctx = ctx.clone();
                    device_ctx.actor = Some(Actor {
                        subject_id: row.id.clone(),
                        kind: ActorKind::Device,
                    });
                    audit::record(
                        s,
                        &device_ctx,
                        Event::on("device.paired", "device", &row.id)
                            .with(serde_json::json!({ "kind": row.kind, "pairing": pairing.id })),
                        now,
                    )?;
                    crate::events::publish(
                        s,
                        &device_ctx,
                        "device.paired",
                        None,
                        serde_json::json!({ "device_id": row.id, "kind": row.kind, "location_id": row.location_id }),
                        now,
                    )?;
                    Ok::<_, AppError>(Some(row))
                })
            })
            .await?
            .ok_or_else(refused)?;
        let token = format!("{TOKEN_PREFIX}{}.{secret}", row.id);
        Ok(PairedDevice {
            device: row.into(),
            token,
            tenant_id,
        })
    }

    /// `GET /api/v1/devices` (`devices.manage`).
    pub async fn list_devices(&self, ctx: &Ctx) -> AppResult<Vec<DeviceView>> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::DevicesManage)?;
                Ok(devices::all(s)?.into_iter().map(DeviceView::from).collect())
            })
        })
        .await
    }

    /// `GET /api/v1/devices/{id}` (`devices.manage`).
    pub async fn get_device(&self, ctx: &Ctx, id: &str) -> AppResult<DeviceView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::DevicesManage)?;
                devices::find(s, &id)?
                    .map(DeviceView::from)
                    .ok_or(AppError::NotFound("device"))
            })
        })
        .await
    }

    /// `PATCH /api/v1/devices/{id}` (`devices.manage`): rename, move, door settings. A moved door gets a full
    /// allowlist on its next sync.
    pub async fn update_device(
        &self,
        ctx: &Ctx,
        id: &str,
        changes: DeviceChanges,
    ) -> AppResult<DeviceView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, id, realm) = (ctx.clone(), self.clone(), id.to_owned(), tenant.clone());
        let view = self
            .blocking(move |db| {
                db.scoped(&tenant, TxMode::Write, |s| {
                    authorize(app.principals(), s, &ctx, Permission::DevicesManage)?;
                    let mut row = devices::find(s, &id)?.ok_or(AppError::NotFound("device"))?;
                    if let Some(name) = &changes.name {
                        row.name = check_name(name)?;
                    }
                    if let Some(location) = &changes.location_id {
                        check_location(s, Some(location))?;
                        row.location_id = Some(location.clone());
                    }
                    if let Some(flag) = changes.anti_passback {
                        row.anti_passback = flag;
                    }
                    if let Some(order) = changes.nfc_byte_order {
                        row.nfc_byte_order = order.as_str().to_owned();
                    }
                    row.config_version = access_store::version(s)?;
                    row.updated_at = naive(now);
                    devices::update(s, &row)?;
                    audit::record(
                        s,
                        &ctx,
                        Event::on("device.updated", "device", &row.id).with(serde_json::json!({
                            "name": row.name, "location_id": row.location_id,
                            "anti_passback": row.anti_passback, "nfc_byte_order": row.nfc_byte_order })),
                        now,
                    )?;
                    Ok(DeviceView::from(row))
                })
            })
            .await?;
        self.device_cache().evict(&realm, &view.id);
        Ok(view)
    }

    /// `POST /api/v1/devices/{id}/revoke` (`devices.manage`): the device is refused from its next call.
    pub async fn revoke_device(&self, ctx: &Ctx, id: &str) -> AppResult<DeviceView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx2, app, id2) = (ctx.clone(), self.clone(), id.to_owned());
        let view = self
            .blocking(move |db| {
                db.scoped(&tenant, TxMode::Write, |s| {
                    authorize(app.principals(), s, &ctx2, Permission::DevicesManage)?;
                    let mut row = devices::find(s, &id2)?.ok_or(AppError::NotFound("device"))?;
                    if row.status != "revoked" {
                        row.status = "revoked".into();
                        row.revoked_at = Some(naive(now));
                        row.updated_at = naive(now);
                        devices::update(s, &row)?;
                        audit::record(
                            s,
                            &ctx2,
                            Event::on("device.revoked", "device", &row.id),
                            now,
                        )?;
                        crate::events::publish(
                            s,
                            &ctx2,
                            "device.revoked",
                            None,
                            serde_json::json!({ "device_id": row.id }),
                            now,
                        )?;
                    }
                    Ok(DeviceView::from(row))
                })
            })
            .await?;
        if let Some(tenant) = ctx.realm.tenant_id() {
            self.device_cache().evict(tenant, &view.id);
        }
        Ok(view)
    }

    /// `GET /api/v1/device`: the calling device reads itself.
    pub async fn device_self(&self, ctx: &Ctx) -> AppResult<DeviceView> {
        self.device_heartbeat(ctx, Heartbeat::default()).await
    }

    /// `POST /api/v1/device/heartbeat`: the calling device reports its versions; last-seen is recorded.
    pub async fn device_heartbeat(&self, ctx: &Ctx, beat: Heartbeat) -> AppResult<DeviceView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let ctx = ctx.clone();
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let mut row = calling_device(s, &ctx)?;
                devices::touch(
                    s,
                    &row.id,
                    naive(now),
                    beat.firmware.as_deref(),
                    beat.app_version.as_deref(),
                )?;
                row.last_seen_at = Some(naive(now));
                row.firmware = beat.firmware.or(row.firmware);
                row.app_version = beat.app_version.or(row.app_version);
                Ok(DeviceView::from(row))
            })
        })
        .await
    }
}
