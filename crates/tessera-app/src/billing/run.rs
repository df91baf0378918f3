//! The billing run of one brand and day: the daily `billing.run` schedule, and `tessera billing run`. In order:
//!
//! 1. **reconcile** attempts whose outcome is unknown (a crash, a timeout) by asking the provider;
//! 2. **invoice** what is due (renewals, ends of trials, first periods and packs not invoiced yet): one
//!    invoice per membership and period, whatever happens (the billing key is unique);
//! 3. **charge** what was invoiced, with the payer's saved method, while invoicing goes on: each invoicing batch
//!    hands its invoices over once committed. A hundred at a time (attempts recorded together before any
//!    request, the provider asked a few at a time, the answers recorded together), two batches under way at
//!    once; then any invoice never attempted (an earlier run's, cut short);
//! 4. **remind** members whose renewal is near;
//! 5. **dun**: apply each unpaid membership's dunning step and retry the payments the schedule says;
//! 6. **warn** of cards expiring within the notice period.
//!
//! Any step may be cut short by a crash; running again finishes the work without a second invoice or a second
//! charge: invoices are found by key, attempts are recorded before the provider is asked and reconciled after.
//! PDFs are rendered by their own jobs after finalisation, never inside the run.

use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;
use tessera_store::models::invoices::{self, InvoiceRow};
use tessera_store::models::memberships;
use tessera_store::models::payments::{self, PaymentRow};
use tessera_store::TxMode;

use super::charges::{charge_invoice, charge_invoices, reconcile};
use super::documents::finalise_all_in;
use super::faults;
use super::memberships::{due_charge, due_of, dunning_in, invoice_periods_in, Finalise};
use super::provider::{provider_for, PaymentProvider};
use crate::tenants::Tenant;
use crate::{App, AppError, AppResult, Ctx};

/// The job kind and schedule name.
pub const RUN_KIND: &str = "billing.run";

/// Memberships invoiced per transaction.
const BATCH: i64 = 100;

/// The tables an invoicing batch reads or fills, and those a charging batch does.
const INVOICING_TABLES: &[&str] = &[
    "memberships",
    "invoices",
    "invoice_lines",
    "events",
    "jobs",
    "audit_log",
];
const CHARGING_TABLES: &[&str] = &["invoices", "payments", "events", "memberships"];

/// Invoicing transactions under way at once. On PostgreSQL one drafts while another numbers; on SQLite, where
/// writers take turns, they run one after the other.
const INVOICE_BATCHES_IN_FLIGHT: usize = 2;

/// Invoices charged together: their attempts recorded in one transaction, their answers in another.
const CHARGE_BATCH: i64 = 100;

/// Charge batches under way at once, so that the database and the provider work at the same time.
const CHARGE_BATCHES_IN_FLIGHT: usize = 2;

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct RunReport {
    /// The day billed.
    pub day: Option<NaiveDate>,
    /// Nothing was written.
    pub dry_run: bool,
    /// Attempts with an unknown outcome settled by asking the provider.
    pub reconciled: usize,
    /// Invoices created and finalised (dry: that would be).
    pub invoiced: usize,
    /// Their total, minor units (one currency per brand in practice; summed as is).
    pub invoiced_amount: i64,
    /// Renewal reminders sent.
    pub reminders: usize,
    /// Payments asked for.
    pub charged: usize,
    /// Of which succeeded.
    pub succeeded: usize,
    /// Of which failed.
    pub failed: usize,
    /// Of which settle later or wait for the payer.
    pub pending: usize,
    /// Of which no answer (reconciled by the next run).
    pub unknown: usize,
    /// Memberships whose dunning moved them (past due, suspended).
    pub dunning_changes: usize,
    /// Payment retries made by dunning.
    pub retries: usize,
    /// Expiring-card warnings.
    pub cards_expiring: usize,
}

impl RunReport {
    /// Adds the payment counts of `charged` (the charging side of a run) to this report.
    fn add_charges(&mut self, charged: &RunReport) {
        self.charged += charged.charged;
        self.succeeded += charged.succeeded;
        self.failed += charged.failed;
        self.pending += charged.pending;
        self.unknown += charged.unknown;
    }
}

/// Progress of a run, for a progress bar: the step's name, done and total.
pub type Progress = dyn Fn(&str, u64, u64) + Send + Sync;

