//! A pro's weekly working hours (local wall-clock times per weekday and location) and the date ranges when they
//! do not work (leave, holidays).

use chrono::{Datelike, NaiveDate};

use crate::{FieldError, FieldErrors};

/// One weekly working period, in the location's local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyHours {
    /// ISO weekday: 1 Monday ... 7 Sunday.
    pub weekday: u32,
    /// Start, minutes after local midnight.
    pub start_minute: u32,
    /// End (exclusive), minutes after local midnight; at most 1440.
    pub end_minute: u32,
    /// Where the pro works then.
    pub location_id: String,
}

impl WeeklyHours {
    /// True when this period applies on `date`.
    pub fn applies_on(&self, date: NaiveDate) -> bool {
        date.weekday().number_from_monday() == self.weekday
    }
}

/// An inclusive range of dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub until: NaiveDate,
}

impl DateRange {
    /// A range, refused when it ends before it starts (`end_before_start`).
    pub fn new(from: NaiveDate, until: NaiveDate) -> Result<DateRange, FieldError> {
        if until < from {
            return Err(FieldError::new(
                "until",
                "end_before_start",
                "the range ends before it starts",
            ));
        }
        Ok(DateRange { from, until })
    }

    /// True when `date` is in the range.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.until
    }
}

/// Checks a week of hours: weekdays 1 to 7, each period ending after it starts and within the day, and no two
/// periods of one weekday overlapping. Errors are named `hours[i].field`.
pub fn validate_week(hours: &[WeeklyHours]) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    for (i, h) in hours.iter().enumerate() {
        if !(1..=7).contains(&h.weekday) {
            errors.push(FieldError::new(
                format!("hours[{i}].weekday"),
                "out_of_range",
                "1 (Monday) to 7 (Sunday)",
            ));
        }
        if h.end_minute > 24 * 60 || h.start_minute >= 24 * 60 {
            errors.push(FieldError::new(
                format!("hours[{i}].end"),
                "out_of_range",
                "within one day",
            ));
        } else if h.end_minute <= h.start_minute {
            errors.push(FieldError::new(
                format!("hours[{i}].end"),
                "end_before_start",
                "a period ends after it starts",
            ));
        }
    }
    if errors.is_empty() {
        for (i, a) in hours.iter().enumerate() {
            let clash = hours.iter().enumerate().any(|(j, b)| {
                j < i
                    && a.weekday == b.weekday
                    && a.start_minute < b.end_minute
                    && b.start_minute < a.end_minute
            });
            if clash {
                errors.push(FieldError::new(
                    format!("hours[{i}]"),
                    "overlapping_hours",
                    "overlaps another period of the same day",
                ));
            }
        }
    }
    errors.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(weekday: u32, start: u32, end: u32) -> WeeklyHours {
        WeeklyHours {
            weekday,
            start_minute: start,
            end_minute: end,
            location_id: "loc".into(),
        }
    }

    #[test]
    fn weeks_are_validated() {
        assert!(validate_week(&[h(1, 540, 720), h(1, 780, 1080), h(7, 0, 1440)]).is_ok());
        let e = validate_week(&[h(1, 600, 540)]).unwrap_err();
        assert_eq!(
            (e.0[0].field.as_str(), e.0[0].code),
            ("hours[0].end", "end_before_start")
        );
        let e = validate_week(&[h(8, 540, 600)]).unwrap_err();
        assert_eq!(e.0[0].code, "out_of_range");
        let e = validate_week(&[h(1, 540, 1500)]).unwrap_err();
        assert_eq!(e.0[0].code, "out_of_range");
        let e = validate_week(&[h(2, 540, 720), h(2, 700, 800)]).unwrap_err();
        assert_eq!(
            (e.0[0].field.as_str(), e.0[0].code),
            ("hours[1]", "overlapping_hours")
        );
        assert!(validate_week(&[h(2, 540, 720), h(2, 720, 800)]).is_ok());
    }

    #[test]
    fn ranges() {
        let a = NaiveDate::from_ymd_opt(2026, 8, 1).unwrap();
        let b = NaiveDate::from_ymd_opt(2026, 8, 15).unwrap();
        let r = DateRange::new(a, b).unwrap();
        assert!(r.contains(a) && r.contains(b));
        assert!(!r.contains(b.succ_opt().unwrap()));
        assert_eq!(DateRange::new(b, a).unwrap_err().code, "end_before_start");
        assert!(h(6, 0, 60).applies_on(a)); // 1 August 2026 is a Saturday
    }
}
