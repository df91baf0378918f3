//! The tenant (brand) configuration model: what one `tenants/*.toml` file holds, and its validation.
//!
//! [`TenantConfig::parse_toml`] is the only way in from text: it rejects unknown fields, reports type
//! errors with the field's path, then checks every rule and reports all broken ones at once.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{FieldError, FieldErrors};

/// Slugs that cannot name a tenant because they name something else on the bare host.
const RESERVED_SLUGS: [&str; 8] = [
    "www",
    "api",
    "group",
    "admin",
    "localhost",
    "static",
    "assets",
    "mail",
];

/// One brand's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Short name used in URLs and on the command line (`atlas`); lower-case letters, digits and dashes.
    pub slug: String,
    /// Name shown to people.
    pub display_name: String,
    /// Host names that serve this brand, besides `<slug>.localhost`.
    #[serde(default)]
    pub domains: Vec<String>,
    /// IANA time zone of the brand (`Europe/Paris`).
    pub time_zone: String,
    /// Locale used when a person has none (`fr-FR`).
    pub default_locale: String,
    /// Every locale the brand offers; includes the default.
    pub locales: Vec<String>,
    /// ISO 4217 currency used when nothing else says.
    pub default_currency: String,
    /// Every currency the brand accepts; includes the default.
    pub currencies: Vec<String>,
    /// Platforms the brand uses.
    pub modules: Vec<Module>,
    /// Prefix of invoice numbers (`ATL`), upper-case letters, digits and dashes.
    pub invoice_prefix: String,
    /// Legal entity that issues invoices.
    pub legal: LegalEntity,
    /// Colours and logo.
    pub branding: Branding,
    /// VAT rates the brand may put on invoice lines.
    pub vat_rates: Vec<VatRate>,
    /// Payment provider and where its secrets are.
    pub payments: Payments,
    /// The brand's own wording of e-mails, replacing the built-in text for one message and language; keyed
    /// `<message>.<language>` (`password_reset.fr`, `verify_email.en`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub email_templates: BTreeMap<String, EmailTemplate>,
    /// Booking rules (`[booking]`): late-cancellation window, fees, waitlists; defaults when absent.
    #[serde(default)]
    pub booking: crate::scheduling::BookingPolicy,
    /// Billing rules (`[billing]`): payment terms, late-payment mentions, VAT codes, dunning; defaults when absent.
    #[serde(default)]
    pub billing: crate::billing::BillingPolicy,
}

/// The messages whose wording a brand may replace.
pub const EMAIL_MESSAGES: [&str; 3] = ["password_reset", "verify_email", "invoice"];
/// The languages e-mails are written in.
pub const EMAIL_LANGUAGES: [&str; 2] = ["fr", "en"];

/// A brand's wording of one e-mail in one language. `subject` and `text` are minijinja templates that may use
/// `{{ name }}`, `{{ brand }}` and `{{ link }}`, plus `{{ minutes }}` (the links' messages) or `{{ number }}`,
/// `{{ total }}` and `{{ due_date }}` (invoices); the text must show `{{ link }}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplate {
    /// Subject line.
    pub subject: String,
    /// Plain-text body; paragraphs separated by blank lines (the HTML version is built from them).
    pub text: String,
    /// Label of the HTML version's button.
    pub action: String,
}

/// A platform of the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    /// Gym management.
    Gym,
    /// Cosmetics e-commerce.
    Shop,
    /// Equipment and technology store.
    Equipment,
    /// Paid video sessions.
    Video,
}

/// Who issues the invoices: the mentions French law requires on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalEntity {
    /// Registered name.
    pub name: String,
    /// Legal form (`SAS`, `SARL`, `SA`...).
    pub legal_form: String,
    /// 9-digit SIREN (required for a French entity).
    pub siren: Option<String>,
    /// 14-digit SIRET of the issuing establishment (required for a French entity).
    pub siret: Option<String>,
    /// Intra-community VAT number.
    pub vat_number: String,
    /// Registry city of the RCS (`Paris`), printed as `RCS Paris 123 456 789`.
    pub rcs_city: Option<String>,
    /// Share capital.
    pub share_capital: crate::money::Money,
    /// Registered office.
    pub address: PostalAddress,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
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

