//! Reports on a small fixed data set written straight into the database, checked against figures computed by
//! hand (in the comments), identical through the API and the CLI, and on both backends. The range is March and
//! April 2026 in Paris, across the change to summer time (29 March); some rows sit just outside it in UTC or in
//! local time.

use serde_json::{json, Value};
use tessera_tests::{execute, query_column, TestApp};

const RANGE: &str = "from=2026-03-01&to=2026-04-30";

fn one(url: &str, sql: &str) -> String {
    query_column(url, sql)[0].clone().unwrap()
}

fn account(url: &str, tenant: &str, email: &str) -> String {
    one(
        url,
        &format!("SELECT id AS v FROM accounts WHERE tenant_id = '{tenant}' AND email = '{email}'"),
    )
}

const NOW: &str = "'2026-03-01 00:00:00'";

fn plan(t: &str, id: &str, name: &str, kind: &str, period: &str, price: i64) -> String {
    format!(
        "INSERT INTO plans (tenant_id, id, code, name, description, translations_json, kind, price_amount, currency,
           billing_period, term_months, sessions, commitment_months, notice_days, enrolment_fee_amount, trial_days,
           freeze_max_days_per_year, access_json, visibility, status, created_at, updated_at)
         VALUES ('{t}', '{id}', '{id}', '{name}', '', '{{}}', '{kind}', {price}, 'EUR', {period}, NULL, NULL, 0, 0, 0,
           0, 0, '{{}}', 'public', 'active', {NOW}, {NOW})"
    )
}

#[allow(clippy::too_many_arguments)]
fn membership(
    t: &str,
    id: &str,
    account: &str,
    plan: (&str, &str, &str, &str, i64),
    status: &str,
    starts: &str,
    ends: &str,
) -> String {
    let (plan_id, name, kind, period, price) = plan;
    format!(
        "INSERT INTO memberships (tenant_id, id, account_id, plan_id, status, plan_name, kind, price_amount, currency,
           billing_period, term_months, commitment_months, notice_days, enrolment_fee_amount, trial_days,
           freeze_max_days_per_year, access_json, sessions_total, sessions_used, starts_on, commitment_until, ends_on,
           sold_online, concluded_at, created_at, updated_at)
         VALUES ('{t}', '{id}', '{account}', '{plan_id}', '{status}', '{name}', '{kind}', {price}, 'EUR', {period},
           NULL, 0, 0, 0, 0, 0, '{{}}', NULL, 0, '{starts}', '{starts}', {ends}, FALSE, {NOW}, {NOW}, {NOW})"
    )
}

/// An invoice or credit note: inserted as a draft, its lines added, then finalised (the triggers refuse lines
/// on a finalised document).
#[allow(clippy::too_many_arguments)]
fn document(
    t: &str,
    id: &str,
    kind: &str,
    account: &str,
    membership: &str,
    currency: &str,
    lines: &[(i64, i64, i64)],
    issued: &str,
    status: &str,
    paid: i64,
    credited: i64,
) -> Vec<String> {
    let mut excl = 0;
    let mut by_rate = std::collections::BTreeMap::new();
    let mut out = vec![format!(
        "INSERT INTO invoices (tenant_id, id, kind, status, account_id, payer_account_id, buyer_json, membership_id,
           currency, total_excl, total_vat, total_incl, amount_paid, amount_credited, locale, attempts, created_at,
           updated_at)
         VALUES ('{t}', '{id}', '{kind}', 'draft', '{account}', '{account}', '{{}}', {membership}, '{currency}', 0, 0,
           0, 0, 0, 'fr', 0, {NOW}, {NOW})"
    )];
    for (position, (quantity, unit, rate)) in lines.iter().enumerate() {
        let net = quantity * unit;
        excl += net;
        *by_rate.entry(*rate).or_insert(0i64) += net;
        out.push(format!(
            "INSERT INTO invoice_lines (tenant_id, invoice_id, position, item, description, goods, quantity,
               unit_price, vat_code, vat_rate_bps, net_amount)
             VALUES ('{t}', '{id}', {}, 'service', 'line', FALSE, {quantity}, {unit}, 'standard', {rate}, {net})",
            position + 1
        ));
    }
    // Half up, once per rate: the rule the reports must reproduce.
    let vat: i64 = by_rate
        .iter()
        .map(|(rate, taxable)| (taxable * rate + 5_000) / 10_000)
        .sum();
    out.push(format!(
        "UPDATE invoices SET status = '{status}', number = '{id}', series = '{id}', sequence_no = 1,
           total_excl = {excl}, total_vat = {vat}, total_incl = {}, amount_paid = {paid}, amount_credited = {credited},
           issued_on = '{issued}', due_on = '{issued}', finalised_at = {NOW}
         WHERE tenant_id = '{t}' AND id = '{id}'",
        excl + vat
    ));
    out
}