impl App {
    /// Runs billing for the brand `tenant_slug` on `day` (today in the brand's zone by default).
    pub async fn run_billing(
        &self,
        tenant_slug: &str,
        day: Option<NaiveDate>,
        dry_run: bool,
        progress: &Progress,
    ) -> AppResult<RunReport> {
        let tenant = self
            .tenants()
            .by_slug(tenant_slug)
            .ok_or(AppError::NotFound("tenant"))?;
        let day = day.unwrap_or_else(|| self.today_in(&tenant));
        let ctx = Ctx::cli(tenant.realm());
        let provider = provider_for(self, &tenant)?;
        let mut report = RunReport {
            day: Some(day),
            dry_run,
            ..RunReport::default()
        };
        if dry_run {
            self.plan_invoices(&tenant, day, &mut report, progress)
                .await?;
            return Ok(report);
        }
        if let Some(provider) = &provider {
            progress("reconcile", 0, 0);
            report.reconciled = reconcile(self, &ctx, &tenant, provider).await?;
        }
        // Invoicing and charging overlap: each invoicing batch hands its invoices to the charging side once
        // committed, so the provider is asked while the next batches are drafted.
        let (finalised, to_charge) = mpsc::channel::<Vec<String>>(CHARGE_BATCHES_IN_FLIGHT * 2);
        let mut charged = RunReport::default();
        let invoicing = self.invoice_due(
            &ctx,
            &tenant,
            day,
            &mut report,
            progress,
            provider.as_ref().map(|_| finalised),
        );
        let charging = async {
            match &provider {
                Some(provider) => {
                    self.charge_handed(&ctx, &tenant, provider, to_charge, &mut charged, progress)
                        .await
                }
                None => Ok(()),
            }
        };
        let (invoiced, handed) = tokio::join!(invoicing, charging);
        invoiced?;
        handed?;
        if let Some(provider) = &provider {
            // What was left: invoices of earlier runs never attempted (a crash before charging), and any the
            // handing over missed.
            self.charge_new(&ctx, &tenant, provider, &mut charged, progress)
                .await?;
        }
        report.add_charges(&charged);
        self.remind_renewals(&ctx, &tenant, day, &mut report)
            .await?;
        self.dun(&ctx, &tenant, provider.as_ref(), day, &mut report)
            .await?;
        self.warn_expiring_cards(&ctx, &tenant, day, &mut report)
            .await?;
        Ok(report)
    }

    async fn plan_invoices(
        &self,
        tenant: &Arc<Tenant>,
        day: NaiveDate,
        report: &mut RunReport,
        progress: &Progress,
    ) -> AppResult<()> {
        let mut after = String::new();
        loop {
            let (t, a) = (tenant.clone(), after.clone());
            let batch = self
                .blocking(move |db| {
                    db.scoped(&t.id, TxMode::Read, |s| {
                        let rows = memberships::billing_candidates(s, day, &a, None, BATCH)?;
                        let mut due = Vec::new();
                        for r in &rows {
                            if let Some(charge) = due_charge(s, r, day)? {
                                let fee = if charge.first {
                                    r.enrolment_fee_amount
                                } else {
                                    0
                                };
                                due.push(r.price_amount + fee);
                            }
                        }
                        Ok((rows.last().map(|r| r.id.clone()), due))
                    })
                })
                .await?;
            for amount in batch.1 {
                report.invoiced += 1;
                report.invoiced_amount += amount;
            }
            progress("invoice", report.invoiced as u64, 0);
            match batch.0 {
                Some(last) => after = last,
                None => return Ok(()),
            }
        }
    }

