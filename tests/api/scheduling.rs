//! Scheduling, black-box: locations, rooms, services, pros' hours and slots (across the Paris daylight-saving
//! changes), appointments, bad input, attendance, timesheets, dashboards and calendar feeds. Class bookings under
//! contention are in `scheduling_classes.rs`.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use tessera_tests::{count, execute, query_column, TestApp};

/// What [`setup`] made in a brand.
pub struct Fixture {
    pub tenant_id: String,
    pub admin: String,
    pub coach: String,
    pub location: String,
    pub studio: String,
    pub service: String,
    pub schedule: String,
    pub session: String,
}

/// An account id by e-mail, read from the database.
pub fn account_id(app: &TestApp, email: &str) -> String {
    query_column(
        &app.db.url,
        &format!("SELECT id AS v FROM accounts WHERE email = '{email}'"),
    )[0]
    .clone()
    .unwrap()
}

/// A brand with a Paris location (a studio of 30 and a treatment room of 1), its coach working every day
/// 08:00-20:00, a 60-minute personal training service (15 minutes' buffer after, 60 EUR) and a weekly yoga
/// class at 12:00 with 10 places, whose first session is one to two days ahead.
pub async fn setup(app: &TestApp, brand: &'static str) -> Fixture {
    let admin = app.token(brand, "admin").await;
    let tenant_id = query_column(
        &app.db.url,
        &format!("SELECT id AS v FROM tenants WHERE slug = '{brand}'"),
    )[0]
    .clone()
    .unwrap();
    let coach = account_id(app, &format!("coach@{brand}.test"));
    let (status, location) = app
        .post_json(
            Some(brand),
            "/api/v1/locations",
            Some(&admin),
            &json!({"name": "Centre", "address": "1 rue de Paris", "time_zone": "Europe/Paris"}),
        )
        .await;
    assert_eq!(status, 201, "{location}");
    let location = location["id"].as_str().unwrap().to_owned();
    let mut rooms = Vec::new();
    for (name, capacity) in [("Studio", 30), ("Treatment", 1)] {
        let (status, room) = app
            .post_json(
                Some(brand),
                &format!("/api/v1/locations/{location}/rooms"),
                Some(&admin),
                &json!({"name": name, "capacity": capacity}),
            )
            .await;
        assert_eq!(status, 201, "{room}");
        rooms.push(room["id"].as_str().unwrap().to_owned());
    }
    let week: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "start": "08:00", "end": "20:00", "location_id": location}))
        .collect();
    let (status, hours) = app
        .send_json(
            reqwest::Method::PUT,
            Some(brand),
            &format!("/api/v1/pros/{coach}/hours"),
            Some(&admin),
            &json!({"hours": week}),
        )
        .await;
    assert_eq!(status, 200, "{hours}");
    let (status, service) = app
        .post_json(
            Some(brand),
            "/api/v1/services",
            Some(&admin),
            &json!({"name": "Personal training", "duration_minutes": 60, "buffer_after_minutes": 15,
                    "price": {"amount": 6000, "currency": "EUR"}, "pro_ids": [coach]}),
        )
        .await;
    assert_eq!(status, 201, "{service}");
    // The class is on the weekday of the day after tomorrow, so that its first session is a day or two ahead.
    let weekday = chrono::Datelike::weekday(&(Utc::now() + Duration::days(2))).number_from_monday();
    let (status, schedule) = app
        .post_json(
            Some(brand),
            "/api/v1/class-schedules",
            Some(&admin),
            &json!({"class_type": "yoga", "pro_id": coach, "room_id": rooms[0], "capacity": 10, "weekday": weekday,
                    "start_time": "12:00", "duration_minutes": 60, "valid_from": Utc::now().date_naive().to_string()}),
        )
        .await;
    assert_eq!(status, 201, "{schedule}");
    assert!(
        schedule["sessions_generated"].as_u64().unwrap() >= 4,
        "{schedule}"
    );
    let schedule = schedule["id"].as_str().unwrap().to_owned();
    let session = query_column(
        &app.db.url,
        &format!(
            "SELECT id AS v FROM class_sessions WHERE schedule_id = '{schedule}' AND starts_at > '{}' ORDER BY starts_at LIMIT 1",
            sql_time(Utc::now() + Duration::hours(20))
        ),
    )[0]
    .clone()
    .unwrap();
    Fixture {
        tenant_id,
        admin,
        coach,
        location,
        studio: rooms[0].clone(),
        service: service["id"].as_str().unwrap().to_owned(),
        schedule,
        session,
    }
}

