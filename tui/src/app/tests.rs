//! Key handling: every key returns the action it should, and prompts refuse bad input without acting.

use super::*;
use serde_json::json;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert_eq!(app.on_key(key(KeyCode::Char(c))), None);
    }
}

fn logged_in() -> App {
    let mut app = App::new(
        "http://x".into(),
        "atlas".into(),
        "a@b.c".into(),
        day(2026, 11, 27),
    );
    app.logged_in = true;
    app.input = None;
    app
}

fn member_page() -> App {
    let mut app = logged_in();
    app.screen = Screen::Members;
    app.member = Some(MemberPage {
        profile: json!({"id": "acc_1"}),
        invoices: vec![json!({"id": "inv1", "currency": "EUR"})],
        memberships: vec![json!({"id": "mem1", "status": "active"})],
        credentials: Some(vec![json!({"id": "crd1", "kind": "card", "value": "1234"})]),
        checkins: vec![
            json!({"id": "ace1", "decision": "allow"}),
            json!({"id": "ace2", "decision": "deny", "reason": "payment_overdue"}),
        ],
        ..MemberPage::default()
    });
    app
}

#[test]
fn login_fields_then_enter_logs_in() {
    let mut app = App::new(
        "http://x".into(),
        "atlas".into(),
        String::new(),
        day(2026, 11, 27),
    );
    assert_eq!(app.input, Some(Input::Email));
    type_text(&mut app, "ana@atlas.test");
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.input, Some(Input::Password));
    type_text(&mut app, "q1?");
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        Some(Action::Login {
            email: "ana@atlas.test".into(),
            password: "q1?".into()
        })
    );
}

#[test]
fn digits_switch_screens_and_load_them() {
    let mut app = logged_in();
    assert_eq!(
        app.on_key(key(KeyCode::Char('5'))),
        Some(Action::Load(Screen::Reports))
    );
    assert_eq!(app.screen, Screen::Reports);
    assert_eq!(
        app.on_key(key(KeyCode::Tab)),
        Some(Action::Load(Screen::Jobs))
    );
    app.query = "ana".into();
    assert_eq!(
        app.on_key(key(KeyCode::Char('2'))),
        Some(Action::SearchMembers("ana".into())),
        "the members screen reloads its search"
    );
    assert_eq!(app.on_key(key(KeyCode::Char('q'))), Some(Action::Quit));
}

#[test]
fn search_then_open_member() {
    let mut app = logged_in();
    app.on_key(key(KeyCode::Char('2')));
    app.on_key(key(KeyCode::Char('/')));
    type_text(&mut app, "ana q");
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        Some(Action::SearchMembers("ana q".into()))
    );
    app.members = vec![json!({"id": "m1"}), json!({"id": "m2"})];
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Down));
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        Some(Action::OpenMember("m2".into()))
    );
}

#[test]
fn payment_prompt_converts_to_minor_units_and_rejects_garbage() {
    let mut app = member_page();
    app.on_key(key(KeyCode::Char('p')));
    type_text(&mut app, "1.2.3");
    assert_eq!(app.on_key(key(KeyCode::Enter)), None);
    assert!(app.status.as_ref().is_some_and(|(_, err)| *err));
    assert_eq!(app.input, Some(Input::Amount), "the prompt stays open");
    app.prompt = "12.5".into();
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        Some(Action::RecordPayment {
            member_id: "acc_1".into(),
            invoice_id: "inv1".into(),
            amount: 1250,
            currency: "EUR".into()
        })
    );
    assert_eq!(
        app.on_key(key(KeyCode::Char('s'))),
        Some(Action::ResendInvoice("inv1".into()))
    );
}

