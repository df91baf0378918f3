//! Load generator for stripe-fake: N off-session payments through async-stripe (one idempotency key per
//! payment, as a billing run sends them), with a webhook receiver counting deliveries. Prints the
//! throughput and checks the fake's own records afterwards. Used by `scripts/bench/stripe_fake.sh`.
//!
//! `cargo run --example load -- BASE_URL COUNT CONCURRENCY`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use stripe::{
    Client, CreatePaymentIntent, Currency, PaymentIntent, PaymentIntentOffSession, RequestStrategy,
};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base = args
        .get(1)
        .expect("BASE_URL")
        .trim_end_matches('/')
        .to_string();
    let count: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(100_000);
    let concurrency: usize = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(16);
    let key = "sk_test_load";

    // Webhook receiver.
    let received = Arc::new(AtomicUsize::new(0));
    let r = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move || {
            let r = r.clone();
            async move {
                r.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    http.post(format!("{base}/_control/accounts"))
        .json(&json!({"api_key": key, "webhook_url": hook, "webhook_secret": "whsec_load",
                      "enabled_events": ["payment_intent.succeeded", "payment_intent.payment_failed"]}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    let client = Client::from_url(format!("{base}/").as_str(), key);
    let customer = stripe::Customer::create(&client, Default::default())
        .await
        .unwrap();
    let pm = stripe::PaymentMethod::attach(
        &client,
        &"pm_card_visa".parse().unwrap(),
        stripe::AttachPaymentMethod {
            customer: customer.id.clone(),
        },
    )
    .await
    .unwrap();

    // Keys unique to this run, so runs against the same fake do not collide.
    let run = customer.id.to_string();
    let started = Instant::now();
    let failures = Arc::new(AtomicUsize::new(0));
    stream::iter(0..count)
        .for_each_concurrent(concurrency, |i| {
            let client = client
                .clone()
                .with_strategy(RequestStrategy::Idempotent(format!(
                    "{run}-inv_{i}-attempt_1"
                )));
            let (customer, pm, failures, run) = (
                customer.id.clone(),
                pm.id.clone(),
                failures.clone(),
                run.clone(),
            );
            async move {
                let mut p = CreatePaymentIntent::new(4_990, Currency::EUR);
                p.customer = Some(customer);
                p.payment_method = Some(pm);
                p.off_session = Some(PaymentIntentOffSession::Exists(true));
                p.confirm = Some(true);
                p.metadata = Some(
                    [("invoice_id".to_string(), format!("{run}-inv_{i}"))]
                        .into_iter()
                        .collect(),
                );
                if PaymentIntent::create(&client, p).await.is_err() {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .await;
    let api_secs = started.elapsed().as_secs_f64();
    let expected = count - failures.load(Ordering::Relaxed);
    while received.load(Ordering::Relaxed) < expected
        && started.elapsed() < Duration::from_secs(600)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_secs = started.elapsed().as_secs_f64();
    let summary: Value = http
        .get(format!(
            "{base}/_control/charges?api_key={key}&metadata_key=invoice_id&metadata_value={run}-inv_0"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        summary["by_metadata_value"][format!("{run}-inv_0")]["succeeded"],
        1,
        "the fake recorded exactly one charge for the first invoice"
    );
    println!(
        "payments={count} concurrency={concurrency} failures={} api_seconds={api_secs:.1} payments_per_second={:.0} \
         webhooks_received={} all_webhooks_seconds={all_secs:.1}",
        failures.load(Ordering::Relaxed),
        count as f64 / api_secs,
        received.load(Ordering::Relaxed)
    );
}
