//! Outgoing webhooks: a receiver on loopback that fails twice then succeeds gets the event once as a success,
//! signed so that a standard HMAC check accepts it; every attempt is listed; a resend sends the same event again;
//! a change that rolled back sends nothing; endpoints are checked when registered.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use tessera_tests::{cli_ok, count, eventually, TestApp};

/// What the receiver got: (signature header, event id header, body).
type Received = Arc<Mutex<Vec<(String, String, String)>>>;

/// A receiver on a free loopback port that answers 500 to its first `failures` requests, then 200.
async fn receiver(failures: usize) -> (String, Received) {
    let received: Received = Arc::default();
    let log = received.clone();
    let handler = move |headers: HeaderMap, body: String| {
        let log = log.clone();
        async move {
            let header = |name: &str| {
                headers
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default()
            };
            let mut log = log.lock().unwrap();
            log.push((
                header("tessera-signature"),
                header("tessera-event-id"),
                body,
            ));
            if log.len() <= failures {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        }
    };
    let router = axum::Router::new().route("/hook", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, received)
}

/// Verifies `Tessera-Signature` the way a receiver would, with a standard HMAC-SHA256.
fn signature_is_valid(secret: &str, header: &str, body: &str) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_owned()),
            Some(("v1", value)) => v1.push(value.to_owned()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    v1.contains(&expected)
}

const LOOPBACK_RECEIVERS: [(&str, &str); 3] = [
    ("TESSERA_WEBHOOKS__ALLOW_HTTP", "true"),
    ("TESSERA_WEBHOOKS__ALLOW_PRIVATE_NETWORKS", "true"),
    ("TESSERA_WEBHOOKS__RETRY_BASE_MS", "300"),
];

