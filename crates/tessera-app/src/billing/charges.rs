//! Charging invoices through the brand's provider, crash-safe:
//!
//! 1. one transaction records the attempt (`pending`, a deterministic idempotency key per invoice and attempt)
//!    before anything is asked; at most one attempt per invoice can be in flight (a unique index);
//! 2. the provider is asked, outside any transaction;
//! 3. another transaction records the answer, unless a webhook already did (the answer is applied once: only a
//!    payment not yet settled changes).
//!
//! A crash between 1 and 3 leaves a `pending` attempt, and a timeout an `unknown` one: [`reconcile`] asks the
//! provider what became of it (by the Tessera payment id in the provider's metadata) and records that, never
//! charging again. Webhooks go through the same [`apply_outcome`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_store::models::accounts;
use tessera_store::models::invoices::{self, InvoiceRow};
use tessera_store::models::payments::{self, BillingProfileRow, PaymentRow, RefundRow};
use tessera_store::{Scoped, TxMode};

use super::faults;
use super::payments::{after_paid_in, apply_failure_in, pay_down_in};
use super::provider::{provider_for, ChargeRequest, Outcome, PaymentProvider};
use super::view::{PaymentView, RefundView};
use crate::auth::authorize;
use crate::tenants::Tenant;
use crate::{naive, App, AppError, AppResult, Ctx};

/// Statuses after which a payment no longer changes (but by refunds).
const SETTLED: [&str; 3] = ["succeeded", "failed", "cancelled"];

/// The idempotency key of an attempt: the same invoice and attempt always send the same key.
pub fn idempotency_key(tenant_id: &str, invoice_id: &str, attempt: i32) -> String {
    format!("tessera-{tenant_id}-{invoice_id}-{attempt}")
}

/// The provider customer of a client, created at the provider when missing.
pub(crate) async fn ensure_customer(
    app: &App,
    tenant: &Tenant,
    provider: &Arc<dyn PaymentProvider>,
    account_id: &str,
) -> AppResult<String> {
    let (tid, aid) = (tenant.id.clone(), account_id.to_owned());
    let (profile, account) = app
        .blocking(move |db| {
            db.scoped(&tid, TxMode::Read, |s| {
                let account = accounts::find(s, &aid)?.ok_or(AppError::NotFound("account"))?;
                Ok((payments::profile(s, &aid)?, account))
            })
        })
        .await?;
    if let Some(customer) = profile.as_ref().and_then(|p| p.customer_ref.clone()) {
        return Ok(customer);
    }
    let customer = provider
        .create_customer(account_id, &account.email, &account.display_name)
        .await?;
    let (tid, aid, c) = (tenant.id.clone(), account_id.to_owned(), customer.clone());
    let now = app.clock().now();
    let provider_name = provider.name();
    app.blocking(move |db| {
        db.scoped(&tid, TxMode::Write, |s| {
            let mut row = payments::profile(s, &aid)?.unwrap_or(BillingProfileRow {
                tenant_id: tid.clone(),
                account_id: aid.clone(),
                provider: provider_name.into(),
                customer_ref: None,
                payment_method_ref: None,
                method_kind: None,
                card_brand: None,
                card_last4: None,
                card_exp_month: None,
                card_exp_year: None,
                expiry_notified_on: None,
                company_json: None,
                updated_at: naive(now),
            });
            if row.customer_ref.is_none() {
                row.customer_ref = Some(c.clone());
                row.updated_at = naive(now);
                payments::save_profile(s, &row)?;
            }
            Ok(row.customer_ref.unwrap_or(c))
        })
    })
    .await
}

/// Records what the provider said about `payment_id`, once: a payment already settled is left alone.
pub(crate) fn apply_outcome_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    payment_id: &str,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> AppResult<Option<PaymentRow>> {
    let mut applied = apply_outcomes_in(
        s,
        ctx,
        app,
        tenant,
        &[(payment_id.to_owned(), outcome.clone())],
        now,
    )?;
    Ok(applied.pop())
}

/// Successes recorded in memory, written together: a batch of answers is mostly successes of distinct invoices,
/// each of which would otherwise cost an update of its payment and of its invoice.
#[derive(Default)]
struct PendingSuccesses {
    payments: Vec<PaymentRow>,
    /// Invoices paid down, by id (the rows live in the caller's map), and those paid in full by it.
    invoices: Vec<String>,
    paid: Vec<String>,
}

