//! Bookable slots: a pro's weekly hours, read as wall-clock times in each location's time zone day by day (so a
//! daylight-saving change moves the UTC instants, never the local times), minus exceptions, minus what is already
//! booked (with buffers on both sides) and minus the past.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::hours::{DateRange, WeeklyHours};
use super::time::local_to_utc;

/// Time already taken in the pro's agenda, buffers included: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// Start.
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
}

/// A bookable slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// When the appointment would start.
    pub start: DateTime<Utc>,
    /// When it would end (without buffers).
    pub end: DateTime<Utc>,
    /// Where (the location of the working hours it falls in).
    pub location_id: String,
}

/// What to compute slots for.
#[derive(Debug, Clone)]
pub struct SlotQuery {
    /// First local day.
    pub from: NaiveDate,
    /// Last local day (inclusive).
    pub until: NaiveDate,
    /// Length of the service.
    pub duration_minutes: u32,
    /// Free time needed before it.
    pub buffer_before_minutes: u32,
    /// Free time needed after it.
    pub buffer_after_minutes: u32,
    /// Slots start every `step_minutes` from the start of a working period.
    pub step_minutes: u32,
    /// Slots starting at or before this instant are not offered.
    pub now: DateTime<Utc>,
}

/// The time an appointment starting at `start` blocks, buffers included.
pub fn blocked(start: DateTime<Utc>, duration: u32, before: u32, after: u32) -> Busy {
    Busy {
        start: start - Duration::minutes(i64::from(before)),
        end: start + Duration::minutes(i64::from(duration) + i64::from(after)),
    }
}

/// True when `a` and `b` overlap (touching ends do not).
pub fn overlaps(a: &Busy, b: &Busy) -> bool {
    a.start < b.end && b.start < a.end
}

/// The UTC offset of `date` in `tz` when it is the same all day (no daylight-saving change that day), so that
/// local times convert by subtraction.
fn fixed_offset_of_day(tz: Tz, date: NaiveDate) -> Option<Duration> {
    use chrono::{Offset, TimeZone};
    let first = local_to_utc(tz, date, 0)?;
    let last = local_to_utc(tz, date, 24 * 60 - 1)?;
    let a = tz
        .offset_from_utc_datetime(&first.naive_utc())
        .fix()
        .local_minus_utc();
    let b = tz
        .offset_from_utc_datetime(&last.naive_utc())
        .fix()
        .local_minus_utc();
    (a == b).then(|| Duration::seconds(i64::from(a)))
}

/// Local midnight of `date` read as if it were UTC.
fn midnight(date: NaiveDate) -> Option<DateTime<Utc>> {
    date.and_hms_opt(0, 0, 0).map(|n| n.and_utc())
}

/// Every bookable slot, in time order. `tz_of` gives the time zone of a location of `hours`.
pub fn bookable_slots(
    query: &SlotQuery,
    hours: &[WeeklyHours],
    exceptions: &[DateRange],
    busy: &[Busy],
    tz_of: impl Fn(&str) -> Tz,
) -> Vec<Slot> {
    let mut busy = busy.to_vec();
    busy.sort_by_key(|b| b.start);
    let step = query.step_minutes.max(5);
    let mut out = Vec::new();
    let mut date = query.from;
    while date <= query.until {
        if !exceptions.iter().any(|e| e.contains(date)) {
            let mut periods: Vec<&WeeklyHours> =
                hours.iter().filter(|h| h.applies_on(date)).collect();
            periods.sort_by_key(|h| h.start_minute);
            for period in periods {
                let tz = tz_of(&period.location_id);
                let fixed = fixed_offset_of_day(tz, date);
                let mut minute = period.start_minute;
                while minute + query.duration_minutes <= period.end_minute {
                    // A wall-clock time skipped by a daylight-saving change is no slot.
                    let start = match fixed {
                        Some(offset) => midnight(date)
                            .map(|m| m + Duration::minutes(i64::from(minute)) - offset),
                        None => local_to_utc(tz, date, minute),
                    };
                    if let Some(start) = start {
                        let end = start + Duration::minutes(i64::from(query.duration_minutes));
                        let block = blocked(
                            start,
                            query.duration_minutes,
                            query.buffer_before_minutes,
                            query.buffer_after_minutes,
                        );
                        let later = busy.partition_point(|b| b.start < block.end);
                        let free = !busy[..later].iter().any(|b| overlaps(b, &block));
                        if start > query.now && free {
                            out.push(Slot {
                                start,
                                end,
                                location_id: period.location_id.clone(),
                            });
                        }
                    }
                    minute += step;
                }
            }
        }
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
    }
    out.sort_by_key(|s| s.start);
    out.dedup_by_key(|s| s.start);
    out
}

