//! Money figures for dashboards (`money.read`): what is owed and overdue, per member and for the brand, and
//! revenue by period with its VAT breakdown (credit notes count negative).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use tessera_domain::money::Money;
use tessera_domain::role::Permission;
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::invoices;
use tessera_store::TxMode;

use crate::auth::authorize;
use crate::members::tenant_of;
use crate::{App, AppResult, Ctx};

/// What one client owes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Balance {
    /// The client.
    pub member_id: String,
    /// ISO 4217.
    pub currency: String,
    /// Owed on open invoices, minor units.
    pub outstanding: i64,
    /// Of which past its due date.
    pub overdue: i64,
    /// Open invoices.
    pub open_invoices: usize,
    /// Oldest due date among them.
    pub oldest_due_on: Option<NaiveDate>,
}

/// The brand's totals of one currency.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MoneySummary {
    /// ISO 4217.
    pub currency: String,
    /// Owed on open invoices.
    pub outstanding: Money,
    /// Of which overdue.
    pub overdue: Money,
    /// Open invoices.
    pub open_invoices: usize,
    /// Clients with something overdue.
    pub members_overdue: usize,
}

/// Revenue of one period and currency.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevenuePeriod {
    /// First day of the period (a month).
    pub period: NaiveDate,
    /// ISO 4217.
    pub currency: String,
    /// Invoiced less credited, excluding VAT.
    pub total_excl: i64,
    /// VAT.
    pub total_vat: i64,
    /// Including VAT.
    pub total_incl: i64,
    /// By VAT rate (basis points): taxable amount and VAT.
    pub vat: Vec<RevenueRate>,
}

/// One VAT rate's share of a period's revenue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevenueRate {
    /// Basis points.
    pub rate_bps: i64,
    /// Taxable amount, minor units.
    pub taxable: i64,
    /// VAT, minor units.
    pub vat: i64,
}

impl App {
    /// Every client's balance with something owed, most overdue first; one client's when `member_id` is set.
    pub async fn balances(&self, ctx: &Ctx, member_id: Option<String>) -> AppResult<Vec<Balance>> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::MoneyRead)?;
                let mut by_member: BTreeMap<(String, String), Balance> = BTreeMap::new();
                for i in invoices::open_of(s, member_id.as_deref())? {
                    let owed = i.total_incl - i.amount_paid - i.amount_credited;
                    let b = by_member
                        .entry((i.account_id.clone(), i.currency.clone()))
                        .or_insert_with(|| Balance {
                            member_id: i.account_id.clone(),
                            currency: i.currency.clone(),
                            outstanding: 0,
                            overdue: 0,
                            open_invoices: 0,
                            oldest_due_on: None,
                        });
                    b.outstanding += owed;
                    b.open_invoices += 1;
                    if i.due_on.is_some_and(|d| d < today) {
                        b.overdue += owed;
                    }
                    b.oldest_due_on = match (b.oldest_due_on, i.due_on) {
                        (Some(a), Some(d)) => Some(a.min(d)),
                        (a, d) => a.or(d),
                    };
                }
                let mut out: Vec<Balance> = by_member.into_values().collect();
                out.sort_by(|a, b| {
                    b.overdue
                        .cmp(&a.overdue)
                        .then(a.member_id.cmp(&b.member_id))
                });
                Ok(out)
            })
        })
        .await
    }

    /// The brand's outstanding and overdue totals, per currency.
    pub async fn money_summary(&self, ctx: &Ctx) -> AppResult<Vec<MoneySummary>> {
        let balances = self.balances(ctx, None).await?;
        let mut by_currency: BTreeMap<String, MoneySummary> = BTreeMap::new();
        for b in balances {
            let m = by_currency
                .entry(b.currency.clone())
                .or_insert_with(|| MoneySummary {
                    currency: b.currency.clone(),
                    outstanding: Money::zero(&b.currency),
                    overdue: Money::zero(&b.currency),
                    open_invoices: 0,
                    members_overdue: 0,
                });
            m.outstanding.amount += b.outstanding;
            m.overdue.amount += b.overdue;
            m.open_invoices += b.open_invoices;
            m.members_overdue += usize::from(b.overdue > 0);
        }
        Ok(by_currency.into_values().collect())
    }

    /// Revenue by month of issue in `[from, to)` (this month when absent), per currency, with the VAT breakdown.
    pub async fn revenue(
        &self,
        ctx: &Ctx,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> AppResult<Vec<RevenuePeriod>> {
        let today = self.today_in(&*self.tenant_for(ctx)?);
        let from = from.unwrap_or_else(|| today.with_day(1).unwrap_or(today));
        let to = to.unwrap_or_else(|| tessera_domain::gym::dates::add_months(from, 1));
        if to <= from || (to - from).num_days() > 3_700 {
            return Err(FieldErrors::from(FieldError::new(
                "to",
                "invalid_range",
                "after from, within ten years",
            ))
            .into());
        }
        let tenant = tenant_of(ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::MoneyRead)?;
                // Per document and rate first (VAT is rounded per document and rate), then summed.
                let docs = invoices::issued_between(s, from, to)?;
                let mut periods: BTreeMap<(NaiveDate, String), RevenuePeriod> = BTreeMap::new();
                for doc in docs {
                    let Some(issued) = doc.issued_on else {
                        continue;
                    };
                    let sign = if doc.kind == "credit_note" { -1 } else { 1 };
                    let month =
                        NaiveDate::from_ymd_opt(issued.year(), issued.month(), 1).unwrap_or(issued);
                    let p = periods
                        .entry((month, doc.currency.clone()))
                        .or_insert_with(|| RevenuePeriod {
                            period: month,
                            currency: doc.currency.clone(),
                            total_excl: 0,
                            total_vat: 0,
                            total_incl: 0,
                            vat: Vec::new(),
                        });
                    p.total_excl += sign * doc.total_excl;
                    p.total_vat += sign * doc.total_vat;
                    p.total_incl += sign * doc.total_incl;
                    let lines = invoices::lines(s, &doc.id)?;
                    for t in super::view::vat_totals(&lines, &doc.currency) {
                        match p.vat.iter_mut().find(|r| r.rate_bps == t.rate_bps) {
                            Some(r) => {
                                r.taxable += sign * t.taxable.amount;
                                r.vat += sign * t.vat.amount;
                            }
                            None => p.vat.push(RevenueRate {
                                rate_bps: t.rate_bps,
                                taxable: sign * t.taxable.amount,
                                vat: sign * t.vat.amount,
                            }),
                        }
                    }
                }
                Ok(periods.into_values().collect())
            })
        })
        .await
    }
}