impl PendingSuccesses {
    /// Writes what is pending, then settles what the invoices paid in full billed (which reads them back).
    fn flush(
        &mut self,
        s: &mut Scoped<'_>,
        ctx: &Ctx,
        app: &App,
        tenant: &Tenant,
        invoices_by_id: &HashMap<String, InvoiceRow>,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let rows = |ids: &[String]| -> Vec<InvoiceRow> {
            let mut seen = HashSet::new();
            ids.iter()
                .filter(|id| seen.insert(id.as_str()))
                .filter_map(|id| invoices_by_id.get(id).cloned())
                .collect()
        };
        payments::update_many(s, &std::mem::take(&mut self.payments))?;
        invoices::update_many(s, &rows(&std::mem::take(&mut self.invoices)))?;
        let paid = rows(&std::mem::take(&mut self.paid));
        after_paid_in(s, ctx, app, tenant, &paid, now)
    }
}

/// [`apply_outcome_in`] for several answers at once (a billing run's batch), in a few statements for the usual
/// case of successes: the payments read, their invoices locked (lock order: the invoices, then their payments),
/// the payments read again, the successes written together. Other answers are applied one by one, after what
/// was pending is written. Returns the payments found, in the answers' order.
pub(crate) fn apply_outcomes_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    outcomes: &[(String, Outcome)],
    now: DateTime<Utc>,
) -> AppResult<Vec<PaymentRow>> {
    let ids: Vec<String> = outcomes.iter().map(|(id, _)| id.clone()).collect();
    let invoice_ids: Vec<String> = payments::find_many(s, &ids)?
        .into_iter()
        .map(|p| p.invoice_id)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut invoices_by_id: HashMap<String, InvoiceRow> =
        invoices::find_many_locked(s, &invoice_ids)?
            .into_iter()
            .map(|i| (i.id.clone(), i))
            .collect();
    let mut stored: HashMap<String, PaymentRow> = payments::find_many(s, &ids)?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let mut pending = PendingSuccesses::default();
    let mut out = Vec::with_capacity(outcomes.len());
    for (payment_id, outcome) in outcomes {
        let Some(mut payment) = stored.get(payment_id).cloned() else {
            continue;
        };
        if SETTLED.contains(&payment.status.as_str()) {
            out.push(payment);
            continue;
        }
        let invoice = invoices_by_id
            .get_mut(&payment.invoice_id)
            .ok_or(AppError::NotFound("invoice"))?;
        payment.updated_at = naive(now);
        let reference = match outcome {
            Outcome::Succeeded { reference }
            | Outcome::Processing { reference }
            | Outcome::RequiresAction { reference, .. }
            | Outcome::AwaitingPayer { reference, .. }
            | Outcome::Cancelled { reference } => Some(reference.clone()),
            Outcome::Declined { reference, .. } => reference.clone(),
            Outcome::Unknown { .. } | Outcome::NeverSent => None,
        };
        if reference.is_some() {
            payment.provider_ref = reference;
        }
        if let Outcome::Succeeded { .. } = outcome {
            payment.status = "succeeded".into();
            payment.settled_at = Some(naive(now));
            payment.client_secret = None;
            // An invoice paid meanwhile by other means keeps the money as a credit to refund; it never
            // breaks the paid-at-most-total rule.
            let owed = invoice.total_incl - invoice.amount_paid - invoice.amount_credited;
            if payment.amount <= owed {
                if pay_down_in(s, ctx, invoice, &payment, now)? {
                    pending.paid.push(invoice.id.clone());
                }
                pending.invoices.push(invoice.id.clone());
            } else {
                tracing::warn!(payment = %payment.id, "provider payment on an invoice already settled: refund it");
            }
            pending.payments.push(payment.clone());
        } else {
            // What follows reads and writes the stored rows: the successes before it are written first.
            pending.flush(s, ctx, app, tenant, &invoices_by_id, now)?;
            let invoice = invoices_by_id
                .get_mut(&payment.invoice_id)
                .ok_or(AppError::NotFound("invoice"))?;
            apply_other_outcome_in(s, ctx, app, tenant, invoice, &mut payment, outcome, now)?;
        }
        stored.insert(payment.id.clone(), payment.clone());
        out.push(payment);
    }
    pending.flush(s, ctx, app, tenant, &invoices_by_id, now)?;
    Ok(out)
}

