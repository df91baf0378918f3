//! Creating, reading and changing members: the rules shared by sign-up, the desk, imports and households.

use chrono::{DateTime, NaiveDate, Utc};
use tessera_domain::gym::search::member_terms;
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_domain::values::{DisplayName, EmailAddress};
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::accounts::{self, AccountRow};
use tessera_store::models::members::{self, ConsentRow, ProfileRow};
use tessera_store::models::persons;
use tessera_store::{Scoped, TxMode};

use super::input::{self, MemberChanges, MemberFields, MEMBER_STATUSES};
use super::view::{self, MemberView, NO_EMAIL_DOMAIN};
use super::{access_to, tenant_of, Access};
use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::tenants::Tenant;
use crate::{naive, App, AppError, AppResult, Ctx};

/// A member's fields, checked.
#[derive(Debug, Clone)]
pub(crate) struct ValidMember {
    pub email: Option<EmailAddress>,
    pub given_name: String,
    pub family_name: String,
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub address_json: Option<String>,
    pub contact_json: Option<String>,
    pub locale: String,
    pub tags: Vec<String>,
    pub consents: Vec<super::ConsentInput>,
}

/// Checks a new member's fields against the brand (locales) and today (birth date).
pub(crate) fn validate(
    fields: MemberFields,
    tenant: &Tenant,
    today: NaiveDate,
) -> Result<ValidMember, FieldErrors> {
    let mut errors = FieldErrors::default();
    let email = match &fields.email {
        Some(e) => errors.check("email", EmailAddress::parse(e)),
        None => None,
    };
    let given_name = errors.check("given_name", input::name_part(&fields.given_name));
    let family_name = errors.check("family_name", input::name_part(&fields.family_name));
    let phone = match &fields.phone {
        Some(p) => errors.check("phone", input::phone(p)),
        None => None,
    };
    let birth_date = match fields.birth_date {
        Some(d) => errors.check("birth_date", input::birth_date(d, today)),
        None => None,
    };
    if let Some(a) = &fields.address {
        input::check_address(a, &mut errors, "address");
    }
    if let Some(c) = &fields.emergency_contact {
        input::check_contact(c, &mut errors, "emergency_contact");
    }
    let config = &tenant.config;
    let locale = match &fields.locale {
        Some(l) => errors.check("locale", input::locale(l, &config.locales)),
        None => Some(config.default_locale.clone()),
    };
    let tags = input::tags(&fields.tags, &mut errors, "tags");
    input::check_consents(&fields.consents, &mut errors, "consents");
    errors.into_result()?;
    Ok(ValidMember {
        email,
        given_name: given_name.unwrap_or_default(),
        family_name: family_name.unwrap_or_default(),
        phone,
        birth_date,
        address_json: fields.address.as_ref().map(to_json),
        contact_json: fields.emergency_contact.as_ref().map(to_json),
        locale: locale.unwrap_or_default(),
        tags,
        consents: fields.consents,
    })
}

/// JSON for a stored column. The types stored are plain strings and options, which always serialise.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Everything to create a member in one transaction.
pub(crate) struct NewMember {
    pub fields: ValidMember,
    pub password_hash: Option<String>,
    pub source: &'static str,
    pub guardian: Option<String>,
}

/// A card number: 12 random digits (unique per brand; the index refuses a repeat).
fn new_card_number() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen_range(100_000_000_000..1_000_000_000_000);
    n.to_string()
}

/// Creates the account (role `member`), the profile, tags, consents and search terms, audits and publishes
/// `member.created`. Refuses an address already used in the brand (`email_taken`).
pub(crate) fn insert(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    tenant_id: &str,
    new: NewMember,
    now: DateTime<Utc>,
) -> AppResult<(AccountRow, ProfileRow)> {
    let account_id = IdKind::Account.new_id();
    let email = match &new.fields.email {
        Some(e) => e.as_str().to_owned(),
        None => format!("{account_id}@{NO_EMAIL_DOMAIN}"),
    };
    if accounts::find_by_email(s, &email)?.is_some() {
        return Err(AppError::Conflict {
            code: "email_taken",
            detail: "an account with this e-mail address exists in this brand".into(),
        });
    }
    let person_id =
        persons::find_or_create(s.conn(), &IdKind::Person.new_id(), &email, naive(now))?;
    let f = &new.fields;
    let display = format!("{} {}", f.given_name, f.family_name);
    let display = DisplayName::parse(&display)
        .map(|d| d.as_str().to_owned())
        .unwrap_or(display);
    let account = AccountRow {
        tenant_id: tenant_id.to_owned(),
        id: account_id.clone(),
        person_id,
        email,
        display_name: display,
        password_hash: new.password_hash,
        specialty: None,
        status: "active".into(),
        created_at: naive(now),
        updated_at: naive(now),
        email_verified_at: None,
    };
    accounts::insert(s, &account, &["member"])?;
    let profile = ProfileRow {
        tenant_id: tenant_id.to_owned(),
        account_id: account_id.clone(),
        given_name: f.given_name.clone(),
        family_name: f.family_name.clone(),
        phone: f.phone.clone(),
        birth_date: f.birth_date,
        address_json: f.address_json.clone(),
        emergency_contact_json: f.contact_json.clone(),
        photo_file_id: None,
        locale: f.locale.clone(),
        card_number: new_card_number(),
        member_status: "active".into(),
        guardian_account_id: new.guardian.clone(),
        source: new.source.into(),
        created_at: naive(now),
        updated_at: naive(now),
    };
    members::insert(s, &profile)?;
    members::set_tags(s, &account_id, &f.tags)?;
    record_consents(s, ctx, &account_id, &f.consents, now)?;
    refresh_terms(s, &account, &profile)?;
    let event = Event::on("member.created", "account", &account_id)
        .with(serde_json::json!({ "source": new.source }));
    audit::record(s, ctx, event, now)?;
    let data = serde_json::json!({ "member_id": account_id, "source": new.source,
        "guardian_id": new.guardian });
    crate::events::publish(s, ctx, "member.created", Some(&account_id), data, now)?;
    Ok((account, profile))
}

