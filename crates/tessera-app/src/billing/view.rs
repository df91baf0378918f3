//! What the API shows of invoices, credit notes, payments and refunds.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use tessera_domain::money::Money;
use tessera_invoicing::{compute_totals, InvoiceLine, LineKind};
use tessera_store::models::invoices::{self, InvoiceRow, LineRow};
use tessera_store::models::payments::{self, PaymentRow, RefundRow};
use tessera_store::Scoped;

use super::documents::Buyer;
use crate::{AppError, AppResult};

/// One line.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineView {
    /// What it bills.
    pub item: String,
    /// Description.
    pub description: String,
    /// Goods rather than services.
    pub goods: bool,
    /// Quantity.
    pub quantity: i64,
    /// Unit price excluding VAT.
    pub unit_price: Money,
    /// VAT code.
    pub vat_code: String,
    /// VAT rate, basis points.
    pub vat_rate_bps: i64,
    /// Exemption wording of a zero rate.
    pub exemption_note: Option<String>,
    /// quantity × unit price, excluding VAT.
    pub net: Money,
}

/// Totals of one VAT rate.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VatTotalView {
    /// Rate, basis points.
    pub rate_bps: i64,
    /// Sum of the lines' net amounts at this rate.
    pub taxable: Money,
    /// VAT at this rate.
    pub vat: Money,
}

/// A payment or an attempt.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    /// `pay_...`.
    pub id: String,
    /// The invoice.
    pub invoice_id: String,
    /// The payer.
    pub payer_id: String,
    /// `stripe` or `manual`.
    pub provider: String,
    /// `card`, `sepa_debit`, `cash`, `card_terminal`, `bank_transfer`.
    pub method: String,
    /// `pending`, `unknown`, `processing`, `requires_action`, `succeeded`, `failed`, `cancelled`.
    pub status: String,
    /// Amount.
    pub amount: Money,
    /// Refunded so far.
    pub refunded: Money,
    /// Attempt number on the invoice.
    pub attempt: i32,
    /// Why it failed.
    pub failure_code: Option<String>,
    /// The provider's reference.
    pub provider_ref: Option<String>,
    /// For an on-session payment: what the payer's browser or app confirms with (Stripe Elements).
    pub client_secret: Option<String>,
    /// Staff who recorded it.
    pub recorded_by: Option<String>,
    /// Staff's note.
    pub note: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Money received.
    pub settled_at: Option<NaiveDateTime>,
}

impl From<PaymentRow> for PaymentView {
    fn from(p: PaymentRow) -> Self {
        PaymentView {
            id: p.id,
            invoice_id: p.invoice_id,
            payer_id: p.account_id,
            provider: p.provider,
            method: p.method,
            status: p.status,
            amount: Money {
                amount: p.amount,
                currency: p.currency.clone(),
            },
            refunded: Money {
                amount: p.refunded_amount,
                currency: p.currency,
            },
            attempt: p.attempt,
            failure_code: p.failure_code,
            provider_ref: p.provider_ref,
            client_secret: p.client_secret,
            recorded_by: p.recorded_by,
            note: p.note,
            created_at: p.created_at,
            settled_at: p.settled_at,
        }
    }
}

/// A refund.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RefundView {
    /// `rfd_...`.
    pub id: String,
    /// The payment refunded.
    pub payment_id: String,
    /// Its invoice.
    pub invoice_id: String,
    /// The credit note issued with it.
    pub credit_note_id: Option<String>,
    /// Amount.
    pub amount: Money,
    /// `succeeded`, `pending`, `failed`.
    pub status: String,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub created_at: NaiveDateTime,
}

impl From<RefundRow> for RefundView {
    fn from(r: RefundRow) -> Self {
        RefundView {
            id: r.id,
            payment_id: r.payment_id,
            invoice_id: r.invoice_id,
            credit_note_id: r.credit_note_id,
            amount: Money {
                amount: r.amount,
                currency: r.currency,
            },
            status: r.status,
            reason: r.reason,
            created_at: r.created_at,
        }
    }
}

