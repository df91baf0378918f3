//! Single-use links sent by e-mail: password reset (one hour) and address verification (one day). A reset
//! request is answered the same way whether the address exists or not, so that it reveals nothing.

use chrono::{DateTime, Duration, Utc};
use tessera_domain::ids::IdKind;
use tessera_domain::realm::Realm;
use tessera_domain::role::Permission;
use tessera_domain::values::{EmailAddress, NewPassword};
use tessera_store::models::accounts::{self, AccountRow};
use tessera_store::models::tokens::{self, AccountTokenRow};
use tessera_store::{Scoped, TxMode};

use crate::audit::{self, Event};
use crate::email::{LinkMessage, Template};
use crate::tenants::Tenant;
use crate::{naive, token_hash, tokens_random, Actor, ActorKind, App, AppError, AppResult, Ctx};

/// How long a reset link works.
pub const RESET_TTL_MINUTES: i64 = 60;
/// How long an address-verification link works.
pub const VERIFY_TTL_MINUTES: i64 = 24 * 60;

/// What an e-mailed link is for.
struct LinkKind {
    purpose: &'static str,
    path: &'static str,
    template: Template,
    minutes: i64,
    audit_action: &'static str,
}

const RESET: LinkKind = LinkKind {
    purpose: "password_reset",
    path: "reset-password",
    template: Template::PasswordReset,
    minutes: RESET_TTL_MINUTES,
    audit_action: "auth.password_reset_requested",
};

const VERIFY: LinkKind = LinkKind {
    purpose: "verify_email",
    path: "verify-email",
    template: Template::VerifyEmail,
    minutes: VERIFY_TTL_MINUTES,
    audit_action: "auth.email_verification_requested",
};

/// Stores a single-use token for `account`, queues the e-mail with its link and records the request, all in the
/// caller's transaction.
fn send_link(
    app: &App,
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    tenant: &Tenant,
    account: &AccountRow,
    kind: &LinkKind,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let token = tokens_random(32);
    tokens::insert_account_token(
        s,
        &AccountTokenRow {
            tenant_id: tenant.id.clone(),
            id: IdKind::AccountToken.new_id(),
            account_id: account.id.clone(),
            purpose: kind.purpose.into(),
            token_hash: token_hash(&token),
            expires_at: naive(now + Duration::minutes(kind.minutes)),
            used_at: None,
            created_at: naive(now),
        },
    )?;
    let base = crate::email::link_base(app, tenant);
    let link = format!("{base}/{}?token={token}", kind.path);
    let message = crate::email::link_message(&LinkMessage {
        template: kind.template,
        tenant,
        base: &base,
        locale: &tenant.config.default_locale,
        to: &account.email,
        name: &account.display_name,
        link: &link,
        minutes: kind.minutes,
    })?;
    crate::email::queue(app, s, &message, now)?;
    audit::record(
        s,
        ctx,
        Event::on(kind.audit_action, "account", &account.id),
        now,
    )
}

/// Takes a single-use account token for `purpose`: an unknown, used or expired one is refused with `refused`;
/// a good one is marked used, in the caller's transaction.
/// E-mails a new account its address-verification link (sign-up).
pub(crate) fn send_verification(
    app: &App,
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    tenant: &Tenant,
    account: &AccountRow,
    now: DateTime<Utc>,
) -> AppResult<()> {
    send_link(app, s, ctx, tenant, account, &VERIFY, now)
}

/// E-mails an account a link to choose its password (a walk-in member invited at the desk).
pub(crate) fn send_reset(
    app: &App,
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    tenant: &Tenant,
    account: &AccountRow,
    now: DateTime<Utc>,
) -> AppResult<()> {
    send_link(app, s, ctx, tenant, account, &RESET, now)
}

pub(crate) fn take_token(
    s: &mut Scoped<'_>,
    purpose: &str,
    token: &str,
    now: DateTime<Utc>,
    refused: impl FnOnce() -> AppError,
) -> AppResult<AccountTokenRow> {
    let row = tokens::find_account_token_locked(s, purpose, &token_hash(token))?
        .filter(|t| t.used_at.is_none() && tessera_store::utc(t.expires_at) > now)
        .ok_or_else(refused)?;
    tokens::mark_account_token_used(s, &row.id, naive(now))?;
    Ok(row)
}

/// The tenant of a brand-only route.
fn brand(app: &App, ctx: &Ctx) -> AppResult<std::sync::Arc<Tenant>> {
    match &ctx.realm {
        Realm::Tenant { id, .. } => app.tenants().by_id(id).ok_or(AppError::NotFound("tenant")),
        Realm::Group => Err(AppError::NotFound("route")),
    }
}

