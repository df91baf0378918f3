//! The audit log: security-relevant actions are recorded with ids (no personal data), readable by admins, and
//! `tessera audit verify` names the first entry that was edited or removed.

use serde_json::json;
use tessera_tests::{backend, count, query_column, Backend, TestApp};

#[tokio::test]
async fn actions_are_recorded_and_tampering_is_named() {
    let app = TestApp::spawn().await;
    // A failed login on a known account, one on an unknown address, a login, an invitation, a deactivation.
    for email in ["coach@atlas.test", "nobody@atlas.test"] {
        let (status, _) = app
            .try_login(Some("atlas"), email, "wrong password!!")
            .await;
        assert_eq!(status, 401);
    }
    let admin = app.token("atlas", "admin").await;
    let (status, invited) = app
        .post_json(
            Some("atlas"),
            "/api/v1/staff",
            Some(&admin),
            &json!({"email": "temp@atlas.test", "display_name": "Temp", "roles": ["staff"]}),
        )
        .await;
    assert_eq!(status, 201);
    let temp_id = invited["staff"]["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/staff/{temp_id}/deactivate"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);

    let (status, page) = app
        .get_json(Some("atlas"), "/api/v1/audit?limit=100", &admin)
        .await;
    assert_eq!(status, 200, "{page}");
    let entries = page["data"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "auth.login_failed",
        "auth.login",
        "staff.invited",
        "staff.deactivated",
        "user.created",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let failed: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["action"] == "auth.login_failed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed.iter().any(|e| e["target_id"].is_null()),
        "an unknown address is recorded without a target"
    );
    assert!(failed.iter().any(|e| e["target_id"]
        .as_str()
        .is_some_and(|t| t.starts_with("acc_"))));
    let deactivated = entries
        .iter()
        .find(|e| e["action"] == "staff.deactivated")
        .unwrap();
    assert_eq!(deactivated["target_id"], temp_id.as_str());
    assert_eq!(deactivated["actor_kind"], "account");
    assert!(deactivated["request_id"]
        .as_str()
        .unwrap()
        .starts_with("req_"));
    assert!(
        !page.to_string().contains('@'),
        "no e-mail address in the audit log: {page}"
    );
    // Newest first, and a filter.
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]));
    let (_, only) = app
        .get_json(
            Some("atlas"),
            "/api/v1/audit?action=auth.login_failed",
            &admin,
        )
        .await;
    assert_eq!(only["data"].as_array().unwrap().len(), 2);
    // Members may not read it.
    let member = app.token("atlas", "member").await;
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/audit", &member)
            .await,
        403
    );
    // Operators read the group's chain on the bare host.
    let operator = app.operator_token().await;
    let (status, group) = app
        .get_json(None, "/api/v1/audit?action=tenant.applied", &operator)
        .await;
    assert_eq!(
        (status, group["data"].as_array().unwrap().len()),
        (200, 3),
        "{group}"
    );

    // Every chain holds.
    let out = app.cli(&["audit", "verify", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        reports.as_array().unwrap().len() >= 4,
        "group and three brands: {reports}"
    );

    // Edit one entry behind the server's back: verify fails and names it.
    let atlas = query_column(
        &app.db.url,
        "SELECT id AS v FROM tenants WHERE slug = 'atlas'",
    )[0]
    .clone()
    .unwrap();
    let victim = query_column(
        &app.db.url,
        &format!("SELECT id AS v FROM audit_log WHERE tenant_id = '{atlas}' AND seq = 3"),
    )[0]
    .clone()
    .unwrap();
    tessera_tests::execute(
        &app.db.url,
        &format!(
            "UPDATE audit_log SET action = 'auth.login' WHERE tenant_id = '{atlas}' AND seq = 3"
        ),
    );
    let out = app.cli(&["audit", "verify", "--tenant", "atlas"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&victim) && stderr.contains("entry 3") && stderr.contains("edited"),
        "{stderr}"
    );
    // Other chains are unaffected.
    assert!(app
        .cli(&["audit", "verify", "--tenant", "lumiere"])
        .status
        .success());
    assert!(app.cli(&["audit", "verify", "--group"]).status.success());

    // Removing an entry is named too.
    tessera_tests::execute(
        &app.db.url,
        &format!("DELETE FROM audit_log WHERE tenant_id = '{atlas}' AND seq = 2"),
    );
    let out = app.cli(&["audit", "verify", "--tenant", "atlas"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("entry 2 is missing"));
    let out = app.cli(&["audit", "list", "--tenant", "atlas", "--limit", "5"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("SEQ"));
}

#[tokio::test]
async fn the_app_role_cannot_rewrite_history() {
    if backend() != Backend::Postgres {
        // SQLite has no roles; the chain itself is what shows tampering there (see the test above).
        return;
    }
    let app = TestApp::spawn().await;
    app.login(Some("forge"), "admin@forge.test").await;
    let entries = count(&app.db.url, "SELECT count(*) FROM audit_log");
    let mut conn = tessera_tests::pg_connect(&app.db.url);
    use diesel::RunQueryDsl;
    diesel::sql_query("SET ROLE tessera_app")
        .execute(&mut conn)
        .unwrap();
    assert!(diesel::sql_query("UPDATE audit_log SET action = 'x'")
        .execute(&mut conn)
        .is_err());
    assert!(diesel::sql_query("DELETE FROM audit_log")
        .execute(&mut conn)
        .is_err());
    assert_eq!(
        count(&app.db.url, "SELECT count(*) FROM audit_log"),
        entries
    );
}
