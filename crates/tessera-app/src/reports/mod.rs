//! Reports for brand admins, staff, operators and the console, computed here once and offered by the API
//! (`GET /api/v1/reports/{name}`), the CLI (`tessera report`) and the console alike.
//!
//! Every report covers a range of the brand's local days, `from` to `to` included (default: the first of the
//! month to today). The database groups the rows (see `tessera_store::models::reports`); this module turns UTC
//! hours into local hours and weekdays, applies the VAT rounding rule per document, and lays the figures out
//! as a [`Report`] table. Money is never converted except in the `group` report, at the configured rates.
//!
//! Permissions: `reports.read` for the operational reports (`members`, `attendance`, `pro-hours`,
//! `checkins`), `reports.finance` for the money ones (`revenue`, `mrr`, `receivables`), `reports.group` (group
//! realm) for `group`.

mod activity;
mod finance;
mod group;
pub mod table;

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use tessera_domain::role::Permission;
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::TxMode;

pub use table::{Chart, Column, ColumnKind, Report};

use crate::auth::authorize;
use crate::tenants::Tenant;
use crate::{App, AppError, AppResult, Ctx};

/// The reports there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportName {
    /// Invoiced revenue by month, plan or payment method, with VAT per rate.
    Revenue,
    /// Monthly recurring revenue and member movements.
    Mrr,
    /// Members by plan and status.
    Members,
    /// Door entries and class occupancy by weekday and hour.
    Attendance,
    /// Hours of service per pro.
    ProHours,
    /// What clients owe, overdue amounts and failed payments.
    Receivables,
    /// Door decisions by location and result.
    Checkins,
    /// Every brand side by side, in euros.
    Group,
}

impl ReportName {
    /// Every report, in the order lists show them.
    pub const ALL: [ReportName; 8] = [
        ReportName::Revenue,
        ReportName::Mrr,
        ReportName::Members,
        ReportName::Attendance,
        ReportName::ProHours,
        ReportName::Receivables,
        ReportName::Checkins,
        ReportName::Group,
    ];

    /// Its name in URLs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportName::Revenue => "revenue",
            ReportName::Mrr => "mrr",
            ReportName::Members => "members",
            ReportName::Attendance => "attendance",
            ReportName::ProHours => "pro-hours",
            ReportName::Receivables => "receivables",
            ReportName::Checkins => "checkins",
            ReportName::Group => "group",
        }
    }

    /// Its title.
    pub fn title(self) -> &'static str {
        match self {
            ReportName::Revenue => "Revenue",
            ReportName::Mrr => "Recurring revenue and members",
            ReportName::Members => "Members by plan",
            ReportName::Attendance => "Attendance and occupancy",
            ReportName::ProHours => "Service hours per pro",
            ReportName::Receivables => "Receivables",
            ReportName::Checkins => "Check-ins by location",
            ReportName::Group => "All brands",
        }
    }

    /// What it shows.
    pub fn description(self) -> &'static str {
        match self {
            ReportName::Revenue => {
                "Invoiced revenue less credit notes by month (by=month), plan (by=plan) or VAT rate \
                 (by=vat), and money collected by payment method (by=method)"
            }
            ReportName::Mrr => {
                "Per month: recurring revenue at the month's end, active members, new, churned and net members"
            }
            ReportName::Members => {
                "Per plan: memberships active, frozen, past due and suspended today, started and ended in the range"
            }
            ReportName::Attendance => {
                "Per weekday and hour (local time): door entries and refusals, average entries per day, class \
                 sessions, bookings, attendance and occupancy"
            }
            ReportName::ProHours => {
                "Per pro: appointments and classes held and their hours, hours clocked in"
            }
            ReportName::Receivables => {
                "Per client: open invoices, outstanding and overdue amounts today, payments failed in the range"
            }
            ReportName::Checkins => "Per location: door decisions inward by result and reason",
            ReportName::Group => {
                "Per brand: revenue, collected, outstanding, recurring revenue in EUR at the configured rates, \
                 members and check-ins"
            }
        }
    }

    /// The permission it needs.
    pub fn permission(self) -> Permission {
        match self {
            ReportName::Members
            | ReportName::Attendance
            | ReportName::ProHours
            | ReportName::Checkins => Permission::ReportsRead,
            ReportName::Revenue | ReportName::Mrr | ReportName::Receivables => {
                Permission::ReportsFinance
            }
            ReportName::Group => Permission::ReportsGroup,
        }
    }
}

impl FromStr for ReportName {
    type Err = AppError;

    fn from_str(s: &str) -> Result<ReportName, AppError> {
        ReportName::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or(AppError::NotFound("report"))
    }
}

/// A report's entry in the list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportInfo {
    /// Its name.
    pub name: &'static str,
    /// Its title.
    pub title: &'static str,
    /// What it shows.
    pub description: &'static str,
}

/// What a report is asked for.
#[derive(Debug, Clone, Default)]
pub struct ReportParams {
    /// First local day (default: the first of the current month).
    pub from: Option<NaiveDate>,
    /// Last local day, included (default: today).
    pub to: Option<NaiveDate>,
    /// How `revenue` groups: `month` (default), `plan`, `vat` or `method`.
    pub by: Option<String>,
}

/// A checked range of local days and its UTC bounds.
#[derive(Debug, Clone)]
pub(crate) struct Range {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
}

impl Range {
    fn parse(params: &ReportParams, today: NaiveDate, tz: Tz) -> AppResult<Range> {
        let from = params
            .from
            .unwrap_or_else(|| today.with_day(1).unwrap_or(today));
        let to = params.to.unwrap_or(today);
        if to < from {
            return Err(invalid_range("`to` is before `from`"));
        }
        if (to - from).num_days() > 3_660 {
            return Err(invalid_range("a report covers at most ten years"));
        }
        Ok(Range { from, to, tz })
    }