#[allow(clippy::too_many_arguments)]
fn payment(
    t: &str,
    id: &str,
    invoice: &str,
    account: &str,
    provider: &str,
    method: &str,
    status: &str,
    amount: i64,
    refunded: i64,
    at: &str,
) -> String {
    let settled = if status == "succeeded" {
        format!("'{at}'")
    } else {
        "NULL".into()
    };
    format!(
        "INSERT INTO payments (tenant_id, id, invoice_id, account_id, provider, method, status, amount, currency,
           attempt, idempotency_key, refunded_amount, created_at, updated_at, settled_at)
         VALUES ('{t}', '{id}', '{invoice}', '{account}', '{provider}', '{method}', '{status}', {amount}, 'EUR', 1,
           '{id}', {refunded}, '{at}', '{at}', {settled})"
    )
}

fn passage(
    t: &str,
    id: &str,
    location: &str,
    direction: &str,
    decision: &str,
    reason: &str,
    at: &str,
) -> String {
    let (kind, override_of) = if reason == "override" {
        ("override", "'acx_refused'")
    } else {
        ("card", "NULL")
    };
    let reason = if decision == "allow" {
        "NULL".to_owned()
    } else {
        format!("'{reason}'")
    };
    format!(
        "INSERT INTO access_events (tenant_id, id, location_id, credential_kind, direction, decision, reason, source,
           flagged, override_of, occurred_at, recorded_at)
         VALUES ('{t}', '{id}', '{location}', '{kind}', '{direction}', '{decision}', {reason}, 'online', FALSE,
           {override_of}, '{at}', '{at}')"
    )
}

fn session(t: &str, id: &str, pro: &str, starts: &str, ends: &str, status: &str) -> String {
    format!(
        "INSERT INTO class_sessions (tenant_id, id, schedule_id, class_type, pro_id, location_id, room_id, starts_at,
           ends_at, capacity, next_seq, status, created_at)
         VALUES ('{t}', '{id}', 'sch_{id}', 'yoga', '{pro}', 'loc_central', 'room_{id}', '{starts}', '{ends}', 10, 1,
           '{status}', {NOW})"
    )
}

fn booking(
    t: &str,
    id: &str,
    session: &str,
    member: &str,
    status: &str,
    checked_in: bool,
) -> String {
    let checked = if checked_in {
        "'2026-03-03 17:01:00'"
    } else {
        "NULL"
    };
    // Each booking its own place in the queue: `b2` is second.
    let seq: i64 = id[1..].parse().unwrap();
    format!(
        "INSERT INTO class_bookings (tenant_id, id, session_id, member_id, status, seq, consumed, price_amount,
           price_currency, created_by, created_at, updated_at, checked_in_at)
         VALUES ('{t}', '{id}', '{session}', '{member}', '{status}', {seq}, FALSE, 0, 'EUR', '{member}', {NOW}, {NOW},
           {checked})"
    )
}