#[test]
fn member_actions_freeze_cancel_credentials_and_override() {
    let mut app = member_page();
    // Memberships: a freeze with its dates, a cancellation quoted before it is confirmed.
    app.on_key(key(KeyCode::Left));
    assert_eq!(app.section, Section::Checkins, "sections wrap around");
    for _ in 0..4 {
        app.on_key(key(KeyCode::Right));
    }
    assert_eq!(app.section, Section::Memberships);
    app.on_key(key(KeyCode::Char('f')));
    type_text(&mut app, "2026-12-10 2026-12-01");
    assert_eq!(app.on_key(key(KeyCode::Enter)), None, "until before from");
    app.prompt = "2026-12-01 2026-12-15".into();
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        Some(Action::Freeze {
            member_id: "acc_1".into(),
            membership_id: "mem1".into(),
            starts_on: day(2026, 12, 1),
            ends_on: day(2026, 12, 15)
        })
    );
    assert_eq!(
        app.on_key(key(KeyCode::Char('c'))),
        Some(Action::QuoteCancellation {
            member_id: "acc_1".into(),
            membership_id: "mem1".into()
        })
    );
    // Credentials: a new card at once; a revocation only after `y`.
    app.on_key(key(KeyCode::Right));
    assert_eq!(
        app.on_key(key(KeyCode::Char('n'))),
        Some(Action::IssueCard("acc_1".into()))
    );
    assert_eq!(app.on_key(key(KeyCode::Char('x'))), None);
    assert!(app.confirm.is_some());
    assert_eq!(app.on_key(key(KeyCode::Char('n'))), None, "no: nothing");
    app.on_key(key(KeyCode::Char('x')));
    assert_eq!(
        app.on_key(key(KeyCode::Char('y'))),
        Some(Action::RevokeCredential {
            member_id: "acc_1".into(),
            credential_id: "crd1".into()
        })
    );
    // Check-ins: only a denial can be overridden, with a reason.
    app.on_key(key(KeyCode::Right));
    assert_eq!(app.section, Section::Checkins);
    assert_eq!(app.on_key(key(KeyCode::Char('o'))), None);
    assert_eq!(app.input, None, "an allowed entry");
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Char('o')));
    assert_eq!(app.input, Some(Input::OverrideReason));
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        None,
        "a reason is required"
    );
    type_text(&mut app, "paid at the desk");
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        Some(Action::Override {
            member_id: "acc_1".into(),
            event_id: "ace2".into(),
            reason: "paid at the desk".into()
        })
    );
    app.on_key(key(KeyCode::Right));
    assert_eq!(app.section, Section::Invoices, "sections wrap around");
}

#[test]
fn devices_pair_and_revoke_jobs_retry() {
    let mut app = logged_in();
    app.screen = Screen::Devices;
    // One location (or none loaded): paired there at once.
    app.on_key(key(KeyCode::Char('n')));
    assert_eq!(
        app.on_key(key(KeyCode::Char('d'))),
        Some(Action::Pair {
            kind: "door".into(),
            location_id: None
        })
    );
    app.locations = vec![json!({"id": "loc1", "name": "Centre"})];
    app.on_key(key(KeyCode::Char('n')));
    assert_eq!(
        app.on_key(key(KeyCode::Char('i'))),
        Some(Action::Pair {
            kind: "kiosk".into(),
            location_id: Some("loc1".into())
        })
    );
    // Several: the location is asked by its number; a number out of the list keeps the question open.
    app.locations.push(json!({"id": "loc2", "name": "Annex"}));
    app.on_key(key(KeyCode::Char('n')));
    assert_eq!(app.on_key(key(KeyCode::Char('d'))), None);
    assert_eq!(app.input, Some(Input::PairLocation));
    assert_eq!(app.location_choices(), "1 Centre  2 Annex");
    assert_eq!(app.on_key(key(KeyCode::Char('3'))), None);
    assert_eq!(app.input, Some(Input::PairLocation));
    assert_eq!(
        app.on_key(key(KeyCode::Char('2'))),
        Some(Action::Pair {
            kind: "door".into(),
            location_id: Some("loc2".into())
        })
    );
    assert_eq!(app.input, None);
    // Esc gives up without pairing.
    app.on_key(key(KeyCode::Char('n')));
    app.on_key(key(KeyCode::Char('b')));
    assert_eq!(app.on_key(key(KeyCode::Esc)), None);
    assert_eq!((app.input, app.pairing_kind.clone()), (None, None));
    app.devices = vec![json!({"id": "dev1", "name": "Front"})];
    app.on_key(key(KeyCode::Char('x')));
    assert_eq!(
        app.on_key(key(KeyCode::Char('y'))),
        Some(Action::RevokeDevice("dev1".into()))
    );
    app.screen = Screen::Jobs;
    app.jobs = vec![
        json!({"what": "job", "id": "job1", "kind": "email.send"}),
        json!({"what": "delivery", "id": "whd1", "endpoint_id": "whe1", "kind": "access.denied"}),
    ];
    app.on_key(key(KeyCode::Char('R')));
    assert_eq!(
        app.on_key(key(KeyCode::Char('y'))),
        Some(Action::RetryJob("job1".into()))
    );
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Char('R')));
    assert_eq!(
        app.on_key(key(KeyCode::Char('y'))),
        Some(Action::ResendDelivery {
            endpoint_id: "whe1".into(),
            delivery_id: "whd1".into()
        })
    );
}

