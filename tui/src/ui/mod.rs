//! Drawing. Reads the [`App`] and never changes it; every screen adapts to the frame size and draws nothing it
//! cannot fit, so tiny terminals do not panic.

mod members;
mod report;
mod screens;

use crate::app::{App, Input, Popup, Screen};
use ratatui::{
    layout::{Constraint, Layout, Rect},
    style::{Color, Modifier, Style},
    text::{Line, Span},
    widgets::{Block, Borders, Clear, Paragraph, Tabs, Wrap},
    Frame,
};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether colours are used (off for `NO_COLOR` and `TERM=dumb`); modifiers carry the meaning either way.
static COLOR: AtomicBool = AtomicBool::new(true);

/// Decides colour use from the environment.
pub fn detect_color() {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    COLOR.store(!(no_color || dumb), Ordering::Relaxed);
}

/// A style in one of the 16 base colours, or none when colour is off.
fn fg(color: Color) -> Style {
    if COLOR.load(Ordering::Relaxed) {
        Style::new().fg(color)
    } else {
        Style::new()
    }
}

/// Headings and the selection: bold (and cyan).
fn strong() -> Style {
    fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

/// Errors and denials: bold red, bold alone without colour.
fn alarm() -> Style {
    fg(Color::Red).add_modifier(Modifier::BOLD)
}

/// The selected row: reversed, which reads on any terminal.
fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// Draws the whole console.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < 20 || area.height < 5 {
        frame.render_widget(Paragraph::new("too small"), area);
        return;
    }
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    if app.logged_in {
        let titles = Screen::ALL
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{} {}", i + 1, s.title()));
        let index = Screen::ALL
            .iter()
            .position(|s| *s == app.screen)
            .unwrap_or(0);
        frame.render_widget(
            Tabs::new(titles)
                .select(index)
                .highlight_style(strong().add_modifier(Modifier::REVERSED)),
            tabs,
        );
        match app.screen {
            Screen::Dashboard => screens::dashboard(frame, body, app),
            Screen::Members => members::draw(frame, body, app),
            Screen::Feed => screens::feed(frame, body, app),
            Screen::Devices => screens::devices(frame, body, app),
            Screen::Reports => report::draw(frame, body, app),
            Screen::Jobs => screens::jobs(frame, body, app),
        }
    } else {
        frame.render_widget(
            Paragraph::new(Span::styled("Tessera console", strong())),
            tabs,
        );
        login(frame, body, app);
    }
    status_bar(frame, status, app);
    if let Some(p) = &app.popup {
        popup(frame, area, p);
    }
    if app.help {
        help(frame, area);
    }
}

/// The bottom line: a question waiting for `y`, an open prompt, the last error or notice, or where we are;
/// "working…" while API calls run.
fn status_bar(frame: &mut Frame, area: Rect, app: &App) {
    let prompt = app
        .input
        .map(Input::prompt)
        .filter(|p| !p.is_empty() && app.logged_in);
    let mut line = if let Some(confirm) = &app.confirm {
        Line::from(Span::styled(confirm.question.clone(), strong()))
    } else if let Some(prompt) = prompt {
        let text = if app.input == Some(Input::PairKind) {
            prompt.to_owned()
        } else if app.input == Some(Input::PairLocation) {
            format!("{prompt}: {}   Esc cancel", app.location_choices())
        } else {
            format!("{prompt}: {}_   Enter ok, Esc cancel", app.prompt)
        };
        Line::from(Span::styled(text, strong()))
    } else {
        match &app.status {
            Some((text, true)) => Line::from(Span::styled(format!("error: {text}"), alarm())),
            Some((text, false)) => Line::from(text.clone()),
            None => Line::from(format!("{} @ {}   ? help  q quit", app.tenant, app.server)),
        }
    };
    if app.busy > 0 {
        line.spans.insert(0, Span::styled("working… ", strong()));
    }
    frame.render_widget(Paragraph::new(line), area);
}

/// A popup in the middle of the screen, sized to its lines (clipped on small terminals).
fn popup(frame: &mut Frame, area: Rect, popup: &Popup) {
    let widest = popup
        .lines
        .iter()
        .map(|l| l.chars().count())
        .chain([popup.title.chars().count()])
        .max()
        .unwrap_or(10);
    let width = (u16::try_from(widest).unwrap_or(u16::MAX).saturating_add(4)).min(area.width);
    let height = (u16::try_from(popup.lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2))
    .min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line> = popup.lines.iter().map(|l| Line::from(l.clone())).collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(popup.title.clone()),
        ),
        rect,
    );
}

fn login(frame: &mut Frame, area: Rect, app: &App) {
    let masked = "*".repeat(app.password.chars().count());
    let focus = |input: Input| if app.input == Some(input) { "> " } else { "  " };
    let lines = vec![
        Line::from(format!("Server:   {}", app.server)),
        Line::from(format!("Tenant:   {}", app.tenant)),
        Line::from(""),
        Line::from(format!("{}E-mail:   {}", focus(Input::Email), app.email)),
        Line::from(format!("{}Password: {masked}", focus(Input::Password))),
        Line::from(""),
        Line::from("Enter: next / log in   Tab: switch field   Esc: quit"),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title("Log in")),
        area,
    );
}

/// Every key, for the `?` overlay.
pub const KEYS: &[(&str, &str)] = &[
    ("1-6 / Tab", "switch screen"),
    ("Up/Down j/k", "move selection"),
    ("Left/Right h/l", "member page: switch list"),
    ("Enter", "open member / report"),
    ("Esc", "back / close field"),
    ("/", "search members"),
    ("r", "refresh"),
    ("p", "record a cash payment (invoice)"),
    ("s", "resend invoice"),
    ("f", "freeze membership"),
    ("c", "cancel membership (end date first)"),
    ("n", "new card / pair a device"),
    ("x", "revoke credential / device"),
    ("o", "override a door denial"),
    ("[ ]", "report: previous / next month"),
    ("d", "report: type a period"),
    ("R", "retry job / resend delivery"),
    ("y", "confirm a question"),
    ("?", "this help (any key closes)"),
    ("q / Ctrl-C", "quit"),
];

fn help(frame: &mut Frame, area: Rect) {
    let width = area.width.min(52);
    let height = area.height.min(KEYS.len() as u16 + 2);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:<12}"), strong()),
                Span::raw(*what),
            ])
        })
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::default().borders(Borders::ALL).title("Keys")),
        popup,
    );
}

/// `key: value` lines of the scalar fields of an object (nested objects with an amount count as scalars).
fn fields(value: &serde_json::Value) -> Vec<Line<'static>> {
    let Some(map) = value.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter(|(_, v)| match v {
            serde_json::Value::Array(_) => false,
            serde_json::Value::Object(o) => o.contains_key("amount"),
            _ => true,
        })
        .map(|(k, v)| Line::from(format!("{}: {}", k.replace('_', " "), crate::exec::show(v))))
        .collect()
}

#[cfg(test)]
mod tests;