/// Writes the data set (see the module documentation and each check for the figures).
fn seed(url: &str) {
    let a = one(url, "SELECT id AS v FROM tenants WHERE slug = 'atlas'");
    let l = one(url, "SELECT id AS v FROM tenants WHERE slug = 'lumiere'");
    let m1 = account(url, &a, "member@atlas.test");
    let m2 = account(url, &a, "member2@atlas.test");
    let m3 = account(url, &a, "staff@atlas.test");
    let coach = account(url, &a, "coach@atlas.test");
    let lm = account(url, &l, "member@lumiere.test");
    let monthly = ("pln_m", "Mensuel", "recurring", "'month'", 4_000);
    let yearly = ("pln_y", "Annuel", "recurring", "'year'", 48_000);
    let pack = ("pln_p", "Pack 10", "pack", "NULL", 12_000);
    let mut sql = vec![
        plan(&a, "pln_m", "Mensuel", "recurring", "'month'", 4_000),
        plan(&a, "pln_y", "Annuel", "recurring", "'year'", 48_000),
        plan(&a, "pln_p", "Pack 10", "pack", "NULL", 12_000),
        membership(&a, "ms1", &m1, monthly, "active", "2026-01-15", "NULL"),
        membership(&a, "ms2", &m2, yearly, "active", "2026-03-10", "NULL"),
        membership(
            &a,
            "ms3",
            &m3,
            monthly,
            "cancelled",
            "2026-02-01",
            "'2026-03-31'",
        ),
        membership(&a, "ms4", &m1, pack, "active", "2026-04-05", "'2026-10-05'"),
        format!(
            "INSERT INTO locations (tenant_id, id, name, time_zone, created_at, updated_at)
             VALUES ('{a}', 'loc_central', 'Club Central', 'Europe/Paris', {NOW}, {NOW}),
                    ('{a}', 'loc_annexe', 'Annexe', 'Europe/Paris', {NOW}, {NOW})"
        ),
    ];
    // I1 March, paid in cash, later credited 12.00 by C1; I2 March, open and overdue, 20% VAT on 509.99 =
    // 101.998 → 102.00; I3 April, 5.5% of 10.00 = 0.55 and 20% of 9.99 = 1.998 → 2.00, 10.00 paid; I4 in May
    // (outside the range, but owed today); D1 a draft (never counted).
    sql.extend(document(
        &a,
        "i1",
        "invoice",
        &m1,
        "'ms1'",
        "EUR",
        &[(1, 4_000, 2_000)],
        "2026-03-05",
        "paid",
        4_800,
        1_200,
    ));
    sql.extend(document(
        &a,
        "i2",
        "invoice",
        &m2,
        "'ms2'",
        "EUR",
        &[(1, 48_000, 2_000), (1, 2_999, 2_000)],
        "2026-03-10",
        "open",
        0,
        0,
    ));
    sql.extend(document(
        &a,
        "i3",
        "invoice",
        &m1,
        "NULL",
        "EUR",
        &[(1, 1_000, 550), (3, 333, 2_000)],
        "2026-04-02",
        "open",
        1_000,
        0,
    ));
    sql.extend(document(
        &a,
        "c1",
        "credit_note",
        &m1,
        "NULL",
        "EUR",
        &[(1, 1_000, 2_000)],
        "2026-04-10",
        "issued",
        0,
        0,
    ));
    sql.extend(document(
        &a,
        "i4",
        "invoice",
        &m3,
        "NULL",
        "EUR",
        &[(1, 5_000, 2_000)],
        "2026-05-01",
        "open",
        0,
        0,
    ));
    sql.push(format!(
        "INSERT INTO invoices (tenant_id, id, kind, status, account_id, payer_account_id, buyer_json, currency,
           total_excl, total_vat, total_incl, amount_paid, amount_credited, locale, attempts, created_at, updated_at)
         VALUES ('{a}', 'd1', 'invoice', 'draft', '{m1}', '{m1}', '{{}}', 'EUR', 0, 0, 0, 0, 0, 'fr', 0, {NOW}, {NOW})"
    ));
    // Lumière: one GBP invoice, open: 100.00 + 20.00 VAT.
    sql.extend(document(
        &l,
        "li1",
        "invoice",
        &lm,
        "NULL",
        "GBP",
        &[(1, 10_000, 2_000)],
        "2026-03-15",
        "open",
        0,
        0,
    ));
    // P2 settles at 22:30 UTC on 31 March: 00:30 on 1 April in Paris (summer time). P4 at 23:59 on 28 February
    // in Paris: outside.
    sql.extend([
        payment(
            &a,
            "p1",
            "i1",
            &m1,
            "manual",
            "cash",
            "succeeded",
            4_800,
            0,
            "2026-03-05 09:00:00",
        ),
        payment(
            &a,
            "p2",
            "i3",
            &m1,
            "stripe",
            "card",
            "succeeded",
            1_000,
            200,
            "2026-03-31 22:30:00",
        ),
        payment(
            &a,
            "p3",
            "i2",
            &m2,
            "stripe",
            "card",
            "failed",
            61_199,
            0,
            "2026-03-12 08:00:00",
        ),
        payment(
            &a,
            "p4",
            "i1",
            &m1,
            "manual",
            "cash",
            "succeeded",
            100,
            0,
            "2026-02-28 22:59:00",
        ),
    ]);
    // Door: Paris is UTC+1 until 29 March, UTC+2 after.
    sql.extend([
        passage(
            &a,
            "e1",
            "loc_central",
            "in",
            "allow",
            "",
            "2026-03-02 07:15:00",
        ), // Mon 08h
        passage(
            &a,
            "e2",
            "loc_central",
            "in",
            "allow",
            "",
            "2026-03-02 07:45:00",
        ), // Mon 08h
        passage(
            &a,
            "e3",
            "loc_central",
            "in",
            "deny",
            "payment_overdue",
            "2026-03-02 07:50:00",
        ), // Mon 08h
        passage(
            &a,
            "e4",
            "loc_central",
            "out",
            "allow",
            "",
            "2026-03-02 09:00:00",
        ), // an exit: never counted
        passage(
            &a,
            "e5",
            "loc_annexe",
            "in",
            "allow",
            "",
            "2026-03-30 06:10:00",
        ), // Mon 08h (summer time)
        passage(
            &a,
            "e6",
            "loc_annexe",
            "in",
            "allow",
            "override",
            "2026-04-04 16:00:00",
        ), // Sat 18h, override
        passage(
            &a,
            "e7",
            "loc_annexe",
            "in",
            "deny",
            "unknown_credential",
            "2026-04-04 16:05:00",
        ), // Sat 18h
        passage(
            &a,
            "e8",
            "loc_central",
            "in",
            "allow",
            "",
            "2026-02-28 23:30:00",
        ), // Sun 1 March 00h30
        passage(
            &a,
            "e9",
            "loc_central",
            "in",
            "allow",
            "",
            "2026-04-30 22:30:00",
        ), // 1 May 00h30: outside
    ]);
    // Classes, both on Tuesdays at 18h Paris: cs1 (60 min, 3 bookings of which one cancelled, one checked in),
    // cs2 cancelled, cs3 (45 min, one booking checked in).
    sql.extend([
        session(&a, "cs1", &coach, "2026-03-03 17:00:00", "2026-03-03 18:00:00", "scheduled"),
        session(&a, "cs2", &coach, "2026-03-03 17:00:00", "2026-03-03 18:00:00", "cancelled"),
        session(&a, "cs3", &coach, "2026-04-07 16:00:00", "2026-04-07 16:45:00", "scheduled"),
        booking(&a, "b1", "cs1", &m1, "booked", true),
        booking(&a, "b2", "cs1", &m2, "booked", false),
        booking(&a, "b3", "cs1", &m3, "cancelled", false),
        booking(&a, "b4", "cs3", &m1, "booked", true),
        format!(
            "INSERT INTO appointments (tenant_id, id, service_id, pro_id, member_id, starts_at, ends_at, block_start,
               block_end, status, price_amount, price_currency, created_by, created_at, updated_at)
             VALUES ('{a}', 'ap1', 'svc', '{coach}', '{m1}', '2026-03-04 10:00:00', '2026-03-04 10:30:00',
               '2026-03-04 10:00:00', '2026-03-04 10:30:00', 'booked', 0, 'EUR', '{m1}', {NOW}, {NOW}),
                    ('{a}', 'ap2', 'svc', '{coach}', '{m1}', '2026-03-05 10:00:00', '2026-03-05 11:00:00',
               '2026-03-05 10:00:00', '2026-03-05 11:00:00', 'cancelled', 0, 'EUR', '{m1}', {NOW}, {NOW})"
        ),
        format!(
            "INSERT INTO clock_entries (tenant_id, id, pro_id, clock_in_at, clock_out_at)
             VALUES ('{a}', 'ce1', '{coach}', '2026-03-04 08:00:00', '2026-03-04 12:00:00'),
                    ('{a}', 'ce2', '{coach}', '2026-03-06 08:00:00', NULL),
                    ('{a}', 'ce3', '{coach}', '2026-05-04 08:00:00', '2026-05-04 09:00:00')"
        ),
    ]);
    for statement in sql {
        execute(url, &statement);
    }
}

