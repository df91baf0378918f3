//! The door desk keeps the facts that change seldom in memory (docs/devices.md, "What the desk keeps in memory"):
//! it must follow every change of them, those made outside the server included (another process on the same
//! database, an operator's SQL), from the next check on; and the doors' own writes must not count as changes.

use serde_json::{json, Value};
use tessera_tests::{count, execute, TestApp};

use crate::devices::{
    check, door_in_centre, member_with_card, membership, plan, reason, tenant_id, written,
};

#[tokio::test]
async fn the_door_memory_follows_changes_made_outside_the_server() {
    let app = TestApp::spawn().await;
    let url = app.db.url.clone();
    let staff = app.token("atlas", "staff").await;
    let (_, door) = door_in_centre(&app).await;
    let unlimited = plan(&app, "memory-unlimited", json!({})).await;
    let (member, card) = member_with_card(&app, "atlas", "Mia").await;
    let held = membership(&app, &member, &unlimited).await;
    let enter = || check(&app, &door, "barcode", &card, "in");
    let allowed = |decision: &Value| {
        assert_eq!(decision["decision"], "allow", "{decision}");
    };
    // The first check is decided from the database while the brand's memory loads in the background.
    allowed(&enter().await);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !app.log().contains("door memory loaded") {
        assert!(
            std::time::Instant::now() < deadline,
            "the door memory was not loaded: {}",
            app.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // The doors' own writes (check-ins, presence, the door's last-seen time) are not changes of the kept facts:
    // the door's last-seen time would be logged as a change of the whole brand's, as a device's is. (The member's
    // own changes are not counted: the server's billing jobs may invoice the new membership meanwhile.)
    let tenant = tenant_id(&app, "atlas");
    let changes_sql = format!(
        "SELECT count(*) FROM door_fact_changes WHERE tenant_id = '{tenant}' AND member_id = ''"
    );
    written(&app, &staff).await;
    let before = count(&url, &changes_sql);
    for _ in 0..3 {
        allowed(&enter().await);
    }
    written(&app, &staff).await;
    assert_eq!(
        count(&url, &changes_sql),
        before,
        "a door check was logged as a change of the door's facts"
    );

    // A membership suspended and reinstated in SQL, behind the server's back.
    execute(
        &url,
        &format!("UPDATE memberships SET status = 'suspended' WHERE id = '{held}'"),
    );
    assert_eq!(reason(&enter().await), Some("membership_suspended"));
    execute(
        &url,
        &format!("UPDATE memberships SET status = 'active' WHERE id = '{held}'"),
    );
    allowed(&enter().await);

    // The member's card revoked, then live again.
    execute(
        &url,
        &format!("UPDATE access_credentials SET status = 'revoked' WHERE member_id = '{member}'"),
    );
    assert_eq!(reason(&enter().await), Some("revoked_credential"));
    execute(
        &url,
        &format!("UPDATE access_credentials SET status = 'active' WHERE member_id = '{member}'"),
    );
    allowed(&enter().await);

    // The member blocked, then renamed: what the desk shows follows too.
    execute(
        &url,
        &format!(
            "UPDATE member_profiles SET member_status = 'blocked' WHERE account_id = '{member}'"
        ),
    );
    assert_eq!(reason(&enter().await), Some("member_blocked"));
    execute(
        &url,
        &format!(
            "UPDATE member_profiles SET member_status = 'active', given_name = 'Mira' \
             WHERE account_id = '{member}'"
        ),
    );
    let renamed = enter().await;
    allowed(&renamed);
    assert_eq!(renamed["member"]["name"], "Mira Door", "{renamed}");

    // Versions missing from the log (as after pruning, for a memory far behind): the brand is loaded again in
    // the background, and the checks meanwhile still see every change.
    execute(
        &url,
        &format!(
            "UPDATE door_fact_versions SET version = version + 5000 WHERE tenant_id = '{tenant}'"
        ),
    );
    execute(
        &url,
        &format!("UPDATE memberships SET status = 'frozen' WHERE id = '{held}'"),
    );
    assert_eq!(reason(&enter().await), Some("membership_frozen"));
    execute(
        &url,
        &format!("UPDATE memberships SET status = 'active' WHERE id = '{held}'"),
    );
    for _ in 0..3 {
        allowed(&enter().await);
    }

    // A membership deleted: the member has none left.
    execute(
        &url,
        &format!("DELETE FROM memberships WHERE id = '{held}'"),
    );
    assert_eq!(reason(&enter().await), Some("no_membership"));

    // The door revoked in SQL is refused at its next check, although its token is still in the server's cache of
    // callers.
    execute(
        &url,
        &format!(
            "UPDATE devices SET status = 'revoked' WHERE id = '{}'",
            door.id
        ),
    );
    let (status, refused) = app
        .post_json(
            Some("atlas"),
            "/api/v1/access/check",
            Some(&door.token),
            &json!({"credential": {"type": "barcode", "value": card}, "direction": "in"}),
        )
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (401, Some("invalid_device_credential")),
        "{refused}"
    );
}
