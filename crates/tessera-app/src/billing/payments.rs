//! Payments: recorded at the desk (cash, card terminal, bank transfer), or made through the provider (see
//! `provider`); what a succeeded or failed payment does to its invoice and membership; refunds.
//!
//! A success pays the invoice down and, when nothing of the membership is left unpaid, activates a pending
//! membership or reinstates a `past_due` or `suspended` one at once. A failure opens dunning (day 0) and applies
//! the brand's threshold rule straight away.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::invoices::{self, InvoiceRow};
use tessera_store::models::payments::{self, PaymentRow, RefundRow};
use tessera_store::{Scoped, TxMode};

use super::documents::settled_status;
use super::view::{self, InvoiceView, PaymentView, RefundView};
use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::members::tenant_of;
use crate::tenants::Tenant;
use crate::{naive, App, AppError, AppResult, Ctx};

/// A payment taken at the desk.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualPayment {
    /// Minor units, more than zero, at most what is still owed.
    pub amount: i64,
    /// ISO 4217: must be the invoice's.
    pub currency: String,
    /// `cash`, `card_terminal` or `bank_transfer`.
    pub method: String,
    /// Receipt or transfer reference.
    pub note: Option<String>,
}

/// A refund asked by staff.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// Minor units; the whole refundable amount when absent.
    pub amount: Option<i64>,
    /// Why.
    pub reason: String,
}

const MANUAL_METHODS: [&str; 3] = ["cash", "card_terminal", "bank_transfer"];

/// Records a succeeded payment's consequences in the caller's transaction: the invoice paid down (and written),
/// its events, and once it is paid in full what it billed: the membership settled, the appointment confirmed.
pub(crate) fn apply_success_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    invoice: &mut InvoiceRow,
    payment: &PaymentRow,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let paid_now = pay_down_in(s, ctx, invoice, payment, now)?;
    invoices::update(s, invoice)?;
    if paid_now {
        after_paid_in(s, ctx, app, tenant, std::slice::from_ref(invoice), now)?;
    }
    Ok(())
}

/// The part of [`apply_success_in`] before any write: pays `invoice` down in memory and publishes the payment's
/// events (the caller writes the invoice). True when this payment paid it in full.
pub(crate) fn pay_down_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    invoice: &mut InvoiceRow,
    payment: &PaymentRow,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    invoice.amount_paid += payment.amount;
    let was_paid = invoice.status == "paid";
    invoice.status = settled_status(invoice).to_owned();
    invoice.updated_at = naive(now);
    let paid_now = invoice.status == "paid" && !was_paid;
    if paid_now {
        invoice.paid_at = Some(naive(now));
        invoice.dunning_started_on = None;
    }
    let data = serde_json::json!({
        "payment_id": payment.id, "invoice_id": invoice.id, "provider": payment.provider,
        "method": payment.method, "amount": { "amount": payment.amount, "currency": payment.currency },
        "attempt": payment.attempt,
    });
    crate::events::publish(
        s,
        ctx,
        "payment.succeeded",
        Some(&payment.account_id),
        data,
        now,
    )?;
    if paid_now {
        let data = serde_json::json!({ "invoice_id": invoice.id, "number": invoice.number,
            "total": { "amount": invoice.total_incl, "currency": invoice.currency } });
        crate::events::publish(s, ctx, "invoice.paid", Some(&invoice.account_id), data, now)?;
    }
    Ok(paid_now)
}

/// The part of [`apply_success_in`] after the invoices paid in full were written: their memberships settled
/// (together), their appointments confirmed.
pub(crate) fn after_paid_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    paid: &[InvoiceRow],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let memberships: Vec<String> = paid
        .iter()
        .filter_map(|i| i.membership_id.clone())
        .collect();
    super::memberships::settle_many_in(s, ctx, app, tenant, &memberships, now)?;
    // Only appointment invoices carry this key: other paid invoices skip the lookup.
    for invoice in paid.iter().filter(|i| {
        i.billing_key
            .as_deref()
            .is_some_and(|k| k.starts_with("appointment:"))
    }) {
        super::purchases::confirm_paid_in(s, ctx, tenant, &invoice.id, now)?;
    }
    Ok(())
}

