//! Billing without a payment provider: invoice totals and VAT, gap-free numbering under concurrency and after a
//! crash, credit notes, desk payments that start a membership, refunds, money figures, and bad input that writes
//! nothing.

use chrono::{Datelike, Utc};
use serde_json::{json, Value};
use tessera_tests::{count, query_column, TestApp};

use crate::memberships::monthly_plan;

pub(crate) async fn member_id(app: &TestApp, local: &str) -> String {
    let token = app.token("atlas", local).await;
    let (_, me) = app
        .get_json(Some("atlas"), "/api/v1/me/profile", &token)
        .await;
    me["id"].as_str().unwrap().to_owned()
}

fn line(description: &str, quantity: i64, unit_price: i64, vat_code: &str) -> Value {
    json!({"description": description, "quantity": quantity, "unit_price": unit_price, "vat_code": vat_code})
}

pub(crate) async fn invoice(app: &TestApp, token: &str, body: &Value) -> Value {
    let (status, inv) = app
        .post_json(Some("atlas"), "/api/v1/invoices", Some(token), body)
        .await;
    assert_eq!(status, 201, "{inv}");
    inv
}

fn amount(v: &Value) -> i64 {
    v["amount"].as_i64().unwrap()
}

#[tokio::test]
async fn totals_vat_per_rate_rounding_and_credit_notes() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let member = member_id(&app, "member").await;
    // 3 × 33.33 at 20 % = 99.99 → VAT 19.998 → 20.00; 1 × 0.05 at 10 % → 0.005 → 0.01 (half up);
    // 2 × 40.00 exempt (0 %, with its wording).
    let body = json!({"member_id": member, "lines": [
        line("Coaching", 3, 3333, "standard"), line("Boisson", 1, 5, "reduced"),
        line("Bilan de santé", 2, 4000, "health_exempt")], "finalise": true});
    let inv = invoice(&app, &admin, &body).await;
    assert_eq!(amount(&inv["total_excl"]), 9999 + 5 + 8000);
    assert_eq!(amount(&inv["total_vat"]), 2000 + 1);
    assert_eq!(amount(&inv["total_incl"]), 9999 + 5 + 8000 + 2001);
    let per_rate: Vec<(i64, i64, i64)> = inv["vat_totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["rate_bps"].as_i64().unwrap(),
                amount(&t["taxable"]),
                amount(&t["vat"]),
            )
        })
        .collect();
    assert_eq!(per_rate, [(2000, 9999, 2000), (1000, 5, 1), (0, 8000, 0)]);
    assert_eq!(
        inv["lines"][2]["exemption_note"],
        "Exonération de TVA, article 261-4-1° du CGI"
    );
    let year = Utc::now().year();
    assert_eq!(inv["number"], format!("ATL-{year}-000001"));
    assert_eq!(inv["status"], "open");
    assert_eq!(amount(&inv["outstanding"]), 20005);

    // A finalised invoice is never deleted nor finalised again; the database refuses edits too.
    let id = inv["id"].as_str().unwrap();
    let (status, problem) = app
        .send_json(
            reqwest::Method::DELETE,
            Some("atlas"),
            &format!("/api/v1/invoices/{id}"),
            Some(&admin),
            &json!(null),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("invoice_finalised"))
    );
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{id}/finalise"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("invoice_finalised"))
    );
    let edited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tessera_tests::execute(&app.db.url, &format!("UPDATE invoices SET total_incl = 1, total_excl = 1, total_vat = 0 WHERE id = '{id}'"))
    }));
    assert!(
        edited.is_err(),
        "the database must refuse to edit a finalised invoice"
    );

    // A partial credit note (the coaching line), then the rest; a third is refused.
    let (status, note) = app
        .post_json(Some("atlas"), "/api/v1/credit-notes", Some(&admin),
            &json!({"invoice_id": id, "reason": "Séance annulée", "lines": [line("Coaching", 1, 3333, "standard")]}))
        .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["kind"], "credit_note");
    assert_eq!(note["number"], format!("ATL-AV-{year}-000001"));
    assert_eq!(note["corrects_invoice_id"], id);
    assert_eq!(amount(&note["total_incl"]), 3333 + 667);
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            "/api/v1/credit-notes",
            Some(&admin),
            &json!({"invoice_id": id, "reason": "Tout"}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("partly_credited"))
    );
    let (status, problem) = app
        .post_json(Some("atlas"), "/api/v1/credit-notes", Some(&admin),
            &json!({"invoice_id": id, "reason": "Trop", "lines": [line("Coaching", 5, 3333, "standard")]}))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("credit_exceeds_invoice"))
    );
    let (_, inv) = app
        .get_json(Some("atlas"), &format!("/api/v1/invoices/{id}"), &admin)
        .await;
    assert_eq!(amount(&inv["amount_credited"]), 4000);
    assert_eq!(amount(&inv["outstanding"]), 20005 - 4000);

    // Staff may not credit (admin only); the member reads their own invoice but not the list.
    let staff = app.token("atlas", "staff").await;
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/credit-notes",
            Some(&staff),
            &json!({"invoice_id": id, "reason": "x"}),
        )
        .await;
    assert_eq!(status, 403);
    let member_token = app.token("atlas", "member").await;
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/invoices/{id}"),
            &member_token
        )
        .await,
        200
    );
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/invoices", &member_token)
            .await,
        403
    );
    let (_, mine) = app
        .get_json(Some("atlas"), "/api/v1/me/invoices", &member_token)
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 2, "{mine}");
    let other = app.token("atlas", "member2").await;
    assert_eq!(
        app.get_status(Some("atlas"), &format!("/api/v1/invoices/{id}"), &other)
            .await,
        404
    );
}

