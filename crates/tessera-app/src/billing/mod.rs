//! Billing: invoices and credit notes (`/api/v1/invoices`, `/api/v1/credit-notes`) with gap-free numbering,
//! payments through the tenant's provider or recorded at the desk, refunds, the daily billing run, dunning, and
//! the money figures of dashboards. The rules (periods, numbers, the dunning schedule) are pure, in
//! `tessera_domain::billing`; totals and documents in `tessera_invoicing`.
//!
//! Every change of an invoice goes through this module in the caller's transaction, with its audit entry and
//! event. A finalised document is never edited nor deleted (the database refuses it too).

pub mod charges;
pub mod documents;
pub mod faults;
pub mod mail;
pub mod memberships;
pub mod money;
pub mod payments;
pub mod pdf;
pub(crate) mod personal;
pub mod provider;
pub(crate) mod purchases;
pub mod run;
mod view;
pub mod webhook;

pub use documents::{CompanyBuyer, CreditNoteInput, InvoiceInput, LineInput};
pub use mail::SendInvoice;
pub use payments::{ManualPayment, RefundInput};
pub use view::{InvoiceView, LineView, PaymentView, RefundView, VatTotalView};

use tessera_domain::tenant::VatRate;

use crate::tenants::Tenant;
use crate::{AppError, AppResult};

/// The brand's VAT rate with `code`.
pub(crate) fn vat_rate<'t>(tenant: &'t Tenant, code: &str) -> AppResult<&'t VatRate> {
    tenant
        .config
        .vat_rates
        .iter()
        .find(|r| r.code == code)
        .ok_or_else(|| AppError::Internal(format!("VAT code {code:?} is not configured")))
}