/// An invoice or a credit note.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceView {
    /// `inv_...`.
    pub id: String,
    /// `invoice` or `credit_note`.
    pub kind: String,
    /// `draft`, `open`, `paid`, `void`; credit notes `draft` or `issued`.
    pub status: String,
    /// The number, once finalised (`ATL-2026-000042`, credit notes `ATL-AV-2026-000003`).
    pub number: Option<String>,
    /// The client billed.
    pub member_id: String,
    /// Who pays.
    pub payer_id: String,
    /// The buyer as printed.
    pub buyer: Buyer,
    /// The membership billed.
    pub membership_id: Option<String>,
    /// The invoice a credit note corrects.
    pub corrects_invoice_id: Option<String>,
    /// `fr` or `en`.
    pub locale: String,
    /// ISO 4217.
    pub currency: String,
    /// Lines.
    pub lines: Vec<LineView>,
    /// Totals per VAT rate.
    pub vat_totals: Vec<VatTotalView>,
    /// Total excluding VAT.
    pub total_excl: Money,
    /// VAT.
    pub total_vat: Money,
    /// Total including VAT.
    pub total_incl: Money,
    /// Paid (less refunds).
    pub amount_paid: Money,
    /// Credited by credit notes.
    pub amount_credited: Money,
    /// Still owed (negative: owed to the client).
    pub outstanding: Money,
    /// Issue date.
    pub issued_on: Option<NaiveDate>,
    /// Due date.
    pub due_on: Option<NaiveDate>,
    /// First day billed.
    pub period_start: Option<NaiveDate>,
    /// First day after the period billed.
    pub period_end: Option<NaiveDate>,
    /// The PDF (Factur-X), once rendered: `GET /api/v1/invoices/{id}/pdf`.
    pub pdf_file_id: Option<String>,
    /// Payments and attempts.
    pub payments: Vec<PaymentView>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Finalised.
    pub finalised_at: Option<NaiveDateTime>,
}

fn money(amount: i64, currency: &str) -> Money {
    Money {
        amount,
        currency: currency.to_owned(),
    }
}

/// A stored line as the invoicing crate sees it (the rate stored on the line, never today's).
pub(crate) fn doc_line(l: &LineRow) -> InvoiceLine {
    InvoiceLine {
        description: l.description.clone(),
        kind: if l.goods {
            LineKind::Goods
        } else {
            LineKind::Service
        },
        quantity: l.quantity,
        unit_price_minor: l.unit_price,
        vat: tessera_invoicing::VatRate {
            code: l.vat_code.clone(),
            rate_bps: l.vat_rate_bps,
            exemption_note: l.exemption_note.clone(),
        },
    }
}

/// Totals per rate of stored lines, by the one rule of `tessera_invoicing::compute_totals`.
pub(crate) fn vat_totals(lines: &[LineRow], currency: &str) -> Vec<VatTotalView> {
    let doc_lines: Vec<InvoiceLine> = lines.iter().map(doc_line).collect();
    compute_totals(&doc_lines, currency)
        .map(|t| {
            t.per_rate
                .into_iter()
                .map(|b| VatTotalView {
                    rate_bps: b.rate_bps,
                    taxable: money(b.taxable_minor, currency),
                    vat: money(b.tax_minor, currency),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The view of a stored document, with its lines and payments.
pub(crate) fn load(s: &mut Scoped<'_>, row: InvoiceRow) -> AppResult<InvoiceView> {
    let lines = invoices::lines(s, &row.id)?;
    let payments = payments::of_invoice(s, &row.id)?;
    let buyer: Buyer = serde_json::from_str(&row.buyer_json)
        .map_err(|e| AppError::Internal(format!("stored buyer: {e}")))?;
    let c = row.currency.clone();
    Ok(InvoiceView {
        vat_totals: vat_totals(&lines, &c),
        lines: lines
            .into_iter()
            .map(|l| LineView {
                item: l.item,
                description: l.description,
                goods: l.goods,
                quantity: l.quantity,
                unit_price: money(l.unit_price, &c),
                vat_code: l.vat_code,
                vat_rate_bps: l.vat_rate_bps,
                exemption_note: l.exemption_note,
                net: money(l.net_amount, &c),
            })
            .collect(),
        payments: payments.into_iter().map(PaymentView::from).collect(),
        id: row.id,
        kind: row.kind,
        status: row.status,
        number: row.number,
        member_id: row.account_id,
        payer_id: row.payer_account_id,
        buyer,
        membership_id: row.membership_id,
        corrects_invoice_id: row.corrects_invoice_id,
        locale: row.locale,
        currency: c.clone(),
        total_excl: money(row.total_excl, &c),
        total_vat: money(row.total_vat, &c),
        total_incl: money(row.total_incl, &c),
        amount_paid: money(row.amount_paid, &c),
        amount_credited: money(row.amount_credited, &c),
        outstanding: money(row.total_incl - row.amount_paid - row.amount_credited, &c),
        issued_on: row.issued_on,
        due_on: row.due_on,
        period_start: row.period_start,
        period_end: row.period_end,
        pdf_file_id: row.pdf_file_id,
        created_at: row.created_at,
        finalised_at: row.finalised_at,
    })
}
