//! Member input, checked field by field into values that can only be valid.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tessera_domain::{FieldError, FieldErrors};

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// First line.
    pub line1: String,
    /// Second line.
    pub line2: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// Whom to call in an emergency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyContact {
    /// Name.
    pub name: String,
    /// Phone number.
    pub phone: String,
    /// Relation (`partner`, `parent`...).
    pub relation: Option<String>,
}

/// A consent decision as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// `marketing` or `health_data`.
    pub kind: String,
    /// Given or withdrawn.
    pub granted: bool,
    /// Version of the text shown to the member (`2026-01`).
    pub text_version: String,
}

/// The profile fields of a new member, unvalidated.
#[derive(Debug, Clone, Default)]
pub struct MemberFields {
    /// E-mail address (a minor without one gets none).
    pub email: Option<String>,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
    /// Address.
    pub address: Option<Address>,
    /// Emergency contact.
    pub emergency_contact: Option<EmergencyContact>,
    /// Preferred locale; the brand's default when absent.
    pub locale: Option<String>,
    /// Tags (staff only).
    pub tags: Vec<String>,
    /// Consents given at enrolment.
    pub consents: Vec<ConsentInput>,
}

/// Changes to a member; `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct MemberChanges {
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Phone.
    pub phone: Option<Option<String>>,
    /// Birth date.
    pub birth_date: Option<Option<NaiveDate>>,
    /// Address.
    pub address: Option<Option<Address>>,
    /// Emergency contact.
    pub emergency_contact: Option<Option<EmergencyContact>>,
    /// Photo (a stored file id of purpose `member_photo` or any image the member owns).
    pub photo_file_id: Option<Option<String>>,
    /// Locale.
    pub locale: Option<String>,
    /// Tags (staff only).
    pub tags: Option<Vec<String>>,
    /// `active`, `inactive` or `blocked` (staff only).
    pub status: Option<String>,
    /// New consent decisions.
    pub consents: Vec<ConsentInput>,
}

/// Member statuses staff may set.
pub const MEMBER_STATUSES: [&str; 3] = ["active", "inactive", "blocked"];
/// Consent kinds, recorded separately.
pub const CONSENT_KINDS: [&str; 2] = ["marketing", "health_data"];

/// A person's name part: 1 to 100 characters, no control characters.
pub(crate) fn name_part(value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new("", "required", "give a name"));
    }
    if trimmed.chars().count() > 100 {
        return Err(FieldError::new("", "too_long", "at most 100 characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            "",
            "invalid_format",
            "no control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A phone number: digits with the usual separators and an optional leading `+`, 6 to 15 digits.
pub(crate) fn phone(value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let digits = trimmed.chars().filter(char::is_ascii_digit).count();
    let allowed = trimmed
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || " .-()".contains(c) || (c == '+' && i == 0));
    if !allowed || !(6..=15).contains(&digits) {
        return Err(FieldError::new(
            "",
            "invalid_phone",
            "a phone number has 6 to 15 digits, optionally after a +",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A birth date: not in the future, not before 1900.
pub(crate) fn birth_date(value: NaiveDate, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    if value > today {
        return Err(FieldError::new(
            "",
            "in_future",
            "a birth date is in the past",
        ));
    }
    if value < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(value) {
        return Err(FieldError::new(
            "",
            "out_of_range",
            "a birth date is after 1900",
        ));
    }
    Ok(value)
}

/// Age in whole years on `today`.
pub(crate) fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    today.years_since(birth).unwrap_or(0)
}

/// Tags: lower-case words of letters, digits, `-` and `_`, at most 32 characters, at most 20 tags.
pub(crate) fn tags(values: &[String], errors: &mut FieldErrors, field: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if values.len() > 20 {
        errors.push(FieldError::new(field, "too_many", "at most 20 tags"));
    }
    for (i, tag) in values.iter().enumerate() {
        let tag = tag.trim().to_lowercase();
        let ok = !tag.is_empty()
            && tag.chars().count() <= 32
            && tag
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if ok {
            if !out.contains(&tag) {
                out.push(tag);
            }
        } else {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "invalid_tag",
                "a tag is 1 to 32 letters, digits, - or _",
            ));
        }
    }
    out.sort();
    out
}

/// Checks addresses, contacts and consents.
pub(crate) fn check_address(address: &Address, errors: &mut FieldErrors, field: &str) {
    for (name, value) in [
        ("line1", &address.line1),
        ("postal_code", &address.postal_code),
        ("city", &address.city),
    ] {
        if value.trim().is_empty() || value.chars().count() > 200 {
            errors.push(FieldError::new(
                format!("{field}.{name}"),
                "required",
                "required, at most 200 characters",
            ));
        }
    }
    let country = &address.country;
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        errors.push(FieldError::new(
            format!("{field}.country"),
            "invalid_country",
            "an ISO 3166-1 alpha-2 code such as FR",
        ));
    }
}

pub(crate) fn check_contact(contact: &EmergencyContact, errors: &mut FieldErrors, field: &str) {
    errors.check(&format!("{field}.name"), name_part(&contact.name));
    errors.check(&format!("{field}.phone"), phone(&contact.phone));
}

pub(crate) fn check_consents(consents: &[ConsentInput], errors: &mut FieldErrors, field: &str) {
    for (i, c) in consents.iter().enumerate() {
        if !CONSENT_KINDS.contains(&c.kind.as_str()) {
            errors.push(FieldError::new(
                format!("{field}[{i}].kind"),
                "unknown_consent",
                "marketing or health_data",
            ));
        }
        let version = c.text_version.trim();
        if version.is_empty() || version.len() > 32 {
            errors.push(FieldError::new(
                format!("{field}[{i}].text_version"),
                "required",
                "name the version of the text shown, at most 32 characters",
            ));
        }
    }
}

/// Checks a locale against the brand's and returns the brand's spelling: an exact tag (`en-GB`), or a bare
/// language (`en`) that one of the brand's tags starts with, case ignored.
pub(crate) fn locale(value: &str, allowed: &[String]) -> Result<String, FieldError> {
    let wanted = value.trim().replace('_', "-").to_ascii_lowercase();
    let exact = allowed.iter().find(|l| l.to_ascii_lowercase() == wanted);
    let by_language = || {
        allowed.iter().find(|l| {
            l.to_ascii_lowercase()
                .split('-')
                .next()
                .is_some_and(|language| language == wanted)
        })
    };
    if let Some(found) = exact.or_else(by_language) {
        Ok(found.clone())
    } else {
        Err(FieldError::new(
            "",
            "unsupported_locale",
            format!("this brand speaks {}", allowed.join(", ")),
        ))
    }
}