async fn register(app: &TestApp, token: &str, url: &str, types: Value) -> (String, String) {
    let (status, created) = app
        .post_json(
            Some("atlas"),
            "/api/v1/webhook-endpoints",
            Some(token),
            &json!({"url": url, "event_types": types, "description": "brand CRM"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    (
        created["endpoint"]["id"].as_str().unwrap().to_owned(),
        secret,
    )
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_event_once_as_a_success_signed() {
    let app = TestApp::spawn_with(&LOOPBACK_RECEIVERS).await;
    let admin = app.token("atlas", "admin").await;
    let (url, received) = receiver(2).await;
    let (endpoint, secret) = register(&app, &admin, &url, json!(["staff.invited"])).await;
    // The secret is stored sealed, never in clear.
    assert_eq!(
        count(
            &app.db.url,
            &format!(
                "SELECT count(*) FROM webhook_endpoints WHERE secret_sealed LIKE '%{secret}%'"
            )
        ),
        0
    );

    let (status, invited) = app
        .post_json(
            Some("atlas"),
            "/api/v1/staff",
            Some(&admin),
            &json!({"email": "hooked@atlas.test", "display_name": "Hooked", "roles": ["staff"]}),
        )
        .await;
    assert_eq!(status, 201, "{invited}");
    let account = invited["staff"]["id"].as_str().unwrap().to_owned();

    let deliveries_path = format!("/api/v1/webhook-endpoints/{endpoint}/deliveries");
    let mut deliveries = Value::Null;
    for _ in 0..100 {
        deliveries = app
            .get_json(Some("atlas"), &deliveries_path, &admin)
            .await
            .1;
        if deliveries["data"][0]["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delivery = &deliveries["data"][0];
    assert_eq!(delivery["status"], "succeeded", "{deliveries}");
    assert_eq!(
        deliveries["data"].as_array().unwrap().len(),
        1,
        "{deliveries}"
    );
    assert_eq!(delivery["attempts"], 3);
    let codes: Vec<i64> = delivery["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![500, 500, 200]);

    let requests = received.lock().unwrap().clone();
    assert_eq!(requests.len(), 3, "two failures, then the one success");
    let event_id = delivery["event_id"].as_str().unwrap();
    for (signature, id, body) in &requests {
        assert_eq!(id, event_id, "every attempt carries the same event");
        assert!(signature_is_valid(&secret, signature, body), "{signature}");
        assert!(!signature_is_valid("whsec_wrong", signature, body));
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(event["type"], "staff.invited");
        assert_eq!(event["data"]["account_id"], account.as_str());
    }
    // The retries waited longer each time.
    let started: Vec<chrono::DateTime<chrono::Utc>> = delivery["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["started_at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        started[2] - started[1] > started[1] - started[0],
        "{started:?}"
    );

    // A manual resend is a new delivery of the same event.
    let (status, resent) = app
        .post_json(
            Some("atlas"),
            &format!(
                "{deliveries_path}/{}/resend",
                delivery["id"].as_str().unwrap()
            ),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, 202, "{resent}");
    assert!(
        eventually(Duration::from_secs(20), || received.lock().unwrap().len()
            == 4)
        .await,
        "the resend arrived"
    );
    assert_eq!(received.lock().unwrap()[3].1, event_id);

    // Outcomes are counted for the metrics.
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("webhook_delivery_attempts_total{outcome=\"succeeded\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("webhook_delivery_attempts_total{outcome=\"pending\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_change_that_rolled_back_sends_nothing() {
    let app = TestApp::spawn_with(&LOOPBACK_RECEIVERS).await;
    let admin = app.token("atlas", "admin").await;
    let (url, received) = receiver(0).await;
    register(&app, &admin, &url, json!(["diagnostic.published"])).await;
    // Publishes its event, then fails: the transaction, event and delivery included, rolls back.
    cli_ok(
        &app.db.url,
        &[
            "jobs",
            "enqueue",
            "diagnostic.publish",
            "--tenant",
            "atlas",
            "--max-attempts",
            "1",
            "--payload",
            r#"{"fail": true, "note": "rolled back"}"#,
        ],
    );
    cli_ok(
        &app.db.url,
        &[
            "jobs",
            "enqueue",
            "diagnostic.publish",
            "--tenant",
            "atlas",
            "--payload",
            r#"{"note": "committed"}"#,
        ],
    );
    assert!(
        eventually(Duration::from_secs(20), || {
            count(&app.db.url, "SELECT count(*) FROM jobs WHERE kind = 'diagnostic.publish' AND status IN ('dead', 'succeeded')") == 2
                && !received.lock().unwrap().is_empty()
        })
        .await
    );
    // Leave the rolled-back one every chance to show up.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let bodies: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.2.clone())
        .collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(bodies[0].contains("committed"));
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM events WHERE data_json LIKE '%rolled back%'"
        ),
        0
    );
    assert_eq!(
        count(&app.db.url, "SELECT count(*) FROM webhook_deliveries"),
        1
    );
}

#[tokio::test]
async fn endpoints_are_checked_and_admin_only() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let member = app.token("atlas", "member").await;
    let cases = [
        (
            json!({"url": "http://hooks.example.com/x", "event_types": ["*"]}),
            "insecure_url",
        ),
        (
            json!({"url": "https://127.0.0.1/x", "event_types": ["*"]}),
            "private_address",
        ),
        (
            json!({"url": "https://localhost/x", "event_types": ["*"]}),
            "private_address",
        ),
        (
            json!({"url": "https://[::1]/x", "event_types": ["*"]}),
            "private_address",
        ),
        (
            json!({"url": "not a url", "event_types": ["*"]}),
            "invalid_url",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "event_types": ["no.such"]}),
            "unknown_event_type",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "event_types": []}),
            "out_of_range",
        ),
    ];
    for (body, code) in cases {
        let (status, problem) = app
            .post_json(
                Some("atlas"),
                "/api/v1/webhook-endpoints",
                Some(&admin),
                &body,
            )
            .await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert!(problem.to_string().contains(code), "{body}: {problem}");
    }
    let body = json!({"url": "https://hooks.example.com/x", "event_types": ["*"]});
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/webhook-endpoints",
            Some(&member),
            &body,
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        count(&app.db.url, "SELECT count(*) FROM webhook_endpoints"),
        0
    );
    // Register, change, rotate the secret, delete.
    let (status, created) = app
        .post_json(
            Some("atlas"),
            "/api/v1/webhook-endpoints",
            Some(&admin),
            &body,
        )
        .await;
    assert_eq!(status, 201);
    let id = created["endpoint"]["id"].as_str().unwrap();
    let path = format!("/api/v1/webhook-endpoints/{id}");
    let (status, changed) = app
        .send_json(
            reqwest::Method::PATCH,
            Some("atlas"),
            &path,
            Some(&admin),
            &json!({"enabled": false, "event_types": ["staff.invited", "staff.updated"]}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["enabled"], false);
    assert!(changed.get("secret").is_none() && changed.get("secret_sealed").is_none());
    let (status, rotated) = app
        .post_json(
            Some("atlas"),
            &format!("{path}/rotate-secret"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(rotated["secret"], created["secret"]);
    let status = app
        .request(reqwest::Method::DELETE, Some("atlas"), &path)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    assert_eq!(app.get_status(Some("atlas"), &path, &admin).await, 404);
    let audited = count(
        &app.db.url,
        "SELECT count(*) FROM audit_log WHERE action LIKE 'webhook.%'",
    );
    assert_eq!(audited, 4, "created, updated, secret rotated, deleted");
}
