//! Invoice and credit-note numbers: `{prefix}-{year}-{n:06}` and `{prefix}-AV-{year}-{n:06}`. Each series (a
//! prefix, a document kind, a year) is continuous and gap-free: the store hands out the next value of the series
//! inside the finalising transaction, so a rolled-back finalisation never consumes a number.

use chrono::{Datelike, NaiveDate};

/// Which sequence a document draws its number from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSeries(pub String);

/// The series of an invoice (`credit_note` false) or a credit note issued on `issued_on` by a brand whose
/// invoice prefix is `prefix`.
pub fn series_for(prefix: &str, credit_note: bool, issued_on: NaiveDate) -> DocumentSeries {
    if credit_note {
        DocumentSeries(format!("{prefix}-AV-{}", issued_on.year()))
    } else {
        DocumentSeries(format!("{prefix}-{}", issued_on.year()))
    }
}

/// The number of the `value`-th document (1-based) of `series`.
pub fn format_number(series: &DocumentSeries, value: i64) -> String {
    format!("{}-{value:06}", series.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn numbers_are_per_year_and_kind() {
        let s = series_for("ATL", false, day(2026, 12, 31));
        assert_eq!(format_number(&s, 1), "ATL-2026-000001");
        let s = series_for("ATL", false, day(2027, 1, 1));
        assert_eq!(format_number(&s, 42), "ATL-2027-000042");
        let s = series_for("ATL", true, day(2027, 1, 1));
        assert_eq!(format_number(&s, 1_234_567), "ATL-AV-2027-1234567");
    }
}
