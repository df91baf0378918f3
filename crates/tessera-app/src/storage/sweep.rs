//! Removing orphaned objects: bytes in the store that no live file row points at. They come from a delete whose
//! object removal failed after the commit, or an upload that stopped between writing its object and its row. Run
//! by the daily `maintenance.prune` job of each tenant.

use std::collections::HashSet;

use tessera_store::models::files;
use tessera_store::TxMode;

use crate::{App, AppResult};

/// Objects younger than this are left alone: their upload may still be writing its row.
const GRACE: chrono::Duration = chrono::Duration::hours(24);

/// Unfinished uploads older than this are from a process that died.
const UNFINISHED_AGE: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// When a file id was made (its ULID's time), if it is one.
fn id_time(file_id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let ulid = file_id.strip_prefix("fil_")?;
    let ulid = ulid::Ulid::from_string(&ulid.to_uppercase()).ok()?;
    chrono::DateTime::from_timestamp_millis(i64::try_from(ulid.timestamp_ms()).ok()?)
}

impl App {
    /// Deletes the tenant's objects that no live file points at and that are older than a day; returns how
    /// many.
    pub async fn sweep_orphaned_objects(&self, tenant_id: &str) -> AppResult<usize> {
        // Unfinished uploads are not a tenant's; sweeping them with each tenant's prune is cheap and enough.
        let unfinished = self
            .storage()
            .store()
            .sweep_unfinished(UNFINISHED_AGE)
            .await
            .map_err(super::app_error)?;
        if unfinished > 0 {
            tracing::info!(unfinished, "removed unfinished uploads");
        }
        let prefix = format!("tenants/{tenant_id}/");
        let keys = self
            .storage()
            .store()
            .list(&prefix)
            .await
            .map_err(super::app_error)?;
        if keys.is_empty() {
            return Ok(0);
        }
        let realm = tenant_id.to_owned();
        let live: HashSet<String> = self
            .blocking(move |db| {
                db.scoped(&realm, TxMode::Read, |s| Ok(files::live_storage_keys(s)?))
            })
            .await?
            .into_iter()
            .collect();
        let cutoff = self.clock().now() - GRACE;
        let mut removed = 0;
        for key in keys {
            let old_enough = key
                .rsplit('/')
                .next()
                .and_then(id_time)
                .is_some_and(|made| made < cutoff);
            if live.contains(&key) || !old_enough {
                continue;
            }
            match self.storage().store().delete(&key).await {
                Ok(()) => removed += 1,
                Err(error) => tracing::warn!(%error, key, "could not remove an orphaned object"),
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_tell_their_age() {
        let before = chrono::Utc::now() - chrono::Duration::seconds(1);
        let id = tessera_domain::ids::IdKind::File.new_id();
        assert!(id_time(&id).unwrap() >= before);
        assert_eq!(id_time("not_an_id"), None);
        assert_eq!(id_time("fil_notaulid"), None);
    }
}
