//! Calendar arithmetic for contracts: adding months the way contracts count them (a month after 31 January is
//! the last day of February), billing periods anchored on the start date, and day counts.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::FieldError;

/// How often a recurring plan is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingPeriod {
    /// Every 7 days.
    Week,
    /// Every calendar month, on the start date's day (or the month's last day).
    Month,
    /// Every year.
    Year,
}

impl BillingPeriod {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingPeriod::Week => "week",
            BillingPeriod::Month => "month",
            BillingPeriod::Year => "year",
        }
    }

    /// Parses a stable name.
    pub fn parse(name: &str) -> Result<BillingPeriod, FieldError> {
        match name {
            "week" => Ok(BillingPeriod::Week),
            "month" => Ok(BillingPeriod::Month),
            "year" => Ok(BillingPeriod::Year),
            other => Err(FieldError::new(
                "",
                "unknown_billing_period",
                format!("{other:?}: expected week, month or year"),
            )),
        }
    }

    /// The start of period number `n` (0 is the first) of a contract that started on `anchor`.
    pub fn period_start(self, anchor: NaiveDate, n: u32) -> NaiveDate {
        match self {
            BillingPeriod::Week => anchor + Duration::weeks(i64::from(n)),
            BillingPeriod::Month => add_months(anchor, n),
            BillingPeriod::Year => add_months(anchor, n.saturating_mul(12)),
        }
    }

    /// The period of a contract started on `anchor` that contains `day` (`day` on or after `anchor`): its first
    /// day and the first day of the next one.
    pub fn period_containing(self, anchor: NaiveDate, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        let mut n = match self {
            BillingPeriod::Week => u32::try_from((day - anchor).num_days().max(0) / 7).unwrap_or(0),
            // A first guess from whole months, corrected below for the day of month.
            BillingPeriod::Month => months_between(anchor, day),
            BillingPeriod::Year => months_between(anchor, day) / 12,
        };
        while n > 0 && self.period_start(anchor, n) > day {
            n -= 1;
        }
        while self.period_start(anchor, n + 1) <= day {
            n += 1;
        }
        (
            self.period_start(anchor, n),
            self.period_start(anchor, n + 1),
        )
    }
}

/// `date` plus `months` calendar months, on the same day of month, or on the month's last day when it is
/// shorter (31 January + 1 month = 28 or 29 February). Always counted from the anchor, never chained, so that
/// 31 January + 2 months is 31 March.
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    let total = date.year() * 12 + date.month0() as i32 + months as i32;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12) as u32);
    let last = last_day_of_month(year, month0 + 1);
    let day = date.day().min(last);
    // The year and month come from valid arithmetic and the day is clamped to the month's length.
    NaiveDate::from_ymd_opt(year, month0 + 1, day).unwrap_or(date)
}

/// Whole calendar months from `from` to `to` (by month number, ignoring the day).
fn months_between(from: NaiveDate, to: NaiveDate) -> u32 {
    let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    u32::try_from(months.max(0)).unwrap_or(0)
}

/// The number of days of a month.
pub fn last_day_of_month(year: i32, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1)
        .and_then(|first| first.pred_opt())
        .map_or(28, |last| last.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn months_clamp_to_the_last_day() {
        assert_eq!(add_months(d(2026, 1, 31), 1), d(2026, 2, 28));
        assert_eq!(add_months(d(2028, 1, 31), 1), d(2028, 2, 29));
        assert_eq!(add_months(d(2026, 1, 31), 2), d(2026, 3, 31));
        assert_eq!(add_months(d(2026, 11, 30), 3), d(2027, 2, 28));
        assert_eq!(add_months(d(2028, 2, 29), 12), d(2029, 2, 28));
        assert_eq!(add_months(d(2026, 12, 15), 1), d(2027, 1, 15));
    }

    #[test]
    fn periods_are_anchored_on_the_start() {
        let anchor = d(2026, 1, 31);
        let p = BillingPeriod::Month;
        assert_eq!(
            p.period_containing(anchor, d(2026, 3, 1)),
            (d(2026, 2, 28), d(2026, 3, 31))
        );
        assert_eq!(
            p.period_containing(anchor, d(2026, 1, 31)),
            (d(2026, 1, 31), d(2026, 2, 28))
        );
        assert_eq!(
            p.period_containing(anchor, d(2026, 3, 31)),
            (d(2026, 3, 31), d(2026, 4, 30))
        );
        let w = BillingPeriod::Week;
        assert_eq!(
            w.period_containing(d(2026, 1, 1), d(2026, 1, 15)),
            (d(2026, 1, 15), d(2026, 1, 22))
        );
        let y = BillingPeriod::Year;
        assert_eq!(
            y.period_containing(d(2028, 2, 29), d(2029, 3, 1)),
            (d(2029, 2, 28), d(2030, 2, 28))
        );
    }

    #[test]
    fn month_lengths() {
        assert_eq!(last_day_of_month(2028, 2), 29);
        assert_eq!(last_day_of_month(2100, 2), 28);
        assert_eq!(last_day_of_month(2000, 2), 29);
        assert_eq!(last_day_of_month(2026, 12), 31);
    }
}
