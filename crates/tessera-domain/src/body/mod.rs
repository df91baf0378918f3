//! Body composition: the canonical measurement every analyser's export is turned into, the adapters for the
//! Tanita key/value format ([`tanita`]) and the InBody LookinBody CSV export ([`inbody`]), and trends (latest,
//! change since the previous and the first measurement, series for charts).
//!
//! Units are metric: kilograms, centimetres, percent, kcal, degrees. Adapters convert imperial values.

pub mod inbody;
pub mod tanita;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{FieldError, FieldErrors};

/// One value per body segment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Segments {
    /// Right arm.
    pub right_arm: Option<f64>,
    /// Left arm.
    pub left_arm: Option<f64>,
    /// Trunk.
    pub trunk: Option<f64>,
    /// Right leg.
    pub right_leg: Option<f64>,
    /// Left leg.
    pub left_leg: Option<f64>,
}

impl Segments {
    fn is_empty(&self) -> bool {
        *self == Segments::default()
    }
}

/// A body-composition measurement in Tessera's canonical form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    /// When it was taken (UTC).
    pub measured_at: Option<DateTime<Utc>>,
    /// Weight, kg.
    pub weight_kg: Option<f64>,
    /// Height, cm.
    pub height_cm: Option<f64>,
    /// Body-mass index.
    pub bmi: Option<f64>,
    /// Body fat, percent of weight.
    pub body_fat_percent: Option<f64>,
    /// Fat mass, kg.
    pub fat_mass_kg: Option<f64>,
    /// Fat-free mass, kg.
    pub fat_free_mass_kg: Option<f64>,
    /// Skeletal muscle mass, kg.
    pub skeletal_muscle_mass_kg: Option<f64>,
    /// Muscle mass (all muscle, as Tanita reports it), kg.
    pub muscle_mass_kg: Option<f64>,
    /// Bone mass, kg.
    pub bone_mass_kg: Option<f64>,
    /// Total body water, kg.
    pub total_body_water_kg: Option<f64>,
    /// Total body water, percent of weight.
    pub total_body_water_percent: Option<f64>,
    /// Extracellular water over total body water.
    pub ecw_tbw_ratio: Option<f64>,
    /// Visceral fat level (the device's scale).
    pub visceral_fat_level: Option<f64>,
    /// Basal metabolic rate, kcal a day.
    pub basal_metabolic_rate_kcal: Option<f64>,
    /// Metabolic age, years.
    pub metabolic_age: Option<f64>,
    /// Phase angle, degrees.
    pub phase_angle_deg: Option<f64>,
    /// The device's overall score (InBody score).
    pub score: Option<f64>,
    /// Lean (muscle) mass per segment, kg.
    #[serde(default)]
    pub segmental_lean_kg: Segments,
    /// Fat mass per segment, kg.
    #[serde(default)]
    pub segmental_fat_kg: Segments,
    /// Fat per segment, percent.
    #[serde(default)]
    pub segmental_fat_percent: Segments,
    /// The device's own fields, as read.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub raw: serde_json::Value,
}

/// A metric's reader.
pub type Reader = fn(&Measurement) -> Option<f64>;

/// The metrics that trends, goals and charts know, with their readers.
pub const METRICS: &[(&str, Reader)] = &[
    ("weight_kg", |m| m.weight_kg),
    ("bmi", |m| m.bmi),
    ("body_fat_percent", |m| m.body_fat_percent),
    ("fat_mass_kg", |m| m.fat_mass_kg),
    ("fat_free_mass_kg", |m| m.fat_free_mass_kg),
    ("skeletal_muscle_mass_kg", |m| m.skeletal_muscle_mass_kg),
    ("muscle_mass_kg", |m| m.muscle_mass_kg),
    ("total_body_water_kg", |m| m.total_body_water_kg),
    ("visceral_fat_level", |m| m.visceral_fat_level),
    ("basal_metabolic_rate_kcal", |m| m.basal_metabolic_rate_kcal),
    ("phase_angle_deg", |m| m.phase_angle_deg),
];

