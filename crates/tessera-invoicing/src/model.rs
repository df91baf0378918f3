//! The document handed to the renderers: what an invoice or credit note says, already numbered and totalled by
//! the billing service. Every amount is an integer in the currency's minor units (cents for EUR, yen for JPY).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::totals::Totals;

/// An invoice or credit note, complete: the renderers only lay it out, they decide nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDocument {
    /// Invoice or credit note (with the invoice it corrects).
    pub kind: DocumentKind,
    /// The number from the tenant's continuous sequence (BT-1).
    pub number: String,
    /// Issue date (BT-2).
    pub issued_on: NaiveDate,
    /// Payment due date (BT-9).
    pub due_on: NaiveDate,
    /// The period the services were delivered in, first and last day included (BG-14).
    pub service_period: Option<(NaiveDate, NaiveDate)>,
    /// ISO 4217 code of every amount of the document (BT-5).
    pub currency: String,
    /// The language of the PDF (the XML is language-neutral except the free texts).
    pub locale: DocumentLocale,
    /// Who invoices.
    pub seller: Seller,
    /// Who is invoiced.
    pub buyer: Buyer,
    /// At least one line.
    pub lines: Vec<InvoiceLine>,
    /// The totals, as [`crate::compute_totals`] computes them from `lines`.
    pub totals: Totals,
    /// Already paid, in minor units (BT-113); the amount due is the total including VAT less this.
    pub paid_minor: i64,
    /// Annual late-payment penalty rate in basis points (1000 = 10.00 %), a mandatory French B2B mention.
    pub late_penalty_rate_bps: i64,
    /// Free texts printed on the PDF and written as notes in the XML (BT-22).
    pub notes: Vec<String>,
    /// The brand's look on the PDF.
    pub branding: Branding,
}

/// What the document is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DocumentKind {
    /// A commercial invoice (UNTDID 1001 code 380).
    Invoice,
    /// A credit note (code 381) correcting an earlier invoice, with positive amounts.
    CreditNote {
        /// Number of the corrected invoice (BT-25).
        corrects_number: String,
        /// Issue date of the corrected invoice (BT-26).
        corrects_issued_on: NaiveDate,
    },
}

impl DocumentKind {
    /// The UNTDID 1001 document type code of the CII (BT-3).
    pub fn type_code(&self) -> &'static str {
        match self {
            DocumentKind::Invoice => "380",
            DocumentKind::CreditNote { .. } => "381",
        }
    }
}

/// The language of the PDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentLocale {
    /// French.
    Fr,
    /// English.
    En,
}

/// The seller: the tenant's legal entity, with the identity French law requires on every invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seller {
    /// Registered name (BT-27).
    pub name: String,
    /// Legal form, e.g. "SAS", "SARL", "EI".
    pub legal_form: String,
    /// Share capital in minor units and its currency, for companies that have one.
    pub share_capital: Option<(i64, String)>,
    /// SIREN (9 digits), the legal registration identifier (BT-30, scheme 0002).
    pub siren: Option<String>,
    /// SIRET (14 digits) of the establishment.
    pub siret: Option<String>,
    /// Intra-community VAT number with its country prefix (BT-31).
    pub vat_number: String,
    /// City of the trade register (RCS) the company is registered at.
    pub rcs_city: Option<String>,
    /// Postal address (BG-5).
    pub address: Address,
    /// Contact e-mail (BT-34).
    pub email: Option<String>,
}

/// The buyer: a company (with SIREN and VAT number) or a consumer (with neither).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    /// Name of the person or company (BT-44).
    pub name: String,
    /// Postal address (BG-8); when unknown the XML states only the seller's country (see [`crate::cii_xml`]).
    pub address: Option<Address>,
    /// SIREN of a French company buyer (BT-47, scheme 0002).
    pub siren: Option<String>,
    /// VAT number of a company buyer (BT-48).
    pub vat_number: Option<String>,
    /// E-mail address (BT-49).
    pub email: Option<String>,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// First line (street).
    pub line1: String,
    /// Second line, if any.
    pub line2: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code (`FR`).
    pub country: String,
}

/// One line of the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// What is sold (BT-153).
    pub description: String,
    /// Goods or services (a mandatory French mention).
    pub kind: LineKind,
    /// Whole units, never negative: a credit note states positive quantities (its type says it credits).
    pub quantity: i64,
    /// Price of one unit excluding VAT, in minor units, never negative (BT-146).
    pub unit_price_minor: i64,
    /// The VAT rate of the line.
    pub vat: VatRate,
}

/// Whether a line sells goods or services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A service (memberships, classes, appointments).
    Service,
    /// Goods (shop products).
    Goods,
}

/// A VAT rate as the tenant configures it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VatRate {
    /// The tenant's code of the rate (e.g. `FR-20`), for the billing service's bookkeeping.
    pub code: String,
    /// Rate in basis points: 2000 = 20.00 %, 550 = 5.50 %, 0 = exempt.
    pub rate_bps: i64,
    /// Legal ground of the exemption, required for a 0 % rate (e.g. "TVA non applicable, art. 293 B du CGI").
    pub exemption_note: Option<String>,
}

/// The brand's look on the PDF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    /// Name shown in the header.
    pub brand_name: String,
    /// Main colour, `#RRGGBB`.
    pub primary_color: String,
    /// Second colour, `#RRGGBB`.
    pub accent_color: String,
    /// A PNG logo, drawn in the header when given.
    pub logo_png: Option<Vec<u8>>,
}