/// Records a failed attempt's consequences: dunning opens on the first failure, the threshold rule applies.
pub(crate) fn apply_failure_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    invoice: &mut InvoiceRow,
    payment: &PaymentRow,
    now: DateTime<Utc>,
) -> AppResult<()> {
    // Dunning counts from the day the attempt was made (in the brand's zone), whoever records its answer and
    // whenever: a late webhook does not move the schedule.
    let tz: chrono_tz::Tz = tenant.config.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let attempted_on = payment.created_at.and_utc().with_timezone(&tz).date_naive();
    let today = app.today_in(tenant).max(attempted_on);
    if invoice.dunning_started_on.is_none() {
        invoice.dunning_started_on = Some(attempted_on);
    }
    invoice.updated_at = naive(now);
    invoices::update(s, invoice)?;
    let data = serde_json::json!({
        "payment_id": payment.id, "invoice_id": invoice.id, "provider": payment.provider,
        "method": payment.method, "amount": { "amount": payment.amount, "currency": payment.currency },
        "attempt": payment.attempt, "failure_code": payment.failure_code,
    });
    crate::events::publish(
        s,
        ctx,
        "payment.failed",
        Some(&payment.account_id),
        data,
        now,
    )?;
    if let Some(membership_id) = invoice.membership_id.clone() {
        super::memberships::dunning_in(s, ctx, tenant, &membership_id, today, false, now)?;
    }
    Ok(())
}

