//! The operator CLI: exit codes, one-line errors, JSON output, secrets redacted, completions and man page,
//! migrations, accounts.

use tessera_tests::{cli, TestApp, TestDb, PASSWORD};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn usage_errors_exit_2_failures_exit_1() {
    let db = TestDb::empty();
    let out = cli(&db.url, &["no-such-command"], &[], None);
    assert_eq!(out.status.code(), Some(2));
    let out = cli(&db.url, &["user", "create", "--email", "a@b.fr"], &[], None);
    assert_eq!(
        out.status.code(),
        Some(2),
        "missing --tenant/--operator and --name"
    );
    let out = cli("mysql://nope", &["migrate"], &[], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.trim().lines().count() == 1,
        "{stderr}"
    );
    let out = cli(&db.url, &["--version"], &[], None);
    assert!(out.status.success() && stdout(&out).starts_with("tessera "));
}

#[test]
fn migrate_and_status() {
    let db = TestDb::empty();
    let out = cli(&db.url, &["migrate", "--status", "--json"], &[], None);
    let states: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        states
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["applied"] == false),
        "{states}"
    );
    let out = cli(&db.url, &["migrate"], &[], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("applied 2026-11-26-000001_foundation"));
    let out = cli(&db.url, &["migrate"], &[], None);
    assert!(stdout(&out).contains("up to date"));
    let out = cli(&db.url, &["migrate", "--status", "--json"], &[], None);
    let states: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        states
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["applied"] == true),
        "{states}"
    );
}

#[test]
fn config_show_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tessera.toml");
    std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9999\"\n").unwrap();
    let out = cli(
        "postgres://tessera:s3cret-pass@db.internal:5432/tessera",
        &[
            "--config",
            file.to_str().unwrap(),
            "config",
            "show",
            "--json",
        ],
        &[("TESSERA_AUTH__ACCESS_TOKEN_TTL_SECS", "600")],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(!text.contains("s3cret-pass"), "{text}");
    let shown: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        shown["database"]["url"],
        "postgres://tessera:[redacted]@db.internal:5432/tessera"
    );
    assert_eq!(shown["server"]["listen"], "127.0.0.1:9999", "file layer");
    assert_eq!(
        shown["auth"]["access_token_ttl_secs"], 600,
        "environment layer"
    );
    let out = cli(
        "sqlite://x.db",
        &["config", "show"],
        &[("TESSERA_AUTH__ACCESS_TOKEN_TTL_SECS", "99999")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("access_token_ttl_secs"));
}

#[test]
fn completions_and_man_page() {
    let out = cli("sqlite://unused.db", &["completions", "bash"], &[], None);
    assert!(out.status.success() && stdout(&out).contains("tessera"));
    let out = cli("sqlite://unused.db", &["man"], &[], None);
    assert!(out.status.success() && stdout(&out).contains(".TH tessera"));
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        "sqlite://unused.db",
        &["man", "--out", dir.path().to_str().unwrap()],
        &[],
        None,
    );
    assert!(out.status.success());
    assert!(dir.path().join("tessera-tenant-apply.1").exists());
}

#[tokio::test]
async fn user_commands() {
    let app = TestApp::spawn().await;
    // Generated password, shown once, works.
    let out = app.cli(&[
        "user",
        "create",
        "--tenant",
        "atlas",
        "--email",
        "Paul@Atlas.test",
        "--name",
        "Paul",
        "--role",
        "staff",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let password = created["generated_password"].as_str().unwrap().to_owned();
    assert_eq!(created["user"]["email"], "paul@atlas.test");
    let response = app
        .post(Some("atlas"), "/api/v1/auth/token")
        .json(&serde_json::json!({"email": "paul@atlas.test", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Same address again: one clear error.
    let out = app.cli(&[
        "user",
        "create",
        "--tenant",
        "atlas",
        "--email",
        "paul@atlas.test",
        "--name",
        "Paul",
        "--role",
        "staff",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
    // Bad role, unknown tenant.
    let out = app.cli(&[
        "user",
        "create",
        "--tenant",
        "atlas",
        "--email",
        "q@atlas.test",
        "--name",
        "Q",
        "--role",
        "wizard",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = app.cli(&[
        "user",
        "create",
        "--tenant",
        "nope",
        "--email",
        "q@atlas.test",
        "--name",
        "Q",
        "--role",
        "staff",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // Password from standard input; too short is refused.
    let reset_password = |stdin: &str| {
        let args = [
            "user",
            "reset-password",
            "--tenant",
            "atlas",
            "--email",
            "paul@atlas.test",
            "--password-stdin",
        ];
        tessera_tests::cli(&app.db.url, &args, &[], Some(stdin))
    };
    let out = reset_password("short\n");
    assert_eq!(out.status.code(), Some(1));
    let out = reset_password(&format!("{PASSWORD}\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.login(Some("atlas"), "paul@atlas.test").await;
    // Listing.
    let out = app.cli(&["user", "list", "--tenant", "atlas", "--json"]);
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(users
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["email"] == "paul@atlas.test"));
    assert!(users
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["email"].as_str().unwrap().ends_with("@atlas.test")));
    let out = app.cli(&["user", "list", "--operator"]);
    assert!(stdout(&out).contains(tessera_tests::OPERATOR_EMAIL));
}
