//! Devices and door access: pairing (once, in time, revocation at once), a device on a people's route, every
//! reason code of the door, the door side of a payment failure and its payment, rotating QR codes (expired,
//! replayed, forged), the signed allowlist and its deltas, overrides, anti-passback under concurrency, occupancy,
//! bad input that writes nothing, and the reference door simulator deciding offline with the server stopped.

use base64::Engine;
use chrono::{Datelike, Duration, Utc};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use serde_json::{json, Value};
use tessera_tests::{count, execute, query_column, TestApp};

/// A paired device.
pub(crate) struct Door {
    pub token: String,
    pub id: String,
}

/// A location of `brand` in `time_zone`.
pub(crate) async fn location(app: &TestApp, brand: &str, name: &str, time_zone: &str) -> String {
    let admin = app.token(brand, "admin").await;
    let (status, location) = app
        .post_json(
            Some(brand),
            "/api/v1/locations",
            Some(&admin),
            &json!({"name": name, "time_zone": time_zone}),
        )
        .await;
    assert_eq!(status, 201, "{location}");
    location["id"].as_str().unwrap().to_owned()
}

/// Makes a pairing code and exchanges it.
pub(crate) async fn pair(app: &TestApp, brand: &str, body: Value) -> Door {
    let admin = app.token(brand, "admin").await;
    let (status, code) = app
        .post_json(Some(brand), "/api/v1/devices/pairings", Some(&admin), &body)
        .await;
    assert_eq!(status, 201, "{code}");
    let (status, paired) = app
        .post_json(
            Some(brand),
            "/api/v1/devices/pair",
            None,
            &json!({"code": code["code"], "firmware": "1.2.3"}),
        )
        .await;
    assert_eq!(status, 201, "{paired}");
    Door {
        token: paired["token"].as_str().unwrap().to_owned(),
        id: paired["device"]["id"].as_str().unwrap().to_owned(),
    }
}

/// The Atlas brand's new "Centre" location (Paris time) and a door there that lets members in again while
/// inside: (location id, door).
pub(crate) async fn door_in_centre(app: &TestApp) -> (String, Door) {
    let centre = location(app, "atlas", "Centre", "Europe/Paris").await;
    let door = pair(
        app,
        "atlas",
        json!({"kind": "door", "location_id": centre, "anti_passback": false}),
    )
    .await;
    (centre, door)
}

