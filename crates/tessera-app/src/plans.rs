//! Plans (`/api/v1/plans`): what a brand sells and on which terms. Anyone may list the public plans on sale
//! (the portal's price page); staff see all of them; admins create and change them. Memberships copy a plan's
//! terms when sold, so a change here never alters a signed contract.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::gym::dates::BillingPeriod;
use tessera_domain::gym::plan::{AccessRules, PlanKind, PlanTerms};
use tessera_domain::ids::IdKind;
use tessera_domain::money::Money;
use tessera_domain::role::Permission;
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::plans::{self, PlanRow};
use tessera_store::{Scoped, TxMode};

use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::pagination::{Page, PageRequest};
use crate::{naive, App, AppError, AppResult, Ctx};

/// A plan's name and description in one locale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

/// A plan's fields as given (create: all; the same shape is used for changes, every field optional there).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// Short unique code (`monthly-12`), lower-case letters, digits and dashes.
    pub code: String,
    /// Name in the brand's default locale.
    pub name: String,
    /// Description in the brand's default locale.
    #[serde(default)]
    pub description: String,
    /// Other locales: `{"en": {"name": ..., "description": ...}}`.
    #[serde(default)]
    pub translations: BTreeMap<String, Translation>,
    /// `recurring`, `fixed_term` or `class_pack`.
    pub kind: String,
    /// Price per period (recurring), of the term, or of the pack.
    pub price: Money,
    /// `week`, `month` or `year`, for recurring plans.
    pub billing_period: Option<String>,
    /// Months of a fixed term, or of a pack's validity.
    pub term_months: Option<u32>,
    /// Sessions in a pack.
    pub sessions: Option<u32>,
    /// Minimum commitment in months (0: none).
    #[serde(default)]
    pub commitment_months: u32,
    /// Notice period in days.
    #[serde(default)]
    pub notice_days: u32,
    /// Enrolment fee, minor units of the plan's currency.
    #[serde(default)]
    pub enrolment_fee: i64,
    /// Free trial in days (a recurring plan starts billing after it).
    #[serde(default)]
    pub trial_days: u32,
    /// Days a member may freeze per contract year.
    #[serde(default)]
    pub freeze_max_days_per_year: u32,
    /// What the plan gives access to.
    #[serde(default)]
    pub access: AccessRules,
    /// `public` (sold online) or `staff_only` (sold at the desk).
    #[serde(default = "public")]
    pub visibility: String,
    /// On sale from this day.
    #[schema(value_type = Option<String>, format = Date)]
    pub available_from: Option<NaiveDate>,
    /// On sale until this day (inclusive).
    #[schema(value_type = Option<String>, format = Date)]
    pub available_until: Option<NaiveDate>,
}

fn public() -> String {
    "public".into()
}

/// A plan as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    /// Id.
    pub id: String,
    /// Code.
    pub code: String,
    /// Name in the asked locale (or the default).
    pub name: String,
    /// Description in the asked locale (or the default).
    pub description: String,
    /// The locale of `name` and `description`.
    pub locale: String,
    /// Every translation.
    pub translations: BTreeMap<String, Translation>,
    /// Kind.
    pub kind: String,
    /// Price.
    pub price: Money,
    /// Billing period.
    pub billing_period: Option<String>,
    /// Term months.
    pub term_months: Option<i32>,
    /// Pack sessions.
    pub sessions: Option<i32>,
    /// Commitment months.
    pub commitment_months: i32,
    /// Notice days.
    pub notice_days: i32,
    /// Enrolment fee.
    pub enrolment_fee: Money,
    /// Trial days.
    pub trial_days: i32,
    /// Freeze allowance per contract year, days.
    pub freeze_max_days_per_year: i32,
    /// Access rules.
    pub access: AccessRules,
    /// `public` or `staff_only`.
    pub visibility: String,
    /// On sale from.
    #[schema(value_type = Option<String>, format = Date)]
    pub available_from: Option<NaiveDate>,
    /// On sale until.
    #[schema(value_type = Option<String>, format = Date)]
    pub available_until: Option<NaiveDate>,
    /// `active` or `retired`.
    pub status: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Changes to a plan: the name, texts, price, access, visibility, dates and status. A plan's kind and terms