/// Gives an account created with the `member` role elsewhere (the CLI, the demo) its member profile, from its
/// display name.
pub(crate) fn attach_profile(
    s: &mut Scoped<'_>,
    account: &AccountRow,
    locale: &str,
    source: &'static str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let (given, family) = match account.display_name.split_once(' ') {
        Some((g, f)) => (g.to_owned(), f.to_owned()),
        None => (account.display_name.clone(), String::new()),
    };
    let profile = ProfileRow {
        tenant_id: account.tenant_id.clone(),
        account_id: account.id.clone(),
        given_name: given,
        family_name: family,
        phone: None,
        birth_date: None,
        address_json: None,
        emergency_contact_json: None,
        photo_file_id: None,
        locale: locale.to_owned(),
        card_number: new_card_number(),
        member_status: "active".into(),
        guardian_account_id: None,
        source: source.into(),
        created_at: naive(now),
        updated_at: naive(now),
    };
    members::insert(s, &profile)?;
    refresh_terms(s, account, &profile)
}

/// Appends consent decisions, each with its time and text version.
fn record_consents(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    account_id: &str,
    consents: &[super::ConsentInput],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let tenant_id = s.realm_key().to_owned();
    for c in consents {
        members::insert_consent(
            s,
            &ConsentRow {
                tenant_id: tenant_id.clone(),
                id: IdKind::Consent.new_id(),
                account_id: account_id.to_owned(),
                kind: c.kind.clone(),
                granted: c.granted,
                text_version: c.text_version.trim().to_owned(),
                recorded_at: naive(now),
                recorded_by: ctx.actor.as_ref().map(|a| a.subject_id.clone()),
            },
        )?;
        let data = serde_json::json!({ "member_id": account_id, "kind": c.kind,
            "granted": c.granted, "text_version": c.text_version });
        crate::events::publish(
            s,
            ctx,
            "member.consent_changed",
            Some(account_id),
            data,
            now,
        )?;
    }
    Ok(())
}

/// Rewrites a member's search terms from their profile.
pub(crate) fn refresh_terms(
    s: &mut Scoped<'_>,
    account: &AccountRow,
    profile: &ProfileRow,
) -> AppResult<()> {
    let email = view::shown_email(&account.email).unwrap_or_default();
    let terms = member_terms(
        &profile.given_name,
        &profile.family_name,
        &email,
        profile.phone.as_deref(),
        Some(&profile.card_number),
    );
    members::set_search_terms(s, &account.id, &terms)?;
    Ok(())
}

