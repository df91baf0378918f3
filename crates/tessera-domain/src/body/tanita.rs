//! The Tanita key/value format (BC-601 and kin, `DATA*.CSV` on the SD card): one measurement per line,
//! `{0,16,~0,2,~1,2,...,MO,"BC-601",DT,"12/01/2016",Ti,"23:48:53",...,CS,30}`: a two-value header, then `KEY,VALUE`
//! pairs. `~0` is the unit flag: `2` metric (kg, cm), `3` imperial (lb, inches; percentages stay percentages).
//!
//! Keys read: `DT` date (DD/MM/YYYY), `Ti` time (device-local), `Hm` height, `Wk` weight, `MI` BMI, `FW` body fat %,
//! `Fr`/`Fl`/`FR`/`FL`/`FT` fat % of right arm, left arm, right leg, left leg, trunk, `mW` muscle mass,
//! `mr`/`ml`/`mR`/`mL`/`mT` muscle mass of the same segments, `bW` bone mass, `IF` visceral fat rating, `rA`
//! metabolic age, `ww` body water %. Every pair, these included, is kept in `raw` (`rD`, the daily calorie intake
//! the device estimates from the activity level, is not a basal metabolic rate and stays there only).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

use super::{round, Measurement, Parsed, CM_PER_IN, KG_PER_LB};
use crate::FieldError;

fn bad(line: usize, message: impl std::fmt::Display) -> FieldError {
    FieldError::new(
        format!("data.line[{line}]"),
        "invalid_tanita_line",
        message.to_string(),
    )
}

/// Parses every measurement line of `text` (blank lines and `#` comments skipped); device-local times are read in
/// `tz`. A truncated or malformed line is an error naming its line number (1-based).
pub fn parse(text: &str, tz: Tz) -> Result<Vec<Parsed>, FieldError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_line(line, tz).map_err(|m| bad(i + 1, m))?);
    }
    if out.is_empty() {
        return Err(FieldError::new("data", "empty", "no measurement line"));
    }
    Ok(out)
}

