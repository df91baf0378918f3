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
    let status: serde_json::Value =
        serde_json::from_str(&cli_ok(&app.db.url, &["migrate", "--status", "--json"])).unwrap();
    assert_eq!(
        manifest["migrations"].as_array().unwrap().len(),
        status.as_array().unwrap().len(),
        "every migration, applied"
    );
    for entry in std::fs::read_dir(&folder).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
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
}