/// Applies checked changes to a member. `access` limits what may change: tags and status are staff's.
fn apply_changes(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    tenant: &Tenant,
    member_id: &str,
    changes: MemberChanges,
    access: Access,
    now: DateTime<Utc>,
) -> AppResult<MemberView> {
    let account = accounts::find(s, member_id)?.ok_or(AppError::NotFound("member"))?;
    let mut profile = members::find(s, member_id)?.ok_or(AppError::NotFound("member"))?;
    let mut errors = FieldErrors::default();
    if access != Access::Staff {
        if changes.tags.is_some() {
            errors.push(FieldError::new(
                "tags",
                "not_allowed",
                "tags are set by staff",
            ));
        }
        if changes.status.is_some() {
            errors.push(FieldError::new(
                "status",
                "not_allowed",
                "the status is set by staff",
            ));
        }
    }
    if let Some(v) = &changes.given_name {
        if let Some(v) = errors.check("given_name", input::name_part(v)) {
            profile.given_name = v;
        }
    }
    if let Some(v) = &changes.family_name {
        if let Some(v) = errors.check("family_name", input::name_part(v)) {
            profile.family_name = v;
        }
    }
    if let Some(v) = &changes.phone {
        profile.phone = match v {
            Some(p) => errors.check("phone", input::phone(p)),
            None => None,
        };
    }
    if let Some(v) = changes.birth_date {
        let today = now.date_naive();
        profile.birth_date = match v {
            Some(d) => errors.check("birth_date", input::birth_date(d, today)),
            None => None,
        };
    }
    if let Some(v) = &changes.address {
        if let Some(a) = v {
            input::check_address(a, &mut errors, "address");
        }
        profile.address_json = v.as_ref().map(to_json);
    }
    if let Some(v) = &changes.emergency_contact {
        if let Some(c) = v {
            input::check_contact(c, &mut errors, "emergency_contact");
        }
        profile.emergency_contact_json = v.as_ref().map(to_json);
    }
    if let Some(v) = &changes.photo_file_id {
        if let Some(file_id) = v {
            let owned = tessera_store::models::files::find(s, file_id)?
                .filter(|f| f.deleted_at.is_none())
                .is_some_and(|f| f.owner_account_id.as_deref() == Some(member_id));
            if !owned {
                errors.push(FieldError::new(
                    "photo_file_id",
                    "unknown_file",
                    "no file of this member with that id",
                ));
            }
        }
        profile.photo_file_id = v.clone();
    }
    if let Some(v) = &changes.locale {
        if let Some(l) = errors.check("locale", input::locale(v, &tenant.config.locales)) {
            profile.locale = l;
        }
    }
    if let Some(v) = &changes.status {
        if MEMBER_STATUSES.contains(&v.as_str()) {
            profile.member_status = v.clone();
        } else {
            errors.push(FieldError::new(
                "status",
                "unknown_status",
                "active, inactive or blocked",
            ));
        }
    }
    let tags = changes
        .tags
        .as_ref()
        .map(|t| input::tags(t, &mut errors, "tags"));
    input::check_consents(&changes.consents, &mut errors, "consents");
    errors.into_result()?;
    profile.updated_at = naive(now);
    members::update(s, &profile)?;
    if changes.status.is_some() {
        // A blocked member is refused at the doors: offline ones learn it from the allowlist's next delta.
        crate::access::touch(s, member_id, now)?;
    }
    let display = format!("{} {}", profile.given_name, profile.family_name);
    if let Ok(name) = DisplayName::parse(&display) {
        let account_changes = accounts::AccountChanges {
            display_name: Some(name.as_str().to_owned()),
            updated_at: Some(naive(now)),
            ..Default::default()
        };
        accounts::update(s, member_id, &account_changes)?;
    }
    if let Some(tags) = tags {
        members::set_tags(s, member_id, &tags)?;
    }
    record_consents(s, ctx, member_id, &changes.consents, now)?;
    refresh_terms(s, &account, &profile)?;
    audit::record(
        s,
        ctx,
        Event::on("member.updated", "account", member_id),
        now,
    )?;
    let data = serde_json::json!({ "member_id": member_id });
    crate::events::publish(s, ctx, "member.updated", Some(member_id), data, now)?;
    view::load(s, member_id)
}

impl App {
    pub(crate) fn tenant_for(&self, ctx: &Ctx) -> AppResult<std::sync::Arc<Tenant>> {
        let id = tenant_of(ctx)?;
        self.tenants()
            .by_id(&id)
            .ok_or(AppError::NotFound("tenant"))
    }

    /// One member: staff with `members.read`, the member, or their guardian.
    pub async fn get_member(&self, ctx: &Ctx, id: &str) -> AppResult<MemberView> {
        let tenant = tenant_of(ctx)?;
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                access_to(s, &principal, &id, false)?;
                view::load(s, &id)
            })
        })
        .await
    }

    /// Changes a member: staff with `members.manage` (every field), the member or their guardian (not tags
    /// nor status).
    pub async fn update_member(
        &self,
        ctx: &Ctx,
        id: &str,
        changes: MemberChanges,
    ) -> AppResult<MemberView> {
        let tenant = self.tenant_for(ctx)?;
        let now = self.clock().now();
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let access = access_to(s, &principal, &id, true)?;
                apply_changes(s, &ctx, &tenant, &id, changes, access, now)
            })
        })
        .await
    }

    /// The caller's own member profile.
    pub async fn my_profile(&self, ctx: &Ctx) -> AppResult<MemberView> {
        let id = own_id(ctx)?;
        self.get_member(ctx, &id).await
    }

    /// Changes the caller's own profile.
    pub async fn update_my_profile(
        &self,
        ctx: &Ctx,
        changes: MemberChanges,
    ) -> AppResult<MemberView> {
        let id = own_id(ctx)?;
        self.update_member(ctx, &id, changes).await
    }

    /// The minors whose guardian the caller is.
    pub async fn my_dependants(&self, ctx: &Ctx) -> AppResult<Vec<MemberView>> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let rows = members::dependants(s, &principal.id)?;
                rows.iter().map(|p| view::load(s, &p.account_id)).collect()
            })
        })
        .await
    }
}

/// The caller's account id (members act on themselves).
fn own_id(ctx: &Ctx) -> AppResult<String> {
    match &ctx.actor {
        Some(actor) if actor.kind == crate::ActorKind::Account => Ok(actor.subject_id.clone()),
        Some(_) => Err(AppError::Forbidden),
        None => Err(AppError::Unauthenticated {
            code: "unauthenticated",
            detail: "sign in first".into(),
        }),
    }
}
