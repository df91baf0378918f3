//! Local wall-clock times in a time zone, turned into UTC instants the way a calendar user expects across
//! daylight-saving changes.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::FieldError;

/// Parses an IANA time zone name (`Europe/Paris`).
pub fn parse_time_zone(name: &str) -> Result<Tz, FieldError> {
    name.parse::<Tz>().map_err(|_| {
        FieldError::new(
            "",
            "unknown_time_zone",
            format!("{name:?} is not an IANA time zone"),
        )
    })
}

/// Parses a calendar date (`2026-03-29`).
pub fn parse_date(text: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| FieldError::new("", "invalid_date", "a date is written YYYY-MM-DD"))
}

/// Parses a local time of day (`09:30`) into minutes after midnight.
pub fn parse_minute_of_day(text: &str) -> Result<u32, FieldError> {
    NaiveTime::parse_from_str(text, "%H:%M")
        .map(minute_of)
        .map_err(|_| FieldError::new("", "invalid_time", "a time of day is written HH:MM"))
}

fn minute_of(t: NaiveTime) -> u32 {
    use chrono::Timelike;
    t.hour() * 60 + t.minute()
}

/// Writes minutes after midnight as `HH:MM`.
pub fn format_minute_of_day(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// The UTC instant of a local date and minute of day in `tz`: `None` when that wall-clock time does not exist
/// (skipped by a spring-forward change); the earlier instant when it happens twice (autumn fall-back).
pub fn local_to_utc(tz: Tz, date: NaiveDate, minute_of_day: u32) -> Option<DateTime<Utc>> {
    let naive: NaiveDateTime =
        date.and_hms_opt(0, 0, 0)? + chrono::Duration::minutes(i64::from(minute_of_day));
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// The UTC instant when the local `date` starts in `tz` (the first existing minute of that day).
pub fn start_of_local_day(tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
    (0..24 * 60)
        .step_by(15)
        .find_map(|m| local_to_utc(tz, date, m))
}

/// The local date of an instant in `tz`.
pub fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        parse_date(text).unwrap()
    }

    #[test]
    fn paris_wall_clock_follows_daylight_saving() {
        let paris = parse_time_zone("Europe/Paris").unwrap();
        // 09:00 in Paris: UTC+1 in winter, UTC+2 in summer.
        assert_eq!(
            local_to_utc(paris, d("2026-03-28"), 540)
                .unwrap()
                .to_rfc3339(),
            "2026-03-28T08:00:00+00:00"
        );
        assert_eq!(
            local_to_utc(paris, d("2026-03-29"), 540)
                .unwrap()
                .to_rfc3339(),
            "2026-03-29T07:00:00+00:00"
        );
        assert_eq!(
            local_to_utc(paris, d("2026-10-24"), 540)
                .unwrap()
                .to_rfc3339(),
            "2026-10-24T07:00:00+00:00"
        );
        assert_eq!(
            local_to_utc(paris, d("2026-10-25"), 540)
                .unwrap()
                .to_rfc3339(),
            "2026-10-25T08:00:00+00:00"
        );
        // 02:30 does not exist on 29 March; it happens twice on 25 October (the earlier is taken).
        assert_eq!(local_to_utc(paris, d("2026-03-29"), 150), None);
        assert_eq!(
            local_to_utc(paris, d("2026-10-25"), 150)
                .unwrap()
                .to_rfc3339(),
            "2026-10-25T00:30:00+00:00"
        );
        assert_eq!(
            start_of_local_day(paris, d("2026-03-29"))
                .unwrap()
                .to_rfc3339(),
            "2026-03-28T23:00:00+00:00"
        );
    }

    #[test]
    fn parsing() {
        assert_eq!(parse_minute_of_day("09:30"), Ok(570));
        assert_eq!(
            parse_minute_of_day("24:00").unwrap_err().code,
            "invalid_time"
        );
        assert_eq!(format_minute_of_day(570), "09:30");
        assert_eq!(parse_date("2026-02-30").unwrap_err().code, "invalid_date");
        assert_eq!(
            parse_time_zone("Mars/Olympus").unwrap_err().code,
            "unknown_time_zone"
        );
    }
}
