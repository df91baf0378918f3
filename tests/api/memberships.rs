//! Plans and memberships: the public price list, sales at the desk, the state machine through the API (allowed
//! and refused transitions), freezes, plan changes with proration, cancellation in three requests with its end
//! date, the daily roll, class entitlements, and bad input that writes nothing.

use chrono::{Duration, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use tessera_tests::{count, TestApp};

use crate::billing::member_id;

/// A monthly plan: 12 months' commitment, 30 days' notice, 30 freeze days a year, yoga included.
pub(crate) fn monthly_plan(code: &str) -> Value {
    json!({"code": code, "name": "Mensuel 12 mois", "description": "Accès illimité",
           "translations": {"en": {"name": "Monthly 12 months", "description": "Unlimited access"}},
           "kind": "recurring", "price": {"amount": 4990, "currency": "EUR"}, "billing_period": "month",
           "commitment_months": 12, "notice_days": 30, "enrolment_fee": 2900, "freeze_max_days_per_year": 30,
           "access": {"class_types": ["yoga"]}})
}

/// Creates the plan `monthly-12` ([`monthly_plan`]) as `admin` and returns its id.
pub(crate) async fn monthly_plan_id(app: &TestApp, admin: &str) -> String {
    let (_, plan) = app
        .post_json(
            Some("atlas"),
            "/api/v1/plans",
            Some(admin),
            &monthly_plan("monthly-12"),
        )
        .await;
    plan["id"].as_str().unwrap().to_owned()
}

async fn sell(app: &TestApp, staff: &str, member: &str, plan: &str) -> Value {
    let (status, m) = app
        .post_json(
            Some("atlas"),
            "/api/v1/memberships",
            Some(staff),
            &json!({"member_id": member, "plan_id": plan}),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    m
}

async fn act(app: &TestApp, token: &str, id: &str, action: &str) -> (u16, Value) {
    app.post_json(
        Some("atlas"),
        &format!("/api/v1/memberships/{id}/actions"),
        Some(token),
        &json!({"action": action}),
    )
    .await
}

#[tokio::test]
async fn plans_are_public_staff_only_or_refused_when_invalid() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let (status, plan) = app
        .post_json(
            Some("atlas"),
            "/api/v1/plans",
            Some(&admin),
            &monthly_plan("monthly-12"),
        )
        .await;
    assert_eq!(status, 201, "{plan}");
    let mut desk = monthly_plan("desk-only");
    desk["visibility"] = json!("staff_only");
    assert_eq!(
        app.post_json(Some("atlas"), "/api/v1/plans", Some(&admin), &desk)
            .await
            .0,
        201
    );
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/plans",
            Some(&admin),
            &monthly_plan("monthly-12"),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("plan_code_taken"))
    );

    // Anyone sees the public plans, in their language; staff see all.
    let response = app
        .get(Some("atlas"), "/api/v1/plans?locale=en")
        .send()
        .await
        .unwrap();
    let (status, page) = tessera_tests::json(response).await;
    assert_eq!(status, 200, "{page}");
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Monthly 12 months"]);
    let staff = app.token("atlas", "staff").await;
    let (_, all) = app
        .get_json(Some("atlas"), "/api/v1/plans?all=true", &staff)
        .await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    let member = app.token("atlas", "member").await;
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/plans?all=true", &member)
            .await,
        403
    );
    let response = app
        .get(Some("lumiere"), "/api/v1/plans")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tessera_tests::json(response).await.1["data"],
        json!([]),
        "brand B sees nothing of brand A"
    );

    // Bad input: named fields, stable codes, nothing written.
    let before = count(&app.db.url, "SELECT count(*) FROM plans");
    for (patch, field, code) in [
        (
            json!({"price": {"amount": -1, "currency": "EUR"}}),
            "price.amount",
            "negative_amount",
        ),
        (
            json!({"price": {"amount": 100, "currency": "XXY"}}),
            "price.currency",
            "unknown_currency",
        ),
        (
            json!({"available_from": "2027-02-01", "available_until": "2027-01-01"}),
            "available_until",
            "end_before_start",
        ),
        (
            json!({"billing_period": null}),
            "billing_period",
            "required",
        ),
        (
            json!({"access": {"windows": [{"days": ["mon"], "from": "20:00", "until": "08:00"}]}}),
            "access.windows[0].until",
            "end_before_start",
        ),
        (
            json!({"translations": {"de": {"name": "Monatlich"}}}),
            "translations.de",
            "unsupported_locale",
        ),
    ] {
        let mut body = monthly_plan("bad-plan");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, problem) = app
            .post_json(Some("atlas"), "/api/v1/plans", Some(&admin), &body)
            .await;
        assert_eq!(status, 422, "{patch}: {problem}");
        let found = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == field && e["code"] == code);
        assert!(found, "{patch}: {problem}");
    }
    assert_eq!(count(&app.db.url, "SELECT count(*) FROM plans"), before);
    assert_eq!(
        app.post_json(
            Some("atlas"),
            "/api/v1/plans",
            Some(&staff),
            &monthly_plan("by-staff")
        )
        .await
        .0,
        403
    );
}

