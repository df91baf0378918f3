//! Amounts in minor units written as decimals: plain for the XML (`1234.50`), localised for the PDF
//! (`1 234,50 €`, `€1,234.50`). The number of decimals is the currency's ISO 4217 minor-unit exponent.

use crate::error::InvoiceError;
use crate::model::DocumentLocale;

/// The ISO 4217 minor-unit exponent of `currency` (EUR 2, JPY 0, KWD 3).
pub fn minor_exponent(currency: &str) -> Result<u32, InvoiceError> {
    iso_currency::Currency::from_code(currency)
        .and_then(|c| c.exponent())
        .map(u32::from)
        .ok_or_else(|| InvoiceError::UnknownCurrency(currency.to_owned()))
}

/// `amount` minor units as a plain decimal with `exponent` decimals: `123456, 2` is `1234.56`.
pub fn decimal(amount: i64, exponent: u32) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{abs}");
    }
    let unit = 10u64.pow(exponent);
    format!(
        "{sign}{}.{:0width$}",
        abs / unit,
        abs % unit,
        width = exponent as usize
    )
}

/// A rate in basis points as a percentage with two decimals: 550 is `5.50`.
pub fn percent(rate_bps: i64) -> String {
    decimal(rate_bps, 2)
}

/// A rate for people: `20 %`, `5,5 %` in French; `20%`, `5.5%` in English.
pub fn display_percent(rate_bps: i64, locale: DocumentLocale) -> String {
    let plain = percent(rate_bps);
    let trimmed = plain.trim_end_matches('0').trim_end_matches('.');
    match locale {
        DocumentLocale::Fr => format!("{}\u{a0}%", trimmed.replace('.', ",")),
        DocumentLocale::En => format!("{trimmed}%"),
    }
}

/// An amount for people, with thousands grouped and the currency's symbol where it is a common one.
pub fn display_amount(
    amount: i64,
    currency: &str,
    exponent: u32,
    locale: DocumentLocale,
) -> String {
    let plain = decimal(amount, exponent);
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let (group, point) = match locale {
        DocumentLocale::Fr => ('\u{a0}', ','),
        DocumentLocale::En => (',', '.'),
    };
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(c);
    }
    let number = match frac {
        Some(f) => format!("{sign}{grouped}{point}{f}"),
        None => format!("{sign}{grouped}"),
    };
    let symbol = match currency {
        "EUR" => Some("€"),
        "USD" => Some("$"),
        "GBP" => Some("£"),
        "JPY" => Some("¥"),
        _ => None,
    };
    match (locale, symbol) {
        (DocumentLocale::Fr, Some(s)) => format!("{number}\u{a0}{s}"),
        (DocumentLocale::En, Some(s)) => format!("{s}{number}"),
        (_, None) => format!("{number}\u{a0}{currency}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents_come_from_iso_4217() {
        assert_eq!(minor_exponent("EUR"), Ok(2));
        assert_eq!(minor_exponent("JPY"), Ok(0));
        assert_eq!(minor_exponent("KWD"), Ok(3));
        assert_eq!(
            minor_exponent("EURO"),
            Err(InvoiceError::UnknownCurrency("EURO".into()))
        );
    }

    #[test]
    fn decimals_have_the_exponent_s_digits() {
        assert_eq!(decimal(123456, 2), "1234.56");
        assert_eq!(decimal(5, 2), "0.05");
        assert_eq!(decimal(-5, 2), "-0.05");
        assert_eq!(decimal(1500, 0), "1500");
        assert_eq!(decimal(1234, 3), "1.234");
        assert_eq!(percent(550), "5.50");
        assert_eq!(percent(2000), "20.00");
    }

    #[test]
    fn people_read_localised_amounts() {
        assert_eq!(
            display_amount(123456789, "EUR", 2, DocumentLocale::Fr),
            "1\u{a0}234\u{a0}567,89\u{a0}€"
        );
        assert_eq!(
            display_amount(123456789, "EUR", 2, DocumentLocale::En),
            "€1,234,567.89"
        );
        assert_eq!(display_amount(1500, "JPY", 0, DocumentLocale::En), "¥1,500");
        assert_eq!(
            display_amount(1234, "KWD", 3, DocumentLocale::En),
            "1.234\u{a0}KWD"
        );
        assert_eq!(display_percent(550, DocumentLocale::Fr), "5,5\u{a0}%");
        assert_eq!(display_percent(2000, DocumentLocale::En), "20%");
        assert_eq!(display_percent(0, DocumentLocale::En), "0%");
    }
}
