//! Dashboards: a pro's day (`agenda`), a member's upcoming bookings and history, and the brand's today view
//! (occupancy, bookings, cancellations, new members and membership sales and cancellations).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Serialize;
use tessera_domain::role::Permission;
use tessera_domain::scheduling::time::{local_date, start_of_local_day};
use tessera_store::models::{appointments, classes};
use tessera_store::{utc, Scoped, TxMode};

use super::classes::counts;
use super::views::{AppointmentView, SessionView};
use super::{find_pro, parse_day, tenant_of, tenant_tz};
use crate::auth::authorize;
use crate::{naive, App, AppError, AppResult, Ctx};

/// A pro's day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Agenda {
    /// The pro.
    pub pro_id: String,
    /// The local day.
    pub date: String,
    /// Appointments (not cancelled), by start.
    pub appointments: Vec<AppointmentView>,
    /// Class sessions taught, by start.
    pub classes: Vec<SessionView>,
}

/// One line of a member's bookings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyBooking {
    /// `appointment` or `class`.
    pub kind: String,
    /// The appointment or class booking id.
    pub id: String,
    /// The service or class session.
    pub of: String,
    /// The pro.
    pub pro_id: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Its status.
    pub status: String,
}

/// A member's bookings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyBookings {
    /// Not yet started (booked or waitlisted), soonest first.
    pub upcoming: Vec<MyBooking>,
    /// The rest, most recent first (at most 100).
    pub history: Vec<MyBooking>,
}

/// Counts of appointments.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct AppointmentCounts {
    /// Booked and not yet confirmed.
    pub booked: i64,
    /// Attended.
    pub attended: i64,
    /// No-shows.
    pub no_show: i64,
    /// Cancelled in time.
    pub cancelled: i64,
    /// Cancelled late.
    pub late_cancelled: i64,
}

/// Classes of the day.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ClassCounts {
    /// Sessions.
    pub sessions: i64,
    /// Places offered.
    pub places: i64,
    /// Places taken.
    pub booked: i64,
    /// Waiting.
    pub waitlisted: i64,
    /// Taken over offered, in percent (0 with no places).
    pub occupancy_percent: i64,
}

/// The brand's today view.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Today {
    /// The local day.
    pub date: String,
    /// Appointments starting today.
    pub appointments: AppointmentCounts,
    /// Classes starting today.
    pub classes: ClassCounts,
    /// Cancellations made today (appointments and classes).
    pub cancellations_today: i64,
    /// Members who joined today (sign-up, walk-in, household, import).
    pub new_members: i64,
    /// Memberships sold today.
    pub memberships_sold: i64,
    /// Membership cancellations confirmed and withdrawals made today.
    pub membership_cancellations: i64,
}

/// Members who joined, memberships sold, and membership cancellations and withdrawals in `[from, to)`.
fn membership_counts(
    s: &mut Scoped<'_>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> AppResult<(i64, i64, i64)> {
    use tessera_store::models::{members, memberships};
    let joined = members::count_created(s, from, to)?;
    let sold = memberships::count_history(s, &["created"], from, to)?;
    let cancelled =
        memberships::count_history(s, &["cancellation_scheduled", "withdraw"], from, to)?;
    Ok((joined, sold, cancelled))
}

