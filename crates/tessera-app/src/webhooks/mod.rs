//! Outgoing webhooks: a brand registers endpoints with event-type filters; every event published in its realm
//! ([`crate::events::publish`]) queues, in the same transaction, one delivery per matching endpoint, sent by a
//! `webhook.deliver` job. Each request is signed like Stripe's: `Tessera-Signature: t=<unix>,v1=<hex
//! HMAC-SHA256(secret, "<t>.<body>")>`. A failed attempt is retried with doubling delays for up to
//! `webhooks.retry_window_hours` after the event; every attempt is kept and shown.
//!
//! Endpoints must be `https://` and outside loopback and private networks unless the settings allow it, checked
//! at registration and again, on the resolved addresses, at every delivery (the request then goes to the address
//! that was checked).

mod delivery;
mod policy;
mod views;

use chrono::{DateTime, Utc};
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_domain::FieldError;
use tessera_store::models::events::{self as event_rows, EventRow};
use tessera_store::models::webhooks::{self, DeliveryRow, EndpointRow};
use tessera_store::{Scoped, TxMode};

use crate::auth::authorize;
use crate::events::event_type;
use crate::jobs::NewJob;
use crate::pagination::{Page, PageRequest};
use crate::{audit, naive, App, AppError, AppResult, Ctx};

pub(crate) use delivery::deliver;
pub use delivery::signature_header;
use policy::check_url;
use views::delivery_view;
pub use views::{AttemptView, DeliveryView, EndpointView, EndpointWithSecret};

/// The job kind that sends one delivery.
pub const DELIVER_KIND: &str = "webhook.deliver";
/// Deliveries decide for themselves when to give up (the retry window); this only bounds a runaway.
const DELIVERY_MAX_ATTEMPTS: i32 = 1000;
/// Most event types one endpoint may filter on.
const MAX_EVENT_TYPES: usize = 64;

/// What a brand registers.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// Where deliveries go.
    pub url: String,
    /// A note.
    pub description: Option<String>,
    /// Event types (`*` for all).
    pub event_types: Vec<String>,
}