/// A walk-in member with a printed card: (member id, card number).
pub(crate) async fn member_with_card(app: &TestApp, brand: &str, given: &str) -> (String, String) {
    let staff = app.token(brand, "staff").await;
    let (status, member) = app
        .post_json(
            Some(brand),
            "/api/v1/members",
            Some(&staff),
            &json!({"given_name": given, "family_name": "Door"}),
        )
        .await;
    assert_eq!(status, 201, "{member}");
    let id = member["id"].as_str().unwrap().to_owned();
    let (status, card) = app
        .post_json(
            Some(brand),
            &format!("/api/v1/members/{id}/credentials"),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{card}");
    assert_eq!(
        card["value"], member["card_number"],
        "the first card carries the member's number"
    );
    (id, card["value"].as_str().unwrap().to_owned())
}

pub(crate) async fn plan(app: &TestApp, code: &str, access: Value) -> String {
    let admin = app.token("atlas", "admin").await;
    let mut body = crate::memberships::monthly_plan(code);
    body["access"] = access;
    let (status, plan) = app
        .post_json(Some("atlas"), "/api/v1/plans", Some(&admin), &body)
        .await;
    assert_eq!(status, 201, "{plan}");
    plan["id"].as_str().unwrap().to_owned()
}

/// Sells `plan` to `member`, activates it and backdates its start (the door may be in a zone behind the brand's).
pub(crate) async fn membership(app: &TestApp, member: &str, plan: &str) -> String {
    let staff = app.token("atlas", "staff").await;
    let (status, sold) = app
        .post_json(
            Some("atlas"),
            "/api/v1/memberships",
            Some(&staff),
            &json!({"member_id": member, "plan_id": plan}),
        )
        .await;
    assert_eq!(status, 201, "{sold}");
    let id = sold["id"].as_str().unwrap().to_owned();
    let (status, active) = action(app, &id, "activate").await;
    assert_eq!(status, 200, "{active}");
    execute(
        &app.db.url,
        &format!("UPDATE memberships SET starts_on = '2026-01-01' WHERE id = '{id}'"),
    );
    id
}

async fn action(app: &TestApp, membership: &str, action: &str) -> (u16, Value) {
    let staff = app.token("atlas", "staff").await;
    app.post_json(
        Some("atlas"),
        &format!("/api/v1/memberships/{membership}/actions"),
        Some(&staff),
        &json!({"action": action}),
    )
    .await
}

/// A door's check; returns the decision.
pub(crate) async fn check(
    app: &TestApp,
    door: &Door,
    kind: &str,
    value: &str,
    direction: &str,
) -> Value {
    let (status, decision) = app
        .post_json(
            Some("atlas"),
            "/api/v1/access/check",
            Some(&door.token),
            &json!({"credential": {"type": kind, "value": value}, "direction": direction}),
        )
        .await;
    assert_eq!(status, 200, "{decision}");
    decision
}

pub(crate) fn reason(decision: &Value) -> Option<&str> {
    decision["reason"].as_str()
}

pub(crate) fn tenant_id(app: &TestApp, slug: &str) -> String {
    query_column(
        &app.db.url,
        &format!("SELECT id AS v FROM tenants WHERE slug = '{slug}'"),
    )[0]
    .clone()
    .unwrap()
}

/// A rotating QR code as the member's app makes it (docs/devices.md): `TQR1.<credential>.<unix>.<signature>`.
pub(crate) fn rotating(key: &SigningKey, tenant: &str, credential: &str, at: i64) -> String {
    let message = format!("tessera-qr/1\n{tenant}\n{credential}\n{at}");
    let signature = key.sign(message.as_bytes());
    format!(
        "TQR1.{credential}.{at}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

/// Registers an app key for `member` (logging in as them is not possible for walk-ins: the key is inserted as the
/// member's app would register it, through the API, by a member account of the template).
pub(crate) async fn app_key(app: &TestApp) -> (String, String, SigningKey) {
    let token = app.token("atlas", "member").await;
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let public =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
    let (status, credential) = app
        .post_json(
            Some("atlas"),
            "/api/v1/me/app-keys",
            Some(&token),
            &json!({"public_key": public, "label": "phone"}),
        )
        .await;
    assert_eq!(status, 201, "{credential}");
    (
        credential["member_id"].as_str().unwrap().to_owned(),
        credential["id"].as_str().unwrap().to_owned(),
        key,
    )
}

/// A zone where today is not a Monday, so that a visit earlier this week exists.
fn zone_not_monday() -> &'static str {
    ["Europe/Paris", "Pacific/Kiritimati", "Etc/GMT+12"]
        .into_iter()
        .find(|z| {
            let tz: chrono_tz::Tz = z.parse().unwrap();
            Utc::now().with_timezone(&tz).weekday() != chrono::Weekday::Mon
        })
        .unwrap()
}

/// Waits until the brand's answered door checks are written: staff's view of the log waits for them, and the
/// tests read the database directly after it.
pub(crate) async fn written(app: &TestApp, staff: &str) {
    let (status, body) = app
        .get_json(Some("atlas"), "/api/v1/access/events?limit=1", staff)
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn pairing_works_once_expires_and_revocation_is_immediate() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let centre = location(&app, "atlas", "Centre", "Europe/Paris").await;
    let (status, code) = app
        .post_json(
            Some("atlas"),
            "/api/v1/devices/pairings",
            Some(&admin),
            &json!({"kind": "door", "name": "Front turnstile", "location_id": centre}),
        )
        .await;
    assert_eq!(status, 201, "{code}");
    assert!(code["pairing_uri"]
        .as_str()
        .unwrap()
        .starts_with("tessera-pair:atlas:"));
    let exchange = json!({"code": code["code"], "firmware": "2.0.1", "app_version": "reader 5"});
    let (status, paired) = app
        .post_json(Some("atlas"), "/api/v1/devices/pair", None, &exchange)
        .await;
    assert_eq!(status, 201, "{paired}");
    let token = paired["token"].as_str().unwrap().to_owned();
    let device = paired["device"]["id"].as_str().unwrap().to_owned();
    assert_eq!(paired["device"]["firmware"], "2.0.1");
    // Once only.
    let (status, problem) = app
        .post_json(Some("atlas"), "/api/v1/devices/pair", None, &exchange)
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("invalid_pairing_code"))
    );
    // Expired codes are refused.
    let (_, late) = app
        .post_json(
            Some("atlas"),
            "/api/v1/devices/pairings",
            Some(&admin),
            &json!({"kind": "kiosk"}),
        )
        .await;
    execute(
        &app.db.url,
        &format!(
            "UPDATE device_pairings SET expires_at = '2020-01-01 00:00:00' WHERE id = '{}'",
            late["id"].as_str().unwrap()
        ),
    );
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/devices/pair",
            None,
            &json!({"code": late["code"]}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("invalid_pairing_code"))
    );
    // A door needs a location.
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/devices/pairings",
            Some(&admin),
            &json!({"kind": "door"}),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("location_id"))
    );
    // A member may not pair devices.
    let member = app.token("atlas", "member").await;
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/devices/pairings",
            Some(&member),
            &json!({"kind": "kiosk"}),
        )
        .await;
    assert_eq!(status, 403);

    // The device reads itself and reports its versions; staff see it.
    let (status, me) = app.get_json(Some("atlas"), "/api/v1/device", &token).await;
    assert_eq!((status, me["id"].as_str()), (200, Some(device.as_str())));
    let (status, beat) = app
        .post_json(
            Some("atlas"),
            "/api/v1/device/heartbeat",
            Some(&token),
            &json!({"firmware": "2.0.2"}),
        )
        .await;
    assert_eq!((status, beat["firmware"].as_str()), (200, Some("2.0.2")));
    let (status, list) = app.get_json(Some("atlas"), "/api/v1/devices", &admin).await;
    assert_eq!(status, 200);
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == device.as_str())
        .unwrap();
    assert_eq!(listed["firmware"], "2.0.2");
    assert!(listed["last_seen_at"].is_string());
    // Renamed and moved.
    let annexe = location(&app, "atlas", "Annexe", "Europe/Paris").await;
    let (status, moved) = app
        .send_json(
            reqwest::Method::PATCH,
            Some("atlas"),
            &format!("/api/v1/devices/{device}"),
            Some(&admin),
            &json!({"name": "Annexe door", "location_id": annexe}),
        )
        .await;
    assert_eq!(
        (status, moved["location_id"].as_str()),
        (200, Some(annexe.as_str()))
    );

    // A device on a route made for people: a clear 403; a person on a device route: 403 too.
    let (status, problem) = app.get_json(Some("atlas"), "/api/v1/staff", &token).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("device_not_permitted")),
        "{problem}"
    );
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/access/check",
            Some(&admin),
            &json!({"credential": {"type": "barcode", "value": "123456789012"}, "direction": "in"}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("device_only"))
    );
    // Another brand's host does not know the device.
    assert_eq!(
        app.get_status(Some("lumiere"), "/api/v1/device", &token)
            .await,
        401
    );
    // A forged secret is refused.
    let forged = format!("tdv.{device}.not-the-secret");
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/device", &forged)
            .await,
        401
    );

    // Revoked: refused on its very next call.
    let (status, revoked) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/devices/{device}/revoke"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!((status, revoked["status"].as_str()), (200, Some("revoked")));
    let (status, problem) = app.get_json(Some("atlas"), "/api/v1/device", &token).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("invalid_device_credential"))
    );
    assert_eq!(
        count(&app.db.url, &format!("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'device.revoked' AND target_id = '{device}'")),
        1
    );
}

