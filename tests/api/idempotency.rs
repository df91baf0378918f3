//! `Idempotency-Key`: replay, reuse with another body, keys in flight, concurrent duplicates.

use serde_json::json;
use tessera_tests::{count, json, TestApp};

fn invite(email: &str) -> serde_json::Value {
    json!({"email": email, "display_name": "Ana Costa", "roles": ["pro"], "specialty": "coach"})
}

#[tokio::test]
async fn same_key_replays_other_body_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let send = |key: &str, body: serde_json::Value| {
        app.post(Some("atlas"), "/api/v1/staff")
            .bearer_auth(&admin)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = send("key-1", invite("ana@atlas.test")).await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (_, first) = json(first).await;
    let again = send("key-1", invite("ana@atlas.test")).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let (_, again) = json(again).await;
    assert_eq!(
        first, again,
        "the stored response, invitation token included"
    );
    let (status, problem) = json(send("key-1", invite("other@atlas.test")).await.unwrap()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM accounts WHERE email IN ('ana@atlas.test', 'other@atlas.test')"
        ),
        1
    );
    // An error response is stored too: a retry with the same key gets the same 409.
    let (status, problem) = json(send("key-2", invite("ana@atlas.test")).await.unwrap()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("email_taken"))
    );
    let replay = send("key-2", invite("ana@atlas.test")).await.unwrap();
    assert_eq!(
        (
            replay.status().as_u16(),
            replay.headers()["idempotent-replayed"].to_str().unwrap()
        ),
        (409, "true")
    );
    // Keys are per caller: the operator's "key-1" on the same brand is another request.
    let operator = app.operator_token().await;
    let response = app
        .post(Some("atlas"), "/api/v1/staff")
        .bearer_auth(&operator)
        .header("idempotency-key", "key-1")
        .json(&invite("from-ops@atlas.test"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.headers().get("idempotent-replayed").is_none());
    // A bad key is refused.
    let (status, problem) = json(
        send(&"k".repeat(300), invite("long@atlas.test"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("Idempotency-Key"))
    );
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_account() {
    let app = TestApp::spawn().await;
    let admin = app.token("lumiere", "admin").await;
    let requests = (0..12).map(|_| {
        app.post(Some("lumiere"), "/api/v1/staff")
            .bearer_auth(&admin)
            .header("idempotency-key", "burst")
            .json(&invite("burst@lumiere.test"))
            .send()
    });
    let responses = futures::future::join_all(requests).await;
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for response in responses {
        let (status, body) = json(response.unwrap()).await;
        match status {
            201 => {
                created += 1;
                ids.insert(body["staff"]["id"].as_str().unwrap().to_owned());
            }
            409 => assert_eq!(body["code"], "idempotency_key_in_flight"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(created >= 1);
    assert_eq!(ids.len(), 1, "every success is the same account");
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM accounts WHERE email = 'burst@lumiere.test'"
        ),
        1
    );
}
