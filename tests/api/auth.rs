//! Tokens: login, refresh rotation and reuse, forged and expired tokens, roles, throttling, key rotation.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tessera_tests::{json, query_column, TestApp, PASSWORD};

/// The current signing key, read from the database and unsealed with the master key, as an attacker holding both
/// would (to prove that expiry and audience are checked, not only the signature).
fn current_key(app: &TestApp) -> (String, EncodingKey) {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let kid = query_column(
        &app.db.url,
        "SELECT id AS v FROM signing_keys WHERE status = 'current'",
    )[0]
    .clone()
    .unwrap();
    let sealed = query_column(
        &app.db.url,
        "SELECT private_key AS v FROM signing_keys WHERE status = 'current'",
    )[0]
    .clone()
    .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let bytes = b64.decode(sealed.strip_prefix("v1.").unwrap()).unwrap();
    let cipher =
        aes_gcm::Aes256Gcm::new_from_slice(&b64.decode(tessera_tests::TEST_MASTER_KEY).unwrap())
            .unwrap();
    let der = cipher
        .decrypt(
            aes_gcm::Nonce::from_slice(&bytes[..12]),
            Payload {
                msg: &bytes[12..],
                aad: kid.as_bytes(),
            },
        )
        .unwrap();
    (kid, EncodingKey::from_ed_der(&der))
}