/// Applies an answer other than a success to an unsettled payment and writes it.
#[allow(clippy::too_many_arguments)]
fn apply_other_outcome_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    invoice: &mut InvoiceRow,
    payment: &mut PaymentRow,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> AppResult<()> {
    match outcome {
        Outcome::Succeeded { .. } => {}
        Outcome::Processing { .. } => {
            payment.status = "processing".into();
            payments::update(s, payment)?;
            let data = serde_json::json!({ "payment_id": payment.id, "invoice_id": invoice.id,
                "provider": payment.provider, "method": payment.method,
                "amount": { "amount": payment.amount, "currency": payment.currency }, "attempt": payment.attempt });
            crate::events::publish(
                s,
                ctx,
                "payment.processing",
                Some(&payment.account_id),
                data,
                now,
            )?;
        }
        // Already asked the payer (the run's answer and the provider's webhook both say so): ask once.
        Outcome::RequiresAction { .. } if payment.status == "requires_action" => {
            payments::update(s, payment)?;
        }
        Outcome::RequiresAction { client_secret, .. } => {
            payment.status = "requires_action".into();
            payment.client_secret = client_secret.clone();
            payments::update(s, payment)?;
            let confirm_url = format!(
                "{}/pay/{}?tenant={}",
                app.settings().payments.portal_url.trim_end_matches('/'),
                payment.id,
                tenant.slug
            );
            let data = serde_json::json!({ "payment_id": payment.id, "invoice_id": invoice.id,
                "amount": { "amount": payment.amount, "currency": payment.currency }, "confirm_url": confirm_url });
            crate::events::publish(
                s,
                ctx,
                "payment.requires_action",
                Some(&payment.account_id),
                data,
                now,
            )?;
        }
        Outcome::AwaitingPayer { client_secret, .. } => {
            payment.status = "requires_action".into();
            payment.client_secret = client_secret.clone();
            payments::update(s, payment)?;
        }
        Outcome::Declined { code, message, .. } => {
            payment.status = "failed".into();
            payment.failure_code = Some(code.clone());
            payment.failure_message = Some(message.chars().take(300).collect());
            payment.client_secret = None;
            payments::update(s, payment)?;
            apply_failure_in(s, ctx, app, tenant, invoice, payment, now)?;
        }
        Outcome::Cancelled { .. } => {
            payment.status = "cancelled".into();
            payment.client_secret = None;
            payments::update(s, payment)?;
        }
        Outcome::NeverSent => {
            payment.status = "cancelled".into();
            payment.failure_code = Some("never_sent".into());
            payments::update(s, payment)?;
        }
        Outcome::Unknown { reason } => {
            payment.status = "unknown".into();
            payment.failure_message = Some(reason.chars().take(300).collect());
            payments::update(s, payment)?;
        }
    }
    Ok(())
}

/// What to charge for one invoice: the attempt row is written and committed before the provider is asked.
pub(crate) struct PreparedCharge {
    pub request: ChargeRequest,
}

/// Records a new attempt on an open invoice in the caller's transaction, if one may be made now: no attempt in
/// flight, a customer (and for off-session, a saved method).
pub(crate) fn prepare_in(
    s: &mut Scoped<'_>,
    tenant: &Tenant,
    provider: &dyn PaymentProvider,
    invoice_id: &str,
    off_session: bool,
    now: DateTime<Utc>,
) -> AppResult<Option<PreparedCharge>> {
    let mut prepared = prepare_many_in(
        s,
        tenant,
        provider,
        &[invoice_id.to_owned()],
        off_session,
        now,
    )?;
    Ok(prepared.pop())
}

