//! Class sessions from a recurring schedule: one session per matching weekday at a local start time, between the
//! schedule's validity dates and inside the window asked for. The same schedule and window always give the same
//! sessions, so generation can be repeated safely.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::time::local_to_utc;

/// A weekly class, in local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    /// ISO weekday: 1 Monday ... 7 Sunday.
    pub weekday: u32,
    /// Local start, minutes after midnight.
    pub start_minute: u32,
    /// Length.
    pub duration_minutes: u32,
    /// First day it may happen.
    pub valid_from: NaiveDate,
    /// Last day it may happen (inclusive), if it ends.
    pub valid_until: Option<NaiveDate>,
}

/// The sessions of `rule` on local days `from..=until` in `tz`, as `(start, end)` in UTC. A start time that does
/// not exist that day (skipped by a spring-forward change) moves to the first minute after the gap.
pub fn occurrences(
    rule: &Recurrence,
    tz: Tz,
    from: NaiveDate,
    until: NaiveDate,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    use chrono::Datelike;
    let first = from.max(rule.valid_from);
    let last = match rule.valid_until {
        Some(end) => until.min(end),
        None => until,
    };
    let mut out = Vec::new();
    let mut date = first;
    while date <= last {
        if date.weekday().number_from_monday() == rule.weekday {
            let start = (rule.start_minute..rule.start_minute + 120)
                .step_by(15)
                .find_map(|m| local_to_utc(tz, date, m));
            if let Some(start) = start {
                out.push((
                    start,
                    start + Duration::minutes(i64::from(rule.duration_minutes)),
                ));
            }
        }
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::time::{parse_date, parse_time_zone};

    fn rule(weekday: u32, start: u32) -> Recurrence {
        Recurrence {
            weekday,
            start_minute: start,
            duration_minutes: 45,
            valid_from: parse_date("2026-03-01").unwrap(),
            valid_until: Some(parse_date("2026-04-30").unwrap()),
        }
    }

    #[test]
    fn weekly_sessions_keep_local_time_across_dst() {
        let paris = parse_time_zone("Europe/Paris").unwrap();
        let found = occurrences(
            &rule(7, 18 * 60),
            paris,
            parse_date("2026-03-20").unwrap(),
            parse_date("2026-04-06").unwrap(),
        );
        let starts: Vec<String> = found.iter().map(|(s, _)| s.to_rfc3339()).collect();
        assert_eq!(
            starts,
            [
                "2026-03-22T17:00:00+00:00",
                "2026-03-29T16:00:00+00:00",
                "2026-04-05T16:00:00+00:00"
            ]
        );
        assert!(found.iter().all(|(s, e)| *e - *s == Duration::minutes(45)));
    }

    #[test]
    fn validity_bounds_and_gaps() {
        let paris = parse_time_zone("Europe/Paris").unwrap();
        // valid_until cuts the window.
        let found = occurrences(
            &rule(4, 600),
            paris,
            parse_date("2026-04-20").unwrap(),
            parse_date("2026-05-20").unwrap(),
        );
        assert_eq!(found.len(), 2); // 23 and 30 April
                                    // Before valid_from: nothing.
        assert!(occurrences(
            &rule(4, 600),
            paris,
            parse_date("2026-01-01").unwrap(),
            parse_date("2026-02-28").unwrap()
        )
        .is_empty());
        // 02:30 on 29 March does not exist: the session moves to 03:00 local (01:00Z).
        let found = occurrences(
            &rule(7, 150),
            paris,
            parse_date("2026-03-29").unwrap(),
            parse_date("2026-03-29").unwrap(),
        );
        assert_eq!(found[0].0.to_rfc3339(), "2026-03-29T01:00:00+00:00");
        // Same input, same output (idempotent generation).
        let a = occurrences(
            &rule(1, 540),
            paris,
            parse_date("2026-03-01").unwrap(),
            parse_date("2026-04-30").unwrap(),
        );
        let b = occurrences(
            &rule(1, 540),
            paris,
            parse_date("2026-03-01").unwrap(),
            parse_date("2026-04-30").unwrap(),
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 9);
    }
}
