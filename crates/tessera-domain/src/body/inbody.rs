//! The InBody LookinBody export: a CSV file with a header row of InBody's keys and one measurement per row.
//! No real export was at hand; this adapter follows the documented keys:
//!
//! | key | canonical field | unit |
//! | --- | --- | --- |
//! | `ID` | who it is (member id, card number or phone), used for matching | |
//! | `DATETIMES` | `measured_at`, device-local `yyyyMMddHHmmss` | |
//! | `WT`, `HT` | weight, height | kg (lb with `UNIT` = `lb`), cm (in with `lb`) |
//! | `SMM`, `BFM`, `FFM`, `TBW` | skeletal muscle, fat, fat-free mass, body water | kg (lb) |
//! | `PBF` | body fat | % |
//! | `ECW/TBW` | extracellular over total water | ratio |
//! | `VFL` | visceral fat level | |
//! | `BMI`, `BMR`, `InBodyScore` | BMI, basal metabolic rate (kcal), score | |
//! | `PA` | whole-body phase angle | ° |
//! | `LRA`, `LLA`, `LT`, `LRL`, `LLL` | lean mass of right arm, left arm, trunk, right leg, left leg | kg (lb) |
//! | `FRA`, `FLA`, `FT`, `FRL`, `FLL` | fat mass of the same segments | kg (lb) |
//!
//! Empty cells are absent values; other columns are kept in `raw`. A row with a different number of cells than the
//! header (a truncated file) is an error naming its row.

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::{round, Measurement, Parsed, CM_PER_IN, KG_PER_LB};
use crate::FieldError;

fn bad(row: usize, message: impl std::fmt::Display) -> FieldError {
    FieldError::new(
        format!("data.row[{row}]"),
        "invalid_inbody_row",
        message.to_string(),
    )
}

/// Parses an export; device-local times are read in `tz`. Rows are numbered from 1 after the header.
pub fn parse(text: &str, tz: Tz) -> Result<Vec<Parsed>, FieldError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| FieldError::new("data", "invalid_inbody_csv", e.to_string()))?
        .iter()
        .map(str::to_owned)
        .collect();
    for required in ["WT", "DATETIMES"] {
        if !headers.iter().any(|h| h == required) {
            return Err(FieldError::new(
                "data",
                "invalid_inbody_csv",
                format!("the header has no {required} column"),
            ));
        }
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let record = record.map_err(|e| bad(row, format!("truncated or malformed: {e}")))?;
        out.push(parse_row(&headers, &record).map_err(|m| bad(row, m))?);
    }
    if out.is_empty() {
        return Err(FieldError::new("data", "empty", "no measurement row"));
    }
    for parsed in &mut out {
        if let Some(local) = parsed.measurement.raw["DATETIMES"]
            .as_str()
            .and_then(|t| NaiveDateTime::parse_from_str(t, "%Y%m%d%H%M%S").ok())
        {
            parsed.measurement.measured_at = tz
                .from_local_datetime(&local)
                .earliest()
                .map(|t| t.with_timezone(&chrono::Utc));
        }
    }
    Ok(out)
}

