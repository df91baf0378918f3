//! The console's state and its key handling. Keys never call the API: they change local state and may return an
//! [`Action`] that the executor (`exec.rs`) runs against the API. Drawing (`ui/`) only reads this state.

use crate::report::{Report, ReportInfo};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::Value;

/// The screens of the tab bar, in order (keys `1`–`6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Today's figures and alerts.
    Dashboard,
    /// Member search and member page.
    Members,
    /// Live check-in feed.
    Feed,
    /// Door devices.
    Devices,
    /// Reports with charts.
    Reports,
    /// Failed jobs and webhook deliveries.
    Jobs,
}

impl Screen {
    /// All screens in tab order.
    pub const ALL: [Screen; 6] = [
        Screen::Dashboard,
        Screen::Members,
        Screen::Feed,
        Screen::Devices,
        Screen::Reports,
        Screen::Jobs,
    ];

    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            Screen::Dashboard => "Today",
            Screen::Members => "Members",
            Screen::Feed => "Check-ins",
            Screen::Devices => "Devices",
            Screen::Reports => "Reports",
            Screen::Jobs => "Jobs",
        }
    }
}

/// Work for the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave the console.
    Quit,
    /// Exchange e-mail and password for tokens.
    Login {
        /// E-mail.
        email: String,
        /// Password (kept only in memory).
        password: String,
    },
    /// Reload the data of a screen.
    Load(Screen),
    /// `GET /api/v1/members?q=`.
    SearchMembers(String),
    /// Load a member page.
    OpenMember(String),
    /// Load one report.
    OpenReport(String),
    /// `POST /api/v1/invoices/{id}/payments` with an amount in minor units.
    RecordPayment {
        /// Invoice id.
        invoice_id: String,
        /// Amount in minor units.
        amount: i64,
        /// Currency of the invoice.
        currency: String,
    },
    /// `POST /api/v1/invoices/{id}/send`.
    ResendInvoice(String),
}

/// Which text field takes typed characters, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Login e-mail field.
    Email,
    /// Login password field (masked).
    Password,
    /// Member search box.
    Search,
    /// Payment amount prompt on the member page.
    Amount,
}

/// A loaded member page.
#[derive(Debug, Clone, Default)]
pub struct MemberPage {
    /// `GET /api/v1/members/{id}`.
    pub profile: Value,
    /// Their memberships.
    pub memberships: Vec<Value>,
    /// Their invoices.
    pub invoices: Vec<Value>,
    /// Their check-ins.
    pub checkins: Vec<Value>,
    /// Notes.
    pub notes: Vec<Value>,
    /// Body measurements, or `None` when the API refused (403).
    pub body: Option<Vec<Value>>,
}

/// Everything the console shows.
#[derive(Debug, Clone)]
pub struct App {
    /// Logged in yet?
    pub logged_in: bool,
    /// Server URL shown on the login screen.
    pub server: String,
    /// Tenant slug.
    pub tenant: String,
    /// Login e-mail field.
    pub email: String,
    /// Login password field.
    pub password: String,
    /// Focused text field.
    pub input: Option<Input>,
    /// Current tab.
    pub screen: Screen,
    /// Help overlay shown?
    pub help: bool,
    /// Last error or notice for the status bar, and whether it is an error.
    pub status: Option<(String, bool)>,
    /// Dashboard: today's figures.
    pub today: Option<Value>,
    /// Dashboard: occupancy.
    pub occupancy: Option<Value>,
    /// Dashboard: money summary.
    pub money: Option<Value>,
    /// Member search text.
    pub query: String,
    /// Search results.
    pub members: Vec<Value>,
    /// Selected row of the current list.
    pub selected: usize,
    /// The open member page, if any.
    pub member: Option<MemberPage>,
    /// Payment amount prompt text.
    pub amount: String,
    /// Live feed lines (newest first).
    pub feed: Vec<Value>,
    /// Devices.
    pub devices: Vec<Value>,
    /// Available reports.
    pub reports: Vec<ReportInfo>,
    /// The open report.
    pub report: Option<Report>,
    /// Failed jobs.
    pub jobs: Vec<Value>,
    /// Set when the user asked to quit.
    pub quit: bool,
}

