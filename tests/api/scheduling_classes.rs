//! Class bookings and appointments under contention, waitlist promotion and entitlements. Each request passes
//! through `memberships::entitlement`, so members get a plan first through the memberships API.

use std::time::Instant;

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use tessera_tests::{count, execute, query_column, TestApp};

use crate::scheduling::{account_id, setup, Fixture};

/// Enrols `n` walk-in members at the desk (`POST /api/v1/members`, 25 at a time) and returns their ids; they have
/// no login: the desk books for them.
async fn create_members(app: &TestApp, f: &Fixture, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let all: Vec<usize> = (0..n).collect();
    for chunk in all.chunks(25) {
        let enrolments = chunk.iter().map(|i| {
            let admin = f.admin.clone();
            async move {
                let body = json!({"given_name": format!("Load{i}"), "family_name": "Tester"});
                let (status, member) = app
                    .post_json(Some("atlas"), "/api/v1/members", Some(&admin), &body)
                    .await;
                assert_eq!(status, 201, "{member}");
                member["id"].as_str().unwrap().to_owned()
            }
        });
        ids.extend(futures::future::join_all(enrolments).await);
    }
    ids
}

/// Gives each member an active membership of a new plan that includes `class_types` (through the plans and
/// memberships API: sell, then activate as the desk does once the first payment is in).
async fn grant_plan(app: &TestApp, f: &Fixture, members: &[String], class_types: &[&str]) {
    let mut plan = crate::memberships::monthly_plan(&format!(
        "sched-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    ));
    plan["access"] = json!({"class_types": class_types});
    let (status, plan) = app
        .post_json(Some("atlas"), "/api/v1/plans", Some(&f.admin), &plan)
        .await;
    assert_eq!(status, 201, "{plan}");
    let plan_id = plan["id"].as_str().unwrap().to_owned();
    for chunk in members.chunks(25) {
        let sales = chunk.iter().map(|member| {
            let (plan_id, admin) = (plan_id.clone(), f.admin.clone());
            async move {
                let (status, sold) = app
                    .post_json(
                        Some("atlas"),
                        "/api/v1/memberships",
                        Some(&admin),
                        &json!({"member_id": member, "plan_id": plan_id}),
                    )
                    .await;
                assert_eq!(status, 201, "{sold}");
                let path = format!(
                    "/api/v1/memberships/{}/actions",
                    sold["id"].as_str().unwrap()
                );
                let (status, active) = app
                    .post_json(
                        Some("atlas"),
                        &path,
                        Some(&admin),
                        &json!({"action": "activate"}),
                    )
                    .await;
                assert_eq!(
                    (status, active["status"].as_str()),
                    (200, Some("active")),
                    "{active}"
                );
            }
        });
        futures::future::join_all(sales).await;
    }
}

#[tokio::test]
async fn scheduling_two_hundred_concurrent_requests_for_the_last_ten_places() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    // 30 places, 20 already taken: 10 left. The brand's waitlist holds 20 (tenants/atlas.toml).
    execute(
        &app.db.url,
        &format!(
            "UPDATE class_sessions SET capacity = 30 WHERE id = '{}'",
            f.session
        ),
    );
    let members = create_members(&app, &f, 220).await;
    for (i, member) in members[..20].iter().enumerate() {
        crate::scheduling::insert_class_booking(&app, &f, &f.session, member, i as i64 + 1);
    }
    execute(
        &app.db.url,
        &format!(
            "UPDATE class_sessions SET next_seq = 21 WHERE id = '{}'",
            f.session
        ),
    );
    grant_plan(&app, &f, &members[20..], &["yoga"]).await;
    let started = Instant::now();
    let requests = members[20..].iter().map(|member| {
        let (app, path, admin) = (
            &app,
            format!("/api/v1/class-sessions/{}/bookings", f.session),
            f.admin.clone(),
        );
        let body = json!({"member_id": member});
        async move {
            app.post_json(Some("atlas"), &path, Some(&admin), &body)
                .await
        }
    });
    let answers: Vec<(u16, Value)> = futures::future::join_all(requests).await;
    let elapsed = started.elapsed();
    println!(
        "200 concurrent class bookings answered in {} ms",
        elapsed.as_millis()
    );
    let booked = answers
        .iter()
        .filter(|(s, b)| *s == 201 && b["status"] == "booked")
        .count();
    let mut positions: Vec<i64> = answers
        .iter()
        .filter(|(s, b)| *s == 201 && b["status"] == "waitlisted")
        .map(|(_, b)| b["waitlist_position"].as_i64().unwrap())
        .collect();
    let full = answers
        .iter()
        .filter(|(s, b)| *s == 409 && b["code"] == "class_full")
        .count();
    assert_eq!(
        (booked, positions.len(), full),
        (10, 20, 170),
        "{:?}",
        answers.iter().find(|(s, _)| *s >= 500)
    );
    positions.sort_unstable();
    assert_eq!(
        positions,
        (1..=20).collect::<Vec<_>>(),
        "waitlist positions are 1..20, each once"
    );
    let session = &f.session;
    assert_eq!(count(&app.db.url, &format!("SELECT count(*) FROM class_bookings WHERE session_id = '{session}' AND status = 'booked'")), 30);
    assert_eq!(count(&app.db.url, &format!("SELECT count(*) FROM class_bookings WHERE session_id = '{session}' AND status = 'waitlisted'")), 20);
    // Positions follow the order in which requests took the session (their sequence numbers).
    let by_seq = query_column(
        &app.db.url,
        &format!("SELECT id AS v FROM class_bookings WHERE session_id = '{session}' AND status = 'waitlisted' ORDER BY seq"),
    );
    for (i, id) in by_seq.iter().enumerate() {
        let answer = answers
            .iter()
            .find(|(_, b)| b["id"].as_str() == id.as_deref())
            .unwrap();
        assert_eq!(answer.1["waitlist_position"].as_i64(), Some(i as i64 + 1));
    }
}

#[tokio::test]
async fn scheduling_fifty_concurrent_requests_for_one_pro_slot_make_one_appointment() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    let members = create_members(&app, &f, 50).await;
    grant_plan(&app, &f, &members, &["yoga"]).await;
    let start = (Utc::now() + Duration::days(5))
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc();
    let requests = members.iter().map(|member| {
        let (app, admin) = (&app, f.admin.clone());
        let body = json!({"service_id": f.service, "pro_id": f.coach, "starts_at": start.to_rfc3339(), "member_id": member});
        async move { app.post_json(Some("atlas"), "/api/v1/appointments", Some(&admin), &body).await }
    });
    let answers: Vec<(u16, Value)> = futures::future::join_all(requests).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    let busy = answers
        .iter()
        .filter(|(s, b)| *s == 409 && b["code"] == "pro_unavailable")
        .count();
    assert_eq!(
        (created, busy),
        (1, 49),
        "{:?}",
        answers.iter().find(|(s, _)| *s != 201 && *s != 409)
    );
    assert_eq!(count(&app.db.url, "SELECT count(*) FROM appointments"), 1);
    // A slot that overlaps it through the buffer is refused too; the next free one is accepted.
    let (status, body) = app
        .post_json(Some("atlas"), "/api/v1/appointments", Some(&f.admin),
            &json!({"service_id": f.service, "pro_id": f.coach, "starts_at": (start + Duration::minutes(70)).to_rfc3339(), "member_id": members[1]}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("pro_unavailable")),
        "{body}"
    );
    let (status, body) = app
        .post_json(Some("atlas"), "/api/v1/appointments", Some(&f.admin),
            &json!({"service_id": f.service, "pro_id": f.coach, "starts_at": (start + Duration::minutes(75)).to_rfc3339(), "member_id": members[1]}))
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn scheduling_a_cancelled_place_promotes_the_first_waitlisted_member() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    execute(
        &app.db.url,
        &format!(
            "UPDATE class_sessions SET capacity = 1 WHERE id = '{}'",
            f.session
        ),
    );
    let (one, two) = (
        account_id(&app, "member@atlas.test"),
        account_id(&app, "member2@atlas.test"),
    );
    grant_plan(&app, &f, &[one.clone(), two.clone()], &["yoga"]).await;
    let (member, member2) = (
        app.token("atlas", "member").await,
        app.token("atlas", "member2").await,
    );
    let path = format!("/api/v1/class-sessions/{}/bookings", f.session);
    let (status, first) = app
        .post_json(Some("atlas"), &path, Some(&member), &json!({}))
        .await;
    assert_eq!(
        (status, first["status"].as_str()),
        (201, Some("booked")),
        "{first}"
    );
    let (status, second) = app
        .post_json(Some("atlas"), &path, Some(&member2), &json!({}))
        .await;
    assert_eq!(
        (
            status,
            second["status"].as_str(),
            second["waitlist_position"].as_i64()
        ),
        (201, Some("waitlisted"), Some(1)),
        "{second}"
    );
    let mut live = app.events("atlas", &member2).await;
    let (status, cancelled) = app
        .post_json(
            Some("atlas"),
            &format!(
                "/api/v1/class-bookings/{}/cancel",
                first["id"].as_str().unwrap()
            ),
            Some(&member),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    let event = live
        .wait_for("booking.promoted", std::time::Duration::from_secs(10))
        .await
        .expect("booking.promoted on the live stream");
    assert_eq!(event["data"]["booking_id"], second["id"]);
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM events WHERE event_type = 'booking.promoted'"
        ),
        1
    );
    let (_, now_booked) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/class-bookings/{}", second["id"].as_str().unwrap()),
            &member2,
        )
        .await;
    assert_eq!(now_booked["status"], "booked");
}

