//! The console's state and its key handling. Keys never call the API: they change local state and may return an
//! [`Action`] that the executor (`exec.rs`) runs against the API in the background. Drawing (`ui/`) only reads
//! this state.

use crate::report::{Report, ReportInfo};
use chrono::{Datelike, NaiveDate};
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
    /// Paired devices.
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

/// The lists of the member page; the selection moves in the focused one (`←`/`→` switch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Invoices: pay, resend.
    Invoices,
    /// Payments and refunds (read only).
    Payments,
    /// Appointments and class places, upcoming then past (read only).
    Bookings,
    /// Memberships: freeze, cancel.
    Memberships,
    /// Door credentials: issue, revoke.
    Credentials,
    /// Check-ins: override a denial.
    Checkins,
}

impl Section {
    /// In focus order.
    pub const ALL: [Section; 6] = [
        Section::Invoices,
        Section::Payments,
        Section::Bookings,
        Section::Memberships,
        Section::Credentials,
        Section::Checkins,
    ];

    /// Title, with the keys that act on it.
    pub fn title(self) -> &'static str {
        match self {
            Section::Invoices => "Invoices (p pay, s resend)",
            Section::Payments => "Payments",
            Section::Bookings => "Bookings",
            Section::Memberships => "Memberships (f freeze, c cancel)",
            Section::Credentials => "Credentials (n new card, x revoke)",
            Section::Checkins => "Check-ins (o override a denial)",
        }
    }
}

/// Work for the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave the console.
    Quit,
    /// Exchange e-mail and password for tokens, then start the live feed.
    Login {
        /// E-mail.
        email: String,
        /// Password (kept only in memory).
        password: String,
    },
    /// Reload the data of a screen (members: see [`Action::SearchMembers`]).
    Load(Screen),
    /// `GET /api/v1/members?q=`.
    SearchMembers(String),
    /// Load a member page.
    OpenMember(String),
    /// Load one report over a period.
    OpenReport {
        /// Report name.
        name: String,
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
    /// `POST /api/v1/invoices/{id}/payments` (cash) with an amount in minor units.
    RecordPayment {
        /// The member page to reload.
        member_id: String,
        /// Invoice id.
        invoice_id: String,
        /// Amount in minor units.
        amount: i64,
        /// Currency of the invoice.
        currency: String,
    },
    /// `POST /api/v1/invoices/{id}/send`.
    ResendInvoice(String),
    /// `POST /api/v1/memberships/{id}/freezes`.
    Freeze {
        /// The member page to reload.
        member_id: String,
        /// Membership.
        membership_id: String,
        /// First frozen day.
        starts_on: NaiveDate,
        /// First day active again.
        ends_on: NaiveDate,
    },
    /// `GET /api/v1/memberships/{id}/cancellation`: the end date, shown before confirming.
    QuoteCancellation {
        /// The member page to reload after confirming.
        member_id: String,
        /// Membership.
        membership_id: String,
    },
    /// `POST /api/v1/memberships/{id}/cancellation`.
    ConfirmCancellation {
        /// The member page to reload.
        member_id: String,
        /// Membership.
        membership_id: String,
    },
    /// `POST /api/v1/members/{id}/credentials`: a new printed card.
    IssueCard(String),
    /// `POST /api/v1/credentials/{id}/revoke`.
    RevokeCredential {
        /// The member page to reload.
        member_id: String,
        /// Credential.
        credential_id: String,
    },
    /// `POST /api/v1/access/overrides`: let in a member a door refused.
    Override {
        /// The member page to reload.
        member_id: String,
        /// The refused decision.
        event_id: String,
        /// Why.
        reason: String,
    },
    /// `POST /api/v1/devices/pairings`: shows the code and its QR code.
    Pair {
        /// `door`, `kiosk` or `body_analyzer`.
        kind: String,
        /// Where the device will stand; `None` for the brand's first location.
        location_id: Option<String>,
    },
    /// `POST /api/v1/devices/{id}/revoke`.
    RevokeDevice(String),
    /// `POST /api/v1/jobs/{id}/retry`.
    RetryJob(String),
    /// `POST /api/v1/webhook-endpoints/{id}/deliveries/{delivery}/resend`.
    ResendDelivery {
        /// Endpoint.
        endpoint_id: String,
        /// Delivery.
        delivery_id: String,
    },
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
    /// Freeze dates prompt: `FROM UNTIL`.
    FreezeDates,
    /// Override reason prompt.
    OverrideReason,
    /// Report period prompt: `FROM TO`.
    ReportPeriod,
    /// Device kind choice: `d` door, `i` kiosk, `b` body analyser.
    PairKind,
    /// Where the device to pair will stand: a location's number in the list.
    PairLocation,
}

