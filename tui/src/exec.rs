//! Runs [`Action`]s against the API on a background thread, so the interface keeps drawing and taking keys
//! while calls are under way. Each answer comes back as an [`Update`], a change the main loop applies to the
//! [`App`]; every failure ends in the status bar. Nothing here draws.

use std::sync::mpsc;
use std::sync::Arc;

use crate::api::{rows, Api, ApiError};
use crate::app::{Action, App, Confirm, MemberPage, Popup, Screen};
use crate::report::{Report, ReportInfo};
use serde_json::{json, Value};
use tokio::sync::Mutex;

/// A change to the console's state, made on the main thread.
pub type Update = Box<dyn FnOnce(&mut App) + Send>;

/// Sends updates to the main loop; a closed loop (the console is quitting) is not an error.
#[derive(Clone)]
pub struct Updates(mpsc::Sender<Update>);

impl Updates {
    /// Queues `change`.
    pub fn send(&self, change: impl FnOnce(&mut App) + Send + 'static) {
        let _ = self.0.send(Box::new(change));
    }
}

/// The background executor: a thread with its own runtime, taking actions in order.
pub struct Worker {
    actions: tokio::sync::mpsc::UnboundedSender<Action>,
    /// Updates for the main loop.
    pub updates: mpsc::Receiver<Update>,
}

impl Worker {
    /// Starts the executor over `api`.
    pub fn spawn(api: Api) -> std::io::Result<Worker> {
        let (actions, mut queue) = tokio::sync::mpsc::unbounded_channel::<Action>();
        let (sender, updates) = mpsc::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("console-api".into())
            .spawn(move || {
                let api = Arc::new(Mutex::new(api));
                let updates = Updates(sender);
                runtime.block_on(async move {
                    while let Some(action) = queue.recv().await {
                        run(&api, &updates, action).await;
                        updates.send(|app| app.busy = app.busy.saturating_sub(1));
                    }
                });
            })?;
        Ok(Worker { actions, updates })
    }

    /// Queues `action`; the console shows it is working until the answer is applied.
    pub fn submit(&self, app: &mut App, action: Action) {
        if self.actions.send(action).is_ok() {
            app.busy += 1;
        } else {
            app.error("the API worker stopped");
        }
    }
}

/// Runs one action; errors go to the status bar.
async fn run(api: &Arc<Mutex<Api>>, updates: &Updates, action: Action) {
    if let Err(e) = try_run(api, updates, action).await {
        let message = e.to_string();
        updates.send(move |app| app.error(message));
    }
}