#[tokio::test]
async fn scheduling_a_class_the_plan_does_not_include_is_refused() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    let one = account_id(&app, "member@atlas.test");
    grant_plan(&app, &f, &[one], &["hiit"]).await;
    let member = app.token("atlas", "member").await;
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/class-sessions/{}/bookings", f.session),
            Some(&member),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("class_not_included")),
        "{body}"
    );
    assert_eq!(count(&app.db.url, "SELECT count(*) FROM class_bookings"), 0);
    let _ = Utc::now();
}

#[tokio::test]
async fn scheduling_a_retried_booking_with_the_same_idempotency_key_takes_one_place() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    let one = account_id(&app, "member@atlas.test");
    grant_plan(&app, &f, std::slice::from_ref(&one), &["yoga"]).await;
    let member = app.token("atlas", "member").await;
    let path = format!("/api/v1/class-sessions/{}/bookings", f.session);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = app
            .post(Some("atlas"), &path)
            .bearer_auth(&member)
            .header("idempotency-key", "book-yoga-once")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let (status, body) = tessera_tests::json(response).await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(count(&app.db.url, "SELECT count(*) FROM class_bookings"), 1);
    // Without the key, a second request is refused: the member already has the place.
    let (status, body) = app
        .post_json(Some("atlas"), &path, Some(&member), &json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("already_booked")),
        "{body}"
    );
    // An appointment booked by the member records the list price (no plan includes the service).
    let start = (Utc::now() + Duration::days(4))
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc();
    let (status, appointment) = app
        .post_json(
            Some("atlas"),
            "/api/v1/appointments",
            Some(&member),
            &json!({"service_id": f.service, "pro_id": f.coach, "starts_at": start.to_rfc3339()}),
        )
        .await;
    assert_eq!(status, 201, "{appointment}");
    assert_eq!(
        appointment["price"],
        json!({"amount": 6000, "currency": "EUR"})
    );
    assert_eq!(appointment["member_id"], one.as_str());
    // Moved an hour later, then cancelled in time: no fee.
    let (status, moved) = app
        .post_json(
            Some("atlas"),
            &format!(
                "/api/v1/appointments/{}/reschedule",
                appointment["id"].as_str().unwrap()
            ),
            Some(&member),
            &json!({"starts_at": (start + Duration::hours(2)).to_rfc3339()}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM events WHERE event_type = 'booking.rescheduled'"
        ),
        1
    );
    // Outside the pro's hours (they work 08:00-20:00 Paris).
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!(
                "/api/v1/appointments/{}/reschedule",
                appointment["id"].as_str().unwrap()
            ),
            Some(&member),
            &json!({"starts_at": (start + Duration::hours(14)).to_rfc3339()}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("outside_working_hours")),
        "{body}"
    );
}

