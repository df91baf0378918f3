//! Live events over the WebSocket: a subscriber sees its realm's events that its role allows, never another
//! brand's; changes made by another server process and by the CLI beside the server arrive too (from the
//! outbox table: NOTIFY on PostgreSQL, polling on SQLite).

use std::time::Duration;

use serde_json::json;
use tessera_tests::{cli_ok, TestApp};

const WAIT: Duration = Duration::from_secs(10);
/// How long a subscriber that must not see an event is watched, after others got it.
const QUIET: Duration = Duration::from_millis(1500);

async fn invite(app: &TestApp, brand: &str, token: &str, email: &str) -> String {
    let (status, body) = app
        .post_json(
            Some(brand),
            "/api/v1/staff",
            Some(token),
            &json!({"email": email, "display_name": "New Coach", "roles": ["staff"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["staff"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn subscribers_see_their_realm_within_their_role_and_cli_changes_too() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let member = app.token("atlas", "member").await;
    let other_admin = app.token("lumiere", "admin").await;

    let mut admin_stream = app.events("atlas", &admin).await;
    // Browsers cannot set headers on a WebSocket: the token may come in the query.
    let mut member_stream = app.events_with("atlas", None, Some(&member)).await.unwrap();
    let mut other_stream = app.events("lumiere", &other_admin).await;

    let invited = invite(&app, "atlas", &admin, "coach.live@atlas.test").await;
    let event = admin_stream
        .wait_for("staff.invited", WAIT)
        .await
        .expect("admin sees the invitation");
    assert_eq!(event["data"]["account_id"], invited.as_str());
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert!(event["time"].as_str().is_some());
    assert!(
        member_stream.next_within(QUIET).await.is_none(),
        "a member does not see staff events about others"
    );
    assert!(
        other_stream.next_within(QUIET).await.is_none(),
        "another brand sees nothing"
    );

    // A change made by the CLI, another process, reaches the server's subscribers.
    cli_ok(
        &app.db.url,
        &[
            "user",
            "create",
            "--tenant",
            "atlas",
            "--email",
            "cli.live@atlas.test",
            "--name",
            "From Cli",
            "--role",
            "member",
        ],
    );
    let created = admin_stream
        .wait_for("account.created", WAIT)
        .await
        .expect("the CLI's change arrives");
    assert!(created["data"]["account_id"]
        .as_str()
        .unwrap()
        .starts_with("acc_"));
}

#[tokio::test]
async fn the_stream_checks_tokens_and_realms() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    assert_eq!(
        app.events_with("atlas", None, None).await.err(),
        Some(401),
        "no token"
    );
    assert_eq!(
        app.events_with("lumiere", Some(&admin), None).await.err(),
        Some(401),
        "a brand's token on another brand's host"
    );
    assert_eq!(
        app.events_with("atlas", Some("not-a-token"), None)
            .await
            .err(),
        Some(401)
    );
    // The route is a WebSocket: a plain GET with a good token is told so.
    let (status, problem) = tessera_tests::json(
        app.get(Some("atlas"), "/api/v1/events/ws")
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 426, "{problem}");
    assert_eq!(problem["code"], "websocket_upgrade_required");
    // Event types are listed for subscribers and webhook filters.
    let (status, types) = tessera_tests::json(
        app.get(Some("atlas"), "/api/v1/events/types")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(types
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "staff.invited"));
}

#[tokio::test]
async fn events_cross_server_processes_sharing_a_database() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn_on(first.db.shared(), &[]).await;
    let admin_on_second = second.token("atlas", "admin").await;
    let mut stream = second.events("atlas", &admin_on_second).await;
    let admin_on_first = first.token("atlas", "admin").await;
    let invited = invite(&first, "atlas", &admin_on_first, "coach.cross@atlas.test").await;
    let Some(event) = stream.wait_for("staff.invited", WAIT).await else {
        panic!(
            "the event written by the first process did not reach the second's subscriber; its log:\n{}",
            second.log()
        );
    };
    assert_eq!(event["data"]["account_id"], invited.as_str());
    // And the metrics of the second process count its subscriber.
    let metrics = second.metrics().await;
    assert!(
        metrics.contains("websocket_connections 1"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("websocket"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
