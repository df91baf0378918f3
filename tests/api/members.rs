//! Members: walk-in enrolment, accent-insensitive prefix search, profiles and consents, staff notes, households,
//! sign-up with address verification, and who may see whom.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tessera_tests::{count, eventually, read_email, TestApp, PASSWORD};

async fn enrol(app: &TestApp, token: &str, body: serde_json::Value) -> serde_json::Value {
    let (status, member) = app
        .post_json(Some("atlas"), "/api/v1/members", Some(token), &body)
        .await;
    assert_eq!(status, 201, "{member}");
    member
}

#[tokio::test]
async fn walk_ins_are_found_by_name_email_phone_and_card() {
    let app = TestApp::spawn().await;
    let staff = app.token("atlas", "staff").await;
    let (_, before) = app
        .get_json(Some("atlas"), "/api/v1/dashboard/today", &staff)
        .await;
    let helene = enrol(
        &app,
        &staff,
        json!({"email": "hm@example.fr", "given_name": "Hélène-Marie", "family_name": "Dupré",
               "phone": "+33 6 12 34 56 78", "birth_date": "1990-04-12", "tags": ["VIP", "morning"],
               "address": {"line1": "3 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"},
               "consents": [{"kind": "marketing", "granted": true, "text_version": "2026-01"},
                            {"kind": "health_data", "granted": false, "text_version": "2026-01"}]}),
    )
    .await;
    enrol(
        &app,
        &staff,
        json!({"email": "marc@example.fr", "given_name": "Marc", "family_name": "Durand"}),
    )
    .await;
    let (_, after) = app
        .get_json(Some("atlas"), "/api/v1/dashboard/today", &staff)
        .await;
    let joined = after["new_members"].as_i64().unwrap() - before["new_members"].as_i64().unwrap();
    assert_eq!(
        joined, 2,
        "the desk's today view counts new members: {after}"
    );
    assert_eq!(helene["tags"], json!(["morning", "vip"]));
    assert_eq!(helene["source"], "walk_in");
    assert_eq!(helene["consents"].as_array().unwrap().len(), 2);
    let card = helene["card_number"].as_str().unwrap().to_owned();
    let id = helene["id"].as_str().unwrap().to_owned();

    for (query, expected) in [
        ("helene", vec!["Dupré"]),
        ("HÉL dup", vec!["Dupré"]),
        ("marie", vec!["Dupré"]),
        ("du", vec!["Dupré", "Durand"]),
        ("dur", vec!["Durand"]),
        ("06 12 34", vec!["Dupré"]),
        ("+33612", vec!["Dupré"]),
        ("hm@ex", vec!["Dupré"]),
        (&card[..8], vec!["Dupré"]),
        ("zorro", vec![]),
    ] {
        let q: String = url_encode(query);
        let (status, page) = app
            .get_json(Some("atlas"), &format!("/api/v1/members?q={q}"), &staff)
            .await;
        assert_eq!(status, 200, "{page}");
        let mut names: Vec<&str> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["family_name"].as_str().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, expected, "query {query:?}");
    }
    let (_, page) = app
        .get_json(Some("atlas"), "/api/v1/members?tag=vip", &staff)
        .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);

    // A member cannot search, nor read another member; staff of another brand do not see this one.
    let member = app.token("atlas", "member").await;
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/members?q=du", &member)
            .await,
        403
    );
    assert_eq!(
        app.get_status(Some("atlas"), &format!("/api/v1/members/{id}"), &member)
            .await,
        404
    );
    let other_staff = app.token("lumiere", "staff").await;
    assert_eq!(
        app.get_status(
            Some("lumiere"),
            &format!("/api/v1/members/{id}"),
            &other_staff
        )
        .await,
        404
    );
    let (_, page) = app
        .get_json(Some("lumiere"), "/api/v1/members?q=helene", &other_staff)
        .await;
    assert_eq!(page["data"], json!([]));

    // Staff change the profile; the search follows.
    let (status, changed) = app
        .send_json(Method::PATCH, Some("atlas"), &format!("/api/v1/members/{id}"), Some(&staff),
            &json!({"family_name": "Lefèvre", "status": "inactive", "consents": [{"kind": "health_data", "granted": true, "text_version": "2026-02"}]}))
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["status"], "inactive");
    let health = changed["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "health_data")
        .unwrap()
        .clone();
    assert_eq!(
        (health["granted"].as_bool(), health["text_version"].as_str()),
        (Some(true), Some("2026-02"))
    );
    let (_, page) = app
        .get_json(Some("atlas"), "/api/v1/members?q=lefevre", &staff)
        .await;
    assert!(page["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == id.as_str()));
    let (_, page) = app
        .get_json(Some("atlas"), "/api/v1/members?q=dupre", &staff)
        .await;
    assert_eq!(page["data"], json!([]), "old terms are gone");
    assert_eq!(
        count(&app.db.url, "SELECT count(*) FROM member_consents"),
        3,
        "consents are a history"
    );
    assert!(
        count(
            &app.db.url,
            "SELECT count(*) FROM events WHERE event_type = 'member.created'"
        ) >= 2
    );
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn members_edit_their_own_profile_but_not_staff_fields() {
    let app = TestApp::spawn().await;
    let member = app.token("atlas", "member").await;
    let (status, me) = app
        .get_json(Some("atlas"), "/api/v1/me/profile", &member)
        .await;
    assert_eq!(status, 200, "{me}");
    let (status, me) = app
        .send_json(Method::PATCH, Some("atlas"), "/api/v1/me/profile", Some(&member),
            &json!({"phone": "06 11 22 33 44", "emergency_contact": {"name": "Paul", "phone": "0600000000"}, "locale": "en"}))
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["phone"].as_str(), me["locale"].as_str()),
        (Some("06 11 22 33 44"), Some("en-GB"))
    );
    let before = count(&app.db.url, "SELECT count(*) FROM member_tags");
    let (status, problem) = app
        .send_json(
            Method::PATCH,
            Some("atlas"),
            "/api/v1/me/profile",
            Some(&member),
            &json!({"tags": ["vip"], "status": "active"}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["tags", "status"]);
    assert_eq!(
        count(&app.db.url, "SELECT count(*) FROM member_tags"),
        before,
        "nothing written"
    );
    let (status, problem) = app
        .send_json(
            Method::PATCH,
            Some("atlas"),
            "/api/v1/me/profile",
            Some(&member),
            &json!({"birth_date": "2999-01-01", "phone": "abc"}),
        )
        .await;
    assert_eq!(status, 422);
    let codes: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["invalid_phone", "in_future"]);
}

#[tokio::test]
async fn notes_are_for_staff_and_households_for_guardians() {
    let app = TestApp::spawn().await;
    let staff = app.token("atlas", "staff").await;
    let member = app.token("atlas", "member").await;
    let (_, me) = app
        .get_json(Some("atlas"), "/api/v1/me/profile", &member)
        .await;
    let member_id = me["id"].as_str().unwrap().to_owned();
    let notes = format!("/api/v1/members/{member_id}/notes");
    let (status, note) = app
        .post_json(
            Some("atlas"),
            &notes,
            Some(&staff),
            &json!({"body": "Knee surgery in 2025: no jumps."}),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    let (status, list) = app.get_json(Some("atlas"), &notes, &staff).await;
    assert_eq!((status, list.as_array().unwrap().len()), (200, 1));
    assert_eq!(
        app.get_status(Some("atlas"), &notes, &member).await,
        403,
        "members never see notes"
    );
    let coach = app.token("atlas", "coach").await;
    assert_eq!(
        app.get_status(Some("atlas"), &notes, &coach).await,
        404,
        "a pro sees only their own clients' notes"
    );

    // A guardian adds a minor, reads and changes them; another member cannot.
    let (status, child) = app
        .post_json(
            Some("atlas"),
            "/api/v1/me/dependants",
            Some(&member),
            &json!({"given_name": "Léo", "family_name": "Martin", "birth_date": "2015-06-01"}),
        )
        .await;
    assert_eq!(status, 201, "{child}");
    assert_eq!(
        (child["guardian_id"].as_str(), child["email"].as_str()),
        (Some(member_id.as_str()), None)
    );
    let child_id = child["id"].as_str().unwrap();
    let (status, _) = app
        .send_json(
            Method::PATCH,
            Some("atlas"),
            &format!("/api/v1/members/{child_id}"),
            Some(&member),
            &json!({"given_name": "Léon"}),
        )
        .await;
    assert_eq!(status, 200);
    let other = app.token("atlas", "member2").await;
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/members/{child_id}"),
            &other
        )
        .await,
        404
    );
    let (_, mine) = app
        .get_json(Some("atlas"), "/api/v1/me/dependants", &member)
        .await;
    assert_eq!(mine[0]["given_name"], "Léon");
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/me/dependants",
            Some(&member),
            &json!({"given_name": "Adult", "family_name": "Kid", "birth_date": "1990-01-01"}),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["code"].as_str()),
        (422, Some("not_minor"))
    );
}

