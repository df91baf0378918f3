//! Member search and the member page.

use super::screens::json_table;
use super::{alarm, fields, strong};
use crate::app::{App, Input, Section};
use crate::exec::show;
use ratatui::{
    layout::{Constraint, Layout, Rect},
    style::Style,
    text::Line,
    widgets::{Block, Borders, Paragraph, Wrap},
    Frame,
};

/// The search list, or the open member.
pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    if let Some(member) = &app.member {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(45), Constraint::Fill(1)]).areas(area);
        let [profile, side] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)]).areas(top);
        let p = &member.profile;
        let mut lines = vec![Line::styled(
            format!("{} {}", show(&p["given_name"]), show(&p["family_name"])),
            strong(),
        )];
        lines.extend(fields(p).into_iter().filter(|l| {
            let t = l.to_string();
            !t.starts_with("given name") && !t.starts_with("family name")
        }));
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: true })
                .block(Block::default().borders(Borders::ALL).title("Profile")),
            profile,
        );
        let mut info = vec![Line::styled("Memberships", strong())];
        info.extend(member.memberships.iter().map(|m| {
            Line::from(format!(
                "{} {} {}",
                show(&m["plan_name"]),
                show(&m["status"]),
                show(&m["ends_on"])
            ))
        }));
        info.push(Line::styled("Body measurements", strong()));
        info.push(match &member.body {
            None => Line::from("not allowed"),
            Some(b) => Line::from(format!("{} recorded", b.len())),
        });
        info.push(Line::styled("Notes", strong()));
        info.extend(member.notes.iter().map(|n| Line::from(show(&n["body"]))));
        frame.render_widget(
            Paragraph::new(info)
                .wrap(Wrap { trim: true })
                .block(Block::default().borders(Borders::ALL).title("Account")),
            side,
        );
        // The focused list, with its keys; ←/→ moves to the next one.
        let tabs: Vec<&str> = Section::ALL
            .iter()
            .map(|s| s.title().split(' ').next().unwrap_or(""))
            .collect();
        let title = format!("{}   [←/→: {}]", app.section.title(), tabs.join(" "));
        let rows = member.rows(app.section);
        let columns: &[(&str, &str)] = match app.section {
            Section::Invoices => &[
                ("number", "Number"),
                ("status", "Status"),
                ("total_incl", "Total"),
                ("outstanding", "Outstanding"),
                ("due_on", "Due"),
            ],
            Section::Payments => &[
                ("created_at", "When"),
                ("amount", "Amount"),
                ("method", "Method"),
                ("provider", "Provider"),
                ("status", "Status"),
            ],
            Section::Bookings => &[
                ("starts_at", "Starts"),
                ("kind", "Kind"),
                ("status", "Status"),
                ("when", "Upcoming/past"),
            ],
            Section::Memberships => &[
                ("plan_name", "Plan"),
                ("status", "Status"),
                ("starts_on", "From"),
                ("ends_on", "Until"),
            ],
            Section::Credentials => &[
                ("kind", "Kind"),
                ("value", "Number / UID"),
                ("status", "Status"),
                ("label", "Note"),
            ],
            Section::Checkins => &[
                ("occurred_at", "When"),
                ("direction", "Dir"),
                ("decision", "Decision"),
                ("reason", "Reason"),
            ],
        };
        if app.section == Section::Credentials && member.credentials.is_none() {
            frame.render_widget(
                Paragraph::new("not allowed")
                    .block(Block::default().borders(Borders::ALL).title(title)),
                bottom,
            );
            return;
        }
        json_table(
            frame,
            bottom,
            &title,
            rows,
            columns,
            Some(app.selected),
            |r| {
                if r["decision"] == "deny" || r["status"] == "revoked" {
                    alarm()
                } else {
                    Style::new()
                }
            },
        );
        return;
    }
    let [search, list] = Layout::vertical([Constraint::Length(3), Constraint::Fill(1)]).areas(area);
    let cursor = if app.input == Some(Input::Search) {
        "_"
    } else {
        ""
    };
    frame.render_widget(
        Paragraph::new(format!("{}{cursor}", app.query)).block(
            Block::default()
                .borders(Borders::ALL)
                .title("Search (/ to type, Enter to run)"),
        ),
        search,
    );
    let title = if app.members_for.is_empty() {
        format!("Members ({})", app.members.len())
    } else {
        format!(
            "Members matching \"{}\" ({})",
            app.members_for,
            app.members.len()
        )
    };
    json_table(
        frame,
        list,
        &title,
        &app.members,
        &[
            ("given_name", "First name"),
            ("family_name", "Last name"),
            ("email", "E-mail"),
            ("card_number", "Card"),
            ("status", "Status"),
        ],
        Some(app.selected),
        |_| Style::new(),
    );
}