#[tokio::test]
async fn every_reason_code_is_produced_at_the_door() {
    let app = TestApp::spawn().await;
    let staff = app.token("atlas", "staff").await;
    let zone = zone_not_monday();
    let centre = location(&app, "atlas", "Centre", zone).await;
    let elsewhere = location(&app, "atlas", "Elsewhere", zone).await;
    let door = pair(
        &app,
        "atlas",
        json!({"kind": "door", "location_id": centre}),
    )
    .await;
    let kiosk = pair(
        &app,
        "atlas",
        json!({"kind": "kiosk", "location_id": centre}),
    )
    .await;
    let unlimited = plan(&app, "door-unlimited", json!({})).await;
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    let local_now = Utc::now().with_timezone(&tz);
    let other_day = local_now.weekday().succ();
    let day_name = |d: chrono::Weekday| d.to_string().to_lowercase()[..3].to_owned();
    let off_hours = plan(
        &app,
        "door-other-day",
        json!({"windows": [{"days": [day_name(other_day)], "from": "00:00", "until": "23:59"}]}),
    )
    .await;
    let other_site = plan(&app, "door-elsewhere", json!({"locations": [elsewhere]})).await;
    let once_a_week = plan(&app, "door-once", json!({"visits_per_week": 1})).await;

    let mut produced = std::collections::BTreeSet::new();
    let mut expect = |decision: Value, code: &str| {
        assert_eq!(reason(&decision), Some(code), "{decision}");
        assert_eq!(decision["decision"], "deny");
        produced.insert(code.to_owned());
    };

    // Allowed, with what the desk shows; then anti-passback on a second entry.
    let (ana, ana_card) = member_with_card(&app, "atlas", "Ana").await;
    let ana_membership = membership(&app, &ana, &unlimited).await;
    let allowed = check(&app, &door, "barcode", &ana_card, "in").await;
    assert_eq!(allowed["decision"], "allow", "{allowed}");
    assert_eq!(allowed["member"]["name"], "Ana Door");
    assert_eq!(allowed["membership"]["plan_name"], "Mensuel 12 mois");
    expect(
        check(&app, &door, "barcode", &ana_card, "in").await,
        "anti_passback",
    );
    assert_eq!(
        check(&app, &door, "barcode", &ana_card, "out").await["decision"],
        "allow"
    );
    assert_eq!(
        check(&app, &door, "barcode", &ana_card, "in").await["decision"],
        "allow"
    );
    // The same card read as a QR code (the card's QR carries the same number).
    assert_eq!(
        check(&app, &door, "qr", &ana_card, "out").await["decision"],
        "allow"
    );

    // Payment states, through the membership's state machine (what billing drives).
    assert_eq!(action(&app, &ana_membership, "mark_past_due").await.0, 200);
    expect(
        check(&app, &door, "barcode", &ana_card, "in").await,
        "payment_overdue",
    );
    assert_eq!(action(&app, &ana_membership, "suspend").await.0, 200);
    expect(
        check(&app, &door, "barcode", &ana_card, "in").await,
        "membership_suspended",
    );
    assert_eq!(action(&app, &ana_membership, "reinstate").await.0, 200);
    assert_eq!(
        check(&app, &door, "barcode", &ana_card, "in").await["decision"],
        "allow"
    );
    check(&app, &door, "barcode", &ana_card, "out").await;

    // Frozen from today.
    let (bo, bo_card) = member_with_card(&app, "atlas", "Bo").await;
    let bo_membership = membership(&app, &bo, &unlimited).await;
    let today = app_today(&app);
    let (status, frozen) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/memberships/{bo_membership}/freezes"),
            Some(&staff),
            &json!({"starts_on": today, "ends_on": today + Duration::days(7)}),
        )
        .await;
    assert_eq!(status, 200, "{frozen}");
    expect(
        check(&app, &door, "barcode", &bo_card, "in").await,
        "membership_frozen",
    );

    let (_, cy_card) = member_with_card(&app, "atlas", "Cy").await;
    expect(
        check(&app, &door, "barcode", &cy_card, "in").await,
        "no_membership",
    );
    expect(
        check(&app, &door, "barcode", "999999999999", "in").await,
        "unknown_credential",
    );

    let (di, di_card) = member_with_card(&app, "atlas", "Di").await;
    membership(&app, &di, &off_hours).await;
    expect(
        check(&app, &door, "barcode", &di_card, "in").await,
        "outside_hours",
    );
    let (ed, ed_card) = member_with_card(&app, "atlas", "Ed").await;
    membership(&app, &ed, &other_site).await;
    expect(
        check(&app, &door, "barcode", &ed_card, "in").await,
        "location_not_included",
    );

    // One visit a week, and one earlier this week (a local day before today).
    let (fay, fay_card) = member_with_card(&app, "atlas", "Fay").await;
    membership(&app, &fay, &once_a_week).await;
    let yesterday_noon = (local_now.date_naive() - Duration::days(1))
        .and_hms_opt(12, 0, 0)
        .unwrap();
    let at = yesterday_noon.and_local_timezone(tz).unwrap().naive_utc();
    // An entry of `member`'s at this door yesterday noon, as if recorded then.
    let entered_yesterday = |member: &str| {
        execute(&app.db.url, &format!(
            "INSERT INTO access_events (tenant_id, id, device_id, location_id, member_id, credential_id, \
             credential_kind, direction, decision, reason, source, client_event_id, flagged, flag_reason, override_of, \
             override_by, override_reason, occurred_at, recorded_at) VALUES ('{}', 'acx_earlier_{member}', '{}', \
             '{centre}', '{member}', NULL, 'card', 'in', 'allow', NULL, 'online', NULL, false, NULL, NULL, NULL, NULL, \
             '{at}', '{at}')",
            tenant_id(&app, "atlas"), door.id));
    };
    entered_yesterday(&fay);
    expect(
        check(&app, &door, "barcode", &fay_card, "in").await,
        "visit_limit_reached",
    );
    // Two visits a week and one earlier this week: today's is the last, and the desk is told. The week's entries
    // are read only for members with such a limit; today's own entry counts too, so a second entry the same day
    // (after going out) is the same visit, with no warning.
    let twice_a_week = plan(&app, "door-twice", json!({"visits_per_week": 2})).await;
    let (hal, hal_card) = member_with_card(&app, "atlas", "Hal").await;
    membership(&app, &hal, &twice_a_week).await;
    entered_yesterday(&hal);
    let warned = |decision: &Value| -> bool {
        assert_eq!(decision["decision"], "allow", "{decision}");
        decision["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "last_visit_of_week")
    };
    assert!(warned(
        &check(&app, &door, "barcode", &hal_card, "in").await
    ));
    assert_eq!(
        check(&app, &door, "barcode", &hal_card, "out").await["decision"],
        "allow"
    );
    assert!(!warned(
        &check(&app, &door, "barcode", &hal_card, "in").await
    ));

    // Revoked and replaced cards.
    let (gus, gus_card) = member_with_card(&app, "atlas", "Gus").await;
    membership(&app, &gus, &unlimited).await;
    let (_, credentials) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/members/{gus}/credentials"),
            &staff,
        )
        .await;
    let card_id = credentials[0]["id"].as_str().unwrap().to_owned();
    let (status, replacement) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/credentials/{card_id}/replace"),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{replacement}");
    assert_ne!(
        replacement["value"],
        gus_card.as_str(),
        "a lost card gets a new number"
    );
    expect(
        check(&app, &door, "barcode", &gus_card, "in").await,
        "revoked_credential",
    );
    assert_eq!(
        check(
            &app,
            &door,
            "barcode",
            replacement["value"].as_str().unwrap(),
            "in"
        )
        .await["decision"],
        "allow"
    );

    // A blocked member.
    let (hal, hal_card) = member_with_card(&app, "atlas", "Hal").await;
    membership(&app, &hal, &unlimited).await;
    let (status, _) = app
        .send_json(
            reqwest::Method::PATCH,
            Some("atlas"),
            &format!("/api/v1/members/{hal}"),
            Some(&staff),
            &json!({"status": "blocked"}),
        )
        .await;
    assert_eq!(status, 200);
    expect(
        check(&app, &door, "barcode", &hal_card, "in").await,
        "member_blocked",
    );

    // A kiosk is not a door.
    expect(
        check(&app, &kiosk, "barcode", &ana_card, "in").await,
        "device_not_allowed",
    );

    // Rotating QR codes: fresh, replayed, expired, forged.
    let (owner, credential, key) = app_key(&app).await;
    membership(&app, &owner, &unlimited).await;
    let tenant = tenant_id(&app, "atlas");
    let now = Utc::now().timestamp();
    let fresh = rotating(&key, &tenant, &credential, now);
    assert_eq!(
        check(&app, &door, "qr", &fresh, "in").await["decision"],
        "allow"
    );
    expect(
        check(&app, &door, "qr", &fresh, "out").await,
        "credential_replayed",
    );
    expect(
        check(
            &app,
            &door,
            "qr",
            &rotating(&key, &tenant, &credential, now - 120),
            "out",
        )
        .await,
        "credential_expired",
    );
    let stranger = SigningKey::generate(&mut rand::rngs::OsRng);
    expect(
        check(
            &app,
            &door,
            "qr",
            &rotating(&stranger, &tenant, &credential, now),
            "out",
        )
        .await,
        "credential_forged",
    );

    let all = [
        "unknown_credential",
        "revoked_credential",
        "no_membership",
        "membership_frozen",
        "membership_suspended",
        "payment_overdue",
        "outside_hours",
        "location_not_included",
        "visit_limit_reached",
        "anti_passback",
        "device_not_allowed",
        "credential_expired",
        "credential_replayed",
        "credential_forged",
        "member_blocked",
    ];
    for code in all {
        assert!(produced.contains(code), "{code} was not produced");
    }
    written(&app, &staff).await;
    // Every decision is in the log, refusals included.
    let refusals = count(
        &app.db.url,
        "SELECT COUNT(*) AS n FROM access_events WHERE decision = 'deny' AND source = 'online'",
    );
    assert_eq!(refusals, all.len() as i64);
}