fn parse_row(headers: &[String], record: &csv::StringRecord) -> Result<Parsed, String> {
    let mut raw = serde_json::Map::new();
    let mut hint = None;
    let mut m = Measurement::default();
    let pounds = headers
        .iter()
        .position(|h| h == "UNIT")
        .and_then(|i| record.get(i))
        .is_some_and(|u| u.eq_ignore_ascii_case("lb"));
    let mass = |v: f64| if pounds { round(v * KG_PER_LB, 2) } else { v };
    for (key, value) in headers.iter().zip(record.iter()) {
        raw.insert(key.clone(), serde_json::Value::String(value.to_owned()));
        if value.is_empty() {
            continue;
        }
        let number = || -> Result<f64, String> {
            value
                .parse::<f64>()
                .map_err(|_| format!("{key}: {value:?} is not a number"))
        };
        match key.as_str() {
            "ID" => hint = Some(value.to_owned()),
            "DATETIMES" => {
                NaiveDateTime::parse_from_str(value, "%Y%m%d%H%M%S")
                    .map_err(|_| format!("DATETIMES: {value:?} is not yyyyMMddHHmmss"))?;
            }
            "WT" => m.weight_kg = Some(mass(number()?)),
            "HT" => {
                let v = number()?;
                m.height_cm = Some(if pounds { round(v * CM_PER_IN, 1) } else { v });
            }
            "SMM" => m.skeletal_muscle_mass_kg = Some(mass(number()?)),
            "BFM" => m.fat_mass_kg = Some(mass(number()?)),
            "FFM" => m.fat_free_mass_kg = Some(mass(number()?)),
            "TBW" => m.total_body_water_kg = Some(mass(number()?)),
            "PBF" => m.body_fat_percent = Some(number()?),
            "ECW/TBW" => m.ecw_tbw_ratio = Some(number()?),
            "VFL" => m.visceral_fat_level = Some(number()?),
            "BMI" => m.bmi = Some(number()?),
            "BMR" => m.basal_metabolic_rate_kcal = Some(number()?),
            "InBodyScore" => m.score = Some(number()?),
            "PA" => m.phase_angle_deg = Some(number()?),
            "LRA" => m.segmental_lean_kg.right_arm = Some(mass(number()?)),
            "LLA" => m.segmental_lean_kg.left_arm = Some(mass(number()?)),
            "LT" => m.segmental_lean_kg.trunk = Some(mass(number()?)),
            "LRL" => m.segmental_lean_kg.right_leg = Some(mass(number()?)),
            "LLL" => m.segmental_lean_kg.left_leg = Some(mass(number()?)),
            "FRA" => m.segmental_fat_kg.right_arm = Some(mass(number()?)),
            "FLA" => m.segmental_fat_kg.left_arm = Some(mass(number()?)),
            "FT" => m.segmental_fat_kg.trunk = Some(mass(number()?)),
            "FRL" => m.segmental_fat_kg.right_leg = Some(mass(number()?)),
            "FLL" => m.segmental_fat_kg.left_leg = Some(mass(number()?)),
            _ => {}
        }
    }
    raw.insert("format".into(), "inbody".into());
    m.raw = serde_json::Value::Object(raw);
    Ok(Parsed {
        measurement: m,
        member_hint: hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../../../tests/fixtures/inbody-lookinbody.csv");

    #[test]
    fn an_export_is_read_with_units_converted() {
        let parsed = parse(SAMPLE, chrono_tz::Europe::Paris).unwrap();
        assert_eq!(parsed.len(), 2);
        let kg = &parsed[0];
        assert_eq!(kg.member_hint.as_deref(), Some("100000000001"));
        assert_eq!(kg.measurement.weight_kg, Some(72.4));
        assert_eq!(kg.measurement.skeletal_muscle_mass_kg, Some(31.2));
        assert_eq!(kg.measurement.ecw_tbw_ratio, Some(0.381));
        assert_eq!(kg.measurement.segmental_lean_kg.trunk, Some(24.1));
        assert_eq!(kg.measurement.score, Some(78.0));
        assert_eq!(
            kg.measurement.measured_at.unwrap().to_rfc3339(),
            "2026-11-20T07:30:15+00:00"
        );
        let lb = &parsed[1].measurement;
        assert_eq!(lb.weight_kg, Some(81.65), "180 lb");
        assert_eq!(lb.height_cm, Some(177.8), "70 in");
        assert_eq!(lb.body_fat_percent, Some(22.5));
    }

    #[test]
    fn a_truncated_export_names_its_row() {
        let cut = SAMPLE.lines().take(3).collect::<Vec<_>>().join("\n");
        let cut = &cut[..cut.len() - 40];
        let error = parse(cut, chrono_tz::UTC).unwrap_err();
        assert_eq!(
            (error.field.as_str(), error.code),
            ("data.row[2]", "invalid_inbody_row")
        );
        assert!(
            parse("WT,HT\n70,170\n", chrono_tz::UTC).is_err(),
            "no DATETIMES"
        );
    }
}