/// stay as they were sold: a new contract form is a new plan.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChanges {
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Translations (replaces them all).
    pub translations: Option<BTreeMap<String, Translation>>,
    /// Price for new sales.
    pub price: Option<Money>,
    /// Access for new sales.
    pub access: Option<AccessRules>,
    /// `public` or `staff_only`.
    pub visibility: Option<String>,
    /// On sale from.
    #[schema(value_type = Option<String>, format = Date)]
    pub available_from: Option<NaiveDate>,
    /// On sale until.
    #[schema(value_type = Option<String>, format = Date)]
    pub available_until: Option<NaiveDate>,
    /// `active` or `retired` (no longer sold).
    pub status: Option<String>,
}

pub(crate) fn parse_translations(json: &str) -> BTreeMap<String, Translation> {
    serde_json::from_str(json).unwrap_or_default()
}

/// The view of a plan in `locale` (falling back to the default texts).
pub fn view(row: PlanRow, locale: Option<&str>, default_locale: &str) -> PlanView {
    let translations = parse_translations(&row.translations_json);
    let tags: Vec<String> = translations.keys().cloned().collect();
    let chosen = locale
        .and_then(|l| crate::members::input::locale(l, &tags).ok())
        .and_then(|tag| translations.get(&tag).map(|t| (tag.clone(), t.clone())));
    let (locale, name, description) = match chosen {
        Some((l, t)) => (l, t.name, t.description),
        None => (
            default_locale.to_owned(),
            row.name.clone(),
            row.description.clone(),
        ),
    };
    PlanView {
        id: row.id,
        code: row.code,
        name,
        description,
        locale,
        translations,
        kind: row.kind,
        price: Money {
            amount: row.price_amount,
            currency: row.currency.clone(),
        },
        billing_period: row.billing_period,
        term_months: row.term_months,
        sessions: row.sessions,
        commitment_months: row.commitment_months,
        notice_days: row.notice_days,
        enrolment_fee: Money {
            amount: row.enrolment_fee_amount,
            currency: row.currency,
        },
        trial_days: row.trial_days,
        freeze_max_days_per_year: row.freeze_max_days_per_year,
        access: serde_json::from_str(&row.access_json).unwrap_or_default(),
        visibility: row.visibility,
        available_from: row.available_from,
        available_until: row.available_until,
        status: row.status,
        created_at: tessera_store::utc(row.created_at),
        updated_at: tessera_store::utc(row.updated_at),
    }
}

fn check_text(errors: &mut FieldErrors, field: &str, value: &str, max: usize, required: bool) {
    let n = value.trim().chars().count();
    if (required && n == 0) || n > max {
        errors.push(FieldError::new(
            field,
            "invalid_length",
            format!("{} to {max} characters", usize::from(required)),
        ));
    }
}

/// Checks translations and returns them keyed by the brand's locale tags (`en` becomes `en-GB`).
fn check_translations(
    errors: &mut FieldErrors,
    translations: &BTreeMap<String, Translation>,
    locales: &[String],
) -> BTreeMap<String, Translation> {
    let mut out = BTreeMap::new();
    for (locale, t) in translations {
        match crate::members::input::locale(locale, locales) {
            Ok(tag) => {
                out.insert(tag, t.clone());
            }
            Err(e) => errors.push(e.under(&format!("translations.{locale}"))),
        }
        check_text(
            errors,
            &format!("translations.{locale}.name"),
            &t.name,
            100,
            true,
        );
        check_text(
            errors,
            &format!("translations.{locale}.description"),
            &t.description,
            2000,
            false,
        );
    }
    out
}

fn check_visibility(errors: &mut FieldErrors, value: &str) {
    if !["public", "staff_only"].contains(&value) {
        errors.push(FieldError::new(
            "visibility",
            "unknown_visibility",
            "public or staff_only",
        ));
    }
}

fn check_dates(errors: &mut FieldErrors, from: Option<NaiveDate>, until: Option<NaiveDate>) {
    if let (Some(from), Some(until)) = (from, until) {
        if until < from {
            errors.push(FieldError::new(
                "available_until",
                "end_before_start",
                "the sale ends after it starts",
            ));
        }
    }
}

fn check_price(errors: &mut FieldErrors, price: &Money, currencies: &[String]) -> Option<Money> {
    let parsed = errors.check("price", Money::parse_price(price.amount, &price.currency))?;
    if !currencies.contains(&parsed.currency) {
        errors.push(FieldError::new(
            "price.currency",
            "unsupported_currency",
            format!("this brand sells in {}", currencies.join(", ")),
        ));
        return None;
    }
    Some(parsed)
}

