//! Payments whose outcome comes later, against the Stripe-compatible server: an off-session renewal that needs
//! strong customer authentication (the payer is asked to confirm, the invoice stays open until they do), and SEPA
//! debits that settle days later (paid only when the provider's webhook says so; a failed settlement is dunned);
//! reconciliation of an unanswered attempt through every page of the customer's payments; and the run's notices (renewal reminders, suspension warnings), sent once a day however often it passes.

use serde_json::{json, Value};
use tessera_tests::{count, query_column, TestApp};

use crate::billing::member_id;
use crate::billing_stripe::{
    active_membership, app_with_stripe, day_after, run, run_ok, save_card, status_of, until, Fake,
};
use crate::memberships::monthly_plan_id;

/// A member of Atlas with a method saved at the fake and an active monthly membership paid at the desk:
/// `(app, admin token, member token, saved method, membership, renewal day)`.
async fn renewing_member(
    fake: &Fake,
    method: &str,
) -> (TestApp, String, String, String, String, String) {
    let app = app_with_stripe(fake).await;
    let admin = app.token("atlas", "admin").await;
    let plan = monthly_plan_id(&app, &admin).await;
    let member = member_id(&app, "member").await;
    let member_token = app.token("atlas", "member").await;
    let saved = save_card(&app, fake, &member_token, &member, method).await;
    let (membership, renewal_day) = active_membership(&app, &admin, &member, &plan).await;
    (app, admin, member_token, saved, membership, renewal_day)
}

fn one(app: &TestApp, sql: &str) -> String {
    query_column(&app.db.url, sql)[0].clone().unwrap()
}

fn renewal_invoice(app: &TestApp, membership: &str, day: &str) -> String {
    one(app, &format!(
        "SELECT id AS v FROM invoices WHERE membership_id = '{membership}' AND CAST(period_start AS TEXT) = '{day}'"))
}

async fn wait_for_invoice_status(app: &TestApp, invoice: &str, status: &str) {
    let (url, sql) = (
        app.db.url.clone(),
        format!("SELECT status AS v FROM invoices WHERE id = '{invoice}'"),
    );
    until(&format!("invoice {status}"), || {
        query_column(&url, &sql)[0].as_deref() == Some(status)
    })
    .await;
}

/// Waits until the fake has delivered every webhook raised so far.
async fn settle_webhooks(fake: &Fake) {
    for _ in 0..200 {
        let d = fake
            .control("GET", "/_control/webhooks/deliveries", json!(null))
            .await;
        if d["pending"].as_u64() == Some(0) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the fake's webhooks were not delivered");
}

#[tokio::test]
async fn an_off_session_renewal_needing_authentication_asks_the_payer_and_stays_open_until_confirmed(
) {
    let fake = Fake::start().await;
    let (app, _admin, _member_token, card, membership, renewal_day) =
        renewing_member(&fake, "pm_card_visa").await;
    // The bank now asks for 3-D Secure on every payment: off-session charges cannot complete.
    fake.control(
        "POST",
        &format!("/_control/payment_methods/{card}"),
        json!({"behaviour": "authentication_required"}),
    )
    .await;

    let report = run_ok(&app, &fake, &renewal_day);
    assert_eq!(
        (
            report["invoiced"].as_i64(),
            report["pending"].as_i64(),
            report["failed"].as_i64(),
            report["succeeded"].as_i64()
        ),
        (Some(1), Some(1), Some(0), Some(0)),
        "{report}"
    );
    let invoice = renewal_invoice(&app, &membership, &renewal_day);
    let payment = one(
        &app,
        &format!("SELECT id AS v FROM payments WHERE invoice_id = '{invoice}'"),
    );
    assert_eq!(
        one(
            &app,
            &format!("SELECT status AS v FROM payments WHERE id = '{payment}'")
        ),
        "requires_action"
    );
    assert_eq!(
        one(
            &app,
            &format!("SELECT status AS v FROM invoices WHERE id = '{invoice}'")
        ),
        "open"
    );
    // The fake's webhook about the same intent arrives too; then the run passes again the same day: it
    // charges nothing more (the attempt waits for the payer) and asks the payer once in all.
    settle_webhooks(&fake).await;
    let again = run_ok(&app, &fake, &renewal_day);
    assert_eq!(again["charged"].as_i64(), Some(0), "{again}");
    // One "confirm your payment" event, with a link to this payment's page.
    let events = query_column(
        &app.db.url,
        "SELECT data_json AS v FROM events WHERE event_type = 'payment.requires_action'",
    );
    assert_eq!(events.len(), 1, "{events:?}");
    let data: Value = serde_json::from_str(events[0].as_deref().unwrap()).unwrap();
    assert_eq!(data["invoice_id"], invoice.as_str());
    let link = data["confirm_url"].as_str().unwrap();
    assert!(
        link.contains(&format!("/pay/{payment}")) && link.contains("tenant=atlas"),
        "{link}"
    );
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM events WHERE event_type = 'payment.failed'"
        ),
        0,
        "authentication is not a refusal"
    );

    // The payer comes back on-session, confirms with the card and passes 3-D Secure: paid by the webhook.
    let pi = one(
        &app,
        &format!("SELECT provider_ref AS v FROM payments WHERE id = '{payment}'"),
    );
    let confirmed = fake.confirm("payment_intents", &pi, &card).await;
    assert_eq!(confirmed["status"], "requires_action", "{confirmed}");
    fake.control(
        "POST",
        &format!("/_control/3ds/{pi}"),
        json!({"outcome": "succeed"}),
    )
    .await;
    wait_for_invoice_status(&app, &invoice, "paid").await;
    assert_eq!(fake.succeeded_by_invoice().await, [(invoice, 1)]);
}

