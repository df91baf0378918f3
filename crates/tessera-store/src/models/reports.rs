//! Aggregates for the reports (`tessera_app::reports`): each function groups in the database and returns small
//! rows, so that a report over a million check-ins reads a few thousand rows, never the million.
//!
//! Time buckets are hours of UTC (`YYYY-MM-DD HH`) and months of a date (`YYYY-MM`): the service turns hours
//! into the brand's local hours and weekdays with its time zone, which neither backend can do the same way.
//! The backend-specific pieces of SQL are the functions of [`Dialect`], in one place.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamp};

use crate::{DbConnection, Scoped, StoreResult};

/// The SQL that differs between the backends.
#[derive(Debug, Clone, Copy)]
enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    fn of(conn: &DbConnection) -> Dialect {
        match conn {
            DbConnection::Postgres(_) => Dialect::Postgres,
            DbConnection::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// The query with its parameters numbered for the backend: PostgreSQL's `$n` as written, SQLite's `?n`
    /// (SQLite reads `$n` as a name and numbers names by first appearance, not by `n`).
    fn numbered(self, sql: String) -> String {
        match self {
            Dialect::Postgres => sql,
            Dialect::Sqlite => sql.replace('$', "?"),
        }
    }

    /// What rows are grouped by for hours of a timestamp column (UTC): `date_trunc` on PostgreSQL, much cheaper
    /// per row than formatting; the text prefix on SQLite, which stores `YYYY-MM-DD HH:MM:SS[.f]`.
    fn hour_group(self, column: &str) -> String {
        match self {
            Dialect::Postgres => format!("date_trunc('hour', {column})"),
            Dialect::Sqlite => format!("substr({column}, 1, 13)"),
        }
    }

    /// `YYYY-MM-DD HH` of a group of [`Dialect::hour_group`].
    fn hour_label(self, column: &str) -> String {
        match self {
            Dialect::Postgres => {
                format!("to_char(date_trunc('hour', {column}), 'YYYY-MM-DD HH24')")
            }
            Dialect::Sqlite => format!("substr({column}, 1, 13)"),
        }
    }

    /// What rows are grouped by for months of a date column.
    fn month_group(self, column: &str) -> String {
        match self {
            Dialect::Postgres => format!("date_trunc('month', {column})"),
            Dialect::Sqlite => format!("substr({column}, 1, 7)"),
        }
    }

    /// `YYYY-MM` of a group of [`Dialect::month_group`].
    fn month_label(self, column: &str) -> String {
        match self {
            Dialect::Postgres => format!("to_char(date_trunc('month', {column}), 'YYYY-MM')"),
            Dialect::Sqlite => format!("substr({column}, 1, 7)"),
        }
    }

    /// `INDEXED BY index` on SQLite, nothing on PostgreSQL. SQLite's planner prefers a narrower time range on
    /// `access_events_hourly` and then sorts and looks up every row; the check-in report is faster reading
    /// `access_events_results` whole, in the order of its groups. PostgreSQL aggregates by hash either way.
    fn indexed_by(self, index: &str) -> String {
        match self {
            Dialect::Postgres => String::new(),
            Dialect::Sqlite => format!(" INDEXED BY {index}"),
        }
    }

    /// Whole minutes from `start` to `end` (timestamps), as BIGINT.
    fn minutes(self, start: &str, end: &str) -> String {
        match self {
            Dialect::Postgres => {
                format!("CAST(EXTRACT(EPOCH FROM ({end} - {start})) / 60 AS BIGINT)")
            }
            Dialect::Sqlite => {
                format!("CAST(ROUND((julianday({end}) - julianday({start})) * 1440) AS BIGINT)")
            }
        }
    }
}

/// Runs `query`, whose parameters are the tenant (`$1`) and a UTC range `[from, to)` (`$2`, `$3`).
fn load_in_range<T>(
    s: &mut Scoped<'_>,
    query: String,
    tenant: String,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Vec<T>>
where
    T: QueryableByName<<crate::DbConnection as diesel::Connection>::Backend> + 'static,
{
    Ok(diesel::sql_query(query)
        .bind::<Text, _>(tenant)
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .load(s.conn())?)
}

/// `CAST(SUM(x) AS BIGINT)`, `0` over no rows.
fn sum(expression: &str) -> String {
    format!("CAST(COALESCE(SUM({expression}), 0) AS BIGINT)")
}

/// Documents of one month, kind, currency and plan that have the same taxable amount at one VAT rate. VAT is
/// rounded per document and rate, so the service needs each document's taxable amount per rate; documents sharing
/// an amount (the same plan's price) come as one row with their count, which keeps the rows few.
#[derive(Debug, Clone, QueryableByName)]
pub struct DocumentRate {
    /// `YYYY-MM` of the issue date.
    #[diesel(sql_type = Text)]
    pub month: String,
    /// `invoice` or `credit_note`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// ISO 4217.
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// The plan of the membership invoiced, if any (asked for).
    #[diesel(sql_type = Nullable<Text>)]
    pub plan_name: Option<String>,
    /// Basis points.
    #[diesel(sql_type = BigInt)]
    pub rate_bps: i64,
    /// One document's lines at that rate, net, minor units.
    #[diesel(sql_type = BigInt)]
    pub taxable: i64,
    /// How many documents have exactly that.
    #[diesel(sql_type = BigInt)]
    pub documents: i64,
    /// Of those, how many have their first line at this rate: adding this up counts each document once.
    #[diesel(sql_type = BigInt)]
    pub first_lines: i64,
}

/// Finalised invoices and credit notes issued in `[from, to)`, per taxable amount and VAT rate, with the plan of
/// their membership when `with_plan`.
pub fn document_rates(
    s: &mut Scoped<'_>,
    from: NaiveDate,
    to: NaiveDate,
    with_plan: bool,
) -> StoreResult<Vec<DocumentRate>> {
    let tenant = s.realm_key().to_owned();
    let d = Dialect::of(s.conn());
    let (plan, plan_join, plan_group) = if with_plan {
        (
            "m.plan_name",
            "LEFT JOIN memberships m ON m.tenant_id = i.tenant_id AND m.id = i.membership_id",
            ", m.plan_name",
        )
    } else {
        ("CAST(NULL AS TEXT)", "", "")
    };
    // The lines are summed per document and rate first, on their own (they stream in key order), then joined to
    // their document: much cheaper than grouping the join by document.
    let (month, month_group) = (d.month_label("i.issued_on"), d.month_group("i.issued_on"));
    let query = format!(
        "SELECT {month} AS month, i.kind AS kind, i.currency AS currency, {plan} AS plan_name,
                d.rate_bps AS rate_bps, d.taxable AS taxable, COUNT(*) AS documents,
                {first_lines} AS first_lines
           FROM (SELECT invoice_id, vat_rate_bps AS rate_bps, {taxable} AS taxable, MIN(position) AS first_position
                   FROM invoice_lines WHERE tenant_id = $1 GROUP BY invoice_id, vat_rate_bps) d
           JOIN invoices i ON i.tenant_id = $1 AND i.id = d.invoice_id
           {plan_join}
          WHERE i.issued_on >= $2 AND i.issued_on < $3 AND i.status <> 'draft'
          GROUP BY {month_group}, i.kind, i.currency{plan_group}, d.rate_bps, d.taxable",
        taxable = sum("net_amount"),
        first_lines = sum("CASE WHEN d.first_position = 1 THEN 1 ELSE 0 END"),
    );
    Ok(diesel::sql_query(d.numbered(query))
        .bind::<Text, _>(tenant)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .load(s.conn())?)
}

/// Money collected in one UTC hour by one provider and method.
#[derive(Debug, Clone, QueryableByName)]
pub struct CollectedHour {
    /// `YYYY-MM-DD HH`, UTC.
    #[diesel(sql_type = Text)]
    pub hour: String,
    /// `stripe` or `manual`.
    #[diesel(sql_type = Text)]
    pub provider: String,
    /// `card`, `sepa_debit`, `cash`, `card_terminal`, `bank_transfer`...
    #[diesel(sql_type = Text)]
    pub method: String,
    /// ISO 4217.
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// Payments.
    #[diesel(sql_type = BigInt)]
    pub payments: i64,
    /// Collected, minor units.
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
    /// Refunded since, minor units.
    #[diesel(sql_type = BigInt)]
    pub refunded: i64,
}

/// Succeeded payments settled in `[from, to)` (UTC), by hour, provider, method and currency.
pub fn collected_by_hour(
    s: &mut Scoped<'_>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Vec<CollectedHour>> {
    let tenant = s.realm_key().to_owned();
    let d = Dialect::of(s.conn());
    let query = format!(
        "SELECT {hour} AS hour, provider, method, currency, COUNT(*) AS payments,
                {amount} AS amount, {refunded} AS refunded
           FROM payments
          WHERE tenant_id = $1 AND status = 'succeeded' AND settled_at >= $2 AND settled_at < $3
          GROUP BY {hour_group}, provider, method, currency",
        hour = d.hour_label("settled_at"),
        hour_group = d.hour_group("settled_at"),
        amount = sum("amount"),
        refunded = sum("refunded_amount"),
    );
    load_in_range(s, d.numbered(query), tenant, from, to)
}

/// What a membership contributes to membership figures.
#[derive(Debug, Clone, QueryableByName)]
pub struct MembershipSpan {
    /// The member.
    #[diesel(sql_type = Text)]
    pub account_id: String,
    /// The plan's name when sold.
    #[diesel(sql_type = Text)]
    pub plan_name: String,
    /// `recurring`, `fixed_term` or `pack`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// `week`, `month` or `year` for recurring plans.
    #[diesel(sql_type = Nullable<Text>)]
    pub billing_period: Option<String>,
    /// Price per period (or of the term or pack), minor units.
    #[diesel(sql_type = BigInt)]
    pub price_amount: i64,
    /// ISO 4217.
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// Current status.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// First day.
    #[diesel(sql_type = Date)]
    pub starts_on: NaiveDate,
    /// Last day, when known.
    #[diesel(sql_type = Nullable<Date>)]
    pub ends_on: Option<NaiveDate>,
}

/// Every membership that ever started (pending ones excluded), with its span.
pub fn membership_spans(s: &mut Scoped<'_>) -> StoreResult<Vec<MembershipSpan>> {
    let tenant = s.realm_key().to_owned();
    let d = Dialect::of(s.conn());
    Ok(diesel::sql_query(d.numbered(
        "SELECT account_id, plan_name, kind, billing_period, price_amount, currency, status, starts_on, ends_on
           FROM memberships
          WHERE tenant_id = $1 AND status <> 'pending'"
            .to_owned(),
    ))
    .bind::<Text, _>(tenant)
    .load(s.conn())?)
}

/// Door passages of one UTC hour.
#[derive(Debug, Clone, QueryableByName)]
pub struct PassageHour {
    /// `YYYY-MM-DD HH`, UTC.
    #[diesel(sql_type = Text)]
    pub hour: String,
    /// Allowed entries.
    #[diesel(sql_type = BigInt)]
    pub entries: i64,
    /// Refused attempts.
    #[diesel(sql_type = BigInt)]
    pub refusals: i64,
}

/// Door decisions inward in `[from, to)` (UTC), by hour.
pub fn passages_by_hour(
    s: &mut Scoped<'_>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Vec<PassageHour>> {
    let tenant = s.realm_key().to_owned();
    let d = Dialect::of(s.conn());
    let query = format!(
        "SELECT {hour} AS hour, {entries} AS entries, {refusals} AS refusals
           FROM access_events
          WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND direction = 'in'
          GROUP BY {hour_group}",
        hour = d.hour_label("occurred_at"),
        hour_group = d.hour_group("occurred_at"),
        entries = sum("CASE WHEN decision = 'allow' THEN 1 ELSE 0 END"),
        refusals = sum("CASE WHEN decision = 'allow' THEN 0 ELSE 1 END"),
    );
    load_in_range(s, d.numbered(query), tenant, from, to)
}

/// Classes that started in one UTC hour.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClassHour {
    /// `YYYY-MM-DD HH`, UTC.
    #[diesel(sql_type = Text)]
    pub hour: String,
    /// Sessions held (not cancelled).
    #[diesel(sql_type = BigInt)]
    pub sessions: i64,
    /// Their places.
    #[diesel(sql_type = BigInt)]
    pub capacity: i64,
    /// Places booked and not cancelled.
    #[diesel(sql_type = BigInt)]
    pub booked: i64,
    /// Bookings checked in.
    #[diesel(sql_type = BigInt)]
    pub attended: i64,
}

/// Class sessions starting in `[from, to)` (UTC) and their bookings, by hour.
pub fn classes_by_hour(
    s: &mut Scoped<'_>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Vec<ClassHour>> {
    let tenant = s.realm_key().to_owned();
    let d = Dialect::of(s.conn());
    let query = format!(
        "SELECT {hour} AS hour, COUNT(*) AS sessions, {capacity} AS capacity,
                {booked} AS booked, {attended} AS attended
           FROM class_sessions c
           LEFT JOIN (SELECT session_id,
                             SUM(CASE WHEN status <> 'cancelled' THEN 1 ELSE 0 END) AS booked,
                             SUM(CASE WHEN checked_in_at IS NOT NULL THEN 1 ELSE 0 END) AS attended
                        FROM class_bookings WHERE tenant_id = $1 GROUP BY session_id) b
             ON b.session_id = c.id
          WHERE c.tenant_id = $1 AND c.starts_at >= $2 AND c.starts_at < $3 AND c.status <> 'cancelled'
          GROUP BY {hour_group}",
        hour = d.hour_label("c.starts_at"),
        hour_group = d.hour_group("c.starts_at"),
        capacity = sum("c.capacity"),
        booked = sum("b.booked"),
        attended = sum("b.attended"),
    );
    load_in_range(s, d.numbered(query), tenant, from, to)
}

/// Work of one pro.
#[derive(Debug, Clone, QueryableByName)]
pub struct ProWork {
    /// The pro's account.
    #[diesel(sql_type = Text)]
    pub pro_id: String,
    /// Their name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// `coach`, `nutritionist`, `therapist`.
    #[diesel(sql_type = Nullable<Text>)]
    pub specialty: Option<String>,
    /// Appointments held (attended or not, not cancelled).
    #[diesel(sql_type = BigInt)]
    pub appointments: i64,
    /// Their minutes.
    #[diesel(sql_type = BigInt)]
    pub appointment_minutes: i64,
    /// Class sessions taught (not cancelled).
    #[diesel(sql_type = BigInt)]
    pub classes: i64,
    /// Their minutes.
    #[diesel(sql_type = BigInt)]
    pub class_minutes: i64,
    /// Minutes clocked in (closed entries).
    #[diesel(sql_type = BigInt)]
    pub clocked_minutes: i64,
}

/// Per pro: appointments and classes starting in `[from, to)` and time clocked in from then, UTC. Pros with
/// nothing in the period are left out.
pub fn pro_work(
    s: &mut Scoped<'_>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Vec<ProWork>> {
    let tenant = s.realm_key().to_owned();
    let d = Dialect::of(s.conn());
    let query = format!(
        "SELECT a.id AS pro_id, a.display_name AS name, a.specialty AS specialty,
                COALESCE(ap.n, 0) AS appointments, COALESCE(ap.minutes, 0) AS appointment_minutes,
                COALESCE(cs.n, 0) AS classes, COALESCE(cs.minutes, 0) AS class_minutes,
                COALESCE(ce.minutes, 0) AS clocked_minutes
           FROM accounts a
           LEFT JOIN (SELECT pro_id, COUNT(*) AS n, {ap_minutes} AS minutes FROM appointments
                       WHERE tenant_id = $1 AND starts_at >= $2 AND starts_at < $3 AND status <> 'cancelled'
                       GROUP BY pro_id) ap ON ap.pro_id = a.id
           LEFT JOIN (SELECT pro_id, COUNT(*) AS n, {cs_minutes} AS minutes FROM class_sessions
                       WHERE tenant_id = $1 AND starts_at >= $2 AND starts_at < $3 AND status <> 'cancelled'
                       GROUP BY pro_id) cs ON cs.pro_id = a.id
           LEFT JOIN (SELECT pro_id, {ce_minutes} AS minutes FROM clock_entries
                       WHERE tenant_id = $1 AND clock_in_at >= $2 AND clock_in_at < $3
                         AND clock_out_at IS NOT NULL
                       GROUP BY pro_id) ce ON ce.pro_id = a.id
          WHERE a.tenant_id = $1 AND (ap.n IS NOT NULL OR cs.n IS NOT NULL OR ce.minutes IS NOT NULL)
          ORDER BY a.display_name, a.id",
        ap_minutes = sum(&d.minutes("starts_at", "ends_at")),
        cs_minutes = sum(&d.minutes("starts_at", "ends_at")),
        ce_minutes = sum(&d.minutes("clock_in_at", "clock_out_at")),
    );
    load_in_range(s, d.numbered(query), tenant, from, to)
}

/// What one client owes in one currency.
#[derive(Debug, Clone, QueryableByName)]
pub struct Receivable {
    /// The client.
    #[diesel(sql_type = Text)]
    pub account_id: String,
    /// Their name.
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    /// ISO 4217.
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// Open invoices.
    #[diesel(sql_type = BigInt)]
    pub open_invoices: i64,
    /// Owed, minor units.
    #[diesel(sql_type = BigInt)]
    pub outstanding: i64,
    /// Of which past due on `as_of`.
    #[diesel(sql_type = BigInt)]
    pub overdue: i64,
    /// Oldest due date.
    #[diesel(sql_type = Nullable<Date>)]
    pub oldest_due_on: Option<NaiveDate>,
}

/// Open invoices per client and currency; `overdue` counts those due before `as_of`.
pub fn receivables(s: &mut Scoped<'_>, as_of: NaiveDate) -> StoreResult<Vec<Receivable>> {
    let tenant = s.realm_key().to_owned();
    let d = Dialect::of(s.conn());
    let owed = "(i.total_incl - i.amount_paid - i.amount_credited)";
    let query = format!(
        "SELECT i.account_id AS account_id, a.display_name AS name, i.currency AS currency,
                COUNT(*) AS open_invoices, {outstanding} AS outstanding, {overdue} AS overdue,
                MIN(i.due_on) AS oldest_due_on
           FROM invoices i
           LEFT JOIN accounts a ON a.tenant_id = i.tenant_id AND a.id = i.account_id
          WHERE i.tenant_id = $1 AND i.kind = 'invoice' AND i.status = 'open'
          GROUP BY i.account_id, a.display_name, i.currency",
        outstanding = sum(owed),
        overdue = sum(&format!("CASE WHEN i.due_on < $2 THEN {owed} ELSE 0 END")),
    );
    Ok(diesel::sql_query(d.numbered(query))
        .bind::<Text, _>(tenant)
        .bind::<Date, _>(as_of)
        .load(s.conn())?)
}

/// Failed payment attempts of one client.
#[derive(Debug, Clone, QueryableByName)]
pub struct FailedPayments {
    /// The client.
    #[diesel(sql_type = Text)]
    pub account_id: String,
    /// Their name.
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    /// ISO 4217.
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// Attempts that failed in the period.
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    /// Their amounts, minor units.
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
}

/// Payments that failed in `[from, to)` (UTC), per client and currency.
pub fn failed_payments(
    s: &mut Scoped<'_>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Vec<FailedPayments>> {
    let tenant = s.realm_key().to_owned();
    let d = Dialect::of(s.conn());
    let query = format!(
        "SELECT p.account_id AS account_id, a.display_name AS name, p.currency AS currency,
                COUNT(*) AS failed, {amount} AS amount
           FROM payments p
           LEFT JOIN accounts a ON a.tenant_id = p.tenant_id AND a.id = p.account_id
          WHERE p.tenant_id = $1 AND p.status = 'failed' AND p.created_at >= $2 AND p.created_at < $3
          GROUP BY p.account_id, a.display_name, p.currency",
        amount = sum("p.amount"),
    );
    load_in_range(s, d.numbered(query), tenant, from, to)
}

/// Door decisions of one location, decision and reason.
#[derive(Debug, Clone, QueryableByName)]
pub struct CheckinCount {
    /// The location's name (`None`: a desk override without a location).
    #[diesel(sql_type = Nullable<Text>)]
    pub location: Option<String>,
    /// `allow` or `deny`.
    #[diesel(sql_type = Text)]
    pub decision: String,
    /// The reason code of a refusal.
    #[diesel(sql_type = Nullable<Text>)]
    pub reason: Option<String>,
    /// Decisions.
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Of which overrides by staff.
    #[diesel(sql_type = BigInt)]
    pub overrides: i64,
    /// Of which flagged for staff (offline entries breaking a rule).
    #[diesel(sql_type = BigInt)]
    pub flagged: i64,
}

/// Inward door decisions in `[from, to)` (UTC), by location, decision and reason.
pub fn checkins_by_location(
    s: &mut Scoped<'_>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<Vec<CheckinCount>> {
    let tenant = s.realm_key().to_owned();
    let d = Dialect::of(s.conn());
    // Grouped by location id first and named after: a join per decision would cost a lookup per row.
    let query = format!(
        "SELECT l.name AS location, g.decision AS decision, g.reason AS reason, g.count AS count,
                g.overrides AS overrides, g.flagged AS flagged
           FROM (SELECT location_id, decision, reason, COUNT(*) AS count, {overrides} AS overrides,
                        {flagged} AS flagged
                   FROM access_events{indexed_by}
                  WHERE tenant_id = $1 AND direction = 'in' AND occurred_at >= $2 AND occurred_at < $3
                  GROUP BY location_id, decision, reason) g
           LEFT JOIN locations l ON l.tenant_id = $1 AND l.id = g.location_id",
        overrides = sum("CASE WHEN override_of IS NOT NULL THEN 1 ELSE 0 END"),
        flagged = sum("CASE WHEN flagged THEN 1 ELSE 0 END"),
        indexed_by = d.indexed_by("access_events_results"),
    );
    load_in_range(s, d.numbered(query), tenant, from, to)
}

/// What is owed in one currency, and how much of it is past due.
#[derive(Debug, Clone, QueryableByName)]
pub struct OwedTotal {
    /// ISO 4217.
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// Owed on open invoices, minor units.
    #[diesel(sql_type = BigInt)]
    pub outstanding: i64,
    /// Of which due before `as_of`.
    #[diesel(sql_type = BigInt)]
    pub overdue: i64,
}

/// Open invoices' totals per currency; `overdue` counts those due before `as_of`.
pub fn owed_totals(s: &mut Scoped<'_>, as_of: NaiveDate) -> StoreResult<Vec<OwedTotal>> {
    let tenant = s.realm_key().to_owned();
    let d = Dialect::of(s.conn());
    let owed = "(total_incl - amount_paid - amount_credited)";
    let query = format!(
        "SELECT currency, {outstanding} AS outstanding, {overdue} AS overdue
           FROM invoices
          WHERE tenant_id = $1 AND kind = 'invoice' AND status = 'open'
          GROUP BY currency",
        outstanding = sum(owed),
        overdue = sum(&format!("CASE WHEN due_on < $2 THEN {owed} ELSE 0 END")),
    );
    Ok(diesel::sql_query(d.numbered(query))
        .bind::<Text, _>(tenant)
        .bind::<Date, _>(as_of)
        .load(s.conn())?)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Allowed entries through doors in `[from, to)` (UTC).
pub fn entries_between(
    s: &mut Scoped<'_>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> StoreResult<i64> {
    let tenant = s.realm_key().to_owned();
    let d = Dialect::of(s.conn());
    let query = "SELECT COUNT(*) AS n FROM access_events
          WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND direction = 'in'
            AND decision = 'allow'"
        .to_owned();
    Ok(diesel::sql_query(d.numbered(query))
        .bind::<Text, _>(tenant)
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .get_result::<Count>(s.conn())?
        .n)
}
