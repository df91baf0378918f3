//! `tessera tenant apply|list|show`: validation before any write, one transaction, idempotence, and a running
//! server picking changes up without a restart.

use std::time::Duration;

use tessera_tests::{cli, count, query_column, repo_root, TestApp};

fn write_tenant(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn atlas_text() -> String {
    std::fs::read_to_string(repo_root().join("tenants/atlas.toml")).unwrap()
}

#[tokio::test]
async fn a_bad_tenant_file_changes_nothing() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    // One good change and one bad file in the same apply: neither is applied.
    write_tenant(
        dir.path(),
        "atlas.toml",
        &atlas_text().replace("Atlas Gym & Wellness", "Atlas Renamed"),
    );
    let lumiere = std::fs::read_to_string(repo_root().join("tenants/lumiere.toml")).unwrap();
    write_tenant(
        dir.path(),
        "lumiere.toml",
        &lumiere.replace("siren = \"841237563\"", "siren = \"841237564\""),
    );
    let revisions_before = query_column(
        &app.db.url,
        "SELECT CAST(revision AS TEXT) AS v FROM tenants ORDER BY slug",
    );
    let out = app.cli(&["tenant", "apply", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lumiere.toml") && stderr.contains("legal.siren"),
        "{stderr}"
    );
    assert!(stderr.lines().all(|l| l.starts_with("error: ")), "{stderr}");
    assert_eq!(
        query_column(
            &app.db.url,
            "SELECT CAST(revision AS TEXT) AS v FROM tenants ORDER BY slug"
        ),
        revisions_before
    );
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM tenants WHERE display_name = 'Atlas Renamed'"
        ),
        0
    );

    // Other kinds of bad file name their field too.
    for (broken, field) in [
        (
            atlas_text().replace(
                "time_zone = \"Europe/Paris\"",
                "time_zone = \"Mars/Olympus\"",
            ),
            "time_zone",
        ),
        (
            atlas_text().replace("default_currency = \"EUR\"", "default_currency = \"XYZ\""),
            "default_currency",
        ),
        (format!("unknown_key = 1\n{}", atlas_text()), "unknown_key"),
        (
            atlas_text().replace("rate_bps = 2000", "rate_bps = -5"),
            "vat_rates",
        ),
        (
            atlas_text().replace(
                "domains = [\"atlas-gym.example\", \"www.atlas-gym.example\"]",
                "domains = [\"lumiere-cosmetics.example\"]",
            ),
            "domains[0]",
        ),
        ("slug = ".to_owned(), "atlas.toml"),
    ] {
        let single = dir.path().join("single");
        std::fs::create_dir_all(&single).unwrap();
        write_tenant(&single, "atlas.toml", &broken);
        let out = app.cli(&[
            "tenant",
            "apply",
            single.join("atlas.toml").to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(field), "expected {field} in: {stderr}");
    }
    assert_eq!(
        query_column(
            &app.db.url,
            "SELECT CAST(revision AS TEXT) AS v FROM tenants ORDER BY slug"
        ),
        revisions_before
    );
}

#[tokio::test]
async fn apply_is_idempotent_and_reaches_a_running_server() {
    let app = TestApp::spawn().await;
    let out = app.cli(&["tenant", "apply", "tenants", "--json"]);
    assert!(out.status.success());
    let outcomes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        outcomes
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["change"] == "unchanged"),
        "{outcomes}"
    );

    // A new domain for atlas: the running server serves it within seconds.
    let token = app.token("atlas", "member").await;
    let probe = |app: &TestApp| {
        app.client
            .get(app.url("/api/v1/me"))
            .header("host", "club.atlas-gym.example")
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(probe(&app).await.unwrap().status(), 404);
    let dir = tempfile::tempdir().unwrap();
    write_tenant(
        dir.path(),
        "atlas.toml",
        &atlas_text().replace(
            "\"www.atlas-gym.example\"]",
            "\"www.atlas-gym.example\", \"club.atlas-gym.example\"]",
        ),
    );
    let out = app.cli(&["tenant", "apply", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("updated atlas (revision 2)"));
    let mut status = 0;
    for _ in 0..50 {
        status = probe(&app).await.unwrap().status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "the server did not pick the new domain up");

    let out = app.cli(&["tenant", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    let out = app.cli(&["tenant", "show", "atlas", "--json"]);
    let atlas: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(atlas["revision"], 2);
    let out = app.cli(&["tenant", "show", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    let out = app.cli(&["tenant", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("SLUG") && text.contains("lumiere"),
        "{text}"
    );
}

#[test]
fn tenant_apply_on_an_unmigrated_database_says_what_to_do() {
    let db = tessera_tests::TestDb::empty();
    let out = cli(&db.url, &["tenant", "list"], &[], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tessera migrate"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