fn app_today(app: &TestApp) -> chrono::NaiveDate {
    let _ = app;
    let tz: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
    Utc::now().with_timezone(&tz).date_naive()
}

#[tokio::test]
async fn a_member_whose_payment_fails_is_refused_after_the_grace_period_and_admitted_once_paid() {
    // The door side of billing: billing moves the membership to past_due when the grace period is over and
    // reinstates it when the overdue invoices are paid; the door follows at once, online and in the allowlist.
    let app = TestApp::spawn().await;
    let (centre, door) = door_in_centre(&app).await;
    let unlimited = plan(&app, "pay-door", json!({})).await;
    let (member, card) = member_with_card(&app, "atlas", "Payer").await;
    let id = membership(&app, &member, &unlimited).await;
    // The sale's first invoice is unpaid and due today: the door opens and tells the desk.
    let warnings = |decision: &Value| -> Vec<(String, String)> {
        assert_eq!(decision["decision"], "allow", "{decision}");
        decision["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                let on = w["on"].as_str().unwrap_or_default().to_owned();
                (w["code"].as_str().unwrap().to_owned(), on)
            })
            .collect()
    };
    let (_, open) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/invoices?membership_id={id}&status=open"),
            &app.token("atlas", "admin").await,
        )
        .await;
    let first = &open["data"][0];
    let due_on = first["due_on"].as_str().unwrap().to_owned();
    assert!(due_on <= app_today(&app).to_string(), "{first}");
    assert_eq!(
        warnings(&check(&app, &door, "barcode", &card, "in").await),
        [("payment_due".to_owned(), due_on)]
    );
    // A saved card that ends this month is shown too.
    let today = app_today(&app);
    execute(
        &app.db.url,
        &format!(
            "INSERT INTO billing_profiles (tenant_id, account_id, provider, method_kind, card_brand, card_last4, \
             card_exp_month, card_exp_year, updated_at) VALUES ('{}', '{member}', 'stripe', 'card', 'visa', '4242', \
             {}, {}, '2026-01-01 00:00:00')",
            tenant_id(&app, "atlas"),
            today.month(),
            today.year()
        ),
    );
    let shown = warnings(&check(&app, &door, "barcode", &card, "in").await);
    assert_eq!(
        shown
            .iter()
            .map(|(code, _)| code.as_str())
            .collect::<Vec<_>>(),
        ["payment_due", "card_expiring"]
    );
    // Paid at the desk: the payment warning is gone at once.
    let staff = app.token("atlas", "staff").await;
    let (status, paid) = app
        .post_json(
            Some("atlas"),
            &format!(
                "/api/v1/invoices/{}/payments",
                first["id"].as_str().unwrap()
            ),
            Some(&staff),
            &json!({"amount": first["total_incl"]["amount"], "currency": "EUR", "method": "cash"}),
        )
        .await;
    assert_eq!(status, 201, "{paid}");
    let shown = warnings(&check(&app, &door, "barcode", &card, "in").await);
    assert_eq!(
        shown
            .iter()
            .map(|(code, _)| code.as_str())
            .collect::<Vec<_>>(),
        ["card_expiring"]
    );
    // Each entry while inside (anti-passback off) moved the member's presence to it: one presence, the last
    // entry's, through this door.
    let admin = app.token("atlas", "admin").await;
    let (_, log) = app
        .get_json(Some("atlas"), "/api/v1/access/events?limit=100", &admin)
        .await;
    let entered: Vec<chrono::DateTime<chrono::FixedOffset>> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["decision"] == "allow" && e["direction"] == "in")
        .map(|e| chrono::DateTime::parse_from_rfc3339(e["occurred_at"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(entered.len(), 3, "{log}");
    let (_, occupancy) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/access/occupancy?location_id={centre}"),
            &admin,
        )
        .await;
    assert_eq!(occupancy["count"], 1, "{occupancy}");
    let present = &occupancy["present"][0];
    assert_eq!(present["member_id"], member.as_str(), "{occupancy}");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(present["entered_at"].as_str().unwrap()).unwrap(),
        *entered.iter().max().unwrap(),
        "{occupancy} {log}"
    );
    let (full, _) = allowlist(&app, &door, None).await;
    let version = full["version"].as_i64().unwrap();

    assert_eq!(action(&app, &id, "mark_past_due").await.0, 200);
    assert_eq!(
        reason(&check(&app, &door, "barcode", &card, "in").await),
        Some("payment_overdue")
    );
    let (delta, _) = allowlist(&app, &door, Some(version)).await;
    assert_eq!(delta["since"], version);
    assert!(delta["version"].as_i64().unwrap() > version);
    let entries = delta["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "only the member who changed: {delta}");
    assert_eq!(entries[0][3][0][0], "p", "past due in the door's list");

    assert_eq!(action(&app, &id, "reinstate").await.0, 200);
    assert_eq!(
        check(&app, &door, "barcode", &card, "in").await["decision"],
        "allow"
    );
    let (delta, _) = allowlist(&app, &door, Some(delta["version"].as_i64().unwrap())).await;
    assert_eq!(delta["entries"][0][3][0][0], "a");
}

/// Fetches a door's allowlist, checks its signature against the published keys, returns it and its size.
pub(crate) async fn allowlist(app: &TestApp, door: &Door, since: Option<i64>) -> (Value, usize) {
    let path = match since {
        Some(v) => format!("/api/v1/access/allowlist?since={v}"),
        None => "/api/v1/access/allowlist".to_owned(),
    };
    let response = app
        .get(Some("atlas"), &path)
        .bearer_auth(&door.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let kid = response.headers()["tessera-key-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let signature = response.headers()["tessera-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.bytes().await.unwrap();
    let jwks: Value = app
        .get(Some("atlas"), "/.well-known/jwks.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    let decode = |t: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t)
            .unwrap()
    };
    let public = ed25519_dalek::VerifyingKey::from_bytes(
        &decode(key["x"].as_str().unwrap()).try_into().unwrap(),
    )
    .unwrap();
    let signature = ed25519_dalek::Signature::from_bytes(&decode(&signature).try_into().unwrap());
    let mut signed = b"tessera-allowlist/1\n".to_vec();
    signed.extend_from_slice(&body);
    public
        .verify(&signed, &signature)
        .expect("the allowlist's signature verifies");
    let mut tampered = signed.clone();
    let last = tampered.len() - 2;
    tampered[last] ^= 1;
    assert!(public.verify(&tampered, &signature).is_err());
    (serde_json::from_slice(&body).unwrap(), body.len())
}

#[tokio::test]
async fn overrides_anti_passback_under_concurrency_occupancy_and_bad_input() {
    let app = TestApp::spawn().await;
    let staff = app.token("atlas", "staff").await;
    let centre = location(&app, "atlas", "Centre", "Europe/Paris").await;
    let door = pair(
        &app,
        "atlas",
        json!({"kind": "door", "location_id": centre}),
    )
    .await;
    let unlimited = plan(&app, "ov-door", json!({})).await;
    let (member, card) = member_with_card(&app, "atlas", "Olga").await;

    // Refused (no membership), then let in by staff with a reason.
    let refused = check(&app, &door, "barcode", &card, "in").await;
    assert_eq!(reason(&refused), Some("no_membership"));
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/access/overrides",
            Some(&staff),
            &json!({"event_id": refused["event_id"], "reason": " "}),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("reason"))
    );
    let (status, overridden) = app
        .post_json(
            Some("atlas"),
            "/api/v1/access/overrides",
            Some(&staff),
            &json!({"event_id": refused["event_id"], "reason": "paid cash at the desk"}),
        )
        .await;
    assert_eq!(status, 201, "{overridden}");
    assert_eq!(overridden["override_of"], refused["event_id"]);
    assert_eq!(
        count(
            &app.db.url,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'access.overridden'"
        ),
        1
    );
    let member_token = app.token("atlas", "member").await;
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/access/overrides",
            Some(&member_token),
            &json!({"event_id": refused["event_id"], "reason": "me"}),
        )
        .await;
    assert_eq!(status, 403);
    // The member is now inside (the override counted as an entry).
    let (status, occupancy) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/access/occupancy?location_id={centre}"),
            &staff,
        )
        .await;
    assert_eq!(
        (status, occupancy["count"].as_u64()),
        (200, Some(1)),
        "{occupancy}"
    );
    assert_eq!(occupancy["present"][0]["member_id"], member.as_str());
    check(&app, &door, "barcode", &card, "out").await;

    // Twenty simultaneous entries of one member through an anti-passback door: exactly one opens.
    membership(&app, &member, &unlimited).await;
    let entries_of = |decision: &str| {
        count(
            &app.db.url,
            &format!(
                "SELECT COUNT(*) AS n FROM access_events WHERE member_id = '{member}' \
                 AND direction = 'in' AND decision = '{decision}'"
            ),
        )
    };
    written(&app, &staff).await;
    let before = (entries_of("allow"), entries_of("deny"));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (url, token, card) = (
            app.url("/api/v1/access/check"),
            door.token.clone(),
            card.clone(),
        );
        let client = app.client.clone();
        let host = app.host(Some("atlas"));
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .header("host", host)
                .bearer_auth(token)
                .json(&json!({"credential": {"type": "barcode", "value": card}, "direction": "in"}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }));
    }
    let mut allowed = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        match body["decision"].as_str() {
            Some("allow") => allowed += 1,
            _ => assert_eq!(reason(&body), Some("anti_passback"), "{body}"),
        }
    }
    assert_eq!(allowed, 1);
    written(&app, &staff).await;
    // Each attempt is recorded once, as decided.
    assert_eq!(
        (
            entries_of("allow") - before.0,
            entries_of("deny") - before.1
        ),
        (1, 19)
    );
    let (_, peaks) = app
        .get_json(
            Some("atlas"),
            &format!(
                "/api/v1/access/occupancy/peaks?location_id={centre}&date={}",
                app_today(&app)
            ),
            &staff,
        )
        .await;
    let hours = peaks["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 24);
    assert!(
        hours
            .iter()
            .map(|h| h["entries"].as_u64().unwrap())
            .sum::<u64>()
            >= 2,
        "{peaks}"
    );
    assert!(hours.iter().any(|h| h["peak"].as_u64().unwrap() >= 1));

    written(&app, &staff).await;
    // Dry run: decided, nothing recorded.
    let before = count(&app.db.url, "SELECT COUNT(*) AS n FROM access_events");
    let (status, dry) = app
        .post_json(Some("atlas"), "/api/v1/access/check", Some(&door.token),
            &json!({"credential": {"type": "barcode", "value": card}, "direction": "in", "dry_run": true}))
        .await;
    assert_eq!(
        (status, dry["dry_run"].as_bool(), reason(&dry)),
        (200, Some(true), Some("anti_passback"))
    );
    assert!(dry["event_id"].is_null());

    // Bad input: unknown formats, unknown types, a bad batch entry; nothing written.
    for (credential, field) in [
        (
            json!({"type": "barcode", "value": "12345"}),
            "credential.value",
        ),
        (
            json!({"type": "qr", "value": "TQR1.crd_x.notatime.sig"}),
            "credential.value",
        ),
        (
            json!({"type": "nfc", "value": "04A2B3"}),
            "credential.value",
        ),
        (
            json!({"type": "magstripe", "value": "x"}),
            "credential.type",
        ),
    ] {
        let (status, problem) = app
            .post_json(
                Some("atlas"),
                "/api/v1/access/check",
                Some(&door.token),
                &json!({"credential": credential, "direction": "in"}),
            )
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field);
        assert_eq!(problem["errors"][0]["code"], "unknown_credential_format");
    }
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/access/checkins/batch",
            Some(&door.token),
            &json!({"entries": [
            {"id": "ok-1", "credential": {"type": "barcode", "value": card}, "direction": "out",
             "occurred_at": Utc::now(), "decision": "allow"},
            {"id": "bad-2", "credential": {"type": "barcode", "value": "abc"}, "direction": "in",
             "occurred_at": Utc::now(), "decision": "allow"}]}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "entries[1].credential.value");
    assert_eq!(
        count(&app.db.url, "SELECT COUNT(*) AS n FROM access_events"),
        before,
        "nothing half-written"
    );
    // An unknown NFC UID in the reader's LSB-first decimal notation meets the stored MSB-first hex.
    let nfc_door = pair(&app, "atlas", json!({"kind": "door", "location_id": centre, "nfc_byte_order": "lsb", "anti_passback": false})).await;
    let (status, tag) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/members/{member}/credentials"),
            Some(&staff),
            &json!({"kind": "nfc", "value": "04:A2:2B:1C:6E:50:80"}),
        )
        .await;
    assert_eq!(
        (status, tag["value"].as_str()),
        (201, Some("04A22B1C6E5080")),
        "{tag}"
    );
    let (status, taken) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/members/{member}/credentials"),
            Some(&staff),
            &json!({"kind": "nfc", "value": "80506E1C2BA204", "byte_order": "lsb"}),
        )
        .await;
    assert_eq!(
        (status, taken["code"].as_str()),
        (409, Some("credential_taken"))
    );
    // 0x80506E1C2BA204 read LSB first is the same UID.
    let (status, decision) = app
        .post_json(Some("atlas"), "/api/v1/access/check", Some(&nfc_door.token),
            &json!({"credential": {"type": "nfc", "value": "36117230868210180", "encoding": "decimal"}, "direction": "out"}))
        .await;
    assert_eq!(
        (status, decision["decision"].as_str()),
        (200, Some("allow")),
        "{decision}"
    );
    assert_eq!(decision["member"]["id"], member.as_str());
}