#[tokio::test]
async fn currencies_are_the_brands_and_totals_stay_per_currency() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let member = member_id(&app, "member").await;
    // Atlas invoices in EUR only: another currency is refused by name; an unknown code too.
    for (currency, code) in [
        ("USD", "currency_not_accepted"),
        ("XYZ", "unknown_currency"),
    ] {
        let (status, problem) = app
            .post_json(Some("atlas"), "/api/v1/invoices", Some(&admin),
                &json!({"member_id": member, "currency": currency, "lines": [line("x", 1, 100, "standard")]}))
            .await;
        assert_eq!(
            (status, problem["errors"][0]["code"].as_str()),
            (422, Some(code)),
            "{problem}"
        );
    }
    let inv = invoice(
        &app,
        &admin,
        &json!({"member_id": member, "currency": "eur", "lines": [line("x", 1, 100, "standard")]}),
    )
    .await;
    assert_eq!(inv["currency"], "EUR");
    assert_eq!(inv["status"], "draft");
    assert_eq!(inv["number"], Value::Null);
    // Lumière sells in several currencies: each invoice keeps its own, and the totals are never mixed.
    let lumiere = app.token("lumiere", "admin").await;
    let member_token = app.token("lumiere", "member").await;
    let (_, me) = app
        .get_json(Some("lumiere"), "/api/v1/me/profile", &member_token)
        .await;
    let lumiere_member = me["id"].as_str().unwrap();
    for (currency, price) in [("GBP", 1999), ("EUR", 2499), ("GBP", 1)] {
        let (status, inv) = app
            .post_json(
                Some("lumiere"),
                "/api/v1/invoices",
                Some(&lumiere),
                &json!({"member_id": lumiere_member, "currency": currency, "finalise": true,
                        "lines": [line("Sérum", 1, price, "standard")]}),
            )
            .await;
        assert_eq!(status, 201, "{inv}");
        assert_eq!(inv["total_incl"]["currency"], currency);
    }
    let (_, summary) = app
        .get_json(Some("lumiere"), "/api/v1/money/summary", &lumiere)
        .await;
    let by_currency: Vec<(String, i64)> = summary
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["currency"].as_str().unwrap().to_owned(),
                amount(&m["outstanding"]),
            )
        })
        .collect();
    // 19.99 + 20 % = 23.988 → 23.99; 0.01 + 20 % = 0.012 → 0.01; 24.99 → 29.99 (29.988).
    assert_eq!(
        by_currency,
        [("EUR".to_owned(), 2999), ("GBP".to_owned(), 2399 + 1)]
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let member = member_id(&app, "member").await;
    let cases = [
        (
            json!({"member_id": member, "lines": [line("x", 1, -100, "standard")]}),
            "negative_amount",
        ),
        (
            json!({"member_id": member, "lines": [line("x", 0, 100, "standard")]}),
            "out_of_range",
        ),
        (
            json!({"member_id": member, "lines": [line("x", 1, 100, "super_reduced")]}),
            "unknown_vat_rate",
        ),
        (json!({"member_id": member, "lines": []}), "invalid"),
        (
            json!({"member_id": member, "currency": "EURO", "lines": [line("x", 1, 100, "standard")]}),
            "unknown_currency",
        ),
        (
            json!({"member_id": member, "company": {"name": "ACME", "siren": "123456789",
            "address": {"line1": "1 rue", "postal_code": "75001", "city": "Paris", "country": "FR"}},
            "lines": [line("x", 1, 100, "standard")]}),
            "invalid_siren",
        ),
    ];
    for (body, code) in cases {
        let (status, problem) = app
            .post_json(Some("atlas"), "/api/v1/invoices", Some(&admin), &body)
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{problem}");
    }
    assert_eq!(count(&app.db.url, "SELECT count(*) FROM invoices"), 0);
    assert_eq!(count(&app.db.url, "SELECT count(*) FROM invoice_lines"), 0);

    // A refund above what was paid, a payment above what is owed, a payment in another currency.
    let inv = invoice(
        &app,
        &admin,
        &json!({"member_id": member, "lines": [line("x", 1, 1000, "standard")], "finalise": true}),
    )
    .await;
    let id = inv["id"].as_str().unwrap();
    let pay = |amount: i64, currency: &str| json!({"amount": amount, "currency": currency, "method": "cash"});
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{id}/payments"),
            Some(&admin),
            &pay(1201, "EUR"),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("amount_exceeds_outstanding"))
    );
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{id}/payments"),
            Some(&admin),
            &pay(100, "USD"),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["code"].as_str()),
        (422, Some("currency_mismatch"))
    );
    let (status, paid) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{id}/payments"),
            Some(&admin),
            &pay(500, "EUR"),
        )
        .await;
    assert_eq!(status, 201, "{paid}");
    let payment = paid["payments"][0]["id"].as_str().unwrap().to_owned();
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/payments/{payment}/refunds"),
            Some(&admin),
            &json!({"amount": 501, "reason": "trop"}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("refund_exceeds_payment"))
    );
    assert_eq!(count(&app.db.url, "SELECT count(*) FROM refunds"), 0);
    assert_eq!(count(&app.db.url, "SELECT count(*) FROM payments"), 1);
    let (status, refund) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/payments/{payment}/refunds"),
            Some(&admin),
            &json!({"amount": 200, "reason": "geste commercial"}),
        )
        .await;
    assert_eq!(status, 201, "{refund}");
    let (_, inv) = app
        .get_json(Some("atlas"), &format!("/api/v1/invoices/{id}"), &admin)
        .await;
    assert_eq!(amount(&inv["amount_paid"]), 300);
    assert_eq!(amount(&inv["payments"][0]["refunded"]), 200);
}