#[tokio::test]
async fn membership_state_machine_through_the_api() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let staff = app.token("atlas", "staff").await;
    let (_, plan) = app
        .post_json(
            Some("atlas"),
            "/api/v1/plans",
            Some(&admin),
            &monthly_plan("monthly-12"),
        )
        .await;
    let plan_id = plan["id"].as_str().unwrap();
    let member = member_id(&app, "member").await;
    let (_, today) = app
        .get_json(Some("atlas"), "/api/v1/dashboard/today", &staff)
        .await;
    assert_eq!(today["memberships_sold"], 0, "{today}");
    let sold = sell(&app, &staff, &member, plan_id).await;
    assert_eq!(sold["status"], "pending", "waits for its first payment");
    let (_, today) = app
        .get_json(Some("atlas"), "/api/v1/dashboard/today", &staff)
        .await;
    assert_eq!(today["memberships_sold"], 1, "{today}");
    assert_eq!(sold["price"], json!({"amount": 4990, "currency": "EUR"}));
    let id = sold["id"].as_str().unwrap().to_owned();

    // Forbidden transitions answer 409 with a stable code and change nothing.
    for action in ["reinstate", "suspend", "end"] {
        let (status, problem) = act(&app, &staff, &id, action).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (409, Some("transition_not_allowed")),
            "{action}"
        );
    }
    let (status, problem) = act(&app, &staff, &id, "explode").await;
    assert_eq!(
        (status, problem["errors"][0]["code"].as_str()),
        (422, Some("unknown_action"))
    );
    for (action, expected) in [
        ("activate", "active"),
        ("mark_past_due", "past_due"),
        ("suspend", "suspended"),
        ("reinstate", "active"),
    ] {
        let (status, m) = act(&app, &staff, &id, action).await;
        assert_eq!(
            (status, m["status"].as_str()),
            (200, Some(expected)),
            "{action}: {m}"
        );
    }
    let member_token = app.token("atlas", "member").await;
    assert_eq!(
        act(&app, &member_token, &id, "end").await.0,
        404,
        "members do not drive billing states"
    );

    // Freeze from today for 10 days: frozen at once, commitment moved by 10 days; unfreeze gives them back.
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let committed =
        NaiveDate::parse_from_str(sold["commitment_until"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let freeze =
        json!({"starts_on": today, "ends_on": today + Duration::days(10), "reason": "travel"});
    let (status, frozen) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/memberships/{id}/freezes"),
            Some(&member_token),
            &freeze,
        )
        .await;
    assert_eq!(status, 200, "{frozen}");
    assert_eq!(frozen["status"], "frozen");
    assert_eq!(
        frozen["commitment_until"],
        json!(committed + Duration::days(10))
    );
    let too_long =
        json!({"starts_on": today + Duration::days(20), "ends_on": today + Duration::days(60)});
    let (status, m) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/memberships/{id}/unfreeze"),
            Some(&member_token),
            &json!({}),
        )
        .await;
    assert_eq!((status, m["status"].as_str()), (200, Some("active")), "{m}");
    assert_eq!(m["commitment_until"], json!(committed));
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/memberships/{id}/freezes"),
            Some(&member_token),
            &too_long,
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["code"].as_str()),
        (422, Some("freeze_allowance_exceeded")),
        "{problem}"
    );

    // Plan change now: the proration is exposed for billing.
    let mut premium = monthly_plan("premium");
    premium["price"] = json!({"amount": 7990, "currency": "EUR"});
    let (_, premium) = app
        .post_json(Some("atlas"), "/api/v1/plans", Some(&admin), &premium)
        .await;
    let (status, changed) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/memberships/{id}/plan-change"),
            Some(&staff),
            &json!({"plan_id": premium["id"], "timing": "now"}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    let p = &changed["proration"];
    let (days_left, period_days) = (
        p["days_left"].as_i64().unwrap(),
        p["period_days"].as_i64().unwrap(),
    );
    assert_eq!(
        p["credit"].as_i64().unwrap(),
        (4990 * days_left * 2 + period_days) / (2 * period_days)
    );
    assert_eq!(
        p["charge"].as_i64().unwrap(),
        (7990 * days_left * 2 + period_days) / (2 * period_days)
    );
    assert_eq!(changed["membership"]["price"]["amount"], 7990);

    // The history keeps every change, and events went out in the same transactions.
    let (_, history) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/memberships/{id}/history"),
            &staff,
        )
        .await;
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "activate",
            "mark_past_due",
            "suspend",
            "reinstate",
            "freeze",
            "unfreeze",
            "plan_changed"
        ]
    );
    for event in [
        "membership.activated",
        "membership.frozen",
        "membership.unfrozen",
        "membership.plan_changed",
    ] {
        assert_eq!(
            count(
                &app.db.url,
                &format!("SELECT count(*) FROM events WHERE event_type = '{event}'")
            ),
            1,
            "{event}"
        );
    }
    // Another member cannot read it; another brand's staff neither.
    let other = app.token("atlas", "member2").await;
    assert_eq!(
        app.get_status(Some("atlas"), &format!("/api/v1/memberships/{id}"), &other)
            .await,
        404
    );
    let lumiere = app.token("lumiere", "admin").await;
    assert_eq!(
        app.get_status(
            Some("lumiere"),
            &format!("/api/v1/memberships/{id}"),
            &lumiere
        )
        .await,
        404
    );
}