#[tokio::test]
async fn simultaneous_checks_are_decided_each_on_its_own_facts_and_recorded_once() {
    // Checks that arrive together are decided and recorded together (docs/devices.md): each must still get its own
    // answer, a rotating code shown six times at once must open once, and a malformed one must fail alone.
    let app = TestApp::spawn().await;
    let staff = app.token("atlas", "staff").await;
    let hall = location(&app, "atlas", "Hall", "Europe/Paris").await;
    let door = pair(&app, "atlas", json!({"kind": "door", "location_id": hall})).await;
    let unlimited = plan(&app, "group-door", json!({})).await;
    let mut expected: Vec<(Value, u16, Option<&str>)> = Vec::new();
    let mut members = Vec::new();
    for i in 0..12 {
        let (member, card) = member_with_card(&app, "atlas", &format!("Ines{i}")).await;
        membership(&app, &member, &unlimited).await;
        members.push(member);
        expected.push((json!({"type": "barcode", "value": card}), 200, None));
    }
    for i in 0..4 {
        let (_, card) = member_with_card(&app, "atlas", &format!("Noor{i}")).await;
        expected.push((
            json!({"type": "barcode", "value": card}),
            200,
            Some("no_membership"),
        ));
    }
    for card in ["999999999990", "999999999991"] {
        expected.push((
            json!({"type": "barcode", "value": card}),
            200,
            Some("unknown_credential"),
        ));
    }
    expected.push((json!({"type": "barcode", "value": "12345"}), 422, None));
    let (owner, credential, key) = app_key(&app).await;
    membership(&app, &owner, &unlimited).await;
    let code = rotating(
        &key,
        &tenant_id(&app, "atlas"),
        &credential,
        Utc::now().timestamp(),
    );
    for _ in 0..6 {
        expected.push((json!({"type": "qr", "value": code}), 200, Some("shown")));
    }
    written(&app, &staff).await;
    let before = count(&app.db.url, "SELECT COUNT(*) AS n FROM access_events");

    let mut tasks = Vec::new();
    for (credential, _, _) in &expected {
        let (client, url, host, token) = (
            app.client.clone(),
            app.url("/api/v1/access/check"),
            app.host(Some("atlas")),
            door.token.clone(),
        );
        let body = json!({"credential": credential, "direction": "in"});
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .header("host", host)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }));
    }
    let mut qr_allowed = 0;
    for ((_, status, outcome), task) in expected.iter().zip(tasks) {
        let (got, body) = task.await.unwrap();
        assert_eq!(got, *status, "{body}");
        match (*status, *outcome) {
            (422, _) => assert_eq!(body["errors"][0]["field"], "credential.value", "{body}"),
            (_, Some("shown")) => match body["decision"].as_str() {
                Some("allow") => qr_allowed += 1,
                _ => assert_eq!(reason(&body), Some("credential_replayed"), "{body}"),
            },
            (_, None) => {
                assert_eq!(body["decision"], "allow", "{body}");
                assert!(body["event_id"].is_string(), "{body}");
                assert!(body["membership"]["plan_name"].is_string(), "{body}");
            }
            (_, Some(code)) => assert_eq!(reason(&body), Some(code), "{body}"),
        }
    }
    assert_eq!(qr_allowed, 1, "a rotating code opens once");

    written(&app, &staff).await;
    // Every answered check is recorded once, with its own live event and request id; the malformed one left nothing.
    let recorded = count(&app.db.url, "SELECT COUNT(*) AS n FROM access_events") - before;
    assert_eq!(recorded, 24);
    assert_eq!(
        count(
            &app.db.url,
            "SELECT COUNT(DISTINCT request_id) AS n FROM events \
             WHERE event_type IN ('access.checked_in', 'access.denied')"
        ),
        24
    );
    assert_eq!(
        count(
            &app.db.url,
            "SELECT COUNT(*) AS n FROM events WHERE event_type = 'access.checked_in'"
        ),
        13
    );
    for member in &members {
        assert_eq!(
            count(
                &app.db.url,
                &format!(
                    "SELECT COUNT(*) AS n FROM access_events WHERE member_id = '{member}' \
                     AND decision = 'allow'"
                )
            ),
            1
        );
    }
    // Everyone let in is inside.
    let (status, occupancy) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/access/occupancy?location_id={hall}"),
            &staff,
        )
        .await;
    assert_eq!(
        (status, occupancy["count"].as_u64()),
        (200, Some(13)),
        "{occupancy}"
    );
}

