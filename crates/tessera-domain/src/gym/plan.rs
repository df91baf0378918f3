//! Plans: what is sold (a recurring subscription, a fixed term or a class pack), on which terms, and what it
//! gives access to. The access rules are checked here, purely, for every booking.

use chrono::{Datelike, NaiveDateTime, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use super::dates::BillingPeriod;
use crate::{FieldError, FieldErrors};

/// What kind of thing a plan sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// Billed every period until cancelled.
    Recurring,
    /// Paid once for a fixed number of months.
    FixedTerm,
    /// A number of class or service sessions, valid for a number of months.
    ClassPack,
}

impl PlanKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanKind::Recurring => "recurring",
            PlanKind::FixedTerm => "fixed_term",
            PlanKind::ClassPack => "class_pack",
        }
    }

    /// Parses a stable name.
    pub fn parse(name: &str) -> Result<PlanKind, FieldError> {
        match name {
            "recurring" => Ok(PlanKind::Recurring),
            "fixed_term" => Ok(PlanKind::FixedTerm),
            "class_pack" => Ok(PlanKind::ClassPack),
            other => Err(FieldError::new(
                "",
                "unknown_plan_kind",
                format!("{other:?}: expected recurring, fixed_term or class_pack"),
            )),
        }
    }
}

/// Hours of access on some weekdays, local time of the location, `from` included and `until` excluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessWindow {
    /// Days it applies to (`mon` ... `sun`).
    #[schema(value_type = Vec<String>)]
    pub days: Vec<Weekday>,
    /// First minute, `HH:MM`.
    #[schema(value_type = String, example = "06:00")]
    pub from: NaiveTime,
    /// End, `HH:MM` (exclusive).
    #[schema(value_type = String, example = "22:00")]
    pub until: NaiveTime,
}

/// A service bought at a discount with the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDiscount {
    /// The service.
    pub service_id: String,
    /// Percent off the list price, 1 to 100.
    pub percent: u8,
}

/// What a plan gives access to. Empty lists of locations mean every location; empty windows mean any hour.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AccessRules {
    /// Location ids where the plan is valid (empty: all).
    pub locations: Vec<String>,
    /// When the member may come (empty: whenever the location is open).
    pub windows: Vec<AccessWindow>,
    /// Class types included (`*` for all).
    pub class_types: Vec<String>,
    /// Services included at no charge.
    pub services_included: Vec<String>,
    /// Services at a discount.
    pub services_discounted: Vec<ServiceDiscount>,
    /// Visits (classes and entries) per calendar week, Monday to Sunday; `None` for no limit.
    pub visits_per_week: Option<u32>,
}

/// Why access rules refuse a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessRefused {
    /// The class type is not in the plan.
    ClassNotIncluded,
    /// The location is not in the plan.
    LocationNotIncluded,
    /// The hour or weekday is outside the plan's windows.
    OutsideAccessHours,
}

impl AccessRefused {
    /// The stable error code.
    pub fn code(self) -> &'static str {
        match self {
            AccessRefused::ClassNotIncluded => "class_not_included",
            AccessRefused::LocationNotIncluded => "location_not_included",
            AccessRefused::OutsideAccessHours => "outside_access_hours",
        }
    }
}

impl AccessRules {
    /// Checks ids and windows.
    pub fn validate(&self, errors: &mut FieldErrors, field: &str) {
        for (i, w) in self.windows.iter().enumerate() {
            if w.until <= w.from {
                errors.push(FieldError::new(
                    format!("{field}.windows[{i}].until"),
                    "end_before_start",
                    "a window ends after it starts",
                ));
            }
            if w.days.is_empty() {
                errors.push(FieldError::new(
                    format!("{field}.windows[{i}].days"),
                    "required",
                    "name at least one day",
                ));
            }
        }
        for (i, d) in self.services_discounted.iter().enumerate() {
            if d.percent == 0 || d.percent > 100 {
                errors.push(FieldError::new(
                    format!("{field}.services_discounted[{i}].percent"),
                    "out_of_range",
                    "a discount is 1 to 100 percent",
                ));
            }
        }
        if self.visits_per_week == Some(0) {
            errors.push(FieldError::new(
                format!("{field}.visits_per_week"),
                "out_of_range",
                "at least one visit a week, or no limit (null)",
            ));
        }
    }

    /// True when the plan is valid at this location and local time.
    pub fn admits(
        &self,
        location_id: Option<&str>,
        local: NaiveDateTime,
    ) -> Result<(), AccessRefused> {
        if let Some(location) = location_id {
            if !self.locations.is_empty() && !self.locations.iter().any(|l| l == location) {
                return Err(AccessRefused::LocationNotIncluded);
            }
        }
        if !self.windows.is_empty() {
            let (day, time) = (local.weekday(), local.time());
            let inside = self
                .windows
                .iter()
                .any(|w| w.days.contains(&day) && w.from <= time && time < w.until);
            if !inside {
                return Err(AccessRefused::OutsideAccessHours);
            }
        }
        Ok(())
    }

    /// Checks a class booking: the class type, then place and time.
    pub fn admits_class(
        &self,
        class_type: &str,
        location_id: &str,
        local_start: NaiveDateTime,
    ) -> Result<(), AccessRefused> {
        if !self.class_types.iter().any(|t| t == "*" || t == class_type) {
            return Err(AccessRefused::ClassNotIncluded);
        }
        self.admits(Some(location_id), local_start)
    }