impl Input {
    /// The prompt shown for the field.
    pub fn prompt(self) -> &'static str {
        match self {
            Input::Email | Input::Password | Input::Search => "",
            Input::Amount => "amount paid (e.g. 12.50)",
            Input::FreezeDates => "freeze from, until (YYYY-MM-DD YYYY-MM-DD)",
            Input::OverrideReason => "why let them in",
            Input::ReportPeriod => "period (YYYY-MM-DD YYYY-MM-DD)",
            Input::PairKind => "pair a device: d door, i kiosk, b body analyser",
            Input::PairLocation => "pair it at",
        }
    }
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
    /// Payments on their invoices.
    pub payments: Vec<Value>,
    /// Their bookings, upcoming first.
    pub bookings: Vec<Value>,
    /// Their door credentials, or `None` when the API refused.
    pub credentials: Option<Vec<Value>>,
    /// Their check-ins.
    pub checkins: Vec<Value>,
    /// Notes.
    pub notes: Vec<Value>,
    /// Body measurements, or `None` when the API refused (403).
    pub body: Option<Vec<Value>>,
}

impl MemberPage {
    /// The member's id.
    pub fn id(&self) -> String {
        self.profile["id"].as_str().unwrap_or_default().to_owned()
    }

    /// The rows of a section.
    pub fn rows(&self, section: Section) -> &[Value] {
        match section {
            Section::Invoices => &self.invoices,
            Section::Payments => &self.payments,
            Section::Bookings => &self.bookings,
            Section::Memberships => &self.memberships,
            Section::Credentials => self.credentials.as_deref().unwrap_or_default(),
            Section::Checkins => &self.checkins,
        }
    }
}

/// A box over the screen with lines of text (a pairing code and its QR code, a result); any key closes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Popup {
    /// Title.
    pub title: String,
    /// Lines, drawn as they are.
    pub lines: Vec<String>,
}

/// A yes/no question; `y` runs the action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    /// What is asked.
    pub question: String,
    /// What `y` does.
    pub action: Action,
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
    /// Text of the prompts (amount, dates, reason).
    pub prompt: String,
    /// Current tab.
    pub screen: Screen,
    /// Help overlay shown?
    pub help: bool,
    /// A popup, if any.
    pub popup: Option<Popup>,
    /// A question waiting for `y`.
    pub confirm: Option<Confirm>,
    /// Last error or notice for the status bar, and whether it is an error.
    pub status: Option<(String, bool)>,
    /// API calls running in the background.
    pub busy: usize,
    /// Dashboard: today's figures.
    pub today: Option<Value>,
    /// Dashboard: who is in, per location (`location`, `count`, `names`).
    pub occupancy: Vec<Value>,
    /// Dashboard: entries per local hour today at the first location.
    pub hourly: Vec<u64>,
    /// Dashboard: outstanding and overdue, one summary per currency (`None` without `money.read`).
    pub money: Option<Vec<Value>>,
    /// Dashboard: payments that failed in the last 24 hours.
    pub failed_payments: Option<usize>,
    /// Member search text.
    pub query: String,
    /// Search results.
    pub members: Vec<Value>,
    /// The search the results answer (they arrive after the typing).
    pub members_for: String,
    /// Selected row of the current list.
    pub selected: usize,
    /// The open member page, if any.
    pub member: Option<MemberPage>,
    /// The focused list of the member page.
    pub section: Section,
    /// Check-in feed (newest first): loaded, then fed live.
    pub feed: Vec<Value>,
    /// The live connection is up.
    pub live: bool,
    /// Devices.
    pub devices: Vec<Value>,
    /// The brand's locations (`id`, `name`), loaded with the devices: where a device can be paired.
    pub locations: Vec<Value>,
    /// The kind of device being paired while its location is chosen.
    pub pairing_kind: Option<String>,
    /// Available reports.
    pub reports: Vec<ReportInfo>,
    /// The period reports are computed over.
    pub period: (NaiveDate, NaiveDate),
    /// The open report's name.
    pub report_name: Option<String>,
    /// The open report.
    pub report: Option<Report>,
    /// Failed jobs and webhook deliveries (`what` is `job` or `delivery`).
    pub jobs: Vec<Value>,
    /// Set when the user asked to quit.
    pub quit: bool,
}

