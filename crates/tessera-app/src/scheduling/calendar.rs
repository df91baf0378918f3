//! Private calendar feeds (RFC 5545): each account may have one secret URL, `GET /api/v1/calendar/{token}.ics`,
//! readable by calendar clients without a login. Only the token's SHA-256 is stored; issuing a new URL revokes the
//! old one. The feed holds the account's appointments and classes (as member and as pro) from 30 days back to 90
//! days ahead, in UTC.

use std::collections::HashMap;

use chrono::Duration;
use icalendar::{Calendar, Component, EventLike};
use serde::Serialize;
use tessera_domain::role::Permission;
use tessera_store::models::calendar_feeds::{self, FeedRow};
use tessera_store::models::{accounts, appointments, classes, services};
use tessera_store::{utc, TxMode};

use super::tenant_of;
use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::{naive, token_hash, tokens_random, App, AppError, AppResult, Ctx};

/// A newly issued feed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CalendarFeed {
    /// The feed's path on this brand's host; keep it secret.
    pub path: String,
}

impl App {
    /// Issues the caller's calendar feed URL, revoking any previous one.
    pub async fn issue_calendar_feed(&self, ctx: &Ctx) -> AppResult<CalendarFeed> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let now = self.clock().now();
        let token = tokens_random(32);
        let digest = token_hash(&token);
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                calendar_feeds::replace(
                    s,
                    &FeedRow {
                        tenant_id: tenant_id.clone(),
                        account_id: principal.id.clone(),
                        token_hash: digest,
                        created_at: naive(now),
                    },
                )?;
                audit::record(
                    s,
                    &ctx,
                    Event::on("calendar_feed.issued", "account", &principal.id),
                    now,
                )?;
                Ok(CalendarFeed {
                    path: format!("/api/v1/calendar/{token}.ics"),
                })
            })
        })
        .await
    }

    /// The iCalendar text of the feed named by `file` (`<token>.ics`), or not found.
    pub async fn calendar_feed(&self, ctx: &Ctx, file: &str) -> AppResult<String> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let token = file
            .strip_suffix(".ics")
            .ok_or(AppError::NotFound("calendar"))?;
        if token.is_empty() || token.len() > 100 {
            return Err(AppError::NotFound("calendar"));
        }
        let digest = token_hash(token);
        let now = self.clock().now();
        let (from, to) = (
            naive(now - Duration::days(30)),
            naive(now + Duration::days(90)),
        );
        let brand = tenant.display_name.clone();
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                let feed = calendar_feeds::find_by_hash(s, &digest)?
                    .ok_or(AppError::NotFound("calendar"))?;
                let account = accounts::find(s, &feed.account_id)?
                    .filter(|a| a.status == "active")
                    .ok_or(AppError::NotFound("calendar"))?;
                let mut calendar = Calendar::new();
                calendar.name(&format!("{brand}: {}", account.display_name));
                let mut service_names: HashMap<String, String> = HashMap::new();
                let mut mine = appointments::of_pro_between(s, &account.id, from, to)?;
                mine.extend(
                    appointments::of_member(s, &account.id, 500)?
                        .into_iter()
                        .filter(|a| {
                            a.starts_at >= from
                                && a.starts_at < to
                                && appointments::HOLDING.contains(&a.status.as_str())
                        }),
                );
                for a in mine {
                    let name = match service_names.get(&a.service_id) {
                        Some(n) => n.clone(),
                        None => {
                            let n = services::find(s, &a.service_id)?
                                .map(|x| x.name)
                                .unwrap_or_else(|| "Appointment".into());
                            service_names.insert(a.service_id.clone(), n.clone());
                            n
                        }
                    };
                    calendar.push(
                        icalendar::Event::new()
                            .uid(&format!("{}@tessera", a.id))
                            .summary(&name)
                            .starts(utc(a.starts_at))
                            .ends(utc(a.ends_at))
                            .done(),
                    );
                }
                let mut sessions = classes::sessions_between(s, from, to, Some(&account.id), 1000)?;
                let booked: Vec<String> = classes::bookings_of_member(s, &account.id, 500)?
                    .into_iter()
                    .filter(|b| matches!(b.status.as_str(), "booked" | "waitlisted" | "attended"))
                    .map(|b| b.session_id)
                    .collect();
                sessions.extend(
                    classes::sessions_by_id(s, &booked)?
                        .into_iter()
                        .filter(|x| x.starts_at >= from && x.starts_at < to),
                );
                for session in sessions {
                    calendar.push(
                        icalendar::Event::new()
                            .uid(&format!("{}@tessera", session.id))
                            .summary(&format!("Class: {}", session.class_type))
                            .starts(utc(session.starts_at))
                            .ends(utc(session.ends_at))
                            .done(),
                    );
                }
                Ok(calendar.done().to_string())
            })
        })
        .await
    }
}
