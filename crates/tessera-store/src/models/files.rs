//! Stored files (the metadata; the bytes live in the object store) and each tenant's data keys, which encrypt the
//! sensitive ones. Both tables are tenant-owned: every function takes a [`Scoped`] connection and filters by its
//! realm key.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{files, tenant_data_keys};
use crate::{Scoped, StoreResult};

/// A file's metadata.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = files)]
pub struct FileRow {
    /// The tenant.
    pub tenant_id: String,
    /// `fil_...`.
    pub id: String,
    /// What it is for (`identity_document`...).
    pub purpose: String,
    /// The account it belongs to.
    pub owner_account_id: Option<String>,
    /// Its content type.
    pub content_type: String,
    /// Plaintext size in bytes.
    pub size_bytes: i64,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
    /// Encrypted at rest and served only through Tessera.
    pub sensitive: bool,
    /// Its key in the object store.
    pub storage_key: String,
    /// The data key that encrypts it (sensitive files).
    pub data_key_id: Option<String>,
    /// Plaintext bytes per encrypted chunk (sensitive files).
    pub chunk_size: Option<i32>,
    /// The name it was uploaded under.
    pub original_filename: Option<String>,
    /// The account that uploaded it.
    pub created_by: String,
    /// Uploaded.
    pub created_at: NaiveDateTime,
    /// Deleted (the bytes are gone; the row stays for the audit trail).
    pub deleted_at: Option<NaiveDateTime>,
}

/// A tenant's data key, wrapped (sealed) with the master key.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenant_data_keys)]
pub struct DataKeyRow {
    /// The tenant.
    pub tenant_id: String,
    /// `dek_...`.
    pub id: String,
    /// 1 for the first key; a rotation adds the next.
    pub generation: i32,
    /// The key, sealed with the master key for its id.
    pub wrapped_key: String,
    /// Created.
    pub created_at: NaiveDateTime,
}

/// Stores a file's metadata.
pub fn insert(s: &mut Scoped<'_>, row: &FileRow) -> StoreResult<()> {
    diesel::insert_into(files::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// A file of the realm that is not deleted.
pub fn find(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<FileRow>> {
    let (tenant, conn) = s.parts();
    Ok(files::table
        .filter(files::tenant_id.eq(tenant))
        .filter(files::id.eq(id))
        .filter(files::deleted_at.is_null())
        .select(FileRow::as_select())
        .first(conn)
        .optional()?)
}

/// The realm's files owned by an account, not deleted, oldest first.
pub fn owned_by(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<Vec<FileRow>> {
    let (tenant, conn) = s.parts();
    Ok(files::table
        .filter(files::tenant_id.eq(tenant))
        .filter(files::owner_account_id.eq(account_id))
        .filter(files::deleted_at.is_null())
        .order(files::created_at.asc())
        .select(FileRow::as_select())
        .load(conn)?)
}

/// Forgets the name a file was uploaded under (it may name its owner).
pub fn forget_name(s: &mut Scoped<'_>, id: &str) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        files::table
            .filter(files::tenant_id.eq(tenant))
            .filter(files::id.eq(id)),
    )
    .set(files::original_filename.eq(None::<String>))
    .execute(conn)?;
    Ok(())
}

/// Marks a file deleted; false when it was not there (or already deleted).
pub fn mark_deleted(s: &mut Scoped<'_>, id: &str, at: NaiveDateTime) -> StoreResult<bool> {
    let (tenant, conn) = s.parts();
    let changed = diesel::update(
        files::table
            .filter(files::tenant_id.eq(tenant))
            .filter(files::id.eq(id))
            .filter(files::deleted_at.is_null()),
    )
    .set(files::deleted_at.eq(at))
    .execute(conn)?;
    Ok(changed == 1)
}

/// The realm's newest data key.
pub fn current_data_key(s: &mut Scoped<'_>) -> StoreResult<Option<DataKeyRow>> {
    let (tenant, conn) = s.parts();
    Ok(tenant_data_keys::table
        .filter(tenant_data_keys::tenant_id.eq(tenant))
        .order(tenant_data_keys::generation.desc())
        .select(DataKeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// One data key of the realm.
pub fn data_key(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<DataKeyRow>> {
    let (tenant, conn) = s.parts();
    Ok(tenant_data_keys::table
        .filter(tenant_data_keys::tenant_id.eq(tenant))
        .filter(tenant_data_keys::id.eq(id))
        .select(DataKeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores `row` unless the realm already has a key of its generation (another request made it first); true when
/// stored. The caller then loads the current key, whichever request made it.
pub fn insert_data_key_if_absent(s: &mut Scoped<'_>, row: &DataKeyRow) -> StoreResult<bool> {
    let inserted = crate::on_backend!(s.conn(), |c| diesel::insert_into(tenant_data_keys::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// The storage keys of the realm's live (not deleted) files.
pub fn live_storage_keys(s: &mut Scoped<'_>) -> StoreResult<Vec<String>> {
    let (tenant, conn) = s.parts();
    Ok(files::table
        .filter(files::tenant_id.eq(tenant))
        .filter(files::deleted_at.is_null())
        .select(files::storage_key)
        .load(conn)?)
}