#[test]
fn report_period_moves_by_month_or_is_typed() {
    let mut app = logged_in();
    app.screen = Screen::Reports;
    assert_eq!(app.period, (day(2026, 11, 1), day(2026, 11, 27)));
    app.reports = vec![ReportInfo {
        name: "revenue".into(),
        title: "Revenue".into(),
        description: String::new(),
    }];
    let open = |from, to| Action::OpenReport {
        name: "revenue".into(),
        from,
        to,
    };
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        Some(open(day(2026, 11, 1), day(2026, 11, 27)))
    );
    assert_eq!(
        app.on_key(key(KeyCode::Char('['))),
        Some(open(day(2026, 10, 1), day(2026, 10, 31)))
    );
    app.period = (day(2026, 12, 1), day(2026, 12, 31));
    assert_eq!(
        app.on_key(key(KeyCode::Char(']'))),
        Some(open(day(2027, 1, 1), day(2027, 1, 31))),
        "across the year"
    );
    app.on_key(key(KeyCode::Char('d')));
    assert_eq!(
        app.prompt, "2027-01-01 2027-01-31",
        "the prompt starts from the period"
    );
    app.prompt = "2026-02-01 2026-03-15".into();
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        Some(open(day(2026, 2, 1), day(2026, 3, 15)))
    );
}

#[test]
fn live_checkins_go_on_top_once_and_the_feed_is_bounded() {
    let mut app = logged_in();
    app.push_checkin(json!({"id": "a"}));
    app.push_checkin(json!({"id": "b"}));
    app.push_checkin(json!({"id": "a"}));
    assert_eq!(app.feed, [json!({"id": "b"}), json!({"id": "a"})]);
    for i in 0..FEED_LEN {
        app.push_checkin(json!({"id": i}));
    }
    assert_eq!(app.feed.len(), FEED_LEN);
}

#[test]
fn help_and_popups_swallow_the_next_key() {
    let mut app = logged_in();
    app.on_key(key(KeyCode::Char('?')));
    assert!(app.help);
    assert_eq!(app.on_key(key(KeyCode::Char('q'))), None);
    assert!(!app.help);
    app.popup = Some(Popup {
        title: "Pairing".into(),
        lines: vec![],
    });
    assert_eq!(app.on_key(key(KeyCode::Char('q'))), None);
    assert!(app.popup.is_none());
}

#[test]
fn amounts_and_periods() {
    assert_eq!(parse_amount("12"), Some(1200));
    assert_eq!(parse_amount("0.05"), Some(5));
    assert_eq!(parse_amount("-1"), None);
    assert_eq!(parse_amount("1.234"), None);
    assert_eq!(parse_amount(""), None);
    assert_eq!(
        parse_period(" 2026-01-01  2026-01-31 "),
        Some((day(2026, 1, 1), day(2026, 1, 31)))
    );
    assert_eq!(parse_period("2026-01-01"), None);
    assert_eq!(parse_period("2026-01-01 2026-01-31 x"), None);
    assert_eq!(parse_period("2026-02-30 2026-03-01"), None);
}

#[test]
fn a_reloaded_member_keeps_the_selection_another_starts_at_the_top() {
    let mut app = member_page();
    app.section = Section::Checkins;
    app.selected = 1;
    let mut again = app.member.clone().unwrap();
    app.show_member(again.clone());
    assert_eq!(app.selected, 1);
    again.checkins.truncate(1);
    app.show_member(again.clone());
    assert_eq!(app.selected, 0, "within the shorter list");
    app.selected = 0;
    again.profile = json!({"id": "acc_2"});
    again.checkins.push(json!({"id": "x"}));
    app.selected = 1;
    app.show_member(again);
    assert_eq!(app.selected, 0);
}
