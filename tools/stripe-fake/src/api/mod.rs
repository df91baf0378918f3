//! The Stripe API under `/v1/`: authentication, injected faults and idempotency in one place (the
//! dispatcher), then one small module per resource.

pub mod customers;
pub mod error;
pub mod faults;
pub mod params;
pub mod payment_intents;
pub mod payment_methods;
pub mod refunds;
pub mod search;
pub mod setup_intents;

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use serde_json::Value;

use crate::objects::{self, API_VERSION};
use crate::state::{new_id, now, Account, Doc, StoredEvent, StoredResponse};
use crate::webhooks::Delivery;
use crate::{Config, Shared};
use error::ApiError;
use faults::FaultKind;

/// The `/v1/` routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/{*rest}", axum::routing::any(dispatch))
        .with_state(shared)
}

/// What an operation may touch: its account's records, the events it raises and the work to schedule.
pub struct Ctx<'a> {
    /// The calling account's records.
    pub acct: &'a mut Account,
    /// Start-up configuration.
    pub config: &'a Config,
    /// `http://ADDR` of this fake.
    pub base_url: &'a str,
    /// Time of the request.
    pub now: i64,
    /// The request's idempotency key, stamped on the events it raises.
    pub idempotency_key: Option<&'a str>,
    /// Events raised, delivered once the lock is released.
    pub outbox: Vec<StoredEvent>,
    /// PaymentIntents that went `processing` and settle by themselves later.
    pub to_settle: Vec<String>,
}

impl Ctx<'_> {
    /// Records an event about `object` and queues it for delivery.
    pub fn emit(&mut self, event_type: &str, object: &Value) {
        let id = new_id("evt");
        let event = objects::event(&id, event_type, object, self.now, self.idempotency_key);
        let stored = StoredEvent {
            id: id.clone(),
            event_type: event_type.to_string(),
            payload: event.to_string().into(),
        };
        self.acct.keep_event(stored.clone(), self.config.max_events);
        self.outbox.push(stored);
    }
}

/// The API key of a request (`Authorization: Bearer sk_…`, or HTTP Basic with the key as user name).
fn api_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    if let Some(key) = value.strip_prefix("Bearer ") {
        return Some(key.trim().to_string());
    }
    let encoded = value.strip_prefix("Basic ")?;
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split(':').next().unwrap_or_default().to_string())
}

fn redact(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let head: String = key.chars().take(8).collect();
    format!("{head}****{tail}")
}

fn respond(status: StatusCode, body: Bytes, idem_key: Option<&str>, replayed: bool) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("stripe-version", HeaderValue::from_static(API_VERSION));
    if let Ok(v) = HeaderValue::from_str(&new_id("req")) {
        headers.insert("request-id", v);
    }
    if let Some(Ok(v)) = idem_key.map(HeaderValue::from_str) {
        headers.insert("idempotency-key", v);
    }
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

fn error_response(e: ApiError) -> Response {
    respond(e.status, Bytes::from(e.body.to_string()), None, false)
}