#[tokio::test]
async fn a_member_cancels_online_in_three_requests() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let staff = app.token("atlas", "staff").await;
    let (_, plan) = app
        .post_json(
            Some("atlas"),
            "/api/v1/plans",
            Some(&admin),
            &monthly_plan("monthly-12"),
        )
        .await;
    let member = member_id(&app, "member").await;
    let sold = sell(&app, &staff, &member, plan["id"].as_str().unwrap()).await;
    let id = sold["id"].as_str().unwrap();
    act(&app, &staff, id, "activate").await;
    let token = app.token("atlas", "member").await;

    // 1: the list, with the link.
    let (status, mine) = app
        .get_json(Some("atlas"), "/api/v1/me/memberships", &token)
        .await;
    assert_eq!(status, 200);
    let url = mine[0]["cancellation_url"].as_str().unwrap().to_owned();
    // 2: the terms, with the end date computed (12 months' commitment from today decides).
    let (status, quote) = app.get_json(Some("atlas"), &url, &token).await;
    assert_eq!(status, 200, "{quote}");
    let start = NaiveDate::parse_from_str(sold["starts_on"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let committed = add_months(start, 12);
    assert_eq!(quote["effective_on"], json!(committed), "{quote}");
    assert_eq!(quote["last_day"], json!(committed - Duration::days(1)));
    // 3: confirm.
    let (status, done) = app
        .post_json(
            Some("atlas"),
            &url,
            Some(&token),
            &json!({"reason": "moving"}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["membership"]["ends_on"], json!(committed));
    assert_eq!(
        done["membership"]["status"], "active",
        "it runs until its end date"
    );
    let (status, problem) = app
        .post_json(Some("atlas"), &url, Some(&token), &json!({}))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("already_cancelled"))
    );

    // The daily roll ends it on its date, not before.
    let roll = |on: NaiveDate| {
        app.cli(&[
            "memberships",
            "roll",
            "--tenant",
            "atlas",
            "--on",
            &on.to_string(),
        ])
    };
    let out = roll(committed - Duration::days(1));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, m) = app
        .get_json(Some("atlas"), &format!("/api/v1/memberships/{id}"), &staff)
        .await;
    assert_eq!(m["status"], "active");
    assert!(roll(committed).status.success());
    let (_, m) = app
        .get_json(Some("atlas"), &format!("/api/v1/memberships/{id}"), &staff)
        .await;
    assert_eq!(m["status"], "cancelled");
    assert!(
        roll(committed).status.success(),
        "a second run changes nothing"
    );
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM membership_history WHERE action = 'cancel'"
        ),
        1
    );
}

/// `d` plus `months` calendar months, clamped to the month's end (chrono's own arithmetic, not Tessera's).
fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(months)).unwrap()
}

#[tokio::test]
async fn sales_refuse_bad_input_and_write_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let staff = app.token("atlas", "staff").await;
    let (_, plan) = app
        .post_json(
            Some("atlas"),
            "/api/v1/plans",
            Some(&admin),
            &monthly_plan("monthly-12"),
        )
        .await;
    let member = member_id(&app, "member").await;
    let before = count(&app.db.url, "SELECT count(*) FROM memberships");
    let yesterday = Utc::now().date_naive() - Duration::days(2);
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/memberships",
            Some(&staff),
            &json!({"member_id": member, "plan_id": plan["id"], "starts_on": yesterday}),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["code"].as_str()),
        (422, Some("in_past"))
    );
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/memberships",
            Some(&staff),
            &json!({"member_id": "acc_nobody", "plan_id": plan["id"]}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/memberships",
            Some(&staff),
            &json!({"member_id": member, "plan_id": "pln_nothing"}),
        )
        .await;
    assert_eq!(status, 404);
    let member_token = app.token("atlas", "member").await;
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/memberships",
            Some(&member_token),
            &json!({"member_id": member, "plan_id": plan["id"]}),
        )
        .await;
    assert_eq!(status, 403, "members buy online, not at the desk");
    assert_eq!(
        count(&app.db.url, "SELECT count(*) FROM memberships"),
        before
    );
    let (status, _) = app
        .send_json(
            Method::PATCH,
            Some("atlas"),
            &format!("/api/v1/plans/{}", plan["id"].as_str().unwrap()),
            Some(&admin),
            &json!({"status": "retired"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/memberships",
            Some(&staff),
            &json!({"member_id": member, "plan_id": plan["id"]}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("plan_not_on_sale"))
    );
}
