//! Door decisions are answered before they are written (docs/devices.md, "Deciding, then writing"): doors get their
//! answers while the database's writes wait, a stopping server writes every answered check before it exits, and
//! two servers on one database that both let in the same member or the same rotating code record both entries,
//! the second flagged for staff.

use chrono::Utc;
use serde_json::{json, Value};
use tessera_tests::{count, TestApp, WriteHold};

use crate::devices::{
    app_key, location, member_with_card, membership, pair, plan, reason, rotating, tenant_id,
    written, Door,
};

async fn check(app: &TestApp, door: &Door, credential: Value) -> (u16, Value) {
    app.post_json(
        Some("atlas"),
        "/api/v1/access/check",
        Some(&door.token),
        &json!({"credential": credential, "direction": "in"}),
    )
    .await
}

#[tokio::test]
async fn doors_are_answered_while_writes_wait_and_a_stopping_server_writes_what_it_answered() {
    let mut app = TestApp::spawn().await;
    let hall = location(&app, "atlas", "Hall", "Europe/Paris").await;
    let door = pair(&app, "atlas", json!({"kind": "door", "location_id": hall})).await;
    let unlimited = plan(&app, "held-door", json!({})).await;
    let mut expected = Vec::new();
    for i in 0..6 {
        let (member, card) = member_with_card(&app, "atlas", &format!("Held{i}")).await;
        membership(&app, &member, &unlimited).await;
        expected.push((card, "allow"));
    }
    for i in 0..6 {
        expected.push((format!("99999999998{i}"), "deny"));
    }
    let staff = app.token("atlas", "staff").await;
    written(&app, &staff).await;
    let url = app.db.url.clone();
    let before = count(&url, "SELECT COUNT(*) AS n FROM access_events");
    let inside_before = count(&url, "SELECT COUNT(*) AS n FROM access_presence");

    let hold = WriteHold::take(&url, "access_events");
    let answers = futures::future::join_all(
        expected
            .iter()
            .map(|(card, _)| check(&app, &door, json!({"type": "barcode", "value": card}))),
    )
    .await;
    for ((_, decision), (status, body)) in expected.iter().zip(&answers) {
        assert_eq!(
            (*status, body["decision"].as_str()),
            (200, Some(*decision)),
            "{body}"
        );
        assert!(body["event_id"].is_string(), "{body}");
    }
    assert_eq!(
        count(&url, "SELECT COUNT(*) AS n FROM access_events"),
        before,
        "the doors were answered while nothing could be written"
    );

    // Stop the server while its writes still wait; let them through a moment later.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(800));
        hold.release();
    });
    let status = app.terminate().await;
    releaser.join().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        count(&url, "SELECT COUNT(*) AS n FROM access_events"),
        before + 12,
        "every answered check is in the log"
    );
    for (_, body) in &answers {
        let id = body["event_id"].as_str().unwrap();
        assert_eq!(
            count(
                &url,
                &format!("SELECT COUNT(*) AS n FROM access_events WHERE id = '{id}'")
            ),
            1,
            "the answer's event id is the recorded one"
        );
    }
    assert_eq!(
        count(&url, "SELECT COUNT(*) AS n FROM access_presence") - inside_before,
        6,
        "everyone let in is inside"
    );
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(*) AS n FROM events WHERE event_type IN ('access.checked_in', 'access.denied')"
        ),
        before + 12,
        "and each has its live event"
    );
}

