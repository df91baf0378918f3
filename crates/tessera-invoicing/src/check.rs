//! The checks a document passes before it is rendered: what the types cannot say.

use crate::error::InvoiceError;
use crate::model::InvoiceDocument;
use crate::money::minor_exponent;
use crate::totals::compute_totals;

impl InvoiceDocument {
    /// Checks that the lines are valid, that the totals are those [`compute_totals`] gives, that the amount paid
    /// is between 0 and the total, that the service period is ordered, that the number, countries, share
    /// capital currency and penalty rate are usable and that the colours are `#RRGGBB`.
    pub fn check(&self) -> Result<(), InvoiceError> {
        if self.number.trim().is_empty() {
            return Err(InvoiceError::MissingNumber);
        }
        let totals = compute_totals(&self.lines, &self.currency)?;
        if totals != self.totals {
            return Err(InvoiceError::TotalsMismatch);
        }
        if self.paid_minor < 0 || self.paid_minor > totals.total_incl_minor {
            return Err(InvoiceError::InvalidPaidAmount);
        }
        if let Some((from, to)) = self.service_period {
            if to < from {
                return Err(InvoiceError::InvalidServicePeriod);
            }
        }
        if self.late_penalty_rate_bps < 0 {
            return Err(InvoiceError::InvalidPenaltyRate);
        }
        if let Some((_, currency)) = &self.seller.share_capital {
            minor_exponent(currency)?;
        }
        let countries = std::iter::once(&self.seller.address).chain(self.buyer.address.as_ref());
        for address in countries {
            let c = &address.country;
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(InvoiceError::InvalidCountry(c.clone()));
            }
        }
        parse_color(&self.branding.primary_color)?;
        parse_color(&self.branding.accent_color)?;
        Ok(())
    }
}

/// `#RRGGBB` as its three components.
pub(crate) fn parse_color(text: &str) -> Result<(u8, u8, u8), InvoiceError> {
    let bad = || InvoiceError::InvalidColor(text.to_owned());
    let hex = text.strip_prefix('#').ok_or_else(bad)?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
    Ok((byte(0)?, byte(2)?, byte(4)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_hex_triplets() {
        assert_eq!(parse_color("#1a2B3c"), Ok((0x1a, 0x2b, 0x3c)));
        for bad in ["1a2b3c", "#1a2b3", "#1a2b3cd", "#gg0000", "#é12345"] {
            assert_eq!(
                parse_color(bad),
                Err(InvoiceError::InvalidColor(bad.into()))
            );
        }
    }
}