impl App {
    /// A pro's day: the pro themself or `dashboard.read`.
    pub async fn pro_agenda(
        &self,
        ctx: &Ctx,
        pro_id: &str,
        date: Option<String>,
    ) -> AppResult<Agenda> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let tz = tenant_tz(&tenant);
        let now = self.clock().now();
        let date = parse_day("date", date.as_deref(), local_date(tz, now))?;
        let start = start_of_local_day(tz, date).unwrap_or(now);
        let end = start_of_local_day(tz, date + Duration::days(1)).unwrap_or(now);
        let (ctx, app, pro_id) = (ctx.clone(), self.clone(), pro_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let pro = find_pro(s, &pro_id)?;
                if principal.id != pro.id
                    && !Permission::DashboardRead.allowed_for(&principal.roles)
                {
                    return Err(AppError::Forbidden);
                }
                let appointments =
                    appointments::of_pro_between(s, &pro.id, naive(start), naive(end))?
                        .into_iter()
                        .filter(|a| a.starts_at >= naive(start))
                        .map(AppointmentView::from)
                        .collect();
                let sessions =
                    classes::sessions_between(s, naive(start), naive(end), Some(&pro.id), 1000)?;
                let ids: Vec<String> = sessions.iter().map(|x| x.id.clone()).collect();
                let counts = counts(s, &ids)?;
                let classes = sessions
                    .into_iter()
                    .map(|r| {
                        let (b, w) = counts.get(&r.id).copied().unwrap_or_default();
                        SessionView::of(r, b, w)
                    })
                    .collect();
                Ok(Agenda {
                    pro_id: pro.id,
                    date: date.to_string(),
                    appointments,
                    classes,
                })
            })
        })
        .await
    }

    /// The caller's own bookings: appointments and class places, upcoming and past.
    pub async fn my_bookings(&self, ctx: &Ctx) -> AppResult<MyBookings> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                bookings_of(s, &principal.id, now)
            })
        })
        .await
    }

    /// `GET /api/v1/members/{id}/bookings` (`members.read`): a member's bookings, as they see them, for the desk.
    pub async fn member_bookings(&self, ctx: &Ctx, member_id: &str) -> AppResult<MyBookings> {
        let (tenant_id, _) = tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, member_id) = (ctx.clone(), self.clone(), member_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::MembersRead)?;
                tessera_store::models::members::find(s, &member_id)?
                    .ok_or(AppError::NotFound("member"))?;
                bookings_of(s, &member_id, now)
            })
        })
        .await
    }

    /// The brand's today view (`dashboard.read`).
    pub async fn dashboard_today(&self, ctx: &Ctx) -> AppResult<Today> {
        let (tenant_id, tenant) = tenant_of(self, ctx)?;
        let tz = tenant_tz(&tenant);
        let now = self.clock().now();
        let date = local_date(tz, now);
        let start = start_of_local_day(tz, date).unwrap_or(now);
        let end = start_of_local_day(tz, date + Duration::days(1)).unwrap_or(now);
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::DashboardRead)?;
                let mut appointments_today = AppointmentCounts::default();
                let mut cancellations = 0;
                for a in appointments::starting_between(s, naive(start), naive(end))? {
                    match a.status.as_str() {
                        "booked" => appointments_today.booked += 1,
                        "attended" => appointments_today.attended += 1,
                        "no_show" => appointments_today.no_show += 1,
                        "cancelled" => appointments_today.cancelled += 1,
                        _ => appointments_today.late_cancelled += 1,
                    }
                }
                for a in appointments::starting_between(
                    s,
                    naive(start - Duration::days(120)),
                    naive(end + Duration::days(120)),
                )? {
                    if a.cancelled_at
                        .is_some_and(|c| c >= naive(start) && c < naive(end))
                    {
                        cancellations += 1;
                    }
                }
                let sessions =
                    classes::sessions_between(s, naive(start), naive(end), None, 10_000)?;
                let ids: Vec<String> = sessions.iter().map(|x| x.id.clone()).collect();
                let counts = counts(s, &ids)?;
                let mut classes_today = ClassCounts::default();
                for session in &sessions {
                    let (b, w) = counts.get(&session.id).copied().unwrap_or_default();
                    classes_today.sessions += 1;
                    classes_today.places += i64::from(session.capacity);
                    classes_today.booked += b;
                    classes_today.waitlisted += w;
                }
                if classes_today.places > 0 {
                    classes_today.occupancy_percent =
                        classes_today.booked * 100 / classes_today.places;
                }
                let week_ids: Vec<String> = classes::sessions_between(
                    s,
                    naive(start - Duration::days(1)),
                    naive(end + Duration::days(62)),
                    None,
                    100_000,
                )?
                .into_iter()
                .map(|x| x.id)
                .collect();
                cancellations += classes::bookings_of_sessions(s, &week_ids)?
                    .into_iter()
                    .filter(|b| {
                        b.cancelled_at
                            .is_some_and(|c| c >= naive(start) && c < naive(end))
                    })
                    .count() as i64;
                let (new_members, memberships_sold, membership_cancellations) =
                    membership_counts(s, naive(start), naive(end))?;
                Ok(Today {
                    date: date.to_string(),
                    appointments: appointments_today,
                    classes: classes_today,
                    cancellations_today: cancellations,
                    new_members,
                    memberships_sold,
                    membership_cancellations,
                })
            })
        })
        .await
    }
}

/// A member's appointments and class places: upcoming (soonest first) and the last 100 past (latest first).
fn bookings_of(s: &mut Scoped<'_>, member_id: &str, now: DateTime<Utc>) -> AppResult<MyBookings> {
    let mut all: Vec<MyBooking> = appointments::of_member(s, member_id, 200)?
        .into_iter()
        .map(|a| MyBooking {
            kind: "appointment".into(),
            id: a.id,
            of: a.service_id,
            pro_id: a.pro_id,
            starts_at: utc(a.starts_at),
            ends_at: utc(a.ends_at),
            status: a.status,
        })
        .collect();
    let bookings = classes::bookings_of_member(s, member_id, 200)?;
    let ids: Vec<String> = bookings.iter().map(|b| b.session_id.clone()).collect();
    let sessions: HashMap<String, classes::SessionRow> = classes::sessions_by_id(s, &ids)?
        .into_iter()
        .map(|x| (x.id.clone(), x))
        .collect();
    for b in bookings {
        if let Some(session) = sessions.get(&b.session_id) {
            all.push(MyBooking {
                kind: "class".into(),
                id: b.id,
                of: session.id.clone(),
                pro_id: session.pro_id.clone(),
                starts_at: utc(session.starts_at),
                ends_at: utc(session.ends_at),
                status: b.status,
            });
        }
    }
    let (mut upcoming, mut history): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|b| b.starts_at > now && (b.status == "booked" || b.status == "waitlisted"));
    upcoming.sort_by_key(|b| b.starts_at);
    history.sort_by_key(|b| std::cmp::Reverse(b.starts_at));
    history.truncate(100);
    Ok(MyBookings { upcoming, history })
}
