//! Billing through Stripe, against the Stripe-compatible server (`tools/stripe-fake`) on loopback: online
//! payment of an invoice that starts the membership, saved cards charged by the billing run exactly once,
//! dunning from a declined renewal to `past_due` and `suspended` and back at once on payment (the club's door
//! refusing and admitting the member with it), crashes of the run
//! at each named step, and the webhook endpoint's signature, replay and ordering rules.

use std::process::Stdio;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use tessera_tests::{count, query_column, TestApp};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::billing::member_id;
use crate::devices::{check, door_in_centre};
use crate::memberships::{monthly_plan, monthly_plan_id};

const KEY: &str = "sk_test_atlas";
const SECRET: &str = "whsec_atlas_test";

/// A running `stripe-fake`.
pub(crate) struct Fake {
    pub base: String,
    client: reqwest::Client,
    _child: tokio::process::Child,
}

impl Fake {
    pub(crate) async fn start() -> Fake {
        let bin = tessera_tests::tessera_bin().with_file_name("stripe-fake");
        let mut child = tokio::process::Command::new(&bin)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--api-key",
                KEY,
                "--webhook-secret",
                SECRET,
            ])
            // Replaced by the server's URL once it runs (send_webhooks_to).
            .args(["--webhook-url", "http://127.0.0.1:9/not-yet"])
            .args(["--webhook-retry-delay-ms", "50"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (build the workspace first)", bin.display()));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("stripe-fake did not start")
            .unwrap()
            .unwrap();
        let base = line
            .strip_prefix("listening on ")
            .unwrap()
            .trim()
            .to_owned();
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Fake {
            base,
            client: reqwest::Client::new(),
            _child: child,
        }
    }

    /// The environment a Tessera process needs to use this fake for Atlas.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        vec![
            ("ATLAS_STRIPE_SECRET_KEY".into(), KEY.into()),
            ("ATLAS_STRIPE_WEBHOOK_SECRET".into(), SECRET.into()),
            (
                "TESSERA_PAYMENTS__STRIPE_API_BASE".into(),
                format!("{}/", self.base),
            ),
            ("TESSERA_PAYMENTS__REQUEST_TIMEOUT_MS".into(), "3000".into()),
        ]
    }

    /// Points the fake's webhooks at a Tessera server's Atlas host.
    pub(crate) async fn send_webhooks_to(&self, app: &TestApp) {
        let url = format!(
            "http://atlas.localhost:{}/api/v1/payments/stripe/webhook",
            app.port
        );
        self.control(
            "POST",
            "/_control/accounts",
            json!({"api_key": KEY, "webhook_url": url, "webhook_secret": SECRET}),
        )
        .await;
    }

    pub(crate) async fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let request = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        let request = if method == "GET" {
            request
        } else {
            request.json(&body)
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {value}");
        value
    }

    /// What the payer's browser does with Stripe Elements: confirm an intent with a test payment method.
    pub(crate) async fn confirm(&self, kind: &str, id: &str, payment_method: &str) -> Value {
        let response = self
            .client
            .post(format!("{}/v1/{kind}/{id}/confirm", self.base))
            .bearer_auth(KEY)
            .form(&[("payment_method", payment_method)])
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    /// Successful charges per Tessera invoice, from the fake's own records.
    pub(crate) async fn succeeded_by_invoice(&self) -> Vec<(String, i64)> {
        let charges = self
            .control(
                "GET",
                "/_control/charges?metadata_key=tessera_invoice_id",
                json!(null),
            )
            .await;
        let mut out: Vec<(String, i64)> = charges["by_metadata_value"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v["succeeded"].as_i64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

/// A Tessera server using the fake for Atlas, with the fake's webhooks pointed at it.
pub(crate) async fn app_with_stripe(fake: &Fake) -> TestApp {
    let env = fake.env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = TestApp::spawn_with(&pairs).await;
    fake.send_webhooks_to(&app).await;
    app
}

pub(crate) async fn until(what: &str, mut check: impl FnMut() -> bool) {
    assert!(
        tessera_tests::eventually(Duration::from_secs(20), &mut check).await,
        "timed out waiting for {what}"
    );
}

/// Saves a card for the member through a SetupIntent confirmed at the fake; returns the saved method's id.
pub(crate) async fn save_card(
    app: &TestApp,
    fake: &Fake,
    member_token: &str,
    member: &str,
    card: &str,
) -> String {
    let (status, setup) = app
        .post_json(
            Some("atlas"),
            "/api/v1/me/payment-methods",
            Some(member_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{setup}");
    assert!(setup["client_secret"]
        .as_str()
        .unwrap()
        .contains("_secret_"));
    let confirmed = fake
        .confirm(
            "setup_intents",
            setup["setup_intent_id"].as_str().unwrap(),
            card,
        )
        .await;
    assert_eq!(confirmed["status"], "succeeded", "{confirmed}");
    let url = app.db.url.clone();
    let sql = format!(
        "SELECT payment_method_ref AS v FROM billing_profiles WHERE account_id = '{member}'"
    );
    until("the saved card", || {
        query_column(&url, &sql)
            .first()
            .is_some_and(Option::is_some)
    })
    .await;
    query_column(&url, &sql)[0].clone().unwrap()
}

/// A monthly plan sold at the desk and paid there: an active membership billed until next month.
pub(crate) async fn active_membership(
    app: &TestApp,
    admin: &str,
    member: &str,
    plan: &str,
) -> (String, String) {
    let (status, m) = app
        .post_json(
            Some("atlas"),
            "/api/v1/memberships",
            Some(admin),
            &json!({"member_id": member, "plan_id": plan}),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    let id = m["id"].as_str().unwrap().to_owned();
    let (_, list) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/invoices?membership_id={id}"),
            admin,
        )
        .await;
    let inv = &list["data"][0];
    let (status, paid) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{}/payments", inv["id"].as_str().unwrap()),
            Some(admin),
            &json!({"amount": inv["total_incl"]["amount"], "currency": "EUR", "method": "cash"}),
        )
        .await;
    assert_eq!(status, 201, "{paid}");
    let until = query_column(
        &app.db.url,
        &format!("SELECT CAST(billed_until AS TEXT) AS v FROM memberships WHERE id = '{id}'"),
    );
    (id, until[0].clone().unwrap())
}

pub(crate) fn run(
    app: &TestApp,
    fake: &Fake,
    date: &str,
    fault: Option<&str>,
) -> std::process::Output {
    let mut env = fake.env();
    if let Some(fault) = fault {
        env.push(("TESSERA_BILLING_FAULT".into(), fault.into()));
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    tessera_tests::cli(
        &app.db.url,
        &[
            "billing", "run", "--tenant", "atlas", "--date", date, "--json",
        ],
        &pairs,
        None,
    )
}

pub(crate) fn run_ok(app: &TestApp, fake: &Fake, date: &str) -> Value {
    let out = run(app, fake, date, None);
    assert!(
        out.status.success(),
        "billing run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(crate) async fn status_of(app: &TestApp, admin: &str, membership: &str) -> String {
    let (_, m) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/memberships/{membership}"),
            admin,
        )
        .await;
    m["status"].as_str().unwrap().to_owned()
}

pub(crate) fn day_after(date: &str, days: i64) -> String {
    (chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap() + chrono::Duration::days(days))
        .to_string()
}

#[tokio::test]
async fn an_invoice_paid_online_starts_the_membership_once() {
    let fake = Fake::start().await;
    let app = app_with_stripe(&fake).await;
    let admin = app.token("atlas", "admin").await;
    let (_, plan) = app
        .post_json(
            Some("atlas"),
            "/api/v1/plans",
            Some(&admin),
            &monthly_plan("monthly-12"),
        )
        .await;
    let member = member_id(&app, "member").await;
    let member_token = app.token("atlas", "member").await;
    let (_, m) = app
        .post_json(
            Some("atlas"),
            "/api/v1/memberships",
            Some(&admin),
            &json!({"member_id": member, "plan_id": plan["id"]}),
        )
        .await;
    let membership = m["id"].as_str().unwrap().to_owned();
    let (_, mine) = app
        .get_json(Some("atlas"), "/api/v1/me/invoices", &member_token)
        .await;
    let invoice = mine[0]["id"].as_str().unwrap().to_owned();
    let total = mine[0]["total_incl"]["amount"].as_i64().unwrap();
    // The member pays online: Tessera returns the PaymentIntent's client secret, the browser confirms it.
    let (status, payment) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{invoice}/pay"),
            Some(&member_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{payment}");
    assert_eq!(payment["status"], "requires_action");
    let pi = payment["provider_ref"].as_str().unwrap().to_owned();
    assert!(payment["client_secret"].as_str().unwrap().starts_with(&pi));
    // A second payment of the same invoice while this one is open is refused.
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{invoice}/pay"),
            Some(&member_token),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("payment_in_progress"))
    );
    assert_eq!(status_of(&app, &admin, &membership).await, "pending");
    let confirmed = fake.confirm("payment_intents", &pi, "pm_card_visa").await;
    assert_eq!(confirmed["status"], "succeeded", "{confirmed}");
    let (url, sql) = (
        app.db.url.clone(),
        format!("SELECT status AS v FROM memberships WHERE id = '{membership}'"),
    );
    until("the membership to start", || {
        query_column(&url, &sql)[0].as_deref() == Some("active")
    })
    .await;
    let (_, inv) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{invoice}"),
            &admin,
        )
        .await;
    assert_eq!(inv["status"], "paid");
    assert_eq!(inv["amount_paid"]["amount"].as_i64(), Some(total));
    assert_eq!(fake.succeeded_by_invoice().await, [(invoice.clone(), 1)]);
    // The card used is kept for the renewals.
    let saved = query_column(
        &app.db.url,
        &format!(
            "SELECT payment_method_ref AS v FROM billing_profiles WHERE account_id = '{member}'"
        ),
    );
    assert!(
        saved[0].as_deref().is_some_and(|pm| pm.starts_with("pm_")),
        "{saved:?}"
    );
    // Refunds go through Stripe; more than was paid is refused.
    let payment_id = payment["id"].as_str().unwrap();
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/payments/{payment_id}/refunds"),
            Some(&admin),
            &json!({"amount": total + 1, "reason": "x"}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("refund_exceeds_payment"))
    );
    let (status, refund) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/payments/{payment_id}/refunds"),
            Some(&admin),
            &json!({"amount": 1000, "reason": "geste"}),
        )
        .await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded");
    let refunds = fake.control("GET", "/_control/refunds", json!(null)).await;
    assert_eq!(
        refunds.to_string().matches("\"amount\":1000").count(),
        1,
        "{refunds}"
    );
}

#[tokio::test]
async fn renewals_are_charged_once_and_dunning_blocks_then_paying_reinstates() {
    let fake = Fake::start().await;
    let app = app_with_stripe(&fake).await;
    let admin = app.token("atlas", "admin").await;
    let plan = monthly_plan_id(&app, &admin).await;
    let member = member_id(&app, "member").await;
    let member_token = app.token("atlas", "member").await;
    let card = save_card(&app, &fake, &member_token, &member, "pm_card_visa").await;
    let (membership, renewal_day) = active_membership(&app, &admin, &member, &plan).await;
    // The club's door, and the member's printed card: the door follows the billing state with no manual step.
    let (_, door) = door_in_centre(&app).await;
    let staff = app.token("atlas", "staff").await;
    let (status, door_card) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/members/{member}/credentials"),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{door_card}");
    let door_card = door_card["value"].as_str().unwrap().to_owned();
    let door_says = |decision: Value| match decision["decision"].as_str() {
        Some("allow") => "allow".to_owned(),
        _ => decision["reason"].as_str().unwrap_or("?").to_owned(),
    };

    // The renewal day: one invoice, charged off-session with the saved card.
    let report = run_ok(&app, &fake, &renewal_day);
    assert_eq!(
        (report["invoiced"].as_i64(), report["succeeded"].as_i64()),
        (Some(1), Some(1)),
        "{report}"
    );
    let renewal = query_column(&app.db.url, &format!(
        "SELECT id AS v FROM invoices WHERE membership_id = '{membership}' AND CAST(period_start AS TEXT) = '{renewal_day}'"));
    let renewal = renewal[0].clone().unwrap();
    // Running the same day again invoices and charges nothing more.
    let again = run_ok(&app, &fake, &renewal_day);
    assert_eq!(
        (again["invoiced"].as_i64(), again["charged"].as_i64()),
        (Some(0), Some(0)),
        "{again}"
    );
    assert_eq!(fake.succeeded_by_invoice().await, [(renewal.clone(), 1)]);

    // The next renewal is declined: dunning retries on days 1, 3, 7; past due after 3 days; suspended on day 10.
    fake.control(
        "POST",
        &format!("/_control/payment_methods/{card}"),
        json!({"behaviour": "insufficient_funds"}),
    )
    .await;
    let next_day = query_column(
        &app.db.url,
        &format!(
            "SELECT CAST(billed_until AS TEXT) AS v FROM memberships WHERE id = '{membership}'"
        ),
    )[0]
    .clone()
    .unwrap();
    let report = run_ok(&app, &fake, &next_day);
    assert_eq!(
        (report["invoiced"].as_i64(), report["failed"].as_i64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(
        status_of(&app, &admin, &membership).await,
        "active",
        "access goes on during the grace period"
    );
    assert_eq!(
        door_says(check(&app, &door, "barcode", &door_card, "in").await),
        "allow"
    );
    let mut statuses = Vec::new();
    for day in [1, 2, 3, 7, 10] {
        let report = run_ok(&app, &fake, &day_after(&next_day, day));
        statuses.push((
            day,
            status_of(&app, &admin, &membership).await,
            report["retries"].as_i64().unwrap(),
            door_says(check(&app, &door, "barcode", &door_card, "in").await),
        ));
    }
    assert_eq!(
        statuses,
        [
            (1, "active".into(), 1, "allow".into()),
            (2, "active".into(), 0, "allow".into()),
            (3, "past_due".into(), 1, "payment_overdue".into()),
            (7, "past_due".into(), 1, "payment_overdue".into()),
            (10, "suspended".into(), 0, "membership_suspended".into())
        ]
    );
    let failed = count(
        &app.db.url,
        &format!(
            "SELECT count(*) FROM payments p JOIN invoices i ON i.id = p.invoice_id \
        WHERE i.membership_id = '{membership}' AND p.status = 'failed'"
        ),
    );
    assert_eq!(failed, 4, "the first attempt and three retries");
    // Paying the overdue invoice (here online with another card) reinstates the membership at once.
    let (_, overdue) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/invoices?membership_id={membership}&status=open"),
            &admin,
        )
        .await;
    let overdue = overdue["data"][0]["id"].as_str().unwrap().to_owned();
    let (status, payment) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{overdue}/pay"),
            Some(&member_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{payment}");
    fake.confirm(
        "payment_intents",
        payment["provider_ref"].as_str().unwrap(),
        "pm_card_mastercard",
    )
    .await;
    let (url, sql) = (
        app.db.url.clone(),
        format!("SELECT status AS v FROM memberships WHERE id = '{membership}'"),
    );
    until("reinstatement", || {
        query_column(&url, &sql)[0].as_deref() == Some("active")
    })
    .await;
    let history = query_column(&app.db.url, &format!(
        "SELECT action AS v FROM membership_history WHERE membership_id = '{membership}' ORDER BY id"));
    let actions: Vec<&str> = history.iter().filter_map(|a| a.as_deref()).collect();
    assert!(
        actions.ends_with(&["mark_past_due", "suspend", "reinstate"]),
        "{actions:?}"
    );
    // Admitted the moment the payment is applied: nobody touched the membership or the door.
    assert_eq!(
        door_says(check(&app, &door, "barcode", &door_card, "in").await),
        "allow"
    );
}

/// Two members (`member`, `member2`) with a saved Visa card and an active monthly membership paid at the desk:
/// (membership id, billed until), both renewing on the same day.
async fn two_renewing_memberships(
    app: &TestApp,
    fake: &Fake,
    admin: &str,
) -> Vec<(String, String)> {
    let plan = monthly_plan_id(app, admin).await;
    let mut memberships = Vec::new();
    for local in ["member", "member2"] {
        let member = member_id(app, local).await;
        let token = app.token("atlas", local).await;
        save_card(app, fake, &token, &member, "pm_card_visa").await;
        memberships.push(active_membership(app, admin, &member, &plan).await);
    }
    memberships
}

/// A run larger than its batches: 250 renewals are invoiced in three batches and charged in three, the charging
/// overlapping the invoicing. Each is invoiced once, numbered without a gap and charged exactly once (the fake's
/// own records), and a second run finds nothing left to do.
#[tokio::test]
async fn a_run_over_several_batches_invoices_and_charges_each_renewal_once() {
    use futures::StreamExt;
    const RENEWALS: usize = 250;
    let fake = Fake::start().await;
    let app = app_with_stripe(&fake).await;
    let admin = app.token("atlas", "admin").await;
    let plan = monthly_plan_id(&app, &admin).await;
    let member = member_id(&app, "member").await;
    let token = app.token("atlas", "member").await;
    save_card(&app, &fake, &token, &member, "pm_card_visa").await;
    let memberships: Vec<(String, String)> = futures::stream::iter(0..RENEWALS)
        .map(|_| active_membership(&app, &admin, &member, &plan))
        .buffer_unordered(8)
        .collect()
        .await;
    let day = memberships[0].1.clone();
    assert!(memberships.iter().all(|(_, until)| *until == day));
    let report = run_ok(&app, &fake, &day);
    let counts = |r: &Value| {
        ["invoiced", "charged", "succeeded", "failed", "unknown"].map(|k| r[k].as_u64().unwrap())
    };
    assert_eq!(counts(&report), [250, 250, 250, 0, 0], "{report}");
    let renewed = count(
        &app.db.url,
        &format!(
            "SELECT count(DISTINCT membership_id) FROM invoices WHERE status = 'paid' \
             AND CAST(period_start AS TEXT) = '{day}'"
        ),
    );
    let invoices = count(
        &app.db.url,
        &format!("SELECT count(*) FROM invoices WHERE CAST(period_start AS TEXT) = '{day}'"),
    );
    assert_eq!((renewed, invoices), (250, 250));
    let charges = fake.succeeded_by_invoice().await;
    assert_eq!(charges.len(), RENEWALS, "{charges:?}");
    assert!(charges.iter().all(|(_, n)| *n == 1), "{charges:?}");
    let gaps = count(&app.db.url, "SELECT count(*) FROM (SELECT series FROM invoices WHERE number IS NOT NULL \
        GROUP BY series HAVING count(*) <> MAX(sequence_no) OR count(DISTINCT sequence_no) <> count(*)) AS x");
    assert_eq!(gaps, 0, "a gap in the numbers");
    assert_eq!(
        counts(&run_ok(&app, &fake, &day)),
        [0, 0, 0, 0, 0],
        "a second run of the day"
    );
}

#[tokio::test]
async fn a_run_stopped_at_any_step_and_run_again_invoices_and_charges_once() {
    let fake = Fake::start().await;
    let app = app_with_stripe(&fake).await;
    let admin = app.token("atlas", "admin").await;
    let memberships = two_renewing_memberships(&app, &fake, &admin).await;
    let mut day = memberships[0].1.clone();
    // Each named point, then a few random ones: the run dies there (as on a power cut), then runs again.
    let faults = [
        "after_invoice_insert",
        "after_numbering",
        "after_invoice_commit",
        "after_attempt_recorded",
        "after_payment_request",
        "after_payment_recorded",
        "random:7",
        "random:42",
        "random:1234",
    ];
    for fault in faults {
        let crashed = run(&app, &fake, &day, Some(fault));
        // A named point is always reached; a random one (a point and its first, second or third pass) may not be.
        if !fault.starts_with("random") {
            assert!(
                !crashed.status.success(),
                "{fault}: the run should have died"
            );
            assert!(
                String::from_utf8_lossy(&crashed.stderr).contains("billing fault injected"),
                "{fault}: {}",
                String::from_utf8_lossy(&crashed.stderr)
            );
        }
        run_ok(&app, &fake, &day);
        // Every membership has exactly one invoice for the period, paid, with one successful charge.
        for (membership, _) in &memberships {
            let invoices = query_column(&app.db.url, &format!(
                "SELECT id AS v FROM invoices WHERE membership_id = '{membership}' AND CAST(period_start AS TEXT) = '{day}'"));
            assert_eq!(
                invoices.len(),
                1,
                "{fault}: {membership} has {} invoices for {day}",
                invoices.len()
            );
            let invoice = invoices[0].clone().unwrap();
            let (url, sql) = (
                app.db.url.clone(),
                format!("SELECT status AS v FROM invoices WHERE id = '{invoice}'"),
            );
            until("the invoice to be paid", || {
                query_column(&url, &sql)[0].as_deref() == Some("paid")
            })
            .await;
        }
        let charges = fake.succeeded_by_invoice().await;
        assert!(charges.iter().all(|(_, n)| *n == 1), "{fault}: {charges:?}");
        // Each series (prefix and year) is numbered 1..n: no gap, no duplicate.
        let gaps = count(&app.db.url, "SELECT count(*) FROM (SELECT series FROM invoices WHERE number IS NOT NULL \
            GROUP BY series HAVING count(*) <> MAX(sequence_no) OR count(DISTINCT sequence_no) <> count(*)) AS x");
        assert_eq!(gaps, 0, "{fault}: a gap in the numbers");
        day = query_column(
            &app.db.url,
            &format!(
                "SELECT CAST(billed_until AS TEXT) AS v FROM memberships WHERE id = '{}'",
                memberships[0].0
            ),
        )[0]
        .clone()
        .unwrap();
    }
}

fn signature(payload: &str, secret: &str, t: i64) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{payload}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn webhooks_are_signed_applied_once_and_order_does_not_matter() {
    let fake = Fake::start().await;
    let app = app_with_stripe(&fake).await;
    let admin = app.token("atlas", "admin").await;
    let member = member_id(&app, "member").await;
    let member_token = app.token("atlas", "member").await;
    let inv = crate::billing::invoice(&app, &admin, &json!({"member_id": member, "finalise": true,
        "lines": [{"description": "Coaching", "quantity": 1, "unit_price": 5000, "vat_code": "standard"}]})).await;
    let invoice = inv["id"].as_str().unwrap().to_owned();
    // Hold the fake's own deliveries: this test delivers by hand.
    fake.control("POST", "/_control/webhooks", json!({"hold": true}))
        .await;
    let (_, payment) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{invoice}/pay"),
            Some(&member_token),
            &json!({}),
        )
        .await;
    let pi = payment["provider_ref"].as_str().unwrap().to_owned();
    fake.confirm("payment_intents", &pi, "pm_card_visa").await;
    let event = |id: &str, kind: &str| {
        json!({"id": id, "object": "event", "type": kind, "created": 1, "livemode": false, "api_version": "2023-10-16",
               "data": {"object": {"id": pi, "object": "payment_intent", "metadata": {}}}})
        .to_string()
    };
    let deliver = |payload: String, header: String| {
        let request = app
            .post(Some("atlas"), "/api/v1/payments/stripe/webhook")
            .header("stripe-signature", header)
            .header("content-type", "application/json")
            .body(payload);
        async move { tessera_tests::json(request.send().await.unwrap()).await }
    };
    let now = chrono::Utc::now().timestamp();
    // A wrong secret, an old timestamp, no header: refused, nothing applied.
    let late = event("evt_late", "payment_intent.payment_failed");
    for header in [
        signature(&late, "whsec_wrong", now),
        signature(&late, SECRET, now - 301),
    ] {
        let (status, problem) = deliver(late.clone(), header).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some("bad_signature")),
            "{problem}"
        );
    }
    // Another brand's host does not know Atlas's secret.
    let request = app
        .post(Some("lumiere"), "/api/v1/payments/stripe/webhook")
        .header("stripe-signature", signature(&late, SECRET, now))
        .body(late.clone());
    assert_ne!(request.send().await.unwrap().status(), 200);
    assert_eq!(count(&app.db.url, "SELECT count(*) FROM stripe_events"), 0);
    // Out of order: an old failure arrives first; the current state (succeeded) is what gets applied. Then the
    // success three times, concurrently: applied once.
    let (status, body) = deliver(late.clone(), signature(&late, SECRET, now)).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("applied")),
        "{body}"
    );
    let success = event("evt_success", "payment_intent.succeeded");
    // Several v1 signatures (a secret being rolled): any one matching is enough.
    let both = format!(
        "{},v1={}",
        signature(&success, SECRET, now),
        "00".repeat(32)
    );
    let results =
        futures::future::join_all((0..3).map(|_| deliver(success.clone(), both.clone()))).await;
    let outcomes: Vec<&str> = results
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, 200, "{b}");
            b["outcome"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "applied").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == "duplicate").count(),
        2,
        "{outcomes:?}"
    );
    let (_, inv) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{invoice}"),
            &admin,
        )
        .await;
    assert_eq!(inv["status"], "paid");
    assert_eq!(inv["amount_paid"]["amount"], inv["total_incl"]["amount"]);
    assert_eq!(count(&app.db.url, &format!("SELECT count(*) FROM payments WHERE invoice_id = '{invoice}' AND status = 'succeeded'")), 1);
    // The fake's held deliveries (the real events, duplicated by the fake) change nothing more.
    fake.control(
        "POST",
        "/_control/webhooks",
        json!({"hold": false, "duplicate": 3}),
    )
    .await;
    fake.control(
        "POST",
        "/_control/webhooks/release",
        json!({"order": "reverse"}),
    )
    .await;
    let (_, inv) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{invoice}"),
            &admin,
        )
        .await;
    assert_eq!(inv["amount_paid"]["amount"], inv["total_incl"]["amount"]);
    assert_eq!(fake.succeeded_by_invoice().await, [(invoice, 1)]);
}

