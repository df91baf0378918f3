//! Bad input: malformed JSON, unknown fields, wrong types, oversized bodies, over-long strings. Each gets a 4xx
//! problem document naming the field, and nothing is written.

use serde_json::{json, Value};
use tessera_tests::{count, json, TestApp};

async fn post_raw(app: &TestApp, token: &str, body: String, content_type: &str) -> (u16, Value) {
    json(
        app.post(Some("atlas"), "/api/v1/staff")
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn bad_bodies_get_problems_and_write_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let accounts_before = count(&app.db.url, "SELECT count(*) FROM accounts");
    let cases: Vec<(String, u16, &str, Option<&str>)> = vec![
        ("{\"email\": ".into(), 400, "malformed_json", None),
        ("not json at all".into(), 400, "malformed_json", None),
        (json!({"email": "a@atlas.test", "display_name": "A", "roles": ["staff"], "colour": "red"}).to_string(), 422, "validation_failed", Some("colour")),
        (json!({"email": "a@atlas.test", "display_name": 42, "roles": ["staff"]}).to_string(), 422, "validation_failed", Some("display_name")),
        (json!({"email": "a@atlas.test", "display_name": "A", "roles": "staff"}).to_string(), 422, "validation_failed", Some("roles")),
        (json!({"email": "a@atlas.test", "roles": ["staff"]}).to_string(), 422, "validation_failed", Some("display_name")),
        (json!({"email": "a@atlas.test", "display_name": "x".repeat(101), "roles": ["staff"]}).to_string(), 422, "validation_failed", Some("display_name")),
        (json!({"email": format!("{}@atlas.test", "a".repeat(300)), "display_name": "A", "roles": ["staff"]}).to_string(), 422, "validation_failed", Some("email")),
        (json!({"email": "not-an-email", "display_name": "A", "roles": ["staff"]}).to_string(), 422, "validation_failed", Some("email")),
        (json!({"email": "a@atlas.test", "display_name": "A", "roles": ["wizard"]}).to_string(), 422, "validation_failed", Some("roles[0]")),
        (json!({"email": "a@atlas.test", "display_name": "A", "roles": ["operator"]}).to_string(), 422, "validation_failed", Some("roles[0]")),
        (json!({"email": "a@atlas.test", "display_name": "A", "roles": ["pro"]}).to_string(), 422, "validation_failed", Some("specialty")),
        (json!({"email": "a@atlas.test", "display_name": "A", "roles": []}).to_string(), 422, "validation_failed", Some("roles")),
    ];
    for (body, status, code, field) in cases {
        let (got, problem) = post_raw(&app, &admin, body.clone(), "application/json").await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (status, Some(code)),
            "{body}: {problem}"
        );
        assert!(problem["type"].as_str().unwrap().ends_with(code));
        if let Some(field) = field {
            let fields: Vec<&str> = problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert!(
                fields.contains(&field),
                "{body}: expected field {field}, got {fields:?}"
            );
        }
    }
    // Several bad fields are reported together.
    let (_, problem) = post_raw(
        &app,
        &admin,
        json!({"email": "bad", "display_name": "", "roles": ["pro"], "specialty": "wizard"})
            .to_string(),
        "application/json",
    )
    .await;
    assert!(
        problem["errors"].as_array().unwrap().len() >= 3,
        "{problem}"
    );
    // Wrong media type.
    let (status, problem) = post_raw(
        &app,
        &admin,
        "email=a".into(),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    // Oversized body (the limit is 1 MiB).
    let huge = json!({"email": "a@atlas.test", "display_name": "x".repeat(2 * 1024 * 1024), "roles": ["staff"]}).to_string();
    // On its own connection: the server answers 413 without reading the rest and closes that connection.
    let (status, problem) = json(
        reqwest::Client::new()
            .post(app.url("/api/v1/staff"))
            .header("host", app.host(Some("atlas")))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    assert_eq!(
        count(&app.db.url, "SELECT count(*) FROM accounts"),
        accounts_before,
        "nothing was written"
    );

    // Query strings too.
    let (status, problem) = app
        .get_json(Some("atlas"), "/api/v1/staff?limit=101", &admin)
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("limit"))
    );
    let (status, problem) = app
        .get_json(Some("atlas"), "/api/v1/staff?limit=ten", &admin)
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, problem) = app
        .get_json(Some("atlas"), "/api/v1/staff?cursor=%%%", &admin)
        .await;
    assert!(status == 422 || status == 400, "{problem}");
    // Unknown routes and methods are problems too.
    let (status, problem) = json(
        app.get(Some("atlas"), "/api/v1/nothing-here")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
    let (status, problem) = json(
        app.request(reqwest::Method::DELETE, Some("atlas"), "/api/v1/me")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn login_input_is_bounded() {
    let app = TestApp::spawn().await;
    let (status, problem) = app
        .try_login(Some("atlas"), "a@atlas.test", &"p".repeat(5000))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("password"))
    );
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/auth/token",
            None,
            &json!({"email": "a@atlas.test"}),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": "x".repeat(500)}),
        )
        .await;
    assert_eq!(status, 422);
}