/// Changes to an endpoint; absent fields are kept.
#[derive(Debug, Clone, Default)]
pub struct EndpointChanges {
    /// New URL.
    pub url: Option<String>,
    /// New note.
    pub description: Option<Option<String>>,
    /// New filter.
    pub event_types: Option<Vec<String>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

pub(crate) fn seal_context(endpoint_id: &str) -> String {
    format!("webhook-secret:{endpoint_id}")
}

fn new_secret() -> String {
    format!("whsec_{}", crate::tokens_random(32))
}

/// Checks an endpoint URL against the settings; returns it normalised.
fn check_event_types(types: &[String]) -> AppResult<Vec<String>> {
    if types.is_empty() || types.len() > MAX_EVENT_TYPES {
        return Err(AppError::invalid(
            "event_types",
            FieldError::new(
                "",
                "out_of_range",
                format!("between 1 and {MAX_EVENT_TYPES} types"),
            ),
        ));
    }
    for (i, name) in types.iter().enumerate() {
        if name != "*" && event_type(name).is_none() {
            return Err(AppError::invalid(
                &format!("event_types[{i}]"),
                FieldError::new("", "unknown_event_type", format!("no event type {name:?}")),
            ));
        }
    }
    let mut types = types.to_vec();
    types.sort();
    types.dedup();
    Ok(types)
}

fn matches(endpoint: &EndpointRow, event_type: &str) -> bool {
    let types: Vec<String> = serde_json::from_str(&endpoint.event_types_json).unwrap_or_default();
    types.iter().any(|t| t == "*" || t == event_type)
}

/// Queues the deliveries of `events` to the realm's matching endpoints, in the caller's transaction (called by
/// [`crate::events::publish_many`]). `webhook.ping` goes only to the endpoint named in its data.
pub(crate) fn fan_out(
    s: &mut Scoped<'_>,
    events: &[EventRow],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let endpoints = webhooks::enabled_endpoints(s)?;
    if endpoints.is_empty() {
        return Ok(());
    }
    for event in events {
        let only: Option<String> = (event.event_type == "webhook.ping")
            .then(|| {
                serde_json::from_str::<serde_json::Value>(&event.data_json)
                    .ok()
                    .and_then(|d| d["endpoint_id"].as_str().map(str::to_owned))
            })
            .flatten();
        for endpoint in &endpoints {
            let wanted = match &only {
                Some(id) => *id == endpoint.id,
                None => event.event_type != "webhook.ping" && matches(endpoint, &event.event_type),
            };
            if wanted {
                queue_delivery(s, &endpoint.id, event, now)?;
            }
        }
    }
    Ok(())
}

fn queue_delivery(
    s: &mut Scoped<'_>,
    endpoint_id: &str,
    event: &EventRow,
    now: DateTime<Utc>,
) -> AppResult<DeliveryRow> {
    let row = DeliveryRow {
        tenant_id: s.realm_key().to_owned(),
        id: IdKind::WebhookDelivery.new_id(),
        endpoint_id: endpoint_id.to_owned(),
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        status: "pending".into(),
        attempts: 0,
        last_status_code: None,
        last_error: None,
        next_attempt_at: Some(naive(now)),
        created_at: naive(now),
        updated_at: naive(now),
        delivered_at: None,
    };
    webhooks::insert_delivery(s, &row)?;
    let mut job = NewJob::new(DELIVER_KIND, serde_json::json!({ "delivery_id": row.id }));
    job.max_attempts = Some(DELIVERY_MAX_ATTEMPTS);
    crate::jobs::enqueue(s, &job, DELIVERY_MAX_ATTEMPTS, now)?;
    Ok(row)
}

fn tenant_of(ctx: &Ctx) -> AppResult<String> {
    ctx.realm
        .tenant_id()
        .map(str::to_owned)
        .ok_or(AppError::NotFound("route"))
}

fn find_endpoint(s: &mut Scoped<'_>, id: &str) -> AppResult<EndpointRow> {
    webhooks::find_endpoint(s, id)?
        .filter(|e| e.deleted_at.is_none())
        .ok_or(AppError::NotFound("webhook endpoint"))
}

impl App {
    /// Registers an endpoint; the answer carries its secret, shown this once.
    pub async fn create_webhook_endpoint(
        &self,
        ctx: &Ctx,
        input: NewEndpoint,
    ) -> AppResult<EndpointWithSecret> {
        let tenant = tenant_of(ctx)?;
        let url = check_url(&input.url, &self.settings().webhooks)?;
        let types = check_event_types(&input.event_types)?;
        let description = check_description(input.description)?;
        let (ctx, app, now) = (ctx.clone(), self.clone(), self.clock().now());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::WebhooksManage)?;
                let id = IdKind::WebhookEndpoint.new_id();
                let secret = new_secret();
                let row = EndpointRow {
                    tenant_id: tenant.clone(),
                    secret_sealed: app.master().seal(secret.as_bytes(), &seal_context(&id))?,
                    id,
                    url: url.to_string(),
                    description,
                    event_types_json: serde_json::to_string(&types)
                        .map_err(|e| AppError::Internal(e.to_string()))?,
                    enabled: true,
                    created_at: naive(now),
                    updated_at: naive(now),
                    deleted_at: None,
                };
                webhooks::insert_endpoint(s, &row)?;
                let event =
                    audit::Event::on("webhook.endpoint_created", "webhook_endpoint", &row.id);
                audit::record(s, &ctx, event, now)?;
                Ok(EndpointWithSecret {
                    endpoint: EndpointView::of(&row),
                    secret,
                })
            })
        })
        .await
    }

    /// A page of the brand's endpoints.
    pub async fn list_webhook_endpoints(
        &self,
        ctx: &Ctx,
        page: PageRequest,
    ) -> AppResult<Page<EndpointView>> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::WebhooksManage)?;
                let rows = webhooks::list_endpoints(s, page.after.as_deref(), page.limit + 1)?;
                let views = rows.iter().map(EndpointView::of).collect();
                Ok(Page::from_rows(views, page.limit, |v: &EndpointView| &v.id))
            })
        })
        .await
    }

    /// One endpoint.
    pub async fn get_webhook_endpoint(&self, ctx: &Ctx, id: &str) -> AppResult<EndpointView> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::WebhooksManage)?;
                Ok(EndpointView::of(&find_endpoint(s, &id)?))
            })
        })
        .await
    }

    /// Changes an endpoint.
    pub async fn update_webhook_endpoint(
        &self,
        ctx: &Ctx,
        id: &str,
        changes: EndpointChanges,
    ) -> AppResult<EndpointView> {
        let tenant = tenant_of(ctx)?;
        let url = match &changes.url {
            Some(url) => Some(check_url(url, &self.settings().webhooks)?.to_string()),
            None => None,
        };
        let types = match &changes.event_types {
            Some(types) => Some(check_event_types(types)?),
            None => None,
        };
        let description = match changes.description {
            Some(d) => Some(check_description(d)?),
            None => None,
        };
        let (ctx, app, id, now) = (ctx.clone(), self.clone(), id.to_owned(), self.clock().now());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::WebhooksManage)?;
                let mut row = find_endpoint(s, &id)?;
                if let Some(url) = url {
                    row.url = url;
                }
                if let Some(types) = types {
                    row.event_types_json = serde_json::to_string(&types)
                        .map_err(|e| AppError::Internal(e.to_string()))?;
                }
                if let Some(description) = description {
                    row.description = description;
                }
                if let Some(enabled) = changes.enabled {
                    row.enabled = enabled;
                }
                row.updated_at = naive(now);
                webhooks::update_endpoint(s, &row)?;
                let event = audit::Event::on("webhook.endpoint_updated", "webhook_endpoint", &id);
                audit::record(s, &ctx, event, now)?;
                Ok(EndpointView::of(&row))
            })
        })
        .await
    }

    /// Deletes an endpoint: no new deliveries; pending ones fail; history stays.
    pub async fn delete_webhook_endpoint(&self, ctx: &Ctx, id: &str) -> AppResult<()> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app, id, now) = (ctx.clone(), self.clone(), id.to_owned(), self.clock().now());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::WebhooksManage)?;
                let mut row = find_endpoint(s, &id)?;
                row.deleted_at = Some(naive(now));
                row.enabled = false;
                row.updated_at = naive(now);
                webhooks::update_endpoint(s, &row)?;
                let event = audit::Event::on("webhook.endpoint_deleted", "webhook_endpoint", &id);
                audit::record(s, &ctx, event, now)?;
                Ok(())
            })
        })
        .await
    }

    /// Replaces an endpoint's secret; the answer carries the new one, shown this once.
    pub async fn rotate_webhook_secret(
        &self,
        ctx: &Ctx,
        id: &str,
    ) -> AppResult<EndpointWithSecret> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app, id, now) = (ctx.clone(), self.clone(), id.to_owned(), self.clock().now());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::WebhooksManage)?;
                let mut row = find_endpoint(s, &id)?;
                let secret = new_secret();
                row.secret_sealed = app.master().seal(secret.as_bytes(), &seal_context(&id))?;
                row.updated_at = naive(now);
                webhooks::update_endpoint(s, &row)?;
                let event = audit::Event::on("webhook.secret_rotated", "webhook_endpoint", &id);
                audit::record(s, &ctx, event, now)?;
                Ok(EndpointWithSecret {
                    endpoint: EndpointView::of(&row),
                    secret,
                })
            })
        })
        .await
    }

    /// Sends a `webhook.ping` event to one endpoint; returns its delivery.
    pub async fn ping_webhook_endpoint(&self, ctx: &Ctx, id: &str) -> AppResult<DeliveryView> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app, id, now) = (ctx.clone(), self.clone(), id.to_owned(), self.clock().now());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::WebhooksManage)?;
                let endpoint = find_endpoint(s, &id)?;
                if !endpoint.enabled {
                    return Err(AppError::Conflict {
                        code: "webhook_endpoint_disabled",
                        detail: "enable the endpoint first".into(),
                    });
                }
                let data = serde_json::json!({ "endpoint_id": id });
                let event = crate::events::publish(s, &ctx, "webhook.ping", None, data, now)?;
                let delivery = webhooks::list_deliveries(s, &id, None, 1)?
                    .into_iter()
                    .find(|d| d.event_id == event.id)
                    .ok_or(AppError::Internal("the ping was not queued".into()))?;
                Ok(delivery_view(delivery, &[]))
            })
        })
        .await
    }

    /// A page of an endpoint's deliveries, newest first, with their attempts.
    pub async fn list_webhook_deliveries(
        &self,
        ctx: &Ctx,
        endpoint_id: &str,
        page: PageRequest,
    ) -> AppResult<Page<DeliveryView>> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app, endpoint_id) = (ctx.clone(), self.clone(), endpoint_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::WebhooksManage)?;
                webhooks::find_endpoint(s, &endpoint_id)?
                    .ok_or(AppError::NotFound("webhook endpoint"))?;
                let rows = webhooks::list_deliveries(
                    s,
                    &endpoint_id,
                    page.after.as_deref(),
                    page.limit + 1,
                )?;
                let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                let attempts = webhooks::attempts_of(s, &ids)?;
                let views = rows
                    .into_iter()
                    .map(|r| delivery_view(r, &attempts))
                    .collect();
                Ok(Page::from_rows(views, page.limit, |v: &DeliveryView| &v.id))
            })
        })
        .await
    }

    /// Sends a delivery's event again, as a new delivery (the receiver sees the same event id).
    pub async fn resend_webhook_delivery(
        &self,
        ctx: &Ctx,
        endpoint_id: &str,
        delivery_id: &str,
    ) -> AppResult<DeliveryView> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app, now) = (ctx.clone(), self.clone(), self.clock().now());
        let (endpoint_id, delivery_id) = (endpoint_id.to_owned(), delivery_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::WebhooksManage)?;
                let endpoint = find_endpoint(s, &endpoint_id)?;
                let old = webhooks::find_delivery(s, &delivery_id)?
                    .filter(|d| d.endpoint_id == endpoint.id)
                    .ok_or(AppError::NotFound("webhook delivery"))?;
                let event = event_rows::find(s, &old.event_id)?.ok_or(AppError::Conflict {
                    code: "event_expired",
                    detail: "the event is past its retention and cannot be sent again".into(),
                })?;
                let row = queue_delivery(s, &endpoint.id, &event, now)?;
                let audited = audit::Event::on("webhook.resent", "webhook_delivery", &row.id)
                    .with(serde_json::json!({ "of": old.id }));
                audit::record(s, &ctx, audited, now)?;
                Ok(delivery_view(row, &[]))
            })
        })
        .await
    }
}

fn check_description(description: Option<String>) -> AppResult<Option<String>> {
    match description.map(|d| d.trim().to_owned()) {
        Some(d) if d.chars().count() > 500 => Err(AppError::invalid(
            "description",
            FieldError::new("", "too_long", "at most 500 characters"),
        )),
        Some(d) if d.is_empty() => Ok(None),
        other => Ok(other),
    }
}
