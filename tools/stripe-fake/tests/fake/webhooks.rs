//! Signed webhooks, verified with async-stripe's own `Webhook::construct_event`; duplicates, reordering,
//! holding, retries.

use serde_json::{json, Value};
use stripe::{EventObject, EventType, PaymentIntent, Webhook};

use crate::common::*;

#[tokio::test]
async fn every_event_is_signed_as_stripe_signs_and_parses_with_async_stripe() {
    let h = start().await;
    let (c, pm) = customer_with_card(&h, "pm_card_visa").await;
    let pi = PaymentIntent::create(&h.client, off_session(&c.id, pm.as_str(), 1_500, "inv_w"))
        .await
        .unwrap();
    stripe::Refund::create(
        &h.client,
        stripe::CreateRefund {
            payment_intent: Some(pi.id.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let declined = stripe::Customer::create(&h.client, Default::default())
        .await
        .unwrap();
    let _ = PaymentIntent::create(
        &h.client,
        off_session(&declined.id, "pm_card_chargeDeclined", 1_500, "inv_d"),
    )
    .await;
    let mut sepa = off_session(&c.id, "pm_sepa_debit", 1_500, "inv_sepa");
    sepa.payment_method_types = Some(vec!["sepa_debit".into()]);
    PaymentIntent::create(&h.client, sepa).await.unwrap();
    let on = PaymentIntent::create(
        &h.client,
        stripe::CreatePaymentIntent::new(1_500, stripe::Currency::EUR),
    )
    .await
    .unwrap();
    h.raw_post(
        &format!("/v1/payment_intents/{}/confirm", on.id),
        &[("payment_method", "pm_card_authenticationRequired")],
        None,
    )
    .await;
    h.control("/_control/cards/expiring", json!({})).await;
    let (c2, _) = customer_with_card(&h, "pm_card_visa_expiring").await;
    let sent = h.control("/_control/cards/expiring", json!({})).await;
    assert_eq!(sent["sent"].as_array().unwrap().len(), 1);
    h.settle_webhooks().await;

    let received = h.receiver.received.lock().unwrap().clone();
    let mut types = Vec::new();
    for r in &received {
        let event = Webhook::construct_event(&r.body, &r.signature, SECRET)
            .unwrap_or_else(|e| panic!("{e:?}: {}", r.body));
        assert!(!event.livemode);
        assert_eq!(event.api_version.as_deref(), Some("2023-10-16"));
        types.push(event.type_);
        if event.type_ == EventType::CustomerSourceExpiring {
            let EventObject::Card(card) = event.data.object else {
                panic!("expiring event carries a card")
            };
            assert_eq!(card.customer.unwrap().id(), c2.id);
        }
        // A wrong secret fails verification.
        assert!(Webhook::construct_event(&r.body, &r.signature, "whsec_other").is_err());
    }
    for expected in [
        EventType::CustomerCreated,
        EventType::SetupIntentCreated,
        EventType::PaymentMethodAttached,
        EventType::SetupIntentSucceeded,
        EventType::PaymentIntentCreated,
        EventType::ChargeSucceeded,
        EventType::PaymentIntentSucceeded,
        EventType::RefundCreated,
        EventType::ChargeRefunded,
        EventType::ChargeFailed,
        EventType::PaymentIntentPaymentFailed,
        EventType::ChargePending,
        EventType::PaymentIntentProcessing,
        EventType::PaymentIntentRequiresAction,
        EventType::CustomerSourceExpiring,
    ] {
        assert!(types.contains(&expected), "no {expected:?} in {types:?}");
    }
    // Events can be fetched back by id, as Tessera does to read the current state.
    let first: Value = serde_json::from_str(&received[0].body).unwrap();
    let fetched = stripe::Event::retrieve(
        &h.client,
        &first["id"].as_str().unwrap().parse().unwrap(),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(fetched.id.as_str(), first["id"]);
}

#[tokio::test]
async fn enabled_events_filter_what_the_endpoint_receives() {
    let h = start_with(|c| {
        if let Some(w) = c.accounts[0].webhook.as_mut() {
            w.enabled_events = vec!["payment_intent.succeeded".into()];
        }
    })
    .await;
    let (c, pm) = customer_with_card(&h, "pm_card_visa").await;
    PaymentIntent::create(&h.client, off_session(&c.id, pm.as_str(), 1_500, "inv_f"))
        .await
        .unwrap();
    h.settle_webhooks().await;
    assert_eq!(h.received_types(), vec!["payment_intent.succeeded"]);
}

#[tokio::test]
async fn duplicates_reverse_order_and_hold_release() {
    let h = start_with(|c| {
        if let Some(w) = c.accounts[0].webhook.as_mut() {
            w.enabled_events = vec!["customer.created".into()];
        }
    })
    .await;
    // Each event three times.
    h.control("/_control/webhooks", json!({"duplicate": 3}))
        .await;
    let c = stripe::Customer::create(&h.client, Default::default())
        .await
        .unwrap();
    h.settle_webhooks().await;
    let bodies: Vec<Value> = h
        .receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(bodies.len(), 3);
    assert!(bodies
        .iter()
        .all(|b| b["id"] == bodies[0]["id"] && b["data"]["object"]["id"] == c.id.as_str()));
    h.receiver.received.lock().unwrap().clear();

    // Held, then released newest first.
    h.control("/_control/webhooks", json!({"hold": true})).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(
            stripe::Customer::create(&h.client, Default::default())
                .await
                .unwrap()
                .id
                .to_string(),
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        h.receiver.received.lock().unwrap().is_empty(),
        "held events are not delivered"
    );
    assert_eq!(h.read("/_control/webhooks/deliveries").await["held"], 4);
    let released = h
        .control("/_control/webhooks/release", json!({"order": "reverse"}))
        .await;
    assert_eq!(released["released"], 4);
    let got: Vec<String> = h
        .receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["data"]["object"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    ids.reverse();
    assert_eq!(got, ids);
    h.receiver.received.lock().unwrap().clear();

    // Reverse order within a batch, without holding.
    h.control(
        "/_control/webhooks",
        json!({"order": "reverse", "batch_window_ms": 300}),
    )
    .await;
    let a = stripe::Customer::create(&h.client, Default::default())
        .await
        .unwrap();
    let b = stripe::Customer::create(&h.client, Default::default())
        .await
        .unwrap();
    h.settle_webhooks().await;
    let got: Vec<String> = h
        .receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["data"]["object"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(got, vec![b.id.to_string(), a.id.to_string()]);
}

#[tokio::test]
async fn failed_deliveries_are_retried() {
    let h = start_with(|c| {
        if let Some(w) = c.accounts[0].webhook.as_mut() {
            w.enabled_events = vec!["customer.created".into()];
        }
    })
    .await;
    *h.receiver.fail_next.lock().unwrap() = 2;
    stripe::Customer::create(&h.client, Default::default())
        .await
        .unwrap();
    h.settle_webhooks().await;
    assert_eq!(h.received_types(), vec!["customer.created"]);
    let log = h.read("/_control/webhooks/deliveries").await;
    let statuses: Vec<Value> = log["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(500), json!(500), json!(200)]);
}

#[tokio::test]
async fn the_webhook_endpoint_can_be_set_after_start() {
    let h = start_with(|c| c.accounts.clear()).await;
    let r = h
        .http
        .post(h.url("/_control/accounts"))
        .json(&json!({"api_key": KEY, "webhook_url": h.hook_url}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a URL without a secret is refused");
    h.control(
        "/_control/accounts",
        json!({"api_key": KEY, "webhook_url": h.hook_url, "webhook_secret": "whsec_late", "enabled_events": ["customer.created"]}),
    )
    .await;
    stripe::Customer::create(&h.client, Default::default())
        .await
        .unwrap();
    h.settle_webhooks().await;
    let received = h.receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    Webhook::construct_event(&received[0].body, &received[0].signature, "whsec_late").unwrap();
}
