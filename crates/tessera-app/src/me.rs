//! `GET /api/v1/me`: the caller's account, tenant and roles.

use serde::Serialize;
use tessera_domain::realm::Realm;
use tessera_domain::role::Permission;
use tessera_store::TxMode;

use crate::{auth, ActorKind, App, AppResult, Ctx};

/// The caller's view of themself.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MeView {
    /// Account or operator.
    pub account: MeAccount,
    /// The tenant, absent on the group realm.
    pub tenant: Option<MeTenant>,
    /// Current roles.
    pub roles: Vec<String>,
}

/// The caller's account.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MeAccount {
    /// Id.
    pub id: String,
    /// `account` or `operator`.
    pub kind: &'static str,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// A pro's specialty.
    pub specialty: Option<String>,
    /// The group person behind the account.
    pub person_id: String,
}

/// The tenant of the request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MeTenant {
    /// Id.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Display name.
    pub display_name: String,
}

impl App {
    /// The caller's account, tenant and roles. Group-capable: an operator may call it on a tenant host too.
    pub async fn me(&self, ctx: &Ctx) -> AppResult<MeView> {
        let ctx = ctx.clone();
        let tenant = ctx
            .realm
            .tenant_id()
            .and_then(|id| self.tenants().by_id(id))
            .map(|t| MeTenant {
                id: t.id.clone(),
                slug: t.slug.clone(),
                display_name: t.display_name.clone(),
            });
        // The common case touches no database: the caller was read a moment ago.
        if let Some(principal) = ctx
            .actor
            .as_ref()
            .and_then(|actor| self.principals().get(ctx.realm.key(), actor))
        {
            return Ok(view(
                &ctx,
                auth::check(principal, Permission::ProfileReadOwn)?,
                tenant,
            ));
        }
        let app = self.clone();
        self.blocking(move |db| {
            db.scoped(ctx.realm.key(), TxMode::Read, |s| {
                let principal =
                    auth::authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                Ok(view(&ctx, principal, tenant))
            })
        })
        .await
    }
}

fn view(ctx: &Ctx, principal: auth::Principal, tenant: Option<MeTenant>) -> MeView {
    let roles = principal
        .roles
        .iter()
        .map(|r| r.as_str().to_owned())
        .collect();
    let kind = match principal.kind {
        ActorKind::Account => "account",
        ActorKind::Operator => "operator",
        ActorKind::Device => "device",
    };
    MeView {
        account: MeAccount {
            id: principal.id,
            kind,
            email: principal.email,
            display_name: principal.display_name,
            specialty: principal.specialty,
            person_id: principal.person_id,
        },
        tenant: if matches!(ctx.realm, Realm::Group) {
            None
        } else {
            tenant
        },
        roles,
    }
}