/// [`prepare_in`] for several invoices at once, in a few statements whatever their number (a billing run's
/// batch): the invoices locked, their payments and payers' profiles read, the attempts recorded. Returns the
/// charges that may be made, in the invoices' order.
pub(crate) fn prepare_many_in(
    s: &mut Scoped<'_>,
    tenant: &Tenant,
    provider: &dyn PaymentProvider,
    invoice_ids: &[String],
    off_session: bool,
    now: DateTime<Utc>,
) -> AppResult<Vec<PreparedCharge>> {
    let invoices = invoices::find_many_locked(s, invoice_ids)?;
    let open: Vec<String> = invoices.iter().map(|i| i.id.clone()).collect();
    let in_flight: HashSet<String> = payments::of_invoices(s, &open)?
        .into_iter()
        .filter(|p| {
            ["pending", "unknown", "processing", "requires_action"].contains(&p.status.as_str())
        })
        .map(|p| p.invoice_id)
        .collect();
    let payers: Vec<String> = invoices
        .iter()
        .map(|i| i.payer_account_id.clone())
        .collect();
    let profiles: HashMap<String, BillingProfileRow> = payments::profiles(s, &payers)?
        .into_iter()
        .map(|p| (p.account_id.clone(), p))
        .collect();
    let mut by_id: HashMap<String, InvoiceRow> =
        invoices.into_iter().map(|i| (i.id.clone(), i)).collect();
    let (mut attempted, mut recorded, mut prepared) = (Vec::new(), Vec::new(), Vec::new());
    for invoice_id in invoice_ids {
        let Some(mut invoice) = by_id.remove(invoice_id) else {
            continue;
        };
        let owed = invoice.total_incl - invoice.amount_paid - invoice.amount_credited;
        if invoice.status != "open" || owed <= 0 || in_flight.contains(&invoice.id) {
            continue;
        }
        let profile = profiles.get(&invoice.payer_account_id);
        let customer = profile.and_then(|p| p.customer_ref.clone());
        let method = profile.and_then(|p| p.payment_method_ref.clone());
        let (Some(customer), true) = (customer, method.is_some() || !off_session) else {
            continue;
        };
        invoice.attempts += 1;
        invoice.updated_at = naive(now);
        let payment = PaymentRow {
            tenant_id: tenant.id.clone(),
            id: IdKind::Payment.new_id(),
            invoice_id: invoice.id.clone(),
            account_id: invoice.payer_account_id.clone(),
            provider: provider.name().into(),
            method: profile
                .and_then(|p| p.method_kind.clone())
                .filter(|_| off_session)
                .unwrap_or_else(|| "card".into()),
            status: "pending".into(),
            amount: owed,
            currency: invoice.currency.clone(),
            attempt: invoice.attempts,
            idempotency_key: idempotency_key(&tenant.id, &invoice.id, invoice.attempts),
            provider_ref: None,
            client_secret: None,
            failure_code: None,
            failure_message: None,
            refunded_amount: 0,
            recorded_by: None,
            note: None,
            created_at: naive(now),
            updated_at: naive(now),
            settled_at: None,
        };
        prepared.push(PreparedCharge {
            request: ChargeRequest {
                customer,
                payment_method: method.filter(|_| off_session),
                amount: owed,
                currency: invoice.currency.clone(),
                idempotency_key: payment.idempotency_key.clone(),
                payment_id: payment.id.clone(),
                invoice_id: invoice.id.clone(),
                tenant_slug: tenant.slug.clone(),
                off_session,
                save_for_later: invoice.membership_id.is_some(),
                description: format!(
                    "{} {}",
                    tenant.display_name,
                    invoice.number.clone().unwrap_or_default()
                ),
            },
        });
        recorded.push(payment);
        attempted.push(invoice);
    }
    invoices::update_many(s, &attempted)?;
    payments::insert_many(s, &recorded)?;
    Ok(prepared)
}

/// Charges one open invoice off-session with the payer's saved method (renewals, retries); returns the
/// payment, or None when no attempt could be made (nothing owed, an attempt in flight, no saved method).
pub(crate) async fn charge_invoice(
    app: &App,
    ctx: &Ctx,
    tenant: &Arc<Tenant>,
    provider: &Arc<dyn PaymentProvider>,
    invoice_id: &str,
) -> AppResult<Option<PaymentRow>> {
    let mut charged =
        charge_invoices(app, ctx, tenant, provider, vec![invoice_id.to_owned()], 1).await?;
    Ok(charged.pop())
}