    /// The day after `to`: the exclusive end.
    pub fn end(&self) -> NaiveDate {
        self.to + Duration::days(1)
    }

    /// UTC instants of the start of `from` and of the day after `to`, as stored (naive UTC).
    pub fn utc_bounds(&self) -> (NaiveDateTime, NaiveDateTime) {
        (
            local_midnight_utc(self.tz, self.from),
            local_midnight_utc(self.tz, self.end()),
        )
    }

    /// A stored `YYYY-MM-DD HH` UTC bucket as local time.
    pub fn local_hour(&self, bucket: &str) -> Option<DateTime<Tz>> {
        let utc =
            NaiveDateTime::parse_from_str(&format!("{bucket}:00:00"), "%Y-%m-%d %H:%M:%S").ok()?;
        Some(Utc.from_utc_datetime(&utc).with_timezone(&self.tz))
    }
}

/// The UTC instant a local day starts (the earliest, if midnight is skipped or repeated by a clock change).
fn local_midnight_utc(tz: Tz, day: NaiveDate) -> NaiveDateTime {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&midnight).earliest() {
        Some(local) => local.naive_utc(),
        // No midnight that day (a clock change at 00:00): one hour later exists.
        None => tz
            .from_local_datetime(&(midnight + Duration::hours(1)))
            .earliest()
            .map_or(midnight, |l| l.naive_utc()),
    }
}

fn invalid_range(message: &str) -> AppError {
    FieldErrors::from(FieldError::new("to", "invalid_range", message)).into()
}

fn invalid_by(by: &str) -> AppError {
    FieldErrors::from(FieldError::new(
        "by",
        "invalid_choice",
        format!("{by:?} is not one of month, plan, vat, method"),
    ))
    .into()
}

/// Minor units of `currency` as a decimal string (`123456`, EUR → `1234.56`).
pub(crate) fn format_money(minor: i64, currency: &str) -> String {
    let exponent = tessera_invoicing::money::minor_exponent(currency).unwrap_or(2);
    tessera_invoicing::money::decimal(minor, exponent)
}

impl App {
    /// The reports this caller's realm offers.
    pub fn report_list(&self, ctx: &Ctx) -> Vec<ReportInfo> {
        ReportName::ALL
            .into_iter()
            .filter(|n| (*n == ReportName::Group) == ctx.realm.tenant_id().is_none())
            .map(|n| ReportInfo {
                name: n.as_str(),
                title: n.title(),
                description: n.description(),
            })
            .collect()
    }

    /// A report for the caller's brand (or, for `group`, the group realm), checking the caller's permission.
    pub async fn report(
        &self,
        ctx: &Ctx,
        name: ReportName,
        params: ReportParams,
    ) -> AppResult<Report> {
        let realm_key = match (ctx.realm.tenant_id(), name) {
            (Some(id), n) if n != ReportName::Group => id.to_owned(),
            (None, ReportName::Group) => "group".to_owned(),
            _ => return Err(AppError::NotFound("report")),
        };
        let (ctx2, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&realm_key, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx2, name.permission()).map(|_| ())
            })
        })
        .await?;
        match ctx.realm.tenant_id() {
            Some(id) => {
                let tenant = self
                    .tenants()
                    .by_id(id)
                    .ok_or(AppError::NotFound("tenant"))?;
                self.tenant_report(&tenant, name, params).await
            }
            None => self.group_report(params).await,
        }
    }

    /// A brand's report, for callers already trusted (the CLI on the server host, the API after its check).
    pub async fn tenant_report(
        &self,
        tenant: &Tenant,
        name: ReportName,
        params: ReportParams,
    ) -> AppResult<Report> {
        let tz: Tz = tenant.config.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let today = self.today_in(tenant);
        let range = Range::parse(&params, today, tz)?;
        let tenant_id = tenant.id.clone();
        // Check-ins, attendance and the group's figures count door decisions, some perhaps still being written.
        self.door_records_written(&tenant_id).await;
        let by = params.by.clone();
        let mut report = self
            .blocking(move |db| {
                db.scoped(&tenant_id, TxMode::Read, |s| match name {
                    ReportName::Revenue => match by.as_deref().unwrap_or("month") {
                        "month" => finance::revenue_by_month(s, &range),
                        "plan" => finance::revenue_by_plan(s, &range),
                        "vat" => finance::revenue_by_vat(s, &range),
                        "method" => finance::collected_by_method(s, &range),
                        other => Err(invalid_by(other)),
                    },
                    ReportName::Mrr => finance::mrr(s, &range),
                    ReportName::Receivables => finance::receivables(s, &range, today),
                    ReportName::Members => activity::members(s, &range, today),
                    ReportName::Attendance => activity::attendance(s, &range),
                    ReportName::ProHours => activity::pro_hours(s, &range),
                    ReportName::Checkins => activity::checkins(s, &range),
                    ReportName::Group => Err(AppError::NotFound("report")),
                })
            })
            .await?;
        report.tenant = Some(tenant.slug.clone());
        Ok(report)
    }

    /// Every brand side by side (`group`), for trusted callers.
    pub async fn group_report(&self, params: ReportParams) -> AppResult<Report> {
        group::group(self, params).await
    }
}

/// The weekday names, Monday first, as reports show them.
pub(crate) const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// How many times each weekday (Monday first) occurs in the range.
pub(crate) fn weekday_counts(range: &Range) -> [i64; 7] {
    let mut counts = [0i64; 7];
    let mut day = range.from;
    while day <= range.to {
        counts[day.weekday().num_days_from_monday() as usize] += 1;
        day += Duration::days(1);
    }
    counts
}
