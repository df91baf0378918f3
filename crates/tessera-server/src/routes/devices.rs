//! Devices: pairing codes, the device's exchange, listing, changes and revocation, and the device's own view and
//! heartbeat. The rules live in `tessera_app::devices`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use tessera_app::devices::{
    DeviceChanges, DeviceView, Heartbeat, PairDevice, PairedDevice, PairingCode, PairingRequest,
};
use tessera_app::App;

use crate::extract::{ApiJson, PublicCtx, RealmCaller};
use crate::problem::{ApiError, Problem};

/// `POST /api/v1/devices/pairings`: a pairing code (`devices.manage`), valid ten minutes, usable once.
#[utoipa::path(post, path = "/api/v1/devices/pairings", tag = "devices", security(("bearer" = [])),
    request_body = PairingRequest,
    responses((status = 201, body = PairingCode), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_pairing(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<PairingRequest>,
) -> Result<(StatusCode, Json<PairingCode>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_pairing(&caller.0, body.value).await?),
    ))
}

/// `POST /api/v1/devices/pair`: the device exchanges its code for its credential (no bearer token).
#[utoipa::path(post, path = "/api/v1/devices/pair", tag = "devices", request_body = PairDevice,
    responses((status = 201, body = PairedDevice), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn pair_device(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    body: ApiJson<PairDevice>,
) -> Result<(StatusCode, Json<PairedDevice>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.pair_device(&ctx, body.value).await?),
    ))
}

/// `GET /api/v1/devices`: the brand's devices (`devices.manage`).
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", security(("bearer" = [])),
    responses((status = 200, body = Vec<DeviceView>), (status = 403, body = Problem)))]
pub async fn list_devices(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<Vec<DeviceView>>, ApiError> {
    Ok(Json(app.list_devices(&caller.0).await?))
}

/// `GET /api/v1/devices/{id}` (`devices.manage`).
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "devices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceView), (status = 404, body = Problem)))]
pub async fn get_device(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<DeviceView>, ApiError> {
    Ok(Json(app.get_device(&caller.0, &id).await?))
}

/// `PATCH /api/v1/devices/{id}`: rename, move, door settings (`devices.manage`).
#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "devices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Device id")), request_body = DeviceChanges,
    responses((status = 200, body = DeviceView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_device(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<DeviceChanges>,
) -> Result<Json<DeviceView>, ApiError> {
    Ok(Json(app.update_device(&caller.0, &id, body.value).await?))
}

/// `POST /api/v1/devices/{id}/revoke`: the device is refused from its next call (`devices.manage`).
#[utoipa::path(post, path = "/api/v1/devices/{id}/revoke", tag = "devices", security(("bearer" = [])),
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceView), (status = 404, body = Problem)))]
pub async fn revoke_device(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<DeviceView>, ApiError> {
    Ok(Json(app.revoke_device(&caller.0, &id).await?))
}

/// `GET /api/v1/device`: the calling device.
#[utoipa::path(get, path = "/api/v1/device", tag = "devices", security(("device" = [])),
    responses((status = 200, body = DeviceView), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn device_self(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<DeviceView>, ApiError> {
    Ok(Json(app.device_self(&caller.0).await?))
}

/// `POST /api/v1/device/heartbeat`: the calling device reports its firmware and software versions.
#[utoipa::path(post, path = "/api/v1/device/heartbeat", tag = "devices", security(("device" = [])),
    request_body = Heartbeat,
    responses((status = 200, body = DeviceView), (status = 401, body = Problem)))]
pub async fn heartbeat(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<Heartbeat>,
) -> Result<Json<DeviceView>, ApiError> {
    Ok(Json(app.device_heartbeat(&caller.0, body.value).await?))
}
