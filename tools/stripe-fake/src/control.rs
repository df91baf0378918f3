//! The control API under `/_control/` (JSON in and out): accounts and webhook endpoints, injected faults,
//! webhook switches, asynchronous outcomes (SEPA settlement, 3-D Secure), the fake's own records, reset.
//! Not part of Stripe; Tessera's tests use it to arrange situations and to check what really happened.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::faults::Fault;
use crate::api::{payment_intents, run_in_account, setup_intents};
use crate::state::{Account, Behaviour, WebhookTarget};
use crate::webhooks::{self, Order, Switches};
use crate::{lock, Shared};

/// The `/_control/` routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_control/accounts", post(set_account))
        .route("/_control/customers/bulk", post(bulk_customers))
        .route(
            "/_control/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_control/webhooks", get(get_switches).post(set_switches))
        .route("/_control/webhooks/release", post(release))
        .route("/_control/webhooks/deliveries", get(deliveries))
        .route("/_control/sepa/settle", post(settle))
        .route("/_control/3ds/{id}", post(three_ds))
        .route("/_control/payment_methods/{id}", post(set_behaviour))
        .route("/_control/cards/expiring", post(expiring_cards))
        .route("/_control/payment_intents", get(payment_intents_summary))
        .route("/_control/charges", get(charges_summary))
        .route("/_control/refunds", get(refunds))
        .route("/_control/events", get(events))
        .route("/_control/reset", post(reset))
        .with_state(shared)
}

fn bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": message.into()})),
    )
        .into_response()
}

/// Body of `POST /_control/accounts`.
#[derive(Deserialize)]
struct AccountBody {
    api_key: String,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    #[serde(default)]
    enabled_events: Vec<String>,
}

/// Creates an account or sets its webhook endpoint (tests start Tessera after the fake, so the endpoint
/// URL is only known then).
async fn set_account(State(shared): State<Arc<Shared>>, Json(body): Json<AccountBody>) -> Response {
    let webhook = match (body.webhook_url, body.webhook_secret) {
        (Some(url), Some(secret)) => Some(WebhookTarget {
            url,
            secret,
            enabled_events: body.enabled_events,
        }),
        (None, None) => None,
        _ => return bad("webhook_url and webhook_secret go together"),
    };
    let mut store = shared.store();
    let acct = store
        .accounts
        .entry(body.api_key)
        .or_insert_with(Account::default);
    acct.webhook = webhook;
    Json(json!({"ok": true})).into_response()
}

/// Body of `POST /_control/customers/bulk`.
#[derive(Deserialize)]
struct BulkBody {
    api_key: String,
    count: usize,
    /// Test token of the card saved for each customer.
    #[serde(default = "default_bulk_token")]
    payment_method: String,
    /// E-mail of customer `i` is `{email_prefix}{i}@bench.test`.
    #[serde(default = "default_bulk_prefix")]
    email_prefix: String,
}

fn default_bulk_token() -> String {
    "pm_card_visa".to_string()
}

fn default_bulk_prefix() -> String {
    "bulk".to_string()
}

/// The most customers one bulk call creates (the answer lists them all).
const BULK_MAX: usize = 1_000_000;

/// Creates `count` customers, each with a card PaymentMethod from a test token attached and set as its
/// default, in one call and without raising events: seeding a benchmark with one API request per object
/// (and the webhooks they raise) took longer than the benchmark itself. Answers `{"customers": [[cus, pm], …]}`
/// in creation order.
async fn bulk_customers(State(shared): State<Arc<Shared>>, Json(body): Json<BulkBody>) -> Response {
    let Some(card) = crate::objects::test_card(&body.payment_method) else {
        return bad("payment_method must be a card test token such as pm_card_visa");
    };
    if body.count > BULK_MAX {
        return bad(format!("count is at most {BULK_MAX}"));
    }
    let mut store = shared.store();
    let Some(acct) = store.accounts.get_mut(&body.api_key) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such account"})),
        )
            .into_response();
    };
    let now = crate::state::now();
    let mut pairs = Vec::with_capacity(body.count);
    for i in 0..body.count {
        let cus = crate::state::new_id("cus");
        let pm = crate::state::new_id("pm");
        let mut method = crate::objects::card_payment_method(&pm, &card, now);
        method["customer"] = Value::String(cus.clone());
        let mut customer = crate::objects::customer(&cus, now);
        customer["email"] = Value::String(format!("{}{i}@bench.test", body.email_prefix));
        customer["invoice_settings"]["default_payment_method"] = Value::String(pm.clone());
        acct.payment_methods.insert(
            pm.clone(),
            crate::state::SavedPm {
                obj: crate::state::Doc::new(&method),
                behaviour: card.behaviour,
            },
        );
        acct.pm_order.push(pm.clone());
        acct.pms_by_customer.insert(cus.clone(), vec![pm.clone()]);
        acct.customers
            .insert(cus.clone(), crate::state::Doc::new(&customer));
        acct.customer_order.push(cus.clone());
        pairs.push(json!([cus, pm]));
    }
    Json(json!({"customers": pairs})).into_response()
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Json<Vec<Fault>> {
    Json(lock(&shared.faults).clone())
}