/// The location of the working period that holds all of `[start, end)`, if the pro works then: the period's
/// local day is the local date of `start` in its location's time zone, and no exception covers that day.
pub fn working_period_at(
    hours: &[WeeklyHours],
    exceptions: &[DateRange],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz_of: impl Fn(&str) -> Tz,
) -> Option<String> {
    hours.iter().find_map(|period| {
        let tz = tz_of(&period.location_id);
        let date = super::time::local_date(tz, start);
        if !period.applies_on(date) || exceptions.iter().any(|e| e.contains(date)) {
            return None;
        }
        let open = (period.start_minute..period.end_minute)
            .step_by(15)
            .find_map(|m| local_to_utc(tz, date, m))?;
        let close = (0..=period.end_minute.min(24 * 60))
            .rev()
            .step_by(15)
            .find_map(|m| {
                if m == 24 * 60 {
                    date.succ_opt().and_then(|d| local_to_utc(tz, d, 0))
                } else {
                    local_to_utc(tz, date, m)
                }
            })?;
        (open <= start && end <= close).then(|| period.location_id.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::time::{parse_date, parse_time_zone};

    fn paris() -> Tz {
        parse_time_zone("Europe/Paris").unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn hours(weekday: u32, start: u32, end: u32) -> WeeklyHours {
        WeeklyHours {
            weekday,
            start_minute: start,
            end_minute: end,
            location_id: "loc_a".into(),
        }
    }

    fn query(from: &str, until: &str) -> SlotQuery {
        SlotQuery {
            from: parse_date(from).unwrap(),
            until: parse_date(until).unwrap(),
            duration_minutes: 60,
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            step_minutes: 60,
            now: at("2026-01-01T00:00:00Z"),
        }
    }

    fn starts(slots: &[Slot]) -> Vec<String> {
        slots
            .iter()
            .map(|s| s.start.format("%m-%dT%H:%MZ").to_string())
            .collect()
    }

    #[test]
    fn spring_forward_keeps_local_times() {
        // Saturday 28 and Sunday 29 March 2026, 09:00-11:00 local.
        let week = [hours(6, 540, 660), hours(7, 540, 660)];
        let slots = bookable_slots(&query("2026-03-28", "2026-03-29"), &week, &[], &[], |_| {
            paris()
        });
        assert_eq!(
            starts(&slots),
            [
                "03-28T08:00Z",
                "03-28T09:00Z",
                "03-29T07:00Z",
                "03-29T08:00Z"
            ]
        );
        assert!(slots
            .iter()
            .all(|s| s.end - s.start == Duration::minutes(60)));
    }

    #[test]
    fn fall_back_keeps_local_times() {
        let week = [hours(6, 540, 600), hours(7, 540, 600)];
        let slots = bookable_slots(&query("2026-10-24", "2026-10-25"), &week, &[], &[], |_| {
            paris()
        });
        assert_eq!(starts(&slots), ["10-24T07:00Z", "10-25T08:00Z"]);
    }

    #[test]
    fn night_hours_across_the_changes() {
        // 01:00-04:00 local with 60-minute steps: 02:00 does not exist on 29 March; on 25 October 02:00 happens
        // twice and is offered once (the earlier instant), and the slot from 03:00 is a full hour later in UTC.
        let spring = bookable_slots(
            &query("2026-03-29", "2026-03-29"),
            &[hours(7, 60, 240)],
            &[],
            &[],
            |_| paris(),
        );
        assert_eq!(starts(&spring), ["03-29T00:00Z", "03-29T01:00Z"]);
        let autumn = bookable_slots(
            &query("2026-10-25", "2026-10-25"),
            &[hours(7, 60, 240)],
            &[],
            &[],
            |_| paris(),
        );
        assert_eq!(
            starts(&autumn),
            ["10-24T23:00Z", "10-25T00:00Z", "10-25T02:00Z"]
        );
    }

    #[test]
    fn exceptions_remove_whole_days() {
        let week = [hours(1, 540, 600), hours(2, 540, 600), hours(3, 540, 600)];
        let leave = DateRange::new(
            parse_date("2026-06-02").unwrap(),
            parse_date("2026-06-02").unwrap(),
        )
        .unwrap();
        let slots = bookable_slots(
            &query("2026-06-01", "2026-06-03"),
            &week,
            &[leave],
            &[],
            |_| paris(),
        );
        assert_eq!(starts(&slots), ["06-01T07:00Z", "06-03T07:00Z"]);
    }

    #[test]
    fn booked_time_and_buffers_are_excluded() {
        let week = [hours(1, 540, 780)]; // Monday 09:00-13:00 local = 07:00-11:00Z in June
        let mut q = query("2026-06-01", "2026-06-01");
        q.step_minutes = 30;
        q.buffer_after_minutes = 15;
        // Taken 09:00-10:15Z (an appointment with its own buffer).
        let busy = [Busy {
            start: at("2026-06-01T09:00:00Z"),
            end: at("2026-06-01T10:15:00Z"),
        }];
        let slots = bookable_slots(&q, &week, &[], &busy, |_| paris());
        // 07:00 and 07:30 are free (their after-buffer ends by 08:45); 08:00 + 60 + 15 runs into 09:00; 10:00
        // starts before the taken time ends; 10:30 would end after the working period.
        assert_eq!(starts(&slots), ["06-01T07:00Z", "06-01T07:30Z"]);
        // Buffers before too.
        q.buffer_after_minutes = 0;
        q.buffer_before_minutes = 30;
        let slots = bookable_slots(&q, &week, &[], &busy, |_| paris());
        assert_eq!(
            starts(&slots),
            ["06-01T07:00Z", "06-01T07:30Z", "06-01T08:00Z"]
        );
    }

    #[test]
    fn working_periods_hold_appointments() {
        let week = [hours(1, 540, 720)]; // Monday 09:00-12:00 Paris = 07:00-10:00Z in June
        let leave = DateRange::new(
            parse_date("2026-06-08").unwrap(),
            parse_date("2026-06-08").unwrap(),
        )
        .unwrap();
        let check =
            |s: &str, e: &str| working_period_at(&week, &[leave], at(s), at(e), |_| paris());
        assert_eq!(
            check("2026-06-01T07:00:00Z", "2026-06-01T08:00:00Z").as_deref(),
            Some("loc_a")
        );
        assert_eq!(
            check("2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z").as_deref(),
            Some("loc_a")
        );
        assert_eq!(check("2026-06-01T09:30:00Z", "2026-06-01T10:30:00Z"), None);
        assert_eq!(check("2026-06-01T06:30:00Z", "2026-06-01T07:30:00Z"), None);
        assert_eq!(check("2026-06-02T07:00:00Z", "2026-06-02T08:00:00Z"), None);
        assert_eq!(check("2026-06-08T07:00:00Z", "2026-06-08T08:00:00Z"), None);
    }

    #[test]
    fn the_fast_path_agrees_with_the_time_zone_every_day_of_a_year() {
        for zone in [
            "Europe/Paris",
            "America/New_York",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
        ] {
            let tz = parse_time_zone(zone).unwrap();
            let mut date = parse_date("2026-01-01").unwrap();
            while date < parse_date("2027-01-01").unwrap() {
                if let Some(offset) = fixed_offset_of_day(tz, date) {
                    for minute in (0..24 * 60).step_by(15) {
                        let fast = midnight(date).unwrap() + Duration::minutes(minute) - offset;
                        assert_eq!(
                            Some(fast),
                            local_to_utc(tz, date, minute as u32),
                            "{zone} {date} {minute}"
                        );
                    }
                }
                date = date.succ_opt().unwrap();
            }
        }
    }

    #[test]
    fn the_past_is_not_offered() {
        let mut q = query("2026-06-01", "2026-06-01");
        q.now = at("2026-06-01T08:00:00Z");
        let slots = bookable_slots(&q, &[hours(1, 540, 720)], &[], &[], |_| paris());
        assert_eq!(starts(&slots), ["06-01T09:00Z"]);
    }
}
