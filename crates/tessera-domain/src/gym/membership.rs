//! The membership state machine and its contract arithmetic: commitment, notice, cancellation end dates, the
//! 14-day withdrawal right, freezes and plan-change proration.
//!
//! ```text
//! pending ──activate──▶ active ◀──unfreeze── frozen
//!    │                   │  ▲ ──freeze──────▶  │
//!    │                   │  └──reinstate── past_due ──suspend──▶ suspended
//!    └─withdraw/cancel─▶ cancelled ◀──cancel (effective date reached)── active|frozen|past_due|suspended
//!                        ended ◀──end (term over, pack used up)── active|frozen
//! ```

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::dates::{add_months, BillingPeriod};

/// Where a membership stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembershipStatus {
    /// Sold, not started: waits for its start date or its first payment.
    Pending,
    /// Running: the member may use what the plan includes.
    Active,
    /// Paused by a freeze; the contract's dates move by the freeze's length.
    Frozen,
    /// A payment failed; access continues during the grace period (billing decides).
    PastDue,
    /// Access blocked by billing after failed payments.
    Suspended,
    /// Over by cancellation or withdrawal.
    Cancelled,
    /// Over by its own terms (a fixed term reached, a pack used up or expired).
    Ended,
}

impl MembershipStatus {
    /// Every status.
    pub const ALL: [MembershipStatus; 7] = [
        MembershipStatus::Pending,
        MembershipStatus::Active,
        MembershipStatus::Frozen,
        MembershipStatus::PastDue,
        MembershipStatus::Suspended,
        MembershipStatus::Cancelled,
        MembershipStatus::Ended,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipStatus::Pending => "pending",
            MembershipStatus::Active => "active",
            MembershipStatus::Frozen => "frozen",
            MembershipStatus::PastDue => "past_due",
            MembershipStatus::Suspended => "suspended",
            MembershipStatus::Cancelled => "cancelled",
            MembershipStatus::Ended => "ended",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<MembershipStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// True once the membership is over for good.
    pub fn is_final(self) -> bool {
        matches!(self, MembershipStatus::Cancelled | MembershipStatus::Ended)
    }

    /// True when the member may book and enter with it.
    pub fn grants_access(self) -> bool {
        matches!(self, MembershipStatus::Active | MembershipStatus::PastDue)
    }
}

/// What can happen to a membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembershipAction {
    /// Start it (start date reached, first payment made, or staff at the desk).
    Activate,
    /// Pause it.
    Freeze,
    /// End a pause.
    Unfreeze,
    /// Billing: a payment failed.
    MarkPastDue,
    /// Billing: block access after failed payments.
    Suspend,
    /// Billing: the debt is paid.
    Reinstate,
    /// The cancellation's effective date is reached (or a pending sale is called off).
    Cancel,
    /// The member uses the 14-day withdrawal right of a contract concluded online.
    Withdraw,
    /// The term is over or the pack used up.
    End,
}

impl MembershipAction {
    /// Every action.
    pub const ALL: [MembershipAction; 9] = [
        MembershipAction::Activate,
        MembershipAction::Freeze,
        MembershipAction::Unfreeze,
        MembershipAction::MarkPastDue,
        MembershipAction::Suspend,
        MembershipAction::Reinstate,
        MembershipAction::Cancel,
        MembershipAction::Withdraw,
        MembershipAction::End,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipAction::Activate => "activate",
            MembershipAction::Freeze => "freeze",
            MembershipAction::Unfreeze => "unfreeze",
            MembershipAction::MarkPastDue => "mark_past_due",
            MembershipAction::Suspend => "suspend",
            MembershipAction::Reinstate => "reinstate",
            MembershipAction::Cancel => "cancel",
            MembershipAction::Withdraw => "withdraw",
            MembershipAction::End => "end",
        }
    }
}

/// A transition the machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {} membership cannot {}", from.as_str(), action.as_str())]
pub struct TransitionRefused {
    /// The current status.
    pub from: MembershipStatus,
    /// The refused action.
    pub action: MembershipAction,
}

/// The state machine: the status after `action`, or why not.
pub fn transition(
    from: MembershipStatus,
    action: MembershipAction,
) -> Result<MembershipStatus, TransitionRefused> {
    use MembershipAction as A;
    use MembershipStatus as S;
    let to = match (from, action) {
        (S::Pending, A::Activate) => S::Active,
        (S::Active, A::Freeze) => S::Frozen,
        (S::Frozen, A::Unfreeze) => S::Active,
        (S::Active, A::MarkPastDue) => S::PastDue,
        (S::PastDue, A::Suspend) => S::Suspended,
        (S::PastDue | S::Suspended, A::Reinstate) => S::Active,
        (S::Pending | S::Active | S::Frozen | S::PastDue | S::Suspended, A::Cancel) => S::Cancelled,
        (S::Pending | S::Active, A::Withdraw) => S::Cancelled,
        (S::Active | S::Frozen, A::End) => S::Ended,
        _ => return Err(TransitionRefused { from, action }),
    };
    Ok(to)
}