#[tokio::test]
async fn card_images_and_credentials_are_the_members_and_the_desks_only() {
    let app = TestApp::spawn().await;
    let staff = app.token("atlas", "staff").await;
    let (member, _) = member_with_card(&app, "atlas", "Ivy").await;
    let (_, credentials) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/members/{member}/credentials"),
            &staff,
        )
        .await;
    let id = credentials[0]["id"].as_str().unwrap();
    for (query, mime, magic) in [
        ("symbology=code128&format=png", "image/png", &b"\x89PNG"[..]),
        ("symbology=qr&format=png", "image/png", &b"\x89PNG"[..]),
        ("symbology=qr&format=svg", "image/svg+xml", &b"<?xml"[..]),
        (
            "symbology=code128&format=svg",
            "image/svg+xml",
            &b"<svg"[..],
        ),
    ] {
        let response = app
            .get(
                Some("atlas"),
                &format!("/api/v1/credentials/{id}/image?{query}"),
            )
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{query}");
        assert_eq!(response.headers()["content-type"], mime);
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.starts_with(magic), "{query}: {:?}", &bytes[..8]);
    }
    // Another member sees neither the credentials nor the image.
    let other = app.token("atlas", "member").await;
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/members/{member}/credentials"),
            &other
        )
        .await,
        404
    );
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/credentials/{id}/image"),
            &other
        )
        .await,
        404
    );
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/me/app-keys",
            Some(&other),
            &json!({"public_key": "short"}),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["code"].as_str()),
        (422, Some("invalid_public_key"))
    );
}

