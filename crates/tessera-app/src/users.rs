//! Account administration from the operator CLI (`tessera user ...`): create accounts and operators, list them,
//! set roles, reset passwords. These run in the system context (a listed use: CLI maintenance), since the
//! operator at the server's console acts for every brand.

use tessera_domain::ids::IdKind;
use tessera_domain::values::{DisplayName, EmailAddress, NewPassword};
use tessera_domain::FieldErrors;
use tessera_store::models::{accounts, operators, persons, tokens};
use tessera_store::TxMode;

use crate::audit::{self, Event};
use crate::staff::validate_roles;
use crate::views::{self, AccountView};
use crate::Ctx;
use crate::{naive, App, AppError, AppResult};
use tessera_domain::realm::{Realm, GROUP_REALM_KEY};

/// Where an account lives: a brand, or the group (operators).
#[derive(Debug, Clone)]
pub enum UserRealm {
    /// A brand, by slug.
    Tenant(String),
    /// The group: an operator.
    Operator,
}

/// Input of `tessera user create`.
#[derive(Debug, Clone)]
pub struct CreateUser {
    /// Brand or group.
    pub realm: UserRealm,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Roles (ignored for operators).
    pub roles: Vec<String>,
    /// Specialty, for pros.
    pub specialty: Option<String>,
    /// The password.
    pub password: NewPassword,
}

impl App {
    fn tenant_id_of(&self, slug: &str) -> AppResult<String> {
        self.tenants()
            .by_slug(slug)
            .map(|t| t.id.clone())
            .ok_or(AppError::NotFound("tenant"))
    }

