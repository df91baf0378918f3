//! The fake's in-memory records: one [`Account`] per secret key, as Stripe scopes every object to the
//! account whose key created it. Everything lives behind one mutex in [`crate::Shared`]; operations are short
//! and never await while holding it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::Value;

/// Where an account's webhooks go and the secret that signs them.
#[derive(Clone, Debug)]
pub struct WebhookTarget {
    /// The endpoint that receives `POST`ed events.
    pub url: String,
    /// The endpoint secret (`whsec_…`), used whole as the HMAC key, as Stripe does.
    pub secret: String,
    /// Event types sent to this endpoint, as a Stripe endpoint's `enabled_events`; empty means all.
    pub enabled_events: Vec<String>,
}

impl WebhookTarget {
    /// Whether this endpoint receives events of this type.
    pub fn wants(&self, event_type: &str) -> bool {
        self.enabled_events.is_empty()
            || self
                .enabled_events
                .iter()
                .any(|e| e == "*" || e == event_type)
    }
}

/// How a payment method behaves when it is set up or charged: the behaviour of Stripe's test cards and
/// test IBANs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Set-ups and charges succeed.
    Succeed,
    /// Set-ups, attachments and charges are declined with `card_declined` and this decline code.
    Decline(&'static str),
    /// Attaching and setting up succeed, charges are declined (`generic_decline`).
    ChargeFail,
    /// Every set-up and every payment needs 3-D Secure; off-session payments fail with
    /// `authentication_required`.
    AuthAlways,
    /// The set-up needs 3-D Secure; payments afterwards succeed.
    AuthOnSetup,
    /// A SEPA debit that goes `processing` then succeeds.
    SepaSucceed,
    /// A SEPA debit that goes `processing` then fails.
    SepaFail,
}

impl Behaviour {
    /// Reads a behaviour named in the control API.
    pub fn from_name(name: &str) -> Option<Behaviour> {
        Some(match name {
            "succeed" => Behaviour::Succeed,
            "decline" | "generic_decline" => Behaviour::Decline("generic_decline"),
            "insufficient_funds" => Behaviour::Decline("insufficient_funds"),
            "expired_card" => Behaviour::Decline("expired_card"),
            "charge_fail" => Behaviour::ChargeFail,
            "authentication_required" => Behaviour::AuthAlways,
            "authentication_required_on_setup" => Behaviour::AuthOnSetup,
            "sepa_succeed" => Behaviour::SepaSucceed,
            "sepa_fail" => Behaviour::SepaFail,
            _ => return None,
        })
    }
}

/// A Stripe object kept as compact JSON text, about a third of the memory of a `serde_json::Value`
/// (a benchmark keeps hundreds of thousands of them); read and written whole.
#[derive(Clone, Debug)]
pub struct Doc(Box<str>);

impl Doc {
    /// Stores an object.
    pub fn new(value: &Value) -> Doc {
        Doc(value.to_string().into_boxed_str())
    }

    /// The object. The text was produced by `serde_json` from a `Value`, so it parses back.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

/// A stored PaymentMethod and how it behaves.
#[derive(Clone, Debug)]
pub struct SavedPm {
    /// The Stripe `payment_method` object.
    pub obj: Doc,
    /// What happens when it is used.
    pub behaviour: Behaviour,
}

/// A response saved under an idempotency key.
#[derive(Clone, Debug)]
pub struct StoredResponse {
    /// Method, path and canonical parameters of the first request.
    pub fingerprint: String,
    /// HTTP status of the first response.
    pub status: u16,
    /// Body of the first response, replayed byte for byte.
    pub body: Bytes,
}

/// An event as stored and delivered.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    /// `evt_…`.
    pub id: String,
    /// `payment_intent.succeeded`, …
    pub event_type: String,
    /// The serialised event, shared with the delivery queue.
    pub payload: Arc<str>,
}

