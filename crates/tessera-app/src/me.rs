//! `GET /api/v1/me`: the caller's account, tenant and roles.

use serde::Serialize;
use tessera_domain::realm::Realm;
use tessera_domain::role::Permission;
use tessera_store::models::{accounts, operators};
use tessera_store::TxMode;

use crate::{auth, ActorKind, App, AppError, AppResult, Ctx};

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
        self.blocking(move |db| {
            db.scoped(ctx.realm.key(), TxMode::Read, |s| {
                let principal = auth::authorize(s, &ctx, Permission::ProfileReadOwn)?;
                let roles = principal
                    .roles
                    .iter()
                    .map(|r| r.as_str().to_owned())
                    .collect();
                let account = match principal.kind {
                    ActorKind::Account => {
                        let a = accounts::find(s, &principal.id)?
                            .ok_or(AppError::NotFound("account"))?;
                        MeAccount {
                            id: a.id,
                            kind: "account",
                            email: a.email,
                            display_name: a.display_name,
                            specialty: a.specialty,
                            person_id: a.person_id,
                        }
                    }
                    ActorKind::Operator => {
                        let o = operators::find(s.conn(), &principal.id)?
                            .ok_or(AppError::NotFound("account"))?;
                        MeAccount {
                            id: o.id,
                            kind: "operator",
                            email: o.email,
                            display_name: o.display_name,
                            specialty: None,
                            person_id: o.person_id,
                        }
                    }
                };
                Ok(MeView {
                    account,
                    tenant: if matches!(ctx.realm, Realm::Group) {
                        None
                    } else {
                        tenant
                    },
                    roles,
                })
            })
        })
        .await
    }
}
