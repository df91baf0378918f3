//! The PDF of a finalised invoice or credit note: rendered by its own job after finalisation (never inside the
//! finalising transaction or the billing run), stored through the storage service, downloaded by whoever may
//! read the document. The PDF is a Factur-X EN 16931 PDF/A-3 carrying the CII XML (`tessera_invoicing`).

use tessera_domain::files::FilePurpose;
use tessera_invoicing::{
    compute_totals, render_pdf, Address, Branding, Buyer as DocBuyer, DocumentKind, DocumentLocale,
    InvoiceDocument, Seller,
};
use tessera_store::models::invoices::{self, InvoiceRow, LineRow};
use tessera_store::TxMode;

use super::documents::{Buyer, BuyerAddress};
use crate::jobs::JobError;
use crate::storage::Download;
use crate::tenants::Tenant;
use crate::{App, AppError, AppResult, Ctx};

fn address(a: &BuyerAddress) -> Address {
    Address {
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        postal_code: a.postal_code.clone(),
        city: a.city.clone(),
        country: a.country.clone(),
    }
}

/// The document of a stored invoice or credit note (`corrected`: the invoice a credit note corrects).
pub(crate) fn document_of(
    tenant: &Tenant,
    row: &InvoiceRow,
    lines: &[LineRow],
    corrected: Option<&InvoiceRow>,
) -> AppResult<InvoiceDocument> {
    let missing = |what: &str| AppError::Internal(format!("invoice {} has no {what}", row.id));
    let doc_lines: Vec<_> = lines.iter().map(super::view::doc_line).collect();
    let totals =
        compute_totals(&doc_lines, &row.currency).map_err(|e| AppError::Internal(e.to_string()))?;
    let buyer: Buyer = serde_json::from_str(&row.buyer_json)
        .map_err(|e| AppError::Internal(format!("buyer: {e}")))?;
    let legal = &tenant.config.legal;
    let kind = match corrected {
        Some(inv) => DocumentKind::CreditNote {
            corrects_number: inv
                .number
                .clone()
                .ok_or_else(|| missing("corrected number"))?,
            corrects_issued_on: inv.issued_on.ok_or_else(|| missing("corrected date"))?,
        },
        None => DocumentKind::Invoice,
    };
    Ok(InvoiceDocument {
        kind,
        number: row.number.clone().ok_or_else(|| missing("number"))?,
        issued_on: row.issued_on.ok_or_else(|| missing("issue date"))?,
        due_on: row.due_on.ok_or_else(|| missing("due date"))?,
        // Stored periods end on the first day after; documents show the last day covered.
        service_period: row
            .period_start
            .zip(row.period_end)
            .map(|(a, b)| (a, b.pred_opt().unwrap_or(b))),
        currency: row.currency.clone(),
        locale: if row.locale == "fr" {
            DocumentLocale::Fr
        } else {
            DocumentLocale::En
        },
        seller: Seller {
            name: legal.name.clone(),
            legal_form: legal.legal_form.clone(),
            share_capital: Some((
                legal.share_capital.amount,
                legal.share_capital.currency.clone(),
            )),
            siren: legal.siren.clone(),
            siret: legal.siret.clone(),
            vat_number: legal.vat_number.clone(),
            rcs_city: legal.rcs_city.clone(),
            address: Address {
                line1: legal.address.line1.clone(),
                line2: legal.address.line2.clone(),
                postal_code: legal.address.postal_code.clone(),
                city: legal.address.city.clone(),
                country: legal.address.country.clone(),
            },
            email: None,
        },
        buyer: DocBuyer {
            name: buyer.name,
            address: buyer.address.as_ref().map(address),
            siren: buyer.siren,
            vat_number: buyer.vat_number,
            email: buyer.email,
        },
        lines: doc_lines,
        totals,
        paid_minor: if corrected.is_some() {
            0
        } else {
            row.amount_paid
        },
        late_penalty_rate_bps: i64::from(tenant.config.billing.late_penalty_rate_bps),
        notes: Vec::new(),
        branding: Branding {
            brand_name: tenant.display_name.clone(),
            primary_color: tenant.config.branding.primary_color.clone(),
            accent_color: tenant.config.branding.accent_color.clone(),
            logo_png: None,
        },
    })
}

