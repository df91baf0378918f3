//! Password reset by e-mail: a single-use token valid one hour, sent to the account's address. The request is
//! answered the same way whether the address exists or not, so that it reveals nothing.

use chrono::Duration;
use tessera_domain::ids::IdKind;
use tessera_domain::realm::Realm;
use tessera_domain::values::{EmailAddress, NewPassword};
use tessera_store::models::{accounts, tokens};
use tessera_store::TxMode;

use crate::audit::{self, Event};
use crate::{naive, token_hash, tokens_random, Actor, ActorKind, App, AppError, AppResult, Ctx};

/// How long a reset link works.
pub const RESET_TTL_MINUTES: i64 = 60;

impl App {
    /// `POST /api/v1/auth/password-reset`: when an active account has this address in the request's brand, queues
    /// an e-mail with a single-use link. Always succeeds, known address or not.
    pub async fn request_password_reset(&self, ctx: &Ctx, email: &str) -> AppResult<()> {
        let Realm::Tenant { id: tenant_id, .. } = ctx.realm.clone() else {
            return Err(AppError::NotFound("route"));
        };
        let tenant = self
            .tenants()
            .by_id(&tenant_id)
            .ok_or(AppError::NotFound("tenant"))?;
        // A malformed address cannot have an account: answered like an unknown one.
        let Ok(email) = EmailAddress::parse(email) else {
            return Ok(());
        };
        let now = self.clock().now();
        let token = tokens_random(32);
        let link_base = crate::email::link_base(self, &tenant);
        let (app, ctx) = (self.clone(), ctx.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let Some(account) =
                    accounts::find_by_email(s, email.as_str())?.filter(|a| a.status == "active")
                else {
                    return Ok(());
                };
                tokens::insert_account_token(
                    s,
                    &tokens::AccountTokenRow {
                        tenant_id: tenant_id.clone(),
                        id: IdKind::AccountToken.new_id(),
                        account_id: account.id.clone(),
                        purpose: "password_reset".into(),
                        token_hash: token_hash(&token),
                        expires_at: naive(now + Duration::minutes(RESET_TTL_MINUTES)),
                        used_at: None,
                        created_at: naive(now),
                    },
                )?;
                let link = format!("{link_base}/reset-password?token={token}");
                let message = crate::email::link_message(&crate::email::LinkMessage {
                    template: crate::email::Template::PasswordReset,
                    tenant: &tenant,
                    base: &link_base,
                    locale: &tenant.config.default_locale,
                    to: &account.email,
                    name: &account.display_name,
                    link: &link,
                    minutes: RESET_TTL_MINUTES,
                })?;
                crate::email::queue(&app, s, &message, now)?;
                audit::record(
                    s,
                    &ctx,
                    Event::on("auth.password_reset_requested", "account", &account.id),
                    now,
                )
            })
        })
        .await
    }

    /// `POST /api/v1/auth/password-reset/confirm`: sets a new password with the token from the e-mail, once, and
    /// ends the account's sessions.
    pub async fn confirm_password_reset(
        &self,
        ctx: &Ctx,
        token: &str,
        password: &str,
    ) -> AppResult<()> {
        let Realm::Tenant { id: tenant_id, .. } = ctx.realm.clone() else {
            return Err(AppError::NotFound("route"));
        };
        let password =
            NewPassword::parse(password).map_err(|e| AppError::invalid("password", e))?;
        let hash = self.inner.passwords.hash(&password).await?;
        let now = self.clock().now();
        let digest = token_hash(token);
        let ctx = ctx.clone();
        let realm_key = tenant_id.clone();
        let account_id = self
            .blocking(move |db| {
                db.scoped(&tenant_id, TxMode::Write, |s| {
                    let row = tokens::find_account_token_locked(s, "password_reset", &digest)?
                        .filter(|t| t.used_at.is_none() && tessera_store::utc(t.expires_at) > now)
                        .ok_or(AppError::Unauthenticated {
                            code: "invalid_reset_token",
                            detail: "the reset link is unknown, expired or already used".into(),
                        })?;
                    let changes = accounts::AccountChanges {
                        password_hash: Some(Some(hash)),
                        updated_at: Some(naive(now)),
                        ..Default::default()
                    };
                    accounts::update(s, &row.account_id, &changes)?;
                    tokens::mark_account_token_used(s, &row.id, naive(now))?;
                    tokens::revoke_subject(s, &row.account_id)?;
                    let mut ctx = ctx.clone();
                    ctx.actor = Some(Actor {
                        subject_id: row.account_id.clone(),
                        kind: ActorKind::Account,
                    });
                    audit::record(
                        s,
                        &ctx,
                        Event::on("auth.password_reset", "account", &row.account_id),
                        now,
                    )?;
                    Ok(row.account_id)
                })
            })
            .await?;
        self.principals().evict(&realm_key, &account_id);
        Ok(())
    }
}

