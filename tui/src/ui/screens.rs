//! The simpler screens: dashboard, live feed, devices and jobs, plus the generic JSON table they share.

use super::{alarm, fields, selected, strong};
use crate::app::App;
use crate::exec::show;
use ratatui::{
    layout::{Constraint, Layout, Rect},
    style::Style,
    text::Line,
    widgets::{Block, Borders, Paragraph, Row, Table, Wrap},
    Frame,
};
use serde_json::Value;

/// A bordered table of JSON rows showing `columns` (`(key, header)`); `style` picks a row style.
pub(super) fn json_table(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    rows: &[Value],
    columns: &[(&str, &str)],
    chosen: Option<usize>,
    style: impl Fn(&Value) -> Style,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title.to_string());
    if rows.is_empty() {
        frame.render_widget(Paragraph::new("(nothing)").block(block), area);
        return;
    }
    let header = Row::new(columns.iter().map(|(_, h)| *h)).style(strong());
    let body = rows.iter().enumerate().map(|(i, r)| {
        let row = Row::new(columns.iter().map(|(k, _)| show(pick(r, k))));
        if Some(i) == chosen {
            row.style(selected())
        } else {
            row.style(style(r))
        }
    });
    let widths = columns.iter().map(|_| Constraint::Fill(1));
    frame.render_widget(Table::new(body, widths).header(header).block(block), area);
}

/// `a.b` paths into nested objects.
fn pick<'a>(value: &'a Value, key: &str) -> &'a Value {
    key.split('.').fold(value, |v, k| &v[k])
}

/// Today's figures, occupancy and money alerts.
pub(super) fn dashboard(frame: &mut Frame, area: Rect, app: &App) {
    let [left, right] = if area.width >= 100 {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area)
    } else {
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area)
    };
    let mut today = Vec::new();
    if let Some(t) = &app.today {
        today.extend(fields(t));
        for group in ["appointments", "classes"] {
            if let Some(obj) = t[group].as_object() {
                let parts: Vec<String> = obj
                    .iter()
                    .map(|(k, v)| format!("{k} {}", show(v)))
                    .collect();
                today.push(Line::from(format!("{group}: {}", parts.join(", "))));
            }
        }
    } else {
        today.push(Line::from("not loaded — press r"));
    }
    frame.render_widget(
        Paragraph::new(today)
            .wrap(Wrap { trim: true })
            .block(Block::default().borders(Borders::ALL).title("Today")),
        left,
    );
    let mut alerts = Vec::new();
    if let Some(o) = &app.occupancy {
        alerts.push(Line::styled("Occupancy", strong()));
        alerts.extend(fields(o));
    }
    if let Some(m) = &app.money {
        alerts.push(Line::styled("Money", strong()));
        for line in fields(m) {
            let text = line.to_string();
            if text.contains("failed") || text.contains("overdue") {
                alerts.push(Line::styled(text, alarm()));
            } else {
                alerts.push(Line::from(text));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(alerts)
            .wrap(Wrap { trim: true })
            .block(Block::default().borders(Borders::ALL).title("Alerts")),
        right,
    );
}

/// Access decisions, denials in bold red with their reason.
pub(super) fn feed(frame: &mut Frame, area: Rect, app: &App) {
    json_table(
        frame,
        area,
        "Check-ins",
        &app.feed,
        &[
            ("occurred_at", "When"),
            ("member_name", "Member"),
            ("decision", "Decision"),
            ("reason", "Reason"),
            ("device_id", "Device"),
        ],
        None,
        |e| {
            if e["decision"].as_str().is_some_and(|d| d != "granted") {
                alarm()
            } else {
                Style::new()
            }
        },
    );
}

/// Door devices.
pub(super) fn devices(frame: &mut Frame, area: Rect, app: &App) {
    json_table(
        frame,
        area,
        "Devices",
        &app.devices,
        &[
            ("name", "Name"),
            ("kind", "Kind"),
            ("status", "Status"),
            ("last_seen_at", "Last seen"),
        ],
        Some(app.selected),
        |_| Style::new(),
    );
}

/// Dead or failed jobs.
pub(super) fn jobs(frame: &mut Frame, area: Rect, app: &App) {
    json_table(
        frame,
        area,
        "Failed jobs",
        &app.jobs,
        &[
            ("kind", "Kind"),
            ("state", "State"),
            ("attempts", "Attempts"),
            ("last_error", "Error"),
        ],
        Some(app.selected),
        |_| Style::new(),
    );
}
