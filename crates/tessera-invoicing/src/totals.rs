//! Totals and the rounding rule of Tessera.
//!
//! A line's net amount is `quantity × unit price`, exact. Lines are grouped by VAT rate; per rate the taxable
//! amount is the sum of the line nets and the tax is `taxable × rate_bps / 10000` rounded half up to the minor
//! unit. The totals are the plain sums. Rounding once per rate, never per line, is what EN 16931 expects
//! (BR-CO-17 and the BR-S-08 / BR-E-08 family), so the XML's totals always add up (BR-CO-10, -13, -14, -15).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::InvoiceError;
use crate::model::InvoiceLine;
use crate::money::minor_exponent;

/// The totals of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// One entry per VAT rate, highest rate first.
    pub per_rate: Vec<VatBreakdown>,
    /// Sum of the line nets (BT-106, and BT-109 as there are no document-level allowances).
    pub total_excl_minor: i64,
    /// Sum of the per-rate taxes (BT-110).
    pub total_vat_minor: i64,
    /// Total including VAT (BT-112).
    pub total_incl_minor: i64,
}

/// The VAT of one rate (EN 16931 BG-23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatBreakdown {
    /// Rate in basis points (BT-119).
    pub rate_bps: i64,
    /// UNCL 5305 category (BT-118).
    pub category: VatCategory,
    /// Sum of the nets of the lines at this rate (BT-116).
    pub taxable_minor: i64,
    /// Tax at this rate, rounded half up (BT-117).
    pub tax_minor: i64,
    /// Legal ground of an exemption (BT-120).
    pub exemption_note: Option<String>,
}

/// UNCL 5305 VAT category code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VatCategory {
    /// Standard (or reduced) rate, above 0 %.
    S,
    /// Exempt from VAT (0 % with the legal ground).
    E,
}

impl VatCategory {
    /// The code as written in the XML.
    pub fn code(self) -> &'static str {
        match self {
            VatCategory::S => "S",
            VatCategory::E => "E",
        }
    }

    /// The category of a rate: `S` above 0 %, `E` at 0 %.
    pub fn of_rate(rate_bps: i64) -> VatCategory {
        if rate_bps > 0 {
            VatCategory::S
        } else {
            VatCategory::E
        }
    }
}

/// A line's net amount: quantity × unit price, checked.
pub fn line_net_minor(line: &InvoiceLine) -> Result<i64, InvoiceError> {
    line.quantity
        .checked_mul(line.unit_price_minor)
        .ok_or(InvoiceError::Overflow)
}

/// `taxable × rate_bps / 10000`, rounded half up; both are non-negative. The one VAT rounding rule: documents
/// apply it once per rate, and reports re-apply it per document and rate to add VAT up exactly.
pub fn tax_half_up(taxable: i64, rate_bps: i64) -> Result<i64, InvoiceError> {
    let exact = i128::from(taxable) * i128::from(rate_bps);
    i64::try_from((exact + 5_000) / 10_000).map_err(|_| InvoiceError::Overflow)
}