/// The context of a token's own account (the caller had no token of its own).
pub(crate) fn as_account(ctx: &Ctx, account_id: &str) -> Ctx {
    let mut ctx = ctx.clone();
    ctx.actor = Some(Actor {
        subject_id: account_id.to_owned(),
        kind: ActorKind::Account,
    });
    ctx
}

impl App {
    /// `POST /api/v1/auth/password-reset`: when an active account has this address in the request's brand, queues
    /// an e-mail with a single-use link. Always succeeds, known address or not.
    pub async fn request_password_reset(&self, ctx: &Ctx, email: &str) -> AppResult<()> {
        let tenant = brand(self, ctx)?;
        // A malformed address cannot have an account: answered like an unknown one.
        let Ok(email) = EmailAddress::parse(email) else {
            return Ok(());
        };
        let now = self.clock().now();
        let (app, ctx) = (self.clone(), ctx.clone());
        self.blocking(move |db| {
            db.scoped(
                &tenant.id,
                TxMode::Write,
                |s| match accounts::find_by_email(s, email.as_str())?
                    .filter(|a| a.status == "active")
                {
                    Some(account) => send_link(&app, s, &ctx, &tenant, &account, &RESET, now),
                    None => Ok(()),
                },
            )
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
        let tenant = brand(self, ctx)?;
        let password =
            NewPassword::parse(password).map_err(|e| AppError::invalid("password", e))?;
        let hash = self.inner.passwords.hash(&password).await?;
        let now = self.clock().now();
        let (ctx, token) = (ctx.clone(), token.to_owned());
        let realm_key = tenant.id.clone();
        let account_id = self
            .blocking(move |db| {
                db.scoped(&tenant.id, TxMode::Write, |s| {
                    let row = take_token(s, RESET.purpose, &token, now, || {
                        AppError::Unauthenticated {
                            code: "invalid_reset_token",
                            detail: "the reset link is unknown, expired or already used".into(),
                        }
                    })?;
                    let changes = accounts::AccountChanges {
                        password_hash: Some(Some(hash)),
                        updated_at: Some(naive(now)),
                        ..Default::default()
                    };
                    accounts::update(s, &row.account_id, &changes)?;
                    tokens::revoke_subject(s, &row.account_id)?;
                    let event = Event::on("auth.password_reset", "account", &row.account_id);
                    let actor = as_account(&ctx, &row.account_id);
                    audit::record(s, &actor, event, now)?;
                    let data = serde_json::json!({ "account_id": row.account_id });
                    let subject = Some(row.account_id.as_str());
                    let name = "account.password_reset";
                    crate::events::publish(s, &actor, name, subject, data, now)?;
                    Ok(row.account_id)
                })
            })
            .await?;
        self.principals().evict(&realm_key, &account_id);
        Ok(())
    }

    /// `POST /api/v1/me/email-verification`: e-mails the caller a single-use link that proves their address.
    pub async fn request_email_verification(&self, ctx: &Ctx) -> AppResult<()> {
        let tenant = brand(self, ctx)?;
        let now = self.clock().now();
        let (app, ctx) = (self.clone(), ctx.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let principal =
                    crate::auth::authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                if principal.kind != ActorKind::Account {
                    return Err(AppError::Forbidden);
                }
                let account =
                    accounts::find(s, &principal.id)?.ok_or(AppError::NotFound("account"))?;
                send_link(&app, s, &ctx, &tenant, &account, &VERIFY, now)
            })
        })
        .await
    }

    /// `POST /api/v1/auth/verify-email`: the link's token proves the address, once.
    pub async fn verify_email(&self, ctx: &Ctx, token: &str) -> AppResult<()> {
        let tenant = brand(self, ctx)?;
        let now = self.clock().now();
        let (ctx, token) = (ctx.clone(), token.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let row = take_token(s, VERIFY.purpose, &token, now, || {
                    AppError::Unauthenticated {
                        code: "invalid_verification_token",
                        detail: "the verification link is unknown, expired or already used".into(),
                    }
                })?;
                let changes = accounts::AccountChanges {
                    email_verified_at: Some(Some(naive(now))),
                    updated_at: Some(naive(now)),
                    ..Default::default()
                };
                accounts::update(s, &row.account_id, &changes)?;
                let event = Event::on("auth.email_verified", "account", &row.account_id);
                let actor = as_account(&ctx, &row.account_id);
                audit::record(s, &actor, event, now)?;
                let data = serde_json::json!({ "account_id": row.account_id });
                let subject = Some(row.account_id.as_str());
                let name = "account.email_verified";
                crate::events::publish(s, &actor, name, subject, data, now)?;
                Ok(())
            })
        })
        .await
    }
}
