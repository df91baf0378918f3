//! A brand's staff, managed by its admins (and operators) through `/api/v1/staff`: invite, list, read, change
//! roles, specialty and name, deactivate.

use chrono::Duration;
use serde::Serialize;
use tessera_domain::ids::IdKind;
use tessera_domain::role::{Permission, Role, Specialty};
use tessera_domain::values::{DisplayName, EmailAddress};
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::{accounts, persons, tokens};
use tessera_store::{Scoped, TxMode};

use crate::audit::{self, Event};
use crate::auth::{authorize, Principal};
use crate::pagination::{Page, PageRequest};
use crate::views::{self, AccountView};
use crate::{naive, token_hash, tokens_random, App, AppError, AppResult, Ctx};

/// Roles that make an account "staff" for listings.
pub const STAFF_ROLES: &[&str] = &["admin", "staff", "pro", "sales_rep", "affiliate"];

/// An invitation to send to the new staff member.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    /// Single-use token for `POST /api/v1/auth/accept-invite`.
    pub token: String,
    /// Expiry.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The result of an invitation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvitedStaff {
    /// The new account.
    pub staff: AccountView,
    /// Its invitation.
    pub invitation: Invitation,
}

/// Input of an invitation, unvalidated.
#[derive(Debug, Clone)]
pub struct InviteStaff {
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Specialty name, for pros.
    pub specialty: Option<String>,
}

/// Changes to a staff account, unvalidated; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct UpdateStaff {
    /// New display name.
    pub display_name: Option<String>,
    /// New roles.
    pub roles: Option<Vec<String>>,
    /// New specialty; `Some(None)` clears it.
    pub specialty: Option<Option<String>>,
}

/// Checks a set of role names a brand account may hold: at least one, each known, no `operator`, no duplicates,
/// and a specialty exactly when `pro` is among them.
pub fn validate_roles(
    names: &[String],
    specialty: Option<&str>,
    require_staff_role: bool,
) -> Result<(Vec<Role>, Option<Specialty>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut roles = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match Role::parse(name) {
            Ok(Role::Operator) => errors.push(FieldError::new(
                format!("roles[{i}]"),
                "role_not_allowed",
                "operator is a group role; brand accounts cannot hold it",
            )),
            Ok(role) if roles.contains(&role) => errors.push(FieldError::new(
                format!("roles[{i}]"),
                "duplicate",
                "listed twice",
            )),
            Ok(role) => roles.push(role),
            Err(e) => errors.push(e.under(&format!("roles[{i}]"))),
        }
    }
    if names.is_empty() {
        errors.push(FieldError::new(
            "roles",
            "required",
            "give at least one role",
        ));
    } else if require_staff_role && errors.is_empty() && !roles.iter().any(|r| r.is_staff_role()) {
        errors.push(FieldError::new(
            "roles",
            "staff_role_required",
            "staff hold at least one of admin, staff, pro, sales_rep, affiliate",
        ));
    }
    let specialty = match specialty {
        Some(name) => errors.check("specialty", Specialty::parse(name)),
        None => None,
    };
    if roles.contains(&Role::Pro) && specialty.is_none() && errors.is_empty() {
        errors.push(FieldError::new(
            "specialty",
            "required",
            "a pro needs a specialty: coach, nutritionist or therapist",
        ));
    }
    if !roles.contains(&Role::Pro) && specialty.is_some() {
        errors.push(FieldError::new(
            "specialty",
            "not_allowed",
            "only a pro has a specialty",
        ));
    }
    errors.into_result().map(|()| (roles, specialty))
}

/// The account `id` if it is staff of this tenant; anything else (a member, another tenant's id) is not found.
fn find_staff(s: &mut Scoped<'_>, id: &str) -> AppResult<accounts::AccountRow> {
    let row = accounts::find(s, id)?.ok_or(AppError::NotFound("staff member"))?;
    let roles = accounts::roles(s, &row.id)?;
    if roles.iter().any(|r| STAFF_ROLES.contains(&r.as_str())) {
        Ok(row)
    } else {
        Err(AppError::NotFound("staff member"))
    }
}

fn tenant_only(ctx: &Ctx) -> AppResult<String> {
    ctx.realm
        .tenant_id()
        .map(str::to_owned)
        .ok_or(AppError::NotFound("route"))
}