/// Brand colours and logo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    /// Main colour, `#RRGGBB`.
    pub primary_color: String,
    /// Accent colour, `#RRGGBB`.
    pub accent_color: String,
    /// Logo URL (https) or path under the brand's assets.
    pub logo_url: Option<String>,
}

/// A VAT rate that invoice lines may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VatRate {
    /// Stable code (`standard`, `reduced`, `exempt`).
    pub code: String,
    /// Rate in basis points: 2000 is 20 %.
    pub rate_bps: u32,
    /// Wording printed on invoices when the rate is zero (exemption article).
    pub exemption_note: Option<String>,
}

/// Which payment provider the brand uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payments {
    /// The provider.
    pub provider: PaymentProvider,
    /// For Stripe: the names of the environment variables holding its secrets (never the secrets).
    pub stripe: Option<StripeEnv>,
}

/// A payment provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentProvider {
    /// Stripe.
    Stripe,
    /// Payments recorded by staff at the front desk.
    Manual,
}

/// Names of the environment variables that hold a brand's Stripe secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeEnv {
    /// Variable holding the secret API key.
    pub secret_key_env: String,
    /// Variable holding the webhook signing secret.
    pub webhook_secret_env: String,
}

impl TenantConfig {
    /// Parses and validates one tenant file's text. Every error names its field.
    pub fn parse_toml(text: &str) -> Result<TenantConfig, FieldErrors> {
        let deserializer = toml::Deserializer::new(text);
        let config: TenantConfig =
            serde_path_to_error::deserialize(deserializer).map_err(|error| {
                let path = error.path().to_string();
                let field = if path == "." { String::new() } else { path };
                let message = error.inner().message().trim().to_owned();
                FieldErrors::from(FieldError::new(field, "invalid_document", message))
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every rule of the model and reports all broken ones.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        for (key, template) in &self.email_templates {
            let field = format!("email_templates.{key}");
            let known = key.split_once('.').is_some_and(|(message, language)| {
                EMAIL_MESSAGES.contains(&message) && EMAIL_LANGUAGES.contains(&language)
            });
            if !known {
                errors.push(FieldError::new(
                    field.clone(),
                    "unknown_template",
                    format!(
                        "expected <message>.<language> with a message of {EMAIL_MESSAGES:?} and a language of {EMAIL_LANGUAGES:?}"
                    ),
                ));
            }
            for (part, value, max) in [
                ("subject", &template.subject, 200),
                ("text", &template.text, 10_000),
                ("action", &template.action, 80),
            ] {
                let length = value.trim().chars().count();
                if length == 0 || length > max {
                    errors.push(FieldError::new(
                        format!("{field}.{part}"),
                        "out_of_range",
                        format!("between 1 and {max} characters"),
                    ));
                }
            }
            if !template.text.contains("{{ link }}") && !template.text.contains("{{link}}") {
                errors.push(FieldError::new(
                    format!("{field}.text"),
                    "link_missing",
                    "the text must show the link: {{ link }}",
                ));
            }
        }
        errors.check("slug", check_slug(&self.slug));
        errors.check(
            "display_name",
            crate::values::DisplayName::parse(&self.display_name),
        );
        let mut seen = BTreeSet::new();
        for (i, domain) in self.domains.iter().enumerate() {
            errors.check(&format!("domains[{i}]"), check_domain(domain));
            if !seen.insert(domain) {
                errors.push(FieldError::new(
                    format!("domains[{i}]"),
                    "duplicate",
                    "listed twice",
                ));
            }
        }
        for (field, fee) in [
            ("booking.late_cancel_fee", &self.booking.late_cancel_fee),
            ("booking.no_show_fee", &self.booking.no_show_fee),
        ] {
            if let Some(fee) = fee {
                errors.check(
                    field,
                    crate::money::Money::parse_price(fee.amount, &fee.currency).map(|_| ()),
                );
            }
        }
        if !(5..=240).contains(&self.booking.slot_step_minutes) {
            errors.push(FieldError::new(
                "booking.slot_step_minutes",
                "out_of_range",
                "5 to 240 minutes",
            ));
        }
        if chrono_tz::Tz::from_str(&self.time_zone).is_err() {
            errors.push(FieldError::new(
                "time_zone",
                "unknown_time_zone",
                format!("{:?} is not an IANA time zone", self.time_zone),
            ));
        }
        for (i, locale) in self.locales.iter().enumerate() {
            errors.check(&format!("locales[{i}]"), check_locale(locale));
        }
        errors.check("default_locale", check_locale(&self.default_locale));
        if self.locales.is_empty() || !self.locales.contains(&self.default_locale) {
            errors.push(FieldError::new(
                "default_locale",
                "not_in_list",
                "the default locale must be listed in `locales`",
            ));
        }
        for (i, currency) in self.currencies.iter().enumerate() {
            errors.check(&format!("currencies[{i}]"), check_currency(currency));
        }
        errors.check("default_currency", check_currency(&self.default_currency));
        if !self.currencies.contains(&self.default_currency) {
            errors.push(FieldError::new(
                "default_currency",
                "not_in_list",
                "the default currency must be listed in `currencies`",
            ));
        }
        if self.modules.is_empty() {
            errors.push(FieldError::new(
                "modules",
                "required",
                "enable at least one module",
            ));
        }
        let prefix_ok = (1..=10).contains(&self.invoice_prefix.len())
            && self
                .invoice_prefix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if !prefix_ok {
            errors.push(FieldError::new(
                "invoice_prefix",
                "invalid_format",
                "1 to 10 upper-case letters, digits or dashes",
            ));
        }
        self.legal.validate(&mut errors);
        errors.check(
            "branding.primary_color",
            check_color(&self.branding.primary_color),
        );
        errors.check(
            "branding.accent_color",
            check_color(&self.branding.accent_color),
        );
        if let Some(logo) = &self.branding.logo_url {
            if !(logo.starts_with("https://") || logo.starts_with('/')) || logo.len() > 500 {
                errors.push(FieldError::new(
                    "branding.logo_url",
                    "invalid_format",
                    "an https URL or an absolute path",
                ));
            }
        }
        if self.vat_rates.is_empty() {
            errors.push(FieldError::new(
                "vat_rates",
                "required",
                "configure at least one VAT rate",
            ));
        }
        let vat_codes: Vec<&str> = self.vat_rates.iter().map(|r| r.code.as_str()).collect();
        self.billing.validate(&vat_codes, &mut errors);
        let mut codes = BTreeMap::new();
        for (i, rate) in self.vat_rates.iter().enumerate() {
            let field = format!("vat_rates[{i}]");
            if !is_code(&rate.code) {
                errors.push(FieldError::new(
                    format!("{field}.code"),
                    "invalid_format",
                    "lower-case letters, digits and underscores",
                ));
            }
            if codes.insert(rate.code.clone(), i).is_some() {
                errors.push(FieldError::new(
                    format!("{field}.code"),
                    "duplicate",
                    "VAT rate codes must be unique",
                ));
            }
            if rate.rate_bps > 10_000 {
                errors.push(FieldError::new(
                    format!("{field}.rate_bps"),
                    "out_of_range",
                    "between 0 and 10000 (100 %)",
                ));
            }
            if rate.rate_bps == 0
                && rate
                    .exemption_note
                    .as_deref()
                    .is_none_or(|n| n.trim().is_empty())
            {
                errors.push(FieldError::new(
                    format!("{field}.exemption_note"),
                    "required",
                    "a zero rate needs the exemption wording printed on invoices",
                ));
            }
        }
        match (self.payments.provider, &self.payments.stripe) {
            (PaymentProvider::Stripe, None) => errors.push(FieldError::new(
                "payments.stripe",
                "required",
                "Stripe needs the names of its secret variables",
            )),
            (_, Some(stripe)) => {
                errors.check(
                    "payments.stripe.secret_key_env",
                    check_env_name(&stripe.secret_key_env),
                );
                errors.check(
                    "payments.stripe.webhook_secret_env",
                    check_env_name(&stripe.webhook_secret_env),
                );
            }
            (PaymentProvider::Manual, None) => {}
        }
        errors.into_result()
    }

    /// Every host name that serves this tenant: its domains and `<slug>.localhost`.
    pub fn host_names(&self) -> Vec<String> {
        let mut hosts = vec![format!("{}.localhost", self.slug)];
        hosts.extend(self.domains.iter().cloned());
        hosts
    }
}

impl LegalEntity {
    fn validate(&self, errors: &mut FieldErrors) {
        errors.check("legal.name", crate::values::DisplayName::parse(&self.name));
        if self.legal_form.trim().is_empty() || self.legal_form.len() > 40 {
            errors.push(FieldError::new(
                "legal.legal_form",
                "required",
                "the legal form is required (SAS, SARL...)",
            ));
        }
        let country_ok = self.address.country.len() == 2
            && self.address.country.chars().all(|c| c.is_ascii_uppercase());
        if !country_ok {
            errors.push(FieldError::new(
                "legal.address.country",
                "invalid_format",
                "an ISO 3166-1 alpha-2 code such as FR",
            ));
        }
        for (field, value) in [
            ("legal.address.line1", &self.address.line1),
            ("legal.address.postal_code", &self.address.postal_code),
            ("legal.address.city", &self.address.city),
        ] {
            if value.trim().is_empty() || value.len() > 200 {
                errors.push(FieldError::new(
                    field,
                    "required",
                    "required, at most 200 characters",
                ));
            }
        }
        let french = self.address.country == "FR";
        match &self.siren {
            Some(siren) if !is_luhn_number(siren, 9) => errors.push(FieldError::new(
                "legal.siren",
                "invalid_siren",
                "a SIREN is 9 digits with a valid check digit",
            )),
            Some(_) => {}
            None if french => errors.push(FieldError::new(
                "legal.siren",
                "required",
                "required for a French entity",
            )),
            None => {}
        }
        match &self.siret {
            Some(siret) => {
                if !is_luhn_number(siret, 14) {
                    errors.push(FieldError::new(
                        "legal.siret",
                        "invalid_siret",
                        "a SIRET is 14 digits with a valid check digit",
                    ));
                } else if self
                    .siren
                    .as_deref()
                    .is_some_and(|siren| !siret.starts_with(siren))
                {
                    errors.push(FieldError::new(
                        "legal.siret",
                        "siret_siren_mismatch",
                        "a SIRET starts with the entity's SIREN",
                    ));
                }
            }
            None if french => errors.push(FieldError::new(
                "legal.siret",
                "required",
                "required for a French entity",
            )),
            None => {}
        }
        errors.check(
            "legal.vat_number",
            check_vat_number(&self.vat_number, self.siren.as_deref()),
        );
        if self.share_capital.amount < 0 {
            errors.push(FieldError::new(
                "legal.share_capital.amount",
                "out_of_range",
                "cannot be negative",
            ));
        }
        errors.check(
            "legal.share_capital.currency",
            check_currency(&self.share_capital.currency),
        );
    }
}

fn check_slug(slug: &str) -> Result<(), FieldError> {
    let shape_ok = (2..=40).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if !shape_ok {
        return Err(FieldError::new(
            "",
            "invalid_format",
            "2 to 40 lower-case letters, digits or dashes, not at either end",
        ));
    }
    if RESERVED_SLUGS.contains(&slug) {
        return Err(FieldError::new(
            "",
            "reserved",
            format!("{slug:?} is reserved"),
        ));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), FieldError> {
    let labels_ok = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !labels_ok {
        return Err(FieldError::new(
            "",
            "invalid_format",
            format!("{domain:?} is not a lower-case host name"),
        ));
    }
    if domain == "localhost" || domain.ends_with(".localhost") {
        return Err(FieldError::new(
            "",
            "reserved",
            "`<slug>.localhost` is always served; do not list it",
        ));
    }
    Ok(())
}

fn check_locale(locale: &str) -> Result<(), FieldError> {
    let (language, region) = match locale.split_once('-') {
        Some((l, r)) => (l, Some(r)),
        None => (locale, None),
    };
    let language_ok =
        (2..=3).contains(&language.len()) && language.chars().all(|c| c.is_ascii_lowercase());
    let region_ok =
        region.is_none_or(|r| r.len() == 2 && r.chars().all(|c| c.is_ascii_uppercase()));
    if language_ok && region_ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "",
            "invalid_locale",
            format!("{locale:?} is not a locale such as fr or fr-FR"),
        ))
    }
}

