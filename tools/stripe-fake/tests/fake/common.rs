//! Test helpers: a fake on port 0 with a webhook receiver, an async-stripe client pointed at it, and a
//! small client for the control API.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use stripe::Client;
use stripe_fake::state::WebhookTarget;
use stripe_fake::{AccountConfig, Config, FakeHandle, WebhookConfig};

pub const KEY: &str = "sk_test_tessera_one";
pub const SECRET: &str = "whsec_test_secret_one";

/// One received webhook: its `Stripe-Signature` header and raw body.
#[derive(Clone, Debug)]
pub struct Received {
    pub signature: String,
    pub body: String,
}

/// What the webhook receiver saw, and the status it answers with next (to test retries).
#[derive(Default)]
pub struct Receiver {
    pub received: Mutex<Vec<Received>>,
    pub fail_next: Mutex<u32>,
}

pub struct Harness {
    pub fake: FakeHandle,
    pub client: Client,
    pub http: reqwest::Client,
    pub receiver: Arc<Receiver>,
    /// The receiver's URL.
    pub hook_url: String,
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    {
        let mut fail = r.fail_next.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    r.received.lock().unwrap().push(Received {
        signature,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    StatusCode::OK
}

/// Starts a webhook receiver and a fake that knows [`KEY`] with the receiver as its endpoint.
pub async fn start() -> Harness {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Harness {
    let receiver = Arc::new(Receiver::default());
    let hook_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = hook_listener.local_addr().unwrap();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(hook_listener, app).await.unwrap() });
    let mut config = Config {
        accounts: vec![AccountConfig {
            api_key: KEY.into(),
            webhook: Some(WebhookTarget {
                url: format!("http://{hook_addr}/hook"),
                secret: SECRET.into(),
                enabled_events: vec![],
            }),
        }],
        accept_any_test_key: false,
        sepa_settle_after: None,
        max_events: None,
        webhooks: WebhookConfig {
            retry_delay: Duration::from_millis(20),
            ..WebhookConfig::default()
        },
    };
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = stripe_fake::serve(listener, config).await.unwrap();
    let client = Client::from_url(fake.base_url().as_str(), KEY);
    let hook_url = format!("http://{hook_addr}/hook");
    Harness {
        fake,
        client,
        http: reqwest::Client::new(),
        receiver,
        hook_url,
    }
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.fake.addr)
    }

    /// `POST /_control/…` with a JSON body; panics unless 2xx.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// `GET /_control/…`.
    pub async fn read(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A raw form POST to the Stripe API (for calls async-stripe 0.41 has no typed parameters for).
    pub async fn raw_post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        idem: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.http.post(self.url(path)).bearer_auth(KEY).form(form);
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.unwrap()
    }

    /// Waits until every queued webhook was delivered (or gave up).
    pub async fn settle_webhooks(&self) {
        for _ in 0..500 {
            if self.read("/_control/webhooks/deliveries").await["pending"] == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("webhooks still pending after 5 s");
    }

    /// Types of the events received so far, in arrival order.
    pub fn received_types(&self) -> Vec<String> {
        self.receiver
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|r| {
                serde_json::from_str::<Value>(&r.body).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }
}

/// A customer with a saved `pm_card_visa` (through a confirmed SetupIntent), as Tessera's card saving does.
pub async fn customer_with_card(
    h: &Harness,
    token: &str,
) -> (stripe::Customer, stripe::PaymentMethodId) {
    let customer = stripe::Customer::create(
        &h.client,
        stripe::CreateCustomer {
            email: Some("ada@example.com"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let si = stripe::SetupIntent::create(
        &h.client,
        stripe::CreateSetupIntent {
            customer: Some(customer.id.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let si = stripe::SetupIntent::confirm(&h.client, &si.id, confirm_with(token))
        .await
        .unwrap();
    assert_eq!(si.status, stripe::SetupIntentStatus::Succeeded);
    let pm = si.payment_method.unwrap().id();
    (customer, pm)
}

pub fn confirm_with(token: &str) -> stripe::ConfirmSetupIntent {
    stripe::ConfirmSetupIntent {
        payment_method: Some(token.parse().unwrap()),
        mandate_data: None,
        payment_method_data: None,
        payment_method_options: None,
        return_url: None,
        use_stripe_sdk: false,
    }
}

/// An off-session PaymentIntent for an invoice, confirmed at once, with an idempotency key.
pub fn off_session(
    customer: &stripe::CustomerId,
    pm: &str,
    amount: i64,
    invoice: &str,
) -> stripe::CreatePaymentIntent<'static> {
    let mut params = stripe::CreatePaymentIntent::new(amount, stripe::Currency::EUR);
    params.customer = Some(customer.clone());
    params.payment_method = Some(pm.parse().unwrap());
    params.off_session = Some(stripe::PaymentIntentOffSession::Exists(true));
    params.confirm = Some(true);
    params.metadata = Some(
        [("invoice_id".to_string(), invoice.to_string())]
            .into_iter()
            .collect(),
    );
    params
}
