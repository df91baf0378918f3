//! Rendering tests on ratatui's `TestBackend`: every screen at 80x24 and 160x48, asserting on visible text.

use super::draw;
use crate::app::{App, Input, MemberPage, Screen};
use crate::report::{Report, ReportInfo};
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

fn logged_in(screen: Screen) -> App {
    let mut app = App::new(
        "http://127.0.0.1:9".into(),
        "atlas".into(),
        "ana@atlas.test".into(),
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
    app.occupancy = Some(json!({"inside": 12}));
    app.money = Some(json!({"failed_payments": 2}));
    each_size(
        &app,
        &[
            "1 Today",
            "6 Jobs",
            "new members: 3",
            "appointments: booked 7",
            "inside: 12",
            "failed payments: 2",
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
    each_size(&app, &["ana_", "Quinta", "C-001"]);
    app.input = None;
    app.member = Some(MemberPage {
        profile: json!({"id": "m1", "given_name": "Ana", "family_name": "Quinta", "email": "ana@q.test"}),
        memberships: vec![json!({"plan_name": "Gold", "status": "active"})],
        invoices: vec![
            json!({"id": "i1", "number": "2026-0042", "status": "open", "outstanding": {"amount": "49.00", "currency": "EUR"}}),
        ],
        checkins: vec![
            json!({"occurred_at": "09:01", "decision": "denied", "reason": "no_membership"}),
        ],
        notes: vec![json!({"body": "prefers mornings"})],
        body: None,
    });
    each_size(
        &app,
        &[
            "Ana Quinta",
            "2026-0042",
            "49.00 EUR",
            "Gold active",
            "denied no_membership",
            "not allowed",
            "prefers mornings",
        ],
    );
    app.input = Some(Input::Amount);
    app.amount = "12.5".into();
    each_size(&app, &["amount paid: 12.5_"]);
}

#[test]
fn feed_devices_and_jobs() {
    let mut app = logged_in(Screen::Feed);
    app.feed = vec![
        json!({"occurred_at": "10:00", "member_name": "Ana", "decision": "denied", "reason": "frozen"}),
    ];
    each_size(&app, &["Check-ins", "denied", "frozen"]);
    app.screen = Screen::Devices;
    app.devices = vec![json!({"name": "Front door", "kind": "door", "status": "active"})];
    each_size(&app, &["Front door", "active"]);
    app.screen = Screen::Jobs;
    each_size(&app, &["Failed jobs", "(nothing)"]);
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