    /// Creates an account (or an operator). Fails with `email_taken` when the address is used in that realm.
    pub async fn create_user(&self, input: CreateUser) -> AppResult<AccountView> {
        let mut errors = FieldErrors::default();
        let email = errors.check("email", EmailAddress::parse(&input.email));
        let name = errors.check("display_name", DisplayName::parse(&input.display_name));
        let roles = match &input.realm {
            UserRealm::Operator => Some((Vec::new(), None)),
            UserRealm::Tenant(_) => {
                match validate_roles(&input.roles, input.specialty.as_deref(), false) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        errors.0.extend(e.0);
                        None
                    }
                }
            }
        };
        let (Some(email), Some(name), Some((roles, specialty))) = (email, name, roles) else {
            return Err(errors.into());
        };
        let tenant_id = match &input.realm {
            UserRealm::Tenant(slug) => Some(self.tenant_id_of(slug)?),
            UserRealm::Operator => None,
        };
        let hash = self.inner.passwords.hash(&input.password).await?;
        let locale = match &input.realm {
            UserRealm::Tenant(slug) => self
                .tenants()
                .by_slug(slug)
                .map(|t| t.config.default_locale.clone()),
            UserRealm::Operator => None,
        };
        let now = naive(self.clock().now());
        let taken = || AppError::Conflict {
            code: "email_taken",
            detail: "an account with this e-mail address exists".into(),
        };
        self.blocking(move |db| {
            db.system(TxMode::Write, |sys| {
                let person_id = persons::find_or_create(
                    sys.conn(),
                    &IdKind::Person.new_id(),
                    email.as_str(),
                    now,
                )?;
                match tenant_id {
                    None => {
                        if operators::find_by_email(sys.conn(), email.as_str())?.is_some() {
                            return Err(taken());
                        }
                        let row = operators::OperatorRow {
                            id: IdKind::Operator.new_id(),
                            person_id,
                            email: email.as_str().to_owned(),
                            display_name: name.as_str().to_owned(),
                            password_hash: hash,
                            status: "active".into(),
                            created_at: now,
                            updated_at: now,
                        };
                        operators::insert(sys, &row)?;
                        let ctx = Ctx::cli(Realm::Group);
                        audit::record(
                            &mut sys.scoped(GROUP_REALM_KEY),
                            &ctx,
                            Event::on("user.created", "operator", &row.id),
                            now.and_utc(),
                        )?;
                        Ok(AccountView::operator(row))
                    }
                    Some(tenant_id) => {
                        let mut s = sys.scoped(&tenant_id);
                        if accounts::find_by_email(&mut s, email.as_str())?.is_some() {
                            return Err(taken());
                        }
                        let row = accounts::AccountRow {
                            tenant_id: tenant_id.clone(),
                            id: IdKind::Account.new_id(),
                            person_id,
                            email: email.as_str().to_owned(),
                            display_name: name.as_str().to_owned(),
                            password_hash: Some(hash),
                            specialty: specialty.map(|s| s.as_str().to_owned()),
                            status: "active".into(),
                            created_at: now,
                            updated_at: now,
                            email_verified_at: None,
                        };
                        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                        accounts::insert(&mut s, &row, &names)?;
                        if names.contains(&"member") {
                            let locale = locale.clone().unwrap_or_else(|| "fr".into());
                            crate::members::service::attach_profile(
                                &mut s,
                                &row,
                                &locale,
                                "staff",
                                now.and_utc(),
                            )?;
                        }
                        let event = Event::on("user.created", "account", &row.id)
                            .with(serde_json::json!({ "roles": names }));
                        let ctx = Ctx::cli(Realm::Group);
                        audit::record(&mut s, &ctx, event, now.and_utc())?;
                        let data = serde_json::json!({ "account_id": row.id, "roles": names });
                        let subject = Some(row.id.as_str());
                        let at = now.and_utc();
                        crate::events::publish(&mut s, &ctx, "account.created", subject, data, at)?;
                        Ok(AccountView::new(
                            row,
                            names.iter().map(|r| (*r).to_owned()).collect(),
                        ))
                    }
                }
            })
        })
        .await
    }

    /// Every account of a brand, or every operator.
    pub async fn list_users(&self, realm: UserRealm) -> AppResult<Vec<AccountView>> {
        let tenant_id = match &realm {
            UserRealm::Tenant(slug) => Some(self.tenant_id_of(slug)?),
            UserRealm::Operator => None,
        };
        self.blocking(move |db| {
            db.system(TxMode::Read, |sys| match tenant_id {
                None => Ok(operators::list(sys.conn())?
                    .into_iter()
                    .map(AccountView::operator)
                    .collect()),
                Some(tenant_id) => {
                    let mut s = sys.scoped(&tenant_id);
                    let mut all = Vec::new();
                    let mut after: Option<String> = None;
                    loop {
                        let rows = accounts::list(
                            &mut s,
                            accounts::AccountFilter::All,
                            after.as_deref(),
                            500,
                        )?;
                        let Some(last) = rows.last().map(|r| r.id.clone()) else {
                            break;
                        };
                        all.extend(views::with_roles(&mut s, rows)?);
                        after = Some(last);
                    }
                    Ok::<_, AppError>(all)
                }
            })
        })
        .await
    }

    /// Replaces an account's roles (and specialty).
    pub async fn set_user_roles(
        &self,
        slug: &str,
        email: &str,
        roles: Vec<String>,
        specialty: Option<String>,
    ) -> AppResult<AccountView> {
        let tenant_id = self.tenant_id_of(slug)?;
        let email = EmailAddress::parse(email).map_err(|e| AppError::invalid("email", e))?;
        let (roles, specialty) = validate_roles(&roles, specialty.as_deref(), false)?;
        let now = naive(self.clock().now());
        self.blocking(move |db| {
            db.system(TxMode::Write, |sys| {
                let mut s = sys.scoped(&tenant_id);
                let row = accounts::find_by_email(&mut s, email.as_str())?
                    .ok_or(AppError::NotFound("account"))?;
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                accounts::set_roles(&mut s, &row.id, &names)?;
                let event = Event::on("user.roles_set", "account", &row.id)
                    .with(serde_json::json!({ "roles": names }));
                audit::record(&mut s, &Ctx::cli(Realm::Group), event, now.and_utc())?;
                let specialty = specialty.map(|s| s.as_str().to_owned());
                accounts::update(
                    &mut s,
                    &row.id,
                    &accounts::AccountChanges {
                        specialty: Some(specialty.clone()),
                        updated_at: Some(now),
                        ..Default::default()
                    },
                )?;
                let mut view =
                    AccountView::new(row, names.iter().map(|r| (*r).to_owned()).collect());
                view.specialty = specialty;
                Ok(view)
            })
        })
        .await
    }

    /// Sets a new password and revokes the account's sessions. An invited account becomes active.
    pub async fn reset_user_password(
        &self,
        realm: UserRealm,
        email: &str,
        password: NewPassword,
    ) -> AppResult<()> {
        let email = EmailAddress::parse(email).map_err(|e| AppError::invalid("email", e))?;
        let tenant_id = match &realm {
            UserRealm::Tenant(slug) => Some(self.tenant_id_of(slug)?),
            UserRealm::Operator => None,
        };
        let hash = self.inner.passwords.hash(&password).await?;
        let now = naive(self.clock().now());
        self.blocking(move |db| {
            db.system(TxMode::Write, |sys| match tenant_id {
                None => {
                    let op = operators::find_by_email(sys.conn(), email.as_str())?
                        .ok_or(AppError::NotFound("operator"))?;
                    operators::set_password(sys, &op.id, &hash, now)?;
                    tokens::revoke_subject(
                        &mut sys.scoped(tessera_domain::realm::GROUP_REALM_KEY),
                        &op.id,
                    )?;
                    let ctx = Ctx::cli(Realm::Group);
                    audit::record(
                        &mut sys.scoped(GROUP_REALM_KEY),
                        &ctx,
                        Event::on("user.password_reset", "operator", &op.id),
                        now.and_utc(),
                    )?;
                    Ok(())
                }
                Some(tenant_id) => {
                    let mut s = sys.scoped(&tenant_id);
                    let row = accounts::find_by_email(&mut s, email.as_str())?
                        .ok_or(AppError::NotFound("account"))?;
                    let status = if row.status == "invited" {
                        Some("active".to_owned())
                    } else {
                        None
                    };
                    accounts::update(
                        &mut s,
                        &row.id,
                        &accounts::AccountChanges {
                            password_hash: Some(Some(hash)),
                            status,
                            updated_at: Some(now),
                            ..Default::default()
                        },
                    )?;
                    tokens::revoke_subject(&mut s, &row.id)?;
                    audit::record(
                        &mut s,
                        &Ctx::cli(Realm::Group),
                        Event::on("user.password_reset", "account", &row.id),
                        now.and_utc(),
                    )?;
                    Ok(())
                }
            })
        })
        .await
    }
}