async fn add_fault(State(shared): State<Arc<Shared>>, Json(fault): Json<Fault>) -> Response {
    if !fault.path_prefix.starts_with("/v1/") {
        return bad("path_prefix must start with /v1/");
    }
    lock(&shared.faults).push(fault);
    Json(json!({"ok": true})).into_response()
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    lock(&shared.faults).clear();
    Json(json!({"ok": true}))
}

async fn get_switches(State(shared): State<Arc<Shared>>) -> Json<Switches> {
    Json(lock(&shared.hooks.switches).clone())
}

async fn set_switches(
    State(shared): State<Arc<Shared>>,
    Json(switches): Json<Switches>,
) -> Json<Switches> {
    *lock(&shared.hooks.switches) = switches.clone();
    Json(switches)
}

/// Body of `POST /_control/webhooks/release`.
#[derive(Deserialize, Default)]
struct ReleaseBody {
    #[serde(default)]
    order: Order,
}

/// Delivers the held events (hold stays as set: turn it off first to let new events flow). Answers once
/// every released event was delivered (or gave up).
async fn release(
    State(shared): State<Arc<Shared>>,
    body: Option<Json<ReleaseBody>>,
) -> Json<Value> {
    let order = body.map(|Json(b)| b.order).unwrap_or_default();
    let count = lock(&shared.hooks.held).len();
    webhooks::release(&shared, order).await;
    Json(json!({"released": count}))
}

/// The attempt log, how many deliveries are still queued or in flight, and how many are held.
async fn deliveries(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let attempts = lock(&shared.hooks.log).clone();
    Json(json!({
        "pending": shared.hooks.in_flight.load(Ordering::SeqCst),
        "held": lock(&shared.hooks.held).len(),
        "attempts": attempts,
    }))
}

/// Body of the control calls that act on one account or all.
#[derive(Deserialize, Default)]
struct Scope {
    api_key: Option<String>,
    payment_intent: Option<String>,
}

fn account_keys(shared: &Shared, only: Option<&str>) -> Vec<String> {
    shared
        .store()
        .accounts
        .keys()
        .filter(|k| only.is_none_or(|o| o == k.as_str()))
        .cloned()
        .collect()
}

/// Settles `processing` SEPA debits (all, one account's, or one intent); returns the settled ids.
pub async fn settle_sepa(
    shared: &Arc<Shared>,
    api_key: Option<&str>,
    pi: Option<&str>,
) -> Vec<String> {
    let mut settled = Vec::new();
    for key in account_keys(shared, api_key) {
        let done = run_in_account(shared, &key, |ctx| {
            let ids: Vec<String> = match pi {
                Some(id) => vec![id.to_string()],
                None => ctx.acct.processing.clone(),
            };
            ids.into_iter()
                .filter(|id| payment_intents::settle(ctx, id))
                .collect::<Vec<_>>()
        })
        .await;
        settled.extend(done.unwrap_or_default());
    }
    settled
}

async fn settle(State(shared): State<Arc<Shared>>, body: Option<Json<Scope>>) -> Json<Value> {
    let scope = body.map(|Json(s)| s).unwrap_or_default();
    let settled = settle_sepa(
        &shared,
        scope.api_key.as_deref(),
        scope.payment_intent.as_deref(),
    )
    .await;
    Json(json!({"settled": settled}))
}

/// Body of `POST /_control/3ds/{id}`.
#[derive(Deserialize)]
struct ThreeDsBody {
    /// `succeed` or `fail`.
    outcome: String,
}