/// The job: renders and stores the PDF of a finalised document, once (a document with a PDF is left alone).
pub(crate) async fn render_job(
    app: &App,
    tenant_id: &str,
    payload: &serde_json::Value,
) -> Result<(), JobError> {
    let id = payload["invoice_id"]
        .as_str()
        .ok_or_else(|| JobError::Permanent("payload without invoice_id".into()))?
        .to_owned();
    let tenant = app
        .tenants()
        .by_id(tenant_id)
        .ok_or_else(|| JobError::Permanent("unknown tenant".into()))?;
    let (tid, iid) = (tenant.id.clone(), id.clone());
    let loaded = app
        .blocking(move |db| {
            db.scoped(&tid, TxMode::Read, |s| {
                let row = invoices::find(s, &iid)?.ok_or(AppError::NotFound("invoice"))?;
                let lines = invoices::lines(s, &iid)?;
                let corrected = match &row.corrects_invoice_id {
                    Some(c) => invoices::find(s, c)?,
                    None => None,
                };
                Ok((row, lines, corrected))
            })
        })
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    let (row, lines, corrected) = loaded;
    if row.pdf_file_id.is_some() {
        return Ok(());
    }
    let doc = document_of(&tenant, &row, &lines, corrected.as_ref())
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    let pdf = tokio::task::spawn_blocking(move || render_pdf(&doc))
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?
        .map_err(|e| JobError::Permanent(format!("render: {e}")))?;
    let number = row.number.clone().unwrap_or_else(|| row.id.clone());
    let file = app
        .store_generated(
            &tenant.id,
            FilePurpose::InvoicePdf,
            &row.account_id,
            &format!("{number}.pdf"),
            pdf,
        )
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    let now = app.clock().now();
    let (tid, ctx, app2, t) = (
        tenant.id.clone(),
        Ctx::cli(tenant.realm()),
        app.clone(),
        tenant.clone(),
    );
    app.blocking(move |db| {
        db.scoped(&tid, TxMode::Write, |s| {
            let Some(mut row) = invoices::find_locked(s, &id)? else {
                return Ok(());
            };
            if row.pdf_file_id.is_some() {
                return Ok(());
            }
            row.pdf_file_id = Some(file.id.clone());
            invoices::update(s, &row)?;
            // The document goes to the payer with its PDF, in the same transaction: sent once, when ready.
            super::mail::queue_document_email_in(s, &ctx, &app2, &t, &row, None, now)?;
            let data = serde_json::json!({ "invoice_id": row.id, "file_id": file.id });
            crate::events::publish(
                s,
                &ctx,
                "invoice.pdf_ready",
                Some(&row.account_id),
                data,
                now,
            )?;
            Ok(())
        })
    })
    .await
    .map_err(|e| JobError::Retry(e.to_string()))
}

impl App {
    /// The PDF of a document the caller may read (`GET /api/v1/invoices/{id}/pdf`); 409 `pdf_not_ready` while
    /// its job has not run yet.
    pub async fn invoice_pdf(&self, ctx: &Ctx, id: &str) -> AppResult<Download> {
        let tenant = crate::members::tenant_of(ctx)?;
        let (c, a, i, t) = (ctx.clone(), self.clone(), id.to_owned(), tenant.clone());
        let row = self
            .blocking(move |db| {
                db.scoped(&t, TxMode::Read, |s| {
                    super::documents::readable(&a, s, &c, &i)
                })
            })
            .await?;
        let file = row.pdf_file_id.ok_or(AppError::Conflict {
            code: "pdf_not_ready",
            detail: "the PDF of this document is being rendered; try again in a moment".into(),
        })?;
        self.open_file(&tenant, &file, "invoice_pdf").await
    }
}