/// Everything one secret key owns.
#[derive(Default)]
pub struct Account {
    /// Webhook endpoint of this account, if any.
    pub webhook: Option<WebhookTarget>,
    /// Customers by id.
    pub customers: HashMap<String, Doc>,
    /// Customer ids in creation order.
    pub customer_order: Vec<String>,
    /// Customer ids by `(metadata key, value)`, so finding a tenant's client's customer stays cheap.
    pub customers_by_metadata: HashMap<(String, String), Vec<String>>,
    /// Payment methods by id.
    pub payment_methods: HashMap<String, SavedPm>,
    /// Payment method ids in creation order.
    pub pm_order: Vec<String>,
    /// Attached payment method ids by customer, in attachment order.
    pub pms_by_customer: HashMap<String, Vec<String>>,
    /// SetupIntents by id.
    pub setup_intents: HashMap<String, Doc>,
    /// PaymentIntents by id.
    pub payment_intents: HashMap<String, Doc>,
    /// PaymentIntents in `processing` (SEPA debits waiting to settle), oldest first.
    pub processing: Vec<String>,
    /// PaymentIntent ids in creation order.
    pub pi_order: Vec<String>,
    /// PaymentIntent ids by `(metadata key, value)`, for search and reconciliation at scale.
    pub pi_by_metadata: HashMap<(String, String), Vec<String>>,
    /// Charges by id.
    pub charges: HashMap<String, Doc>,
    /// Charge ids in creation order.
    pub charge_order: Vec<String>,
    /// Refunds by id.
    pub refunds: HashMap<String, Doc>,
    /// Refund ids in creation order.
    pub refund_order: Vec<String>,
    /// Events in creation order (the newest `Config::max_events` when capped).
    pub events: VecDeque<StoredEvent>,
    /// How many events were dropped from the front of `events`.
    pub events_dropped: usize,
    /// Sequence number (position counting dropped events) of each kept event, by id.
    pub event_index: HashMap<String, usize>,
    /// Saved responses by idempotency key (keys are scoped to the account, as in Stripe).
    pub idempotency: HashMap<String, StoredResponse>,
}

impl Account {
    /// Keeps an event, dropping the oldest one beyond `max` (a benchmark need not keep them all).
    pub fn keep_event(&mut self, event: StoredEvent, max: Option<usize>) {
        self.event_index
            .insert(event.id.clone(), self.events_dropped + self.events.len());
        self.events.push_back(event);
        if max.is_some_and(|max| self.events.len() > max) {
            if let Some(old) = self.events.pop_front() {
                self.event_index.remove(&old.id);
                self.events_dropped += 1;
            }
        }
    }

    /// A kept event by id.
    pub fn event(&self, id: &str) -> Option<&StoredEvent> {
        let seq = *self.event_index.get(id)?;
        self.events.get(seq.checked_sub(self.events_dropped)?)
    }
}

/// Adds an object's metadata to a search index (ids stay in creation order).
pub fn index_metadata(
    index: &mut HashMap<(String, String), Vec<String>>,
    id: &str,
    metadata: &Value,
) {
    if let Value::Object(map) = metadata {
        for (k, v) in map {
            if let Some(v) = v.as_str() {
                index
                    .entry((k.clone(), v.to_string()))
                    .or_default()
                    .push(id.to_string());
            }
        }
    }
}

/// Removes an object's metadata from a search index (before an update replaces it).
pub fn unindex_metadata(
    index: &mut HashMap<(String, String), Vec<String>>,
    id: &str,
    metadata: &Value,
) {
    if let Value::Object(map) = metadata {
        for (k, v) in map {
            if let Some(v) = v.as_str() {
                if let Some(ids) = index.get_mut(&(k.clone(), v.to_string())) {
                    ids.retain(|x| x != id);
                }
            }
        }
    }
}

/// All accounts, by secret key.
#[derive(Default)]
pub struct Store {
    /// Accounts by secret key.
    pub accounts: HashMap<String, Account>,
}

/// A Stripe-looking id: the prefix, an underscore and 24 random alphanumerics.
pub fn new_id(prefix: &str) -> String {
    let tail: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("{prefix}_{tail}")
}

/// Seconds since the Unix epoch, as Stripe's `created` fields.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
