//! Money: an amount in minor units beside its ISO 4217 currency, as the API shows it (`{amount, currency}`) and
//! the database stores it (a BIGINT column beside a currency column). No floating point anywhere.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// An amount in minor units (cents) of a currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Minor units (cents for EUR).
    pub amount: i64,
    /// ISO 4217 code, upper case (`EUR`).
    pub currency: String,
}

impl Money {
    /// Checks the currency code and that the amount is not negative (prices, fees).
    pub fn parse_price(amount: i64, currency: &str) -> Result<Money, FieldError> {
        let currency = parse_currency(currency)?;
        if amount < 0 {
            return Err(FieldError::new(
                "amount",
                "negative_amount",
                "an amount cannot be negative",
            ));
        }
        Ok(Money { amount, currency })
    }

    /// Zero in `currency`.
    pub fn zero(currency: &str) -> Money {
        Money {
            amount: 0,
            currency: currency.to_owned(),
        }
    }
}

/// Checks an ISO 4217 code and returns it upper case.
pub fn parse_currency(code: &str) -> Result<String, FieldError> {
    let upper = code.trim().to_ascii_uppercase();
    if iso_currency::Currency::from_code(&upper).is_some() {
        Ok(upper)
    } else {
        Err(FieldError::new(
            "currency",
            "unknown_currency",
            format!("{code:?} is not an ISO 4217 currency code"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_checked() {
        assert_eq!(
            Money::parse_price(4900, "eur"),
            Ok(Money {
                amount: 4900,
                currency: "EUR".into()
            })
        );
        assert_eq!(
            Money::parse_price(-1, "EUR").unwrap_err().code,
            "negative_amount"
        );
        assert_eq!(
            Money::parse_price(1, "EURO").unwrap_err().code,
            "unknown_currency"
        );
    }
}