/// How long an address-verification link works.
pub const VERIFY_TTL_MINUTES: i64 = 24 * 60;

impl App {
    /// `POST /api/v1/me/email-verification`: e-mails the caller a single-use link that proves their address.
    pub async fn request_email_verification(&self, ctx: &Ctx) -> AppResult<()> {
        let Realm::Tenant { id: tenant_id, .. } = ctx.realm.clone() else {
            return Err(AppError::NotFound("route"));
        };
        let tenant = self
            .tenants()
            .by_id(&tenant_id)
            .ok_or(AppError::NotFound("tenant"))?;
        let now = self.clock().now();
        let token = tokens_random(32);
        let link_base = crate::email::link_base(self, &tenant);
        let (app, ctx) = (self.clone(), ctx.clone());
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let principal = crate::auth::authorize(
                    app.principals(),
                    s,
                    &ctx,
                    tessera_domain::role::Permission::ProfileReadOwn,
                )?;
                if principal.kind != ActorKind::Account {
                    return Err(AppError::Forbidden);
                }
                let account =
                    accounts::find(s, &principal.id)?.ok_or(AppError::NotFound("account"))?;
                tokens::insert_account_token(
                    s,
                    &tokens::AccountTokenRow {
                        tenant_id: tenant_id.clone(),
                        id: IdKind::AccountToken.new_id(),
                        account_id: account.id.clone(),
                        purpose: "verify_email".into(),
                        token_hash: token_hash(&token),
                        expires_at: naive(now + Duration::minutes(VERIFY_TTL_MINUTES)),
                        used_at: None,
                        created_at: naive(now),
                    },
                )?;
                let link = format!("{link_base}/verify-email?token={token}");
                let message = crate::email::link_message(&crate::email::LinkMessage {
                    template: crate::email::Template::VerifyEmail,
                    tenant: &tenant,
                    base: &link_base,
                    locale: &tenant.config.default_locale,
                    to: &account.email,
                    name: &account.display_name,
                    link: &link,
                    minutes: VERIFY_TTL_MINUTES,
                })?;
                crate::email::queue(&app, s, &message, now)?;
                audit::record(
                    s,
                    &ctx,
                    Event::on("auth.email_verification_requested", "account", &account.id),
                    now,
                )
            })
        })
        .await
    }

    /// `POST /api/v1/auth/verify-email`: the link's token proves the address, once.
    pub async fn verify_email(&self, ctx: &Ctx, token: &str) -> AppResult<()> {
        let Realm::Tenant { id: tenant_id, .. } = ctx.realm.clone() else {
            return Err(AppError::NotFound("route"));
        };
        let now = self.clock().now();
        let digest = token_hash(token);
        let ctx = ctx.clone();
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let row = tokens::find_account_token_locked(s, "verify_email", &digest)?
                    .filter(|t| t.used_at.is_none() && tessera_store::utc(t.expires_at) > now)
                    .ok_or(AppError::Unauthenticated {
                        code: "invalid_verification_token",
                        detail: "the verification link is unknown, expired or already used".into(),
                    })?;
                let changes = accounts::AccountChanges {
                    email_verified_at: Some(Some(naive(now))),
                    updated_at: Some(naive(now)),
                    ..Default::default()
                };
                accounts::update(s, &row.account_id, &changes)?;
                tokens::mark_account_token_used(s, &row.id, naive(now))?;
                let mut ctx = ctx.clone();
                ctx.actor = Some(Actor {
                    subject_id: row.account_id.clone(),
                    kind: ActorKind::Account,
                });
                audit::record(
                    s,
                    &ctx,
                    Event::on("auth.email_verified", "account", &row.account_id),
                    now,
                )
            })
        })
        .await
    }
}