/// SQL text of a UTC time, for both backends.
pub fn sql_time(at: chrono::DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Writes an appointment straight into the database (for tests that do not exercise booking itself).
pub fn insert_appointment(
    app: &TestApp,
    f: &Fixture,
    member: &str,
    start: chrono::DateTime<Utc>,
) -> String {
    let id = format!("apt_{}", ulid::Ulid::new().to_string().to_lowercase());
    let (s, e) = (sql_time(start), sql_time(start + Duration::hours(1)));
    let now = sql_time(Utc::now());
    execute(
        &app.db.url,
        &format!(
            "INSERT INTO appointments (tenant_id, id, service_id, pro_id, member_id, location_id, room_id, starts_at, ends_at, \
             block_start, block_end, status, price_amount, price_currency, membership_id, fee_amount, fee_currency, created_by, \
             created_at, updated_at, cancelled_at, attendance_at) VALUES ('{}', '{id}', '{}', '{}', '{member}', '{}', NULL, '{s}', '{e}', \
             '{s}', '{e}', 'booked', 6000, 'EUR', NULL, NULL, NULL, '{member}', '{now}', '{now}', NULL, NULL)",
            f.tenant_id, f.service, f.coach, f.location
        ),
    );
    id
}

/// Writes a class booking straight into the database.
pub fn insert_class_booking(
    app: &TestApp,
    f: &Fixture,
    session: &str,
    member: &str,
    seq: i64,
) -> String {
    let id = format!("bkg_{}", ulid::Ulid::new().to_string().to_lowercase());
    let now = sql_time(Utc::now());
    execute(
        &app.db.url,
        &format!(
            "INSERT INTO class_bookings (tenant_id, id, session_id, member_id, status, seq, membership_id, consumed, price_amount, \
             price_currency, fee_amount, fee_currency, created_by, created_at, updated_at, cancelled_at, checked_in_at) VALUES \
             ('{}', '{id}', '{session}', '{member}', 'booked', {seq}, NULL, FALSE, 0, 'EUR', NULL, NULL, '{member}', '{now}', '{now}', NULL, NULL)",
            f.tenant_id
        ),
    );
    id
}

#[tokio::test]
async fn scheduling_slots_follow_the_paris_daylight_saving_changes() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    // Weekend hours 09:00-11:00 local.
    let week = json!({"hours": [
        {"weekday": 6, "start": "09:00", "end": "11:00", "location_id": f.location},
        {"weekday": 7, "start": "09:00", "end": "11:00", "location_id": f.location},
    ]});
    let (status, _) = app
        .send_json(
            reqwest::Method::PUT,
            Some("atlas"),
            &format!("/api/v1/pros/{}/hours", f.coach),
            Some(&f.admin),
            &week,
        )
        .await;
    assert_eq!(status, 200);
    let member = app.token("atlas", "member").await;
    // The next changes in the future: 28 March 2027 (spring forward) and 31 October 2027 (fall back).
    for (from, to, expected) in [
        (
            "2027-03-27",
            "2027-03-28",
            ["2027-03-27T08:00:00Z", "2027-03-28T07:00:00Z"],
        ),
        (
            "2027-10-30",
            "2027-10-31",
            ["2027-10-30T07:00:00Z", "2027-10-31T08:00:00Z"],
        ),
    ] {
        let (status, slots) = app
            .get_json(
                Some("atlas"),
                &format!(
                    "/api/v1/services/{}/slots?from={from}&to={to}&pro={}",
                    f.service, f.coach
                ),
                &member,
            )
            .await;
        assert_eq!(status, 200, "{slots}");
        let starts: Vec<&str> = slots["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["start"].as_str().unwrap())
            .collect();
        // 09:00, 09:15, 09:30, 09:45, 10:00 local each day (60 minutes must end by 11:00).
        assert_eq!(starts.len(), 10, "{slots}");
        assert_eq!(starts[0], expected[0], "{slots}");
        assert_eq!(starts[5], expected[1], "{slots}");
        assert_eq!(slots["data"][0]["end"].as_str().unwrap().len(), 20);
    }
    // An exception removes a day; an existing appointment (with its 15-minute buffer) removes the slots it meets.
    let week = json!({"hours": [{"weekday": 6, "start": "09:00", "end": "11:00", "location_id": f.location}],
                      "exceptions": [{"from": "2027-03-20", "until": "2027-03-20", "reason": "leave"}]});
    app.send_json(
        reqwest::Method::PUT,
        Some("atlas"),
        &format!("/api/v1/pros/{}/hours", f.coach),
        Some(&f.admin),
        &week,
    )
    .await;
    let member_id = account_id(&app, "member@atlas.test");
    insert_appointment(
        &app,
        &f,
        &member_id,
        "2027-03-27T09:45:00Z".parse().unwrap(),
    );
    let (_, slots) = app
        .get_json(
            Some("atlas"),
            &format!(
                "/api/v1/services/{}/slots?from=2027-03-20&to=2027-03-27",
                f.service
            ),
            &member,
        )
        .await;
    let starts: Vec<&str> = slots["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap())
        .collect();
    // 20 March is off; on 27 March the appointment at 09:45Z leaves the slots whose hour and 15-minute buffer
    // end by 09:45Z.
    assert_eq!(
        starts,
        [
            "2027-03-27T08:00:00Z",
            "2027-03-27T08:15:00Z",
            "2027-03-27T08:30:00Z"
        ],
        "{slots}"
    );
}

#[tokio::test]
async fn scheduling_bad_input_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    let url = &app.db.url;
    let before = (
        count(url, "SELECT count(*) FROM locations"),
        count(url, "SELECT count(*) FROM rooms"),
        count(url, "SELECT count(*) FROM pro_hours"),
        count(url, "SELECT count(*) FROM class_schedules"),
        count(url, "SELECT count(*) FROM appointments"),
    );
    let problem = |status: u16, body: &Value, field: &str, code: &str| {
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["code"], "validation_failed", "{body}");
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"));
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "expected {field}: {code} in {body}"
        );
    };
    // Unknown time zone.
    let (status, body) = app
        .post_json(
            Some("atlas"),
            "/api/v1/locations",
            Some(&f.admin),
            &json!({"name": "Mars", "time_zone": "Mars/Olympus"}),
        )
        .await;
    problem(status, &body, "time_zone", "unknown_time_zone");
    // Negative capacity.
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/locations/{}/rooms", f.location),
            Some(&f.admin),
            &json!({"name": "Void", "capacity": -3}),
        )
        .await;
    problem(status, &body, "capacity", "invalid_capacity");
    let (status, body) = app
        .post_json(
            Some("atlas"),
            "/api/v1/class-schedules",
            Some(&f.admin),
            &json!({"class_type": "yoga", "pro_id": f.coach, "room_id": f.studio, "capacity": -1, "weekday": 1,
                    "start_time": "12:00", "duration_minutes": 60, "valid_from": "2027-01-01"}),
        )
        .await;
    problem(status, &body, "capacity", "invalid_capacity");
    // End before start: working hours and a class schedule's validity.
    let (status, body) = app
        .send_json(
            reqwest::Method::PUT,
            Some("atlas"),
            &format!("/api/v1/pros/{}/hours", f.coach),
            Some(&f.admin),
            &json!({"hours": [{"weekday": 1, "start": "18:00", "end": "09:00", "location_id": f.location}]}),
        )
        .await;
    problem(status, &body, "hours[0].end", "end_before_start");
    let (status, body) = app
        .send_json(
            reqwest::Method::PUT,
            Some("atlas"),
            &format!("/api/v1/pros/{}/hours", f.coach),
            Some(&f.admin),
            &json!({"hours": [], "exceptions": [{"from": "2027-08-15", "until": "2027-08-01"}]}),
        )
        .await;
    problem(status, &body, "exceptions[0].until", "end_before_start");
    let (status, body) = app
        .post_json(
            Some("atlas"),
            "/api/v1/class-schedules",
            Some(&f.admin),
            &json!({"class_type": "yoga", "pro_id": f.coach, "room_id": f.studio, "capacity": 5, "weekday": 1,
                    "start_time": "12:00", "duration_minutes": 60, "valid_from": "2027-06-01", "valid_until": "2027-05-01"}),
        )
        .await;
    problem(status, &body, "valid_until", "end_before_start");
    let member = app.token("atlas", "member").await;
    let (status, body) = app
        .get_json(
            Some("atlas"),
            &format!(
                "/api/v1/services/{}/slots?from=2027-03-10&to=2027-03-01",
                f.service
            ),
            &member,
        )
        .await;
    problem(status, &body, "to", "end_before_start");
    // Booking in the past.
    let past = (Utc::now() - Duration::hours(3)).to_rfc3339();
    let (status, body) = app
        .post_json(
            Some("atlas"),
            "/api/v1/appointments",
            Some(&member),
            &json!({"service_id": f.service, "pro_id": f.coach, "starts_at": past}),
        )
        .await;
    problem(status, &body, "starts_at", "booking_in_past");
    // A class session that has started.
    execute(
        url,
        &format!(
            "UPDATE class_sessions SET starts_at = '{}' WHERE id = '{}'",
            sql_time(Utc::now() - Duration::minutes(5)),
            f.session
        ),
    );
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
        (409, Some("booking_in_past")),
        "{body}"
    );
    // Nothing was written.
    let after = (
        count(url, "SELECT count(*) FROM locations"),
        count(url, "SELECT count(*) FROM rooms"),
        count(url, "SELECT count(*) FROM pro_hours"),
        count(url, "SELECT count(*) FROM class_schedules"),
        count(url, "SELECT count(*) FROM appointments"),
    );
    assert_eq!(before, after);
    assert_eq!(count(url, "SELECT count(*) FROM class_bookings"), 0);
    // A member cannot manage the schedule.
    let (status, body) = app
        .post_json(
            Some("atlas"),
            "/api/v1/locations",
            Some(&member),
            &json!({"name": "Mine"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
}

#[tokio::test]
async fn scheduling_members_never_see_each_others_bookings() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    let one = account_id(&app, "member@atlas.test");
    let start = Utc::now() + Duration::days(3);
    let appointment = insert_appointment(&app, &f, &one, start);
    let booking = insert_class_booking(&app, &f, &f.session, &one, 1);
    let (member, member2) = (
        app.token("atlas", "member").await,
        app.token("atlas", "member2").await,
    );
    for path in [
        format!("/api/v1/appointments/{appointment}"),
        format!("/api/v1/class-bookings/{booking}"),
    ] {
        assert_eq!(
            app.get_status(Some("atlas"), &path, &member).await,
            200,
            "{path}"
        );
        let (status, body) = app.get_json(Some("atlas"), &path, &member2).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{path}: {body}"
        );
    }
    // Nor cancel them.
    for path in [
        format!("/api/v1/appointments/{appointment}/cancel"),
        format!("/api/v1/class-bookings/{booking}/cancel"),
    ] {
        let (status, _) = app
            .post_json(Some("atlas"), &path, Some(&member2), &json!({}))
            .await;
        assert_eq!(status, 404, "{path}");
    }
    // Their own lists hold only their own.
    let (_, mine) = app
        .get_json(Some("atlas"), "/api/v1/me/bookings", &member)
        .await;
    assert_eq!(mine["upcoming"].as_array().unwrap().len(), 2, "{mine}");
    let (_, theirs) = app
        .get_json(Some("atlas"), "/api/v1/me/bookings", &member2)
        .await;
    assert_eq!(theirs["upcoming"].as_array().unwrap().len(), 0, "{theirs}");
    // The desk reads a member's bookings as the member sees them; a member cannot read another's.
    let member_id = account_id(&app, "member@atlas.test");
    let staff = app.token("atlas", "staff").await;
    let (status, at_desk) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/members/{member_id}/bookings"),
            &staff,
        )
        .await;
    assert_eq!((status, &at_desk), (200, &mine));
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/members/{member_id}/bookings"),
            &member2
        )
        .await,
        403
    );
    // A member reads no session's list of attendees, nor the today view, nor a timesheet.
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/class-sessions/{}/bookings", f.session),
            &member
        )
        .await,
        403
    );
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/dashboard/today", &member)
            .await,
        403
    );
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/pros/{}/timesheet", f.coach),
            &member
        )
        .await,
        403
    );
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/pros/{}/agenda", f.coach),
            &member
        )
        .await,
        403
    );
    // The appointment's pro reads it, and the member cancels their own in time.
    let coach = app.token("atlas", "coach").await;
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/appointments/{appointment}"),
            &coach
        )
        .await,
        200
    );
    let (status, cancelled) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/appointments/{appointment}/cancel"),
            Some(&member),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM events WHERE event_type = 'booking.cancelled'"
        ),
        1
    );
}