#[tokio::test]
async fn scheduling_concurrent_appointments_never_overfill_a_room() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    // A second pro, with the same hours as the coach.
    let (status, invited) = app
        .post_json(Some("atlas"), "/api/v1/staff", Some(&f.admin),
            &json!({"email": "physio@atlas.test", "display_name": "Physio", "roles": ["pro"], "specialty": "therapist"}))
        .await;
    assert_eq!(status, 201, "{invited}");
    let physio = invited["staff"]["id"].as_str().unwrap().to_owned();
    let week: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "start": "08:00", "end": "20:00", "location_id": f.location}))
        .collect();
    let (status, _) = app
        .send_json(
            reqwest::Method::PUT,
            Some("atlas"),
            &format!("/api/v1/pros/{physio}/hours"),
            Some(&f.admin),
            &json!({"hours": week}),
        )
        .await;
    assert_eq!(status, 200);
    // A service in the one-person treatment room, delivered by both pros.
    let room = query_column(
        &app.db.url,
        &format!(
            "SELECT id AS v FROM rooms WHERE location_id = '{}' AND capacity = 1",
            f.location
        ),
    )[0]
    .clone()
    .unwrap();
    let (status, service) = app
        .post_json(Some("atlas"), "/api/v1/services", Some(&f.admin),
            &json!({"name": "Physio", "duration_minutes": 30, "price": {"amount": 4500, "currency": "EUR"},
                    "pro_ids": [f.coach, physio], "room_id": room}))
        .await;
    assert_eq!(status, 201, "{service}");
    let members = create_members(&app, &f, 20).await;
    grant_plan(&app, &f, &members, &["yoga"]).await;
    let start = (Utc::now() + Duration::days(6))
        .date_naive()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc();
    let requests = members.iter().enumerate().map(|(i, member)| {
        let pro = if i % 2 == 0 { f.coach.clone() } else { physio.clone() };
        let body = json!({"service_id": service["id"], "pro_id": pro, "starts_at": start.to_rfc3339(), "member_id": member});
        let (app, admin) = (&app, f.admin.clone());
        async move { app.post_json(Some("atlas"), "/api/v1/appointments", Some(&admin), &body).await }
    });
    let answers: Vec<(u16, Value)> = futures::future::join_all(requests).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused: Vec<&str> = answers
        .iter()
        .filter(|(s, _)| *s == 409)
        .map(|(_, b)| b["code"].as_str().unwrap())
        .collect();
    assert_eq!((created, refused.len()), (1, 19), "{answers:?}");
    assert!(
        refused.contains(&"room_full"),
        "the other pro finds the room full: {refused:?}"
    );
    assert!(
        refused
            .iter()
            .all(|c| *c == "room_full" || *c == "pro_unavailable"),
        "{refused:?}"
    );
    assert_eq!(
        count(
            &app.db.url,
            &format!("SELECT count(*) FROM appointments WHERE room_id = '{room}'")
        ),
        1
    );
}