impl App {
    /// Records a payment taken at the desk (`payments.record`).
    pub async fn record_payment(
        &self,
        ctx: &Ctx,
        invoice_id: &str,
        input: ManualPayment,
    ) -> AppResult<InvoiceView> {
        let tenant = self.tenant_for(ctx)?;
        let mut errors = FieldErrors::default();
        if input.amount <= 0 {
            errors.push(FieldError::new(
                "amount",
                "invalid_amount",
                "more than zero",
            ));
        }
        if !MANUAL_METHODS.contains(&input.method.as_str()) {
            errors.push(FieldError::new(
                "method",
                "invalid",
                "cash, card_terminal or bank_transfer",
            ));
        }
        let currency = errors.check(
            "currency",
            tessera_domain::money::parse_currency(&input.currency),
        );
        errors.into_result()?;
        let now = self.clock().now();
        let (ctx, app, invoice_id) = (ctx.clone(), self.clone(), invoice_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::PaymentsRecord)?;
                let mut invoice = invoices::find_locked(s, &invoice_id)?
                    .filter(|i| i.kind == "invoice")
                    .ok_or(AppError::NotFound("invoice"))?;
                if invoice.status == "draft" {
                    return Err(AppError::Conflict {
                        code: "invoice_not_finalised",
                        detail: "finalise the invoice before taking its payment".into(),
                    });
                }
                if currency.as_deref() != Some(invoice.currency.as_str()) {
                    return Err(FieldErrors::from(FieldError::new(
                        "currency",
                        "currency_mismatch",
                        format!("this invoice is in {}", invoice.currency),
                    ))
                    .into());
                }
                let owed = invoice.total_incl - invoice.amount_paid - invoice.amount_credited;
                if input.amount > owed {
                    return Err(AppError::Conflict {
                        code: "amount_exceeds_outstanding",
                        detail: format!("{owed} is still owed on this invoice"),
                    });
                }
                let payment = PaymentRow {
                    tenant_id: tenant.id.clone(),
                    id: IdKind::Payment.new_id(),
                    invoice_id: invoice.id.clone(),
                    account_id: invoice.payer_account_id.clone(),
                    provider: "manual".into(),
                    method: input.method.clone(),
                    status: "succeeded".into(),
                    amount: input.amount,
                    currency: invoice.currency.clone(),
                    attempt: 0,
                    idempotency_key: format!("manual:{}", IdKind::Request.new_id()),
                    provider_ref: None,
                    client_secret: None,
                    failure_code: None,
                    failure_message: None,
                    refunded_amount: 0,
                    recorded_by: Some(principal.id.clone()),
                    note: input.note.clone().map(|n| n.chars().take(300).collect()),
                    created_at: naive(now),
                    updated_at: naive(now),
                    settled_at: Some(naive(now)),
                };
                payments::insert(s, &payment)?;
                let event = Event::on("payment.recorded", "payment", &payment.id).with(serde_json::json!({
                    "invoice_id": invoice.id, "amount": payment.amount, "method": payment.method }));
                audit::record(s, &ctx, event, now)?;
                apply_success_in(s, &ctx, &app, &tenant, &mut invoice, &payment, now)?;
                view::load(s, invoice)
            })
        })
        .await
    }

    /// Refunds a payment, in part or in full (`invoices.credit`). Desk payments are refunded at the desk (recorded
    /// here); provider payments through the provider.
    pub async fn refund_payment(
        &self,
        ctx: &Ctx,
        payment_id: &str,
        input: RefundInput,
    ) -> AppResult<RefundView> {
        let tenant = self.tenant_for(ctx)?;
        if input.amount.is_some_and(|a| a <= 0) {
            return Err(FieldErrors::from(FieldError::new(
                "amount",
                "invalid_amount",
                "more than zero",
            ))
            .into());
        }
        let reason = input.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(FieldErrors::from(FieldError::new(
                "reason",
                "required",
                "say why, up to 500 characters",
            ))
            .into());
        }
        let now = self.clock().now();
        // Check and reserve in one transaction; a provider refund is then asked outside it.
        let (ctx2, app, id) = (ctx.clone(), self.clone(), payment_id.to_owned());
        let tenant2 = tenant.clone();
        let (refund, provider_ref) = self
            .blocking(move |db| {
                db.scoped(&tenant2.id, TxMode::Write, |s| {
                    let principal = authorize(app.principals(), s, &ctx2, Permission::InvoicesCredit)?;
                    let mut payment = payments::find(s, &id)?.ok_or(AppError::NotFound("payment"))?;
                    let mut invoice = invoices::find_locked(s, &payment.invoice_id)?
                        .ok_or(AppError::NotFound("invoice"))?;
                    payment = payments::find(s, &id)?.ok_or(AppError::NotFound("payment"))?;
                    if payment.status != "succeeded" {
                        return Err(AppError::Conflict {
                            code: "payment_not_refundable",
                            detail: "only a succeeded payment can be refunded".into(),
                        });
                    }
                    let refundable = payment.amount - payment.refunded_amount;
                    let amount = input.amount.unwrap_or(refundable);
                    if amount > refundable {
                        return Err(AppError::Conflict {
                            code: "refund_exceeds_payment",
                            detail: format!("at most {refundable} can still be refunded on this payment"),
                        });
                    }
                    payment.refunded_amount += amount;
                    payment.updated_at = naive(now);
                    payments::update(s, &payment)?;
                    invoice.amount_paid -= amount;
                    invoice.status = settled_status(&invoice).to_owned();
                    invoice.updated_at = naive(now);
                    invoices::update(s, &invoice)?;
                    let refund = RefundRow {
                        tenant_id: tenant2.id.clone(),
                        id: IdKind::Refund.new_id(),
                        payment_id: payment.id.clone(),
                        invoice_id: invoice.id.clone(),
                        credit_note_id: None,
                        amount,
                        currency: payment.currency.clone(),
                        status: if payment.provider == "manual" { "succeeded" } else { "pending" }.into(),
                        provider_ref: None,
                        reason: Some(reason.clone()),
                        created_by: Some(principal.id.clone()),
                        created_at: naive(now),
                    };
                    payments::insert_refund(s, &refund)?;
                    let event = Event::on("payment.refunded", "payment", &payment.id)
                        .with(serde_json::json!({ "refund_id": refund.id, "amount": amount, "reason": reason }));
                    audit::record(s, &ctx2, event, now)?;
                    let data = serde_json::json!({ "payment_id": payment.id, "refund_id": refund.id,
                        "amount": { "amount": amount, "currency": payment.currency } });
                    crate::events::publish(s, &ctx2, "payment.refunded", Some(&payment.account_id), data, now)?;
                    let provider_ref = (payment.provider != "manual").then(|| payment.provider_ref.clone()).flatten();
                    Ok((refund, provider_ref))
                })
            })
            .await?;
        match provider_ref {
            None => Ok(refund.into()),
            Some(reference) => {
                super::charges::refund_with_provider(self, &tenant, refund, &reference).await
            }
        }
    }

    /// A page of payments, newest first (`invoices.read`).
    pub async fn list_payments(
        &self,
        ctx: &Ctx,
        member_id: Option<String>,
        before: Option<String>,
        limit: i64,
    ) -> AppResult<Vec<PaymentView>> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::InvoicesRead)?;
                Ok(
                    payments::list(s, member_id.as_deref(), before.as_deref(), limit)?
                        .into_iter()
                        .map(PaymentView::from)
                        .collect(),
                )
            })
        })
        .await
    }

    /// A page of refunds, newest first (`invoices.read`).
    pub async fn list_refunds(
        &self,
        ctx: &Ctx,
        before: Option<String>,
        limit: i64,
    ) -> AppResult<Vec<RefundView>> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::InvoicesRead)?;
                Ok(payments::refunds(s, before.as_deref(), limit)?
                    .into_iter()
                    .map(RefundView::from)
                    .collect())
            })
        })
        .await
    }
}