impl App {
    /// A fresh console on the login screen.
    pub fn new(server: String, tenant: String, email: String) -> Self {
        let input = if email.is_empty() {
            Input::Email
        } else {
            Input::Password
        };
        Self {
            logged_in: false,
            server,
            tenant,
            email,
            password: String::new(),
            input: Some(input),
            screen: Screen::Dashboard,
            help: false,
            status: None,
            today: None,
            occupancy: None,
            money: None,
            query: String::new(),
            members: Vec::new(),
            selected: 0,
            member: None,
            amount: String::new(),
            feed: Vec::new(),
            devices: Vec::new(),
            reports: Vec::new(),
            report: None,
            jobs: Vec::new(),
            quit: false,
        }
    }

    /// Shows an error in the status bar.
    pub fn error(&mut self, message: impl Into<String>) {
        self.status = Some((message.into(), true));
    }

    /// Shows a notice in the status bar.
    pub fn notice(&mut self, message: impl Into<String>) {
        self.status = Some((message.into(), false));
    }

    /// Number of rows in the current list (for selection bounds).
    fn list_len(&self) -> usize {
        match self.screen {
            Screen::Members => match &self.member {
                Some(m) => m.invoices.len(),
                None => self.members.len(),
            },
            Screen::Devices => self.devices.len(),
            Screen::Reports => self.reports.len(),
            Screen::Jobs => self.jobs.len(),
            Screen::Dashboard | Screen::Feed => 0,
        }
    }

    /// The selected invoice of the open member page.
    fn selected_invoice(&self) -> Option<&Value> {
        self.member.as_ref()?.invoices.get(self.selected)
    }

    /// Handles one key; returns the work it asks for.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Action> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(Action::Quit);
        }
        if self.help {
            // Any key closes the overlay; it never triggers anything else.
            self.help = false;
            return None;
        }
        if let Some(input) = self.input {
            return self.on_input_key(input, key);
        }
        self.status = None;
        match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            KeyCode::Char('?') => {
                self.help = true;
                None
            }
            KeyCode::Char(c @ '1'..='6') => {
                let index = usize::from(c as u8 - b'1');
                self.screen = Screen::ALL[index];
                self.selected = 0;
                Some(Action::Load(self.screen))
            }
            KeyCode::Tab => {
                let index = Screen::ALL
                    .iter()
                    .position(|s| *s == self.screen)
                    .unwrap_or(0);
                self.screen = Screen::ALL[(index + 1) % Screen::ALL.len()];
                self.selected = 0;
                Some(Action::Load(self.screen))
            }
            KeyCode::Char('r') => match (&self.member, self.screen) {
                (Some(m), Screen::Members) => m.profile["id"]
                    .as_str()
                    .map(|id| Action::OpenMember(id.into())),
                _ => Some(Action::Load(self.screen)),
            },
            KeyCode::Char('/') if self.screen == Screen::Members => {
                self.member = None;
                self.input = Some(Input::Search);
                None
            }
            KeyCode::Down | KeyCode::Char('j') => {
                if self.selected + 1 < self.list_len() {
                    self.selected += 1;
                }
                None
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.selected = self.selected.saturating_sub(1);
                None
            }
            KeyCode::Esc => {
                if self.screen == Screen::Members && self.member.is_some() {
                    self.member = None;
                } else if self.screen == Screen::Reports {
                    self.report = None;
                }
                self.selected = 0;
                None
            }
            KeyCode::Enter => match self.screen {
                Screen::Members if self.member.is_none() => self
                    .members
                    .get(self.selected)
                    .and_then(|m| m["id"].as_str())
                    .map(|id| Action::OpenMember(id.into())),
                Screen::Reports => self
                    .reports
                    .get(self.selected)
                    .map(|r| Action::OpenReport(r.name.clone())),
                _ => None,
            },
            KeyCode::Char('p')
                if self.screen == Screen::Members && self.selected_invoice().is_some() =>
            {
                self.amount.clear();
                self.input = Some(Input::Amount);
                None
            }
            KeyCode::Char('s') if self.screen == Screen::Members => self
                .selected_invoice()
                .and_then(|i| i["id"].as_str())
                .map(|id| Action::ResendInvoice(id.into())),
            _ => None,
        }
    }

    /// Keys while a text field has focus.
    fn on_input_key(&mut self, input: Input, key: KeyEvent) -> Option<Action> {
        let field = match input {
            Input::Email => &mut self.email,
            Input::Password => &mut self.password,
            Input::Search => &mut self.query,
            Input::Amount => &mut self.amount,
        };
        match key.code {
            KeyCode::Char(c) => {
                field.push(c);
                None
            }
            KeyCode::Backspace => {
                field.pop();
                None
            }
            KeyCode::Tab if matches!(input, Input::Email | Input::Password) => {
                self.input = Some(if input == Input::Email {
                    Input::Password
                } else {
                    Input::Email
                });
                None
            }
            KeyCode::Esc => match input {
                Input::Email | Input::Password => Some(Action::Quit),
                Input::Search | Input::Amount => {
                    self.input = None;
                    None
                }
            },
            KeyCode::Enter => match input {
                Input::Email => {
                    self.input = Some(Input::Password);
                    None
                }
                Input::Password => Some(Action::Login {
                    email: self.email.clone(),
                    password: self.password.clone(),
                }),
                Input::Search => {
                    self.input = None;
                    self.selected = 0;
                    Some(Action::SearchMembers(self.query.clone()))
                }
                Input::Amount => {
                    let Some(amount) = parse_amount(&self.amount) else {
                        self.error("amount: write it like 12.50");
                        return None;
                    };
                    self.input = None;
                    let invoice = self.selected_invoice()?;
                    Some(Action::RecordPayment {
                        invoice_id: invoice["id"].as_str()?.to_string(),
                        amount,
                        currency: invoice["currency"].as_str().unwrap_or("EUR").to_string(),
                    })
                }
            },
            _ => None,
        }
    }
}