#[tokio::test]
async fn an_appointment_paid_online_is_booked_only_once_its_payment_succeeds() {
    let fake = Fake::start().await;
    let app = app_with_stripe(&fake).await;
    let f = crate::scheduling::setup(&app, "atlas").await;
    let (member, member2) = (
        app.token("atlas", "member").await,
        app.token("atlas", "member2").await,
    );
    let start = (chrono::Utc::now() + chrono::Duration::days(4))
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc();
    let book = |token: &str, at: chrono::DateTime<chrono::Utc>| {
        let (app, token) = (&app, token.to_owned());
        let body = json!({"service_id": f.service, "pro_id": f.coach, "starts_at": at.to_rfc3339(), "pay_online": true});
        async move {
            app.post_json(Some("atlas"), "/api/v1/appointments", Some(&token), &body)
                .await
        }
    };
    // Booked with online payment: invoiced at once (60 EUR + 20 % VAT), holding the slot, not booked yet.
    let (status, apt) = book(&member, start).await;
    assert_eq!(status, 201, "{apt}");
    assert_eq!(apt["status"], "pending_payment");
    assert!(apt["hold_until"].is_string(), "{apt}");
    let (id, invoice) = (
        apt["id"].as_str().unwrap().to_owned(),
        apt["invoice_id"].as_str().unwrap().to_owned(),
    );
    let (_, inv) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{invoice}"),
            &f.admin,
        )
        .await;
    assert_eq!(inv["status"], "open", "{inv}");
    assert_eq!(inv["total_incl"]["amount"].as_i64(), Some(7200));
    assert_eq!(inv["lines"][0]["item"], "service", "{inv}");
    // The held slot is not offered to anyone else.
    let (status, body) = book(&member2, start).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("pro_unavailable")),
        "{body}"
    );
    // The member pays on-session: a PaymentIntent whose client secret the app confirms with a card.
    let (status, payment) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{invoice}/pay"),
            Some(&member),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{payment}");
    let pi = payment["provider_ref"].as_str().unwrap().to_owned();
    let (url, sql) = (
        app.db.url.clone(),
        format!("SELECT status AS v FROM appointments WHERE id = '{id}'"),
    );
    assert_eq!(
        query_column(&url, &sql)[0].as_deref(),
        Some("pending_payment")
    );
    let confirmed = fake.confirm("payment_intents", &pi, "pm_card_visa").await;
    assert_eq!(confirmed["status"], "succeeded", "{confirmed}");
    until("the appointment to be booked", || {
        query_column(&url, &sql)[0].as_deref() == Some("booked")
    })
    .await;
    let (_, apt) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/appointments/{id}"),
            &member,
        )
        .await;
    assert_eq!(
        (apt["status"].as_str(), apt["hold_until"].is_null()),
        (Some("booked"), true),
        "{apt}"
    );
    assert_eq!(fake.succeeded_by_invoice().await, [(invoice.clone(), 1)]);
    assert_eq!(
        count(
            &url,
            "SELECT count(*) FROM events WHERE event_type = 'booking.confirmed'"
        ),
        1
    );

    // A declined card leaves the booking unpaid; once its hold has ended, the slot is free for someone else and
    // the unpaid booking is `expired`.
    let later = start + chrono::Duration::hours(2);
    let (status, apt) = book(&member, later).await;
    assert_eq!(status, 201, "{apt}");
    let (id2, invoice2) = (
        apt["id"].as_str().unwrap().to_owned(),
        apt["invoice_id"].as_str().unwrap().to_owned(),
    );
    let (_, payment) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{invoice2}/pay"),
            Some(&member),
            &json!({}),
        )
        .await;
    let pi = payment["provider_ref"].as_str().unwrap().to_owned();
    let declined = fake
        .confirm("payment_intents", &pi, "pm_card_chargeDeclined")
        .await;
    assert_ne!(declined["status"], "succeeded", "{declined}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sql2 = format!("SELECT status AS v FROM appointments WHERE id = '{id2}'");
    assert_eq!(
        query_column(&url, &sql2)[0].as_deref(),
        Some("pending_payment")
    );
    tessera_tests::execute(
        &url,
        &format!(
            "UPDATE appointments SET hold_until = '{}' WHERE id = '{id2}'",
            crate::scheduling::sql_time(chrono::Utc::now() - chrono::Duration::minutes(1))
        ),
    );
    let (status, body) = book(&member2, later).await;
    assert_eq!(status, 201, "the expired hold frees the slot: {body}");
    assert_eq!(query_column(&url, &sql2)[0].as_deref(), Some("expired"));

    // A free service has nothing to pay online: 422, nothing written.
    let (status, free) = app
        .post_json(
            Some("atlas"),
            "/api/v1/services",
            Some(&f.admin),
            &json!({"name": "Welcome tour", "duration_minutes": 30, "price": {"amount": 0, "currency": "EUR"},
                    "pro_ids": [f.coach]}),
        )
        .await;
    assert_eq!(status, 201, "{free}");
    let before = count(&url, "SELECT count(*) FROM appointments");
    let (status, body) = app
        .post_json(Some("atlas"), "/api/v1/appointments", Some(&member2),
            &json!({"service_id": free["id"], "pro_id": f.coach,
                    "starts_at": (start + chrono::Duration::hours(5)).to_rfc3339(), "pay_online": true}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("nothing_to_pay"), "{body}");
    assert_eq!(count(&url, "SELECT count(*) FROM appointments"), before);

    // Refused at a brand without an online payment provider, and nothing is written.
    let brand_without_stripe = TestApp::spawn().await;
    let g = crate::scheduling::setup(&brand_without_stripe, "atlas").await;
    let member3 = brand_without_stripe.token("atlas", "member").await;
    let (status, body) = brand_without_stripe
        .post_json(Some("atlas"), "/api/v1/appointments", Some(&member3),
            &json!({"service_id": g.service, "pro_id": g.coach, "starts_at": start.to_rfc3339(), "pay_online": true}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("online_payment_unavailable")),
        "{body}"
    );
    assert_eq!(
        count(
            &brand_without_stripe.db.url,
            "SELECT count(*) FROM appointments"
        ),
        0,
        "nothing written"
    );
}

/// A run writes a batch's events together (one notification for many on PostgreSQL): each still reaches a staff
/// subscriber of the server, once, though the run is another process.
#[tokio::test]
async fn a_runs_events_reach_live_subscribers_once_each() {
    let fake = Fake::start().await;
    let app = app_with_stripe(&fake).await;
    let admin = app.token("atlas", "admin").await;
    let memberships = two_renewing_memberships(&app, &fake, &admin).await;
    let mut stream = app.events("atlas", &admin).await;
    // The sales' own events may still be on their way (SQLite's feeder polls): let them pass first.
    while stream
        .next_within(Duration::from_millis(1500))
        .await
        .is_some()
    {}
    let report = run_ok(&app, &fake, &memberships[0].1);
    assert_eq!(report["invoiced"], 2, "{report}");
    assert_eq!(report["succeeded"], 2, "{report}");
    let mut seen: Vec<(String, String)> = Vec::new();
    let wanted = ["invoice.finalised", "payment.succeeded", "invoice.paid"];
    while seen.len() < 6 {
        let Some(event) = stream.next_within(Duration::from_secs(10)).await else {
            break;
        };
        let kind = event["type"].as_str().unwrap_or_default().to_owned();
        if wanted.contains(&kind.as_str()) {
            seen.push((kind, event["id"].as_str().unwrap_or_default().to_owned()));
        }
    }
    for kind in wanted {
        assert_eq!(
            seen.iter().filter(|(k, _)| k == kind).count(),
            2,
            "{kind} for each membership: {seen:?}"
        );
    }
    // Nothing arrives twice.
    assert!(
        stream
            .next_within(Duration::from_secs(1))
            .await
            .is_none_or(|e| !seen.iter().any(|(_, id)| e["id"] == id.as_str())),
        "an event came twice"
    );
    let mut ids: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "{seen:?}");
}