/// Every `/v1/` request: authenticate, apply an armed fault, replay or save under the idempotency key,
/// run the operation under the lock, then queue its events and schedule its follow-ups.
async fn dispatch(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, 1 << 20).await else {
        return error_response(ApiError::invalid(
            None,
            None,
            "Request body too large or unreadable.",
        ));
    };
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let Some(key) = api_key(&parts.headers) else {
        return error_response(ApiError::unauthorized(
            "You did not provide an API key. You need to provide your API key in the Authorization header, \
             using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        ));
    };
    let params = if method == Method::GET || method == Method::DELETE {
        crate::form::parse(parts.uri.query().unwrap_or("").as_bytes())
    } else {
        crate::form::parse(&body)
    };
    let idem_key = if method == Method::POST {
        parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    } else {
        None
    };
    let fault = faults::take(&mut crate::lock(&shared.faults), method.as_str(), &path);
    match fault.as_ref().map(|f| f.kind) {
        Some(FaultKind::ErrorBefore) => return error_response(ApiError::internal()),
        Some(FaultKind::TimeoutBefore) => {
            if let Some(f) = &fault {
                tokio::time::sleep(f.hang()).await;
            }
            return error_response(ApiError::internal());
        }
        _ => {}
    }
    // Only keyed requests are compared, so only they pay for the canonical form.
    let fingerprint = match &idem_key {
        Some(_) => format!("{method} {path} {}", crate::form::canonical(&params)),
        None => String::new(),
    };
    let outcome = {
        let mut store = shared.store();
        if !store.accounts.contains_key(&key) {
            if shared.config.accept_any_test_key && key.starts_with("sk_test_") {
                store.accounts.insert(key.clone(), Account::default());
            } else {
                return error_response(ApiError::unauthorized(format!(
                    "Invalid API Key provided: {}",
                    redact(&key)
                )));
            }
        }
        let Some(acct) = store.accounts.get_mut(&key) else {
            return error_response(ApiError::unauthorized("Invalid API Key provided"));
        };
        if let Some(k) = &idem_key {
            if let Some(saved) = acct.idempotency.get(k) {
                if saved.fingerprint == fingerprint {
                    let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK);
                    return respond(status, saved.body.clone(), Some(k), true);
                }
                return error_response(ApiError::idempotency_mismatch(k));
            }
        }
        let mut ctx = Ctx {
            acct,
            config: &shared.config,
            base_url: &shared.base_url,
            now: now(),
            idempotency_key: idem_key.as_deref(),
            outbox: Vec::new(),
            to_settle: Vec::new(),
        };
        let segs: Vec<&str> = path
            .trim_start_matches("/v1/")
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let result = route(&mut ctx, &method, &segs, &params).map(|mut obj| {
            expand(ctx.acct, &mut obj, &params::expand(&params));
            obj
        });
        let (status, body, saved) = match (result, fault.as_ref().map(|f| f.kind)) {
            (Err(e), _) if !e.saved => (e.status, Bytes::from(e.body.to_string()), false),
            (_, Some(FaultKind::ErrorAfter)) => {
                let e = ApiError::internal();
                (e.status, Bytes::from(e.body.to_string()), true)
            }
            (Ok(obj), _) => (StatusCode::OK, Bytes::from(obj.to_string()), true),
            (Err(e), _) => (e.status, Bytes::from(e.body.to_string()), true),
        };
        let outbox = std::mem::take(&mut ctx.outbox);
        let to_settle = std::mem::take(&mut ctx.to_settle);
        if let (Some(k), true) = (&idem_key, saved) {
            ctx.acct.idempotency.insert(
                k.clone(),
                StoredResponse {
                    fingerprint,
                    status: status.as_u16(),
                    body: body.clone(),
                },
            );
        }
        let target = ctx.acct.webhook.clone();
        (status, body, outbox, to_settle, target)
    };
    let (status, body, outbox, to_settle, target) = outcome;
    if let Some(target) = target {
        for event in outbox {
            shared
                .hooks
                .enqueue(Delivery {
                    event,
                    target: target.clone(),
                })
                .await;
        }
    }
    if let Some(after) = shared.config.sepa_settle_after {
        for pi in to_settle {
            let shared = shared.clone();
            let key = key.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                crate::control::settle_sepa(&shared, Some(&key), Some(&pi)).await;
            });
        }
    }
    if let Some(f) = fault.filter(|f| f.kind == FaultKind::TimeoutAfter) {
        tokio::time::sleep(f.hang()).await;
    }
    respond(status, body, idem_key.as_deref(), false)
}