#[tokio::test]
async fn scheduling_a_member_with_a_past_due_or_suspended_membership_cannot_book() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    let one = account_id(&app, "member@atlas.test");
    grant_plan(&app, &f, std::slice::from_ref(&one), &["yoga"]).await;
    let member = app.token("atlas", "member").await;
    let start = (Utc::now() + Duration::days(5))
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc();
    let book_class = || {
        let (app, member, path) = (
            &app,
            member.clone(),
            format!("/api/v1/class-sessions/{}/bookings", f.session),
        );
        async move {
            app.post_json(Some("atlas"), &path, Some(&member), &json!({}))
                .await
        }
    };
    let appointment = json!({"service_id": f.service, "pro_id": f.coach, "starts_at": start.to_rfc3339(), "member_id": one});
    // Billing's dunning moved the membership (the run sets these statuses; written here directly).
    for status in ["past_due", "suspended"] {
        execute(
            &app.db.url,
            &format!("UPDATE memberships SET status = '{status}' WHERE account_id = '{one}'"),
        );
        let (code, body) = book_class().await;
        assert_eq!(
            (code, body["code"].as_str()),
            (409, Some("payment_overdue")),
            "{status}: {body}"
        );
        let (code, body) = app
            .post_json(
                Some("atlas"),
                "/api/v1/appointments",
                Some(&f.admin),
                &appointment,
            )
            .await;
        assert_eq!(
            (code, body["code"].as_str()),
            (409, Some("payment_overdue")),
            "{status}: {body}"
        );
    }
    assert_eq!(count(&app.db.url, "SELECT count(*) FROM class_bookings"), 0);
    assert_eq!(count(&app.db.url, "SELECT count(*) FROM appointments"), 0);
    // Paid up (reinstated): both are accepted again.
    execute(
        &app.db.url,
        &format!("UPDATE memberships SET status = 'active' WHERE account_id = '{one}'"),
    );
    let (code, body) = book_class().await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = app
        .post_json(
            Some("atlas"),
            "/api/v1/appointments",
            Some(&f.admin),
            &appointment,
        )
        .await;
    assert_eq!(code, 201, "{body}");
}