fn parse_line(line: &str, tz: Tz) -> Result<Parsed, String> {
    let inner = line
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .ok_or("truncated: a line is {...}")?;
    let tokens: Vec<&str> = inner.split(',').map(str::trim).collect();
    if tokens.len() < 4 || !tokens.len().is_multiple_of(2) {
        return Err("truncated: the pairs do not add up".into());
    }
    let mut raw = serde_json::Map::new();
    let mut imperial = false;
    let (mut date, mut time) = (None, None);
    let mut m = Measurement::default();
    for pair in tokens[2..].chunks(2) {
        let (key, value) = (pair[0], pair[1].trim_matches('"'));
        raw.insert(key.to_owned(), serde_json::Value::String(value.to_owned()));
        let number = || -> Result<f64, String> {
            value
                .parse::<f64>()
                .map_err(|_| format!("{key}: {value:?} is not a number"))
        };
        match key {
            "~0" => imperial = value == "3",
            "DT" => {
                date = Some(
                    NaiveDate::parse_from_str(value, "%d/%m/%Y")
                        .map_err(|_| format!("DT: {value:?} is not DD/MM/YYYY"))?,
                )
            }
            "Ti" => {
                time = Some(
                    NaiveTime::parse_from_str(value, "%H:%M:%S")
                        .map_err(|_| format!("Ti: {value:?} is not HH:MM:SS"))?,
                )
            }
            "Hm" => m.height_cm = Some(number()?),
            "Wk" => m.weight_kg = Some(number()?),
            "MI" => m.bmi = Some(number()?),
            "FW" => m.body_fat_percent = Some(number()?),
            "Fr" => m.segmental_fat_percent.right_arm = Some(number()?),
            "Fl" => m.segmental_fat_percent.left_arm = Some(number()?),
            "FR" => m.segmental_fat_percent.right_leg = Some(number()?),
            "FL" => m.segmental_fat_percent.left_leg = Some(number()?),
            "FT" => m.segmental_fat_percent.trunk = Some(number()?),
            "mW" => m.muscle_mass_kg = Some(number()?),
            "mr" => m.segmental_lean_kg.right_arm = Some(number()?),
            "ml" => m.segmental_lean_kg.left_arm = Some(number()?),
            "mR" => m.segmental_lean_kg.right_leg = Some(number()?),
            "mL" => m.segmental_lean_kg.left_leg = Some(number()?),
            "mT" => m.segmental_lean_kg.trunk = Some(number()?),
            "bW" => m.bone_mass_kg = Some(number()?),
            "IF" => m.visceral_fat_level = Some(number()?),
            "rA" => m.metabolic_age = Some(number()?),
            "ww" => m.total_body_water_percent = Some(number()?),
            _ => {}
        }
    }
    if imperial {
        let kg = |v: &mut Option<f64>| *v = v.map(|x| round(x * KG_PER_LB, 2));
        kg(&mut m.weight_kg);
        kg(&mut m.muscle_mass_kg);
        kg(&mut m.bone_mass_kg);
        for segment in [
            &mut m.segmental_lean_kg.right_arm,
            &mut m.segmental_lean_kg.left_arm,
            &mut m.segmental_lean_kg.trunk,
            &mut m.segmental_lean_kg.right_leg,
            &mut m.segmental_lean_kg.left_leg,
        ] {
            kg(segment);
        }
        m.height_cm = m.height_cm.map(|x| round(x * CM_PER_IN, 1));
    }
    if let (Some(w), Some(p)) = (m.weight_kg, m.total_body_water_percent) {
        m.total_body_water_kg = Some(round(w * p / 100.0, 2));
    }
    let (Some(date), Some(time)) = (date, time) else {
        return Err("DT and Ti are required".into());
    };
    let local = NaiveDateTime::new(date, time);
    m.measured_at = tz
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc));
    raw.insert("format".into(), "tanita".into());
    m.raw = serde_json::Value::Object(raw);
    Ok(Parsed {
        measurement: m,
        member_hint: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../../../tests/fixtures/tanita-bc601.txt");

    #[test]
    fn the_real_bc601_lines_are_read_with_units_converted() {
        let parsed = parse(SAMPLE, chrono_tz::Europe::Paris).unwrap();
        assert_eq!(parsed.len(), 3);
        let metric = &parsed[0].measurement;
        assert_eq!(metric.weight_kg, Some(96.1));
        assert_eq!(metric.height_cm, Some(185.0));
        assert_eq!(metric.body_fat_percent, Some(18.9));
        assert_eq!(metric.muscle_mass_kg, Some(74.1));
        assert_eq!(metric.visceral_fat_level, Some(5.0));
        assert_eq!(metric.segmental_lean_kg.trunk, Some(39.0));
        assert_eq!(metric.segmental_fat_percent.right_leg, Some(17.8));
        assert_eq!(metric.total_body_water_kg, Some(56.6));
        // 2016-01-12 23:48:53 in Paris (UTC+1).
        assert_eq!(
            metric.measured_at.unwrap().to_rfc3339(),
            "2016-01-12T22:48:53+00:00"
        );
        let imperial = &parsed[1].measurement;
        assert_eq!(imperial.weight_kg, Some(93.53));
        assert_eq!(imperial.height_cm, Some(185.4));
        assert_eq!(imperial.muscle_mass_kg, Some(71.67));
        assert_eq!(imperial.body_fat_percent, Some(19.4), "percentages stay");
        assert_eq!(
            imperial.raw["Wk"], "206.2",
            "the device's own value is kept"
        );
    }

    #[test]
    fn truncated_lines_name_their_line() {
        let truncated =
            "{0,16,~0,2,MO,\"BC-601\",DT,\"12/01/2016\",Ti,\"23:48:53\",Wk,96.1\n{0,16,~0,2,Wk";
        let error = parse(truncated, chrono_tz::UTC).unwrap_err();
        assert_eq!(error.field, "data.line[1]");
        assert_eq!(error.code, "invalid_tanita_line");
        let odd = "{0,16,~0,2,Wk}";
        assert!(parse(odd, chrono_tz::UTC).is_err());
        assert!(parse("# nothing\n", chrono_tz::UTC).is_err());
    }
}