/// The most check-ins the feed keeps.
pub const FEED_LEN: usize = 200;

/// From the first of `today`'s month to `today`.
pub fn month_to_date(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    (today.with_day(1).unwrap_or(today), today)
}

/// The whole month before or after the one `from` is in.
fn shift_month(from: NaiveDate, months: i32) -> (NaiveDate, NaiveDate) {
    let index = from.year() * 12 + from.month0() as i32 + months;
    let (year, month0) = (index.div_euclid(12), index.rem_euclid(12) as u32);
    let first = NaiveDate::from_ymd_opt(year, month0 + 1, 1).unwrap_or(from);
    let next = NaiveDate::from_ymd_opt(year + i32::from(month0 == 11), (month0 + 1) % 12 + 1, 1)
        .unwrap_or(first);
    (first, next.pred_opt().unwrap_or(first))
}

/// Two dates separated by a space (`FROM TO`), the first not after the second.
pub fn parse_period(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    let mut parts = text.split_whitespace();
    let from = NaiveDate::parse_from_str(parts.next()?, "%Y-%m-%d").ok()?;
    let to = NaiveDate::parse_from_str(parts.next()?, "%Y-%m-%d").ok()?;
    (parts.next().is_none() && from <= to).then_some((from, to))
}

impl App {
    /// A fresh console on the login screen; reports cover `today`'s month so far.
    pub fn new(server: String, tenant: String, email: String, today: NaiveDate) -> Self {
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
            prompt: String::new(),
            screen: Screen::Dashboard,
            help: false,
            popup: None,
            confirm: None,
            status: None,
            busy: 0,
            today: None,
            occupancy: Vec::new(),
            hourly: Vec::new(),
            money: None,
            failed_payments: None,
            query: String::new(),
            members: Vec::new(),
            members_for: String::new(),
            selected: 0,
            member: None,
            section: Section::Invoices,
            feed: Vec::new(),
            live: false,
            devices: Vec::new(),
            locations: Vec::new(),
            pairing_kind: None,
            reports: Vec::new(),
            period: month_to_date(today),
            report_name: None,
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

    /// Puts a live check-in at the top of the feed (once: a reload may already hold it).
    pub fn push_checkin(&mut self, row: Value) {
        if self.feed.iter().any(|r| r["id"] == row["id"]) {
            return;
        }
        self.feed.insert(0, row);
        self.feed.truncate(FEED_LEN);
    }

    /// Shows a loaded member page: a reload of the open member keeps the selection (within the list's new
    /// length), another member starts at the top.
    pub fn show_member(&mut self, page: MemberPage) {
        let same = self.member.as_ref().is_some_and(|m| m.id() == page.id());
        let len = page.rows(self.section).len();
        self.selected = if same {
            self.selected.min(len.saturating_sub(1))
        } else {
            0
        };
        self.member = Some(page);
    }

    /// The action that loads `screen`.
    fn load(&self, screen: Screen) -> Action {
        match screen {
            Screen::Members => Action::SearchMembers(self.query.clone()),
            other => Action::Load(other),
        }
    }

    /// Number of rows in the current list (for selection bounds).
    fn list_len(&self) -> usize {
        match self.screen {
            Screen::Members => match &self.member {
                Some(m) => m.rows(self.section).len(),
                None => self.members.len(),
            },
            Screen::Feed => self.feed.len(),
            Screen::Devices => self.devices.len(),
            Screen::Reports => self.reports.len(),
            Screen::Jobs => self.jobs.len(),
            Screen::Dashboard => 0,
        }
    }

    /// The selected row of the open member page's focused list.
    fn selected_row(&self) -> Option<&Value> {
        self.member.as_ref()?.rows(self.section).get(self.selected)
    }

    fn member_id(&self) -> String {
        self.member.as_ref().map(MemberPage::id).unwrap_or_default()
    }

    fn ask(&mut self, question: String, action: Action) -> Option<Action> {
        self.confirm = Some(Confirm { question, action });
        None
    }

    fn prompt_for(&mut self, input: Input) -> Option<Action> {
        self.prompt.clear();
        self.input = Some(input);
        None
    }

    /// Handles one key; returns the work it asks for.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Action> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(Action::Quit);
        }
        if self.help || self.popup.is_some() {
            // Any key closes an overlay; it never triggers anything else.
            self.help = false;
            self.popup = None;
            return None;
        }
        if let Some(confirm) = self.confirm.take() {
            return (key.code == KeyCode::Char('y')).then_some(confirm.action);
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
                self.screen = Screen::ALL[usize::from(c as u8 - b'1')];
                self.selected = 0;
                Some(self.load(self.screen))
            }
            KeyCode::Tab => {
                let index = Screen::ALL
                    .iter()
                    .position(|s| *s == self.screen)
                    .unwrap_or(0);
                self.screen = Screen::ALL[(index + 1) % Screen::ALL.len()];
                self.selected = 0;
                Some(self.load(self.screen))
            }
            KeyCode::Char('r') => match (&self.member, &self.report_name, self.screen) {
                (Some(m), _, Screen::Members) => Some(Action::OpenMember(m.id())),
                (_, Some(name), Screen::Reports) => Some(self.open_report(name.clone())),
                _ => Some(self.load(self.screen)),
            },
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
                    self.report_name = None;
                }
                self.selected = 0;
                None
            }
            _ => match self.screen {
                Screen::Members => self.on_members_key(key.code),
                Screen::Devices => self.on_devices_key(key.code),
                Screen::Reports => self.on_reports_key(key.code),
                Screen::Jobs => self.on_jobs_key(key.code),
                Screen::Dashboard | Screen::Feed => None,
            },
        }
    }

    fn on_members_key(&mut self, code: KeyCode) -> Option<Action> {
        if self.member.is_none() {
            return match code {
                KeyCode::Char('/') => self.prompt_for(Input::Search),
                KeyCode::Enter => self
                    .members
                    .get(self.selected)
                    .and_then(|m| m["id"].as_str())
                    .map(|id| Action::OpenMember(id.into())),
                _ => None,
            };
        }
        let member_id = self.member_id();
        let row = self.selected_row().cloned().unwrap_or_default();
        let id = row["id"].as_str().unwrap_or_default().to_owned();
        match (self.section, code) {
            (_, KeyCode::Char('/')) => {
                self.member = None;
                self.prompt_for(Input::Search)
            }
            (_, KeyCode::Left | KeyCode::Right | KeyCode::Char('h') | KeyCode::Char('l')) => {
                let i = Section::ALL.iter().position(|s| *s == self.section)?;
                let step = if matches!(code, KeyCode::Left | KeyCode::Char('h')) {
                    Section::ALL.len() - 1
                } else {
                    1
                };
                self.section = Section::ALL[(i + step) % Section::ALL.len()];
                self.selected = 0;
                None
            }
            (Section::Invoices, KeyCode::Char('p')) if !id.is_empty() => {
                self.prompt_for(Input::Amount)
            }
            (Section::Invoices, KeyCode::Char('s')) if !id.is_empty() => {
                Some(Action::ResendInvoice(id))
            }
            (Section::Memberships, KeyCode::Char('f')) if !id.is_empty() => {
                self.prompt_for(Input::FreezeDates)
            }
            (Section::Memberships, KeyCode::Char('c')) if !id.is_empty() => {
                Some(Action::QuoteCancellation {
                    member_id,
                    membership_id: id,
                })
            }
            (Section::Credentials, KeyCode::Char('n')) => Some(Action::IssueCard(member_id)),
            (Section::Credentials, KeyCode::Char('x')) if !id.is_empty() => {
                let question = format!(
                    "Revoke {} {}? y/n",
                    row["kind"].as_str().unwrap_or(""),
                    row["value"].as_str().unwrap_or("")
                );
                self.ask(
                    question,
                    Action::RevokeCredential {
                        member_id,
                        credential_id: id,
                    },
                )
            }
            (Section::Checkins, KeyCode::Char('o')) => {
                if row["decision"] == "deny" {
                    self.prompt_for(Input::OverrideReason)
                } else {
                    self.error("only a refused entry can be overridden");
                    None
                }
            }
            _ => None,
        }
    }

    fn on_devices_key(&mut self, code: KeyCode) -> Option<Action> {
        match code {
            KeyCode::Char('n') => self.prompt_for(Input::PairKind),
            KeyCode::Char('x') => {
                let device = self.devices.get(self.selected)?;
                let (id, name) = (
                    device["id"].as_str()?.to_owned(),
                    device["name"].as_str().unwrap_or("").to_owned(),
                );
                self.ask(
                    format!("Revoke device {name}? It is refused at once. y/n"),
                    Action::RevokeDevice(id),
                )
            }
            _ => None,
        }
    }

    fn open_report(&self, name: String) -> Action {
        Action::OpenReport {
            name,
            from: self.period.0,
            to: self.period.1,
        }
    }

    fn on_reports_key(&mut self, code: KeyCode) -> Option<Action> {
        match code {
            KeyCode::Enter if self.report.is_none() => {
                let name = self.reports.get(self.selected)?.name.clone();
                self.report_name = Some(name.clone());
                Some(self.open_report(name))
            }
            KeyCode::Char('[') | KeyCode::Char(']') => {
                self.period = shift_month(
                    self.period.0,
                    if code == KeyCode::Char('[') { -1 } else { 1 },
                );
                self.report_name.clone().map(|name| self.open_report(name))
            }
            KeyCode::Char('d') => {
                self.prompt_for(Input::ReportPeriod);
                self.prompt = format!("{} {}", self.period.0, self.period.1);
                None
            }
            _ => None,
        }
    }

    fn on_jobs_key(&mut self, code: KeyCode) -> Option<Action> {
        if code != KeyCode::Char('R') {
            return None;
        }
        let row = self.jobs.get(self.selected)?;
        let action = match row["what"].as_str()? {
            "job" => Action::RetryJob(row["id"].as_str()?.to_owned()),
            _ => Action::ResendDelivery {
                endpoint_id: row["endpoint_id"].as_str()?.to_owned(),
                delivery_id: row["id"].as_str()?.to_owned(),
            },
        };
        let what = row["kind"].as_str().unwrap_or("").to_owned();
        self.ask(format!("Retry {what}? y/n"), action)
    }

    /// The kind of device to pair: paired at once when the brand has one location (or none loaded), else its
    /// location is asked next.
    fn on_pair_kind_key(&mut self, code: KeyCode) -> Option<Action> {
        self.input = None;
        let kind = match code {
            KeyCode::Char('d') => "door",
            KeyCode::Char('i') => "kiosk",
            KeyCode::Char('b') => "body_analyzer",
            _ => return None,
        };
        if self.locations.len() > 1 {
            self.pairing_kind = Some(kind.into());
            self.input = Some(Input::PairLocation);
            return None;
        }
        Some(Action::Pair {
            kind: kind.into(),
            location_id: self.locations.first().and_then(location_id),
        })
    }

    /// A location's number (1 to 9, as the prompt lists them) pairs the device there; Esc gives up.
    fn on_pair_location_key(&mut self, code: KeyCode) -> Option<Action> {
        let chosen = match code {
            KeyCode::Esc => None,
            KeyCode::Char(c @ '1'..='9') => {
                let index = c.to_digit(10).and_then(|d| usize::try_from(d).ok())? - 1;
                // Any other number keeps the question open.
                Some(self.locations.get(index).and_then(location_id)?)
            }
            _ => return None,
        };
        self.input = None;
        let kind = self.pairing_kind.take()?;
        chosen.map(|location_id| Action::Pair {
            kind,
            location_id: Some(location_id),
        })
    }

    /// What the location question lists: `1 Centre  2 Annex ...` (the first nine locations).
    pub fn location_choices(&self) -> String {
        self.locations
            .iter()
            .take(9)
            .enumerate()
            .map(|(i, l)| format!("{} {}", i + 1, l["name"].as_str().unwrap_or("?")))
            .collect::<Vec<_>>()
            .join("  ")
    }

    /// Keys while a text field has focus.
    fn on_input_key(&mut self, input: Input, key: KeyEvent) -> Option<Action> {
        match input {
            Input::PairKind => return self.on_pair_kind_key(key.code),
            Input::PairLocation => return self.on_pair_location_key(key.code),
            _ => {}
        }
        let field = match input {
            Input::Email => &mut self.email,
            Input::Password => &mut self.password,
            Input::Search => &mut self.query,
            _ => &mut self.prompt,
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
                _ => {
                    self.input = None;
                    None
                }
            },
            KeyCode::Enter => self.submit(input),
            _ => None,
        }
    }

    /// Enter in a field: the field's action, or an error that keeps the field open.
    fn submit(&mut self, input: Input) -> Option<Action> {
        let member_id = self.member_id();
        let row = self.selected_row().cloned().unwrap_or_default();
        let id = row["id"].as_str().unwrap_or_default().to_owned();
        let action = match input {
            Input::Email => {
                self.input = Some(Input::Password);
                return None;
            }
            Input::Password => Action::Login {
                email: self.email.clone(),
                password: self.password.clone(),
            },
            Input::Search => {
                self.selected = 0;
                Action::SearchMembers(self.query.clone())
            }
            Input::Amount => {
                let Some(amount) = parse_amount(&self.prompt) else {
                    self.error("amount: write it like 12.50");
                    return None;
                };
                Action::RecordPayment {
                    member_id,
                    invoice_id: id,
                    amount,
                    currency: row["currency"].as_str().unwrap_or("EUR").to_owned(),
                }
            }
            Input::FreezeDates => {
                let Some((starts_on, ends_on)) = parse_period(&self.prompt) else {
                    self.error("dates: write them like 2026-12-01 2026-12-15");
                    return None;
                };
                Action::Freeze {
                    member_id,
                    membership_id: id,
                    starts_on,
                    ends_on,
                }
            }
            Input::OverrideReason => {
                if self.prompt.trim().is_empty() {
                    self.error("a reason is required");
                    return None;
                }
                Action::Override {
                    member_id,
                    event_id: id,
                    reason: self.prompt.trim().to_owned(),
                }
            }
            Input::ReportPeriod => {
                let Some(period) = parse_period(&self.prompt) else {
                    self.error("period: write it like 2026-11-01 2026-11-30");
                    return None;
                };
                self.period = period;
                self.input = None;
                return self.report_name.clone().map(|name| self.open_report(name));
            }
            Input::PairKind | Input::PairLocation => return None,
        };
        self.input = None;
        Some(action)
    }
}

/// A location row's id.
fn location_id(location: &Value) -> Option<String> {
    location["id"].as_str().map(str::to_owned)
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
mod tests;