/// The contract terms that dates are computed from (copied from the plan when the membership was sold, so
/// that later plan edits never change a signed contract).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractTerms {
    /// Billing period of a recurring plan; `None` for fixed terms and packs.
    pub billing_period: Option<BillingPeriod>,
    /// Minimum commitment, in months from the start.
    pub commitment_months: u32,
    /// Notice period, in days.
    pub notice_days: u32,
    /// Fixed term or pack validity, in months from the start; `None` for open-ended plans.
    pub term_months: Option<u32>,
}

/// When a cancellation asked on `asked_on` takes effect: the first day without the membership.
///
/// Rules (documented in docs/gym.md): the notice runs from the day of the request; the membership never ends
/// before its commitment is over (moved by freezes: `commitment_until` is already moved); for a recurring
/// plan the end is the end of the billing period in which notice and commitment are both over, so that no
/// period is cut; a fixed term ends at its term.
pub fn cancellation_effective_on(
    terms: &ContractTerms,
    started_on: NaiveDate,
    commitment_until: NaiveDate,
    term_ends_on: Option<NaiveDate>,
    asked_on: NaiveDate,
) -> NaiveDate {
    let notice_over = asked_on + Duration::days(i64::from(terms.notice_days));
    let earliest = notice_over.max(commitment_until).max(started_on);
    match (terms.billing_period, term_ends_on) {
        (Some(period), _) => {
            if earliest == started_on {
                return started_on;
            }
            // The period that contains the earliest day's eve, so that a period ending exactly then is kept whole.
            let (_, next) = period.period_containing(started_on, earliest - Duration::days(1));
            next
        }
        (None, Some(term_end)) => earliest.max(term_end),
        (None, None) => earliest,
    }
}

/// The end of the minimum commitment of a contract started on `started_on`.
pub fn commitment_until(started_on: NaiveDate, commitment_months: u32) -> NaiveDate {
    add_months(started_on, commitment_months)
}

/// The withdrawal period of a contract concluded online (French consumer code, art. L221-18): 14 days from
/// the day it was concluded. Returns the last day on which the member may withdraw.
pub fn withdrawal_deadline(concluded_on: NaiveDate) -> NaiveDate {
    concluded_on + Duration::days(14)
}

/// A freeze that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FreezeRefused {
    /// The end is not after the start.
    #[error("the freeze must end after it starts")]
    EndBeforeStart,
    /// It starts in the past.
    #[error("a freeze cannot start in the past")]
    StartsInPast,
    /// Over the plan's allowance for the contract year.
    #[error("this freeze takes {asked} days; {left} are left this contract year")]
    OverAllowance {
        /// Days asked.
        asked: u32,
        /// Days still allowed.
        left: u32,
    },
}

/// Checks a freeze from `from` (first frozen day) to `until` (first day active again) against the plan's
/// allowance of `max_days_per_year`, given the days already frozen in the same contract year.
pub fn check_freeze(
    today: NaiveDate,
    from: NaiveDate,
    until: NaiveDate,
    max_days_per_year: u32,
    already_frozen_days: u32,
) -> Result<u32, FreezeRefused> {
    if until <= from {
        return Err(FreezeRefused::EndBeforeStart);
    }
    if from < today {
        return Err(FreezeRefused::StartsInPast);
    }
    let asked = u32::try_from((until - from).num_days()).unwrap_or(u32::MAX);
    let left = max_days_per_year.saturating_sub(already_frozen_days);
    if asked > left {
        return Err(FreezeRefused::OverAllowance { asked, left });
    }
    Ok(asked)
}

/// The contract year (from an anniversary of the start) that contains `day`.
pub fn contract_year(started_on: NaiveDate, day: NaiveDate) -> (NaiveDate, NaiveDate) {
    BillingPeriod::Year.period_containing(started_on, day.max(started_on))
}

/// When a plan change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeTiming {
    /// Today, with the current period prorated.
    Now,
    /// At the start of the next billing period, nothing prorated.
    NextPeriod,
}

