//! Dunning: what happens on a day to a membership whose invoice is unpaid after a failed payment. The first
//! failure opens the case (day 0); automatic retries follow on the policy's `retry_days`; access goes on during
//! `grace_days`, then the membership is `past_due` (refused at the door) and, still unpaid on
//! `suspend_after_days`, `suspended`. An overdue amount above `block_over` skips the grace. Paying everything
//! overdue reinstates at once; that is the payment's business, not this schedule's.

use chrono::NaiveDate;

use super::policy::BillingPolicy;
use crate::gym::membership::MembershipStatus;

/// The facts of one unpaid case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DunningFacts {
    /// Day of the first failed attempt.
    pub first_failed_on: NaiveDate,
    /// Attempts made so far, the first failure included.
    pub attempts: u32,
    /// The membership's status.
    pub status: MembershipStatus,
    /// Overdue amount of the member, all invoices together (minor units, the membership's currency).
    pub overdue_amount: i64,
}

/// What to do today.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DunningStep {
    /// Try the saved payment method again.
    pub retry: bool,
    /// Move the membership to `past_due`.
    pub mark_past_due: bool,
    /// Move the membership to `suspended`.
    pub suspend: bool,
    /// Warn the member that suspension is near.
    pub warn_suspension: bool,
}

/// The step for `today`.
pub fn dunning_step(policy: &BillingPolicy, f: &DunningFacts, today: NaiveDate) -> DunningStep {
    let days = (today - f.first_failed_on).num_days().max(0);
    let days = u32::try_from(days).unwrap_or(u32::MAX);
    let retry = f.attempts >= 1
        && policy
            .retry_days
            .get((f.attempts - 1) as usize)
            .is_some_and(|due| days >= *due);
    let over_threshold = policy
        .block_over
        .as_ref()
        .is_some_and(|limit| f.overdue_amount > limit.amount);
    let mark_past_due =
        f.status == MembershipStatus::Active && (days >= policy.grace_days || over_threshold);
    let suspend = days >= policy.suspend_after_days
        && (f.status == MembershipStatus::PastDue || mark_past_due);
    let warn_suspension = matches!(
        f.status,
        MembershipStatus::Active | MembershipStatus::PastDue
    ) && days + policy.warn_days_before_suspension
        == policy.suspend_after_days;
    DunningStep {
        retry,
        mark_past_due,
        suspend,
        warn_suspension,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn facts(attempts: u32, status: MembershipStatus) -> DunningFacts {
        DunningFacts {
            first_failed_on: day(1),
            attempts,
            status,
            overdue_amount: 4_900,
        }
    }

    #[test]
    fn the_default_schedule_day_by_day() {
        let p = BillingPolicy::default(); // retries 1, 3, 7; grace 3; suspension on day 10, warned on day 8
        let mut status = MembershipStatus::Active;
        let mut attempts = 1;
        let mut log = Vec::new();
        for d in 1..=15 {
            let step = dunning_step(&p, &facts(attempts, status), day(d));
            if step.retry {
                attempts += 1;
                log.push(format!("{}:retry", d - 1));
            }
            if step.warn_suspension {
                log.push(format!("{}:warn", d - 1));
            }
            if step.mark_past_due {
                status = MembershipStatus::PastDue;
                log.push(format!("{}:past_due", d - 1));
            }
            if step.suspend {
                status = MembershipStatus::Suspended;
                log.push(format!("{}:suspend", d - 1));
            }
        }
        assert_eq!(
            log,
            [
                "1:retry",
                "3:retry",
                "3:past_due",
                "7:retry",
                "8:warn",
                "10:suspend"
            ]
        );
    }

    #[test]
    fn a_threshold_skips_the_grace() {
        let p = BillingPolicy {
            block_over: Some(Money {
                amount: 4_000,
                currency: "EUR".into(),
            }),
            ..BillingPolicy::default()
        };
        let step = dunning_step(&p, &facts(1, MembershipStatus::Active), day(1));
        assert!(step.mark_past_due && !step.suspend);
        let mut under = facts(1, MembershipStatus::Active);
        under.overdue_amount = 4_000;
        assert!(!dunning_step(&p, &under, day(1)).mark_past_due);
    }

    #[test]
    fn frozen_or_final_memberships_are_left_alone() {
        let p = BillingPolicy::default();
        for status in [
            MembershipStatus::Frozen,
            MembershipStatus::Cancelled,
            MembershipStatus::Ended,
            MembershipStatus::Pending,
        ] {
            let step = dunning_step(&p, &facts(9, status), day(20));
            assert!(
                !step.mark_past_due && !step.suspend && !step.warn_suspension,
                "{status:?}"
            );
        }
    }

    #[test]
    fn a_late_first_run_goes_straight_to_suspension() {
        let p = BillingPolicy::default();
        let step = dunning_step(&p, &facts(4, MembershipStatus::Active), day(25));
        assert!(step.mark_past_due && step.suspend && !step.retry);
    }
}
