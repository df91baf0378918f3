//! Logins, refresh-token rotation, logout, invitation acceptance, and the permission check every service runs.

use chrono::Duration;
use serde::Serialize;
use tessera_domain::ids::IdKind;
use tessera_domain::realm::Realm;
use tessera_domain::role::{Permission, Role};
use tessera_domain::values::{EmailAddress, NewPassword};
use tessera_store::models::{accounts, operators, tokens};
use tessera_store::{Scoped, TxMode};

use crate::audit::{self, Event};
use crate::{naive, token_hash, tokens_random, Actor, ActorKind, App, AppError, AppResult, Ctx};

/// What a successful login or refresh returns.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// Short-lived JWT.
    pub access_token: String,
    /// Opaque, single-use refresh token.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// The caller, as the database knows it now.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Account or operator id.
    pub id: String,
    /// Account or operator.
    pub kind: ActorKind,
    /// Current roles.
    pub roles: Vec<Role>,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// A pro's specialty.
    pub specialty: Option<String>,
    /// The group person behind the account.
    pub person_id: String,
}

impl Principal {
    /// True when the principal holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

fn parse_roles(names: &[String]) -> Vec<Role> {
    names.iter().filter_map(|n| Role::parse(n).ok()).collect()
}

/// What a device gets on a route made for people.
pub(crate) fn device_forbidden() -> AppError {
    AppError::Denied {
        code: "device_not_permitted",
        detail: "a device credential may only call the device routes (pairing, access checks, allowlist, \
                 check-in uploads, body measurements)"
            .into(),
    }
}

fn unauthenticated() -> AppError {
    AppError::Unauthenticated {
        code: "unauthenticated",
        detail: "a valid access token is required".into(),
    }
}

/// What this process read of callers recently: their status and roles, for at most the configured time.
///
/// Reading the caller from the database costs a transaction on every request; this keeps the answer for a short
/// time (`auth.principal_cache_ttl_ms`). A service that changes an account evicts it at once, so changes made
/// through this process apply on the next request; changes made by another process apply within the time.
pub struct PrincipalCache {
    ttl: std::time::Duration,
    /// By realm key, then subject id: looked up with borrowed strings, so a hit allocates nothing.
    entries: std::sync::Mutex<PrincipalMap>,
}

type PrincipalMap = std::collections::HashMap<
    String,
    std::collections::HashMap<String, (std::time::Instant, Principal)>,
>;

/// Most callers remembered; past that, stale entries are dropped, then all if need be.
const PRINCIPAL_CACHE_MAX: usize = 50_000;

impl PrincipalCache {
    /// A cache keeping entries for `ttl` (zero disables it).
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            entries: std::sync::Mutex::new(PrincipalMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PrincipalMap> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached principal of `actor` in `realm_key`, if fresh.
    pub fn get(&self, realm_key: &str, actor: &Actor) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.lock();
        let (at, principal) = entries.get(realm_key)?.get(actor.subject_id.as_str())?;
        (at.elapsed() < self.ttl && principal.kind == actor.kind).then(|| principal.clone())
    }

    fn put(&self, realm_key: &str, principal: &Principal) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries
            .values()
            .map(std::collections::HashMap::len)
            .sum::<usize>()
            >= PRINCIPAL_CACHE_MAX
        {
            let ttl = self.ttl;
            for realm in entries.values_mut() {
                realm.retain(|_, (at, _)| at.elapsed() < ttl);
            }
            entries.retain(|_, realm| !realm.is_empty());
            if entries
                .values()
                .map(std::collections::HashMap::len)
                .sum::<usize>()
                >= PRINCIPAL_CACHE_MAX
            {
                entries.clear();
            }
        }
        entries.entry(realm_key.to_owned()).or_default().insert(
            principal.id.clone(),
            (std::time::Instant::now(), principal.clone()),
        );
    }

    /// Forgets an account after a change to its status or roles.
    pub fn evict(&self, realm_key: &str, subject_id: &str) {
        if let Some(realm) = self.lock().get_mut(realm_key) {
            realm.remove(subject_id);
        }
    }
}