async fn try_run(
    shared: &Arc<Mutex<Api>>,
    updates: &Updates,
    action: Action,
) -> Result<(), ApiError> {
    let mut api = shared.lock().await;
    match action {
        Action::Quit => updates.send(|app| app.quit = true),
        Action::Login { email, password } => {
            api.login(&email, &password).await?;
            updates.send(move |app| {
                app.password.clear();
                app.logged_in = true;
                app.input = None;
                app.notice(format!("logged in as {email}"));
            });
            drop(api);
            tokio::spawn(crate::live::follow(shared.clone(), updates.clone()));
            Box::pin(try_run(shared, updates, Action::Load(Screen::Dashboard))).await?;
        }
        Action::Load(Screen::Dashboard) => {
            let today = api.get("/api/v1/dashboard/today").await?;
            // Who is in and today's entries need `access.read`, money `money.read`: without them the
            // dashboard shows the rest.
            let (occupancy, hourly) =
                presence(&mut api, today["date"].as_str().unwrap_or_default())
                    .await
                    .unwrap_or_default();
            let money = api.get("/api/v1/money/summary").await.ok().map(rows);
            let failed = api.get("/api/v1/payments?limit=100").await.ok().map(|p| {
                failed_since(
                    &rows(p),
                    chrono::Utc::now().naive_utc() - chrono::Duration::hours(24),
                )
            });
            updates.send(move |app| {
                app.today = Some(today);
                app.occupancy = occupancy;
                app.hourly = hourly;
                app.money = money;
                app.failed_payments = failed;
            });
        }
        Action::Load(Screen::Members) => {}
        Action::Load(Screen::Feed) => {
            let feed: Vec<Value> = rows(api.get("/api/v1/access/events?limit=50").await?)
                .into_iter()
                .map(feed_row)
                .collect();
            updates.send(move |app| app.feed = feed);
        }
        Action::Load(Screen::Devices) => {
            let devices = rows(api.get("/api/v1/devices").await?);
            let locations = rows(api.get("/api/v1/locations").await?);
            updates.send(move |app| {
                app.devices = devices;
                app.locations = locations;
            });
        }
        Action::Load(Screen::Reports) => {
            let list = api.get("/api/v1/reports").await?;
            let reports = serde_json::from_value::<Vec<ReportInfo>>(list).unwrap_or_default();
            updates.send(move |app| app.reports = reports);
        }
        Action::Load(Screen::Jobs) => {
            let jobs = failures(&mut api).await?;
            updates.send(move |app| app.jobs = jobs);
        }
        Action::SearchMembers(q) => {
            let path = format!("/api/v1/members?limit=50&q={}", encode(&q));
            let members = rows(api.get(&path).await?);
            updates.send(move |app| {
                app.members = members;
                app.members_for = q;
            });
        }
        Action::OpenMember(id) => {
            let page = member_page(&mut api, &id).await?;
            updates.send(move |app| app.show_member(page));
        }
        Action::OpenReport { name, from, to } => {
            let value = api
                .get(&format!(
                    "/api/v1/reports/{}?from={from}&to={to}",
                    encode(&name)
                ))
                .await?;
            match serde_json::from_value::<Report>(value) {
                Ok(report) => updates.send(move |app| app.report = Some(report)),
                Err(e) => {
                    let message = format!("report not understood: {e}");
                    updates.send(move |app| app.error(message));
                }
            }
        }
        Action::RecordPayment {
            member_id,
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
            reload_member(
                &mut api,
                updates,
                &member_id,
                format!("payment of {} recorded", minor(amount)),
            )
            .await?;
        }
        Action::ResendInvoice(invoice_id) => {
            api.post(
                &format!("/api/v1/invoices/{}/send", encode(&invoice_id)),
                &json!({}),
            )
            .await?;
            updates.send(|app| app.notice("invoice queued for sending"));
        }
        Action::Freeze {
            member_id,
            membership_id,
            starts_on,
            ends_on,
        } => {
            let body = json!({"starts_on": starts_on, "ends_on": ends_on, "reason": "console"});
            api.post(
                &format!("/api/v1/memberships/{}/freezes", encode(&membership_id)),
                &body,
            )
            .await?;
            reload_member(
                &mut api,
                updates,
                &member_id,
                format!("frozen from {starts_on} until {ends_on}"),
            )
            .await?;
        }
        Action::QuoteCancellation {
            member_id,
            membership_id,
        } => {
            let quote = api
                .get(&format!(
                    "/api/v1/memberships/{}/cancellation",
                    encode(&membership_id)
                ))
                .await?;
            let question = format!(
                "Cancel? Last day of access {}, ends {} (commitment until {}). y/n",
                show(&quote["last_day"]),
                show(&quote["effective_on"]),
                show(&quote["commitment_until"])
            );
            updates.send(move |app| {
                app.confirm = Some(Confirm {
                    question,
                    action: Action::ConfirmCancellation {
                        member_id,
                        membership_id,
                    },
                });
            });
        }
        Action::ConfirmCancellation {
            member_id,
            membership_id,
        } => {
            let done = api
                .post(
                    &format!(
                        "/api/v1/memberships/{}/cancellation",
                        encode(&membership_id)
                    ),
                    &json!({}),
                )
                .await?;
            let notice = format!("cancelled: status {}", show(&done["status"]));
            reload_member(&mut api, updates, &member_id, notice).await?;
        }
        Action::IssueCard(member_id) => {
            let card = api
                .post(
                    &format!("/api/v1/members/{}/credentials", encode(&member_id)),
                    &json!({}),
                )
                .await?;
            let notice = format!("card {} issued", show(&card["value"]));
            reload_member(&mut api, updates, &member_id, notice).await?;
        }
        Action::RevokeCredential {
            member_id,
            credential_id,
        } => {
            api.post(
                &format!("/api/v1/credentials/{}/revoke", encode(&credential_id)),
                &json!({}),
            )
            .await?;
            reload_member(&mut api, updates, &member_id, "credential revoked".into()).await?;
        }
        Action::Override {
            member_id,
            event_id,
            reason,
        } => {
            api.post(
                "/api/v1/access/overrides",
                &json!({"event_id": event_id, "reason": reason}),
            )
            .await?;
            reload_member(
                &mut api,
                updates,
                &member_id,
                "entry allowed by override".into(),
            )
            .await?;
        }
        Action::Pair { kind, location_id } => {
            let location = match location_id {
                Some(id) => Some(id),
                None => rows(api.get("/api/v1/locations").await?)
                    .first()
                    .and_then(|l| l["id"].as_str())
                    .map(str::to_owned),
            };
            let mut body = json!({"kind": kind});
            if let Some(location) = location {
                body["location_id"] = json!(location);
            }
            let code = api.post("/api/v1/devices/pairings", &body).await?;
            let popup = pairing_popup(&code);
            let devices = rows(api.get("/api/v1/devices").await?);
            updates.send(move |app| {
                app.popup = Some(popup);
                app.devices = devices;
            });
        }
        Action::RevokeDevice(id) => {
            api.post(
                &format!("/api/v1/devices/{}/revoke", encode(&id)),
                &json!({}),
            )
            .await?;
            let devices = rows(api.get("/api/v1/devices").await?);
            updates.send(move |app| {
                app.devices = devices;
                app.notice("device revoked");
            });
        }
        Action::RetryJob(id) => {
            api.post(&format!("/api/v1/jobs/{}/retry", encode(&id)), &json!({}))
                .await?;
            let jobs = failures(&mut api).await?;
            updates.send(move |app| {
                app.jobs = jobs;
                app.notice("job queued again");
            });
        }
        Action::ResendDelivery {
            endpoint_id,
            delivery_id,
        } => {
            api.post(
                &format!(
                    "/api/v1/webhook-endpoints/{}/deliveries/{}/resend",
                    encode(&endpoint_id),
                    encode(&delivery_id)
                ),
                &json!({}),
            )
            .await?;
            let jobs = failures(&mut api).await?;
            updates.send(move |app| {
                app.jobs = jobs;
                app.notice("delivery sent again");
            });
        }
    }
    Ok(())
}

