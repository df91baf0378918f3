//! The object store's part of backups: every object under `tenants/` copied into `<backup>/objects/<key>` as
//! stored (sensitive files stay encrypted under their tenant's data key, which is in the database backup, wrapped
//! with the master key, which is in neither), and copied back into an empty store on restore.

use std::path::Path;

use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::backend::{check_key, ObjectStore, StorageError, KEY_ROOT};
use crate::{AppError, AppResult};

/// The folder of objects inside a backup.
pub const OBJECTS_DIR: &str = "objects";

pub use tessera_store::backup::BackupObject as BackedUpObject;

/// Copies every object of `store` into `<to>/objects/`, streaming.
pub async fn backup_objects(
    store: &dyn ObjectStore,
    to: &Path,
) -> Result<Vec<BackedUpObject>, StorageError> {
    let mut listed = Vec::new();
    for key in store.list(&format!("{KEY_ROOT}/")).await? {
        let target = to.join(OBJECTS_DIR).join(&key);
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(StorageError::backend)?;
        }
        let mut file = tokio::fs::File::create(&target)
            .await
            .map_err(StorageError::backend)?;
        let mut body = store.get(&key).await?;
        let (mut size, mut hasher) = (0u64, Sha256::new());
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(StorageError::backend)?;
        }
        file.sync_all().await.map_err(StorageError::backend)?;
        listed.push(BackedUpObject {
            key,
            size_bytes: size,
            sha256: hex::encode(hasher.finalize()),
        });
    }
    Ok(listed)
}

/// Refuses a store that already holds objects: a restore goes into an empty one.
pub async fn ensure_empty(store: &dyn ObjectStore) -> Result<(), StorageError> {
    if store.list(&format!("{KEY_ROOT}/")).await?.is_empty() {
        Ok(())
    } else {
        Err(StorageError::Backend(format!(
            "the {} object store is not empty: restore into an empty one",
            store.name()
        )))
    }
}

/// Puts the listed objects of the backup in `from` back into `store`, checking each one's hash.
pub async fn restore_objects(
    store: &dyn ObjectStore,
    from: &Path,
    objects: &[BackedUpObject],
) -> Result<(), StorageError> {
    for object in objects {
        check_key(&object.key)?;
        let source = from.join(OBJECTS_DIR).join(&object.key);
        let file = tokio::fs::File::open(&source)
            .await
            .map_err(|e| StorageError::Backend(format!("{}: {e}", source.display())))?;
        let hasher = std::sync::Arc::new(std::sync::Mutex::new(Sha256::new()));
        let seen = hasher.clone();
        let body = tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024)
            .map(move |chunk| {
                let chunk = chunk.map_err(StorageError::backend)?;
                seen.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .update(&chunk);
                Ok(chunk)
            })
            .boxed();
        store.put(&object.key, body).await?;
        let digest = hex::encode(
            hasher
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
                .finalize(),
        );
        if digest != object.sha256 {
            store.delete(&object.key).await?;
            return Err(StorageError::Corrupt(format!(
                "{} in the backup does not match its manifest",
                object.key
            )));
        }
    }
    Ok(())
}

/// `tessera backup --to DIR`: the database (see `tessera_store::backup`), then the object store's files, listed in
/// the manifest.
pub async fn backup(
    settings: &tessera_config::Settings,
    to: &Path,
) -> AppResult<tessera_store::backup::Manifest> {
    use secrecy::ExposeSecret;
    let store = super::open_store(&settings.storage)?;
    let url = settings.database.url.expose_secret().to_owned();
    let target = to.to_owned();
    let mut manifest =
        tokio::task::spawn_blocking(move || tessera_store::backup::backup(&url, &target))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
    manifest.objects = backup_objects(store.as_ref(), to)
        .await
        .map_err(|e| AppError::Unavailable(format!("backing up files: {e}")))?;
    tessera_store::backup::write_manifest(to, &manifest)?;
    Ok(manifest)
}

/// `tessera restore --from DIR`: the database into an empty one, then the files into an empty object store.
pub async fn restore(
    settings: &tessera_config::Settings,
    from: &Path,
) -> AppResult<tessera_store::backup::Manifest> {
    use secrecy::ExposeSecret;
    let store = super::open_store(&settings.storage)?;
    ensure_empty(store.as_ref())
        .await
        .map_err(|e| AppError::Unavailable(e.to_string()))?;
    let url = settings.database.url.expose_secret().to_owned();
    let source = from.to_owned();
    let manifest =
        tokio::task::spawn_blocking(move || tessera_store::backup::restore(&url, &source))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
    restore_objects(store.as_ref(), from, &manifest.objects)
        .await
        .map_err(|e| AppError::Unavailable(format!("restoring files: {e}")))?;
    Ok(manifest)
}