/// Checks the lines and computes the totals with Tessera's rounding rule (see the module documentation).
pub fn compute_totals(lines: &[InvoiceLine], currency: &str) -> Result<Totals, InvoiceError> {
    minor_exponent(currency)?;
    if lines.is_empty() {
        return Err(InvoiceError::NoLines);
    }
    // Keyed by the reversed rate so that the highest rate comes first.
    let mut by_rate: BTreeMap<std::cmp::Reverse<i64>, (i64, Option<String>)> = BTreeMap::new();
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        if line.quantity < 0 {
            return Err(InvoiceError::NegativeQuantity { line: number });
        }
        if line.unit_price_minor < 0 {
            return Err(InvoiceError::NegativeUnitPrice { line: number });
        }
        let rate = line.vat.rate_bps;
        if !(0..=10_000).contains(&rate) {
            return Err(InvoiceError::InvalidVatRate {
                line: number,
                rate_bps: rate,
            });
        }
        let note = match (&line.vat.exemption_note, rate) {
            (Some(note), 0) if !note.trim().is_empty() => Some(note.trim().to_owned()),
            (_, 0) => return Err(InvoiceError::MissingExemptionNote { line: number }),
            // An exemption note on a taxed rate means nothing and is not printed.
            (_, _) => None,
        };
        let net = line_net_minor(line)?;
        let entry = by_rate
            .entry(std::cmp::Reverse(rate))
            .or_insert((0, note.clone()));
        if entry.1 != note {
            return Err(InvoiceError::ConflictingExemptionNotes);
        }
        entry.0 = entry.0.checked_add(net).ok_or(InvoiceError::Overflow)?;
    }
    let mut per_rate = Vec::with_capacity(by_rate.len());
    let (mut excl, mut vat) = (0i64, 0i64);
    for (std::cmp::Reverse(rate_bps), (taxable, exemption_note)) in by_rate {
        let tax = tax_half_up(taxable, rate_bps)?;
        excl = excl.checked_add(taxable).ok_or(InvoiceError::Overflow)?;
        vat = vat.checked_add(tax).ok_or(InvoiceError::Overflow)?;
        per_rate.push(VatBreakdown {
            rate_bps,
            category: VatCategory::of_rate(rate_bps),
            taxable_minor: taxable,
            tax_minor: tax,
            exemption_note,
        });
    }
    Ok(Totals {
        per_rate,
        total_excl_minor: excl,
        total_vat_minor: vat,
        total_incl_minor: excl.checked_add(vat).ok_or(InvoiceError::Overflow)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LineKind, VatRate};

    fn line(quantity: i64, unit_price_minor: i64, rate_bps: i64) -> InvoiceLine {
        InvoiceLine {
            description: "x".into(),
            kind: LineKind::Service,
            quantity,
            unit_price_minor,
            vat: VatRate {
                code: format!("R{rate_bps}"),
                rate_bps,
                exemption_note: (rate_bps == 0)
                    .then(|| "TVA non applicable, art. 261-4-4° du CGI".into()),
            },
        }
    }

    #[test]
    fn tax_rounds_half_up_at_half_a_minor_unit() {
        // 0.25 EUR at 10 % is 0.025: half a cent, rounded up to 0.03.
        let t = compute_totals(&[line(1, 25, 1000)], "EUR").unwrap();
        assert_eq!(t.per_rate[0].tax_minor, 3);
        // 0.24 at 10 % is 0.024: rounded down.
        let t = compute_totals(&[line(1, 24, 1000)], "EUR").unwrap();
        assert_eq!(t.per_rate[0].tax_minor, 2);
        // 4.99 at 5.5 % is 0.27445: 0.27.
        let t = compute_totals(&[line(1, 499, 550)], "EUR").unwrap();
        assert_eq!(t.per_rate[0].tax_minor, 27);
    }

    #[test]
    fn tax_is_rounded_once_per_rate_not_per_line() {
        // Three lines of 0.25 at 10 %: per line 0.03 × 3 = 0.09, per rate 0.075 → 0.08.
        let t = compute_totals(
            &[line(1, 25, 1000), line(1, 25, 1000), line(1, 25, 1000)],
            "EUR",
        )
        .unwrap();
        assert_eq!(t.per_rate.len(), 1);
        assert_eq!(t.per_rate[0].taxable_minor, 75);
        assert_eq!(t.per_rate[0].tax_minor, 8);
        assert_eq!(t.total_incl_minor, 83);
    }

    #[test]
    fn several_rates_are_broken_down_highest_first() {
        let lines = [
            line(2, 4990, 2000),
            line(3, 1099, 550),
            line(1, 1000, 2000),
            line(1, 350, 1000),
        ];
        let t = compute_totals(&lines, "EUR").unwrap();
        let rates: Vec<_> = t
            .per_rate
            .iter()
            .map(|b| (b.rate_bps, b.taxable_minor, b.tax_minor))
            .collect();
        // 109.80 × 20 % = 21.96; 3.50 × 10 % = 0.35; 32.97 × 5.5 % = 1.81335 → 1.81.
        assert_eq!(
            rates,
            vec![(2000, 10980, 2196), (1000, 350, 35), (550, 3297, 181)]
        );
        assert_eq!(t.total_excl_minor, 10980 + 350 + 3297);
        assert_eq!(t.total_vat_minor, 2196 + 35 + 181);
        assert_eq!(t.total_incl_minor, t.total_excl_minor + t.total_vat_minor);
        assert!(t
            .per_rate
            .iter()
            .all(|b| b.category == VatCategory::S && b.exemption_note.is_none()));
    }

    #[test]
    fn zero_rate_is_exempt_with_its_note() {
        let t = compute_totals(&[line(4, 1500, 0), line(1, 1000, 2000)], "EUR").unwrap();
        let exempt = &t.per_rate[1];
        assert_eq!(
            (
                exempt.rate_bps,
                exempt.category,
                exempt.taxable_minor,
                exempt.tax_minor
            ),
            (0, VatCategory::E, 6000, 0)
        );
        assert!(exempt.exemption_note.as_deref().unwrap().contains("261"));
        let mut bare = line(1, 100, 0);
        bare.vat.exemption_note = None;
        assert_eq!(
            compute_totals(&[bare.clone()], "EUR"),
            Err(InvoiceError::MissingExemptionNote { line: 1 })
        );
        bare.vat.exemption_note = Some("   ".into());
        assert_eq!(
            compute_totals(&[bare.clone()], "EUR"),
            Err(InvoiceError::MissingExemptionNote { line: 1 })
        );
        let mut other = line(1, 100, 0);
        other.vat.exemption_note = Some("Autre motif".into());
        assert_eq!(
            compute_totals(&[line(1, 100, 0), other], "EUR"),
            Err(InvoiceError::ConflictingExemptionNotes)
        );
    }

    #[test]
    fn yen_have_no_minor_unit_so_tax_rounds_to_whole_yen() {
        // 1 005 JPY at 10 % is 100.5 yen: 101.
        let t = compute_totals(&[line(1, 1005, 1000)], "JPY").unwrap();
        assert_eq!(
            (t.total_excl_minor, t.total_vat_minor, t.total_incl_minor),
            (1005, 101, 1106)
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(
            compute_totals(&[line(i64::MAX, 2, 2000)], "EUR"),
            Err(InvoiceError::Overflow)
        );
        assert_eq!(
            compute_totals(&[line(1, i64::MAX, 2000), line(1, 1, 2000)], "EUR"),
            Err(InvoiceError::Overflow)
        );
        // The net fits but net + tax does not.
        assert_eq!(
            compute_totals(&[line(1, i64::MAX - 10, 2000)], "EUR"),
            Err(InvoiceError::Overflow)
        );
    }

    #[test]
    fn bad_lines_are_refused() {
        assert_eq!(compute_totals(&[], "EUR"), Err(InvoiceError::NoLines));
        assert_eq!(
            compute_totals(&[line(1, 100, 2000)], "XYZ"),
            Err(InvoiceError::UnknownCurrency("XYZ".into()))
        );
        assert_eq!(
            compute_totals(&[line(-1, 100, 2000)], "EUR"),
            Err(InvoiceError::NegativeQuantity { line: 1 })
        );
        assert_eq!(
            compute_totals(&[line(1, 1, 2000), line(1, -100, 2000)], "EUR"),
            Err(InvoiceError::NegativeUnitPrice { line: 2 })
        );
        assert_eq!(
            compute_totals(&[line(1, 100, 10_001)], "EUR"),
            Err(InvoiceError::InvalidVatRate {
                line: 1,
                rate_bps: 10_001
            })
        );
    }
}