#[tokio::test]
async fn a_sepa_renewal_is_paid_only_when_the_debit_settles() {
    let fake = Fake::start().await;
    let (app, _admin, _member_token, _mandate, membership, renewal_day) =
        renewing_member(&fake, "pm_sepa_debit").await;
    let report = run_ok(&app, &fake, &renewal_day);
    assert_eq!(
        (
            report["invoiced"].as_i64(),
            report["pending"].as_i64(),
            report["succeeded"].as_i64()
        ),
        (Some(1), Some(1), Some(0)),
        "{report}"
    );
    let invoice = renewal_invoice(&app, &membership, &renewal_day);
    assert_eq!(
        one(
            &app,
            &format!("SELECT status AS v FROM payments WHERE invoice_id = '{invoice}'")
        ),
        "processing"
    );
    // Days pass without the bank's answer: still open, never charged twice.
    let later = run_ok(&app, &fake, &day_after(&renewal_day, 2));
    assert_eq!(
        (later["charged"].as_i64(), later["retries"].as_i64()),
        (Some(0), Some(0)),
        "{later}"
    );
    assert_eq!(
        one(
            &app,
            &format!("SELECT status AS v FROM invoices WHERE id = '{invoice}'")
        ),
        "open"
    );
    // The debit settles at the bank: the provider's webhook pays the invoice.
    let settled = fake
        .control("POST", "/_control/sepa/settle", json!({}))
        .await;
    assert_eq!(
        settled["settled"].as_array().map(Vec::len),
        Some(1),
        "{settled}"
    );
    wait_for_invoice_status(&app, &invoice, "paid").await;
    assert_eq!(
        one(
            &app,
            &format!("SELECT status AS v FROM payments WHERE invoice_id = '{invoice}'")
        ),
        "succeeded"
    );
    assert_eq!(fake.succeeded_by_invoice().await, [(invoice, 1)]);
}

