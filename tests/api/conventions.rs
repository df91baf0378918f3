//! HTTP conventions: health, readiness, request ids, security headers, CORS limited to the brand's domains,
//! graceful shutdown, and concurrent writers (the CLI beside the server) that never fail with "locked".

use serde_json::json;
use tessera_tests::{count, json, TestApp};

#[tokio::test]
async fn health_readiness_and_headers() {
    let app = TestApp::spawn().await;
    let (status, body) = json(app.get(None, "/healthz").send().await.unwrap()).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let response = app.get(None, "/readyz").send().await.unwrap();
    let headers = response.headers().clone();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["migrations_pending"], 0);
    assert_eq!(body["tenants"], 3);
    assert_eq!(
        body["database"],
        if tessera_tests::backend() == tessera_tests::Backend::Postgres {
            "postgres"
        } else {
            "sqlite"
        }
    );
    assert!(headers["x-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.contains_key("content-security-policy"));
    assert!(headers.contains_key("strict-transport-security"));
    // A client's request id is kept.
    let response = app
        .get(None, "/healthz")
        .header("x-request-id", "client-trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-trace-42");
}

#[tokio::test]
async fn cors_allows_only_the_brands_own_domains() {
    let app = TestApp::spawn().await;
    let preflight = |origin: &'static str, brand: &'static str| {
        app.request(reqwest::Method::OPTIONS, Some(brand), "/api/v1/me")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let response = preflight("https://atlas-gym.example", "atlas")
        .await
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("https://atlas-gym.example")
    );
    for (origin, brand) in [
        ("https://lumiere-cosmetics.example", "atlas"),
        ("https://evil.example", "atlas"),
        ("https://atlas-gym.example", "lumiere"),
    ] {
        let response = preflight(origin, brand).await.unwrap();
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{origin} on {brand}"
        );
    }
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let mut app = TestApp::spawn().await;
    assert_eq!(
        app.get(None, "/healthz").send().await.unwrap().status(),
        200
    );
    let status = app.terminate().await;
    assert!(status.success(), "{status:?}");
    assert!(app.log().contains("shutting down"));
}

#[tokio::test]
async fn cli_and_server_write_concurrently() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let url = app.db.url.clone();
    let cli_writers = tokio::task::spawn_blocking(move || {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let email = format!("cli{i}@atlas.test");
                    tessera_tests::cli(
                        &url,
                        &[
                            "user", "create", "--tenant", "atlas", "--email", &email, "--name",
                            "Cli", "--role", "member",
                        ],
                        &[],
                        None,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    let http_writers = (0..16).map(|i| {
        app.post(Some("atlas"), "/api/v1/staff")
            .bearer_auth(&admin)
            .json(&json!({"email": format!("http{i}@atlas.test"), "display_name": "Http", "roles": ["staff"]}))
            .send()
    });
    let responses = futures::future::join_all(http_writers).await;
    for response in responses {
        let (status, body) = json(response.unwrap()).await;
        assert_eq!(status, 201, "{body}");
    }
    for out in cli_writers.await.unwrap() {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM accounts WHERE email LIKE 'http%' OR email LIKE 'cli%'"
        ),
        20
    );
    assert!(!app.log().contains("database is locked"));
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let app = TestApp::spawn_with(&[("TESSERA_LOG__FORMAT", "json")]).await;
    assert_eq!(
        app.get(None, "/healthz").send().await.unwrap().status(),
        200
    );
    let log = app.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(
            entry["timestamp"].is_string() && entry["level"].is_string(),
            "{line}"
        );
    }
}

#[tokio::test]
async fn metrics_on_the_group_realm() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        assert_eq!(
            app.get(None, "/healthz").send().await.unwrap().status(),
            200
        );
    }
    let token = app.token("atlas", "member").await;
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/staff", &token).await,
        403
    );
    tessera_tests::cli_ok(
        &app.db.url,
        &[
            "jobs",
            "enqueue",
            "diagnostic.noop",
            "--tenant",
            "atlas",
            "--count",
            "3",
        ],
    );
    // Brand hosts do not serve them.
    assert_eq!(
        app.get(Some("atlas"), "/metrics")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // The server's own workers run the jobs; wait until their outcomes show, both in this process's counter
    // and in the queue's gauge, which is read from the database on each scrape.
    let wanted = [
        "tessera_job_attempts_total{kind=\"diagnostic.noop\",outcome=\"succeeded\"} 3\n",
        "tessera_jobs{status=\"succeeded\",kind=\"diagnostic.noop\"} 3\n",
    ];
    let mut text = String::new();
    for _ in 0..100 {
        text = app.metrics().await;
        if wanted.iter().all(|line| text.contains(line)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for line in wanted {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    assert!(
        text.contains(
            "tessera_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 3"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "tessera_http_requests_total{method=\"GET\",route=\"/api/v1/staff\",status=\"403\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("tessera_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(text.contains("tessera_db_pool_connections "), "{text}");
    assert!(text.trim_end().ends_with("# EOF"));
}

/// Whether the main file of the SQLite database at `url` alone (a copy without its write-ahead log) holds more
/// refresh tokens than `before`. A copy taken during a checkpoint may be torn: that reads as "not yet".
fn main_file_has_more_refresh_tokens(url: &str, before: i64) -> bool {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let copy = tempfile::tempdir().unwrap();
    let path = copy.path().join("main.db");
    std::fs::copy(url.trim_start_matches("sqlite://"), &path).unwrap();
    let mut conn = tessera_tests::sqlite_connect(path.to_str().unwrap());
    diesel::sql_query("SELECT COUNT(*) AS n FROM refresh_tokens")
        .get_result::<Count>(&mut conn)
        .is_ok_and(|c| c.n > before)
}

/// A running server copies SQLite's write-ahead log into the database file within a moment, away from requests;
/// SQLite alone would wait for 1,000 pages of log and copy them inside the commit of whichever request crossed
/// that size (several milliseconds added to that one request). With the background copy switched off, the same
/// write stays in the log. SQLite only: PostgreSQL has no such step, so this does nothing in the PostgreSQL pass.
#[tokio::test]
async fn a_sqlite_server_checkpoints_its_log_away_from_requests() {
    use std::time::Duration;
    use tessera_tests::{backend, eventually, Backend};
    if backend() != Backend::Sqlite {
        return;
    }
    for (every_ms, copied) in [("50", true), ("0", false)] {
        let app =
            TestApp::spawn_with(&[("TESSERA_DATABASE__SQLITE_CHECKPOINT_EVERY_MS", every_ms)])
                .await;
        let before = count(&app.db.url, "SELECT COUNT(*) AS n FROM refresh_tokens");
        // A login writes a refresh token.
        app.token("atlas", "member").await;
        assert_eq!(
            count(&app.db.url, "SELECT COUNT(*) AS n FROM refresh_tokens"),
            before + 1
        );
        let in_main_file = eventually(Duration::from_secs(3), || {
            main_file_has_more_refresh_tokens(&app.db.url, before)
        })
        .await;
        assert_eq!(
            in_main_file, copied,
            "checkpoint every {every_ms} ms: the login's row in the main file"
        );
    }
}