/// Charges several invoices off-session with their payers' saved methods, in three transactions whatever their
/// number: every attempt is recorded in one transaction before any request is sent, the provider is asked
/// `concurrency` at a time, and the answers are recorded in one transaction. The billing run charges a hundred at
/// a time: on SQLite, where writing transactions take turns, the per-transaction cost was most of a charge's. A
/// crash at any point leaves attempts still `pending`, which the next run's reconciliation settles by asking the
/// provider, never by charging again. Returns the recorded payments.
pub(crate) async fn charge_invoices(
    app: &App,
    ctx: &Ctx,
    tenant: &Arc<Tenant>,
    provider: &Arc<dyn PaymentProvider>,
    invoice_ids: Vec<String>,
    concurrency: usize,
) -> AppResult<Vec<PaymentRow>> {
    let now = app.clock().now();
    let (t, p) = (tenant.clone(), provider.clone());
    let prepared: Vec<PreparedCharge> = app
        .blocking(move |db| {
            db.scoped(&t.id, TxMode::Write, |s| {
                prepare_many_in(s, &t, p.as_ref(), &invoice_ids, true, now)
            })
        })
        .await?;
    if prepared.is_empty() {
        return Ok(Vec::new());
    }
    faults::point("after_attempt_recorded");
    let outcomes: Vec<(String, Outcome)> = stream::iter(prepared)
        .map(|prepared| async move {
            let outcome = provider.charge(&prepared.request).await;
            faults::point("after_payment_request");
            (prepared.request.payment_id, outcome)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let now = app.clock().now();
    let (t, c, a) = (tenant.clone(), ctx.clone(), app.clone());
    let recorded = app
        .blocking(move |db| {
            db.scoped(&t.id, TxMode::Write, |s| {
                crate::events::deferring(s, now, |s| {
                    apply_outcomes_in(s, &c, &a, &t, &outcomes, now)
                })
            })
        })
        .await?;
    faults::point("after_payment_recorded");
    Ok(recorded)
}

/// Records an outcome in its own transaction.
pub(crate) async fn record(
    app: &App,
    ctx: &Ctx,
    tenant: &Arc<Tenant>,
    payment_id: &str,
    outcome: Outcome,
) -> AppResult<Option<PaymentRow>> {
    let now = app.clock().now();
    let (t, c, a, id) = (
        tenant.clone(),
        ctx.clone(),
        app.clone(),
        payment_id.to_owned(),
    );
    app.blocking(move |db| {
        db.scoped(&t.id, TxMode::Write, |s| {
            apply_outcome_in(s, &c, &a, &t, &id, &outcome, now)
        })
    })
    .await
}

/// Asks the provider what became of attempts whose outcome is not known (a crash before the answer was
/// recorded, a timeout) and records it; an attempt the provider never received is cancelled, so that a new one
/// may be made. Returns how many were settled.
pub(crate) async fn reconcile(
    app: &App,
    ctx: &Ctx,
    tenant: &Arc<Tenant>,
    provider: &Arc<dyn PaymentProvider>,
) -> AppResult<usize> {
    let tid = tenant.id.clone();
    let open = app
        .blocking(move |db| {
            db.scoped(&tid, TxMode::Read, |s| {
                let rows = payments::unsettled(s, 10_000)?;
                let mut out = Vec::new();
                for p in rows {
                    let customer =
                        payments::profile(s, &p.account_id)?.and_then(|b| b.customer_ref);
                    out.push((p, customer));
                }
                Ok(out)
            })
        })
        .await?;
    let mut settled = 0;
    for (payment, customer) in open {
        let outcome = match (&payment.provider_ref, customer) {
            (Some(reference), _) => Some(provider.payment_state(reference).await?.outcome),
            (None, Some(customer)) => provider.find_payment(&customer, &payment.id).await?,
            (None, None) => None,
        };
        // Not found at the provider: the request never reached it, nothing was charged.
        let outcome = outcome.unwrap_or(Outcome::NeverSent);
        record(app, ctx, tenant, &payment.id, outcome).await?;
        settled += 1;
    }
    Ok(settled)
}

impl App {
    /// Starts paying an open invoice on-session (`POST /api/v1/invoices/{id}/pay`): the payer, a guardian or
    /// staff get a PaymentIntent's `client_secret` to confirm with Stripe Elements. The invoice is paid when the
    /// provider says so (webhook), and what it bills (a membership, a pack) starts then.
    pub async fn pay_invoice_online(&self, ctx: &Ctx, invoice_id: &str) -> AppResult<PaymentView> {
        let tenant = self.tenant_for(ctx)?;
        let (t, c, a, id) = (
            tenant.clone(),
            ctx.clone(),
            self.clone(),
            invoice_id.to_owned(),
        );
        let invoice: InvoiceRow = self
            .blocking(move |db| {
                db.scoped(&t.id, TxMode::Read, |s| {
                    super::documents::readable(&a, s, &c, &id)
                })
            })
            .await?;
        if invoice.status != "open" || invoice.kind != "invoice" {
            return Err(AppError::Conflict {
                code: "invoice_not_payable",
                detail: "only an open invoice can be paid".into(),
            });
        }
        let provider = provider_for(self, &tenant)?.ok_or(AppError::Conflict {
            code: "no_online_payment",
            detail: "this brand takes payments at the desk only".into(),
        })?;
        let _ = ensure_customer(self, &tenant, &provider, &invoice.payer_account_id).await?;
        let now = self.clock().now();
        let (t, p, id) = (tenant.clone(), provider.clone(), invoice_id.to_owned());
        let prepared = self
            .blocking(move |db| {
                db.scoped(&t.id, TxMode::Write, |s| {
                    prepare_in(s, &t, p.as_ref(), &id, false, now)
                })
            })
            .await?
            .ok_or(AppError::Conflict {
                code: "payment_in_progress",
                detail: "a payment of this invoice is already in progress".into(),
            })?;
        let outcome = provider.charge(&prepared.request).await;
        let payment = record(self, ctx, &tenant, &prepared.request.payment_id, outcome)
            .await?
            .ok_or(AppError::NotFound("payment"))?;
        Ok(payment.into())
    }

    /// Starts saving a card or a SEPA mandate for later payments (`POST /api/v1/me/payment-methods`): the
    /// SetupIntent's `client_secret`, for Stripe Elements. The method is saved when the provider confirms it.
    pub async fn start_saving_payment_method(&self, ctx: &Ctx) -> AppResult<serde_json::Value> {
        let tenant = self.tenant_for(ctx)?;
        let provider = provider_for(self, &tenant)?.ok_or(AppError::Conflict {
            code: "no_online_payment",
            detail: "this brand takes payments at the desk only".into(),
        })?;
        let (t, c, a) = (tenant.clone(), ctx.clone(), self.clone());
        let principal = self
            .blocking(move |db| {
                db.scoped(&t.id, TxMode::Read, |s| {
                    authorize(a.principals(), s, &c, Permission::ProfileReadOwn)
                })
            })
            .await?;
        let customer = ensure_customer(self, &tenant, &provider, &principal.id).await?;
        let (id, client_secret) = provider.setup_intent(&customer, &principal.id).await?;
        Ok(
            serde_json::json!({ "setup_intent_id": id, "client_secret": client_secret, "customer": customer }),
        )
    }

    /// Settles attempts whose outcome is unknown (`tessera billing reconcile`, and each billing run first).
    pub async fn reconcile_payments(&self, tenant_slug: &str) -> AppResult<usize> {
        let tenant = self
            .tenants()
            .by_slug(tenant_slug)
            .ok_or(AppError::NotFound("tenant"))?;
        let Some(provider) = provider_for(self, &tenant)? else {
            return Ok(0);
        };
        let ctx = Ctx::cli(tenant.realm());
        reconcile(self, &ctx, &tenant, &provider).await
    }
}

/// Asks the provider to refund a reserved refund; on refusal the reservation is undone (the payment and the
/// invoice get their amounts back) and the error is returned.
pub(crate) async fn refund_with_provider(
    app: &App,
    tenant: &Arc<Tenant>,
    refund: RefundRow,
    reference: &str,
) -> AppResult<RefundView> {
    let provider = provider_for(app, tenant)?.ok_or_else(|| {
        AppError::Internal("a provider payment on a brand without provider".into())
    })?;
    let result = provider
        .refund(
            reference,
            refund.amount,
            &format!("tessera-refund-{}", refund.id),
        )
        .await;
    let now = app.clock().now();
    let (t, r) = (tenant.clone(), refund.clone());
    let ok = result.as_ref().ok().cloned();
    app.blocking(move |db| {
        db.scoped(&t.id, TxMode::Write, |s| {
            match ok {
                Some(provider_ref) => {
                    payments::settle_refund(s, &r.id, "succeeded", Some(&provider_ref))?
                }
                None => {
                    let mut invoice = invoices::find_locked(s, &r.invoice_id)?
                        .ok_or(AppError::NotFound("invoice"))?;
                    let mut payment =
                        payments::find(s, &r.payment_id)?.ok_or(AppError::NotFound("payment"))?;
                    payment.refunded_amount -= r.amount;
                    payment.updated_at = naive(now);
                    payments::update(s, &payment)?;
                    invoice.amount_paid += r.amount;
                    invoice.status = super::documents::settled_status(&invoice).to_owned();
                    invoices::update(s, &invoice)?;
                    payments::settle_refund(s, &r.id, "failed", None)?;
                }
            }
            Ok(())
        })
    })
    .await?;
    result?;
    let mut view = RefundView::from(refund);
    view.status = "succeeded".into();
    Ok(view)
}