/// How many of `payments` (newest first, `created_at` in UTC) failed since `since`.
fn failed_since(payments: &[Value], since: chrono::NaiveDateTime) -> usize {
    payments
        .iter()
        .filter(|p| p["status"] == "failed")
        .filter(|p| {
            p["created_at"]
                .as_str()
                .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").ok())
                .is_some_and(|t| t >= since)
        })
        .count()
}

/// Who is in at each location (at most five), and the first location's entries per hour on `date`.
async fn presence(api: &mut Api, date: &str) -> Result<(Vec<Value>, Vec<u64>), ApiError> {
    let locations = rows(api.get("/api/v1/locations").await?);
    let mut inside = Vec::new();
    let mut hourly = Vec::new();
    for (i, location) in locations.iter().take(5).enumerate() {
        let Some(id) = location["id"].as_str() else {
            continue;
        };
        let now = api
            .get(&format!(
                "/api/v1/access/occupancy?location_id={}",
                encode(id)
            ))
            .await?;
        let names: Vec<String> = now["present"]
            .as_array()
            .map(|p| {
                p.iter()
                    .filter_map(|x| x["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        inside.push(json!({"location": location["name"], "count": now["count"], "names": names}));
        if i == 0 && !date.is_empty() {
            let peaks = api
                .get(&format!(
                    "/api/v1/access/occupancy/peaks?location_id={}&date={}",
                    encode(id),
                    encode(date)
                ))
                .await?;
            hourly = peaks["hours"]
                .as_array()
                .map(|h| {
                    h.iter()
                        .map(|x| x["entries"].as_u64().unwrap_or(0))
                        .collect()
                })
                .unwrap_or_default();
        }
    }
    Ok((inside, hourly))
}

/// Everything on a member page; the parts the caller may not read (credentials, body data: the API answers 403
/// or 404 to those without the permission) are left out.
async fn member_page(api: &mut Api, id: &str) -> Result<MemberPage, ApiError> {
    let id = encode(id);
    let optional = |result: Result<Value, ApiError>| match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_forbidden() || e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    };
    let profile = api.get(&format!("/api/v1/members/{id}")).await?;
    let credentials = optional(api.get(&format!("/api/v1/members/{id}/credentials")).await)?;
    let body = optional(
        api.get(&format!("/api/v1/members/{id}/body-measurements"))
            .await,
    )?;
    let bookings = api.get(&format!("/api/v1/members/{id}/bookings")).await?;
    let bookings = ["upcoming", "history"]
        .iter()
        .flat_map(|when| {
            bookings[when]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |mut b| {
                    b["when"] = json!(when);
                    b
                })
        })
        .collect();
    Ok(MemberPage {
        profile,
        memberships: rows(
            api.get(&format!("/api/v1/memberships?member_id={id}"))
                .await?,
        ),
        invoices: rows(api.get(&format!("/api/v1/invoices?member_id={id}")).await?),
        payments: rows(api.get(&format!("/api/v1/payments?member_id={id}")).await?),
        bookings,
        credentials: credentials.map(rows),
        checkins: rows(
            api.get(&format!("/api/v1/access/events?member_id={id}&limit=20"))
                .await?,
        )
        .into_iter()
        .map(feed_row)
        .collect(),
        notes: rows(api.get(&format!("/api/v1/members/{id}/notes")).await?),
        body: body.map(|health| health["history"].as_array().cloned().unwrap_or_default()),
    })
}

async fn reload_member(
    api: &mut Api,
    updates: &Updates,
    member_id: &str,
    notice: String,
) -> Result<(), ApiError> {
    let page = member_page(api, member_id).await?;
    updates.send(move |app| {
        app.show_member(page);
        app.notice(notice);
    });
    Ok(())
}

/// Dead jobs and failed webhook deliveries, as one list: `what` says which, `kind` what it was about.
async fn failures(api: &mut Api) -> Result<Vec<Value>, ApiError> {
    let mut out: Vec<Value> = rows(api.get("/api/v1/jobs?status=dead&limit=50").await?)
        .into_iter()
        .map(|j| {
            json!({"what": "job", "id": j["id"], "kind": j["kind"], "status": j["status"],
                "attempts": j["attempts"], "error": j["last_error"], "at": j["finished_at"]})
        })
        .collect();
    for endpoint in rows(api.get("/api/v1/webhook-endpoints").await?) {
        let Some(endpoint_id) = endpoint["id"].as_str() else {
            continue;
        };
        let deliveries = rows(
            api.get(&format!(
                "/api/v1/webhook-endpoints/{}/deliveries?limit=50",
                encode(endpoint_id)
            ))
            .await?,
        );
        out.extend(
            deliveries
                .into_iter()
                .filter(|d| matches!(d["status"].as_str(), Some("failed" | "dead")))
                .map(|d| {
                    let attempts = d["attempts"].as_array().map_or(0, Vec::len);
                    let error = d["attempts"]
                        .as_array()
                        .and_then(|a| a.last())
                        .map(|a| a["error"].clone())
                        .unwrap_or(Value::Null);
                    json!({"what": "delivery", "id": d["id"], "endpoint_id": endpoint_id,
                        "kind": d["event_type"], "status": d["status"], "attempts": attempts,
                        "error": error, "at": d["created_at"]})
                }),
        );
    }
    Ok(out)
}

/// A decision as the feed shows it, from the access-events list or a live event's data: who is named when known.
pub fn feed_row(mut row: Value) -> Value {
    let who = row["member"]["name"]
        .as_str()
        .or_else(|| row["member_id"].as_str())
        .unwrap_or("unknown card")
        .to_owned();
    if row.get("id").is_none() {
        row["id"] = row["event_id"].clone();
    }
    row["who"] = json!(who);
    row
}

/// The popup of a new pairing code: the code, when it expires, and the code's QR for the device's camera.
fn pairing_popup(code: &Value) -> Popup {
    let mut lines = vec![
        format!("Code: {}", show(&code["code"])),
        format!(
            "Kind: {}   expires {}",
            show(&code["kind"]),
            show(&code["expires_at"])
        ),
        String::new(),
    ];
    if let Some(uri) = code["pairing_uri"].as_str() {
        match qrcode::QrCode::new(uri.as_bytes()) {
            Ok(qr) => lines.extend(
                qr.render::<qrcode::render::unicode::Dense1x2>()
                    .dark_color(qrcode::render::unicode::Dense1x2::Light)
                    .light_color(qrcode::render::unicode::Dense1x2::Dark)
                    .build()
                    .lines()
                    .map(str::to_owned),
            ),
            Err(e) => lines.push(format!("(no QR code: {e})")),
        }
        lines.push(uri.to_owned());
    }
    Popup {
        title: "Pairing code (any key closes)".into(),
        lines,
    }
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

    #[test]
    fn failed_payments_are_counted_within_the_window() {
        let since =
            chrono::NaiveDateTime::parse_from_str("2026-11-26T12:00:00", "%Y-%m-%dT%H:%M:%S")
                .unwrap();
        let payments = [
            json!({"status": "failed", "created_at": "2026-11-27T08:00:00.123"}),
            json!({"status": "failed", "created_at": "2026-11-26T11:59:59"}),
            json!({"status": "succeeded", "created_at": "2026-11-27T09:00:00"}),
            json!({"status": "failed", "created_at": "not a time"}),
        ];
        assert_eq!(failed_since(&payments, since), 1);
    }

    #[test]
    fn feed_rows_name_the_member_when_known() {
        let live = feed_row(
            json!({"event_id": "ace1", "member": {"name": "Ana Quinta"}, "member_id": "acc_1"}),
        );
        assert_eq!(
            (live["id"].as_str(), live["who"].as_str()),
            (Some("ace1"), Some("Ana Quinta"))
        );
        let listed = feed_row(json!({"id": "ace2", "member_id": "acc_2"}));
        assert_eq!(listed["who"], "acc_2");
        assert_eq!(feed_row(json!({"id": "ace3"}))["who"], "unknown card");
    }

    #[test]
    fn a_pairing_popup_carries_the_code_and_a_scannable_qr() {
        let popup = pairing_popup(&json!({"code": "ABCD-EFGH", "kind": "door",
            "expires_at": "2026-11-27T10:10:00Z", "pairing_uri": "tessera-pair:atlas:ABCD-EFGH"}));
        assert_eq!(popup.lines[0], "Code: ABCD-EFGH");
        assert!(popup
            .lines
            .iter()
            .any(|l| l.contains('▀') || l.contains('▄') || l.contains('█')));
        assert_eq!(popup.lines.last().unwrap(), "tessera-pair:atlas:ABCD-EFGH");
    }
}
