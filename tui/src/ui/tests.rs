//! Rendering tests on ratatui's `TestBackend`: every screen at 80x24 and 160x48, asserting on visible text.

use super::draw;
use crate::app::{Action, App, Confirm, Input, MemberPage, Popup, Screen, Section};
use crate::report::{Report, ReportInfo};
use chrono::NaiveDate;
use ratatui::{backend::TestBackend, Terminal};
use serde_json::json;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// The screen's text, one string per row.
fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn each_size(app: &App, expected: &[&str]) {
    for (w, h) in SIZES {
        let text = render(app, w, h);
        for e in expected {
            assert!(text.contains(e), "{e:?} missing at {w}x{h}:\n{text}");
        }
    }
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

fn logged_in(screen: Screen) -> App {
    let mut app = App::new(
        "http://127.0.0.1:9".into(),
        "atlas".into(),
        "ana@atlas.test".into(),
        today(),
    );
    app.logged_in = true;
    app.input = None;
    app.screen = screen;
    app
}

#[test]
fn login_masks_the_password() {
    let mut app = App::new(
        "http://127.0.0.1:9".into(),
        "atlas".into(),
        "ana@atlas.test".into(),
        today(),
    );
    app.password = "secret".into();
    each_size(
        &app,
        &[
            "Log in",
            "ana@atlas.test",
            "Password: ******",
            "Tenant:   atlas",
        ],
    );
    assert!(!render(&app, 80, 24).contains("secret"));
}

#[test]
fn dashboard_shows_figures_and_alerts() {
    let mut app = logged_in(Screen::Dashboard);
    app.today =
        Some(json!({"date": "2026-11-26", "new_members": 3, "appointments": {"booked": 7}}));
    app.occupancy =
        vec![json!({"location": "République", "count": 2, "names": ["Ana Quinta", "Léo Roy"]})];
    app.hourly = vec![
        0, 0, 0, 0, 0, 0, 3, 8, 5, 2, 1, 0, 4, 6, 2, 1, 3, 9, 12, 7, 2, 0, 0, 0,
    ];
    app.money = Some(vec![
        json!({"currency": "EUR", "outstanding": {"amount": 12000, "currency": "EUR"},
        "overdue": {"amount": 4900, "currency": "EUR"}, "open_invoices": 3, "members_overdue": 1}),
    ]);
    app.failed_payments = Some(2);
    each_size(
        &app,
        &[
            "1 Today",
            "6 Jobs",
            "new members: 3",
            "appointments: booked 7",
            "Inside République: 2",
            "Ana Quinta, Léo Roy",
            "Entries by hour",
            "failed payments (24 h): 2",
            "EUR: outstanding 120.00 EUR, overdue 49.00 EUR (1 members)",
        ],
    );
}

#[test]
fn member_search_and_page() {
    let mut app = logged_in(Screen::Members);
    app.query = "ana".into();
    app.input = Some(Input::Search);
    app.members = vec![
        json!({"id": "m1", "given_name": "Ana", "family_name": "Quinta", "card_number": "C-001", "status": "active"}),
    ];
    app.members_for = "ana".into();
    each_size(
        &app,
        &["ana_", "Quinta", "C-001", "Members matching \"ana\" (1)"],
    );
    app.input = None;
    app.member = Some(MemberPage {
        profile: json!({"id": "m1", "given_name": "Ana", "family_name": "Quinta", "email": "ana@q.test"}),
        memberships: vec![
            json!({"id": "mem1", "plan_name": "Gold", "status": "active", "starts_on": "2026-01-01"}),
        ],
        invoices: vec![
            json!({"id": "i1", "number": "2026-0042", "status": "open", "outstanding": {"amount": "49.00", "currency": "EUR"}}),
        ],
        credentials: Some(vec![
            json!({"id": "crd1", "kind": "card", "value": "100000000042", "status": "revoked"}),
        ]),
        checkins: vec![
            json!({"id": "ace1", "occurred_at": "09:01", "decision": "deny", "reason": "no_membership"}),
        ],
        notes: vec![json!({"body": "prefers mornings"})],
        body: None,
        ..MemberPage::default()
    });
    each_size(
        &app,
        &[
            "Ana Quinta",
            "Invoices (p pay, s resend)",
            "2026-0042",
            "49.00 EUR",
            "Gold active",
            "not allowed",
            "prefers mornings",
        ],
    );
    app.input = Some(Input::Amount);
    app.prompt = "12.5".into();
    each_size(&app, &["amount paid (e.g. 12.50): 12.5_"]);
    app.input = None;
    for (section, expected) in [
        (
            Section::Memberships,
            ["Memberships (f freeze, c cancel)", "2026-01-01"],
        ),
        (
            Section::Credentials,
            ["Credentials (n new card, x revoke)", "100000000042"],
        ),
        (
            Section::Checkins,
            ["Check-ins (o override a denial)", "no_membership"],
        ),
    ] {
        app.section = section;
        each_size(&app, &expected);
    }
    app.member.as_mut().unwrap().credentials = None;
    app.section = Section::Credentials;
    each_size(&app, &["not allowed"]);
    app.confirm = Some(Confirm {
        question: "Cancel? Last day of access 2026-12-31. y/n".into(),
        action: Action::Quit,
    });
    each_size(&app, &["Cancel? Last day of access 2026-12-31. y/n"]);
}

#[test]
fn feed_devices_and_jobs() {
    let mut app = logged_in(Screen::Feed);
    app.feed = vec![
        json!({"occurred_at": "10:00", "who": "Ana Quinta", "decision": "deny", "reason": "membership_frozen"}),
    ];
    each_size(
        &app,
        &["not live", "Ana Quinta", "deny", "membership_frozen"],
    );
    app.live = true;
    each_size(&app, &["Check-ins — live"]);
    app.screen = Screen::Devices;
    app.devices = vec![
        json!({"name": "Front door", "kind": "door", "status": "active", "firmware": "1.2.3"}),
    ];
    each_size(&app, &["Front door", "active", "1.2.3", "n pair, x revoke"]);
    app.popup = Some(Popup {
        title: "Pairing code (any key closes)".into(),
        lines: vec!["Code: ABCD-EFGH".into(), "█▀▀▀█".into()],
    });
    each_size(&app, &["Pairing code", "Code: ABCD-EFGH", "█▀▀▀█"]);
    app.popup = None;
    app.screen = Screen::Jobs;
    each_size(&app, &["Failed jobs and webhook deliveries", "(nothing)"]);
    app.jobs = vec![
        json!({"what": "job", "kind": "email.send", "status": "dead", "attempts": 5, "error": "smtp: refused"}),
    ];
    app.busy = 1;
    each_size(&app, &["email.send", "smtp: refused", "working…"]);
}

#[test]
fn reports_list_and_any_report_with_a_chart() {
    let mut app = logged_in(Screen::Reports);
    app.reports = vec![ReportInfo {
        name: "revenue".into(),
        title: "Revenue".into(),
        description: "Money in".into(),
    }];
    each_size(&app, &["Revenue", "Money in"]);
    let fixture = json!({
        "name": "revenue", "title": "Revenue by day", "tenant": "atlas", "from": "2026-11-01", "to": "2026-11-03",
        "columns": [{"key": "day", "label": "Day", "kind": "date"}, {"key": "total", "label": "Total", "kind": "money"}],
        "rows": [{"day": "2026-11-01", "total": "120.50"}, {"day": "2026-11-02", "total": "80.00"}],
        "totals": {"day": "Total", "total": "200.50"},
        "chart": {"kind": "bar", "x": "day", "series": ["total"]}
    });
    app.report = Some(serde_json::from_value::<Report>(fixture).unwrap());
    each_size(
        &app,
        &["Revenue by day", "120.50", "200.50", "total by day"],
    );
    let mrr = json!({
        "name": "mrr", "title": "Recurring revenue", "tenant": "atlas", "from": "2026-01-01", "to": "2026-03-31",
        "columns": [{"key": "month", "label": "Month", "kind": "text"}, {"key": "mrr", "label": "MRR", "kind": "money"}],
        "rows": [{"month": "2026-01", "mrr": "1000.00"}, {"month": "2026-02", "mrr": "1500.00"}, {"month": "2026-03", "mrr": "1250.00"}],
        "chart": {"kind": "line", "x": "month", "series": ["mrr"]}
    });
    app.report = Some(serde_json::from_value::<Report>(mrr).unwrap());
    for (w, h) in SIZES {
        let text = render(&app, w, h);
        assert!(
            text.contains("mrr by month") && text.contains("1500"),
            "{text}"
        );
        // The line itself, in braille dots.
        assert!(
            text.chars().any(|c| ('\u{2801}'..='\u{28FF}').contains(&c)),
            "{text}"
        );
    }
    app.report = None;
    app.report_name = Some("revenue".into());
    each_size(&app, &["loading…"]);
    app.report_name = None;
    each_size(&app, &["2026-11-01 – 2026-11-27"]);
}

#[test]
fn help_overlay_lists_every_key_and_errors_show() {
    let mut app = logged_in(Screen::Dashboard);
    app.help = true;
    app.error("403: not allowed (forbidden)");
    let text = render(&app, 160, 48);
    for (key, _) in super::KEYS {
        assert!(text.contains(key), "{key} missing");
    }
    each_size(&app, &["Keys", "error: 403: not allowed"]);
}

#[test]
fn tiny_sizes_do_not_panic() {
    let app = logged_in(Screen::Members);
    for (w, h) in [(1, 1), (10, 3), (20, 5), (30, 8)] {
        render(&app, w, h);
    }
    assert!(render(&app, 10, 3).contains("too small"));
}
