//! A realm is where a request or a token belongs: one brand (tenant), or the group itself.

use serde::{Deserialize, Serialize};

/// The database key that stands for the group realm in realm-keyed tables (`refresh_tokens`,
/// `idempotency_keys`). Tenant ids always start with `ten_`, so it cannot collide with one.
pub const GROUP_REALM_KEY: &str = "group";

/// A brand or the group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Realm {
    /// The group realm: operators and cross-brand work, served on the bare host.
    Group,
    /// One brand.
    Tenant {
        /// The tenant's id (`ten_...`).
        id: String,
        /// The tenant's slug.
        slug: String,
    },
}

impl Realm {
    /// The key stored in realm-keyed rows and set as `app.tenant_id` on PostgreSQL.
    pub fn key(&self) -> &str {
        match self {
            Realm::Group => GROUP_REALM_KEY,
            Realm::Tenant { id, .. } => id,
        }
    }

    /// The JWT audience of tokens issued for this realm.
    pub fn audience(&self) -> String {
        match self {
            Realm::Group => "tessera:group".to_owned(),
            Realm::Tenant { id, .. } => format!("tessera:tenant:{id}"),
        }
    }

    /// The tenant id, or `None` for the group.
    pub fn tenant_id(&self) -> Option<&str> {
        match self {
            Realm::Group => None,
            Realm::Tenant { id, .. } => Some(id),
        }
    }
}
