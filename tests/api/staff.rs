//! Staff management: invitation, acceptance, roles and specialty, deactivation, pagination.

use serde_json::json;
use tessera_tests::{json, TestApp, PASSWORD};

#[tokio::test]
async fn invite_accept_manage_deactivate() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let (status, invited) = app.post_json(Some("atlas"), "/api/v1/staff", Some(&admin), &json!({"email": "Nadia.B@Atlas.test", "display_name": "Nadia Benali", "roles": ["pro"], "specialty": "nutritionist"})).await;
    assert_eq!(status, 201, "{invited}");
    assert_eq!(
        invited["staff"]["email"], "nadia.b@atlas.test",
        "addresses are normalised"
    );
    assert_eq!(invited["staff"]["status"], "invited");
    let id = invited["staff"]["id"].as_str().unwrap().to_owned();
    let token = invited["invitation"]["token"].as_str().unwrap().to_owned();

    // Invited accounts cannot log in; the invitation sets the password, once.
    let (status, _) = app
        .try_login(Some("atlas"), "nadia.b@atlas.test", PASSWORD)
        .await;
    assert_eq!(status, 401);
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/auth/accept-invite",
            None,
            &json!({"token": token, "password": "short"}),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("password"))
    );
    let (status, _) = app
        .post_json(
            Some("lumiere"),
            "/api/v1/auth/accept-invite",
            None,
            &json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 401, "an invitation only works on its own brand");
    let accept = app
        .post(Some("atlas"), "/api/v1/auth/accept-invite")
        .json(&json!({"token": token, "password": PASSWORD}));
    assert_eq!(accept.send().await.unwrap().status(), 204);
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/auth/accept-invite",
            None,
            &json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("invalid_invitation")),
        "single use"
    );
    let nadia = app.login(Some("atlas"), "nadia.b@atlas.test").await;
    // Her principal is now in the server's cache; deactivation below must still apply on her next request.
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/me", &nadia.access)
            .await,
        200
    );

    // Roles and specialty.
    let patch = |body: serde_json::Value| {
        app.request(
            reqwest::Method::PATCH,
            Some("atlas"),
            &format!("/api/v1/staff/{id}"),
        )
        .bearer_auth(&admin)
        .json(&body)
        .send()
    };
    let (status, updated) = json(
        patch(json!({"roles": ["pro", "staff"], "specialty": "coach"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["roles"], json!(["pro", "staff"]));
    assert_eq!(updated["specialty"], "coach");
    let (status, problem) = json(patch(json!({"roles": ["staff"]})).await.unwrap()).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("specialty")),
        "a specialty without pro is refused"
    );
    let (status, updated) = json(
        patch(json!({"roles": ["staff"], "specialty": null}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, updated["specialty"].clone()),
        (200, serde_json::Value::Null)
    );
    let (status, updated) = json(patch(json!({"display_name": "Nadia B."})).await.unwrap()).await;
    assert_eq!(
        (
            status,
            updated["display_name"].as_str(),
            updated["roles"].clone()
        ),
        (200, Some("Nadia B."), json!(["staff"]))
    );

    // An admin cannot lock themself out.
    let (_, me) = app.get_json(Some("atlas"), "/api/v1/me", &admin).await;
    let admin_id = me["account"]["id"].as_str().unwrap();
    let (status, problem) = json(
        app.post(
            Some("atlas"),
            &format!("/api/v1/staff/{admin_id}/deactivate"),
        )
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("self_lockout"))
    );
    let (status, _) = json(
        app.request(
            reqwest::Method::PATCH,
            Some("atlas"),
            &format!("/api/v1/staff/{admin_id}"),
        )
        .bearer_auth(&admin)
        .json(&json!({"roles": ["staff"]}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 409);

    // Deactivation: no more login, sessions revoked, current token refused.
    let (status, body) = json(
        app.post(Some("atlas"), &format!("/api/v1/staff/{id}/deactivate"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("deactivated"))
    );
    let (status, _) = app
        .try_login(Some("atlas"), "nadia.b@atlas.test", PASSWORD)
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": nadia.refresh}),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/me", &nadia.access)
            .await,
        401
    );

    // Members are not staff: their ids are not found on staff routes.
    let (_, members) = json(
        app.get(Some("atlas"), "/api/v1/me")
            .bearer_auth(app.token("atlas", "member").await)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let member_id = members["account"]["id"].as_str().unwrap();
    assert_eq!(
        app.get_status(Some("atlas"), &format!("/api/v1/staff/{member_id}"), &admin)
            .await,
        404
    );
}

#[tokio::test]
async fn staff_list_pages_with_cursors() {
    let app = TestApp::spawn().await;
    let admin = app.token("forge", "admin").await;
    for i in 0..7 {
        let body = json!({"email": format!("seller{i}@forge.test"), "display_name": format!("Seller {i}"), "roles": ["sales_rep"]});
        assert_eq!(
            app.post(Some("forge"), "/api/v1/staff")
                .bearer_auth(&admin)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status(),
            201
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/staff?limit=3&cursor={c}"),
            None => "/api/v1/staff?limit=3".to_owned(),
        };
        let (status, page) = app.get_json(Some("forge"), &path, &admin).await;
        assert_eq!(status, 200, "{page}");
        let rows = page["data"].as_array().unwrap();
        assert!(rows.len() <= 3);
        seen.extend(rows.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    // admin, staff, coach and the 7 sellers; members are not staff.
    assert_eq!(seen.len(), 10, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "ordered and without duplicates");
    assert_eq!(pages, 4);
}
