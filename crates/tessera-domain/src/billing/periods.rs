//! What a billing run owes for a membership on a day: the next period not invoiced yet, once its first day has
//! come. Recurring plans are billed one period at a time from their billing anchor (the start, moved past the
//! trial); fixed terms and class packs are billed once, in full. Periods whose first day falls in a freeze are
//! not billed: the member pays nothing for a frozen month.

use chrono::{Duration, NaiveDate};

use crate::gym::dates::{add_months, BillingPeriod};

/// The facts of a membership the billing schedule depends on.
#[derive(Debug, Clone)]
pub struct BillingFacts<'a> {
    /// `recurring`, `fixed_term` or `pack`.
    pub kind: &'a str,
    /// The billing period of a recurring plan.
    pub billing_period: Option<BillingPeriod>,
    /// Term (or pack validity) in months.
    pub term_months: Option<u32>,
    /// First day of the contract.
    pub starts_on: NaiveDate,
    /// Free days at the start.
    pub trial_days: u32,
    /// First day not invoiced yet; None before the first invoice.
    pub billed_until: Option<NaiveDate>,
    /// First day without the membership, when known.
    pub ends_on: Option<NaiveDate>,
    /// Freezes, as `[first frozen day, first day active again)`.
    pub freezes: &'a [(NaiveDate, NaiveDate)],
}

/// One period to invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCharge {
    /// First day covered.
    pub period_start: NaiveDate,
    /// First day not covered.
    pub period_end: NaiveDate,
    /// True for the membership's first invoice (which carries the enrolment fee).
    pub first: bool,
}

/// The day recurring billing counts its periods from: the start, after the trial.
pub fn billing_anchor(starts_on: NaiveDate, trial_days: u32) -> NaiveDate {
    starts_on + Duration::days(i64::from(trial_days))
}

/// The period due on `today`, if any. `billed_until` moves to its `period_end` once it is invoiced, so calling
/// this again returns the next one only when its day has come.
pub fn next_billing(f: &BillingFacts<'_>, today: NaiveDate) -> Option<DueCharge> {
    let first = f.billed_until.is_none();
    let due = match (f.kind, f.billing_period) {
        ("recurring", Some(period)) => {
            let anchor = billing_anchor(f.starts_on, f.trial_days);
            let mut start = f.billed_until.unwrap_or(anchor).max(anchor);
            let (mut p_start, mut p_end) = period.period_containing(anchor, start);
            if p_start < start {
                // billed_until in the middle of a period (a plan change): bill the rest of that period.
                p_start = start;
            }
            // Skip periods that begin inside a freeze (bounded: a freeze is at most a year long).
            for _ in 0..60 {
                if !f.freezes.iter().any(|(a, b)| *a <= p_start && p_start < *b) {
                    break;
                }
                start = p_end;
                (p_start, p_end) = period.period_containing(anchor, start);
            }
            DueCharge {
                period_start: p_start,
                period_end: p_end,
                first,
            }
        }
        _ if !first => return None,
        _ => {
            let end = f
                .ends_on
                .or_else(|| f.term_months.map(|m| add_months(f.starts_on, m)))
                .unwrap_or(f.starts_on + Duration::days(1));
            DueCharge {
                period_start: f.starts_on,
                period_end: end,
                first,
            }
        }
    };
    if f.ends_on.is_some_and(|end| due.period_start >= end) {
        return None;
    }
    // A first invoice is due as soon as the contract is concluded, even for a later start; renewals on the day.
    if !first && due.period_start > today {
        return None;
    }
    if first && f.kind == "recurring" && f.trial_days > 0 && due.period_start > today {
        return None;
    }
    Some(due)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn monthly(billed_until: Option<NaiveDate>) -> BillingFacts<'static> {
        BillingFacts {
            kind: "recurring",
            billing_period: Some(BillingPeriod::Month),
            term_months: None,
            starts_on: day(2026, 1, 31),
            trial_days: 0,
            billed_until,
            ends_on: None,
            freezes: &[],
        }
    }

    #[test]
    fn first_period_is_due_at_once_and_renewals_on_their_day() {
        let first = next_billing(&monthly(None), day(2026, 1, 20)).unwrap();
        assert_eq!(
            (first.period_start, first.period_end, first.first),
            (day(2026, 1, 31), day(2026, 2, 28), true)
        );
        let f = monthly(Some(day(2026, 2, 28)));
        assert_eq!(next_billing(&f, day(2026, 2, 27)), None);
        let renewal = next_billing(&f, day(2026, 2, 28)).unwrap();
        assert_eq!(
            (renewal.period_start, renewal.period_end, renewal.first),
            (day(2026, 2, 28), day(2026, 3, 31), false)
        );
    }

    #[test]
    fn a_missed_run_bills_periods_one_by_one() {
        let f = monthly(Some(day(2026, 2, 28)));
        let due = next_billing(&f, day(2026, 5, 1)).unwrap();
        assert_eq!(due.period_start, day(2026, 2, 28));
    }

    #[test]
    fn trials_are_billed_when_they_end() {
        let mut f = monthly(None);
        f.trial_days = 7;
        assert_eq!(next_billing(&f, day(2026, 2, 6)), None);
        let due = next_billing(&f, day(2026, 2, 7)).unwrap();
        assert_eq!(
            (due.period_start, due.period_end),
            (day(2026, 2, 7), day(2026, 3, 7))
        );
    }

    #[test]
    fn frozen_periods_are_skipped_and_ends_stop_billing() {
        let freezes = [(day(2026, 2, 20), day(2026, 4, 10))];
        let mut f = monthly(Some(day(2026, 2, 28)));
        f.freezes = &freezes;
        let due = next_billing(&f, day(2026, 4, 30)).unwrap();
        assert_eq!(due.period_start, day(2026, 4, 30));
        let mut f = monthly(Some(day(2026, 2, 28)));
        f.ends_on = Some(day(2026, 2, 28));
        assert_eq!(next_billing(&f, day(2026, 3, 1)), None);
    }

    #[test]
    fn terms_and_packs_are_billed_once() {
        let mut f = monthly(None);
        f.kind = "pack";
        f.billing_period = None;
        f.term_months = Some(6);
        let due = next_billing(&f, day(2026, 1, 10)).unwrap();
        assert_eq!(
            (due.period_start, due.period_end),
            (day(2026, 1, 31), day(2026, 7, 31))
        );
        f.billed_until = Some(day(2026, 7, 31));
        assert_eq!(next_billing(&f, day(2026, 8, 1)), None);
    }

    #[test]
    fn billed_until_mid_period_bills_the_rest() {
        let f = monthly(Some(day(2026, 3, 15)));
        let due = next_billing(&f, day(2026, 3, 15)).unwrap();
        assert_eq!(
            (due.period_start, due.period_end),
            (day(2026, 3, 15), day(2026, 3, 31))
        );
    }
}