impl App {
    /// A page of the brand's staff.
    pub async fn list_staff(&self, ctx: &Ctx, page: PageRequest) -> AppResult<Page<AccountView>> {
        let tenant = tenant_only(ctx)?;
        let ctx = ctx.clone();
        let app = self.clone();
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::StaffRead)?;
                let rows = accounts::list(
                    s,
                    accounts::AccountFilter::AnyRole(STAFF_ROLES),
                    page.after.as_deref(),
                    page.limit + 1,
                )?;
                let views = views::with_roles(s, rows)?;
                Ok(Page::from_rows(views, page.limit, |v: &AccountView| &v.id))
            })
        })
        .await
    }

    /// One staff member.
    pub async fn get_staff(&self, ctx: &Ctx, id: &str) -> AppResult<AccountView> {
        let tenant = tenant_only(ctx)?;
        let (ctx, id) = (ctx.clone(), id.to_owned());
        let app = self.clone();
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::StaffRead)?;
                let row = find_staff(s, &id)?;
                Ok(views::one(s, row)?)
            })
        })
        .await
    }

    /// Invites a staff member: creates the account (status `invited`, no password) and a single-use invitation.
    pub async fn invite_staff(&self, ctx: &Ctx, input: InviteStaff) -> AppResult<InvitedStaff> {
        let tenant = tenant_only(ctx)?;
        let mut errors = FieldErrors::default();
        let email = errors.check("email", EmailAddress::parse(&input.email));
        let name = errors.check("display_name", DisplayName::parse(&input.display_name));
        let roles = match validate_roles(&input.roles, input.specialty.as_deref(), true) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        };
        let (Some(email), Some(name), Some((roles, specialty))) = (email, name, roles) else {
            return Err(errors.into());
        };
        let now = self.clock().now();
        let token = tokens_random(32);
        let expires_at = now + Duration::seconds(self.settings().auth.invite_ttl_secs);
        let ctx = ctx.clone();
        let token_digest = token_hash(&token);
        let app = self.clone();
        let staff = self
            .blocking(move |db| {
                db.scoped(&tenant, TxMode::Write, |s| {
                    authorize(app.principals(), s, &ctx, Permission::StaffManage)?;
                    if accounts::find_by_email(s, email.as_str())?.is_some() {
                        return Err(AppError::Conflict {
                            code: "email_taken",
                            detail: "an account with this e-mail address exists in this brand"
                                .into(),
                        });
                    }
                    let person_id = persons::find_or_create(
                        s.conn(),
                        &IdKind::Person.new_id(),
                        email.as_str(),
                        naive(now),
                    )?;
                    let row = accounts::AccountRow {
                        tenant_id: tenant.clone(),
                        id: IdKind::Account.new_id(),
                        person_id,
                        email: email.as_str().to_owned(),
                        display_name: name.as_str().to_owned(),
                        password_hash: None,
                        specialty: specialty.map(|s| s.as_str().to_owned()),
                        status: "invited".into(),
                        created_at: naive(now),
                        updated_at: naive(now),
                        email_verified_at: None,
                    };
                    let role_names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                    accounts::insert(s, &row, &role_names)?;
                    let event = Event::on("staff.invited", "account", &row.id)
                        .with(serde_json::json!({ "roles": role_names }));
                    audit::record(s, &ctx, event, now)?;
                    let data = serde_json::json!({ "account_id": row.id, "roles": role_names });
                    crate::events::publish(s, &ctx, "staff.invited", Some(&row.id), data, now)?;
                    tokens::insert_account_token(
                        s,
                        &tokens::AccountTokenRow {
                            tenant_id: tenant.clone(),
                            id: IdKind::AccountToken.new_id(),
                            account_id: row.id.clone(),
                            purpose: "invite".into(),
                            token_hash: token_digest,
                            expires_at: naive(expires_at),
                            used_at: None,
                            created_at: naive(now),
                        },
                    )?;
                    Ok(views::one(s, row)?)
                })
            })
            .await?;
        Ok(InvitedStaff {
            staff,
            invitation: Invitation { token, expires_at },
        })
    }

    /// Changes a staff member's name, roles or specialty.
    pub async fn update_staff(
        &self,
        ctx: &Ctx,
        id: &str,
        input: UpdateStaff,
    ) -> AppResult<AccountView> {
        let view = self.update_staff_in_db(ctx, id, input).await?;
        self.principals().evict(ctx.realm.key(), &view.id);
        Ok(view)
    }

    async fn update_staff_in_db(
        &self,
        ctx: &Ctx,
        id: &str,
        input: UpdateStaff,
    ) -> AppResult<AccountView> {
        let tenant = tenant_only(ctx)?;
        let mut errors = FieldErrors::default();
        let name = match &input.display_name {
            Some(n) => errors
                .check("display_name", DisplayName::parse(n))
                .map(Some),
            None => Some(None),
        };
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let name = name.flatten();
        let now = self.clock().now();
        let (ctx, id) = (ctx.clone(), id.to_owned());
        let app = self.clone();
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::StaffManage)?;
                let row = find_staff(s, &id)?;
                let current_roles = accounts::roles(s, &row.id)?;
                let role_names = input.roles.clone().unwrap_or(current_roles);
                let specialty = match &input.specialty {
                    Some(new) => new.clone(),
                    None => row.specialty.clone(),
                };
                let (roles, specialty) = validate_roles(&role_names, specialty.as_deref(), true)?;
                guard_self_lockout(&principal, &row.id, Some(&roles))?;
                let changes = accounts::AccountChanges {
                    display_name: name.map(|n| n.as_str().to_owned()),
                    specialty: Some(specialty.map(|s| s.as_str().to_owned())),
                    updated_at: Some(naive(now)),
                    ..Default::default()
                };
                accounts::update(s, &row.id, &changes)?;
                if input.roles.is_some() {
                    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                    accounts::set_roles(s, &row.id, &names)?;
                }
                let changed_roles = input
                    .roles
                    .is_some()
                    .then(|| roles.iter().map(|r| r.as_str()).collect::<Vec<_>>());
                let event = Event::on("staff.updated", "account", &row.id)
                    .with(serde_json::json!({ "roles": changed_roles }));
                audit::record(s, &ctx, event, now)?;
                let data = serde_json::json!({ "account_id": row.id, "roles": changed_roles });
                crate::events::publish(s, &ctx, "staff.updated", Some(&row.id), data, now)?;
                let row = find_staff(s, &id)?;
                Ok(views::one(s, row)?)
            })
        })
        .await
    }

    /// Deactivates a staff member: they can no longer log in, and their refresh tokens are revoked.
    pub async fn deactivate_staff(&self, ctx: &Ctx, id: &str) -> AppResult<AccountView> {
        let view = self.deactivate_staff_in_db(ctx, id).await?;
        self.principals().evict(ctx.realm.key(), &view.id);
        Ok(view)
    }

    async fn deactivate_staff_in_db(&self, ctx: &Ctx, id: &str) -> AppResult<AccountView> {
        let tenant = tenant_only(ctx)?;
        let now = self.clock().now();
        let (ctx, id) = (ctx.clone(), id.to_owned());
        let app = self.clone();
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::StaffManage)?;
                let row = find_staff(s, &id)?;
                guard_self_lockout(&principal, &row.id, None)?;
                let changes = accounts::AccountChanges {
                    status: Some("deactivated".into()),
                    updated_at: Some(naive(now)),
                    ..Default::default()
                };
                accounts::update(s, &row.id, &changes)?;
                tokens::revoke_subject(s, &row.id)?;
                audit::record(
                    s,
                    &ctx,
                    Event::on("staff.deactivated", "account", &row.id),
                    now,
                )?;
                let data = serde_json::json!({ "account_id": row.id });
                crate::events::publish(s, &ctx, "staff.deactivated", Some(&row.id), data, now)?;
                let row = find_staff(s, &id)?;
                Ok(views::one(s, row)?)
            })
        })
        .await
    }
}

/// An admin may not remove their own admin role (`new_roles`) or deactivate themselves (`None`): a brand must
/// never lose the admin who is acting.
fn guard_self_lockout(
    principal: &Principal,
    target: &str,
    new_roles: Option<&[Role]>,
) -> AppResult<()> {
    if principal.id != target {
        return Ok(());
    }
    match new_roles {
        Some(roles) if roles.contains(&Role::Admin) => Ok(()),
        Some(_) => Err(AppError::Conflict {
            code: "self_lockout",
            detail: "you cannot remove your own admin role".into(),
        }),
        None => Err(AppError::Conflict {
            code: "self_lockout",
            detail: "you cannot deactivate yourself".into(),
        }),
    }
}