#[tokio::test]
async fn the_simulator_decides_offline_with_the_server_stopped_and_uploads_once() {
    let mut app = TestApp::spawn().await;
    let staff = app.token("atlas", "staff").await;
    let centre = location(&app, "atlas", "Centre", "Europe/Paris").await;
    let unlimited = plan(&app, "sim-door", json!({})).await;
    let mut cards = Vec::new();
    let mut ids = Vec::new();
    for name in ["Sim", "Sam", "Sue"] {
        let (member, card) = member_with_card(&app, "atlas", name).await;
        membership(&app, &member, &unlimited).await;
        cards.push(card);
        ids.push(member);
    }
    let (owner, credential, key) = app_key(&app).await;
    membership(&app, &owner, &unlimited).await;
    let tenant = tenant_id(&app, "atlas");

    // The operator makes the code on the server host; the simulator pairs and syncs.
    let output = app.cli(&[
        "device",
        "pair",
        "--tenant",
        "atlas",
        "--kind",
        "door",
        "--location",
        "Centre",
        "--json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let code: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(code["location_id"], centre.as_str());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("door.json");
    let state_arg = state.to_str().unwrap();
    let server = app.url("");
    let db_url = app.db.url.clone();
    let sim = |args: &[&str]| {
        let mut all = vec!["device", "simulate-door", "--state", state_arg];
        all.extend_from_slice(args);
        let output = tessera_tests::cli(&db_url, &all, &[], None);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let out = sim(&[
        "--pair",
        code["code"].as_str().unwrap(),
        "--server",
        &server,
        "--tenant",
        "atlas",
        "--sync",
    ]);
    assert!(out.contains(r#""entries":4"#), "{out}");

    // A card revoked after the door synced: the offline door still opens; the upload flags it.
    let sue_id = ids[2].clone();
    let (_, sue_credentials) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/members/{sue_id}/credentials"),
            &staff,
        )
        .await;
    let (status, _) = app
        .post_json(
            Some("atlas"),
            &format!(
                "/api/v1/credentials/{}/revoke",
                sue_credentials[0]["id"].as_str().unwrap()
            ),
            Some(&staff),
            &json!({"reason": "lost"}),
        )
        .await;
    assert_eq!(status, 200);

    // The network goes down.
    app.terminate().await;
    let now = Utc::now().timestamp();
    let fresh = rotating(&key, &tenant, &credential, now);
    let mut lines = vec![
        format!("in qr {fresh}"),
        format!("out qr {fresh}"),
        format!("in qr {}", rotating(&key, &tenant, &credential, now - 300)),
        format!(
            "in qr {}",
            rotating(
                &SigningKey::generate(&mut rand::rngs::OsRng),
                &tenant,
                &credential,
                now
            )
        ),
        format!("in barcode {}", cards[2]),
    ];
    while lines.len() < 1000 {
        let i = lines.len();
        let card = &cards[i % 2];
        // Each card goes in and out in turn; every tenth read is a card nobody holds.
        if i % 10 == 0 {
            lines.push("in barcode 000000000000".into());
        } else {
            lines.push(format!(
                "{} barcode {card}",
                if (i / 2) % 2 == 0 { "in" } else { "out" }
            ));
        }
    }
    let input = dir.path().join("reads.txt");
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out = sim(&["--decide", input.to_str().unwrap()]);
    let decisions: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(decisions.len(), 1000);
    let reasons: Vec<Option<&str>> = decisions
        .iter()
        .take(5)
        .map(|d| d["reason"].as_str())
        .collect();
    assert_eq!(
        reasons,
        [
            None,
            Some("credential_replayed"),
            Some("credential_expired"),
            Some("credential_forged"),
            None
        ]
    );
    let unknown = decisions
        .iter()
        .filter(|d| d["reason"] == "unknown_credential")
        .count();
    assert_eq!(
        unknown, 99,
        "every tenth line from the sixth is a card nobody holds"
    );

    // The network is back: one upload records them all, flagging the revoked card; a second adds nothing.
    let app2 = TestApp::spawn_on(app.db.shared(), &[]).await;
    let server = app2.url("");
    let state_json: Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let mut moved = state_json.clone();
    moved["server"] = json!(server);
    moved["host"] = json!(app2.host(Some("atlas")));
    std::fs::write(&state, moved.to_string()).unwrap();
    let out = sim(&["--upload", "--keep-pending"]);
    let first: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (
            first["received"].as_u64(),
            first["recorded"].as_u64(),
            first["duplicates"].as_u64()
        ),
        (Some(1000), Some(1000), Some(0)),
        "{first}"
    );
    assert_eq!(first["flagged"], 1, "the card revoked meanwhile");
    let out = sim(&["--upload"]);
    let second: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (second["recorded"].as_u64(), second["duplicates"].as_u64()),
        (Some(0), Some(1000)),
        "{second}"
    );
    assert_eq!(
        count(
            &app2.db.url,
            "SELECT COUNT(*) AS n FROM access_events WHERE source = 'offline'"
        ),
        1000
    );
    assert_eq!(count(&app2.db.url,
        "SELECT COUNT(*) AS n FROM access_events WHERE flagged = true AND flag_reason = 'revoked_credential'"), 1);
    let (status, flagged) = app2
        .get_json(
            Some("atlas"),
            "/api/v1/access/events?flagged=true",
            &app2.token("atlas", "staff").await,
        )
        .await;
    assert_eq!(
        (status, flagged["data"].as_array().unwrap().len()),
        (200, 1)
    );
    assert_eq!(flagged["data"][0]["flag_reason"], "revoked_credential");
    let (status, unflagged) = app2
        .get_json(
            Some("atlas"),
            "/api/v1/access/events?flagged=false&limit=100",
            &app2.token("atlas", "staff").await,
        )
        .await;
    let unflagged = unflagged["data"].as_array().unwrap();
    assert_eq!((status, unflagged.len()), (200, 100));
    assert!(
        unflagged.iter().all(|e| e["flagged"] == false),
        "{unflagged:?}"
    );
}

#[tokio::test]
async fn device_and_access_routes_stay_in_their_brand() {
    let app = TestApp::spawn().await;
    let atlas_centre = location(&app, "atlas", "Centre", "Europe/Paris").await;
    let lumiere_centre = location(&app, "lumiere", "Centre", "Europe/Paris").await;
    let atlas_door = pair(
        &app,
        "atlas",
        json!({"kind": "door", "location_id": atlas_centre}),
    )
    .await;
    let _lumiere_door = pair(
        &app,
        "lumiere",
        json!({"kind": "door", "location_id": lumiere_centre}),
    )
    .await;
    let (_, card) = member_with_card(&app, "atlas", "Iso").await;
    check(&app, &atlas_door, "barcode", &card, "in").await;
    let lumiere_admin = app.token("lumiere", "admin").await;
    // A door's credential means nothing on another brand's host.
    for path in ["/api/v1/device", "/api/v1/access/allowlist"] {
        assert_eq!(
            app.get_status(Some("lumiere"), path, &atlas_door.token)
                .await,
            401,
            "{path}"
        );
    }
    // Another brand's location is not found; its decisions are not listed.
    for path in [
        format!("/api/v1/access/occupancy?location_id={atlas_centre}"),
        format!("/api/v1/access/occupancy/peaks?location_id={atlas_centre}&date=2026-11-26"),
    ] {
        assert_eq!(
            app.get_status(Some("lumiere"), &path, &lumiere_admin).await,
            404,
            "{path}"
        );
    }
    let (status, events) = app
        .get_json(Some("lumiere"), "/api/v1/access/events", &lumiere_admin)
        .await;
    assert_eq!((status, events["data"].as_array().unwrap().len()), (200, 0));
    let atlas_admin = app.token("atlas", "admin").await;
    let (_, events) = app
        .get_json(Some("atlas"), "/api/v1/access/events", &atlas_admin)
        .await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1);
}