    async fn invoice_due(
        &self,
        ctx: &Ctx,
        tenant: &Arc<Tenant>,
        day: NaiveDate,
        report: &mut RunReport,
        progress: &Progress,
        finalised: Option<mpsc::Sender<Vec<String>>>,
    ) -> AppResult<()> {
        let mut after = String::new();
        let now = self.clock().now();
        loop {
            // The next batches' bounds: each batch reads its own memberships again in its transaction, between the
            // previous bound (excluded) and its own (included).
            let (t, a) = (tenant.clone(), after.clone());
            let bounds: Vec<String> = self
                .blocking(move |db| {
                    db.scoped(&t.id, TxMode::Read, |s| {
                        let rows = memberships::billing_candidates(
                            s,
                            day,
                            &a,
                            None,
                            BATCH * INVOICE_BATCHES_IN_FLIGHT as i64,
                        )?;
                        Ok(rows
                            .chunks(BATCH as usize)
                            .filter_map(|chunk| chunk.last().map(|r| r.id.clone()))
                            .collect())
                    })
                })
                .await?;
            let Some(last) = bounds.last().cloned() else {
                return Ok(());
            };
            let mut lower = after.clone();
            let mut batches = Vec::with_capacity(bounds.len());
            for upper in bounds {
                batches.push(self.invoice_batch(ctx, tenant, day, lower, upper.clone(), now));
                lower = upper;
            }
            let before = report.invoiced;
            for invoiced in futures::future::try_join_all(batches).await? {
                report.invoiced += invoiced.len();
                report.invoiced_amount += invoiced.iter().map(|(_, total)| total).sum::<i64>();
                if let Some(charging) = &finalised {
                    // The charging side ended early only on an error, which the run reports; invoicing goes on.
                    let _ = charging
                        .send(invoiced.into_iter().map(|(id, _)| id).collect())
                        .await;
                }
            }
            progress("invoice", report.invoiced as u64, 0);
            self.refresh_statistics_past(before, report.invoiced, INVOICING_TABLES)
                .await;
            after = last;
        }
    }

