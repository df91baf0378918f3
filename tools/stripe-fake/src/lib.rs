//! `stripe-fake`: a Stripe-compatible HTTP server on loopback for Tessera's tests and benchmarks.
//!
//! It serves the part of Stripe's API that Tessera calls (customers, SetupIntents, PaymentMethods,
//! PaymentIntents, refunds, events) with Stripe's form-encoded requests, JSON objects and error envelope, so
//! that `async-stripe` talks to it unchanged through `Client::from_url(base_url, secret_key)`. It behaves like
//! Stripe's test mode for the documented test payment methods, signs and sends webhooks exactly as Stripe
//! does, and has a control API under `/_control/` to inject faults (timeouts, 500s, duplicated, reordered or
//! held webhooks), drive asynchronous outcomes (SEPA settlement, 3-D Secure) and read its own records.
//!
//! # Test payment methods
//!
//! | token | behaviour |
//! |---|---|
//! | `pm_card_visa`, `pm_card_visa_debit`, `pm_card_mastercard`, `pm_card_amex` | succeed |
//! | `pm_card_visa_expiring` (the fake's own) | succeeds; expires at the end of next month |
//! | `pm_card_chargeDeclined` | declined, `card_declined` / `generic_decline` (set-up too) |
//! | `pm_card_chargeDeclinedInsufficientFunds` | declined, `card_declined` / `insufficient_funds` |
//! | `pm_card_chargeDeclinedExpiredCard` | declined, `expired_card` |
//! | `pm_card_chargeCustomerFail` | set-up succeeds, every charge is declined |
//! | `pm_card_authenticationRequired` | 3-D Secure on every set-up and payment; off-session: 402 `authentication_required` |
//! | `pm_card_authenticationRequiredOnSetup` | 3-D Secure on set-up only |
//! | `pm_sepa_debit` (own) / IBAN `DE89370400440532013000` | SEPA debit: `processing`, then `succeeded` |
//! | `pm_sepa_debit_fails` (own) / IBAN `AT861904300235473202` | SEPA debit: `processing`, then failed |
//!
//! As in Stripe, a `pm_…` token used in a request creates a new PaymentMethod (`pm_<random>`) each time.
//! See `docs/stripe-fake.md` for the endpoints, the control API and where the fake differs from Stripe.

#![forbid(unsafe_code)]
// Stripe objects are large `json!` literals.
#![recursion_limit = "256"]

pub mod api;
pub mod control;
pub mod form;
pub mod objects;
pub mod state;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::state::{Account, Store, WebhookTarget};

/// One account (tenant) known at start: its secret key and optional webhook endpoint.
#[derive(Clone, Debug)]
pub struct AccountConfig {
    /// The secret key (`sk_test_…`) requests authenticate with.
    pub api_key: String,
    /// Where this account's events are sent, if anywhere.
    pub webhook: Option<WebhookTarget>,
}

/// How webhooks are delivered.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Retries after a failed delivery (non-2xx or transport error).
    pub retries: u32,
    /// Delay before the first retry; doubled for each following one.
    pub retry_delay: Duration,
    /// Time allowed for one delivery.
    pub timeout: Duration,
    /// Deliveries in flight at once (in the normal, unordered mode).
    pub concurrency: usize,
    /// Events waiting for delivery before API requests wait for room (back-pressure).
    pub queue_capacity: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            retries: 3,
            retry_delay: Duration::from_millis(200),
            timeout: Duration::from_secs(10),
            concurrency: 8,
            queue_capacity: 10_000,
        }
    }
}

/// Configuration of a fake server.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Accounts known at start.
    pub accounts: Vec<AccountConfig>,
    /// Accept any `sk_test_…` key, creating its account on first use (without a webhook endpoint until one
    /// is set through `POST /_control/accounts`). When false, unknown keys get 401 as in Stripe.
    pub accept_any_test_key: bool,
    /// Settle SEPA debits by themselves this long after they went `processing`; `None` waits for
    /// `POST /_control/sepa/settle`.
    pub sepa_settle_after: Option<Duration>,
    /// Keep only this many events per account for `GET /v1/events/{id}` and the control API (delivery is
    /// unaffected); `None` keeps all. Benchmarks set it to bound memory.
    pub max_events: Option<usize>,
    /// Webhook delivery settings.
    pub webhooks: WebhookConfig,
}

/// State shared by the API, control and delivery tasks.
pub struct Shared {
    /// Start-up configuration.
    pub config: Config,
    /// `http://ADDR`, used in URLs the fake hands out (3-D Secure pages).
    pub base_url: String,
    store: Mutex<Store>,
    /// Injected API faults.
    pub faults: Mutex<Vec<api::faults::Fault>>,
    /// Webhook queue, switches and delivery log.
    pub hooks: webhooks::Hooks,
}

impl Shared {
    /// Locks the records. A panic while holding the lock (a bug) must not stop the other requests, so a
    /// poisoned lock is taken over.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Locks a mutex, taking over a poisoned one (see [`Shared::store`]).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running fake server.
pub struct FakeHandle {
    /// The address it listens on.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl FakeHandle {
    /// `http://ADDR/`, the base URL to give `async_stripe::Client::from_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The shared state, for in-process tests that prefer reading records directly.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Starts the fake on an already bound listener (bind `127.0.0.1:0` for a free port) and returns at once.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<FakeHandle> {
    let addr = listener.local_addr()?;
    let mut store = Store::default();
    for account in &config.accounts {
        store.accounts.insert(
            account.api_key.clone(),
            Account {
                webhook: account.webhook.clone(),
                ..Account::default()
            },
        );
    }
    let (hooks, queue) = webhooks::Hooks::new(config.webhooks.queue_capacity);
    let shared = Arc::new(Shared {
        config,
        base_url: format!("http://{addr}"),
        store: Mutex::new(store),
        faults: Mutex::new(Vec::new()),
        hooks,
    });
    tokio::spawn(webhooks::run_dispatcher(shared.clone(), queue));
    let app = api::router(shared.clone()).merge(control::router(shared.clone()));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!("stripe-fake server stopped: {e}");
        }
    });
    Ok(FakeHandle {
        addr,
        shared,
        shutdown: Some(tx),
        task,
    })
}
