//! The OpenAPI document: generated from the code, OpenAPI 3.1, every route in it and every route in it served.

use serde_json::Value;
use tessera_tests::TestApp;

/// Routes the foundation must offer; each must be in the document.
const EXPECTED: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/metrics"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/accept-invite"),
    ("post", "/api/v1/auth/password-reset"),
    ("post", "/api/v1/auth/password-reset/confirm"),
    ("get", "/api/v1/me"),
    ("post", "/api/v1/me/email-verification"),
    ("post", "/api/v1/auth/verify-email"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/staff"),
    ("post", "/api/v1/staff"),
    ("get", "/api/v1/staff/{id}"),
    ("patch", "/api/v1/staff/{id}"),
    ("post", "/api/v1/staff/{id}/deactivate"),
    ("post", "/api/v1/files"),
    ("get", "/api/v1/files/{id}"),
    ("delete", "/api/v1/files/{id}"),
    ("get", "/api/v1/files/{id}/content"),
    ("post", "/api/v1/files/{id}/download-url"),
    ("get", "/api/v1/files/download"),
    ("get", "/api/v1/tenants"),
    ("get", "/api/v1/tenants/{slug}"),
    ("get", "/api/v1/me/export"),
    ("get", "/api/v1/accounts/{id}/export"),
    ("post", "/api/v1/accounts/{id}/erasure"),
    ("get", "/api/v1/events/ws"),
    ("get", "/api/v1/events/types"),
    ("get", "/api/v1/webhook-endpoints"),
    ("post", "/api/v1/webhook-endpoints"),
    ("get", "/api/v1/webhook-endpoints/{id}"),
    ("patch", "/api/v1/webhook-endpoints/{id}"),
    ("delete", "/api/v1/webhook-endpoints/{id}"),
    ("post", "/api/v1/webhook-endpoints/{id}/rotate-secret"),
    ("post", "/api/v1/webhook-endpoints/{id}/ping"),
    ("get", "/api/v1/members"),
    ("post", "/api/v1/members"),
    ("post", "/api/v1/members/signup"),
    ("get", "/api/v1/members/{id}"),
    ("patch", "/api/v1/members/{id}"),
    ("get", "/api/v1/members/{id}/notes"),
    ("post", "/api/v1/members/{id}/notes"),
    ("post", "/api/v1/members/{id}/dependants"),
    ("get", "/api/v1/me/profile"),
    ("patch", "/api/v1/me/profile"),
    ("get", "/api/v1/me/dependants"),
    ("post", "/api/v1/me/dependants"),
    ("get", "/api/v1/plans"),
    ("post", "/api/v1/plans"),
    ("get", "/api/v1/plans/{id}"),
    ("patch", "/api/v1/plans/{id}"),
    ("get", "/api/v1/memberships"),
    ("post", "/api/v1/memberships"),
    ("get", "/api/v1/me/memberships"),
    ("post", "/api/v1/me/memberships"),
    ("get", "/api/v1/memberships/{id}"),
    ("get", "/api/v1/memberships/{id}/history"),
    ("post", "/api/v1/memberships/{id}/actions"),
    ("post", "/api/v1/memberships/{id}/freezes"),
    ("post", "/api/v1/memberships/{id}/unfreeze"),
    ("post", "/api/v1/memberships/{id}/plan-change"),
    ("get", "/api/v1/memberships/{id}/cancellation"),
    ("post", "/api/v1/memberships/{id}/cancellation"),
    ("post", "/api/v1/memberships/{id}/withdrawal"),
    ("get", "/api/v1/webhook-endpoints/{id}/deliveries"),
    (
        "post",
        "/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/resend",
    ),
    // Scheduling.
    ("get", "/api/v1/locations"),
    ("post", "/api/v1/locations"),
    ("get", "/api/v1/locations/{id}"),
    ("get", "/api/v1/locations/{id}/rooms"),
    ("post", "/api/v1/locations/{id}/rooms"),
    ("get", "/api/v1/services"),
    ("post", "/api/v1/services"),
    ("get", "/api/v1/services/{id}"),
    ("patch", "/api/v1/services/{id}"),
    ("get", "/api/v1/services/{id}/slots"),
    ("get", "/api/v1/pros/{id}/hours"),
    ("put", "/api/v1/pros/{id}/hours"),
    ("post", "/api/v1/pros/{id}/clock-in"),
    ("post", "/api/v1/pros/{id}/clock-out"),
    ("get", "/api/v1/pros/{id}/timesheet"),
    ("get", "/api/v1/pros/{id}/agenda"),
    ("post", "/api/v1/appointments"),
    ("get", "/api/v1/appointments/{id}"),
    ("post", "/api/v1/appointments/{id}/reschedule"),
    ("post", "/api/v1/appointments/{id}/cancel"),
    ("post", "/api/v1/appointments/{id}/attendance"),
    ("get", "/api/v1/class-schedules"),
    ("post", "/api/v1/class-schedules"),
    ("post", "/api/v1/class-schedules/generate"),
    ("get", "/api/v1/class-sessions"),
    ("get", "/api/v1/class-sessions/{id}"),
    ("get", "/api/v1/class-sessions/{id}/bookings"),
    ("post", "/api/v1/class-sessions/{id}/bookings"),
    ("post", "/api/v1/class-sessions/{id}/attendance"),
    ("get", "/api/v1/class-bookings/{id}"),
    ("post", "/api/v1/class-bookings/{id}/cancel"),
    ("post", "/api/v1/class-bookings/{id}/check-in"),
    ("get", "/api/v1/me/bookings"),
    ("get", "/api/v1/members/{id}/bookings"),
    ("get", "/api/v1/members/{id}/body-scans"),
    ("get", "/api/v1/jobs"),
    ("post", "/api/v1/jobs/{id}/retry"),
    ("get", "/api/v1/dashboard/today"),
    ("post", "/api/v1/me/calendar-feed"),
    ("get", "/api/v1/calendar/{file}"),
];

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let app = TestApp::spawn().await;
    let document: Value = app
        .get(None, "/api/v1/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    let paths = document["paths"].as_object().unwrap();
    for (method, path) in EXPECTED {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is missing from the OpenAPI document"
        );
    }
    // Every documented operation is served: the router answers it with something other than "no such route".
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path} documents no response"
            );
            let url = path
                .replace("{id}", "acc_00000000000000000000000000")
                .replace("{slug}", "atlas");
            let response = app
                .request(method.to_uppercase().parse().unwrap(), Some("atlas"), &url)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let (_, body) = tessera_tests::json(response).await;
            let no_route = status == 405 || (status == 404 && body["detail"] == "no such route");
            assert!(
                !no_route,
                "{method} {path} is documented but not served ({status} {body})"
            );
        }
    }
    let docs = app.get(None, "/api/docs").send().await.unwrap();
    assert_eq!(docs.status(), 200);
    let page = docs.text().await.unwrap();
    assert!(
        page.contains("Tessera API") && page.contains("/api/v1/staff"),
        "the docs page embeds the document"
    );
}
