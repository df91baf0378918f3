//! Tenants (brands) and their host names. Group-level: read by everyone, written only by `tessera tenant apply`
//! in the system context.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{tenant_domains, tenants};
use crate::{DbConnection, StoreResult, System};

/// A stored tenant.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    /// `ten_...`.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Display name.
    pub display_name: String,
    /// The validated tenant file, as JSON.
    pub config_json: String,
    /// SHA-256 of `config_json`, to tell an unchanged apply.
    pub config_sha256: String,
    /// Incremented by every apply that changes the configuration.
    pub revision: i64,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// Every tenant, by slug.
pub fn list(conn: &mut DbConnection) -> StoreResult<Vec<TenantRow>> {
    Ok(tenants::table
        .order(tenants::slug.asc())
        .select(TenantRow::as_select())
        .load(conn)?)
}

/// One tenant by slug.
pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> StoreResult<Option<TenantRow>> {
    Ok(tenants::table
        .filter(tenants::slug.eq(slug))
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every (domain, tenant id) pair.
pub fn domains(conn: &mut DbConnection) -> StoreResult<Vec<(String, String)>> {
    Ok(tenant_domains::table
        .select((tenant_domains::domain, tenant_domains::tenant_id))
        .load(conn)?)
}

/// A fingerprint of the whole tenants table (count and latest change), polled by servers to notice an apply.
pub fn fingerprint(conn: &mut DbConnection) -> StoreResult<(i64, Option<NaiveDateTime>)> {
    let count: i64 = tenants::table.count().get_result(conn)?;
    let latest: Option<NaiveDateTime> = tenants::table
        .select(diesel::dsl::max(tenants::updated_at))
        .first(conn)?;
    Ok((count, latest))
}

/// Inserts a tenant or replaces its configuration, keyed by slug.
pub fn upsert(sys: &mut System<'_>, row: &TenantRow) -> StoreResult<()> {
    crate::on_backend!(sys.conn(), |c| diesel::insert_into(tenants::table)
        .values(row)
        .on_conflict(tenants::slug)
        .do_update()
        .set((
            tenants::display_name.eq(&row.display_name),
            tenants::config_json.eq(&row.config_json),
            tenants::config_sha256.eq(&row.config_sha256),
            tenants::revision.eq(row.revision),
            tenants::updated_at.eq(row.updated_at),
        ))
        .execute(c))?;
    Ok(())
}

/// Removes a tenant's domains (before inserting the new set, so that a domain can move between tenants).
pub fn delete_domains(sys: &mut System<'_>, tenant_id: &str) -> StoreResult<()> {
    diesel::delete(tenant_domains::table.filter(tenant_domains::tenant_id.eq(tenant_id)))
        .execute(sys.conn())?;
    Ok(())
}

/// Adds domains to a tenant.
pub fn insert_domains(
    sys: &mut System<'_>,
    tenant_id: &str,
    domains: &[String],
) -> StoreResult<()> {
    for domain in domains {
        diesel::insert_into(tenant_domains::table)
            .values((
                tenant_domains::domain.eq(domain),
                tenant_domains::tenant_id.eq(tenant_id),
            ))
            .execute(sys.conn())?;
    }
    Ok(())
}