/// Checks, inside the caller's transaction, that the actor exists, is active and holds `permission`; returns the
/// principal. An operator is accepted on a tenant realm only when the route let the group audience through.
/// The caller is read from `cache` when it was read within the cache's time, else from the database.
pub fn authorize(
    cache: &PrincipalCache,
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    permission: Permission,
) -> AppResult<Principal> {
    let actor = ctx.actor.as_ref().ok_or_else(unauthenticated)?;
    let principal = match cache.get(s.realm_key(), actor) {
        Some(principal) => principal,
        None => {
            let principal = load_principal(s, actor)?;
            cache.put(s.realm_key(), &principal);
            principal
        }
    };
    check(principal, permission)
}

/// The permission check itself.
pub fn check(principal: Principal, permission: Permission) -> AppResult<Principal> {
    if permission.allowed_for(&principal.roles) {
        Ok(principal)
    } else {
        Err(AppError::Forbidden)
    }
}

fn load_principal(s: &mut Scoped<'_>, actor: &Actor) -> AppResult<Principal> {
    match actor.kind {
        ActorKind::Account => {
            let account = accounts::find(s, &actor.subject_id)?
                .filter(|a| a.status == "active")
                .ok_or_else(unauthenticated)?;
            let roles = parse_roles(&accounts::roles(s, &account.id)?);
            Ok(Principal {
                id: account.id,
                kind: ActorKind::Account,
                roles,
                email: account.email,
                display_name: account.display_name,
                specialty: account.specialty,
                person_id: account.person_id,
            })
        }
        // A device holds no role: it may call only the routes made for devices, which check it with
        // `crate::devices::authorize_device`.
        ActorKind::Device => Err(device_forbidden()),
        ActorKind::Operator => {
            let operator = operators::find(s.conn(), &actor.subject_id)?
                .filter(|o| o.status == "active")
                .ok_or_else(unauthenticated)?;
            Ok(Principal {
                id: operator.id,
                kind: ActorKind::Operator,
                roles: vec![Role::Operator],
                email: operator.email,
                display_name: operator.display_name,
                specialty: None,
                person_id: operator.person_id,
            })
        }
    }
}

/// Outcome of a refresh inside its transaction: a reuse must commit its revocation before failing.
enum RefreshOutcome {
    Rotated {
        subject: String,
        kind: ActorKind,
        roles: Vec<String>,
        refresh_token: String,
    },
    Reused,
    Invalid,
}