#[tokio::test]
async fn a_failed_sepa_settlement_is_dunned() {
    let fake = Fake::start().await;
    let (app, admin, _member_token, _mandate, membership, renewal_day) =
        renewing_member(&fake, "pm_sepa_debit_fails").await;
    let report = run_ok(&app, &fake, &renewal_day);
    assert_eq!(report["pending"].as_i64(), Some(1), "{report}");
    let invoice = renewal_invoice(&app, &membership, &renewal_day);
    fake.control("POST", "/_control/sepa/settle", json!({}))
        .await;
    let (url, sql) = (
        app.db.url.clone(),
        format!("SELECT status AS v FROM payments WHERE invoice_id = '{invoice}'"),
    );
    until("the failed settlement", || {
        query_column(&url, &sql)[0].as_deref() == Some("failed")
    })
    .await;
    assert_eq!(
        one(
            &app,
            &format!("SELECT status AS v FROM invoices WHERE id = '{invoice}'")
        ),
        "open"
    );
    assert_eq!(
        status_of(&app, &admin, &membership).await,
        "active",
        "grace period"
    );
    // The dunning schedule goes on as for a declined card: past due after 3 days, suspended after 10.
    for day in [1, 2, 3] {
        run_ok(&app, &fake, &day_after(&renewal_day, day));
        fake.control("POST", "/_control/sepa/settle", json!({}))
            .await;
    }
    assert_eq!(status_of(&app, &admin, &membership).await, "past_due");
    run_ok(&app, &fake, &day_after(&renewal_day, 10));
    assert_eq!(status_of(&app, &admin, &membership).await, "suspended");
    assert!(
        fake.succeeded_by_invoice()
            .await
            .iter()
            .all(|(_, n)| *n == 0),
        "no debit succeeded"
    );
}

#[tokio::test]
async fn reminders_and_suspension_warnings_are_sent_once_a_day_however_often_the_run_passes() {
    let fake = Fake::start().await;
    let (app, _admin, _member_token, card, _membership, renewal_day) =
        renewing_member(&fake, "pm_card_visa").await;
    let events = |kind: &str| {
        count(
            &app.db.url,
            &format!("SELECT count(*) FROM events WHERE event_type = '{kind}'"),
        )
    };
    // Atlas reminds 3 days before a renewal.
    let reminder_day = day_after(&renewal_day, -3);
    let first = run_ok(&app, &fake, &reminder_day);
    let second = run_ok(&app, &fake, &reminder_day);
    assert_eq!(
        (first["reminders"].as_i64(), second["reminders"].as_i64()),
        (Some(1), Some(0)),
        "{first} {second}"
    );
    assert_eq!(events("billing.renewal_upcoming"), 1);

    // A declined renewal: suspension after 10 days, warned 2 days before, once.
    fake.control(
        "POST",
        &format!("/_control/payment_methods/{card}"),
        json!({"behaviour": "insufficient_funds"}),
    )
    .await;
    run_ok(&app, &fake, &renewal_day);
    let warning_day = day_after(&renewal_day, 8);
    run_ok(&app, &fake, &warning_day);
    run_ok(&app, &fake, &warning_day);
    assert_eq!(events("billing.suspension_upcoming"), 1);
}

#[tokio::test]
async fn an_unanswered_attempt_is_reconciled_even_behind_more_than_a_page_of_newer_payments() {
    let fake = Fake::start().await;
    let (app, _admin, _member_token, card, membership, renewal_day) =
        renewing_member(&fake, "pm_card_visa").await;
    // The provider's webhooks are held: only reconciliation can tell Tessera what became of the attempt.
    fake.control("POST", "/_control/webhooks", json!({"hold": true}))
        .await;
    let crashed = run(&app, &fake, &renewal_day, Some("after_payment_request"));
    assert!(!crashed.status.success(), "the run should have died");
    let invoice = renewal_invoice(&app, &membership, &renewal_day);
    // Meanwhile the customer made 120 other payments (more than one page of Stripe's list, 100).
    let customer = one(
        &app,
        "SELECT customer_ref AS v FROM billing_profiles WHERE customer_ref IS NOT NULL",
    );
    let client = reqwest::Client::new();
    for i in 0..120 {
        let response = client
            .post(format!("{}/v1/payment_intents", fake.base))
            .bearer_auth("sk_test_atlas")
            .form(&[
                ("amount", "100"),
                ("currency", "eur"),
                ("customer", customer.as_str()),
                ("payment_method", card.as_str()),
                ("confirm", "true"),
                ("off_session", "true"),
                ("description", &format!("other {i}")),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap()
        );
    }
    let report = run_ok(&app, &fake, &renewal_day);
    assert_eq!(
        (report["reconciled"].as_i64(), report["charged"].as_i64()),
        (Some(1), Some(0)),
        "{report}"
    );
    assert_eq!(
        one(
            &app,
            &format!("SELECT status AS v FROM invoices WHERE id = '{invoice}'")
        ),
        "paid"
    );
    assert_eq!(fake.succeeded_by_invoice().await, [(invoice, 1)]);
}