#[tokio::test]
async fn sign_up_verify_then_buy_online_and_withdraw() {
    let (smtp, app) = crate::email::with_smtp().await;
    let admin = app.token("atlas", "admin").await;
    let (status, plan) = app
        .post_json(
            Some("atlas"),
            "/api/v1/plans",
            Some(&admin),
            &crate::memberships::monthly_plan("online-monthly"),
        )
        .await;
    assert_eq!(status, 201, "{plan}");
    let plan_id = plan["id"].as_str().unwrap();

    let (status, problem) = app
        .post_json(Some("atlas"), "/api/v1/members/signup", None,
            &json!({"email": "new@example.fr", "password": PASSWORD, "given_name": "Zoé", "family_name": "Young", "birth_date": "2012-01-01"}))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["code"].as_str()),
        (422, Some("minor"))
    );
    let (status, signed) = app
        .post_json(Some("atlas"), "/api/v1/members/signup", None,
            &json!({"email": "new@example.fr", "password": PASSWORD, "given_name": "Zoé", "family_name": "Lambert",
                    "consents": [{"kind": "marketing", "granted": false, "text_version": "2026-01"}]}))
        .await;
    assert_eq!(status, 201, "{signed}");
    assert_eq!(signed["member"]["email_verified"], false);
    let token = app.login(Some("atlas"), "new@example.fr").await.access;
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/me/memberships",
            Some(&token),
            &json!({"plan_id": plan_id}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("email_not_verified"))
    );

    assert!(
        eventually(Duration::from_secs(15), || smtp.messages().len() == 1).await,
        "the verification e-mail arrives"
    );
    let (to, _, text, _) = read_email(&smtp.messages()[0]);
    assert!(to.contains("new@example.fr"));
    let link_token = crate::email::token_in(&text);
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/auth/verify-email",
            None,
            &json!({"token": link_token}),
        )
        .await;
    assert!(status == 204 || status == 200, "{status}");

    let (status, bought) = app
        .post_json(
            Some("atlas"),
            "/api/v1/me/memberships",
            Some(&token),
            &json!({"plan_id": plan_id}),
        )
        .await;
    assert_eq!(status, 201, "{bought}");
    assert_eq!(
        (bought["status"].as_str(), bought["sold_online"].as_bool()),
        (Some("pending"), Some(true))
    );
    assert!(bought["withdrawal_until"].is_string());
    let id = bought["id"].as_str().unwrap();
    let (status, withdrawn) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/memberships/{id}/withdrawal"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{withdrawn}");
    assert_eq!(withdrawn["status"], "cancelled");
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM events WHERE event_type = 'membership.withdrawn'"
        ),
        1
    );
}