fn claims_of(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn me_status(app: &TestApp, brand: Option<&str>, token: &str) -> u16 {
    app.get(brand, "/api/v1/me")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn login_then_me() {
    let app = TestApp::spawn().await;
    let token = app.token("atlas", "coach").await;
    let (status, me) = app.get_json(Some("atlas"), "/api/v1/me", &token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["account"]["email"], "coach@atlas.test");
    assert_eq!(me["account"]["specialty"], "coach");
    assert_eq!(me["tenant"]["slug"], "atlas");
    assert_eq!(me["roles"], json!(["pro"]));
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let claims = claims_of(&token);
    assert!(claims["aud"]
        .as_str()
        .unwrap()
        .starts_with("tessera:tenant:ten_"));
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 900);

    let (status, body) = app
        .try_login(Some("atlas"), "coach@atlas.test", "wrong password!")
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (status, body) = app
        .try_login(Some("atlas"), "nobody@atlas.test", PASSWORD)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_credentials")),
        "unknown accounts look the same"
    );
    // The same person is unknown in another brand.
    let (status, _) = app
        .try_login(Some("lumiere"), "coach@atlas.test", PASSWORD)
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let good = app.token("atlas", "admin").await;
    assert_eq!(me_status(&app, Some("atlas"), &good).await, 200);
    assert_eq!(me_status(&app, Some("atlas"), "").await, 401, "no token");
    let response = app.get(Some("atlas"), "/api/v1/me").send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");

    // Another tenant's token (wrong audience).
    let lumiere = app.token("lumiere", "admin").await;
    assert_eq!(
        me_status(&app, Some("atlas"), &lumiere).await,
        401,
        "wrong audience"
    );

    // Signed with the real key but expired.
    let (kid, key) = current_key(&app);
    let mut claims = claims_of(&good);
    let now = chrono::Utc::now().timestamp();
    claims["exp"] = json!(now - 120);
    claims["iat"] = json!(now - 1000);
    claims["nbf"] = json!(now - 1000);
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.clone());
    header.typ = Some("at+jwt".into());
    let expired = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    assert_eq!(
        me_status(&app, Some("atlas"), &expired).await,
        401,
        "expired"
    );

    // Real key, valid times, but not an access token (typ).
    let mut claims = claims_of(&good);
    claims["exp"] = json!(now + 300);
    let mut wrong_typ = header.clone();
    wrong_typ.typ = Some("JWT".into());
    assert_eq!(
        me_status(
            &app,
            Some("atlas"),
            &jsonwebtoken::encode(&wrong_typ, &claims, &key).unwrap()
        )
        .await,
        401,
        "typ"
    );
    // Control: the same construction with the right header is accepted, so the refusals above are meaningful.
    assert_eq!(
        me_status(
            &app,
            Some("atlas"),
            &jsonwebtoken::encode(&header, &claims, &key).unwrap()
        )
        .await,
        200
    );

    // alg: none.
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none = format!(
        "{}.{}.",
        b64.encode(json!({"alg": "none", "typ": "at+jwt", "kid": kid}).to_string()),
        b64.encode(claims.to_string())
    );
    assert_eq!(me_status(&app, Some("atlas"), &none).await, 401, "alg none");

    // Unknown kid, signed by a key of our own.
    let foreign = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let foreign_der = foreign.to_pkcs8_der().unwrap();
    let mut foreign_header = header.clone();
    foreign_header.kid = Some("key_attacker".into());
    let forged = jsonwebtoken::encode(
        &foreign_header,
        &claims,
        &EncodingKey::from_ed_der(foreign_der.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        me_status(&app, Some("atlas"), &forged).await,
        401,
        "unknown kid"
    );
    // A foreign key claiming the real kid.
    let forged = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ed_der(foreign_der.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        me_status(&app, Some("atlas"), &forged).await,
        401,
        "bad signature"
    );

    // Tampered payload: the member makes itself someone else.
    let member = app.token("atlas", "member").await;
    let admin_sub = claims_of(&good)["sub"].clone();
    let mut parts: Vec<String> = member.split('.').map(str::to_owned).collect();
    let mut payload = claims_of(&member);
    payload["sub"] = admin_sub;
    parts[1] = b64.encode(payload.to_string());
    assert_eq!(
        me_status(&app, Some("atlas"), &parts.join(".")).await,
        401,
        "tampered"
    );

    // HS256 with the public key as secret (algorithm confusion).
    let jwks: serde_json::Value = app
        .get(Some("atlas"), "/.well-known/jwks.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(kid);
    hs.typ = Some("at+jwt".into());
    let confused =
        jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(x.as_bytes())).unwrap();
    assert_eq!(
        me_status(&app, Some("atlas"), &confused).await,
        401,
        "alg confusion"
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let first = app.login(Some("atlas"), "staff@atlas.test").await;
    let refresh = |token: String| {
        let request = app
            .post(Some("atlas"), "/api/v1/auth/refresh")
            .json(&json!({"refresh_token": token}));
        async move { json(request.send().await.unwrap()).await }
    };
    let (status, second) = refresh(first.refresh.clone()).await;
    assert_eq!(status, 200, "{second}");
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first.refresh);
    assert_eq!(
        me_status(
            &app,
            Some("atlas"),
            second["access_token"].as_str().unwrap()
        )
        .await,
        200
    );

    // The first token again: reuse. It is refused and the whole family is revoked.
    let (status, body) = refresh(first.refresh.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("refresh_token_reused"))
    );
    let (status, body) = refresh(second_refresh).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_refresh_token")),
        "the family is revoked"
    );

    // Another login is another family, unaffected; logout revokes it.
    let other = app.login(Some("atlas"), "staff@atlas.test").await;
    let response = app
        .post(Some("atlas"), "/api/v1/auth/logout")
        .json(&json!({"refresh_token": other.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (status, _) = refresh(other.refresh.clone()).await;
    assert_eq!(status, 401);
    // A refresh token is bound to its realm.
    let atlas = app.login(Some("atlas"), "staff@atlas.test").await;
    let (status, _) = app
        .post_json(
            Some("lumiere"),
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": atlas.refresh}),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_rotate_once() {
    let app = TestApp::spawn().await;
    let tokens = app.login(Some("forge"), "admin@forge.test").await;
    let requests = (0..8).map(|_| {
        app.post(Some("forge"), "/api/v1/auth/refresh")
            .json(&json!({"refresh_token": tokens.refresh}))
            .send()
    });
    let statuses: Vec<u16> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn roles_are_checked() {
    let app = TestApp::spawn().await;
    let member = app.token("atlas", "member").await;
    let (status, body) = app.get_json(Some("atlas"), "/api/v1/staff", &member).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let invite = json!({"email": "x@atlas.test", "display_name": "X", "roles": ["staff"]});
    let (status, _) = app
        .post_json(Some("atlas"), "/api/v1/staff", Some(&member), &invite)
        .await;
    assert_eq!(status, 403);
    // Staff may read the staff list but not manage it.
    let staff = app.token("atlas", "staff").await;
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/staff", &staff).await,
        200
    );
    let (status, _) = app
        .post_json(Some("atlas"), "/api/v1/staff", Some(&staff), &invite)
        .await;
    assert_eq!(status, 403);
    // Only operators list tenants, and only on the group realm.
    let admin = app.token("atlas", "admin").await;
    let (status, _) = app.get_json(Some("atlas"), "/api/v1/tenants", &admin).await;
    assert_eq!(status, 404);
    // A role removed by another process (the CLI) stops working within the principal cache's time (2 s).
    let out = app.cli(&[
        "user",
        "set-role",
        "--tenant",
        "atlas",
        "--email",
        "staff@atlas.test",
        "--role",
        "member",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let changed_at = std::time::Instant::now();
    let mut status = 200;
    while changed_at.elapsed() < std::time::Duration::from_secs(5) {
        status = app.get_status(Some("atlas"), "/api/v1/staff", &staff).await;
        if status == 403 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 403);
    assert!(
        changed_at.elapsed() < std::time::Duration::from_millis(3500),
        "took {:?}",
        changed_at.elapsed()
    );
}

#[tokio::test]
async fn operators_work_on_the_group_realm_and_group_capable_routes() {
    let app = TestApp::spawn().await;
    let operator = app.operator_token().await;
    let claims = claims_of(&operator);
    assert_eq!(claims["aud"], "tessera:group");
    let (status, tenants) = app.get_json(None, "/api/v1/tenants", &operator).await;
    assert_eq!(status, 200, "{tenants}");
    let slugs: Vec<&str> = tenants["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["atlas", "forge", "lumiere"]);
    let (status, atlas) = app.get_json(None, "/api/v1/tenants/atlas", &operator).await;
    assert_eq!(status, 200);
    assert_eq!(atlas["config"]["legal"]["siren"], "732829320");
    let (status, me) = app.get_json(None, "/api/v1/me", &operator).await;
    assert_eq!(
        (status, me["account"]["kind"].as_str()),
        (200, Some("operator"))
    );
    // Group-capable route on a tenant host: accepted, acting in that tenant.
    let (status, staff) = app
        .get_json(Some("lumiere"), "/api/v1/staff", &operator)
        .await;
    assert_eq!(status, 200, "{staff}");
    assert!(staff["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["email"].as_str().unwrap().ends_with("@lumiere.test")));
    // A group-only route on a tenant host refuses the group token (audience), and brand tokens fail on the group host.
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/tenants", &operator)
            .await,
        401
    );
    let admin = app.token("atlas", "admin").await;
    assert_eq!(app.get_status(None, "/api/v1/tenants", &admin).await, 401);
    // Operators do not log in on brand hosts, nor brand accounts on the group host.
    let (status, _) = app
        .try_login(Some("atlas"), tessera_tests::OPERATOR_EMAIL, PASSWORD)
        .await;
    assert_eq!(status, 401);
    let (status, _) = app.try_login(None, "admin@atlas.test", PASSWORD).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn failed_logins_are_throttled() {
    let app = TestApp::spawn_with(&[("TESSERA_AUTH__MAX_FAILED_LOGINS", "3")]).await;
    let attempt = |password: &'static str| {
        app.post(Some("atlas"), "/api/v1/auth/token")
            .json(&json!({"email": "member@atlas.test", "password": password}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(attempt("not the password").await.unwrap().status(), 401);
    }
    let response = attempt(PASSWORD).await.unwrap();
    assert_eq!(response.status(), 429, "even the right password waits");
    assert!(
        response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let (_, body) = json(response).await;
    assert_eq!(body["code"], "too_many_attempts");
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid_and_publishes_keys() {
    let app = TestApp::spawn().await;
    let before = app.token("atlas", "admin").await;
    let jwks = |app: &TestApp| {
        let request = app.get(Some("atlas"), "/.well-known/jwks.json");
        async move {
            request
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let published = jwks(&app).await;
    assert_eq!(
        published["keys"].as_array().unwrap().len(),
        2,
        "current and next: {published}"
    );
    let old_kid = jsonwebtoken::decode_header(&before).unwrap().kid.unwrap();

    let out = app.cli(&["keys", "rotate", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotation: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotation["retired"], old_kid.as_str());
    let new_kid = rotation["current"].as_str().unwrap().to_owned();
    // The server notices within seconds.
    let mut after = String::new();
    for _ in 0..50 {
        after = app.token("atlas", "admin").await;
        if jsonwebtoken::decode_header(&after).unwrap().kid.as_deref() == Some(&new_kid) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        jsonwebtoken::decode_header(&after).unwrap().kid.as_deref(),
        Some(new_kid.as_str())
    );
    assert_eq!(
        me_status(&app, Some("atlas"), &before).await,
        200,
        "tokens of the retired key stay valid until expiry"
    );
    assert_eq!(me_status(&app, Some("atlas"), &after).await, 200);
    let kids: Vec<String> = jwks(&app).await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid) && kids.len() == 3,
        "{kids:?}"
    );
}

#[tokio::test]
async fn role_changes_through_the_api_apply_on_the_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.token("lumiere", "admin").await;
    let staff = app.token("lumiere", "staff").await;
    // Read twice so that the staff member's principal is surely cached.
    for _ in 0..2 {
        assert_eq!(
            app.get_status(Some("lumiere"), "/api/v1/staff", &staff)
                .await,
            200
        );
    }
    let (_, me) = app.get_json(Some("lumiere"), "/api/v1/me", &staff).await;
    let id = me["account"]["id"].as_str().unwrap();
    let response = app
        .request(
            reqwest::Method::PATCH,
            Some("lumiere"),
            &format!("/api/v1/staff/{id}"),
        )
        .bearer_auth(&admin)
        .json(&json!({"roles": ["pro"], "specialty": "therapist"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.get_status(Some("lumiere"), "/api/v1/staff", &staff)
            .await,
        403
    );
    let (_, me) = app.get_json(Some("lumiere"), "/api/v1/me", &staff).await;
    assert_eq!(me["roles"], json!(["pro"]));
}

#[tokio::test]
async fn without_the_principal_cache_changes_elsewhere_apply_at_once() {
    let app = TestApp::spawn_with(&[("TESSERA_AUTH__PRINCIPAL_CACHE_TTL_MS", "0")]).await;
    let staff = app.token("forge", "staff").await;
    assert_eq!(
        app.get_status(Some("forge"), "/api/v1/staff", &staff).await,
        200
    );
    let out = app.cli(&[
        "user",
        "set-role",
        "--tenant",
        "forge",
        "--email",
        "staff@forge.test",
        "--role",
        "member",
    ]);
    assert!(out.status.success());
    assert_eq!(
        app.get_status(Some("forge"), "/api/v1/staff", &staff).await,
        403
    );
}

#[tokio::test]
async fn signing_keys_are_sealed_with_the_master_key() {
    let app = TestApp::spawn().await;
    let stored = query_column(&app.db.url, "SELECT private_key AS v FROM signing_keys");
    assert!(stored.len() >= 2);
    for key in &stored {
        let key = key.as_deref().unwrap();
        assert!(key.starts_with("v1."), "sealed: {key}");
        // A PKCS#8 Ed25519 key in base64 starts with "MC4CAQAw" or "MFECAQEw"; sealed text never shows it.
        assert!(!key.contains("MC4CAQAw") && !key.contains("MFECAQEw"));
    }
    // Another master key cannot open them: one clear error, nothing changed.
    let other = "b3RoZXItbWFzdGVyLWtleS0zMi1ieXRlcy1sb25nISE=";
    let out = tessera_tests::cli(
        &app.db.url,
        &["keys", "rotate"],
        &[("TESSERA_SECRETS__MASTER_KEY", other)],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wrong master key"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let out = tessera_tests::cli(
        &app.db.url,
        &["tenant", "list"],
        &[("TESSERA_SECRETS__MASTER_KEY", "")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("master_key"));
    assert_eq!(
        query_column(&app.db.url, "SELECT private_key AS v FROM signing_keys"),
        stored
    );
    let out = app.cli(&["keys", "master-key"]);
    let generated = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&generated)
            .unwrap()
            .len(),
        32
    );
}