/// The report as the API returns it, for `who` of atlas.
async fn api(app: &TestApp, token: &str, name: &str, extra: &str) -> Value {
    let (status, body) = app
        .get_json(
            Some("atlas"),
            &format!("/api/v1/reports/{name}?{RANGE}{extra}"),
            token,
        )
        .await;
    assert_eq!(status, 200, "{name}: {body}");
    body
}

/// The rows as `[column key → cell]` objects with only the keys asked for, for compact comparisons.
fn pick(report: &Value, keys: &[&str]) -> Vec<Value> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let mut out = serde_json::Map::new();
            for key in keys {
                out.insert((*key).to_owned(), row[*key].clone());
            }
            Value::Object(out)
        })
        .collect()
}

/// The CLI's JSON for the same report: identical columns, rows and totals.
fn same_through_cli(app: &TestApp, api_report: &Value, args: &[&str]) {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend_from_slice(&[
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-30",
        "--format",
        "json",
    ]);
    let out = app.cli(&all);
    assert!(
        out.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "name", "title", "tenant", "from", "to", "columns", "rows", "totals", "chart",
    ] {
        assert_eq!(cli[key], api_report[key], "{all:?}: {key} differs");
    }
}

#[tokio::test]
async fn money_reports_match_hand_computed_figures() {
    let app = TestApp::spawn().await;
    seed(&app.db.url);
    let admin = app.token("atlas", "admin").await;

    // Revenue by month. March: I1 40.00 + 8.00, I2 509.99 + 102.00. April: I3 19.99 + 2.55 less C1 10.00 + 2.00.
    let revenue = api(&app, &admin, "revenue", "").await;
    assert_eq!(revenue["tenant"], "atlas");
    assert_eq!(
        pick(
            &revenue,
            &[
                "month",
                "invoices",
                "credit_notes",
                "net",
                "vat",
                "gross",
                "taxable_2000",
                "vat_2000",
                "taxable_550",
                "vat_550"
            ]
        ),
        vec![
            json!({"month": "2026-03", "invoices": 2, "credit_notes": 0, "net": "549.99", "vat": "110.00",
                   "gross": "659.99", "taxable_2000": "549.99", "vat_2000": "110.00", "taxable_550": "0.00", "vat_550": "0.00"}),
            json!({"month": "2026-04", "invoices": 1, "credit_notes": 1, "net": "9.99", "vat": "0.55",
                   "gross": "10.54", "taxable_2000": "-0.01", "vat_2000": "0.00", "taxable_550": "10.00", "vat_550": "0.55"}),
        ]
    );
    assert_eq!(revenue["totals"]["net"], "559.98");
    assert_eq!(revenue["totals"]["vat"], "110.55");
    assert_eq!(revenue["totals"]["gross"], "670.53");
    assert_eq!(revenue["totals"]["invoices"], 3);
    same_through_cli(&app, &revenue, &["revenue", "--tenant", "atlas"]);

    let by_plan = api(&app, &admin, "revenue", "&by=plan").await;
    assert_eq!(
        pick(&by_plan, &["plan", "net", "vat", "gross"]),
        vec![
            json!({"plan": "Annuel", "net": "509.99", "vat": "102.00", "gross": "611.99"}),
            json!({"plan": "Mensuel", "net": "40.00", "vat": "8.00", "gross": "48.00"}),
            json!({"plan": "other", "net": "9.99", "vat": "0.55", "gross": "10.54"}),
        ]
    );
    let by_vat = api(&app, &admin, "revenue", "&by=vat").await;
    assert_eq!(
        pick(&by_vat, &["rate", "taxable", "vat", "gross"]),
        vec![
            json!({"rate": "20.00", "taxable": "549.98", "vat": "110.00", "gross": "659.98"}),
            json!({"rate": "5.50", "taxable": "10.00", "vat": "0.55", "gross": "10.55"}),
        ]
    );
    // Collected by method, by local month of settlement: P2 falls in April in Paris; P4 is February there.
    let by_method = api(&app, &admin, "revenue", "&by=method").await;
    assert_eq!(
        pick(
            &by_method,
            &[
                "month",
                "provider",
                "method",
                "payments",
                "collected",
                "refunded",
                "net"
            ]
        ),
        vec![
            json!({"month": "2026-03", "provider": "manual", "method": "cash", "payments": 1, "collected": "48.00", "refunded": "0.00", "net": "48.00"}),
            json!({"month": "2026-04", "provider": "stripe", "method": "card", "payments": 1, "collected": "10.00", "refunded": "2.00", "net": "8.00"}),
        ]
    );
    same_through_cli(
        &app,
        &by_method,
        &["revenue", "--tenant", "atlas", "--by", "method"],
    );

    // MRR: end of March 40 (ms1) + 480/12 (ms2) + 40 (ms3, ends 31 March) = 120.00, three members, one new (ms2).
    // End of April: ms1 + ms2 = 80.00 (the pack is no recurring revenue but its member counts), ms3's member
    // churned.
    let mrr = api(&app, &admin, "mrr", "").await;
    assert_eq!(
        pick(
            &mrr,
            &[
                "month",
                "mrr",
                "active_members",
                "new_members",
                "churned_members",
                "net_members"
            ]
        ),
        vec![
            json!({"month": "2026-03", "mrr": "120.00", "active_members": 3, "new_members": 1, "churned_members": 0, "net_members": 1}),
            json!({"month": "2026-04", "mrr": "80.00", "active_members": 2, "new_members": 0, "churned_members": 1, "net_members": -1}),
        ]
    );
    same_through_cli(&app, &mrr, &["mrr", "--tenant", "atlas"]);

    // Receivables today: I2 611.99 (failed once in March), I4 60.00, I3 22.54 - 10.00 = 12.54; all past due.
    let receivables = api(&app, &admin, "receivables", "").await;
    assert_eq!(
        pick(
            &receivables,
            &[
                "open_invoices",
                "outstanding",
                "overdue",
                "failed_payments",
                "failed_amount",
                "oldest_due_on"
            ]
        ),
        vec![
            json!({"open_invoices": 1, "outstanding": "611.99", "overdue": "611.99", "failed_payments": 1, "failed_amount": "611.99", "oldest_due_on": "2026-03-10"}),
            json!({"open_invoices": 1, "outstanding": "60.00", "overdue": "60.00", "failed_payments": 0, "failed_amount": "0.00", "oldest_due_on": "2026-05-01"}),
            json!({"open_invoices": 1, "outstanding": "12.54", "overdue": "12.54", "failed_payments": 0, "failed_amount": "0.00", "oldest_due_on": "2026-04-02"}),
        ]
    );
    assert_eq!(receivables["rows"][0]["name"], "member2 of atlas");
    assert_eq!(receivables["totals"]["outstanding"], "684.53");
    same_through_cli(&app, &receivables, &["receivables", "--tenant", "atlas"]);

    // CSV: a standard parser reads the same cells.
    let response = app
        .get(
            Some("atlas"),
            &format!("/api/v1/reports/revenue?{RANGE}&format=csv"),
        )
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let keys: Vec<String> = revenue["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(header, keys);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        &records[1][keys.iter().position(|k| k == "gross").unwrap()],
        "10.54"
    );
    let out = app.cli(&[
        "report",
        "revenue",
        "--tenant",
        "atlas",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-30",
        "--format",
        "csv",
    ]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        text.trim_end()
    );

    // Group: every brand in EUR; Lumière's 100.00 GBP at 1.17 is 117.00, its 120.00 GBP owed 140.40.
    let ops = app.operator_token().await;
    let (status, group) = app
        .get_json(None, &format!("/api/v1/reports/group?{RANGE}"), &ops)
        .await;
    assert_eq!(status, 200, "{group}");
    assert_eq!(
        pick(
            &group,
            &[
                "brand",
                "revenue",
                "collected",
                "outstanding",
                "mrr",
                "active_members",
                "checkins"
            ]
        ),
        vec![
            json!({"brand": "atlas", "revenue": "559.98", "collected": "56.00", "outstanding": "684.53", "mrr": "80.00", "active_members": 2, "checkins": 5}),
            json!({"brand": "forge", "revenue": "0.00", "collected": "0.00", "outstanding": "0.00", "mrr": "0.00", "active_members": 0, "checkins": 0}),
            json!({"brand": "lumiere", "revenue": "117.00", "collected": "0.00", "outstanding": "140.40", "mrr": "0.00", "active_members": 0, "checkins": 0}),
        ]
    );
    assert_eq!(group["totals"]["revenue"], "676.98");
    same_through_cli(&app, &group, &["group"]);
}

