//! Tenant isolation, driven by the OpenAPI document: every tenant-scoped route is exercised by one brand's admin
//! against another brand's ids and lists. A route that this test does not know how to classify fails it, so new
//! routes cannot slip past.

use serde_json::{json, Value};
use tessera_tests::{json, query_column, TestApp};

/// Routes that are not tenant-scoped data: health, docs, keys and the token endpoints.
const PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/.well-known/jwks.json",
    "/api/v1/openapi.json",
    "/metrics",
    "/api/v1/events/types",
    // Signed download links: no bearer token; the signed token names its tenant (tests/api/storage.rs).
    "/api/v1/files/download",
    // Calendar feeds: no bearer token; the secret token is looked up in the host's brand only
    // (tests/api/scheduling.rs checks another brand's host does not know it).
    "/api/v1/calendar/{file}",
    // Stripe's webhook: no bearer token; the signature is checked with the host's brand's secret only
    // (tests/api/billing_stripe.rs checks another brand's signature is refused).
    "/api/v1/payments/stripe/webhook",
];
/// Routes with a test of their own: the live-event WebSocket (tests/api/events.rs checks a brand's token is
/// refused on another brand's host and that events never cross brands).
/// The caller's own member profile (tests/api/members.rs: a member reads and edits only their own; an admin
/// has no member profile).
/// Device routes and access reports (tests/api/devices.rs, `device_and_access_routes_stay_in_their_brand`: a door's
/// credential is refused on another brand's host, another brand's location is not found, decisions are listed only
/// in their brand).
const OWN_TEST: &[&str] = &[
    "/api/v1/events/ws",
    "/api/v1/me/profile",
    "/api/v1/device",
    "/api/v1/access/allowlist",
    "/api/v1/access/events",
    "/api/v1/access/occupancy",
    "/api/v1/access/occupancy/peaks",
    // Body measurements (tests/api/body.rs: an unmatched measurement is listed in its brand only; a measurement
    // id of another brand is not found).
    "/api/v1/body-measurements/unmatched",
    "/api/v1/body-measurements/{id}/match",
    "/api/v1/body-measurements/{id}/report",
];
const PUBLIC_PREFIXES: &[&str] = &["/api/v1/auth/"];
/// Routes of the group realm only.
const GROUP_ONLY: &[&str] = &["/api/v1/tenants", "/api/v1/tenants/{slug}"];

