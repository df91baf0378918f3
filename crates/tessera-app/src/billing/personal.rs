//! The `invoices` section of personal data: a client's invoices, credit notes, payments and saved payment
//! method in an export. An erasure keeps the documents and payments (French law: ten years, with the buyer's
//! name and address as printed) and deletes the saved payment method's details.

use tessera_store::models::invoices::{self, InvoiceFilter};
use tessera_store::models::payments;
use tessera_store::Scoped;

use crate::personal_data::{Erased, Subject};
use crate::AppResult;

/// The subject's documents (billed to them or paid by them) and saved method.
pub(crate) fn export(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    let id = &subject.account.id;
    let mut docs = Vec::new();
    for filter in [
        InvoiceFilter {
            account_id: Some(id.clone()),
            ..Default::default()
        },
        InvoiceFilter {
            payer_account_id: Some(id.clone()),
            ..Default::default()
        },
    ] {
        for row in invoices::list(s, &filter, None, 10_000)? {
            if !docs.iter().any(|d: &super::InvoiceView| d.id == row.id) {
                docs.push(super::view::load(s, row)?);
            }
        }
    }
    let method = payments::profile(s, id)?.map(|p| {
        serde_json::json!({ "provider": p.provider, "kind": p.method_kind, "brand": p.card_brand,
            "last4": p.card_last4, "exp_month": p.card_exp_month, "exp_year": p.card_exp_year })
    });
    Ok(serde_json::json!({ "documents": docs, "saved_payment_method": method }))
}

/// Keeps the documents, forgets the saved method's details.
pub(crate) fn erase(
    s: &mut Scoped<'_>,
    subject: &Subject<'_>,
    _now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Erased> {
    if let Some(mut profile) = payments::profile(s, &subject.account.id)? {
        profile.card_brand = None;
        profile.card_last4 = None;
        profile.card_exp_month = None;
        profile.card_exp_year = None;
        profile.company_json = None;
        payments::save_profile(s, &profile)?;
    }
    Ok(Erased::kept("invoices, credit notes and payments: kept for the legal retention period (10 years, French commercial code art. L123-22), with the buyer's name and address as printed; no e-mail is stored on them; the saved card's details are deleted"))
}