/// Completes or fails the 3-D Secure challenge of a PaymentIntent or SetupIntent, as the customer would
/// in the browser.
async fn three_ds(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(body): Json<ThreeDsBody>,
) -> Response {
    let success = match body.outcome.as_str() {
        "succeed" => true,
        "fail" => false,
        _ => return bad("outcome is succeed or fail"),
    };
    let owner = {
        let store = shared.store();
        store
            .accounts
            .iter()
            .find(|(_, a)| a.payment_intents.contains_key(&id) || a.setup_intents.contains_key(&id))
            .map(|(k, _)| k.clone())
    };
    let Some(key) = owner else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such intent"})),
        )
            .into_response();
    };
    let result = run_in_account(&shared, &key, |ctx| {
        if id.starts_with("seti_") {
            setup_intents::complete_3ds(ctx, &id, success)
        } else {
            payment_intents::complete_3ds(ctx, &id, success)
        }
    })
    .await;
    match result {
        Some(Ok(obj)) => Json(obj).into_response(),
        Some(Err(e)) => (e.status, Json(e.body)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such account"})),
        )
            .into_response(),
    }
}

/// Body of `POST /_control/payment_methods/{id}`.
#[derive(Deserialize)]
struct BehaviourBody {
    behaviour: String,
}

/// Changes how a saved payment method behaves from now on (a card that starts declining, …).
async fn set_behaviour(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(body): Json<BehaviourBody>,
) -> Response {
    let Some(behaviour) = Behaviour::from_name(&body.behaviour) else {
        return bad("unknown behaviour (succeed, decline, insufficient_funds, expired_card, charge_fail, authentication_required, authentication_required_on_setup, sepa_succeed, sepa_fail)");
    };
    let mut store = shared.store();
    for acct in store.accounts.values_mut() {
        if let Some(pm) = acct.payment_methods.get_mut(&id) {
            pm.behaviour = behaviour;
            return Json(json!({"ok": true})).into_response();
        }
    }
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": "no such payment method"})),
    )
        .into_response()
}

/// Sends `customer.source.expiring` for every attached card that expires this month or next, with the
/// card as a `card` object (`id` `card_<pm id tail>`, `customer`, `exp_month`, `exp_year`, `last4`).
async fn expiring_cards(
    State(shared): State<Arc<Shared>>,
    body: Option<Json<Scope>>,
) -> Json<Value> {
    let scope = body.map(|Json(s)| s).unwrap_or_default();
    let next_month = crate::objects::expiry(true);
    let today = chrono::Utc::now().date_naive();
    let this = (
        i64::from(chrono::Datelike::month(&today)),
        i64::from(chrono::Datelike::year(&today)),
    );
    let mut sent = Vec::new();
    for key in account_keys(&shared, scope.api_key.as_deref()) {
        let ids = run_in_account(&shared, &key, |ctx| {
            let cards: Vec<Value> = ctx
                .acct
                .pm_order
                .iter()
                .map(|id| ctx.acct.payment_methods[id].obj.value())
                .filter(|pm| pm["type"] == "card" && !pm["customer"].is_null())
                .filter(|pm| {
                    let exp = (pm["card"]["exp_month"].as_i64().unwrap_or(0), pm["card"]["exp_year"].as_i64().unwrap_or(0));
                    exp == this || exp == next_month
                })
                .map(|pm| {
                    let tail = pm["id"].as_str().unwrap_or("pm_").trim_start_matches("pm_");
                    json!({
                        "id": format!("card_{tail}"), "object": "card", "brand": pm["card"]["brand"],
                        "country": "US", "customer": pm["customer"], "exp_month": pm["card"]["exp_month"],
                        "exp_year": pm["card"]["exp_year"], "funding": "credit", "last4": pm["card"]["last4"],
                        "metadata": {"payment_method": pm["id"]},
                    })
                })
                .collect();
            for card in &cards {
                ctx.emit("customer.source.expiring", card);
            }
            cards.iter().map(|c| c["id"].clone()).collect::<Vec<_>>()
        })
        .await;
        sent.extend(ids.unwrap_or_default());
    }
    Json(json!({"sent": sent}))
}

/// Query of the record reads.
#[derive(Deserialize, Default)]
struct RecordQuery {
    api_key: Option<String>,
    metadata_key: Option<String>,
    metadata_value: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
}

