//! A brand's webhook endpoints, their deliveries and resends. Group-capable: operators may manage them from the
//! brand's host.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Deserializer};
use tessera_app::pagination::{Page, PageRequest};
use tessera_app::webhooks::{
    DeliveryView, EndpointChanges, EndpointView, EndpointWithSecret, NewEndpoint,
};
use tessera_app::App;

use crate::extract::{ApiJson, ApiQuery, GroupCapableCaller};
use crate::problem::{ApiError, Problem};
use crate::routes::staff::PageQuery;

/// A new endpoint.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointRequest {
    /// `https://` URL that receives the POSTs.
    pub url: String,
    /// A note for the brand.
    pub description: Option<String>,
    /// Event types to receive (`*` for all); see `GET /api/v1/events/types`.
    pub event_types: Vec<String>,
}

/// Changes; absent fields are kept, `"description": null` clears the note.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpointRequest {
    /// New URL.
    pub url: Option<String>,
    /// New note, or null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// New filter.
    pub event_types: Option<Vec<String>>,
    /// Enable or disable deliveries.
    pub enabled: Option<bool>,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `GET /api/v1/webhook-endpoints`: the brand's endpoints.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints", tag = "webhooks", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<EndpointView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_endpoints(
    State(app): State<App>,
    caller: GroupCapableCaller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<EndpointView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    Ok(Json(app.list_webhook_endpoints(&caller.0, page).await?))
}

/// `POST /api/v1/webhook-endpoints`: register an endpoint. The answer holds its signing secret, shown once.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints", tag = "webhooks", security(("bearer" = [])),
    request_body = CreateEndpointRequest,
    responses((status = 201, body = EndpointWithSecret), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_endpoint(
    State(app): State<App>,
    caller: GroupCapableCaller,
    body: ApiJson<CreateEndpointRequest>,
) -> Result<(StatusCode, Json<EndpointWithSecret>), ApiError> {
    let request = body.value;
    let input = NewEndpoint {
        url: request.url,
        description: request.description,
        event_types: request.event_types,
    };
    let created = app.create_webhook_endpoint(&caller.0, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /api/v1/webhook-endpoints/{id}`: one endpoint.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = EndpointView), (status = 404, body = Problem)))]
pub async fn get_endpoint(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>, ApiError> {
    Ok(Json(app.get_webhook_endpoint(&caller.0, &id).await?))
}

/// `PATCH /api/v1/webhook-endpoints/{id}`: change URL, note, filter or state.
#[utoipa::path(patch, path = "/api/v1/webhook-endpoints/{id}", tag = "webhooks", security(("bearer" = [])),
    request_body = UpdateEndpointRequest, params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = EndpointView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_endpoint(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path(id): Path<String>,
    body: ApiJson<UpdateEndpointRequest>,
) -> Result<Json<EndpointView>, ApiError> {
    let request = body.value;
    let changes = EndpointChanges {
        url: request.url,
        description: request.description,
        event_types: request.event_types,
        enabled: request.enabled,
    };
    Ok(Json(
        app.update_webhook_endpoint(&caller.0, &id, changes).await?,
    ))
}

/// `DELETE /api/v1/webhook-endpoints/{id}`: stop deliveries to an endpoint (its history stays).
#[utoipa::path(delete, path = "/api/v1/webhook-endpoints/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem)))]
pub async fn delete_endpoint(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.delete_webhook_endpoint(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/webhook-endpoints/{id}/rotate-secret`: a new signing secret, shown once; the old one stops
/// at once.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = EndpointWithSecret), (status = 404, body = Problem)))]
pub async fn rotate_secret(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path(id): Path<String>,
) -> Result<Json<EndpointWithSecret>, ApiError> {
    Ok(Json(app.rotate_webhook_secret(&caller.0, &id).await?))
}

/// `POST /api/v1/webhook-endpoints/{id}/ping`: send a `webhook.ping` event to this endpoint only.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/ping", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 202, body = DeliveryView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn ping_endpoint(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let delivery = app.ping_webhook_endpoint(&caller.0, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

/// `GET /api/v1/webhook-endpoints/{id}/deliveries`: deliveries, newest first, each with its attempts.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id"), PageQuery),
    responses((status = 200, body = Page<DeliveryView>), (status = 404, body = Problem)))]
pub async fn list_deliveries(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<DeliveryView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    Ok(Json(
        app.list_webhook_deliveries(&caller.0, &id, page).await?,
    ))
}

/// `POST /api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/resend`: send the delivery's event again, as a
/// new delivery.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/resend", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id"), ("delivery_id" = String, Path, description = "Delivery id")),
    responses((status = 202, body = DeliveryView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn resend_delivery(
    State(app): State<App>,
    caller: GroupCapableCaller,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let delivery = app
        .resend_webhook_delivery(&caller.0, &id, &delivery_id)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}
