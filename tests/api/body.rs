//! Body analysers: a paired analyser's Tanita export (the real BC-601 lines) and a staff InBody upload, parsed with
//! units converted; a measurement without health-data consent refused with nothing stored; an unmatched one kept
//! for staff to match; values sealed at rest; history, trends, goals, the report (HTML and PDF) and 3D scans; a
//! truncated export refused.

use serde_json::json;
use tessera_tests::{count, query_column, TestApp};

/// The text of a PDF's pages, extracted by pypdf (a parser independent of the one that wrote it).
fn pdf_text(path: &std::path::Path) -> String {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, pypdf; print('\\n'.join(p.extract_text() for p in pypdf.PdfReader(sys.argv[1], strict=True).pages))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

const TANITA: &str = include_str!("../fixtures/tanita-bc601.txt");
const INBODY: &str = include_str!("../fixtures/inbody-lookinbody.csv");

async fn walk_in(
    app: &TestApp,
    given: &str,
    phone: Option<&str>,
    consent: bool,
) -> (String, String) {
    let staff = app.token("atlas", "staff").await;
    let mut body = json!({"given_name": given, "family_name": "Body"});
    if let Some(phone) = phone {
        body["phone"] = json!(phone);
    }
    if consent {
        body["consents"] =
            json!([{"kind": "health_data", "granted": true, "text_version": "2026-01"}]);
    }
    let (status, member) = app
        .post_json(Some("atlas"), "/api/v1/members", Some(&staff), &body)
        .await;
    assert_eq!(status, 201, "{member}");
    (
        member["id"].as_str().unwrap().to_owned(),
        member["card_number"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn analysers_upload_with_consent_and_unmatched_measurements_wait() {
    let app = TestApp::spawn().await;
    let staff = app.token("atlas", "staff").await;
    let centre = crate::devices::location(&app, "atlas", "Centre", "Europe/Paris").await;
    let analyser = crate::devices::pair(
        &app,
        "atlas",
        json!({"kind": "body_analyzer", "location_id": centre}),
    )
    .await;
    let (consenting, card) = walk_in(&app, "Tara", None, true).await;
    let (refusing, _) = walk_in(&app, "Rene", None, false).await;

    // The real BC-601 lines, for a member named by card number: three measurements, imperial converted.
    let (status, outcome) = app
        .post_json(
            Some("atlas"),
            "/api/v1/body-measurements",
            Some(&analyser.token),
            &json!({"format": "tanita", "card_number": card, "data": TANITA}),
        )
        .await;
    assert_eq!(status, 201, "{outcome}");
    let stored = outcome["stored"].as_array().unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0]["measurement"]["weight_kg"], 96.1);
    assert_eq!(stored[1]["measurement"]["weight_kg"], 93.53, "206.2 lb");
    assert_eq!(stored[1]["measurement"]["height_cm"], 185.4, "73 in");
    assert_eq!(stored[0]["measured_at"], "2016-01-12T22:48:53Z");
    // Sealed at rest: the weight is nowhere in clear.
    let sealed = query_column(
        &app.db.url,
        &format!("SELECT sealed AS v FROM body_measurements WHERE member_id = '{consenting}'"),
    );
    assert_eq!(sealed.len(), 3);
    assert!(sealed
        .iter()
        .all(|s| !s.as_deref().unwrap().contains("96.1")));

    // Without consent: refused, nothing stored.
    let before = count(&app.db.url, "SELECT COUNT(*) AS n FROM body_measurements");
    let (status, problem) = app
        .post_json(Some("atlas"), "/api/v1/body-measurements", Some(&analyser.token),
            &json!({"member_id": refusing, "measurement": {"measured_at": "2026-11-20T08:00:00Z", "weight_kg": 70.0}}))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("health_consent_required"))
    );
    assert_eq!(
        count(&app.db.url, "SELECT COUNT(*) AS n FROM body_measurements"),
        before
    );

    // A staff InBody upload whose rows name an unknown card and a phone nobody has: both wait for staff.
    let (status, outcome) = app
        .post_json(
            Some("atlas"),
            "/api/v1/body-measurements",
            Some(&staff),
            &json!({"format": "inbody", "data": INBODY}),
        )
        .await;
    assert_eq!(status, 201, "{outcome}");
    assert_eq!(outcome["unmatched"], 2);
    assert_eq!(
        outcome["stored"][1]["measurement"]["weight_kg"], 81.65,
        "180 lb"
    );
    assert_eq!(outcome["stored"][0]["measurement"]["ecw_tbw_ratio"], 0.381);
    let (status, waiting) = app
        .get_json(Some("atlas"), "/api/v1/body-measurements/unmatched", &staff)
        .await;
    assert_eq!((status, waiting.as_array().unwrap().len()), (200, 2));
    assert_eq!(waiting[0]["member_hint"], "100000000001");
    let waiting_id = waiting[0]["id"].as_str().unwrap();
    // Matching needs consent too.
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/body-measurements/{waiting_id}/match"),
            Some(&staff),
            &json!({"member_id": refusing}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("health_consent_required"))
    );
    let (status, matched) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/body-measurements/{waiting_id}/match"),
            Some(&staff),
            &json!({"member_id": consenting}),
        )
        .await;
    assert_eq!(
        (status, matched["status"].as_str()),
        (200, Some("matched")),
        "{matched}"
    );
    let (status, again) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/body-measurements/{waiting_id}/match"),
            Some(&staff),
            &json!({"member_id": consenting}),
        )
        .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("already_matched"))
    );

    // History and trends (staff reads are audited); a pro sets a goal.
    let coach = app.token("atlas", "coach").await;
    let (status, goal) = app
        .send_json(
            reqwest::Method::PUT,
            Some("atlas"),
            &format!("/api/v1/members/{consenting}/body-goals"),
            Some(&coach),
            &json!({"metric": "weight_kg", "target": 85.0}),
        )
        .await;
    assert_eq!(status, 200, "{goal}");
    let (status, health) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/members/{consenting}/body-measurements"),
            &coach,
        )
        .await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["history"].as_array().unwrap().len(), 4);
    assert_eq!(
        health["latest"]["measurement"]["weight_kg"], 72.4,
        "the InBody row of 2026 is the latest"
    );
    let weight = health["trends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric"] == "weight_kg")
        .unwrap();
    assert_eq!(weight["series"].as_array().unwrap().len(), 4);
    assert_eq!(weight["since_first"], -23.7, "72.4 - 96.1");
    assert_eq!(health["goals"][0]["target"], 85.0);
    assert!(
        count(
            &app.db.url,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'body.viewed'"
        ) >= 1
    );
    // Another member sees nothing of it.
    let member = app.token("atlas", "member").await;
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/members/{consenting}/body-measurements"),
            &member
        )
        .await,
        404
    );
    let (status, mine) = app
        .get_json(Some("atlas"), "/api/v1/me/health", &member)
        .await;
    assert_eq!(
        (status, mine["history"].as_array().unwrap().len()),
        (200, 0)
    );

    // The report of one measurement.
    let id = health["latest"]["id"].as_str().unwrap();
    let response = app
        .get(
            Some("atlas"),
            &format!("/api/v1/body-measurements/{id}/report"),
        )
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Tara Body") && html.contains("72.4"),
        "{html}"
    );
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/body-measurements/{id}/report"),
            &member
        )
        .await,
        404
    );
    // The same report as a PDF, read back by an independent parser (pypdf).
    let response = app
        .get(
            Some("atlas"),
            &format!("/api/v1/body-measurements/{id}/report?format=pdf"),
        )
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    let pdf = response.bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("report.pdf"), &pdf).unwrap();
    let text = pdf_text(&dir.path().join("report.pdf"));
    for expected in [
        "Body composition of Tara Body",
        "72.4",
        "Since previous",
        "Health data: confidential",
        "1 / 1",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
    let (status, problem) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/body-measurements/{id}/report?format=docx"),
            &staff,
        )
        .await;
    assert_eq!(status, 422, "{problem}");

    // A 3D body scan: uploaded by staff for the member, stored sealed, listed with the member's scans only.
    let obj = b"# Tessera test scan\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n".to_vec();
    let response = app
        .post(
            Some("atlas"),
            &format!("/api/v1/files?purpose=body_scan&owner={consenting}"),
        )
        .bearer_auth(&staff)
        .header("content-type", "model/obj")
        .body(obj.clone())
        .send()
        .await
        .unwrap();
    let (status, scan) = tessera_tests::json(response).await;
    assert_eq!(status, 201, "{scan}");
    assert_eq!(scan["sensitive"], true, "scans are encrypted at rest");
    let (status, scans) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/members/{consenting}/body-scans"),
            &staff,
        )
        .await;
    assert_eq!(status, 200, "{scans}");
    let scans = scans.as_array().unwrap();
    assert_eq!(scans.len(), 1, "{scans:?}");
    assert_eq!(
        (
            &scans[0]["id"],
            &scans[0]["purpose"],
            &scans[0]["content_type"]
        ),
        (&scan["id"], &json!("body_scan"), &json!("model/obj"))
    );
    assert_eq!(scans[0]["size_bytes"], obj.len());
    let (_, others) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/members/{refusing}/body-scans"),
            &staff,
        )
        .await;
    assert_eq!(others, json!([]));
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/members/{consenting}/body-scans"),
            &member
        )
        .await,
        404,
        "another member"
    );

    // Another brand sees none of it.
    let lumiere = app.token("lumiere", "admin").await;
    let (status, theirs) = app
        .get_json(
            Some("lumiere"),
            "/api/v1/body-measurements/unmatched",
            &lumiere,
        )
        .await;
    assert_eq!((status, theirs.as_array().unwrap().len()), (200, 0));
    assert_eq!(
        app.get_status(
            Some("lumiere"),
            &format!("/api/v1/body-measurements/{id}/report"),
            &lumiere
        )
        .await,
        404
    );
    assert_eq!(
        app.get_status(
            Some("lumiere"),
            &format!("/api/v1/members/{consenting}/body-scans"),
            &lumiere
        )
        .await,
        404
    );
    let waiting = waiting[1]["id"].as_str().unwrap();
    let (status, _) = app
        .post_json(
            Some("lumiere"),
            &format!("/api/v1/body-measurements/{waiting}/match"),
            Some(&lumiere),
            &json!({"member_id": consenting}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_analyser_input_is_refused_with_nothing_written() {
    let app = TestApp::spawn().await;
    let staff = app.token("atlas", "staff").await;
    let (member, _) = walk_in(&app, "Una", None, true).await;
    let truncated = &INBODY[..INBODY.len() - 60];
    for (body, field) in [
        (
            json!({"member_id": member, "format": "inbody", "data": truncated}),
            "data.row[2]",
        ),
        (
            json!({"member_id": member, "format": "tanita", "data": "{0,16,~0,2,Wk,96.1"}),
            "data.line[1]",
        ),
        (
            json!({"member_id": member, "format": "garmin", "data": "x"}),
            "format",
        ),
        (
            json!({"member_id": member, "measurement": {"measured_at": "2026-11-20T08:00:00Z", "weight_kg": 900.0}}),
            "measurement.weight_kg",
        ),
        (
            json!({"member_id": "acc_nobody", "measurement": {"measured_at": "2026-11-20T08:00:00Z", "weight_kg": 70.0}}),
            "member_id",
        ),
    ] {
        let (status, problem) = app
            .post_json(
                Some("atlas"),
                "/api/v1/body-measurements",
                Some(&staff),
                &body,
            )
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    assert_eq!(
        count(&app.db.url, "SELECT COUNT(*) AS n FROM body_measurements"),
        0
    );
    // A door may not upload measurements; a member may not either.
    let centre = crate::devices::location(&app, "atlas", "Centre", "Europe/Paris").await;
    let door = crate::devices::pair(
        &app,
        "atlas",
        json!({"kind": "door", "location_id": centre}),
    )
    .await;
    let ok = json!({"member_id": member, "measurement": {"measured_at": "2026-11-20T08:00:00Z", "weight_kg": 70.0}});
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/body-measurements",
            Some(&door.token),
            &ok,
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("device_not_allowed"))
    );
    let member_token = app.token("atlas", "member").await;
    assert_eq!(
        app.post_json(
            Some("atlas"),
            "/api/v1/body-measurements",
            Some(&member_token),
            &ok
        )
        .await
        .0,
        403
    );
}