fn for_accounts<T>(
    shared: &Shared,
    only: Option<&str>,
    mut f: impl FnMut(&Account) -> Vec<T>,
) -> Vec<T> {
    let store = shared.store();
    let mut out = Vec::new();
    for (key, acct) in &store.accounts {
        if only.is_none_or(|o| o == key) {
            out.extend(f(acct));
        }
    }
    out
}

fn metadata_matches(obj: &Value, q: &RecordQuery) -> bool {
    match (&q.metadata_key, &q.metadata_value) {
        (Some(k), Some(v)) => obj["metadata"][k].as_str() == Some(v.as_str()),
        (Some(k), None) => obj["metadata"][k].is_string(),
        _ => true,
    }
}

/// PaymentIntents as the fake holds them: id, status, amount, currency, customer, metadata.
async fn payment_intents_summary(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<RecordQuery>,
) -> Json<Value> {
    let list = for_accounts(&shared, q.api_key.as_deref(), |acct| {
        acct.pi_order
            .iter()
            .map(|id| acct.payment_intents[id].value())
            .filter(|pi| metadata_matches(pi, &q))
            .map(|pi| {
                json!({"id": pi["id"], "status": pi["status"], "amount": pi["amount"], "amount_received": pi["amount_received"],
                       "currency": pi["currency"], "customer": pi["customer"], "metadata": pi["metadata"],
                       "latest_charge": pi["latest_charge"], "created": pi["created"]})
            })
            .collect()
    });
    Json(json!({"data": list}))
}

/// Charges, and counts of charges by status for each value of `metadata_key` (so a test can assert at
/// most one successful charge per invoice).
async fn charges_summary(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<RecordQuery>,
) -> Json<Value> {
    let charges = for_accounts(&shared, q.api_key.as_deref(), |acct| {
        acct.charge_order
            .iter()
            .map(|id| acct.charges[id].value())
            .filter(|c| metadata_matches(c, &q))
            .collect()
    });
    let mut by_value: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    if let Some(k) = &q.metadata_key {
        for c in &charges {
            if let Some(v) = c["metadata"][k].as_str() {
                *by_value
                    .entry(v.to_string())
                    .or_default()
                    .entry(c["status"].as_str().unwrap_or("").to_string())
                    .or_default() += 1;
            }
        }
    }
    let data: Vec<Value> = charges
        .iter()
        .map(|c| json!({"id": c["id"], "status": c["status"], "amount": c["amount"], "amount_refunded": c["amount_refunded"],
                        "payment_intent": c["payment_intent"], "metadata": c["metadata"]}))
        .collect();
    Json(json!({"data": data, "by_metadata_value": by_value}))
}

/// Refunds as the fake holds them.
async fn refunds(State(shared): State<Arc<Shared>>, Query(q): Query<RecordQuery>) -> Json<Value> {
    let list = for_accounts(&shared, q.api_key.as_deref(), |acct| {
        acct.refund_order
            .iter()
            .map(|id| acct.refunds[id].value())
            .collect()
    });
    Json(json!({"data": list}))
}

/// Events raised, oldest first, whole (optionally one type only).
async fn events(State(shared): State<Arc<Shared>>, Query(q): Query<RecordQuery>) -> Json<Value> {
    let list = for_accounts(&shared, q.api_key.as_deref(), |acct| {
        acct.events
            .iter()
            .filter(|e| q.event_type.as_deref().is_none_or(|t| t == e.event_type))
            .filter_map(|e| serde_json::from_str::<Value>(&e.payload).ok())
            .collect()
    });
    Json(json!({"data": list}))
}

/// Forgets every object, saved response, event, fault, switch and held event; accounts and their webhook
/// endpoints stay.
async fn reset(State(shared): State<Arc<Shared>>) -> Json<Value> {
    {
        let mut store = shared.store();
        for acct in store.accounts.values_mut() {
            *acct = Account {
                webhook: acct.webhook.take(),
                ..Account::default()
            };
        }
    }
    lock(&shared.faults).clear();
    *lock(&shared.hooks.switches) = Switches::default();
    let dropped = std::mem::take(&mut *lock(&shared.hooks.held)).len();
    shared.hooks.in_flight.fetch_sub(dropped, Ordering::SeqCst);
    lock(&shared.hooks.log).clear();
    Json(json!({"ok": true}))
}