/// The proration of a plan change, for billing: the unused part of the current period on the old price is
/// credited, the rest of the period on the new price is charged, both by days and rounded half away from zero
/// to the minor unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Proration {
    /// The rule, in words, for people and for the invoice line.
    pub rule: String,
    /// First day on the new plan.
    pub effective_on: NaiveDate,
    /// Days left in the current period from `effective_on`.
    pub days_left: u32,
    /// Days in the current period.
    pub period_days: u32,
    /// Credit for the old plan's unused days, in minor units.
    pub credit: i64,
    /// Charge for the new plan's days, in minor units.
    pub charge: i64,
}

/// Prorates a change from `old_price` to `new_price` (per period) on `on`, inside the period
/// `[period_start, period_end)`.
pub fn prorate(
    old_price: i64,
    new_price: i64,
    period_start: NaiveDate,
    period_end: NaiveDate,
    on: NaiveDate,
) -> Proration {
    let period_days = (period_end - period_start).num_days().max(1);
    let days_left = (period_end - on).num_days().clamp(0, period_days);
    let share = |price: i64| -> i64 {
        let numerator = i128::from(price) * i128::from(days_left);
        let denominator = i128::from(period_days);
        let rounded = (2 * numerator + denominator) / (2 * denominator);
        i64::try_from(rounded).unwrap_or(i64::MAX)
    };
    Proration {
        rule: "by day: credit = old price × days left ÷ period days; charge = new price × days left ÷ period days; rounded half up to the cent".into(),
        effective_on: on,
        days_left: u32::try_from(days_left).unwrap_or(0),
        period_days: u32::try_from(period_days).unwrap_or(0),
        credit: share(old_price),
        charge: share(new_price),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MembershipAction as A;
    use MembershipStatus as S;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Every (status, action) pair against the table of allowed transitions, written out separately.
    #[test]
    fn every_transition_allowed_or_refused() {
        let allowed: &[(S, A, S)] = &[
            (S::Pending, A::Activate, S::Active),
            (S::Pending, A::Cancel, S::Cancelled),
            (S::Pending, A::Withdraw, S::Cancelled),
            (S::Active, A::Freeze, S::Frozen),
            (S::Active, A::MarkPastDue, S::PastDue),
            (S::Active, A::Cancel, S::Cancelled),
            (S::Active, A::Withdraw, S::Cancelled),
            (S::Active, A::End, S::Ended),
            (S::Frozen, A::Unfreeze, S::Active),
            (S::Frozen, A::Cancel, S::Cancelled),
            (S::Frozen, A::End, S::Ended),
            (S::PastDue, A::Suspend, S::Suspended),
            (S::PastDue, A::Reinstate, S::Active),
            (S::PastDue, A::Cancel, S::Cancelled),
            (S::Suspended, A::Reinstate, S::Active),
            (S::Suspended, A::Cancel, S::Cancelled),
        ];
        let mut seen = 0;
        for from in S::ALL {
            for action in A::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (transition(from, action), expected) {
                    (Ok(to), Some(want)) => {
                        assert_eq!(to, want, "{from:?} {action:?}");
                        seen += 1;
                    }
                    (Err(e), None) => assert_eq!(e, TransitionRefused { from, action }),
                    (got, want) => panic!("{from:?} {action:?}: got {got:?}, want {want:?}"),
                }
            }
        }
        assert_eq!(seen, allowed.len());
        for status in [S::Cancelled, S::Ended] {
            assert!(status.is_final());
            assert!(A::ALL.iter().all(|a| transition(status, *a).is_err()));
        }
    }

    fn monthly(commitment: u32, notice: u32) -> ContractTerms {
        ContractTerms {
            billing_period: Some(BillingPeriod::Month),
            commitment_months: commitment,
            notice_days: notice,
            term_months: None,
        }
    }

    #[test]
    fn cancellation_respects_commitment_notice_and_periods() {
        // Monthly from 31 January 2026, 12 months' commitment, 30 days' notice.
        let terms = monthly(12, 30);
        let start = d(2026, 1, 31);
        let committed = commitment_until(start, 12);
        assert_eq!(committed, d(2027, 1, 31));
        // Asked early: the commitment decides.
        assert_eq!(
            cancellation_effective_on(&terms, start, committed, None, d(2026, 3, 10)),
            d(2027, 1, 31)
        );
        // Asked 10 December 2026: notice runs to 9 January 2027, inside the commitment: end of commitment.
        assert_eq!(
            cancellation_effective_on(&terms, start, committed, None, d(2026, 12, 10)),
            d(2027, 1, 31)
        );
        // Asked 15 January 2027: notice over 14 February 2027, in the period 31 Jan – 28 Feb: ends 28 February.
        assert_eq!(
            cancellation_effective_on(&terms, start, committed, None, d(2027, 1, 15)),
            d(2027, 2, 28)
        );
        // No commitment, no notice, asked on a period's last day: the period is kept whole, not cut.
        let free = monthly(0, 0);
        assert_eq!(
            cancellation_effective_on(&free, start, start, None, d(2026, 2, 27)),
            d(2026, 2, 28)
        );
        assert_eq!(
            cancellation_effective_on(&free, start, start, None, d(2026, 2, 28)),
            d(2026, 2, 28)
        );
        // Asked on the start day of a contract with no commitment and no notice: nothing to run.
        assert_eq!(
            cancellation_effective_on(&free, start, start, None, start),
            start
        );
    }

    #[test]
    fn cancellation_across_a_leap_february() {
        // Monthly from 29 February 2028, 1 month commitment, 14 days' notice, asked on 20 March 2028.
        let terms = monthly(1, 14);
        let start = d(2028, 2, 29);
        let committed = commitment_until(start, 1);
        assert_eq!(committed, d(2028, 3, 29));
        // Notice over 3 April, in the period 29 Mar – 29 Apr.
        assert_eq!(
            cancellation_effective_on(&terms, start, committed, None, d(2028, 3, 20)),
            d(2028, 4, 29)
        );
        // Yearly plan started on a leap day: the anniversary is 28 February.
        let yearly = ContractTerms {
            billing_period: Some(BillingPeriod::Year),
            commitment_months: 12,
            notice_days: 30,
            term_months: None,
        };
        assert_eq!(
            cancellation_effective_on(
                &yearly,
                start,
                commitment_until(start, 12),
                None,
                d(2029, 1, 1)
            ),
            d(2029, 2, 28)
        );
        assert_eq!(
            cancellation_effective_on(
                &yearly,
                start,
                commitment_until(start, 12),
                None,
                d(2029, 2, 1)
            ),
            d(2030, 2, 28)
        );
    }

    #[test]
    fn fixed_terms_end_at_their_term() {
        let terms = ContractTerms {
            billing_period: None,
            commitment_months: 0,
            notice_days: 0,
            term_months: Some(6),
        };
        let start = d(2026, 8, 31);
        let term_end = add_months(start, 6);
        assert_eq!(term_end, d(2027, 2, 28));
        assert_eq!(
            cancellation_effective_on(&terms, start, start, Some(term_end), d(2026, 10, 1)),
            term_end
        );
    }

    #[test]
    fn withdrawal_lasts_fourteen_days() {
        assert_eq!(withdrawal_deadline(d(2026, 12, 25)), d(2027, 1, 8));
        assert_eq!(withdrawal_deadline(d(2028, 2, 20)), d(2028, 3, 5));
    }

    #[test]
    fn freezes_follow_their_allowance() {
        let today = d(2026, 6, 1);
        assert_eq!(
            check_freeze(today, d(2026, 6, 1), d(2026, 6, 15), 30, 10),
            Ok(14)
        );
        assert_eq!(
            check_freeze(today, d(2026, 6, 1), d(2026, 6, 25), 30, 10),
            Err(FreezeRefused::OverAllowance {
                asked: 24,
                left: 20
            })
        );
        assert_eq!(
            check_freeze(today, d(2026, 6, 5), d(2026, 6, 5), 30, 0),
            Err(FreezeRefused::EndBeforeStart)
        );
        assert_eq!(
            check_freeze(today, d(2026, 5, 31), d(2026, 6, 5), 30, 0),
            Err(FreezeRefused::StartsInPast)
        );
        assert_eq!(
            contract_year(d(2028, 2, 29), d(2029, 3, 1)),
            (d(2029, 2, 28), d(2030, 2, 28))
        );
    }

    #[test]
    fn proration_by_days() {
        // 30-day period (1–31 June is 30 days: June has 30), change on 16 June: 15 days left of 30.
        let p = prorate(3000, 6000, d(2026, 6, 1), d(2026, 7, 1), d(2026, 6, 16));
        assert_eq!(
            (p.days_left, p.period_days, p.credit, p.charge),
            (15, 30, 1500, 3000)
        );
        // Rounding half up: 1001 × 1 / 2 = 500.5 → 501.
        let p = prorate(1001, 0, d(2026, 6, 1), d(2026, 6, 3), d(2026, 6, 2));
        assert_eq!(p.credit, 501);
        // February of a leap year has 29 days.
        let p = prorate(2900, 5800, d(2028, 2, 1), d(2028, 3, 1), d(2028, 2, 29));
        assert_eq!(
            (p.days_left, p.period_days, p.credit, p.charge),
            (1, 29, 100, 200)
        );
    }
}
