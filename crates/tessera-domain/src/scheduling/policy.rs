//! A brand's booking rules (`[booking]` in its tenant file): the late-cancellation window, the fees of a late
//! cancellation and of a no-show, the waitlist size, how far ahead class sessions exist; and the decisions made
//! with them.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::money::Money;

/// A brand's booking rules, with defaults for a brand that sets none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BookingPolicy {
    /// A cancellation less than this many hours before the start is late.
    pub late_cancel_hours: u32,
    /// Charged for a late cancellation (none when absent).
    pub late_cancel_fee: Option<Money>,
    /// Charged for a no-show (none when absent).
    pub no_show_fee: Option<Money>,
    /// Places on a class session's waitlist; 0 disables waitlists (a full class refuses with `class_full`).
    pub waitlist_size: u32,
    /// How many weeks ahead class sessions are generated.
    pub class_weeks_ahead: u32,
    /// Granularity of appointment slots, in minutes.
    pub slot_step_minutes: u32,
}

impl Default for BookingPolicy {
    fn default() -> Self {
        BookingPolicy {
            late_cancel_hours: 24,
            late_cancel_fee: None,
            no_show_fee: None,
            waitlist_size: 20,
            class_weeks_ahead: 4,
            slot_step_minutes: 15,
        }
    }
}

/// What a cancellation is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// In time: nothing owed, a consumed class-pack session is given back.
    InTime,
    /// Late: the fee (if the brand charges one) is owed and the session stays consumed.
    Late {
        /// The late-cancellation fee.
        fee: Option<Money>,
    },
}

/// Why a booking action is refused by the rules; `code()` is the API's stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The start is not in the future.
    #[error("this starts in the past")]
    InPast,
    /// It has already started: too late to cancel or move.
    #[error("this has already started")]
    AlreadyStarted,
    /// Attendance is confirmed once the session has started.
    #[error("attendance can be confirmed once the session has started")]
    NotStarted,
}

impl PolicyError {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            PolicyError::InPast => "booking_in_past",
            PolicyError::AlreadyStarted => "already_started",
            PolicyError::NotStarted => "session_not_started",
        }
    }
}

impl BookingPolicy {
    /// A new booking (or a move) to `starts_at` is possible only in the future.
    pub fn check_bookable(
        &self,
        starts_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), PolicyError> {
        if starts_at <= now {
            Err(PolicyError::InPast)
        } else {
            Ok(())
        }
    }

    /// What cancelling a booking starting at `starts_at` is at `now`.
    pub fn cancel_outcome(
        &self,
        starts_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<CancelOutcome, PolicyError> {
        if starts_at <= now {
            return Err(PolicyError::AlreadyStarted);
        }
        if starts_at - now < Duration::hours(i64::from(self.late_cancel_hours)) {
            Ok(CancelOutcome::Late {
                fee: self.late_cancel_fee.clone(),
            })
        } else {
            Ok(CancelOutcome::InTime)
        }
    }

    /// Presence or no-show is confirmed once the session has started; a no-show owes the no-show fee.
    pub fn check_attendance(
        &self,
        starts_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), PolicyError> {
        if now < starts_at {
            Err(PolicyError::NotStarted)
        } else {
            Ok(())
        }
    }

    /// The fee owed for an outcome of attendance (`present == false` is a no-show).
    pub fn attendance_fee(&self, present: bool) -> Option<Money> {
        if present {
            None
        } else {
            self.no_show_fee.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn fee() -> Money {
        Money {
            amount: 1500,
            currency: "EUR".into(),
        }
    }

    #[test]
    fn cancellation_window() {
        let policy = BookingPolicy {
            late_cancel_fee: Some(fee()),
            ..BookingPolicy::default()
        };
        let start = at("2026-06-02T10:00:00Z");
        assert_eq!(
            policy.cancel_outcome(start, at("2026-06-01T10:00:00Z")),
            Ok(CancelOutcome::InTime)
        );
        assert_eq!(
            policy.cancel_outcome(start, at("2026-06-01T09:59:59Z")),
            Ok(CancelOutcome::InTime)
        );
        assert_eq!(
            policy.cancel_outcome(start, at("2026-06-01T10:00:01Z")),
            Ok(CancelOutcome::Late { fee: Some(fee()) })
        );
        assert_eq!(
            policy.cancel_outcome(start, start),
            Err(PolicyError::AlreadyStarted)
        );
        let lenient = BookingPolicy {
            late_cancel_hours: 0,
            ..BookingPolicy::default()
        };
        assert_eq!(
            lenient.cancel_outcome(start, at("2026-06-02T09:59:00Z")),
            Ok(CancelOutcome::InTime)
        );
    }

    #[test]
    fn booking_and_attendance_times() {
        let policy = BookingPolicy::default();
        let start = at("2026-06-02T10:00:00Z");
        assert_eq!(
            policy.check_bookable(start, at("2026-06-02T09:00:00Z")),
            Ok(())
        );
        assert_eq!(
            policy.check_bookable(start, start).unwrap_err().code(),
            "booking_in_past"
        );
        assert_eq!(
            policy
                .check_attendance(start, at("2026-06-02T09:00:00Z"))
                .unwrap_err()
                .code(),
            "session_not_started"
        );
        assert_eq!(policy.check_attendance(start, start), Ok(()));
        let strict = BookingPolicy {
            no_show_fee: Some(fee()),
            ..BookingPolicy::default()
        };
        assert_eq!(strict.attendance_fee(false), Some(fee()));
        assert_eq!(strict.attendance_fee(true), None);
        assert_eq!(policy.attendance_fee(false), None);
    }

    #[test]
    fn defaults_and_toml() {
        let parsed: BookingPolicy = toml::from_str(
            "late_cancel_hours = 12\nno_show_fee = { amount = 1500, currency = \"EUR\" }",
        )
        .unwrap();
        assert_eq!(parsed.late_cancel_hours, 12);
        assert_eq!(parsed.no_show_fee, Some(fee()));
        assert_eq!(parsed.waitlist_size, 20);
        assert!(toml::from_str::<BookingPolicy>("late_cancel = 1").is_err());
    }
}