#[tokio::test]
async fn twenty_concurrent_finalisations_number_without_gap_or_duplicate() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let member = member_id(&app, "member").await;
    let mut drafts = Vec::new();
    for i in 0..20 {
        let inv = invoice(&app, &admin, &json!({"member_id": member, "lines": [line(&format!("item {i}"), 1, 100 + i, "standard")]})).await;
        drafts.push(inv["id"].as_str().unwrap().to_owned());
    }
    let results = futures::future::join_all(drafts.iter().map(|id| {
        let (app, admin) = (&app, &admin);
        async move {
            app.post_json(
                Some("atlas"),
                &format!("/api/v1/invoices/{id}/finalise"),
                Some(admin),
                &json!({}),
            )
            .await
        }
    }))
    .await;
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
    }
    let year = Utc::now().year();
    let mut numbers: Vec<String> = results
        .iter()
        .map(|(_, b)| b["number"].as_str().unwrap().to_owned())
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=20).map(|n| format!("ATL-{year}-{n:06}")).collect();
    assert_eq!(numbers, expected);
    // Chronological: in number order, finalisation times never go back.
    let times = query_column(
        &app.db.url,
        "SELECT CAST(finalised_at AS TEXT) AS v FROM invoices ORDER BY sequence_no",
    );
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
}

