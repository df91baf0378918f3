//! The `group` report: every brand side by side for the group's operators, money converted to EUR at the rates
//! of `[reports.eur_rates]` (exactly, with `rust_decimal`, rounded half away from zero to the cent). A brand's
//! figures cover the same local days in its own time zone.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::str::FromStr;

use chrono_tz::Tz;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use tessera_store::models::reports as store;
use tessera_store::TxMode;

use super::table::{ColumnKind, Report, Row};
use super::{finance, Range, ReportName, ReportParams};
use crate::{App, AppError, AppResult};

/// Converts amounts to euro cents.
struct EurRates(BTreeMap<String, Decimal>);

impl EurRates {
    fn from_settings(rates: &BTreeMap<String, String>) -> AppResult<EurRates> {
        let mut out = BTreeMap::new();
        out.insert("EUR".to_owned(), Decimal::ONE);
        for (currency, rate) in rates {
            let value = Decimal::from_str(rate.trim()).map_err(|e| {
                AppError::Internal(format!("[reports.eur_rates] {currency} = {rate:?}: {e}"))
            })?;
            out.insert(currency.to_ascii_uppercase(), value);
        }
        Ok(EurRates(out))
    }

    /// `minor` units of `currency` in euro cents, or `None` without a rate.
    fn to_eur_cents(&self, minor: i64, currency: &str) -> Option<i64> {
        let rate = self.0.get(currency)?;
        let exponent = tessera_invoicing::money::minor_exponent(currency).unwrap_or(2);
        let amount = Decimal::new(minor, exponent) * rate;
        (amount * Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i64()
    }
}

/// One brand's figures in EUR.
#[derive(Default)]
struct BrandFigures {
    revenue: i64,
    collected: i64,
    outstanding: i64,
    overdue: i64,
    mrr: i64,
    members: i64,
    checkins: i64,
    unconverted: BTreeSet<String>,
}

/// Computes the `group` report.
pub(crate) async fn group(app: &App, params: ReportParams) -> AppResult<Report> {
    let rates = EurRates::from_settings(&app.settings().reports.eur_rates)?;
    let today_utc = app.clock().now().date_naive();
    let outer = Range::parse(&params, today_utc, chrono_tz::UTC)?;
    let mut report = Report::new(
        ReportName::Group.as_str(),
        ReportName::Group.title(),
        &outer,
        &[
            ("brand", "Brand", ColumnKind::Text),
            ("currency", "Currency", ColumnKind::Text),
            ("revenue", "Revenue (net)", ColumnKind::Money),
            ("collected", "Collected", ColumnKind::Money),
            ("outstanding", "Outstanding", ColumnKind::Money),
            ("overdue", "Overdue", ColumnKind::Money),
            ("mrr", "MRR", ColumnKind::Money),
            ("active_members", "Active members", ColumnKind::Integer),
            ("checkins", "Check-ins", ColumnKind::Integer),
            ("not_converted", "Not converted (no rate)", ColumnKind::Text),
        ],
    )
    .chart("bar", "brand", &["revenue"]);
    let mut tenants = app.tenants().all();
    tenants.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut totals = BrandFigures::default();
    for tenant in tenants {
        let tz: Tz = tenant.config.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let today = app.today_in(&tenant);
        let range = Range {
            from: outer.from,
            to: outer.to,
            tz,
        };
        // Its entries count door decisions, some perhaps still being written.
        app.door_records_written(&tenant.id).await;
        let (tenant_id, rates_ref) = (tenant.id.clone(), &rates);
        let raw = app
            .blocking(move |db| {
                db.scoped(&tenant_id, TxMode::Read, |s| {
                    let (from, to) = range.utc_bounds();
                    let documents = finance::invoiced_by(s, &range, false, |_, _| ())?;
                    let collected = finance::collected(s, &range)?;
                    let owed = store::owed_totals(s, today)?;
                    let spans = store::membership_spans(s)?;
                    let entries = store::entries_between(s, from, to)?;
                    let on = range.to.min(today);
                    Ok::<_, AppError>((
                        documents,
                        collected,
                        owed,
                        finance::mrr_on(&spans, on),
                        entries,
                    ))
                })
            })
            .await?;
        let (documents, collected, owed, mrr, entries) = raw;
        let mut f = BrandFigures {
            checkins: entries,
            ..BrandFigures::default()
        };
        let mut add =
            |minor: i64, currency: &str, target: fn(&mut BrandFigures) -> &mut i64| match rates_ref
                .to_eur_cents(minor, currency)
            {
                Some(cents) => *target(&mut f) += cents,
                None => {
                    f.unconverted.insert(currency.to_owned());
                }
            };
        for ((_, currency), inv) in documents {
            add(inv.net, &currency, |f| &mut f.revenue);
        }
        for ((_, _, _, currency), c) in collected {
            add(c.amount - c.refunded, &currency, |f| &mut f.collected);
        }
        for r in owed {
            add(r.outstanding, &r.currency, |f| &mut f.outstanding);
            add(r.overdue, &r.currency, |f| &mut f.overdue);
        }
        let mut members: HashSet<String> = HashSet::new();
        for (currency, (amount, accounts)) in mrr {
            add(amount, &currency, |f| &mut f.mrr);
            members.extend(accounts);
        }
        f.members = members.len() as i64;
        report.rows.push(
            Row::new()
                .text("brand", tenant.slug.clone())
                .text("currency", "EUR")
                .money("revenue", f.revenue, "EUR")
                .money("collected", f.collected, "EUR")
                .money("outstanding", f.outstanding, "EUR")
                .money("overdue", f.overdue, "EUR")
                .money("mrr", f.mrr, "EUR")
                .int("active_members", f.members)
                .int("checkins", f.checkins)
                .text(
                    "not_converted",
                    f.unconverted.iter().cloned().collect::<Vec<_>>().join(" "),
                )
                .build(),
        );
        totals.revenue += f.revenue;
        totals.collected += f.collected;
        totals.outstanding += f.outstanding;
        totals.overdue += f.overdue;
        totals.mrr += f.mrr;
        totals.members += f.members;
        totals.checkins += f.checkins;
    }
    report.totals = Some(
        Row::new()
            .text("currency", "EUR")
            .money("revenue", totals.revenue, "EUR")
            .money("collected", totals.collected, "EUR")
            .money("outstanding", totals.outstanding, "EUR")
            .money("overdue", totals.overdue, "EUR")
            .money("mrr", totals.mrr, "EUR")
            .int("active_members", totals.members)
            .int("checkins", totals.checkins)
            .build(),
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_exactly_and_rounds_half_away_from_zero() {
        let rates = EurRates::from_settings(&BTreeMap::from([
            ("gbp".to_owned(), "1.17".to_owned()),
            ("JPY".to_owned(), "0.0061".to_owned()),
        ]))
        .unwrap();
        assert_eq!(rates.to_eur_cents(10_000, "EUR"), Some(10_000));
        assert_eq!(rates.to_eur_cents(10_000, "GBP"), Some(11_700));
        assert_eq!(rates.to_eur_cents(50, "GBP"), Some(59)); // 0.585 → 0.59
        assert_eq!(rates.to_eur_cents(-50, "GBP"), Some(-59));
        assert_eq!(rates.to_eur_cents(1_000, "JPY"), Some(610)); // ¥1000 has no minor units
        assert_eq!(rates.to_eur_cents(100, "USD"), None);
    }
}