#[tokio::test]
async fn scheduling_attendance_timesheet_agenda_and_today() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    let member_id = account_id(&app, "member@atlas.test");
    let coach = app.token("atlas", "coach").await;
    // An appointment that started half an hour ago, and one that has not started.
    let started = insert_appointment(&app, &f, &member_id, Utc::now() - Duration::minutes(30));
    let later = insert_appointment(&app, &f, &member_id, Utc::now() + Duration::days(2));
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/appointments/{later}/attendance"),
            Some(&coach),
            &json!({"present": true}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("session_not_started")),
        "{body}"
    );
    // Another pro may not confirm it; its own pro may.
    let staff = app.token("atlas", "staff").await;
    let member = app.token("atlas", "member").await;
    let (status, _) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/appointments/{started}/attendance"),
            Some(&member),
            &json!({"present": true}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/appointments/{started}/attendance"),
            Some(&coach),
            &json!({"present": true}),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("attended")),
        "{body}"
    );
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM events WHERE event_type = 'attendance.confirmed'"
        ),
        1
    );
    // A class session that started, with two attendees: one came, one did not.
    execute(
        &app.db.url,
        &format!(
            "UPDATE class_sessions SET starts_at = '{}', ends_at = '{}' WHERE id = '{}'",
            sql_time(Utc::now() - Duration::minutes(20)),
            sql_time(Utc::now() + Duration::minutes(40)),
            f.session
        ),
    );
    let b1 = insert_class_booking(&app, &f, &f.session, &member_id, 1);
    let b2 = insert_class_booking(
        &app,
        &f,
        &f.session,
        &account_id(&app, "member2@atlas.test"),
        2,
    );
    let (status, checked) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/class-bookings/{b1}/check-in"),
            Some(&member),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{checked}");
    assert!(checked["checked_in_at"].is_string());
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/class-sessions/{}/attendance", f.session),
            Some(&coach),
            &json!({"attendees": [{"booking_id": b1, "present": true}, {"booking_id": b2, "present": false}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][1]["status"], "no_show");
    // Clock in and out; the timesheet counts the confirmed appointment and class.
    let (status, _) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/pros/{}/clock-in", f.coach),
            Some(&coach),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/pros/{}/clock-in", f.coach),
            Some(&coach),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("already_clocked_in"))
    );
    let (status, out) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/pros/{}/clock-out", f.coach),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert!(out["clock_out_at"].is_string());
    let from = (Utc::now() - Duration::days(1)).date_naive();
    let to = (Utc::now() + Duration::days(1)).date_naive();
    let (status, sheet) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/pros/{}/timesheet?from={from}&to={to}", f.coach),
            &coach,
        )
        .await;
    assert_eq!(status, 200, "{sheet}");
    assert_eq!(
        (sheet["appointments"].as_i64(), sheet["classes"].as_i64()),
        (Some(1), Some(1)),
        "{sheet}"
    );
    assert_eq!(sheet["service_minutes"], 120, "{sheet}");
    assert_eq!(sheet["clock_entries"].as_array().unwrap().len(), 1);
    // Agenda of the pro and the today view of the desk.
    let (status, agenda) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/pros/{}/agenda", f.coach),
            &coach,
        )
        .await;
    assert_eq!(status, 200, "{agenda}");
    let (status, today) = app
        .get_json(Some("atlas"), "/api/v1/dashboard/today", &staff)
        .await;
    assert_eq!(status, 200, "{today}");
    // The appointment that started half an hour ago is in today's agenda and counts as attended today, unless it
    // started before local midnight (Paris is UTC+1 or +2).
    let in_agenda = agenda["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == started.as_str());
    let near_midnight = matches!(chrono::Timelike::hour(&Utc::now()), 21..=23);
    assert!(in_agenda || near_midnight, "{agenda}");
    if in_agenda {
        assert_eq!(today["appointments"]["attended"], 1, "{today}");
    }
    assert!(today["new_members"].is_i64(), "{today}");
}