#[tokio::test]
async fn a_desk_sale_is_invoiced_and_paying_it_starts_the_membership() {
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
    let member = member_id(&app, "member").await;
    let (status, m) = app
        .post_json(
            Some("atlas"),
            "/api/v1/memberships",
            Some(&admin),
            &json!({"member_id": member, "plan_id": plan["id"]}),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["status"], "pending");
    let mid = m["id"].as_str().unwrap();
    let (_, list) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/invoices?membership_id={mid}"),
            &admin,
        )
        .await;
    let inv = &list["data"][0];
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    // The first period and the enrolment fee, 20 % VAT on top of the plan's prices.
    assert_eq!(inv["lines"].as_array().unwrap().len(), 2);
    assert_eq!(amount(&inv["total_excl"]), 4990 + 2900);
    assert_eq!(amount(&inv["total_vat"]), 998 + 580);
    let id = inv["id"].as_str().unwrap();
    let total = amount(&inv["total_incl"]);
    let (status, paid) = app
        .post_json(Some("atlas"), &format!("/api/v1/invoices/{id}/payments"), Some(&admin),
            &json!({"amount": total, "currency": "EUR", "method": "card_terminal", "note": "TPE 0042"}))
        .await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["status"], "paid");
    let (_, m) = app
        .get_json(Some("atlas"), &format!("/api/v1/memberships/{mid}"), &admin)
        .await;
    assert_eq!(m["status"], "active");
    // The money figures agree: nothing outstanding, the revenue of the month with its VAT.
    let (_, summary) = app
        .get_json(Some("atlas"), "/api/v1/money/summary", &admin)
        .await;
    assert_eq!(summary.as_array().unwrap().len(), 0, "{summary}");
    // The brand's today (Paris), not UTC's: they differ around midnight.
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let from = today.with_day(1).unwrap();
    let (status, revenue) = app
        .get_json(
            Some("atlas"),
            &format!(
                "/api/v1/money/revenue?from={from}&to={}",
                today + chrono::Duration::days(1)
            ),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{revenue}");
    assert_eq!(revenue[0]["total_incl"].as_i64(), Some(total));
    assert_eq!(revenue[0]["vat"][0]["vat"].as_i64(), Some(998 + 580));
    // Staff may not read money figures (admin only).
    let staff = app.token("atlas", "staff").await;
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/money/summary", &staff)
            .await,
        403
    );
}