    /// Invoices the memberships due between `after` (excluded) and `until` (included) in one transaction: every
    /// invoice drafted first, then all numbered at the end, so that the series is locked only for the numbering
    /// and concurrent batches draft while one numbers. Returns the invoices' ids and totals.
    async fn invoice_batch(
        &self,
        ctx: &Ctx,
        tenant: &Arc<Tenant>,
        day: NaiveDate,
        after: String,
        until: String,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<Vec<(String, i64)>> {
        let (t, c, app) = (tenant.clone(), ctx.clone(), self.clone());
        let totals = self
            .blocking(move |db| {
                db.scoped(&t.id, TxMode::Write, |s| {
                    // The range held BATCH memberships when its bounds were read; the limit only guards against
                    // a flood of new ones in between, which the next run would invoice.
                    let rows =
                        memberships::billing_candidates(s, day, &after, Some(&until), 100 * BATCH)?;
                    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                    let freezes = memberships::freezes_of(s, &ids)?;
                    // A membership may owe several periods after a missed run: each of them, in order.
                    let mut periods = Vec::new();
                    for mut row in rows {
                        let own: Vec<_> = freezes
                            .iter()
                            .filter(|f| f.membership_id == row.id)
                            .cloned()
                            .collect();
                        for _ in 0..24 {
                            let Some(due) = due_of(&row, &own, day) else {
                                break;
                            };
                            let end = due.period_end;
                            periods.push((row.clone(), due));
                            row.billed_until = Some(end);
                        }
                    }
                    let issued: Vec<InvoiceRow> =
                        invoice_periods_in(s, &c, &app, &t, &mut periods, Finalise::Later, now)?
                            .into_iter()
                            .flatten()
                            .collect();
                    // A period invoiced by an earlier run comes back finalised already.
                    let (mut drafts, done): (Vec<_>, Vec<_>) =
                        issued.into_iter().partition(|i| i.status == "draft");
                    finalise_all_in(s, &c, &app, &t, &mut drafts, now)?;
                    Ok(drafts
                        .iter()
                        .chain(&done)
                        .map(|invoice| (invoice.id.clone(), invoice.total_incl))
                        .collect::<Vec<_>>())
                })
            })
            .await?;
        faults::point("after_invoice_commit");
        Ok(totals)
    }

    async fn remind_renewals(
        &self,
        ctx: &Ctx,
        tenant: &Arc<Tenant>,
        day: NaiveDate,
        report: &mut RunReport,
    ) -> AppResult<()> {
        let ahead = i64::from(tenant.config.billing.remind_days_before_renewal);
        if ahead == 0 {
            return Ok(());
        }
        let renews_on = day + Duration::days(ahead);
        let now = self.clock().now();
        let (t, c) = (tenant.clone(), ctx.clone());
        report.reminders = self
            .blocking(move |db| {
                db.scoped(&t.id, TxMode::Write, |s| {
                    let rows = memberships::renewing_on(s, renews_on)?;
                    let mut sent = 0;
                    for r in &rows {
                        // Once per membership and day, however many times the run passes.
                        if !payments::claim_notice(s, &r.id, "renewal_upcoming", day, crate::naive(now))? {
                            continue;
                        }
                        let data = serde_json::json!({ "membership_id": r.id, "renews_on": renews_on,
                            "amount": { "amount": r.price_amount, "currency": r.currency } });
                        crate::events::publish(s, &c, "billing.renewal_upcoming", Some(&r.account_id), data, now)?;
                        sent += 1;
                    }
                    Ok(sent)
                })
            })
            .await?;
        Ok(())
    }

    /// Charges the open invoices never attempted, read a page of [`CHARGE_BATCH`] at a time after a cursor and
    /// handed to [`App::charge_handed`]: the next page is read while the provider answers.
    async fn charge_new(
        &self,
        ctx: &Ctx,
        tenant: &Arc<Tenant>,
        provider: &Arc<dyn PaymentProvider>,
        report: &mut RunReport,
        progress: &Progress,
    ) -> AppResult<()> {
        let (pages, handed) = mpsc::channel::<Vec<String>>(CHARGE_BATCHES_IN_FLIGHT);
        let reading = async move {
            let mut after = String::new();
            loop {
                let (t, a) = (tenant.clone(), after.clone());
                let ids: Vec<String> = self
                    .blocking(move |db| {
                        db.scoped(&t.id, TxMode::Read, |s| {
                            Ok(invoices::never_attempted(s, &a, CHARGE_BATCH)?
                                .into_iter()
                                .map(|i| i.id)
                                .collect())
                        })
                    })
                    .await?;
                // The page's invoices are after the cursor: the next read starts past them, attempted or not.
                let Some(last) = ids.last().cloned() else {
                    return Ok::<_, AppError>(());
                };
                after = last;
                if pages.send(ids).await.is_err() {
                    // The charging side stopped on an error, which it reports.
                    return Ok(());
                }
            }
        };
        let (read, charged) = tokio::join!(
            reading,
            self.charge_handed(ctx, tenant, provider, handed, report, progress)
        );
        read?;
        charged
    }

    /// Charges the invoices handed over (by the invoicing side as its batches commit, or by a reader of the
    /// invoices never attempted), a batch at a time with [`CHARGE_BATCHES_IN_FLIGHT`] under way, until the
    /// sender is done.
    async fn charge_handed(
        &self,
        ctx: &Ctx,
        tenant: &Arc<Tenant>,
        provider: &Arc<dyn PaymentProvider>,
        mut handed: mpsc::Receiver<Vec<String>>,
        report: &mut RunReport,
        progress: &Progress,
    ) -> AppResult<()> {
        let concurrency = self.settings().payments.run_concurrency.max(1);
        let mut in_flight = FuturesUnordered::new();
        let mut waiting: Vec<String> = Vec::new();
        let mut invoicing = true;
        loop {
            while in_flight.len() < CHARGE_BATCHES_IN_FLIGHT
                && (waiting.len() >= CHARGE_BATCH as usize || (!invoicing && !waiting.is_empty()))
            {
                let rest = waiting.split_off(waiting.len().min(CHARGE_BATCH as usize));
                let ids = std::mem::replace(&mut waiting, rest);
                in_flight.push(charge_invoices(
                    self,
                    ctx,
                    tenant,
                    provider,
                    ids,
                    concurrency,
                ));
            }
            if !invoicing && in_flight.is_empty() {
                return Ok(());
            }
            // Taking more only while little waits holds invoicing back to the pace of charging.
            let room = waiting.len() < 2 * CHARGE_BATCH as usize;
            tokio::select! {
                ids = handed.recv(), if invoicing && room => match ids {
                    Some(ids) => waiting.extend(ids),
                    None => invoicing = false,
                },
                Some(payments) = in_flight.next(), if !in_flight.is_empty() => {
                    self.tally_charges(report, &payments?, progress).await;
                }
            }
        }
    }

    /// Counts a charged batch into `report`, shows it, and refreshes the statistics when the count passes a mark.
    async fn tally_charges(
        &self,
        report: &mut RunReport,
        payments: &[PaymentRow],
        progress: &Progress,
    ) {
        let before = report.charged;
        for payment in payments {
            report.charged += 1;
            match payment.status.as_str() {
                "succeeded" => report.succeeded += 1,
                "failed" => report.failed += 1,
                "unknown" => report.unknown += 1,
                _ => report.pending += 1,
            }
        }
        progress("charge", report.charged as u64, 0);
        self.refresh_statistics_past(before, report.charged, CHARGING_TABLES)
            .await;
    }

    /// Refreshes the statistics of `tables` when a step's count went from `before` to `now` past 1,000, 10,000
    /// or 100,000: a first run fills tables that were empty, and plans made for an empty table read a large
    /// one slowly until they are made again. A failure (a login role that does not own the tables) is only
    /// logged: autovacuum refreshes them later anyway.
    async fn refresh_statistics_past(
        &self,
        before: usize,
        now: usize,
        tables: &'static [&'static str],
    ) {
        if ![1_000, 10_000, 100_000]
            .iter()
            .any(|mark| before < *mark && now >= *mark)
        {
            return;
        }
        if let Err(error) = self
            .blocking(move |db| Ok(db.refresh_statistics(tables)?))
            .await
        {
            tracing::warn!(%error, "billing run: could not refresh the planner's statistics");
        }
    }

