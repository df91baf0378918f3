//! Backups: a live database backed up and restored into an empty one holds everything, serves logins, and its
//! audit chains still verify. The master key is not in the backup.

use tessera_tests::{cli, cli_ok, count, TestApp, TestDb, TEST_MASTER_KEY};

const TABLES: [&str; 9] = [
    "tenants",
    "tenant_domains",
    "persons",
    "operators",
    "accounts",
    "account_roles",
    "signing_keys",
    "audit_log",
    "jobs",
];

#[tokio::test]
async fn backup_and_restore_round_trip() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let (status, _) = app
        .post_json(Some("atlas"),
            "/api/v1/staff",
            Some(&admin),
            &serde_json::json!({"email": "kept@atlas.test", "display_name": "Kept", "roles": ["staff"]}),
        )
        .await;
    assert_eq!(status, 201);
    cli_ok(
        &app.db.url,
        &["jobs", "enqueue", "diagnostic.noop", "--tenant", "atlas"],
    );
    // Files are backed up too: a sensitive one (encrypted in the store) and a plain one.
    let member = app.token("atlas", "member").await;
    let mut files = Vec::new();
    for (purpose, content_type, content) in [
        (
            "identity_document",
            "application/pdf",
            b"%PDF identity kept".to_vec(),
        ),
        ("document", "text/plain", b"a plain document kept".to_vec()),
    ] {
        let response = app
            .post(Some("atlas"), &format!("/api/v1/files?purpose={purpose}"))
            .bearer_auth(&member)
            .header("content-type", content_type)
            .body(content.clone())
            .send()
            .await
            .unwrap();
        let (status, file) = tessera_tests::json(response).await;
        assert_eq!(status, 201, "{file}");
        files.push((file["id"].as_str().unwrap().to_owned(), content));
    }

    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("backup");
    // Taken while the server runs.
    let manifest: serde_json::Value = serde_json::from_str(&cli_ok(
        &app.db.url,
        &["backup", "--to", folder.to_str().unwrap(), "--json"],
    ))
    .unwrap();
    let backend = if tessera_tests::backend() == tessera_tests::Backend::Postgres {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(manifest["backend"], backend);
    assert_eq!(
        manifest["objects"].as_array().unwrap().len(),
        2,
        "{manifest}"
    );
    let stored = files_under(&folder.join("objects"));
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|p| std::fs::read(p).unwrap() != b"%PDF identity kept"),
        "the sensitive file stays encrypted in the backup"
    );
    let status: serde_json::Value =
        serde_json::from_str(&cli_ok(&app.db.url, &["migrate", "--status", "--json"])).unwrap();
    assert_eq!(
        manifest["migrations"].as_array().unwrap().len(),
        status.as_array().unwrap().len(),
        "every migration, applied"
    );
    for path in files_under(&folder) {
        let bytes = std::fs::read(path).unwrap();
        let needle = TEST_MASTER_KEY.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the master key is not in the backup"
        );
    }
    // A second backup into the same folder is refused.
    let out = cli(
        &app.db.url,
        &["backup", "--to", folder.to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(1));

    let target = TestDb::empty();
    cli_ok(
        &target.url,
        &["restore", "--from", folder.to_str().unwrap()],
    );
    for table in TABLES {
        let sql = format!("SELECT count(*) FROM {table}");
        assert_eq!(
            count(&target.url, &sql),
            count(&app.db.url, &sql),
            "{table}"
        );
    }
    assert_eq!(
        count(
            &target.url,
            "SELECT count(*) FROM accounts WHERE email = 'kept@atlas.test'"
        ),
        1
    );
    // Restoring over data is refused.
    let out = cli(
        &target.url,
        &["restore", "--from", folder.to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    // The restored database works: chains verify, the server starts, people log in.
    cli_ok(&target.url, &["audit", "verify"]);
    let restored = TestApp::spawn_on(target, &[]).await;
    let token = restored.token("atlas", "admin").await;
    assert_eq!(
        restored
            .get_status(Some("atlas"), "/api/v1/staff", &token)
            .await,
        200
    );
    // The restored server serves the files, the sensitive one decrypted with the restored data key.
    assert_ne!(
        restored.files_dir(),
        app.files_dir(),
        "a separate object store"
    );
    let member = restored.token("atlas", "member").await;
    for (id, content) in files {
        let response = restored
            .get(Some("atlas"), &format!("/api/v1/files/{id}/content"))
            .bearer_auth(&member)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap(), content);
    }
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}