/// Checks an ISO 4217 currency code.
pub fn check_currency(code: &str) -> Result<(), FieldError> {
    if iso_currency::Currency::from_code(code).is_some() {
        Ok(())
    } else {
        Err(FieldError::new(
            "",
            "unknown_currency",
            format!("{code:?} is not an ISO 4217 currency code"),
        ))
    }
}

fn check_color(color: &str) -> Result<(), FieldError> {
    let ok = color.len() == 7
        && color.starts_with('#')
        && color[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(FieldError::new("", "invalid_format", "a colour as #RRGGBB"))
    }
}

fn check_env_name(name: &str) -> Result<(), FieldError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "",
            "invalid_format",
            "an environment variable name such as ATLAS_STRIPE_SECRET_KEY",
        ))
    }
}

fn is_code(code: &str) -> bool {
    (1..=30).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// True when `number` is exactly `len` digits and passes the Luhn check (SIREN and SIRET use it).
pub fn is_luhn_number(number: &str, len: usize) -> bool {
    if number.len() != len || !number.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let digit = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                digit
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Checks an intra-community VAT number (the field name is left empty for the caller to set); for France, the two-digit key computed from the SIREN.
pub fn check_vat_number(vat: &str, siren: Option<&str>) -> Result<(), FieldError> {
    let shape_ok = (4..=15).contains(&vat.len())
        && vat[..2].chars().all(|c| c.is_ascii_uppercase())
        && vat[2..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !shape_ok {
        return Err(FieldError::new(
            "",
            "invalid_vat_number",
            "a VAT number such as FR32123456789",
        ));
    }
    if let Some(rest) = vat.strip_prefix("FR") {
        let (key, number) = rest.split_at(2.min(rest.len()));
        let valid = number.len() == 9
            && key.chars().all(|c| c.is_ascii_digit())
            && number.parse::<u64>().is_ok_and(|n| {
                key.parse::<u64>()
                    .is_ok_and(|k| k == (12 + 3 * (n % 97)) % 97)
            });
        if !valid {
            return Err(FieldError::new(
                "",
                "invalid_vat_number",
                "the key of this French VAT number is wrong",
            ));
        }
        if siren.is_some_and(|siren| siren != number) {
            return Err(FieldError::new(
                "",
                "vat_siren_mismatch",
                "a French VAT number ends with the entity's SIREN",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_files() -> Vec<(&'static str, &'static str)> {
        vec![
            ("atlas", include_str!("../../../tenants/atlas.toml")),
            ("lumiere", include_str!("../../../tenants/lumiere.toml")),
            ("forge", include_str!("../../../tenants/forge.toml")),
        ]
    }

    #[test]
    fn demo_tenants_are_valid() {
        for (slug, text) in demo_files() {
            let config = TenantConfig::parse_toml(text).unwrap_or_else(|e| panic!("{slug}: {e}"));
            assert_eq!(config.slug, slug);
        }
    }

    #[test]
    fn errors_name_the_field() {
        let text = include_str!("../../../tenants/atlas.toml");
        let bad = text.replace("siren = \"", "siren = \"1");
        let errors = TenantConfig::parse_toml(&bad).unwrap_err();
        assert!(
            errors.0.iter().any(|e| e.field == "legal.siren"),
            "{errors}"
        );

        let unknown = format!("colour = \"red\"\n{text}");
        let errors = TenantConfig::parse_toml(&unknown).unwrap_err();
        assert!(errors.to_string().contains("colour"), "{errors}");

        let wrong_type = text.replace("rate_bps = 2000", "rate_bps = \"twenty\"");
        let errors = TenantConfig::parse_toml(&wrong_type).unwrap_err();
        assert!(errors.0[0].field.starts_with("vat_rates"), "{errors}");

        let tz = text.replace("Europe/Paris", "Europe/Atlantis");
        let errors = TenantConfig::parse_toml(&tz).unwrap_err();
        assert_eq!(errors.0[0].field, "time_zone");
    }

    #[test]
    fn luhn_and_vat() {
        assert!(is_luhn_number("732829320", 9));
        assert!(!is_luhn_number("732829321", 9));
        assert!(check_vat_number("FR44732829320", Some("732829320")).is_ok());
        assert!(check_vat_number("FR45732829320", Some("732829320")).is_err());
        assert!(check_vat_number("DE123456789", None).is_ok());
    }
}