#[tokio::test]
async fn activity_reports_match_hand_computed_figures() {
    let app = TestApp::spawn().await;
    seed(&app.db.url);
    let staff = app.token("atlas", "staff").await;

    // Members by plan today: ms1 and ms2 run; ms3 was cancelled (ended 31 March), the pack ended in October.
    let members = api(&app, &staff, "members", "").await;
    assert_eq!(
        pick(&members, &["plan", "active", "started", "ended"]),
        vec![
            json!({"plan": "Annuel", "active": 1, "started": 1, "ended": 0}),
            json!({"plan": "Mensuel", "active": 1, "started": 0, "ended": 1}),
            json!({"plan": "Pack 10", "active": 0, "started": 1, "ended": 0}),
        ]
    );
    same_through_cli(&app, &members, &["members", "--tenant", "atlas"]);

    // Attendance: Mondays at 8 (three entries over nine Mondays, one refusal), Saturdays at 18 (eight
    // Saturdays), Sunday 1 March at 0; classes on Tuesdays at 18: 3 of 20 places booked, 2 attended.
    let attendance = api(&app, &staff, "attendance", "").await;
    assert_eq!(
        pick(
            &attendance,
            &[
                "slot",
                "entries",
                "refusals",
                "entries_per_day",
                "class_sessions",
                "booked",
                "attended",
                "occupancy"
            ]
        ),
        vec![
            json!({"slot": "Mon 08h", "entries": 3, "refusals": 1, "entries_per_day": "0.3", "class_sessions": 0, "booked": 0, "attended": 0, "occupancy": null}),
            json!({"slot": "Tue 18h", "entries": 0, "refusals": 0, "entries_per_day": "0.0", "class_sessions": 2, "booked": 3, "attended": 2, "occupancy": "10.0"}),
            json!({"slot": "Sat 18h", "entries": 1, "refusals": 1, "entries_per_day": "0.1", "class_sessions": 0, "booked": 0, "attended": 0, "occupancy": null}),
            json!({"slot": "Sun 00h", "entries": 1, "refusals": 0, "entries_per_day": "0.1", "class_sessions": 0, "booked": 0, "attended": 0, "occupancy": null}),
        ]
    );
    same_through_cli(&app, &attendance, &["attendance", "--tenant", "atlas"]);

    // Pro hours: one 30-minute appointment, 60 + 45 minutes of classes (1.75 h shows 1.8), 4 hours clocked.
    let pro = api(&app, &staff, "pro-hours", "").await;
    assert_eq!(
        pick(
            &pro,
            &[
                "name",
                "appointments",
                "appointment_hours",
                "classes",
                "class_hours",
                "service_hours",
                "clocked_hours"
            ]
        ),
        vec![
            json!({"name": "coach of atlas", "appointments": 1, "appointment_hours": "0.5", "classes": 2,
                    "class_hours": "1.8", "service_hours": "2.3", "clocked_hours": "4.0"})
        ]
    );
    same_through_cli(&app, &pro, &["pro-hours", "--tenant", "atlas"]);

    // Check-ins by location: the Annexe 2 allowed (one an override) and 1 refused; the Club 3 and 1.
    let checkins = api(&app, &staff, "checkins", "").await;
    assert_eq!(
        pick(
            &checkins,
            &["location", "result", "count", "share", "overrides"]
        ),
        vec![
            json!({"location": "Annexe", "result": "allow", "count": 2, "share": "66.7", "overrides": 1}),
            json!({"location": "Annexe", "result": "deny: unknown_credential", "count": 1, "share": "33.3", "overrides": 0}),
            json!({"location": "Club Central", "result": "allow", "count": 3, "share": "75.0", "overrides": 0}),
            json!({"location": "Club Central", "result": "deny: payment_overdue", "count": 1, "share": "25.0", "overrides": 0}),
        ]
    );
    same_through_cli(&app, &checkins, &["checkins", "--tenant", "atlas"]);
}

