//! Every value sealed with the master key, across tables, for re-sealing them under a new master key in one
//! transaction (system context: the operator's `tessera keys rewrap`).

use diesel::prelude::*;

use crate::schema::{jobs, signing_keys, tenant_data_keys, webhook_endpoints};
use crate::{StoreResult, System};

/// Where a sealed value lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SealedKind {
    /// `signing_keys.private_key`.
    SigningKey,
    /// `tenant_data_keys.wrapped_key`.
    DataKey,
    /// `webhook_endpoints.secret_sealed`.
    WebhookSecret,
    /// `jobs.payload_json` of `email.send` jobs (the JSON holds the sealed message).
    EmailJob,
}

/// One sealed value.
#[derive(Debug, Clone)]
pub struct SealedValue {
    /// Its table.
    pub kind: SealedKind,
    /// The row's realm (empty for group-level rows).
    pub tenant_id: String,
    /// The row's id.
    pub id: String,
    /// The stored text.
    pub value: String,
}

/// Every sealed value.
pub fn all(sys: &mut System<'_>) -> StoreResult<Vec<SealedValue>> {
    let mut out = Vec::new();
    let conn = sys.conn();
    for (id, value) in signing_keys::table
        .select((signing_keys::id, signing_keys::private_key))
        .load::<(String, String)>(conn)?
    {
        out.push(SealedValue {
            kind: SealedKind::SigningKey,
            tenant_id: String::new(),
            id,
            value,
        });
    }
    for (tenant_id, id, value) in tenant_data_keys::table
        .select((
            tenant_data_keys::tenant_id,
            tenant_data_keys::id,
            tenant_data_keys::wrapped_key,
        ))
        .load::<(String, String, String)>(conn)?
    {
        out.push(SealedValue {
            kind: SealedKind::DataKey,
            tenant_id,
            id,
            value,
        });
    }
    for (tenant_id, id, value) in webhook_endpoints::table
        .select((
            webhook_endpoints::tenant_id,
            webhook_endpoints::id,
            webhook_endpoints::secret_sealed,
        ))
        .load::<(String, String, String)>(conn)?
    {
        out.push(SealedValue {
            kind: SealedKind::WebhookSecret,
            tenant_id,
            id,
            value,
        });
    }
    for (tenant_id, id, value) in jobs::table
        .filter(jobs::kind.eq("email.send"))
        .select((jobs::tenant_id, jobs::id, jobs::payload_json))
        .load::<(String, String, String)>(conn)?
    {
        out.push(SealedValue {
            kind: SealedKind::EmailJob,
            tenant_id,
            id,
            value,
        });
    }
    Ok(out)
}

/// Stores a value's new text.
pub fn update(sys: &mut System<'_>, sealed: &SealedValue, value: &str) -> StoreResult<()> {
    let conn = sys.conn();
    match sealed.kind {
        SealedKind::SigningKey => {
            diesel::update(signing_keys::table.filter(signing_keys::id.eq(&sealed.id)))
                .set(signing_keys::private_key.eq(value))
                .execute(conn)?;
        }
        SealedKind::DataKey => {
            diesel::update(
                tenant_data_keys::table
                    .filter(tenant_data_keys::tenant_id.eq(&sealed.tenant_id))
                    .filter(tenant_data_keys::id.eq(&sealed.id)),
            )
            .set(tenant_data_keys::wrapped_key.eq(value))
            .execute(conn)?;
        }
        SealedKind::WebhookSecret => {
            diesel::update(
                webhook_endpoints::table
                    .filter(webhook_endpoints::tenant_id.eq(&sealed.tenant_id))
                    .filter(webhook_endpoints::id.eq(&sealed.id)),
            )
            .set(webhook_endpoints::secret_sealed.eq(value))
            .execute(conn)?;
        }
        SealedKind::EmailJob => {
            diesel::update(
                jobs::table
                    .filter(jobs::tenant_id.eq(&sealed.tenant_id))
                    .filter(jobs::id.eq(&sealed.id)),
            )
            .set(jobs::payload_json.eq(value))
            .execute(conn)?;
        }
    }
    Ok(())
}
