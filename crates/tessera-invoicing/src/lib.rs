//! Invoice documents (interim: totals only; the Factur-X XML and PDF land with the document crate).
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};

/// Goods or services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineKind {
    /// A service.
    Service,
    /// Goods.
    Goods,
}

/// A VAT rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatRate {
    /// Brand code.
    pub code: String,
    /// Basis points.
    pub rate_bps: i64,
    /// Exemption wording.
    pub exemption_note: Option<String>,
}

/// One line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// Description.
    pub description: String,
    /// Kind.
    pub kind: LineKind,
    /// Quantity.
    pub quantity: i64,
    /// Unit price excluding VAT.
    pub unit_price_minor: i64,
    /// VAT.
    pub vat: VatRate,
}

/// Totals of one rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatBreakdown {
    /// Rate.
    pub rate_bps: i64,
    /// Taxable.
    pub taxable_minor: i64,
    /// Tax.
    pub tax_minor: i64,
    /// Exemption.
    pub exemption_note: Option<String>,
}

/// Totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Per rate.
    pub per_rate: Vec<VatBreakdown>,
    /// Excl.
    pub total_excl_minor: i64,
    /// VAT.
    pub total_vat_minor: i64,
    /// Incl.
    pub total_incl_minor: i64,
}

/// Errors.
#[derive(Debug, thiserror::Error)]
pub enum InvoiceError {
    /// Overflow.
    #[error("amount overflow")]
    Overflow,
    /// No lines.
    #[error("no lines")]
    Empty,
}

/// Totals.
pub fn compute_totals(lines: &[InvoiceLine], _currency: &str) -> Result<Totals, InvoiceError> {
    if lines.is_empty() {
        return Err(InvoiceError::Empty);
    }
    let mut per_rate: Vec<VatBreakdown> = Vec::new();
    for l in lines {
        let net = l
            .quantity
            .checked_mul(l.unit_price_minor)
            .ok_or(InvoiceError::Overflow)?;
        match per_rate.iter_mut().find(|b| b.rate_bps == l.vat.rate_bps) {
            Some(b) => {
                b.taxable_minor = b
                    .taxable_minor
                    .checked_add(net)
                    .ok_or(InvoiceError::Overflow)?
            }
            None => per_rate.push(VatBreakdown {
                rate_bps: l.vat.rate_bps,
                taxable_minor: net,
                tax_minor: 0,
                exemption_note: l.vat.exemption_note.clone(),
            }),
        }
    }
    let (mut excl, mut vat) = (0i64, 0i64);
    for b in &mut per_rate {
        let t = i128::from(b.taxable_minor) * i128::from(b.rate_bps);
        b.tax_minor = i64::try_from((t + 5000) / 10000).map_err(|_| InvoiceError::Overflow)?;
        excl = excl
            .checked_add(b.taxable_minor)
            .ok_or(InvoiceError::Overflow)?;
        vat = vat.checked_add(b.tax_minor).ok_or(InvoiceError::Overflow)?;
    }
    Ok(Totals {
        per_rate,
        total_excl_minor: excl,
        total_vat_minor: vat,
        total_incl_minor: excl + vat,
    })
}