/// The reader of a metric by name.
pub fn metric(name: &str) -> Option<Reader> {
    METRICS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn range(errors: &mut FieldErrors, field: &str, value: Option<f64>, min: f64, max: f64) {
    if let Some(v) = value {
        if !v.is_finite() || v < min || v > max {
            errors.push(FieldError::new(
                field,
                "out_of_range",
                format!("between {min} and {max}"),
            ));
        }
    }
}

impl Measurement {
    /// Checks plausible ranges, and derives what follows from what is there (BMI from weight and height, fat mass
    /// from weight and fat percent, fat-free mass from weight and fat mass).
    pub fn validate(mut self) -> Result<Measurement, FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.measured_at.is_none() {
            errors.push(FieldError::new(
                "measured_at",
                "required",
                "when it was taken",
            ));
        }
        if self.weight_kg.is_none() {
            errors.push(FieldError::new("weight_kg", "required", "the weight, kg"));
        }
        range(&mut errors, "weight_kg", self.weight_kg, 2.0, 400.0);
        range(&mut errors, "height_cm", self.height_cm, 40.0, 260.0);
        range(&mut errors, "bmi", self.bmi, 5.0, 100.0);
        for (field, value) in [
            ("body_fat_percent", self.body_fat_percent),
            ("total_body_water_percent", self.total_body_water_percent),
        ] {
            range(&mut errors, field, value, 0.0, 100.0);
        }
        for (field, value) in [
            ("fat_mass_kg", self.fat_mass_kg),
            ("fat_free_mass_kg", self.fat_free_mass_kg),
            ("skeletal_muscle_mass_kg", self.skeletal_muscle_mass_kg),
            ("muscle_mass_kg", self.muscle_mass_kg),
            ("bone_mass_kg", self.bone_mass_kg),
            ("total_body_water_kg", self.total_body_water_kg),
        ] {
            range(&mut errors, field, value, 0.0, 400.0);
        }
        range(&mut errors, "ecw_tbw_ratio", self.ecw_tbw_ratio, 0.0, 1.0);
        range(
            &mut errors,
            "visceral_fat_level",
            self.visceral_fat_level,
            0.0,
            100.0,
        );
        range(
            &mut errors,
            "basal_metabolic_rate_kcal",
            self.basal_metabolic_rate_kcal,
            0.0,
            10_000.0,
        );
        range(
            &mut errors,
            "phase_angle_deg",
            self.phase_angle_deg,
            0.0,
            30.0,
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        if let (None, Some(w), Some(h)) = (self.bmi, self.weight_kg, self.height_cm) {
            self.bmi = Some(round(w / (h / 100.0).powi(2), 1));
        }
        if let (None, Some(w), Some(p)) = (self.fat_mass_kg, self.weight_kg, self.body_fat_percent)
        {
            self.fat_mass_kg = Some(round(w * p / 100.0, 2));
        }
        if let (None, Some(w), Some(f)) = (self.fat_free_mass_kg, self.weight_kg, self.fat_mass_kg)
        {
            self.fat_free_mass_kg = Some(round(w - f, 2));
        }
        Ok(self)
    }

    /// True when some segment value is present.
    pub fn has_segments(&self) -> bool {
        !(self.segmental_lean_kg.is_empty()
            && self.segmental_fat_kg.is_empty()
            && self.segmental_fat_percent.is_empty())
    }
}

/// Rounds to `places` decimals.
pub fn round(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

/// Kilograms in a pound.
pub const KG_PER_LB: f64 = 0.453_592_37;
/// Centimetres in an inch.
pub const CM_PER_IN: f64 = 2.54;

/// A parsed export line or row, before the member is matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The measurement.
    pub measurement: Measurement,
    /// What the export says about who it is (an InBody `ID`: a member id, card number or phone), if anything.
    pub member_hint: Option<String>,
}

/// A change of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MetricTrend {
    /// The metric.
    pub metric: &'static str,
    /// Latest value.
    pub latest: f64,
    /// Change since the previous measurement that had it.
    pub since_previous: Option<f64>,
    /// Change since the first measurement that had it.
    pub since_first: Option<f64>,
    /// Points for a chart, oldest first.
    pub series: Vec<Point>,
}

/// A point of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Point {
    /// When.
    pub at: DateTime<Utc>,
    /// Value.
    pub value: f64,
}

/// Trends of every metric over `history` (any order).
pub fn trends(history: &[Measurement]) -> Vec<MetricTrend> {
    let mut sorted: Vec<&Measurement> =
        history.iter().filter(|m| m.measured_at.is_some()).collect();
    sorted.sort_by_key(|m| m.measured_at);
    METRICS
        .iter()
        .filter_map(|(name, read)| {
            let series: Vec<Point> = sorted
                .iter()
                .filter_map(|m| {
                    Some(Point {
                        at: m.measured_at?,
                        value: read(m)?,
                    })
                })
                .collect();
            let latest = series.last()?.value;
            let n = series.len();
            Some(MetricTrend {
                metric: name,
                latest,
                since_previous: (n > 1).then(|| round(latest - series[n - 2].value, 2)),
                since_first: (n > 1).then(|| round(latest - series[0].value, 2)),
                series,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_and_ranges() {
        let m = Measurement {
            measured_at: Some(Utc::now()),
            weight_kg: Some(80.0),
            height_cm: Some(180.0),
            body_fat_percent: Some(20.0),
            ..Measurement::default()
        }
        .validate()
        .unwrap();
        assert_eq!(m.bmi, Some(24.7));
        assert_eq!(m.fat_mass_kg, Some(16.0));
        assert_eq!(m.fat_free_mass_kg, Some(64.0));
        let bad = Measurement {
            measured_at: None,
            weight_kg: Some(-3.0),
            ..Measurement::default()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = bad.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["measured_at", "weight_kg"]);
    }

    #[test]
    fn trends_compare_with_previous_and_first() {
        let at = |d: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 1, d)
                .unwrap()
                .and_hms_opt(8, 0, 0)
                .unwrap()
                .and_utc()
        };
        let m = |d: u32, w: f64| Measurement {
            measured_at: Some(at(d)),
            weight_kg: Some(w),
            ..Measurement::default()
        };
        let t = trends(&[m(3, 88.5), m(1, 90.0), m(2, 89.0)]);
        let weight = t.iter().find(|t| t.metric == "weight_kg").unwrap();
        assert_eq!(weight.latest, 88.5);
        assert_eq!(weight.since_previous, Some(-0.5));
        assert_eq!(weight.since_first, Some(-1.5));
        assert_eq!(weight.series.len(), 3);
        assert!(t.iter().all(|t| t.metric == "weight_kg"));
    }
}