#[tokio::test]
async fn a_pro_reads_and_writes_notes_only_on_their_own_clients() {
    let app = TestApp::spawn().await;
    let f = crate::scheduling::setup(&app, "atlas").await;
    let staff = app.token("atlas", "staff").await;
    let coach = app.token("atlas", "coach").await;
    let client = crate::scheduling::account_id(&app, "member@atlas.test");
    let stranger = crate::scheduling::account_id(&app, "member2@atlas.test");
    for member in [&client, &stranger] {
        let path = format!("/api/v1/members/{member}/notes");
        let (status, _) = app
            .post_json(
                Some("atlas"),
                &path,
                Some(&staff),
                &json!({"body": "desk note"}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let client_notes = format!("/api/v1/members/{client}/notes");
    assert_eq!(
        app.get_status(Some("atlas"), &client_notes, &coach).await,
        404,
        "not a client yet"
    );
    crate::scheduling::insert_appointment(
        &app,
        &f,
        &client,
        chrono::Utc::now() + chrono::Duration::days(2),
    );
    let (status, notes) = app.get_json(Some("atlas"), &client_notes, &coach).await;
    assert_eq!(
        (status, notes[0]["body"].as_str()),
        (200, Some("desk note")),
        "{notes}"
    );
    let (status, _) = app
        .post_json(
            Some("atlas"),
            &client_notes,
            Some(&coach),
            &json!({"body": "left knee: no lunges"}),
        )
        .await;
    assert_eq!(status, 201);
    let stranger_notes = format!("/api/v1/members/{stranger}/notes");
    assert_eq!(
        app.get_status(Some("atlas"), &stranger_notes, &coach).await,
        404
    );
    let (status, _) = app
        .post_json(
            Some("atlas"),
            &stranger_notes,
            Some(&coach),
            &json!({"body": "probe"}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        count(
            &app.db.url,
            &format!("SELECT count(*) FROM member_notes WHERE account_id = '{stranger}'")
        ),
        1
    );
}