impl App {
    /// Checks a group-realm request: the caller must be an active operator with `permission`.
    pub(crate) async fn authorize_group(
        &self,
        ctx: &Ctx,
        permission: Permission,
    ) -> AppResult<Principal> {
        if ctx.realm != Realm::Group {
            return Err(AppError::NotFound("route"));
        }
        let ctx = ctx.clone();
        let app = self.clone();
        self.blocking(move |db| {
            db.scoped(ctx.realm.key(), TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, permission)
            })
        })
        .await
    }

    /// `POST /api/v1/auth/token`: checks e-mail and password in the request's realm and issues a token pair.
    /// Failures are throttled per account and per address; unknown accounts take as long as known ones.
    pub async fn login(&self, ctx: &Ctx, email: &str, password: &str) -> AppResult<TokenPair> {
        let invalid = || AppError::Unauthenticated {
            code: "invalid_credentials",
            detail: "wrong e-mail address or password".into(),
        };
        let email = EmailAddress::parse(email).map_err(|_| invalid())?;
        let account_key = format!("acct:{}:{}", ctx.realm.key(), email);
        let mut keys = vec![account_key.clone()];
        if let Some(ip) = ctx.client_ip {
            keys.push(format!("ip:{ip}"));
        }
        self.inner
            .throttle
            .check(&keys)
            .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;

        let realm = ctx.realm.clone();
        let lookup_email = email.as_str().to_owned();
        let found = self
            .blocking(move |db| match &realm {
                Realm::Group => Ok(db
                    .with_conn(|conn| operators::find_by_email(conn, &lookup_email))?
                    .filter(|o| o.status == "active")
                    .map(|o| {
                        (
                            o.id,
                            ActorKind::Operator,
                            Some(o.password_hash),
                            vec![Role::Operator.as_str().to_owned()],
                        )
                    })),
                Realm::Tenant { id, .. } => db.scoped(id, TxMode::Read, |s| {
                    let Some(account) =
                        accounts::find_by_email(s, &lookup_email)?.filter(|a| a.status == "active")
                    else {
                        return Ok::<_, AppError>(None);
                    };
                    let roles = accounts::roles(s, &account.id)?;
                    Ok(Some((
                        account.id,
                        ActorKind::Account,
                        account.password_hash,
                        roles,
                    )))
                }),
            })
            .await?;
        let stored_hash = found.as_ref().and_then(|(_, _, hash, _)| hash.clone());
        let verified = self.inner.passwords.verify(password, stored_hash).await?;
        let Some((subject, kind, _, roles)) = found.clone().filter(|_| verified) else {
            self.inner.throttle.record_failure(&keys);
            tracing::info!(realm = ctx.realm.key(), request_id = %ctx.request_id, "failed login");
            // The known account is named by id; an unknown address is recorded without it (no personal data).
            let target = found.map(|(id, kind, _, _)| (id, kind));
            self.record_alone(ctx, "auth.login_failed", target).await?;
            return Err(invalid());
        };
        self.inner.throttle.clear(&account_key);
        let family = IdKind::TokenFamily.new_id();
        let refresh_token = self.store_login(ctx, &subject, kind, &family).await?;
        let (access_token, expires_in) =
            self.issue_access_token(&subject, kind, ctx.realm.audience(), roles)?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: "Bearer",
            expires_in,
        })
    }

    /// Starts a session: stores the first refresh token of a new family and records the login, in one transaction.
    async fn store_login(
        &self,
        ctx: &Ctx,
        subject: &str,
        kind: ActorKind,
        family: &str,
    ) -> AppResult<String> {
        let now = self.clock().now();
        let token = tokens_random(32);
        let row = tokens::RefreshTokenRow {
            tenant_id: ctx.realm.key().to_owned(),
            id: IdKind::RefreshToken.new_id(),
            family_id: family.to_owned(),
            subject_id: subject.to_owned(),
            token_hash: token_hash(&token),
            status: "active".into(),
            expires_at: naive(now + Duration::seconds(self.settings().auth.refresh_token_ttl_secs)),
            created_at: naive(now),
            used_at: None,
        };
        let mut ctx = ctx.clone();
        ctx.actor = Some(Actor {
            subject_id: subject.to_owned(),
            kind,
        });
        self.blocking(move |db| {
            db.scoped(ctx.realm.key(), TxMode::Write, |s| {
                tokens::insert_refresh(s, &row)?;
                let event = Event::on("auth.login", target_kind(kind), &row.subject_id)
                    .with(serde_json::json!({ "family": row.family_id }));
                audit::record(s, &ctx, event, now)
            })
        })
        .await?;
        Ok(token)
    }

    /// Records an event that changes nothing else (a failed login), in its own transaction.
    async fn record_alone(
        &self,
        ctx: &Ctx,
        action: &'static str,
        target: Option<(String, ActorKind)>,
    ) -> AppResult<()> {
        let now = self.clock().now();
        let ctx = ctx.clone();
        self.blocking(move |db| {
            db.scoped(ctx.realm.key(), TxMode::Write, |s| {
                let event = match &target {
                    Some((id, kind)) => Event::on(action, target_kind(*kind), id),
                    None => Event {
                        action,
                        target_kind: None,
                        target_id: None,
                        details: serde_json::json!({}),
                    },
                };
                audit::record(s, &ctx, event, now)
            })
        })
        .await
    }

    /// `POST /api/v1/auth/refresh`: rotates a refresh token. A token presented a second time revokes its whole
    /// family (it was stolen or replayed), and the caller must log in again.
    pub async fn refresh_tokens(&self, ctx: &Ctx, refresh_token: &str) -> AppResult<TokenPair> {
        let now = self.clock().now();
        let hash = token_hash(refresh_token);
        let audit_ctx = ctx.clone();
        let realm = ctx.realm.clone();
        let outcome = self
            .blocking(move |db| {
                db.scoped(realm.key(), TxMode::Write, |s| {
                    let Some(row) = tokens::find_refresh_locked(s, &hash)? else {
                        return Ok::<_, AppError>(RefreshOutcome::Invalid);
                    };
                    if row.status == "used" {
                        tokens::revoke_family(s, &row.family_id)?;
                        let event = Event::on("auth.refresh_reused", "session", &row.family_id)
                            .with(serde_json::json!({ "subject": row.subject_id }));
                        audit::record(s, &audit_ctx, event, now)?;
                        return Ok(RefreshOutcome::Reused);
                    }
                    if row.status != "active" || tessera_store::utc(row.expires_at) <= now {
                        return Ok(RefreshOutcome::Invalid);
                    }
                    let (kind, roles) = match &realm {
                        Realm::Group => (
                            ActorKind::Operator,
                            vec![Role::Operator.as_str().to_owned()],
                        ),
                        Realm::Tenant { .. } => {
                            (ActorKind::Account, accounts::roles(s, &row.subject_id)?)
                        }
                    };
                    let active = match kind {
                        ActorKind::Operator => operators::find(s.conn(), &row.subject_id)?
                            .is_some_and(|o| o.status == "active"),
                        ActorKind::Account => accounts::find(s, &row.subject_id)?
                            .is_some_and(|a| a.status == "active"),
                        // Devices never hold refresh tokens.
                        ActorKind::Device => false,
                    };
                    if !active {
                        tokens::revoke_family(s, &row.family_id)?;
                        return Ok(RefreshOutcome::Invalid);
                    }
                    tokens::mark_refresh_used(s, &row.id, naive(now))?;
                    let token = tokens_random(32);
                    tokens::insert_refresh(
                        s,
                        &tokens::RefreshTokenRow {
                            id: IdKind::RefreshToken.new_id(),
                            token_hash: token_hash(&token),
                            status: "active".into(),
                            created_at: naive(now),
                            used_at: None,
                            ..row.clone()
                        },
                    )?;
                    Ok(RefreshOutcome::Rotated {
                        subject: row.subject_id,
                        kind,
                        roles,
                        refresh_token: token,
                    })
                })
            })
            .await?;
        match outcome {
            RefreshOutcome::Rotated { subject, kind, roles, refresh_token } => {
                let (access_token, expires_in) = self.issue_access_token(&subject, kind, ctx.realm.audience(), roles)?;
                Ok(TokenPair { access_token, refresh_token, token_type: "Bearer", expires_in })
            }
            RefreshOutcome::Reused => Err(AppError::Unauthenticated {
                code: "refresh_token_reused",
                detail: "this refresh token was already used; every session from that login is now revoked".into(),
            }),
            RefreshOutcome::Invalid => Err(AppError::Unauthenticated {
                code: "invalid_refresh_token",
                detail: "the refresh token is unknown, expired or revoked".into(),
            }),
        }
    }

    /// `POST /api/v1/auth/logout`: revokes the refresh token's family. Unknown tokens are ignored, so that
    /// logging out twice is harmless.
    pub async fn logout(&self, ctx: &Ctx, refresh_token: &str) -> AppResult<()> {
        let hash = token_hash(refresh_token);
        let realm_key = ctx.realm.key().to_owned();
        self.blocking(move |db| {
            db.scoped(&realm_key, TxMode::Write, |s| {
                if let Some(row) = tokens::find_refresh_locked(s, &hash)? {
                    tokens::revoke_family(s, &row.family_id)?;
                }
                Ok(())
            })
        })
        .await
    }

    /// `POST /api/v1/auth/accept-invite`: an invited account sets its password with the single-use token from
    /// its invitation, and becomes active.
    pub async fn accept_invite(&self, ctx: &Ctx, token: &str, password: &str) -> AppResult<()> {
        let Realm::Tenant { id: tenant_id, .. } = ctx.realm.clone() else {
            return Err(AppError::NotFound("invitation"));
        };
        let password =
            NewPassword::parse(password).map_err(|e| AppError::invalid("password", e))?;
        let hash = self.inner.passwords.hash(&password).await?;
        let now = self.clock().now();
        let token = token.to_owned();
        let invite_ctx = ctx.clone();
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let row = crate::password_reset::take_token(s, "invite", &token, now, || {
                    AppError::Unauthenticated {
                        code: "invalid_invitation",
                        detail: "the invitation is unknown, expired or already used".into(),
                    }
                })?;
                let changes = accounts::AccountChanges {
                    password_hash: Some(Some(hash)),
                    status: Some("active".into()),
                    updated_at: Some(naive(now)),
                    ..Default::default()
                };
                accounts::update(s, &row.account_id, &changes)?;
                let mut ctx = invite_ctx.clone();
                ctx.actor = Some(Actor {
                    subject_id: row.account_id.clone(),
                    kind: ActorKind::Account,
                });
                audit::record(
                    s,
                    &ctx,
                    Event::on("auth.invitation_accepted", "account", &row.account_id),
                    now,
                )?;
                Ok(())
            })
        })
        .await
    }
}

/// The audit target kind of an actor kind.
fn target_kind(kind: ActorKind) -> &'static str {
    match kind {
        ActorKind::Account => "account",
        ActorKind::Operator => "operator",
        ActorKind::Device => "device",
    }
}