/// Routes a request to its operation.
fn route(ctx: &mut Ctx<'_>, method: &Method, segs: &[&str], p: &Value) -> Result<Value, ApiError> {
    let post = method == Method::POST;
    let get = method == Method::GET;
    match segs {
        ["customers"] if post => customers::create(ctx, p),
        ["customers"] if get => customers::list(ctx, p),
        ["customers", "search"] if get => customers::search(ctx, p),
        ["customers", id] if get => customers::retrieve(ctx, id),
        ["customers", id] if post => customers::update(ctx, id, p),
        ["customers", id, "payment_methods"] if get => {
            let mut p = p.clone();
            p["customer"] = Value::String(id.to_string());
            payment_methods::list(ctx, &p)
        }
        ["setup_intents"] if post => setup_intents::create(ctx, p),
        ["setup_intents", id] if get => setup_intents::retrieve(ctx, id),
        ["setup_intents", id, "confirm"] if post => setup_intents::confirm(ctx, id, p),
        ["setup_intents", id, "cancel"] if post => setup_intents::cancel(ctx, id),
        ["payment_methods"] if post => payment_methods::create(ctx, p),
        ["payment_methods"] if get => payment_methods::list(ctx, p),
        ["payment_methods", id] if get => payment_methods::retrieve(ctx, id),
        ["payment_methods", id, "attach"] if post => payment_methods::attach(ctx, id, p),
        ["payment_methods", id, "detach"] if post => payment_methods::detach(ctx, id),
        ["payment_intents"] if post => payment_intents::create(ctx, p),
        ["payment_intents"] if get => payment_intents::list(ctx, p),
        ["payment_intents", "search"] if get => payment_intents::search(ctx, p),
        ["payment_intents", id] if get => payment_intents::retrieve(ctx, id),
        ["payment_intents", id] if post => payment_intents::update(ctx, id, p),
        ["payment_intents", id, "confirm"] if post => payment_intents::confirm(ctx, id, p),
        ["payment_intents", id, "cancel"] if post => payment_intents::cancel(ctx, id, p),
        ["charges", id] if get => ctx
            .acct
            .charges
            .get(*id)
            .map(Doc::value)
            .ok_or_else(|| ApiError::no_such("charge", id, Some("id"))),
        ["refunds"] if post => refunds::create(ctx, p),
        ["refunds"] if get => refunds::list(ctx, p),
        ["refunds", id] if get => refunds::retrieve(ctx, id),
        ["events", id] if get => {
            let event = ctx
                .acct
                .event(id)
                .ok_or_else(|| ApiError::no_such("event", id, Some("id")))?;
            serde_json::from_str(&event.payload)
                .map_err(|_| ApiError::no_such("event", id, Some("id")))
        }
        _ => {
            let mut e = ApiError::invalid(
                None,
                None,
                format!(
                    "Unrecognized request URL ({method}: /v1/{}).",
                    segs.join("/")
                ),
            );
            e.status = StatusCode::NOT_FOUND;
            Err(e)
        }
    }
}

/// Replaces ids by objects for the `expand[]` paths Tessera may ask for (one level, on the top object).
fn expand(acct: &Account, obj: &mut Value, paths: &[String]) {
    for path in paths {
        let Some(id) = obj
            .get(path.as_str())
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            continue;
        };
        let found = match path.as_str() {
            "latest_charge" | "charge" => acct.charges.get(&id).map(Doc::value),
            "payment_method" => acct.payment_methods.get(&id).map(|pm| pm.obj.value()),
            "customer" => acct.customers.get(&id).map(Doc::value),
            "payment_intent" => acct.payment_intents.get(&id).map(Doc::value),
            _ => None,
        };
        if let Some(found) = found {
            obj[path.as_str()] = found;
        }
    }
}

/// Runs an operation on one account outside a `/v1/` request (control API, timers), then delivers the
/// events it raised. Returns `None` when the account does not exist.
pub async fn run_in_account<T>(
    shared: &Arc<Shared>,
    key: &str,
    op: impl FnOnce(&mut Ctx<'_>) -> T,
) -> Option<T> {
    let (result, outbox, target) = {
        let mut store = shared.store();
        let acct = store.accounts.get_mut(key)?;
        let mut ctx = Ctx {
            acct,
            config: &shared.config,
            base_url: &shared.base_url,
            now: now(),
            idempotency_key: None,
            outbox: Vec::new(),
            to_settle: Vec::new(),
        };
        let result = op(&mut ctx);
        let outbox = std::mem::take(&mut ctx.outbox);
        (result, outbox, ctx.acct.webhook.clone())
    };
    if let Some(target) = target {
        for event in outbox {
            shared
                .hooks
                .enqueue(Delivery {
                    event,
                    target: target.clone(),
                })
                .await;
        }
    }
    Some(result)
}
