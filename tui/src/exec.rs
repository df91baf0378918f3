//! Runs [`Action`]s against the API and stores the answers in the [`App`]. Every failure ends in the status
//! bar; nothing here draws.

use crate::api::{rows, Api, ApiError};
use crate::app::{Action, App, MemberPage, Screen};
use crate::report::{Report, ReportInfo};
use serde_json::{json, Value};

/// Runs one action; errors go to the status bar.
pub async fn run(api: &mut Api, app: &mut App, action: Action) {
    if let Err(e) = try_run(api, app, action).await {
        app.error(e.to_string());
    }
}

/// A first and last day of the current month, for reports.
fn this_month() -> (String, String) {
    let today = chrono::Utc::now().date_naive();
    let from = today.format("%Y-%m-01").to_string();
    (from, today.format("%Y-%m-%d").to_string())
}

async fn try_run(api: &mut Api, app: &mut App, action: Action) -> Result<(), ApiError> {
    match action {
        Action::Quit => app.quit = true,
        Action::Login { email, password } => {
            api.login(&email, &password).await?;
            app.password.clear();
            app.logged_in = true;
            app.input = None;
            app.notice(format!("logged in as {email}"));
            Box::pin(try_run(api, app, Action::Load(Screen::Dashboard))).await?;
        }
        Action::Load(Screen::Dashboard) => {
            app.today = Some(api.get("/api/v1/dashboard/today").await?);
            app.occupancy = api.get("/api/v1/access/occupancy").await.ok();
            app.money = api.get("/api/v1/money/summary").await.ok();
        }
        Action::Load(Screen::Members) => {
            let q = app.query.clone();
            Box::pin(try_run(api, app, Action::SearchMembers(q))).await?;
        }
        Action::Load(Screen::Feed) => {
            app.feed = rows(api.get("/api/v1/access/events?limit=50").await?);
        }
        Action::Load(Screen::Devices) => app.devices = rows(api.get("/api/v1/devices").await?),
        Action::Load(Screen::Reports) => {
            let list = api.get("/api/v1/reports").await?;
            app.reports = serde_json::from_value::<Vec<ReportInfo>>(list).unwrap_or_default();
        }
        Action::Load(Screen::Jobs) => app.jobs = rows(api.get("/api/v1/jobs?state=dead").await?),
        Action::SearchMembers(q) => {
            let path = format!("/api/v1/members?limit=50&q={}", encode(&q));
            app.members = rows(api.get(&path).await?);
        }
        Action::OpenMember(id) => {
            let id = encode(&id);
            let profile = api.get(&format!("/api/v1/members/{id}")).await?;
            let body = match api
                .get(&format!("/api/v1/members/{id}/body-measurements"))
                .await
            {
                Ok(v) => Some(rows(v)),
                Err(e) if e.is_forbidden() => None,
                Err(e) => return Err(e),
            };
            app.member = Some(MemberPage {
                profile,
                memberships: rows(
                    api.get(&format!("/api/v1/memberships?member_id={id}"))
                        .await?,
                ),
                invoices: rows(api.get(&format!("/api/v1/invoices?member_id={id}")).await?),
                checkins: rows(
                    api.get(&format!("/api/v1/access/events?member_id={id}&limit=20"))
                        .await?,
                ),
                notes: rows(api.get(&format!("/api/v1/members/{id}/notes")).await?),
                body,
            });
            app.selected = 0;
        }
        Action::OpenReport(name) => {
            let (from, to) = this_month();
            let value = api
                .get(&format!(
                    "/api/v1/reports/{}?from={from}&to={to}",
                    encode(&name)
                ))
                .await?;
            match serde_json::from_value::<Report>(value) {
                Ok(report) => app.report = Some(report),
                Err(e) => app.error(format!("report not understood: {e}")),
            }
        }
        Action::RecordPayment {
            invoice_id,
            amount,
            currency,
        } => {
            let body = json!({"amount": amount, "currency": currency, "method": "cash"});
            api.post(
                &format!("/api/v1/invoices/{}/payments", encode(&invoice_id)),
                &body,
            )
            .await?;
            app.notice(format!("payment of {} recorded", minor(amount)));
            reload_member(api, app).await?;
        }
        Action::ResendInvoice(invoice_id) => {
            api.post(
                &format!("/api/v1/invoices/{}/send", encode(&invoice_id)),
                &json!({}),
            )
            .await?;
            app.notice("invoice queued for sending");
        }
    }
    Ok(())
}

async fn reload_member(api: &mut Api, app: &mut App) -> Result<(), ApiError> {
    let id = app
        .member
        .as_ref()
        .and_then(|m| m.profile["id"].as_str().map(str::to_string));
    if let Some(id) = id {
        let selected = app.selected;
        Box::pin(try_run(api, app, Action::OpenMember(id))).await?;
        app.selected = selected;
    }
    Ok(())
}

/// `1250` → `12.50`.
pub fn minor(amount: i64) -> String {
    format!("{}.{:02}", amount / 100, (amount % 100).abs())
}

/// Percent-encodes a query or path value (unreserved characters stay).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Short text of any JSON value for a table cell (money objects as `amount currency`).
pub fn show(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(map) if map.contains_key("amount") => {
            // Amounts are integers in minor units (cents); strings are already formatted.
            let amount = match &map["amount"] {
                Value::Number(n) => n.as_i64().map_or_else(|| n.to_string(), minor),
                other => show(other),
            };
            match map.get("currency").and_then(Value::as_str) {
                Some(c) => format!("{amount} {c}"),
                None => amount,
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_formats() {
        assert_eq!(encode("ana q&x"), "ana%20q%26x");
        assert_eq!(minor(1250), "12.50");
        assert_eq!(
            show(&json!({"amount": "12.00", "currency": "EUR"})),
            "12.00 EUR"
        );
    }
}