/// Checks a new plan and builds its row.
fn validate(
    input: PlanInput,
    config: &tessera_domain::tenant::TenantConfig,
    tenant_id: &str,
    now: DateTime<Utc>,
) -> Result<PlanRow, FieldErrors> {
    let mut errors = FieldErrors::default();
    let code_ok = !input.code.is_empty()
        && input.code.len() <= 40
        && input
            .code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !code_ok {
        errors.push(FieldError::new(
            "code",
            "invalid_code",
            "1 to 40 lower-case letters, digits or dashes",
        ));
    }
    check_text(&mut errors, "name", &input.name, 100, true);
    check_text(&mut errors, "description", &input.description, 2000, false);
    let translations = check_translations(&mut errors, &input.translations, &config.locales);
    let kind = errors.check("kind", PlanKind::parse(&input.kind));
    let period = match &input.billing_period {
        Some(p) => errors.check("billing_period", BillingPeriod::parse(p)),
        None => None,
    };
    if let Some(kind) = kind {
        PlanTerms {
            kind,
            billing_period: period,
            term_months: input.term_months,
            sessions: input.sessions,
            commitment_months: input.commitment_months,
            notice_days: input.notice_days,
        }
        .validate(&mut errors);
    }
    let price = check_price(&mut errors, &input.price, &config.currencies);
    if input.enrolment_fee < 0 {
        errors.push(FieldError::new(
            "enrolment_fee",
            "negative_amount",
            "an amount cannot be negative",
        ));
    }
    if input.trial_days > 90 {
        errors.push(FieldError::new(
            "trial_days",
            "out_of_range",
            "a trial lasts at most 90 days",
        ));
    }
    if input.freeze_max_days_per_year > 366 {
        errors.push(FieldError::new(
            "freeze_max_days_per_year",
            "out_of_range",
            "at most 366 days",
        ));
    }
    input.access.validate(&mut errors, "access");
    check_visibility(&mut errors, &input.visibility);
    check_dates(&mut errors, input.available_from, input.available_until);
    errors.into_result()?;
    let (Some(kind), Some(price)) = (kind, price) else {
        return Err(FieldErrors::from(FieldError::new(
            "kind",
            "invalid",
            "invalid plan",
        )));
    };
    let small = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    Ok(PlanRow {
        tenant_id: tenant_id.to_owned(),
        id: IdKind::Plan.new_id(),
        code: input.code,
        name: input.name.trim().to_owned(),
        description: input.description.trim().to_owned(),
        translations_json: serde_json::to_string(&translations).unwrap_or_else(|_| "{}".into()),
        kind: kind.as_str().into(),
        price_amount: price.amount,
        currency: price.currency,
        billing_period: period.map(|p| p.as_str().to_owned()),
        term_months: input.term_months.map(small),
        sessions: input.sessions.map(small),
        commitment_months: small(input.commitment_months),
        notice_days: small(input.notice_days),
        enrolment_fee_amount: input.enrolment_fee,
        trial_days: small(input.trial_days),
        freeze_max_days_per_year: small(input.freeze_max_days_per_year),
        access_json: serde_json::to_string(&input.access).unwrap_or_else(|_| "{}".into()),
        visibility: input.visibility,
        available_from: input.available_from,
        available_until: input.available_until,
        status: "active".into(),
        created_at: naive(now),
        updated_at: naive(now),
    })
}

/// True when a plan is on sale on `day` (active, within its dates).
pub fn on_sale(row: &PlanRow, day: NaiveDate) -> bool {
    row.status == "active"
        && row.available_from.is_none_or(|from| from <= day)
        && row.available_until.is_none_or(|until| day <= until)
}

/// True when the caller may see plans that are not public (staff).
fn sees_all(app: &App, s: &mut Scoped<'_>, ctx: &Ctx) -> AppResult<bool> {
    if ctx.actor.is_none() {
        return Ok(false);
    }
    let principal = authorize(app.principals(), s, ctx, Permission::ProfileReadOwn)?;
    Ok(Permission::PlansReadAll.allowed_for(&principal.roles))
}