    /// The price of a service with this plan: zero when included, discounted, or `None` when the plan
    /// does nothing for it.
    pub fn service_price(&self, service_id: &str, list_price: i64) -> Option<i64> {
        if self.services_included.iter().any(|s| s == service_id) {
            return Some(0);
        }
        self.services_discounted
            .iter()
            .find(|d| d.service_id == service_id)
            .map(|d| {
                let off = (i128::from(list_price) * i128::from(d.percent) + 50) / 100;
                list_price - i64::try_from(off).unwrap_or(list_price)
            })
    }
}

/// The terms of a plan, checked together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTerms {
    /// Kind.
    pub kind: PlanKind,
    /// Billing period (recurring plans only).
    pub billing_period: Option<BillingPeriod>,
    /// Fixed term or pack validity, months.
    pub term_months: Option<u32>,
    /// Sessions of a pack.
    pub sessions: Option<u32>,
    /// Minimum commitment, months.
    pub commitment_months: u32,
    /// Notice, days.
    pub notice_days: u32,
}

impl PlanTerms {
    /// Checks the combination: a recurring plan has a period and no term; a fixed term has months; a pack has
    /// sessions.
    pub fn validate(&self, errors: &mut FieldErrors) {
        match self.kind {
            PlanKind::Recurring => {
                if self.billing_period.is_none() {
                    errors.push(FieldError::new(
                        "billing_period",
                        "required",
                        "a recurring plan is billed every week, month or year",
                    ));
                }
                if self.term_months.is_some() || self.sessions.is_some() {
                    errors.push(FieldError::new(
                        "kind",
                        "not_allowed",
                        "a recurring plan has no term_months and no sessions",
                    ));
                }
            }
            PlanKind::FixedTerm | PlanKind::ClassPack => {
                if self.billing_period.is_some() {
                    errors.push(FieldError::new(
                        "billing_period",
                        "not_allowed",
                        "only recurring plans have a billing period",
                    ));
                }
                if self.kind == PlanKind::FixedTerm && self.term_months.unwrap_or(0) == 0 {
                    errors.push(FieldError::new(
                        "term_months",
                        "required",
                        "a fixed term lasts at least one month",
                    ));
                }
                if self.kind == PlanKind::ClassPack && self.sessions.unwrap_or(0) == 0 {
                    errors.push(FieldError::new(
                        "sessions",
                        "required",
                        "a class pack has at least one session",
                    ));
                }
            }
        }
        if self.commitment_months > 60 {
            errors.push(FieldError::new(
                "commitment_months",
                "out_of_range",
                "a commitment lasts at most 60 months",
            ));
        }
        if self.notice_days > 365 {
            errors.push(FieldError::new(
                "notice_days",
                "out_of_range",
                "a notice period is at most 365 days",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn off_peak() -> AccessRules {
        AccessRules {
            locations: vec!["loc_a".into()],
            windows: vec![AccessWindow {
                days: vec![
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                ],
                from: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                until: NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
            }],
            class_types: vec!["yoga".into()],
            services_included: vec!["svc_pt".into()],
            services_discounted: vec![ServiceDiscount {
                service_id: "svc_nutri".into(),
                percent: 15,
            }],
            visits_per_week: Some(3),
        }
    }

    #[test]
    fn access_rules_decide() {
        let rules = off_peak();
        // Thursday 26 November 2026, 10:00 local.
        assert_eq!(
            rules.admits_class("yoga", "loc_a", at(2026, 11, 26, 10, 0)),
            Ok(())
        );
        assert_eq!(
            rules.admits_class("hiit", "loc_a", at(2026, 11, 26, 10, 0)),
            Err(AccessRefused::ClassNotIncluded)
        );
        assert_eq!(
            rules.admits_class("yoga", "loc_b", at(2026, 11, 26, 10, 0)),
            Err(AccessRefused::LocationNotIncluded)
        );
        assert_eq!(
            rules.admits_class("yoga", "loc_a", at(2026, 11, 26, 16, 0)),
            Err(AccessRefused::OutsideAccessHours)
        );
        assert_eq!(
            rules.admits_class("yoga", "loc_a", at(2026, 11, 28, 11, 0)),
            Err(AccessRefused::OutsideAccessHours),
            "a Saturday"
        );
        let all = AccessRules {
            class_types: vec!["*".into()],
            ..AccessRules::default()
        };
        assert_eq!(
            all.admits_class("anything", "loc_z", at(2026, 1, 1, 3, 0)),
            Ok(())
        );
    }

    #[test]
    fn service_prices() {
        let rules = off_peak();
        assert_eq!(rules.service_price("svc_pt", 6000), Some(0));
        assert_eq!(rules.service_price("svc_nutri", 4500), Some(3825));
        assert_eq!(rules.service_price("svc_physio", 5000), None);
    }

    #[test]
    fn terms_are_checked_together() {
        let mut errors = FieldErrors::default();
        PlanTerms {
            kind: PlanKind::Recurring,
            billing_period: None,
            term_months: Some(3),
            sessions: None,
            commitment_months: 12,
            notice_days: 30,
        }
        .validate(&mut errors);
        let codes: Vec<_> = errors
            .0
            .iter()
            .map(|e| (e.field.as_str(), e.code))
            .collect();
        assert_eq!(
            codes,
            [("billing_period", "required"), ("kind", "not_allowed")]
        );
        let mut errors = FieldErrors::default();
        PlanTerms {
            kind: PlanKind::ClassPack,
            billing_period: None,
            term_months: Some(6),
            sessions: Some(10),
            commitment_months: 0,
            notice_days: 0,
        }
        .validate(&mut errors);
        assert!(errors.is_empty());
        let mut errors = FieldErrors::default();
        off_peak().validate(&mut errors, "access");
        assert!(errors.is_empty());
    }
}
