//! Injected faults and the fake's own records.

use std::time::Duration;

use serde_json::{json, Value};
use stripe::{
    PaymentIntent, PaymentIntentSearchParams, PaymentIntentStatus, RequestStrategy, StripeError,
};

use crate::common::*;

#[tokio::test]
async fn timeout_after_applying_leaves_an_unknown_outcome_that_search_and_the_key_resolve() {
    let h = start().await;
    let (c, pm) = customer_with_card(&h, "pm_card_visa").await;
    h.control(
        "/_control/faults",
        json!({"path_prefix": "/v1/payment_intents", "method": "POST", "kind": "timeout_after", "hang_ms": 2000}),
    )
    .await;
    let keyed = h
        .client
        .clone()
        .with_strategy(RequestStrategy::Idempotent("inv_t-1".into()));
    // async-stripe has no timeout of its own: the caller bounds the call.
    let timed_out = tokio::time::timeout(
        Duration::from_millis(200),
        PaymentIntent::create(&keyed, off_session(&c.id, pm.as_str(), 1_000, "inv_t")),
    )
    .await;
    assert!(timed_out.is_err(), "the call hangs");
    // The charge happened anyway.
    let found = PaymentIntent::search(
        &h.client,
        PaymentIntentSearchParams {
            query: "metadata['invoice_id']:'inv_t'".into(),
            limit: None,
            page: None,
            expand: &[],
        },
    )
    .await
    .unwrap();
    assert_eq!(found.data.len(), 1);
    assert_eq!(found.data[0].status, PaymentIntentStatus::Succeeded);
    // Retrying with the same key replays the saved answer instead of charging again.
    let replay = PaymentIntent::create(&keyed, off_session(&c.id, pm.as_str(), 1_000, "inv_t"))
        .await
        .unwrap();
    assert_eq!(replay.id, found.data[0].id);
    let charges = h
        .read("/_control/charges?metadata_key=invoice_id&metadata_value=inv_t")
        .await;
    assert_eq!(
        charges["by_metadata_value"]["inv_t"],
        json!({"succeeded": 1})
    );
}

#[tokio::test]
async fn timeout_before_and_errors_before_apply_nothing() {
    let h = start().await;
    let (c, pm) = customer_with_card(&h, "pm_card_visa").await;
    h.control(
        "/_control/faults",
        json!({"path_prefix": "/v1/payment_intents", "kind": "error_before", "count": 2}),
    )
    .await;
    h.control(
        "/_control/faults",
        json!({"path_prefix": "/v1/payment_intents", "kind": "timeout_before", "hang_ms": 100}),
    )
    .await;
    assert_eq!(
        h.read("/_control/faults").await.as_array().unwrap().len(),
        2
    );
    let keyed = h
        .client
        .clone()
        .with_strategy(RequestStrategy::Idempotent("inv_e-1".into()));
    for _ in 0..3 {
        let e = PaymentIntent::create(&keyed, off_session(&c.id, pm.as_str(), 1_000, "inv_e"))
            .await
            .unwrap_err();
        assert!(
            matches!(e, StripeError::Stripe(ref e) if e.http_status == 500),
            "{e:?}"
        );
    }
    assert_eq!(
        h.read("/_control/payment_intents?metadata_key=invoice_id&metadata_value=inv_e")
            .await["data"],
        json!([])
    );
    // Faults used up: the same key now charges once.
    let pi = PaymentIntent::create(&keyed, off_session(&c.id, pm.as_str(), 1_000, "inv_e"))
        .await
        .unwrap();
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
    assert_eq!(h.read("/_control/faults").await, json!([]));
}

#[tokio::test]
async fn error_after_applies_and_the_key_replays_the_500() {
    let h = start().await;
    let (c, pm) = customer_with_card(&h, "pm_card_visa").await;
    h.control(
        "/_control/faults",
        json!({"path_prefix": "/v1/payment_intents", "kind": "error_after"}),
    )
    .await;
    let keyed = h
        .client
        .clone()
        .with_strategy(RequestStrategy::Idempotent("inv_x-1".into()));
    for _ in 0..2 {
        let e = PaymentIntent::create(&keyed, off_session(&c.id, pm.as_str(), 1_000, "inv_x"))
            .await
            .unwrap_err();
        assert!(
            matches!(e, StripeError::Stripe(ref e) if e.http_status == 500),
            "{e:?}"
        );
    }
    let pis = h
        .read("/_control/payment_intents?metadata_key=invoice_id&metadata_value=inv_x")
        .await;
    assert_eq!(pis["data"].as_array().unwrap().len(), 1);
    assert_eq!(pis["data"][0]["status"], "succeeded");
    // GETs are unaffected by a POST-only fault and the fault is used up.
    let _ = PaymentIntent::retrieve(
        &h.client,
        &pis["data"][0]["id"].as_str().unwrap().parse().unwrap(),
        &[],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn records_and_reset() {
    let h = start().await;
    let (c, pm) = customer_with_card(&h, "pm_card_visa").await;
    PaymentIntent::create(&h.client, off_session(&c.id, pm.as_str(), 1_000, "inv_1"))
        .await
        .unwrap();
    let _ = PaymentIntent::create(
        &h.client,
        off_session(&c.id, "pm_card_chargeDeclined", 1_000, "inv_2"),
    )
    .await;
    PaymentIntent::create(&h.client, off_session(&c.id, pm.as_str(), 1_000, "inv_2"))
        .await
        .unwrap();
    let charges = h.read("/_control/charges?metadata_key=invoice_id").await;
    assert_eq!(
        charges["by_metadata_value"],
        json!({"inv_1": {"succeeded": 1}, "inv_2": {"failed": 1, "succeeded": 1}})
    );
    let pis = h.read("/_control/payment_intents").await;
    let statuses: Vec<Value> = pis["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        vec![
            json!("succeeded"),
            json!("requires_payment_method"),
            json!("succeeded")
        ]
    );
    let events = h
        .read("/_control/events?type=payment_intent.succeeded")
        .await;
    assert_eq!(events["data"].as_array().unwrap().len(), 2);
    h.settle_webhooks().await;
    h.control("/_control/reset", json!({})).await;
    assert_eq!(h.read("/_control/payment_intents").await["data"], json!([]));
    assert_eq!(h.read("/_control/events").await["data"], json!([]));
    // The account and its webhook endpoint stay.
    stripe::Customer::create(&h.client, Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn max_events_keeps_the_newest_only() {
    let h = start_with(|c| c.max_events = Some(2)).await;
    for _ in 0..3 {
        stripe::Customer::create(&h.client, Default::default())
            .await
            .unwrap();
    }
    h.settle_webhooks().await;
    let kept = h.read("/_control/events").await;
    assert_eq!(kept["data"].as_array().unwrap().len(), 2);
    // All three were delivered all the same.
    assert_eq!(h.received_types(), vec!["customer.created"; 3]);
    // Deliveries run concurrently, so the dropped (oldest) event is found by difference.
    let kept_ids: Vec<Value> = kept["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    let dropped: Vec<String> = h
        .receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["id"].clone())
        .filter(|id| !kept_ids.contains(id))
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    assert_eq!(dropped.len(), 1);
    let gone = stripe::Event::retrieve(&h.client, &dropped[0].parse().unwrap(), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(gone, StripeError::Stripe(ref e) if e.http_status == 404),
        "{gone:?}"
    );
    let last = kept["data"][1]["id"].as_str().unwrap().parse().unwrap();
    stripe::Event::retrieve(&h.client, &last, &[])
        .await
        .unwrap();
}