impl App {
    /// The plans on sale (anyone), or every plan (`all`, staff).
    pub async fn list_plans(
        &self,
        ctx: &Ctx,
        all: bool,
        locale: Option<String>,
        page: PageRequest,
    ) -> AppResult<Page<PlanView>> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Read, |s| {
                let staff = sees_all(&app, s, &ctx)?;
                if all && !staff {
                    return Err(AppError::Forbidden);
                }
                let mut rows = plans::list(s, !all, page.after.as_deref(), page.limit + 1)?;
                if !all {
                    rows.retain(|r| on_sale(r, today));
                }
                let default = tenant.config.default_locale.clone();
                let views = rows
                    .into_iter()
                    .map(|r| view(r, locale.as_deref(), &default))
                    .collect();
                Ok(Page::from_rows(views, page.limit, |p: &PlanView| &p.id))
            })
        })
        .await
    }

    /// One plan: public ones to anyone, the others to staff.
    pub async fn get_plan(
        &self,
        ctx: &Ctx,
        id: &str,
        locale: Option<String>,
    ) -> AppResult<PlanView> {
        let tenant = self.tenant_for(ctx)?;
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Read, |s| {
                let row = plans::find(s, &id)?.ok_or(AppError::NotFound("plan"))?;
                if row.visibility != "public" && !sees_all(&app, s, &ctx)? {
                    return Err(AppError::NotFound("plan"));
                }
                Ok(view(row, locale.as_deref(), &tenant.config.default_locale))
            })
        })
        .await
    }

    /// Creates a plan (`plans.manage`).
    pub async fn create_plan(&self, ctx: &Ctx, input: PlanInput) -> AppResult<PlanView> {
        let tenant = self.tenant_for(ctx)?;
        let now = self.clock().now();
        let row = validate(input, &tenant.config, &tenant.id, now)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::PlansManage)?;
                plans::insert(s, &row).map_err(|e| {
                    if e.is_unique_violation() {
                        AppError::Conflict {
                            code: "plan_code_taken",
                            detail: "another plan of this brand has this code".into(),
                        }
                    } else {
                        e.into()
                    }
                })?;
                let event = Event::on("plan.created", "plan", &row.id)
                    .with(serde_json::json!({ "code": row.code }));
                audit::record(s, &ctx, event, now)?;
                let data = serde_json::json!({ "plan_id": row.id, "code": row.code });
                crate::events::publish(s, &ctx, "plan.created", None, data, now)?;
                Ok(view(row, None, &tenant.config.default_locale))
            })
        })
        .await
    }

    /// Changes a plan (`plans.manage`); memberships already sold keep their terms.
    pub async fn update_plan(
        &self,
        ctx: &Ctx,
        id: &str,
        changes: PlanChanges,
    ) -> AppResult<PlanView> {
        let tenant = self.tenant_for(ctx)?;
        let now = self.clock().now();
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::PlansManage)?;
                let mut row = plans::find(s, &id)?.ok_or(AppError::NotFound("plan"))?;
                let config = &tenant.config;
                let mut errors = FieldErrors::default();
                if let Some(name) = &changes.name {
                    check_text(&mut errors, "name", name, 100, true);
                    row.name = name.trim().to_owned();
                }
                if let Some(description) = &changes.description {
                    check_text(&mut errors, "description", description, 2000, false);
                    row.description = description.trim().to_owned();
                }
                if let Some(t) = &changes.translations {
                    let t = check_translations(&mut errors, t, &config.locales);
                    row.translations_json =
                        serde_json::to_string(&t).unwrap_or_else(|_| "{}".into());
                }
                if let Some(price) = &changes.price {
                    if let Some(p) = check_price(&mut errors, price, &config.currencies) {
                        if p.currency != row.currency {
                            errors.push(FieldError::new(
                                "price.currency",
                                "currency_change",
                                "a plan keeps its currency; create a new plan",
                            ));
                        }
                        row.price_amount = p.amount;
                    }
                }
                if let Some(access) = &changes.access {
                    access.validate(&mut errors, "access");
                    row.access_json = serde_json::to_string(access).unwrap_or_else(|_| "{}".into());
                }
                if let Some(v) = &changes.visibility {
                    check_visibility(&mut errors, v);
                    row.visibility = v.clone();
                }
                if changes.available_from.is_some() {
                    row.available_from = changes.available_from;
                }
                if changes.available_until.is_some() {
                    row.available_until = changes.available_until;
                }
                check_dates(&mut errors, row.available_from, row.available_until);
                if let Some(status) = &changes.status {
                    if !["active", "retired"].contains(&status.as_str()) {
                        errors.push(FieldError::new(
                            "status",
                            "unknown_status",
                            "active or retired",
                        ));
                    }
                    row.status = status.clone();
                }
                errors.into_result()?;
                row.updated_at = naive(now);
                plans::update(s, &row)?;
                audit::record(s, &ctx, Event::on("plan.updated", "plan", &row.id), now)?;
                let data = serde_json::json!({ "plan_id": row.id });
                crate::events::publish(s, &ctx, "plan.updated", None, data, now)?;
                Ok(view(row, None, &config.default_locale))
            })
        })
        .await
    }
}
