//! How people become members: self sign-up on a brand's portal (with address verification), walk-in
//! enrolment at the desk, a guardian adding a minor to their household, and bulk import from the CLI.

use serde::Serialize;
use tessera_domain::role::Permission;
use tessera_domain::values::NewPassword;
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::members;
use tessera_store::TxMode;

use super::input::age_on;
use super::service::{self, NewMember};
use super::view::{self, MemberView};
use super::{access_to, MemberFields};
use crate::auth::authorize;
use crate::{App, AppError, AppResult, Ctx};

/// The answer to a sign-up.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SignedUp {
    /// The new member.
    pub member: MemberView,
    /// True: a verification link was e-mailed; buying online waits for it.
    pub verification_sent: bool,
}

/// Age of majority: younger members need a guardian.
pub const ADULT_AGE: u32 = 18;

impl App {
    /// `POST /api/v1/members/signup`, no token: a person creates their member account on a brand with a
    /// password; a verification link goes to the address. Minors cannot sign up alone.
    pub async fn sign_up(
        &self,
        ctx: &Ctx,
        fields: MemberFields,
        password: &str,
    ) -> AppResult<SignedUp> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let mut errors = FieldErrors::default();
        if fields.email.is_none() {
            errors.push(FieldError::new(
                "email",
                "required",
                "sign up with an e-mail address",
            ));
        }
        if let Some(birth) = fields.birth_date {
            if age_on(birth, today) < ADULT_AGE {
                errors.push(FieldError::new(
                    "birth_date",
                    "minor",
                    "members under 18 are added by a guardian",
                ));
            }
        }
        let password = errors.check("password", NewPassword::parse(password));
        let valid = match service::validate(fields, &tenant, today) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        };
        let (Some(valid), Some(password)) = (valid, password) else {
            return Err(errors.into());
        };
        errors.into_result()?;
        let hash = self.inner.passwords.hash(&password).await?;
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        let member = self
            .blocking(move |db| {
                db.scoped(&tenant.id, TxMode::Write, |s| {
                    let new = NewMember {
                        fields: valid,
                        password_hash: Some(hash),
                        source: "signup",
                        guardian: None,
                    };
                    let (account, _) = service::insert(s, &ctx, &tenant.id, new, now)?;
                    let actor = crate::password_reset::as_account(&ctx, &account.id);
                    crate::password_reset::send_verification(
                        &app, s, &actor, &tenant, &account, now,
                    )?;
                    view::load(s, &account.id)
                })
            })
            .await?;
        Ok(SignedUp {
            member,
            verification_sent: true,
        })
    }

    /// `POST /api/v1/members`: staff enrol a walk-in client at the desk. The account has no password; with
    /// `send_invite` the client gets a link to choose one (the password-reset link).
    pub async fn enrol_walk_in(
        &self,
        ctx: &Ctx,
        fields: MemberFields,
        send_invite: bool,
    ) -> AppResult<MemberView> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        if send_invite && fields.email.is_none() {
            return Err(FieldErrors::from(FieldError::new(
                "email",
                "required",
                "an invitation needs an e-mail address",
            ))
            .into());
        }
        let valid = service::validate(fields, &tenant, today)?;
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::MembersManage)?;
                let new = NewMember {
                    fields: valid,
                    password_hash: None,
                    source: "walk_in",
                    guardian: None,
                };
                let (account, _) = service::insert(s, &ctx, &tenant.id, new, now)?;
                if send_invite {
                    crate::password_reset::send_reset(&app, s, &ctx, &tenant, &account, now)?;
                }
                view::load(s, &account.id)
            })
        })
        .await
    }

    /// Adds a minor to `guardian_id`'s household: by the guardian themself or by staff. The minor has no
    /// login; the guardian reads, changes and books for them.
    pub async fn add_dependant(
        &self,
        ctx: &Ctx,
        guardian_id: Option<&str>,
        fields: MemberFields,
    ) -> AppResult<MemberView> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let mut errors = FieldErrors::default();
        match fields.birth_date {
            None => errors.push(FieldError::new(
                "birth_date",
                "required",
                "a minor's birth date is required",
            )),
            Some(birth) if age_on(birth, today) >= ADULT_AGE => errors.push(FieldError::new(
                "birth_date",
                "not_minor",
                "an adult signs up on their own",
            )),
            Some(_) => {}
        }
        let valid = match service::validate(fields, &tenant, today) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        };
        errors.into_result()?;
        let Some(valid) = valid else {
            return Err(AppError::Internal(
                "validation without errors failed".into(),
            ));
        };
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        let guardian_id = guardian_id.map(str::to_owned);
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let guardian = guardian_id.unwrap_or_else(|| principal.id.clone());
                access_to(s, &principal, &guardian, true)?;
                let guardian_profile =
                    members::find(s, &guardian)?.ok_or(AppError::NotFound("member"))?;
                if guardian_profile.guardian_account_id.is_some() {
                    return Err(AppError::Conflict {
                        code: "guardian_is_minor",
                        detail: "a minor cannot be a guardian".into(),
                    });
                }
                let new = NewMember {
                    fields: valid,
                    password_hash: None,
                    source: "dependant",
                    guardian: Some(guardian),
                };
                let (account, _) = service::insert(s, &ctx, &tenant.id, new, now)?;
                view::load(s, &account.id)
            })
        })
        .await
    }

    /// Imports members from the CLI (a brand moving from another system), one transaction per batch; a bad row
    /// is reported with its line and the rows before it are kept. Returns how many were created.
    pub async fn import_members(
        &self,
        slug: &str,
        rows: Vec<(usize, MemberFields)>,
    ) -> AppResult<usize> {
        let tenant = self
            .tenants()
            .by_slug(slug)
            .ok_or(AppError::NotFound("tenant"))?;
        let today = self.today_in(&tenant);
        let mut valid = Vec::with_capacity(rows.len());
        for (line, fields) in rows {
            let member =
                service::validate(fields, &tenant, today).map_err(|e| AppError::BadRequest {
                    code: "import_row_invalid",
                    detail: format!("line {line}: {e}"),
                })?;
            valid.push((line, member));
        }
        let now = self.clock().now();
        let ctx = Ctx::cli(tessera_domain::realm::Realm::Tenant {
            id: tenant.id.clone(),
            slug: tenant.slug.clone(),
        });
        let mut created = 0;
        for batch in valid.chunks(500) {
            let batch = batch.to_vec();
            let (ctx, tenant_id) = (ctx.clone(), tenant.id.clone());
            created += self
                .blocking(move |db| {
                    db.scoped(&tenant_id, TxMode::Write, |s| {
                        for (line, fields) in batch.iter().cloned() {
                            let new = NewMember {
                                fields,
                                password_hash: None,
                                source: "import",
                                guardian: None,
                            };
                            service::insert(s, &ctx, &tenant_id, new, now).map_err(
                                |e| match e {
                                    AppError::Conflict { code, detail } => AppError::Conflict {
                                        code,
                                        detail: format!("line {line}: {detail}"),
                                    },
                                    other => other,
                                },
                            )?;
                        }
                        Ok(batch.len())
                    })
                })
                .await?;
        }
        Ok(created)
    }

    /// Today's date in a brand's time zone.
    pub(crate) fn today_in(&self, tenant: &crate::tenants::Tenant) -> chrono::NaiveDate {
        let tz: chrono_tz::Tz = tenant.config.time_zone.parse().unwrap_or(chrono_tz::UTC);
        self.clock().now().with_timezone(&tz).date_naive()
    }
}