#[tokio::test]
async fn reports_check_roles_realms_and_input() {
    let app = TestApp::spawn().await;
    let staff = app.token("atlas", "staff").await;
    let member = app.token("atlas", "member").await;
    let admin = app.token("atlas", "admin").await;

    // The list is the realm's.
    let (status, list) = app.get_json(Some("atlas"), "/api/v1/reports", &staff).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "revenue",
            "mrr",
            "members",
            "attendance",
            "pro-hours",
            "receivables",
            "checkins"
        ]
    );
    let ops = app.operator_token().await;
    let (_, group_list) = app.get_json(None, "/api/v1/reports", &ops).await;
    assert_eq!(group_list[0]["name"], "group");

    // Staff read operational reports, not money ones; members neither; the group report is not on a brand.
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/reports/checkins", &staff)
            .await,
        200
    );
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/reports/revenue", &staff)
            .await,
        403
    );
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/reports/members", &member)
            .await,
        403
    );
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/reports/revenue", &admin)
            .await,
        200
    );
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/reports/group", &admin)
            .await,
        404
    );
    assert_eq!(
        app.get_status(None, "/api/v1/reports/revenue", &ops).await,
        404
    );
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/reports/nonsense", &admin)
            .await,
        404
    );

    for (query, field) in [
        ("from=2026-05-01&to=2026-04-01", "to"),
        ("from=2010-01-01&to=2026-04-01", "to"),
        ("by=week", "by"),
        ("format=xml", "format"),
    ] {
        let (status, problem) = app
            .get_json(
                Some("atlas"),
                &format!("/api/v1/reports/revenue?{query}"),
                &admin,
            )
            .await;
        assert_eq!(status, 422, "{query}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    let (status, problem) = app
        .get_json(
            Some("atlas"),
            "/api/v1/reports/revenue?from=yesterday",
            &admin,
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "invalid_query", "{problem}");

    // The CLI: one clear line and a failure for what it cannot do.
    for (args, message) in [
        (vec!["report", "revenue"], "--tenant SLUG, or --all"),
        (
            vec!["report", "revenue", "--tenant", "nowhere"],
            "no brand \"nowhere\"",
        ),
        (
            vec!["report", "group", "--tenant", "atlas"],
            "leave out --tenant",
        ),
        (
            vec![
                "report",
                "revenue",
                "--tenant",
                "atlas",
                "--from",
                "2026-05-01",
                "--to",
                "2026-04-01",
            ],
            "before",
        ),
    ] {
        let out = app.cli(&args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let out = app.cli(&["report", "nonsense", "--tenant", "atlas"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses an unknown report");

    // --all: every brand's rows under a brand column; piped output has no progress bar.
    let out = app.cli(&["report", "members", "--all", "--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("brand,plan,"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).is_empty());
}