    async fn dun(
        &self,
        ctx: &Ctx,
        tenant: &Arc<Tenant>,
        provider: Option<&Arc<dyn PaymentProvider>>,
        day: NaiveDate,
        report: &mut RunReport,
    ) -> AppResult<()> {
        let tid = tenant.id.clone();
        let ids = self
            .blocking(move |db| {
                db.scoped(&tid, TxMode::Read, |s| {
                    Ok(invoices::memberships_in_dunning(s)?)
                })
            })
            .await?;
        let now = self.clock().now();
        for id in ids {
            let (t, c, mid) = (tenant.clone(), ctx.clone(), id.clone());
            let (retry, changed) = self
                .blocking(move |db| {
                    db.scoped(&t.id, TxMode::Write, |s| {
                        let before = memberships::find(s, &mid)?.map(|m| m.status);
                        let retry = dunning_in(s, &c, &t, &mid, day, true, now)?;
                        let after = memberships::find(s, &mid)?.map(|m| m.status);
                        Ok((retry, before != after))
                    })
                })
                .await?;
            report.dunning_changes += usize::from(changed);
            if let (Some(invoice), Some(provider)) = (retry, provider) {
                if charge_invoice(self, ctx, tenant, provider, &invoice.id)
                    .await?
                    .is_some()
                {
                    report.retries += 1;
                }
            }
        }
        Ok(())
    }

    async fn warn_expiring_cards(
        &self,
        ctx: &Ctx,
        tenant: &Arc<Tenant>,
        day: NaiveDate,
        report: &mut RunReport,
    ) -> AppResult<()> {
        // A card is valid through the end of its expiry month: warn once when that end is within the notice.
        let horizon =
            day + Duration::days(i64::from(tenant.config.billing.card_expiry_notice_days));
        let months: Vec<(i32, i32)> = {
            let mut m = Vec::new();
            let mut d = NaiveDate::from_ymd_opt(day.year(), day.month(), 1).unwrap_or(day);
            while d <= horizon {
                m.push((d.year(), i32::try_from(d.month()).unwrap_or(1)));
                d = tessera_domain::gym::dates::add_months(d, 1);
            }
            m
        };
        let now = self.clock().now();
        let (t, c) = (tenant.clone(), ctx.clone());
        report.cards_expiring = self
            .blocking(move |db| {
                db.scoped(&t.id, TxMode::Write, |s| {
                    let mut n = 0;
                    for (year, month) in months {
                        for mut p in payments::cards_expiring(s, year, month)? {
                            p.expiry_notified_on = Some(day);
                            payments::save_profile(s, &p)?;
                            let data = serde_json::json!({ "brand": p.card_brand, "last4": p.card_last4,
                                "exp_month": p.card_exp_month, "exp_year": p.card_exp_year });
                            crate::events::publish(s, &c, "billing.card_expiring", Some(&p.account_id), data, now)?;
                            n += 1;
                        }
                    }
                    Ok(n)
                })
            })
            .await?;
        Ok(())
    }
}
