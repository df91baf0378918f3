//! Why a document cannot be totalled or rendered. Each variant has a stable [`InvoiceError::code`] the billing
//! service maps to its problem+json codes.

use thiserror::Error;

/// A document that breaks a rule, or a PDF that could not be written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvoiceError {
    /// A document needs at least one line (EN 16931 BR-16).
    #[error("a document needs at least one line")]
    NoLines,
    /// Not an ISO 4217 code with a minor unit.
    #[error("{0:?} is not an ISO 4217 currency with a minor unit")]
    UnknownCurrency(String),
    /// Quantities are whole and never negative (a credit note uses positive quantities).
    #[error("line {line}: the quantity cannot be negative")]
    NegativeQuantity {
        /// 1-based line number.
        line: usize,
    },
    /// Unit prices are never negative.
    #[error("line {line}: the unit price cannot be negative")]
    NegativeUnitPrice {
        /// 1-based line number.
        line: usize,
    },
    /// A VAT rate outside 0..=100 %.
    #[error("line {line}: VAT rate {rate_bps} basis points is outside 0 to 10000")]
    InvalidVatRate {
        /// 1-based line number.
        line: usize,
        /// The refused rate.
        rate_bps: i64,
    },
    /// A 0 % line must say why it is exempt (French mention, EN 16931 BR-E-10).
    #[error("line {line}: a 0 % VAT rate needs an exemption note")]
    MissingExemptionNote {
        /// 1-based line number.
        line: usize,
    },
    /// Two exempt lines give different legal grounds; one document has one exemption reason (BR-E-01).
    #[error("exempt lines give different exemption notes")]
    ConflictingExemptionNotes,
    /// An amount does not fit in 64 bits.
    #[error("an amount overflows")]
    Overflow,
    /// The document's totals are not those of its lines.
    #[error("the document's totals are not those computed from its lines")]
    TotalsMismatch,
    /// The amount already paid is negative or above the total including VAT.
    #[error("the amount paid must be between 0 and the total including VAT")]
    InvalidPaidAmount,
    /// The service period ends before it starts.
    #[error("the service period ends before it starts")]
    InvalidServicePeriod,
    /// The late-payment penalty rate is negative.
    #[error("the late-payment penalty rate cannot be negative")]
    InvalidPenaltyRate,
    /// A country is not an ISO 3166-1 alpha-2 code (two capital letters).
    #[error("{0:?} is not an ISO 3166-1 alpha-2 country code")]
    InvalidCountry(String),
    /// The document has no number.
    #[error("the document has no number")]
    MissingNumber,
    /// A branding colour is not `#RRGGBB`.
    #[error("{0:?} is not a #RRGGBB colour")]
    InvalidColor(String),
    /// The logo is not a readable PNG.
    #[error("the logo is not a readable PNG: {0}")]
    InvalidLogo(String),
    /// The PDF writer failed (a bug, not bad input).
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

impl InvoiceError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            InvoiceError::NoLines => "no_lines",
            InvoiceError::UnknownCurrency(_) => "unknown_currency",
            InvoiceError::NegativeQuantity { .. } => "negative_quantity",
            InvoiceError::NegativeUnitPrice { .. } => "negative_amount",
            InvoiceError::InvalidVatRate { .. } => "invalid_vat_rate",
            InvoiceError::MissingExemptionNote { .. } => "missing_exemption_note",
            InvoiceError::ConflictingExemptionNotes => "conflicting_exemption_notes",
            InvoiceError::Overflow => "amount_overflow",
            InvoiceError::TotalsMismatch => "totals_mismatch",
            InvoiceError::InvalidPaidAmount => "invalid_paid_amount",
            InvoiceError::InvalidServicePeriod => "invalid_service_period",
            InvoiceError::InvalidPenaltyRate => "invalid_penalty_rate",
            InvoiceError::InvalidCountry(_) => "invalid_country",
            InvoiceError::MissingNumber => "missing_number",
            InvoiceError::InvalidColor(_) => "invalid_color",
            InvoiceError::InvalidLogo(_) => "invalid_logo",
            InvoiceError::Pdf(_) => "pdf_failed",
        }
    }
}
