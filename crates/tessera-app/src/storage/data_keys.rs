//! Each tenant's data keys: 256-bit keys that encrypt its sensitive files, stored sealed ("wrapped") with the
//! master key and bound to their tenant and id, so a wrapped key copied to another row does not open.

use tessera_domain::ids::IdKind;
use tessera_store::models::files;
use tessera_store::Scoped;

use super::{app_error, crypto};
use crate::sealing::MasterKey;
use crate::{naive, AppError, AppResult};

/// The tenant's current data key, creating the first one when there is none. Two requests racing to create it
/// both insert generation 1; the unique key lets one win and both then load the winner's.
pub(crate) fn current(s: &mut Scoped<'_>, master: &MasterKey) -> AppResult<crypto::DataKey> {
    if let Some(row) = files::current_data_key(s)? {
        return open(&row, master);
    }
    let id = IdKind::DataKey.new_id();
    let bytes = crypto::DataKey::generate_bytes();
    let row = files::DataKeyRow {
        tenant_id: s.realm_key().to_owned(),
        wrapped_key: master.seal(&bytes, &data_key_context(s.realm_key(), &id))?,
        id,
        generation: 1,
        created_at: naive(chrono::Utc::now()),
    };
    files::insert_data_key_if_absent(s, &row)?;
    let row = files::current_data_key(s)?
        .ok_or_else(|| AppError::Internal("the data key vanished".into()))?;
    open(&row, master)
}

/// What a data key is sealed for: its tenant and id, so a wrapped key copied to another row does not open.
pub(crate) fn data_key_context(tenant_id: &str, key_id: &str) -> String {
    format!("data_key:{tenant_id}:{key_id}")
}

/// Unwraps a stored data key.
pub(crate) fn open(row: &files::DataKeyRow, master: &MasterKey) -> AppResult<crypto::DataKey> {
    let bytes = master.open(&row.wrapped_key, &data_key_context(&row.tenant_id, &row.id))?;
    crypto::DataKey::from_bytes(row.id.clone(), &bytes).map_err(app_error)
}

/// Adds the tenant's next data key; new sensitive files use it, older ones keep the key that encrypted them.
/// Returns its id and generation.
pub(super) fn rotate(
    s: &mut Scoped<'_>,
    master: &MasterKey,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<(String, i32)> {
    let generation = files::current_data_key(s)?.map_or(1, |row| row.generation + 1);
    let id = IdKind::DataKey.new_id();
    let row = files::DataKeyRow {
        tenant_id: s.realm_key().to_owned(),
        wrapped_key: master.seal(
            &crypto::DataKey::generate_bytes(),
            &data_key_context(s.realm_key(), &id),
        )?,
        id: id.clone(),
        generation,
        created_at: naive(now),
    };
    if !files::insert_data_key_if_absent(s, &row)? {
        return Err(AppError::Conflict {
            code: "data_key_rotation_in_progress",
            detail: "another rotation of this tenant's data key ran at the same time; run it again"
                .into(),
        });
    }
    Ok((id, generation))
}
