//! Master-key rotation: `tessera keys rewrap` seals every secret again under a new master key, after which a
//! server started with the new key signs tokens, decrypts sensitive files, signs webhooks and sends queued
//! e-mails, while the old key opens nothing; a wrong old key changes nothing.

use serde_json::json;
use tessera_tests::{cli, count, TestApp, TEST_MASTER_KEY};

const NEW_KEY: &str = "bmV3LW1hc3Rlci1rZXktZm9yLXRlc3RzLW9ubHktMzI=";

#[tokio::test]
async fn rewrap_moves_every_secret_to_the_new_master_key() {
    // Secrets sealed with the old key: signing keys (populated), a data key and a sensitive file, a webhook
    // secret, and an e-mail that cannot leave (nothing listens on port 1).
    let mut app = TestApp::spawn_with(&[
        ("TESSERA_EMAIL__TRANSPORT", "smtp"),
        ("TESSERA_EMAIL__SMTP_PORT", "1"),
    ])
    .await;
    let admin = app.token("atlas", "admin").await;
    let document = b"%PDF-1.7 a signed contract".to_vec();
    let file_id = app
        .upload_file(
            "atlas",
            &admin,
            "purpose=signed_contract",
            "application/pdf",
            document.clone(),
        )
        .await;
    let (status, endpoint) = app
        .post_json(
            Some("atlas"),
            "/api/v1/webhook-endpoints",
            Some(&admin),
            &json!({"url": "https://hooks.example.com/x", "event_types": ["*"]}),
        )
        .await;
    assert_eq!(status, 201, "{endpoint}");
    assert_eq!(
        app.request_password_reset("atlas", "member@atlas.test")
            .await,
        202
    );
    app.terminate().await;
    let db = app.db.shared();
    let url = db.url.clone();
    let with_new_key = [
        ("TESSERA_SECRETS__MASTER_KEY", NEW_KEY),
        ("TESSERA_OLD_MASTER_KEY", TEST_MASTER_KEY),
    ];

    // A wrong old key: refused, nothing changed.
    let before = tessera_tests::query_column(
        &url,
        "SELECT private_key AS v FROM signing_keys ORDER BY id",
    );
    let out = cli(
        &url,
        &["keys", "rewrap"],
        &[
            ("TESSERA_SECRETS__MASTER_KEY", NEW_KEY),
            ("TESSERA_OLD_MASTER_KEY", NEW_KEY),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("neither"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        tessera_tests::query_column(
            &url,
            "SELECT private_key AS v FROM signing_keys ORDER BY id"
        ),
        before
    );

    let out = cli(&url, &["keys", "rewrap", "--json"], &with_new_key, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["signing_keys"].as_i64().unwrap() >= 2, "{report}");
    assert_eq!(report["data_keys"], 1, "{report}");
    assert_eq!(report["webhook_secrets"], 1, "{report}");
    assert_eq!(report["emails"], 1, "{report}");
    // A second run finds nothing left to do.
    let out = cli(&url, &["keys", "rewrap", "--json"], &with_new_key, None);
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["signing_keys"], 0, "{again}");
    assert!(again["already_rewrapped"].as_i64().unwrap() >= 5, "{again}");

    // The old key opens nothing any more.
    let out = cli(&url, &["jobs", "list"], &[], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the old key cannot open the signing keys"
    );

    // A server with the new key: tokens, the sensitive file, the queued e-mail (opened by an export).
    let app = TestApp::spawn_on(db, &[("TESSERA_SECRETS__MASTER_KEY", NEW_KEY)]).await;
    let admin = app.token("atlas", "admin").await;
    let response = app
        .get(Some("atlas"), &format!("/api/v1/files/{file_id}/content"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().to_vec(), document);
    let member = app.token("atlas", "member").await;
    let zip = app
        .get(Some("atlas"), "/api/v1/me/export")
        .bearer_auth(&member)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
    let exported: serde_json::Value =
        serde_json::from_reader(archive.by_name("personal-data.json").unwrap()).unwrap();
    assert_eq!(
        exported["sections"]["emails"]["messages_kept"], 1,
        "the queued e-mail opens with the new key"
    );
    assert_eq!(
        count(&app.db.url, "SELECT count(*) FROM webhook_endpoints"),
        1
    );
}

/// A brand's data key rotation: new sensitive files use the new key, older ones stay readable under theirs.
#[tokio::test]
async fn data_key_rotation_keeps_older_files_readable() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let upload = |body: &'static [u8]| {
        app.upload_file(
            "atlas",
            &admin,
            "purpose=health_report",
            "application/pdf",
            body.to_vec(),
        )
    };
    let before = upload(b"%PDF report before the rotation").await;
    let out = app.cli(&["keys", "rotate-data-key", "--tenant", "atlas"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("generation 2"));
    let after = upload(b"%PDF report after the rotation").await;
    let key_of = |id: &str| {
        tessera_tests::query_column(
            &app.db.url,
            &format!("SELECT data_key_id AS v FROM files WHERE id = '{id}'"),
        )[0]
        .clone()
        .unwrap()
    };
    assert_ne!(
        key_of(&before),
        key_of(&after),
        "the new file uses the new key"
    );
    for (id, content) in [
        (&before, &b"%PDF report before the rotation"[..]),
        (&after, &b"%PDF report after the rotation"[..]),
    ] {
        let response = app
            .get(Some("atlas"), &format!("/api/v1/files/{id}/content"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap().to_vec(), content.to_vec());
    }
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM audit_log WHERE action = 'storage.data_key_rotated'"
        ),
        1
    );
}