/// Waits until the document's PDF job has run, and downloads the PDF.
pub(crate) async fn pdf_of(app: &TestApp, token: &str, id: &str, brand: &str) -> Vec<u8> {
    for _ in 0..100 {
        let response = app
            .get(Some(brand), &format!("/api/v1/invoices/{id}/pdf"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            200 => {
                assert_eq!(response.headers()["content-type"], "application/pdf");
                return response.bytes().await.unwrap().to_vec();
            }
            409 => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            other => panic!("PDF of {id}: {other} {}", response.text().await.unwrap()),
        }
    }
    panic!("the PDF of {id} was never rendered");
}

/// Runs the official Factur-X checks (XSD and EN 16931 Schematron) on a file; true when it passes.
fn facturx_valid(path: &std::path::Path) -> (bool, String) {
    let output = std::process::Command::new("python3")
        .arg(tessera_tests::repo_root().join("scripts/facturx/validate.py"))
        .arg(path)
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[tokio::test]
async fn every_document_is_a_valid_factur_x_pdf_and_a_wrong_total_fails() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let member = member_id(&app, "member").await;
    // A company paying for its employee (SIREN and VAT number: Factur-X matters most for it), several rates.
    let body = json!({"member_id": member, "finalise": true, "locale": "en",
        "company": {"name": "Dupont Conseil SARL", "siren": "732829320", "vat_number": "FR44732829320",
            "address": {"line1": "5 avenue de la République", "postal_code": "69002", "city": "Lyon", "country": "FR"}},
        "lines": [line("Corporate membership, November", 1, 4990, "standard"),
                  line("Nutrition consultation", 2, 4500, "health_exempt"),
                  line("Protein bar", 3, 250, "reduced")]});
    let inv = invoice(&app, &admin, &body).await;
    let id = inv["id"].as_str().unwrap().to_owned();
    // A consumer invoice in French, and a credit note correcting the first.
    let consumer = invoice(
        &app,
        &admin,
        &json!({"member_id": member, "finalise": true,
        "lines": [line("Abonnement mensuel", 1, 4990, "standard")]}),
    )
    .await;
    let (status, note) = app
        .post_json(Some("atlas"), "/api/v1/credit-notes", Some(&admin),
            &json!({"invoice_id": id, "reason": "Consultation annulée", "lines": [line("Nutrition consultation", 1, 4500, "health_exempt")]}))
        .await;
    assert_eq!(status, 201, "{note}");
    let dir = tempfile::tempdir().unwrap();
    for doc in [&inv, &consumer, &note] {
        let doc_id = doc["id"].as_str().unwrap();
        let pdf = pdf_of(&app, &admin, doc_id, "atlas").await;
        assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
        let path = dir.path().join(format!("{doc_id}.pdf"));
        std::fs::write(&path, &pdf).unwrap();
        let (valid, report) = facturx_valid(&path);
        assert!(
            valid,
            "{} is not valid Factur-X EN 16931: {report}",
            doc["number"]
        );
    }
    // The member reads their own PDF; another member cannot.
    let member_token = app.token("atlas", "member").await;
    assert!(!pdf_of(&app, &member_token, &id, "atlas").await.is_empty());
    let other = app.token("atlas", "member2").await;
    let status = app
        .get(Some("atlas"), &format!("/api/v1/invoices/{id}/pdf"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
    // The same checks refuse a document whose grand total was tampered with.
    let extract = std::process::Command::new("python3")
        .args(["-c", "import sys, facturx; open(sys.argv[2], 'wb').write(facturx.get_xml_from_pdf(open(sys.argv[1], 'rb').read(), check_xsd=False)[1])"])
        .arg(dir.path().join(format!("{id}.pdf")))
        .arg(dir.path().join("factur-x.xml"))
        .output()
        .unwrap();
    assert!(
        extract.status.success(),
        "{}",
        String::from_utf8_lossy(&extract.stderr)
    );
    let xml = std::fs::read_to_string(dir.path().join("factur-x.xml")).unwrap();
    let total = format!(
        "{}.{:02}",
        amount(&inv["total_incl"]) / 100,
        amount(&inv["total_incl"]) % 100
    );
    let needle = format!(">{total}</ram:GrandTotalAmount>");
    assert!(
        xml.contains(&needle),
        "grand total {total} not found in the XML"
    );
    let tampered = xml.replace(&needle, ">1.00</ram:GrandTotalAmount>");
    let bad = dir.path().join("tampered.xml");
    std::fs::write(&bad, tampered).unwrap();
    let (valid, _) = facturx_valid(&bad);
    assert!(!valid, "a wrong grand total must fail the official checks");
    let (valid, report) = facturx_valid(&dir.path().join("factur-x.xml"));
    assert!(valid, "the untouched XML passes: {report}");
}

#[tokio::test]
async fn a_plan_change_now_invoices_the_remaining_days_and_a_downgrade_is_credited() {
    let app = TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let member = member_id(&app, "member").await;
    let mut plans = Vec::new();
    for (code, price) in [("basic", 4990), ("premium", 7990)] {
        let mut plan = monthly_plan(code);
        plan["price"] = json!({"amount": price, "currency": "EUR"});
        let (status, plan) = app
            .post_json(Some("atlas"), "/api/v1/plans", Some(&admin), &plan)
            .await;
        assert_eq!(status, 201, "{plan}");
        plans.push(plan["id"].as_str().unwrap().to_owned());
    }
    let (membership, _) =
        crate::billing_stripe::active_membership(&app, &admin, &member, &plans[0]).await;
    let first = query_column(
        &app.db.url,
        &format!("SELECT id AS v FROM invoices WHERE membership_id = '{membership}' AND kind = 'invoice'"),
    );
    assert_eq!(first.len(), 1, "the sale's invoice");
    let first = first[0].clone().unwrap();
    let change = |plan: &str| {
        let (app, admin, path) = (
            &app,
            admin.clone(),
            format!("/api/v1/memberships/{membership}/plan-change"),
        );
        let body = json!({"plan_id": plan, "timing": "now"});
        async move {
            app.post_json(Some("atlas"), &path, Some(&admin), &body)
                .await
        }
    };
    let net_of = |doc: &str| {
        query_column(
            &app.db.url,
            &format!("SELECT CAST(unit_price AS TEXT) AS v FROM invoice_lines WHERE invoice_id = '{doc}'"),
        )
        .into_iter()
        .map(|v| v.unwrap().parse::<i64>().unwrap())
        .collect::<Vec<_>>()
    };

    // Up: the new plan's remaining days minus the old plan's unused ones, on a finalised invoice of its own.
    let (status, up) = change(&plans[1]).await;
    assert_eq!(status, 200, "{up}");
    let owed =
        up["proration"]["charge"].as_i64().unwrap() - up["proration"]["credit"].as_i64().unwrap();
    assert!(owed > 0, "{up}");
    let extra = query_column(&app.db.url, &format!(
        "SELECT id AS v FROM invoices WHERE membership_id = '{membership}' AND kind = 'invoice' AND id <> '{first}'"));
    assert_eq!(extra.len(), 1, "one invoice for the change");
    let extra = extra[0].clone().unwrap();
    assert_eq!(net_of(&extra), [owed]);
    let (_, doc) = app
        .get_json(Some("atlas"), &format!("/api/v1/invoices/{extra}"), &admin)
        .await;
    assert_eq!(doc["status"], "open", "{doc}");
    assert!(doc["number"].is_string(), "finalised: {doc}");

    // Down again the same day: the difference is credited on the current period's invoice.
    let (status, down) = change(&plans[0]).await;
    assert_eq!(status, 200, "{down}");
    let back = down["proration"]["credit"].as_i64().unwrap()
        - down["proration"]["charge"].as_i64().unwrap();
    assert!(back > 0, "{down}");
    let notes = query_column(&app.db.url, &format!(
        "SELECT id AS v FROM invoices WHERE kind = 'credit_note' AND corrects_invoice_id = '{first}'"));
    assert_eq!(notes.len(), 1, "one credit note for the downgrade");
    assert_eq!(net_of(notes[0].as_deref().unwrap()), [back]);
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM events WHERE event_type = 'invoice.credited'"
        ),
        1
    );
}