/// A body each tenant-scoped write route accepts, so that a 404 means "not found" and not "bad input".
fn body_for(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("patch", "/api/v1/staff/{id}") => {
            Some(json!({"display_name": "Renamed by another brand"}))
        }
        ("post", "/api/v1/staff") => Some(
            json!({"email": "isolation@probe.test", "display_name": "Probe", "roles": ["staff"]}),
        ),
        ("post", "/api/v1/staff/{id}/deactivate") => None,
        ("post", "/api/v1/me/email-verification") => None,
        ("post", "/api/v1/webhook-endpoints") => {
            Some(json!({"url": "https://hooks.example.com/probe", "event_types": ["*"]}))
        }
        ("patch", "/api/v1/webhook-endpoints/{id}") => {
            Some(json!({"url": "https://hooks.example.com/moved"}))
        }
        ("delete", "/api/v1/webhook-endpoints/{id}") => None,
        ("post", "/api/v1/accounts/{id}/erasure") => {
            Some(json!({"reason": "probe from another brand"}))
        }
        ("post", "/api/v1/webhook-endpoints/{id}/rotate-secret") => None,
        ("post", "/api/v1/webhook-endpoints/{id}/ping") => None,
        ("post", "/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/resend") => None,
        ("post", "/api/v1/files") => None,
        ("post", "/api/v1/files/{id}/download-url") => Some(json!({})),
        ("delete", "/api/v1/files/{id}") => None,
        // Scheduling.
        ("post", "/api/v1/locations") => Some(json!({"name": "Probe"})),
        ("post", "/api/v1/locations/{id}/rooms") => Some(json!({"name": "Probe", "capacity": 1})),
        ("post", "/api/v1/services") => None,
        ("patch", "/api/v1/services/{id}") => Some(json!({"active": true})),
        ("put", "/api/v1/pros/{id}/hours") => Some(json!({"hours": []})),
        ("post", "/api/v1/pros/{id}/clock-in" | "/api/v1/pros/{id}/clock-out") => None,
        ("post", "/api/v1/appointments") => None,
        ("post", "/api/v1/appointments/{id}/reschedule") => {
            Some(json!({"starts_at": "2030-01-07T10:00:00Z"}))
        }
        ("post", "/api/v1/appointments/{id}/cancel") => None,
        ("post", "/api/v1/appointments/{id}/attendance") => Some(json!({"present": true})),
        ("post", "/api/v1/class-schedules" | "/api/v1/class-schedules/generate") => None,
        ("post", "/api/v1/class-sessions/{id}/bookings") => Some(json!({})),
        ("post", "/api/v1/class-sessions/{id}/attendance") => Some(json!({"attendees": []})),
        ("post", "/api/v1/class-bookings/{id}/cancel" | "/api/v1/class-bookings/{id}/check-in") => {
            None
        }
        ("post", "/api/v1/me/calendar-feed") => None,
        ("post", "/api/v1/members") => {
            Some(json!({"given_name": "Probe", "family_name": "Walk-in"}))
        }
        ("post", "/api/v1/members/signup") => Some(
            json!({"email": "signup@probe.test", "password": "isolation-probe-2026", "given_name": "Probe", "family_name": "Signup"}),
        ),
        ("patch", "/api/v1/members/{id}") => {
            Some(json!({"given_name": "Renamed by another brand"}))
        }
        ("post", "/api/v1/members/{id}/notes") => Some(json!({"body": "probe from another brand"})),
        ("post", "/api/v1/members/{id}/dependants" | "/api/v1/me/dependants") => {
            Some(json!({"given_name": "Probe", "family_name": "Minor", "birth_date": "2016-01-01"}))
        }
        ("patch", "/api/v1/me/profile") => Some(json!({})),
        ("post", "/api/v1/plans") => Some(crate::memberships::monthly_plan("isolation-probe")),
        ("patch", "/api/v1/plans/{id}") => Some(json!({"name": "Renamed by another brand"})),
        ("post", "/api/v1/memberships" | "/api/v1/me/memberships") => {
            Some(json!({"plan_id": "pln_probe"}))
        }
        ("post", "/api/v1/memberships/{id}/actions") => Some(json!({"action": "activate"})),
        ("post", "/api/v1/memberships/{id}/freezes") => {
            Some(json!({"starts_on": "2099-01-01", "ends_on": "2099-01-05"}))
        }
        ("post", "/api/v1/memberships/{id}/unfreeze" | "/api/v1/memberships/{id}/withdrawal") => {
            None
        }
        ("post", "/api/v1/memberships/{id}/plan-change") => {
            Some(json!({"plan_id": "pln_probe", "timing": "now"}))
        }
        ("post", "/api/v1/memberships/{id}/cancellation") => Some(json!({})),
        // Devices and door access.
        ("post", "/api/v1/devices/pairings") => Some(json!({"kind": "kiosk"})),
        ("post", "/api/v1/devices/pair" | "/api/v1/device/heartbeat") => None,
        ("patch", "/api/v1/devices/{id}") => Some(json!({"name": "Renamed by another brand"})),
        ("post", "/api/v1/devices/{id}/revoke") => None,
        (
            "post",
            "/api/v1/access/check" | "/api/v1/access/checkins/batch" | "/api/v1/access/overrides",
        ) => None,
        ("post", "/api/v1/members/{id}/credentials") => Some(json!({"kind": "card"})),
        ("post", "/api/v1/credentials/{id}/replace" | "/api/v1/credentials/{id}/revoke") => {
            Some(json!({}))
        }
        ("post", "/api/v1/me/app-keys") => None,
        ("post", "/api/v1/body-measurements") => None,
        ("post", "/api/v1/body-measurements/{id}/match") => Some(json!({"member_id": "acc_probe"})),
        ("put", "/api/v1/members/{id}/body-goals") => {
            Some(json!({"metric": "weight_kg", "target": 70.0}))
        }
        ("post", "/api/v1/invoices") => Some(json!({"member_id": "acc_probe", "lines": [
            {"description": "probe", "quantity": 1, "unit_price": 100, "vat_code": "standard"}]})),
        ("post", "/api/v1/credit-notes") => {
            Some(json!({"invoice_id": "inv_probe", "reason": "probe"}))
        }
        ("post", "/api/v1/me/payment-methods") => None,
        ("delete", "/api/v1/invoices/{id}") => None,
        ("post", "/api/v1/invoices/{id}/finalise" | "/api/v1/invoices/{id}/pay") => None,
        ("post", "/api/v1/invoices/{id}/send") => Some(json!({})),
        ("post", "/api/v1/jobs/{id}/retry") => Some(json!({})),
        ("post", "/api/v1/invoices/{id}/payments") => {
            Some(json!({"amount": 1, "currency": "EUR", "method": "cash"}))
        }
        ("post", "/api/v1/payments/{id}/refunds") => Some(json!({"reason": "probe"})),
        ("get", _) => None,
        (method, path) => {
            panic!("the isolation test does not know route {method} {path}: add it to body_for")
        }
    }
}

