//! The money reports: `revenue` (invoiced, by month, plan or VAT rate; collected, by payment method), `mrr` and
//! `receivables`. Credit notes count negative; VAT is the documents' own: rounded per document and rate.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::Value;
use tessera_store::models::reports as store;
use tessera_store::Scoped;

use super::table::{ColumnKind, Report, Row};
use super::{Range, ReportName};
use crate::AppResult;

/// Invoiced less credited over some grouping key.
#[derive(Debug, Default, Clone)]
pub(crate) struct Invoiced {
    pub documents: i64,
    pub credit_notes: i64,
    pub net: i64,
    pub vat: i64,
    /// Rate (basis points) → (taxable, VAT).
    pub rates: BTreeMap<i64, (i64, i64)>,
}

impl Invoiced {
    fn add(&mut self, row: &store::DocumentRate) {
        let sign = if row.kind == "credit_note" { -1 } else { 1 };
        // The documents were computed with this rule, so it cannot overflow here; 0 keeps the report going
        // if a stored row were ever corrupt.
        let vat = tessera_invoicing::tax_half_up(row.taxable, row.rate_bps).unwrap_or(0);
        let (taxable, vat) = (
            sign * row.taxable * row.documents,
            sign * vat * row.documents,
        );
        self.net += taxable;
        self.vat += vat;
        let rate = self.rates.entry(row.rate_bps).or_default();
        rate.0 += taxable;
        rate.1 += vat;
        if sign < 0 {
            self.credit_notes += row.first_lines;
        } else {
            self.documents += row.first_lines;
        }
    }
}

/// A document's month, kind, currency and plan: what the revenue reports group by.
pub(crate) struct DocumentKey<'a> {
    pub month: &'a str,
    pub plan_name: Option<&'a str>,
}