/// Parses `12`, `12.5` or `12.50` into minor units (cents); more than two decimals or a sign is refused.
pub fn parse_amount(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let cents: i64 = format!("{frac:0<2}").parse().ok()?;
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn type_text(app: &mut App, text: &str) {
        for c in text.chars() {
            assert_eq!(app.on_key(key(KeyCode::Char(c))), None);
        }
    }

    fn logged_in() -> App {
        let mut app = App::new("http://x".into(), "atlas".into(), "a@b.c".into());
        app.logged_in = true;
        app.input = None;
        app
    }

    #[test]
    fn login_fields_then_enter_logs_in() {
        let mut app = App::new("http://x".into(), "atlas".into(), String::new());
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
        let mut app = logged_in();
        app.screen = Screen::Members;
        app.member = Some(MemberPage {
            invoices: vec![json!({"id": "inv1", "currency": "EUR"})],
            ..MemberPage::default()
        });
        app.on_key(key(KeyCode::Char('p')));
        type_text(&mut app, "1.2.3");
        assert_eq!(app.on_key(key(KeyCode::Enter)), None);
        assert!(app.status.as_ref().is_some_and(|(_, err)| *err));
        app.amount = "12.5".into();
        assert_eq!(
            app.on_key(key(KeyCode::Enter)),
            Some(Action::RecordPayment {
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
    fn help_overlay_swallows_the_next_key() {
        let mut app = logged_in();
        app.on_key(key(KeyCode::Char('?')));
        assert!(app.help);
        assert_eq!(app.on_key(key(KeyCode::Char('q'))), None);
        assert!(!app.help);
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("12"), Some(1200));
        assert_eq!(parse_amount("0.05"), Some(5));
        assert_eq!(parse_amount("-1"), None);
        assert_eq!(parse_amount("1.234"), None);
        assert_eq!(parse_amount(""), None);
    }
}
