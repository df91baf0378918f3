//! The simpler screens: dashboard, live feed, devices and jobs, plus the generic JSON table they share.

use super::{alarm, fields, selected, strong};
use crate::app::App;
use crate::exec::show;
use ratatui::{
    layout::{Constraint, Layout, Rect},
    style::Style,
    text::Line,
    widgets::{Block, Borders, Paragraph, Row, Sparkline, Table, Wrap},
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
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|(k, _)| show(pick(r, k))).collect())
        .collect();
    // Each column gets a share of the width in proportion to its longest text (capped), so long codes such
    // as refusal reasons stay readable at 80 columns.
    let widths: Vec<Constraint> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, h))| {
            let longest = cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([h.chars().count()])
                .max()
                .unwrap_or(1)
                .clamp(4, 32);
            Constraint::Fill(u16::try_from(longest).unwrap_or(32))
        })
        .collect();
    let body = cells.into_iter().enumerate().map(|(i, c)| {
        let row = Row::new(c);
        if Some(i) == chosen {
            row.style(selected())
        } else {
            row.style(style(&rows[i]))
        }
    });
    frame.render_widget(Table::new(body, widths).header(header).block(block), area);
}

/// `a.b` paths into nested objects.
fn pick<'a>(value: &'a Value, key: &str) -> &'a Value {
    key.split('.').fold(value, |v, k| &v[k])
}

/// Today's figures with the entries by hour, who is in, and money alerts.
pub(super) fn dashboard(frame: &mut Frame, area: Rect, app: &App) {
    let [left, right] = if area.width >= 100 {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area)
    } else {
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area)
    };
    let spark_height = if app.hourly.is_empty() || left.height < 12 {
        0
    } else {
        5
    };
    let [figures, spark] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(spark_height)]).areas(left);
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
        figures,
    );
    if spark_height > 0 {
        let total: u64 = app.hourly.iter().sum();
        frame.render_widget(
            Sparkline::default()
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(format!("Entries by hour, 0–23h ({total} today)")),
                )
                .data(&app.hourly),
            spark,
        );
    }
    let mut alerts = Vec::new();
    for o in &app.occupancy {
        alerts.push(Line::styled(
            format!("Inside {}: {}", show(&o["location"]), show(&o["count"])),
            strong(),
        ));
        if let Some(names) = o["names"].as_array() {
            let shown: Vec<String> = names.iter().take(5).map(show).collect();
            if !shown.is_empty() {
                let more = names.len().saturating_sub(shown.len());
                let tail = if more > 0 {
                    format!(" +{more}")
                } else {
                    String::new()
                };
                alerts.push(Line::from(format!("  {}{tail}", shown.join(", "))));
            }
        }
    }
    if app.money.is_some() || app.failed_payments.is_some() {
        alerts.push(Line::styled("Money", strong()));
    }
    for m in app.money.iter().flatten() {
        let text = format!(
            "{}: outstanding {}, overdue {} ({} members)",
            show(&m["currency"]),
            show(&m["outstanding"]),
            show(&m["overdue"]),
            show(&m["members_overdue"])
        );
        // Anything overdue is an alert; amounts arrive in minor units.
        let overdue = m["overdue"]["amount"].as_i64().unwrap_or(0) > 0;
        alerts.push(if overdue {
            Line::styled(text, alarm())
        } else {
            Line::from(text)
        });
    }
    if let Some(failed) = app.failed_payments {
        let text = format!("failed payments (24 h): {failed}");
        alerts.push(if failed > 0 {
            Line::styled(text, alarm())
        } else {
            Line::from(text)
        });
    }
    frame.render_widget(
        Paragraph::new(alerts).wrap(Wrap { trim: true }).block(
            Block::default()
                .borders(Borders::ALL)
                .title("Who is in, alerts"),
        ),
        right,
    );
}

/// Access decisions, newest first, denials in bold red with their reason; the title says whether it is live.
pub(super) fn feed(frame: &mut Frame, area: Rect, app: &App) {
    let title = if app.live {
        "Check-ins — live"
    } else {
        "Check-ins — not live (reconnecting; r reloads)"
    };
    json_table(
        frame,
        area,
        title,
        &app.feed,
        &[
            ("occurred_at", "When"),
            ("who", "Member"),
            ("direction", "Dir"),
            ("decision", "Decision"),
            ("reason", "Reason"),
        ],
        Some(app.selected).filter(|_| !app.feed.is_empty()),
        |e| {
            if e["decision"] == "deny" {
                alarm()
            } else {
                Style::new()
            }
        },
    );
}

/// Paired devices.
pub(super) fn devices(frame: &mut Frame, area: Rect, app: &App) {
    json_table(
        frame,
        area,
        "Devices (n pair, x revoke)",
        &app.devices,
        &[
            ("name", "Name"),
            ("kind", "Kind"),
            ("status", "Status"),
            ("firmware", "Firmware"),
            ("last_seen_at", "Last seen"),
        ],
        Some(app.selected),
        |d| {
            if d["status"] == "revoked" {
                alarm()
            } else {
                Style::new()
            }
        },
    );
}

/// Dead jobs and failed webhook deliveries.
pub(super) fn jobs(frame: &mut Frame, area: Rect, app: &App) {
    json_table(
        frame,
        area,
        "Failed jobs and webhook deliveries (R retry)",
        &app.jobs,
        &[
            ("what", "What"),
            ("kind", "Kind"),
            ("status", "Status"),
            ("attempts", "Tries"),
            ("error", "Last error"),
        ],
        Some(app.selected),
        |_| Style::new(),
    );
}