#[tokio::test]
async fn every_tenant_scoped_route_hides_other_brands() {
    let app = TestApp::spawn().await;
    let atlas_admin = app.token("atlas", "admin").await;
    let lumiere_admin = app.token("lumiere", "admin").await;
    let (_, lumiere_staff) = app
        .get_json(Some("lumiere"), "/api/v1/staff", &lumiere_admin)
        .await;
    let lumiere_ids: Vec<String> = lumiere_staff["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let foreign_id = lumiere_ids
        .iter()
        .find(|id| !id.is_empty())
        .unwrap()
        .clone();
    let (_, atlas_staff) = app
        .get_json(Some("atlas"), "/api/v1/staff", &atlas_admin)
        .await;
    let own_id = atlas_staff["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["roles"] == json!(["staff"]))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Each brand gets a webhook endpoint with one delivery, so that the webhook routes have ids to probe.
    let mut endpoint_ids = Vec::new();
    for (brand, token) in [("atlas", &atlas_admin), ("lumiere", &lumiere_admin)] {
        let (status, created) = app
            .post_json(
                Some(brand),
                "/api/v1/webhook-endpoints",
                Some(token.as_str()),
                &json!({"url": "https://hooks.example.com/isolation", "event_types": ["*"]}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let endpoint = created["endpoint"]["id"].as_str().unwrap().to_owned();
        let (status, delivery) = app
            .post_json(
                Some(brand),
                &format!("/api/v1/webhook-endpoints/{endpoint}/ping"),
                Some(token.as_str()),
                &json!({}),
            )
            .await;
        assert_eq!(status, 202, "{delivery}");
        endpoint_ids.push((endpoint, delivery["id"].as_str().unwrap().to_owned()));
    }
    let (own_endpoint, foreign_endpoint) = (endpoint_ids[0].clone(), endpoint_ids[1].clone());
    // A file of each brand, for the file routes' ids.
    let upload = |brand: &'static str, token: String| {
        let request = app
            .post(Some(brand), "/api/v1/files?purpose=document")
            .bearer_auth(token)
            .header("content-type", "text/plain")
            .body("isolation probe");
        async move {
            let (status, file) = json(request.send().await.unwrap()).await;
            assert_eq!(status, 201, "{file}");
            file["id"].as_str().unwrap().to_owned()
        }
    };
    let own_file = upload("atlas", atlas_admin.clone()).await;
    let foreign_file = upload("lumiere", lumiere_admin.clone()).await;
    // Scheduling data in each brand: a location, rooms, a service, hours, classes, an appointment and a booking.
    let atlas_schedule = crate::scheduling::setup(&app, "atlas").await;
    let lumiere_schedule = crate::scheduling::setup(&app, "lumiere").await;
    let scheduling_ids = |f: &crate::scheduling::Fixture, brand: &str| {
        let member = crate::scheduling::account_id(&app, &format!("member@{brand}.test"));
        let start = chrono::Utc::now() + chrono::Duration::days(3);
        let appointment = crate::scheduling::insert_appointment(&app, f, &member, start);
        let booking = crate::scheduling::insert_class_booking(&app, f, &f.session, &member, 1);
        (appointment, booking)
    };
    let (own_appointment, own_booking) = scheduling_ids(&atlas_schedule, "atlas");
    let (foreign_appointment, foreign_booking) = scheduling_ids(&lumiere_schedule, "lumiere");
    // A plan and a membership of each brand, for the gym routes' ids: (member, plan, membership).
    let mut gym = Vec::new();
    let mut billing = Vec::new();
    for (brand, token) in [("atlas", &atlas_admin), ("lumiere", &lumiere_admin)] {
        let member_token = app.token(brand, "member").await;
        let (_, me) = app
            .get_json(Some(brand), "/api/v1/me/profile", &member_token)
            .await;
        let member = me["id"].as_str().unwrap().to_owned();
        let plan_body = crate::memberships::monthly_plan("isolation");
        let (status, plan) = app
            .post_json(
                Some(brand),
                "/api/v1/plans",
                Some(token.as_str()),
                &plan_body,
            )
            .await;
        assert_eq!(status, 201, "{plan}");
        let plan = plan["id"].as_str().unwrap().to_owned();
        let sale = json!({"member_id": member, "plan_id": plan});
        let (status, sold) = app
            .post_json(
                Some(brand),
                "/api/v1/memberships",
                Some(token.as_str()),
                &sale,
            )
            .await;
        assert_eq!(status, 201, "{sold}");
        let membership = sold["id"].as_str().unwrap().to_owned();
        // Its first invoice, a desk payment of part of it, and a credit note: ids for the billing routes.
        let (_, invoices) = app
            .get_json(
                Some(brand),
                &format!("/api/v1/invoices?membership_id={membership}"),
                token,
            )
            .await;
        let invoice = invoices["data"][0]["id"].as_str().unwrap().to_owned();
        let (status, paid) = app
            .post_json(
                Some(brand),
                &format!("/api/v1/invoices/{invoice}/payments"),
                Some(token.as_str()),
                &json!({"amount": 100, "currency": "EUR", "method": "cash"}),
            )
            .await;
        assert_eq!(status, 201, "{paid}");
        let payment = paid["payments"][0]["id"].as_str().unwrap().to_owned();
        let (status, note) = app
            .post_json(
                Some(brand),
                "/api/v1/credit-notes",
                Some(token.as_str()),
                &json!({"invoice_id": invoice, "reason": "isolation", "lines": [
                    {"description": "geste", "quantity": 1, "unit_price": 100, "vat_code": "standard"}]}),
            )
            .await;
        assert_eq!(status, 201, "{note}");
        // Its PDF must exist before the routes are probed (the PDF route's control expects 200).
        crate::billing::pdf_of(&app, token, &invoice, brand).await;
        billing.push((invoice, payment, note["id"].as_str().unwrap().to_owned()));
        gym.push((member, plan, membership));
    }
    let (own_billing, foreign_billing) = (billing[0].clone(), billing[1].clone());
    let (own_gym, foreign_gym) = (gym[0].clone(), gym[1].clone());
    // A card and a paired kiosk in each brand, for the credential and device routes.
    let mut door_ids = Vec::new();
    for (brand, member) in [("atlas", &own_gym.0), ("lumiere", &foreign_gym.0)] {
        let token = if brand == "atlas" {
            &atlas_admin
        } else {
            &lumiere_admin
        };
        let (status, card) = app
            .post_json(
                Some(brand),
                &format!("/api/v1/members/{member}/credentials"),
                Some(token.as_str()),
                &json!({}),
            )
            .await;
        assert_eq!(status, 201, "{card}");
        let kiosk = crate::devices::pair(&app, brand, json!({"kind": "kiosk"})).await;
        door_ids.push((card["id"].as_str().unwrap().to_owned(), kiosk.id));
    }
    let (own_access, foreign_access) = (door_ids[0].clone(), door_ids[1].clone());
    let mut lumiere_ids = lumiere_ids;
    lumiere_ids.extend([
        lumiere_schedule.location.clone(),
        lumiere_schedule.service.clone(),
        lumiere_schedule.schedule.clone(),
        lumiere_schedule.session.clone(),
        foreign_appointment.clone(),
        foreign_booking.clone(),
    ]);
    lumiere_ids.extend([
        foreign_endpoint.0.clone(),
        foreign_endpoint.1.clone(),
        foreign_file.clone(),
        foreign_gym.0.clone(),
        foreign_gym.1.clone(),
        foreign_gym.2.clone(),
        foreign_access.0.clone(),
        foreign_access.1.clone(),
        foreign_billing.0.clone(),
        foreign_billing.1.clone(),
        foreign_billing.2.clone(),
    ]);
    // The ids to put in a route's path: (another brand's, the brand's own).
    let ids_for = |path: &str| -> (PathIds, PathIds) {
        if path.starts_with("/api/v1/webhook-endpoints/") {
            (
                vec![
                    ("id", foreign_endpoint.0.clone()),
                    ("delivery_id", foreign_endpoint.1.clone()),
                ],
                vec![
                    ("id", own_endpoint.0.clone()),
                    ("delivery_id", own_endpoint.1.clone()),
                ],
            )
        } else if let Some(pick) = scheduling_pick(path) {
            (
                vec![(
                    "id",
                    pick(&lumiere_schedule, &foreign_appointment, &foreign_booking),
                )],
                vec![("id", pick(&atlas_schedule, &own_appointment, &own_booking))],
            )
        } else if path.starts_with("/api/v1/members/") {
            (
                vec![("id", foreign_gym.0.clone())],
                vec![("id", own_gym.0.clone())],
            )
        } else if path.starts_with("/api/v1/plans/") {
            (
                vec![("id", foreign_gym.1.clone())],
                vec![("id", own_gym.1.clone())],
            )
        } else if path.starts_with("/api/v1/memberships/") {
            (
                vec![("id", foreign_gym.2.clone())],
                vec![("id", own_gym.2.clone())],
            )
        } else if path.starts_with("/api/v1/credentials/") {
            (
                vec![("id", foreign_access.0.clone())],
                vec![("id", own_access.0.clone())],
            )
        } else if path.starts_with("/api/v1/devices/") {
            (
                vec![("id", foreign_access.1.clone())],
                vec![("id", own_access.1.clone())],
            )
        } else if path.starts_with("/api/v1/invoices/") {
            (
                vec![("id", foreign_billing.0.clone())],
                vec![("id", own_billing.0.clone())],
            )
        } else if path.starts_with("/api/v1/payments/") {
            (
                vec![("id", foreign_billing.1.clone())],
                vec![("id", own_billing.1.clone())],
            )
        } else if path.starts_with("/api/v1/files/") {
            (
                vec![("id", foreign_file.clone())],
                vec![("id", own_file.clone())],
            )
        } else {
            (
                vec![("id", foreign_id.clone())],
                vec![("id", own_id.clone())],
            )
        }
    };

    let document: Value = app
        .get(Some("atlas"), "/api/v1/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        if PUBLIC.contains(&path.as_str())
            || PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p))
            || GROUP_ONLY.contains(&path.as_str())
            || OWN_TEST.contains(&path.as_str())
        {
            continue;
        }
        for (method, _) in item.as_object().unwrap() {
            let body = body_for(method, path);
            let method_http: reqwest::Method = method.to_uppercase().parse().unwrap();
            if path == "/api/v1/reports/{name}" {
                // Not an id: every report of the brand shows none of another brand's rows.
                for name in [
                    "revenue",
                    "mrr",
                    "members",
                    "attendance",
                    "pro-hours",
                    "receivables",
                    "checkins",
                ] {
                    let url = format!("/api/v1/reports/{name}");
                    let (status, report) = app.get_json(Some("atlas"), &url, &atlas_admin).await;
                    assert_eq!(status, 200, "{url}: {report}");
                    let text = report.to_string();
                    for id in &lumiere_ids {
                        assert!(
                            !text.contains(id.as_str()),
                            "{url} shows another brand's row {id}"
                        );
                    }
                    assert!(
                        !text.contains("of lumiere"),
                        "{url} shows another brand's data"
                    );
                }
            } else if path.contains('{') {
                let (foreign, own) = ids_for(path);
                // Another brand's id: 404, whatever the method.
                let url = replace_params(path, &foreign);
                let mut request = app
                    .request(method_http.clone(), Some("atlas"), &url)
                    .bearer_auth(&atlas_admin);
                if let Some(body) = &body {
                    request = request.json(body);
                }
                let (status, problem) = json(request.send().await.unwrap()).await;
                assert_eq!(
                    status, 404,
                    "{method} {url} with another brand's id: {problem}"
                );
                assert_eq!(problem["code"], "not_found");
                // Control: the same route with an id of the brand itself is found.
                if method == "get" {
                    let url = replace_params(path, &own);
                    let status = app
                        .request(method_http, Some("atlas"), &url)
                        .bearer_auth(&atlas_admin)
                        .send()
                        .await
                        .unwrap()
                        .status();
                    assert_eq!(status, 200, "{method} {url} with the brand's own id");
                }
            } else if method == "get" {
                let (status, list) = app.get_json(Some("atlas"), path, &atlas_admin).await;
                assert_eq!(status, 200, "{path}: {list}");
                let text = list.to_string();
                if let Some(rows) = list["data"].as_array() {
                    assert!(
                        !rows.is_empty(),
                        "{path} lists nothing: the check would prove nothing"
                    );
                }
                for id in &lumiere_ids {
                    assert!(
                        !text.contains(id.as_str()),
                        "{path} shows another brand's row {id}"
                    );
                }
                assert!(
                    !text.contains("@lumiere.test"),
                    "{path} shows another brand's data"
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 5,
        "only {checked} tenant-scoped operations were found"
    );
    // Nothing of lumiere changed.
    let names = query_column(
        &app.db.url,
        &format!("SELECT display_name AS v FROM accounts WHERE id = '{foreign_id}'"),
    );
    assert_ne!(names[0].as_deref(), Some("Renamed by another brand"));
    let status = query_column(
        &app.db.url,
        &format!("SELECT status AS v FROM accounts WHERE id = '{foreign_id}'"),
    );
    assert_eq!(status[0].as_deref(), Some("active"));
    // And a brand's token is refused on another brand's host altogether.
    assert_eq!(
        app.get_status(Some("lumiere"), "/api/v1/staff", &atlas_admin)
            .await,
        401
    );
}

/// Which id a scheduling route's `{id}` takes: (fixture, appointment, class booking) to id.
type Pick = fn(&crate::scheduling::Fixture, &String, &String) -> String;

fn scheduling_pick(path: &str) -> Option<Pick> {
    let pick: Pick = if path.starts_with("/api/v1/locations/") {
        |f, _, _| f.location.clone()
    } else if path.starts_with("/api/v1/services/") {
        |f, _, _| f.service.clone()
    } else if path.starts_with("/api/v1/pros/") {
        |f, _, _| f.coach.clone()
    } else if path.starts_with("/api/v1/appointments/") {
        |_, a, _| a.clone()
    } else if path.starts_with("/api/v1/class-sessions/") {
        |f, _, _| f.session.clone()
    } else if path.starts_with("/api/v1/class-bookings/") {
        |_, _, b| b.clone()
    } else {
        return None;
    };
    Some(pick)
}

/// Values of a path's parameters, by name.
type PathIds = Vec<(&'static str, String)>;

fn replace_params(path: &str, ids: &[(&str, String)]) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        let name = &rest[start + 1..end];
        let id = ids
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no id for {{{name}}} in {path}"));
        out.push_str(&id.1);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn unknown_hosts_are_not_found() {
    let app = TestApp::spawn().await;
    for host in [
        "nope.localhost",
        "evil.example",
        "atlas.localhost.evil.example",
    ] {
        let response = app
            .client
            .get(app.url("/api/v1/me"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{host}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    // A configured domain resolves to its brand.
    let token = app.token("atlas", "member").await;
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header("host", "atlas-gym.example")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn two_host_headers_are_refused() {
    use std::io::{Read, Write};
    let app = TestApp::spawn().await;
    let port = app.port;
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: atlas.localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("invalid_host"), "{answer}");
}