#[tokio::test]
async fn two_servers_letting_in_the_same_member_or_code_record_both_and_flag_the_second() {
    let app = TestApp::spawn().await;
    let app2 = TestApp::spawn_on(app.db.shared(), &[]).await;
    let hall = location(&app, "atlas", "Hall", "Europe/Paris").await;
    let guarded = pair(&app, "atlas", json!({"kind": "door", "location_id": hall})).await;
    let open = pair(
        &app,
        "atlas",
        json!({"kind": "door", "location_id": hall, "anti_passback": false}),
    )
    .await;
    let unlimited = plan(&app, "two-servers", json!({})).await;
    let mut members = Vec::new();
    for i in 0..5 {
        let (member, card) = member_with_card(&app, "atlas", &format!("Twin{i}")).await;
        membership(&app, &member, &unlimited).await;
        members.push((member, card));
    }
    let (owner, credential, key) = app_key(&app).await;
    membership(&app, &owner, &unlimited).await;
    let tenant = tenant_id(&app, "atlas");
    let now = Utc::now().timestamp();
    let codes: Vec<String> = (0..5)
        .map(|k| rotating(&key, &tenant, &credential, now - k))
        .collect();
    let url = app.db.url.clone();
    let url = url.as_str();
    let before = count(url, "SELECT COUNT(*) AS n FROM access_events");

    // Each card at the anti-passback door and each code at the open door, on both servers at once.
    let mut asks = Vec::new();
    for (_, card) in &members {
        for server in [&app, &app2] {
            asks.push(check(
                server,
                &guarded,
                json!({"type": "barcode", "value": card}),
            ));
        }
    }
    for code in &codes {
        for server in [&app, &app2] {
            asks.push(check(server, &open, json!({"type": "qr", "value": code})));
        }
    }
    let answers = futures::future::join_all(asks).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        match body["decision"].as_str() {
            Some("allow") => {}
            _ => assert!(
                matches!(reason(body), Some("anti_passback" | "credential_replayed")),
                "{body}"
            ),
        }
    }
    let staff = app.token("atlas", "staff").await;
    written(&app, &staff).await;
    let staff2 = app2.token("atlas", "staff").await;
    written(&app2, &staff2).await;

    assert_eq!(
        count(url, "SELECT COUNT(*) AS n FROM access_events") - before,
        20,
        "every answered check is recorded, on either server"
    );
    for (member, _) in &members {
        let entries = |flagged: bool| {
            count(
                url,
                &format!(
                    "SELECT COUNT(*) AS n FROM access_events WHERE member_id = '{member}' \
                     AND decision = 'allow' AND flagged = {flagged}"
                ),
            )
        };
        assert_eq!(entries(false), 1, "one entry of {member} stands");
        if entries(true) == 1 {
            assert_eq!(
                count(
                    url,
                    &format!(
                        "SELECT COUNT(*) AS n FROM access_events WHERE member_id = '{member}' \
                         AND flag_reason = 'anti_passback'"
                    )
                ),
                1
            );
        }
        assert_eq!(
            count(
                url,
                &format!("SELECT COUNT(*) AS n FROM access_presence WHERE member_id = '{member}'")
            ),
            1
        );
    }
    for code in &codes {
        let at: i64 = code.split('.').nth(2).unwrap().parse().unwrap();
        assert_eq!(
            count(
                url,
                &format!(
                    "SELECT COUNT(*) AS n FROM access_qr_uses WHERE credential_id = '{credential}' \
                     AND issued_at = {at}"
                )
            ),
            1,
            "a code is used once"
        );
    }
    let allowed_codes = |flagged: bool| {
        count(
            url,
            &format!(
                "SELECT COUNT(*) AS n FROM access_events WHERE credential_id = '{credential}' \
                 AND decision = 'allow' AND flagged = {flagged}"
            ),
        )
    };
    assert_eq!(allowed_codes(false), 5, "each code opens once unflagged");
    let flagged_codes = allowed_codes(true);
    assert_eq!(
        count(
            url,
            &format!(
                "SELECT COUNT(*) AS n FROM access_events WHERE credential_id = '{credential}' \
                 AND flag_reason = 'credential_replayed'"
            )
        ),
        flagged_codes
    );
    // Every flagged entry is also announced to staff.
    let flagged_all = count(
        url,
        "SELECT COUNT(*) AS n FROM access_events WHERE flagged = TRUE AND source = 'online'",
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM events WHERE event_type = 'access.flagged'"
        ),
        flagged_all
    );
}
