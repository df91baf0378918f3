//! Invoice and credit-note documents of Tessera, French-compliant and Factur-X: the totals with Tessera's one
//! rounding rule, the CII XML of the Factur-X EN 16931 profile, and an A4 PDF/A-3 that carries that XML.
//!
//! Pure functions, no database, no I/O: the billing service numbers and stores documents, this crate says what
//! they contain and how they look.
//!
//! # The rounding rule
//! Amounts are integers in the currency's minor units. A line's net is `quantity × unit price`, exact (checked
//! for overflow). Lines are grouped by VAT rate; per rate, the taxable amount is the sum of the nets and the tax
//! is `taxable × rate_bps / 10000` **rounded half up** to the minor unit, once per rate (never per line). Totals
//! are the sums. This satisfies EN 16931's BR-CO-10 to BR-CO-17, so the XML always adds up.
//!
//! # Use
//! Build the lines, compute the totals with [`compute_totals`], fill an [`InvoiceDocument`], then
//! [`render_pdf`] (which checks the document with [`InvoiceDocument::check`]) or [`cii_xml`].
//!
//! The crate's fonts and painter also serve Tessera's other printed documents: [`render_report_pdf`] lays out
//! a plain report of tables (the body-composition report of a measurement).
#![forbid(unsafe_code)]

mod check;
pub mod cii;
pub mod error;
pub mod model;
pub mod money;
pub mod pdf;
pub mod totals;
mod wording;

pub use cii::{cii_xml, FACTURX_FILENAME, GUIDELINE_ID};
pub use error::InvoiceError;
pub use model::{
    Address, Branding, Buyer, DocumentKind, DocumentLocale, InvoiceDocument, InvoiceLine, LineKind,
    Seller, VatRate,
};
pub use pdf::render_pdf;
pub use pdf::report::{render_report_pdf, ReportDocument, ReportTable};
pub use totals::{compute_totals, tax_half_up, Totals, VatBreakdown, VatCategory};
pub use wording::RECOVERY_INDEMNITY_EUR_CENTS;