/// The documents issued in the range, grouped by `key` (and currency); `with_plan` when the key reads the plan.
pub(crate) fn invoiced_by<K: Ord>(
    s: &mut Scoped<'_>,
    range: &Range,
    with_plan: bool,
    key: impl Fn(DocumentKey<'_>, i64) -> K,
) -> AppResult<BTreeMap<(K, String), Invoiced>> {
    let mut out: BTreeMap<(K, String), Invoiced> = BTreeMap::new();
    for row in store::document_rates(s, range.from, range.end(), with_plan)? {
        let k = key(
            DocumentKey {
                month: &row.month,
                plan_name: row.plan_name.as_deref(),
            },
            row.rate_bps,
        );
        out.entry((k, row.currency.clone())).or_default().add(&row);
    }
    Ok(out)
}

fn rate_label(rate_bps: i64) -> String {
    format!("{}%", tessera_invoicing::money::percent(rate_bps))
}

/// Totals of money columns when every row is in one currency (amounts of different currencies never add).
fn money_totals(report: &mut Report, keys: &[&str], integer_keys: &[&str]) {
    let currencies: BTreeSet<&str> = report
        .rows
        .iter()
        .filter_map(|r| r.get("currency").and_then(Value::as_str))
        .collect();
    if currencies.len() != 1 {
        return;
    }
    let currency = currencies
        .iter()
        .next()
        .copied()
        .unwrap_or("EUR")
        .to_owned();
    let exponent = tessera_invoicing::money::minor_exponent(&currency).unwrap_or(2);
    let mut totals = Row::new().text("currency", currency.clone());
    for key in keys {
        let sum: i64 = report
            .rows
            .iter()
            .filter_map(|r| r.get(*key).and_then(Value::as_str))
            .filter_map(|v| parse_minor(v, exponent))
            .sum();
        totals = totals.money(key, sum, &currency);
    }
    for key in integer_keys {
        let sum: i64 = report
            .rows
            .iter()
            .filter_map(|r| r.get(*key).and_then(Value::as_i64))
            .sum();
        totals = totals.int(key, sum);
    }
    report.totals = Some(totals.build());
}

/// A decimal string of `exponent` decimals back to minor units.
pub(crate) fn parse_minor(text: &str, exponent: u32) -> Option<i64> {
    let negative = text.starts_with('-');
    let digits = text.trim_start_matches('-');
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let mut fraction = fraction.to_owned();
    while fraction.len() < exponent as usize {
        fraction.push('0');
    }
    let value: i64 = format!("{whole}{fraction}").parse().ok()?;
    Some(if negative { -value } else { value })
}

/// `revenue` by month of issue (`by=month`), with the taxable amount and VAT of each rate as columns.
pub(crate) fn revenue_by_month(s: &mut Scoped<'_>, range: &Range) -> AppResult<Report> {
    let grouped = invoiced_by(s, range, false, |d, _| d.month.to_owned())?;
    let rates: BTreeSet<i64> = grouped
        .values()
        .flat_map(|i| i.rates.keys().copied())
        .collect();
    let mut columns: Vec<(String, String, ColumnKind)> = vec![
        ("month".into(), "Month".into(), ColumnKind::Date),
        ("currency".into(), "Currency".into(), ColumnKind::Text),
        ("invoices".into(), "Invoices".into(), ColumnKind::Integer),
        (
            "credit_notes".into(),
            "Credit notes".into(),
            ColumnKind::Integer,
        ),
        ("net".into(), "Net".into(), ColumnKind::Money),
        ("vat".into(), "VAT".into(), ColumnKind::Money),
        ("gross".into(), "Gross".into(), ColumnKind::Money),
    ];
    for rate in rates.iter().rev() {
        let label = rate_label(*rate);
        columns.push((
            format!("taxable_{rate}"),
            format!("Taxable {label}"),
            ColumnKind::Money,
        ));
        columns.push((
            format!("vat_{rate}"),
            format!("VAT {label}"),
            ColumnKind::Money,
        ));
    }
    let column_refs: Vec<(&str, &str, ColumnKind)> = columns
        .iter()
        .map(|(k, l, c)| (k.as_str(), l.as_str(), *c))
        .collect();
    let mut report = Report::new(
        ReportName::Revenue.as_str(),
        "Revenue by month",
        range,
        &column_refs,
    )
    .chart("bar", "month", &["net"]);
    for ((month, currency), inv) in grouped {
        let mut row = Row::new()
            .text("month", month)
            .text("currency", currency.clone())
            .int("invoices", inv.documents)
            .int("credit_notes", inv.credit_notes)
            .money("net", inv.net, &currency)
            .money("vat", inv.vat, &currency)
            .money("gross", inv.net + inv.vat, &currency);
        for rate in &rates {
            let (taxable, vat) = inv.rates.get(rate).copied().unwrap_or_default();
            row = row
                .money(&format!("taxable_{rate}"), taxable, &currency)
                .money(&format!("vat_{rate}"), vat, &currency);
        }
        report.rows.push(row.build());
    }
    let mut keys: Vec<String> = vec!["net".into(), "vat".into(), "gross".into()];
    for rate in &rates {
        keys.push(format!("taxable_{rate}"));
        keys.push(format!("vat_{rate}"));
    }
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    money_totals(&mut report, &key_refs, &["invoices", "credit_notes"]);
    Ok(report)
}

/// `revenue` by plan (`by=plan`); documents of no membership (packs sold alone, appointments) are `other`.
pub(crate) fn revenue_by_plan(s: &mut Scoped<'_>, range: &Range) -> AppResult<Report> {
    let grouped = invoiced_by(s, range, true, |d, _| {
        d.plan_name.unwrap_or("other").to_owned()
    })?;
    let mut report = Report::new(
        ReportName::Revenue.as_str(),
        "Revenue by plan",
        range,
        &[
            ("plan", "Plan", ColumnKind::Text),
            ("currency", "Currency", ColumnKind::Text),
            ("invoices", "Invoices", ColumnKind::Integer),
            ("credit_notes", "Credit notes", ColumnKind::Integer),
            ("net", "Net", ColumnKind::Money),
            ("vat", "VAT", ColumnKind::Money),
            ("gross", "Gross", ColumnKind::Money),
        ],
    )
    .chart("bar", "plan", &["net"]);
    for ((plan, currency), inv) in grouped {
        report.rows.push(
            Row::new()
                .text("plan", plan)
                .text("currency", currency.clone())
                .int("invoices", inv.documents)
                .int("credit_notes", inv.credit_notes)
                .money("net", inv.net, &currency)
                .money("vat", inv.vat, &currency)
                .money("gross", inv.net + inv.vat, &currency)
                .build(),
        );
    }
    money_totals(
        &mut report,
        &["net", "vat", "gross"],
        &["invoices", "credit_notes"],
    );
    Ok(report)
}

/// `revenue` by VAT rate (`by=vat`): the VAT return's figures for the range.
pub(crate) fn revenue_by_vat(s: &mut Scoped<'_>, range: &Range) -> AppResult<Report> {
    let grouped = invoiced_by(s, range, false, |_, rate| std::cmp::Reverse(rate))?;
    let mut report = Report::new(
        ReportName::Revenue.as_str(),
        "Revenue by VAT rate",
        range,
        &[
            ("rate", "VAT rate", ColumnKind::Percent),
            ("currency", "Currency", ColumnKind::Text),
            ("taxable", "Taxable", ColumnKind::Money),
            ("vat", "VAT", ColumnKind::Money),
            ("gross", "Gross", ColumnKind::Money),
        ],
    )
    .chart("bar", "rate", &["taxable"]);
    for ((std::cmp::Reverse(rate), currency), inv) in grouped {
        report.rows.push(
            Row::new()
                .text("rate", tessera_invoicing::money::percent(rate))
                .text("currency", currency.clone())
                .money("taxable", inv.net, &currency)
                .money("vat", inv.vat, &currency)
                .money("gross", inv.net + inv.vat, &currency)
                .build(),
        );
    }
    money_totals(&mut report, &["taxable", "vat", "gross"], &[]);
    Ok(report)
}

/// Money collected per local month, provider and method.
pub(crate) struct Collected {
    pub payments: i64,
    pub amount: i64,
    pub refunded: i64,
}

/// Collected figures by (local month, provider, method, currency).
pub(crate) fn collected(
    s: &mut Scoped<'_>,
    range: &Range,
) -> AppResult<BTreeMap<(String, String, String, String), Collected>> {
    let (from, to) = range.utc_bounds();
    let mut out: BTreeMap<(String, String, String, String), Collected> = BTreeMap::new();
    for row in store::collected_by_hour(s, from, to)? {
        let Some(local) = range.local_hour(&row.hour) else {
            continue;
        };
        let c = out
            .entry((
                local.format("%Y-%m").to_string(),
                row.provider,
                row.method,
                row.currency,
            ))
            .or_insert(Collected {
                payments: 0,
                amount: 0,
                refunded: 0,
            });
        c.payments += row.payments;
        c.amount += row.amount;
        c.refunded += row.refunded;
    }
    Ok(out)
}

/// `revenue` collected by payment method (`by=method`), per local month of settlement.
pub(crate) fn collected_by_method(s: &mut Scoped<'_>, range: &Range) -> AppResult<Report> {
    let mut report = Report::new(
        ReportName::Revenue.as_str(),
        "Collected by payment method",
        range,
        &[
            ("month", "Month", ColumnKind::Date),
            ("provider", "Provider", ColumnKind::Text),
            ("method", "Method", ColumnKind::Text),
            ("currency", "Currency", ColumnKind::Text),
            ("payments", "Payments", ColumnKind::Integer),
            ("collected", "Collected", ColumnKind::Money),
            ("refunded", "Refunded", ColumnKind::Money),
            ("net", "Net", ColumnKind::Money),
        ],
    )
    .chart("bar", "method", &["net"]);
    for ((month, provider, method, currency), c) in collected(s, range)? {
        report.rows.push(
            Row::new()
                .text("month", month)
                .text("provider", provider)
                .text("method", method)
                .text("currency", currency.clone())
                .int("payments", c.payments)
                .money("collected", c.amount, &currency)
                .money("refunded", c.refunded, &currency)
                .money("net", c.amount - c.refunded, &currency)
                .build(),
        );
    }
    money_totals(
        &mut report,
        &["collected", "refunded", "net"],
        &["payments"],
    );
    Ok(report)
}

/// A recurring membership's price per month: monthly as is, yearly / 12, weekly × 52 / 12, rounded half up.
pub(crate) fn monthly_price(span: &store::MembershipSpan) -> i64 {
    let price = i128::from(span.price_amount);
    let monthly = match span.billing_period.as_deref() {
        Some("year") => (price * 2 + 12) / 24,
        Some("week") => (price * 52 * 2 + 12) / 24,
        _ => price,
    };
    i64::try_from(monthly).unwrap_or(i64::MAX)
}

/// Whether a membership's dates cover `day`.
pub(crate) fn covers(span: &store::MembershipSpan, day: NaiveDate) -> bool {
    span.starts_on <= day && span.ends_on.is_none_or(|end| end >= day)
}

/// The last day of `day`'s month.
fn month_end(day: NaiveDate) -> NaiveDate {
    let next = tessera_domain::gym::dates::add_months(day.with_day(1).unwrap_or(day), 1);
    next - Duration::days(1)
}

/// MRR and distinct members of one currency on `day`.
pub(crate) fn mrr_on(
    spans: &[store::MembershipSpan],
    day: NaiveDate,
) -> BTreeMap<String, (i64, HashSet<String>)> {
    let mut out: BTreeMap<String, (i64, HashSet<String>)> = BTreeMap::new();
    for span in spans.iter().filter(|s| covers(s, day)) {
        let entry = out.entry(span.currency.clone()).or_default();
        if span.kind == "recurring" {
            entry.0 += monthly_price(span);
        }
        entry.1.insert(span.account_id.clone());
    }
    out
}

/// `mrr`: per month of the range, recurring revenue and members at the month's end (or at `to`), and the
/// members gained and lost since the previous month's end.
pub(crate) fn mrr(s: &mut Scoped<'_>, range: &Range) -> AppResult<Report> {
    let spans = store::membership_spans(s)?;
    let mut report = Report::new(
        ReportName::Mrr.as_str(),
        ReportName::Mrr.title(),
        range,
        &[
            ("month", "Month", ColumnKind::Date),
            ("currency", "Currency", ColumnKind::Text),
            ("mrr", "MRR", ColumnKind::Money),
            ("active_members", "Active members", ColumnKind::Integer),
            ("new_members", "New", ColumnKind::Integer),
            ("churned_members", "Churned", ColumnKind::Integer),
            ("net_members", "Net", ColumnKind::Integer),
        ],
    )
    .chart("line", "month", &["mrr"]);
    let mut month = range.from.with_day(1).unwrap_or(range.from);
    while month <= range.to {
        let start = (month - Duration::days(1)).max(range.from - Duration::days(1));
        let end = month_end(month).min(range.to);
        let before = mrr_on(&spans, start);
        let after = mrr_on(&spans, end);
        let currencies: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        for currency in currencies {
            let empty = (0, HashSet::new());
            let (_, was) = before.get(currency).unwrap_or(&empty);
            let (mrr, now) = after.get(currency).unwrap_or(&empty);
            let gained = now.difference(was).count() as i64;
            let lost = was.difference(now).count() as i64;
            report.rows.push(
                Row::new()
                    .text("month", month.format("%Y-%m").to_string())
                    .text("currency", currency.clone())
                    .money("mrr", *mrr, currency)
                    .int("active_members", now.len() as i64)
                    .int("new_members", gained)
                    .int("churned_members", lost)
                    .int("net_members", gained - lost)
                    .build(),
            );
        }
        month = tessera_domain::gym::dates::add_months(month, 1);
    }
    Ok(report)
}

/// `receivables`: per client and currency, what is owed today and how much of it is overdue, with the
/// payments that failed in the range; most overdue first.
pub(crate) fn receivables(
    s: &mut Scoped<'_>,
    range: &Range,
    today: NaiveDate,
) -> AppResult<Report> {
    let (from, to) = range.utc_bounds();
    let owed = store::receivables(s, today)?;
    let failed = store::failed_payments(s, from, to)?;
    /// What a client owes, and what failed, in one currency.
    type Owed = (Option<store::Receivable>, Option<store::FailedPayments>);
    let mut rows: BTreeMap<(String, String), Owed> = BTreeMap::new();
    for r in owed {
        let key = (r.account_id.clone(), r.currency.clone());
        rows.entry(key).or_default().0 = Some(r);
    }
    for f in failed {
        let key = (f.account_id.clone(), f.currency.clone());
        rows.entry(key).or_default().1 = Some(f);
    }
    let mut report = Report::new(
        ReportName::Receivables.as_str(),
        ReportName::Receivables.title(),
        range,
        &[
            ("member_id", "Member id", ColumnKind::Text),
            ("name", "Name", ColumnKind::Text),
            ("currency", "Currency", ColumnKind::Text),
            ("open_invoices", "Open invoices", ColumnKind::Integer),
            ("outstanding", "Outstanding", ColumnKind::Money),
            ("overdue", "Overdue", ColumnKind::Money),
            ("oldest_due_on", "Oldest due", ColumnKind::Date),
            ("failed_payments", "Failed payments", ColumnKind::Integer),
            ("failed_amount", "Failed amount", ColumnKind::Money),
        ],
    )
    .chart("bar", "name", &["overdue"]);
    let mut ordered: Vec<((String, String), Owed)> = rows.into_iter().collect();
    ordered.sort_by_key(|((id, _), (r, _))| {
        (
            std::cmp::Reverse(r.as_ref().map_or(0, |r| r.overdue)),
            std::cmp::Reverse(r.as_ref().map_or(0, |r| r.outstanding)),
            id.clone(),
        )
    });
    for ((account_id, currency), (owed, failed)) in ordered {
        let name = owed
            .as_ref()
            .and_then(|r| r.name.clone())
            .or_else(|| failed.as_ref().and_then(|f| f.name.clone()));
        report.rows.push(
            Row::new()
                .text("member_id", account_id)
                .opt_text("name", name)
                .text("currency", currency.clone())
                .int(
                    "open_invoices",
                    owed.as_ref().map_or(0, |r| r.open_invoices),
                )
                .money(
                    "outstanding",
                    owed.as_ref().map_or(0, |r| r.outstanding),
                    &currency,
                )
                .money("overdue", owed.as_ref().map_or(0, |r| r.overdue), &currency)
                .opt_text(
                    "oldest_due_on",
                    owed.as_ref()
                        .and_then(|r| r.oldest_due_on)
                        .map(|d| d.to_string()),
                )
                .int("failed_payments", failed.as_ref().map_or(0, |f| f.failed))
                .money(
                    "failed_amount",
                    failed.as_ref().map_or(0, |f| f.amount),
                    &currency,
                )
                .build(),
        );
    }
    money_totals(
        &mut report,
        &["outstanding", "overdue", "failed_amount"],
        &["open_invoices", "failed_payments"],
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(period: &str, price: i64) -> store::MembershipSpan {
        store::MembershipSpan {
            account_id: "a".into(),
            plan_name: "p".into(),
            kind: "recurring".into(),
            billing_period: Some(period.into()),
            price_amount: price,
            currency: "EUR".into(),
            status: "active".into(),
            starts_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            ends_on: None,
        }
    }

    #[test]
    fn prices_per_month() {
        assert_eq!(monthly_price(&span("month", 4_990)), 4_990);
        assert_eq!(monthly_price(&span("year", 49_900)), 4_158); // 4158.33
        assert_eq!(monthly_price(&span("week", 1_000)), 4_333); // 4333.33
        assert_eq!(monthly_price(&span("year", 6)), 1); // 0.5 rounds up
    }

    #[test]
    fn decimals_back_to_minor_units() {
        assert_eq!(parse_minor("1234.50", 2), Some(123_450));
        assert_eq!(parse_minor("-0.05", 2), Some(-5));
        assert_eq!(parse_minor("12", 0), Some(12));
    }
}