#[tokio::test]
async fn scheduling_class_sessions_are_generated_once() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    let sessions = count(
        &app.db.url,
        &format!(
            "SELECT count(*) FROM class_sessions WHERE schedule_id = '{}'",
            f.schedule
        ),
    );
    let (status, body) = app
        .post_json(
            Some("atlas"),
            "/api/v1/class-schedules/generate",
            Some(&f.admin),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, body["sessions_generated"].as_i64()),
        (200, Some(0)),
        "{body}"
    );
    assert_eq!(
        count(
            &app.db.url,
            &format!(
                "SELECT count(*) FROM class_sessions WHERE schedule_id = '{}'",
                f.schedule
            )
        ),
        sessions
    );
    let member = app.token("atlas", "member").await;
    let (status, list) = app
        .get_json(Some("atlas"), "/api/v1/class-sessions?limit=2", &member)
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["data"].as_array().unwrap().len(), 2, "{list}");
    assert!(list["next_cursor"].is_string());
}

#[tokio::test]
async fn scheduling_calendar_feed_parses_as_icalendar() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    let member_id = account_id(&app, "member@atlas.test");
    insert_appointment(&app, &f, &member_id, Utc::now() + Duration::days(2));
    insert_class_booking(&app, &f, &f.session, &member_id, 1);
    let member = app.token("atlas", "member").await;
    let (status, feed) = app
        .post_json(
            Some("atlas"),
            "/api/v1/me/calendar-feed",
            Some(&member),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{feed}");
    let path = feed["path"].as_str().unwrap().to_owned();
    assert!(feed["url"].as_str().unwrap().ends_with(&path));
    // No bearer token: the URL is the secret.
    let response = app.get(Some("atlas"), &path).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let text = response.text().await.unwrap();
    let script = "import sys, icalendar\ncal = icalendar.Calendar.from_ical(sys.stdin.read())\n\
                  events = [c for c in cal.walk('VEVENT')]\n\
                  assert all(e.decoded('dtstart').tzinfo is not None for e in events)\nprint(len(events))";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "2",
        "{text}"
    );
    // The pro's feed shows the appointment and every session they teach.
    let coach = app.token("atlas", "coach").await;
    let (_, coach_feed) = app
        .post_json(
            Some("atlas"),
            "/api/v1/me/calendar-feed",
            Some(&coach),
            &json!({}),
        )
        .await;
    let coach_text = app
        .get(Some("atlas"), coach_feed["path"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        coach_text.matches("BEGIN:VEVENT").count() >= 3,
        "{coach_text}"
    );
    // Re-issuing revokes the old URL; another brand's host does not know it.
    let (_, again) = app
        .post_json(
            Some("atlas"),
            "/api/v1/me/calendar-feed",
            Some(&member),
            &json!({}),
        )
        .await;
    assert_ne!(again["path"], feed["path"]);
    assert_eq!(
        app.get(Some("atlas"), &path).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        app.get(Some("lumiere"), again["path"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.get(Some("atlas"), "/api/v1/calendar/nope.ics")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn scheduling_late_cancellations_and_no_shows_owe_the_brands_fees() {
    let app = TestApp::spawn().await;
    let f = setup(&app, "atlas").await;
    let member_id = account_id(&app, "member@atlas.test");
    let member = app.token("atlas", "member").await;
    // tenants/atlas.toml: late inside 24 hours, 10 EUR; no-show 15 EUR.
    let soon = insert_appointment(&app, &f, &member_id, Utc::now() + Duration::hours(2));
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/appointments/{soon}/cancel"),
            Some(&member),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "late_cancelled");
    assert_eq!(body["fee"], json!({"amount": 1000, "currency": "EUR"}));
    let event = query_column(
        &app.db.url,
        "SELECT data_json AS v FROM events WHERE event_type = 'booking.cancelled'",
    );
    let data: Value = serde_json::from_str(event[0].as_deref().unwrap()).unwrap();
    assert_eq!(data["late"], true);
    // Cancelling again, or cancelling what has started, is refused.
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/appointments/{soon}/cancel"),
            Some(&member),
            &json!({}),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("not_booked")));
    let started = insert_appointment(&app, &f, &member_id, Utc::now() - Duration::minutes(5));
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/appointments/{started}/cancel"),
            Some(&member),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("already_started"))
    );
    // The pro records a no-show: the fee is owed.
    let coach = app.token("atlas", "coach").await;
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/appointments/{started}/attendance"),
            Some(&coach),
            &json!({"present": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["fee"]["amount"].as_i64()),
        (Some("no_show"), Some(1500))
    );
    // A class place cancelled in time owes nothing.
    let booking = insert_class_booking(&app, &f, &f.session, &member_id, 1);
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/class-bookings/{booking}/cancel"),
            Some(&member),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("cancelled")),
        "{body}"
    );
    assert!(body["fee"].is_null());
}
