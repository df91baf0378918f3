//! The local-directory backend (the default): each object is a file at `<local_dir>/<key>`. Uploads are written
//! to `<local_dir>/.partial/` and renamed into place once complete, so a reader never sees half a file and a
//! failed upload leaves nothing under its key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;

use super::backend::{check_key, ByteStream, ObjectStore, StorageError, KEY_ROOT};

const PARTIAL_DIR: &str = ".partial";
/// Bytes read from disk at a time when serving a file.
const READ_CHUNK: usize = 64 * 1024;

/// Objects as files under one folder.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store in `root` (created when missing, on the first upload or check).
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore { root: root.into() }
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, StorageError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    async fn write(&self, target: &Path, mut body: ByteStream) -> Result<u64, StorageError> {
        let partial_dir = self.root.join(PARTIAL_DIR);
        tokio::fs::create_dir_all(&partial_dir)
            .await
            .map_err(StorageError::backend)?;
        // Removed when dropped: on an error, and also when the upload's future is dropped (the client went away,
        // the server is stopping), which no `Err` would report.
        let partial =
            tempfile::TempPath::try_from_path(partial_dir.join(ulid::Ulid::new().to_string()))
                .map_err(StorageError::backend)?;
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(StorageError::backend)?;
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            file.write_all(&chunk)
                .await
                .map_err(StorageError::backend)?;
            written += chunk.len() as u64;
        }
        file.sync_all().await.map_err(StorageError::backend)?;
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(StorageError::backend)?;
        }
        tokio::fs::rename(&partial, target)
            .await
            .map_err(StorageError::backend)?;
        // Renamed away: nothing left to remove.
        let _ = partial.keep();
        Ok(written)
    }
}

/// Every file under `dir`, as keys relative to `root` with `/` separators.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let key: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(key.join("/"));
        }
    }
    Ok(())
}

impl ObjectStore for LocalStore {
    fn name(&self) -> &'static str {
        "local"
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        body: ByteStream,
    ) -> BoxFuture<'a, Result<u64, StorageError>> {
        async move {
            let target = self.path_of(key)?;
            self.write(&target, body).await
        }
        .boxed()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ByteStream, StorageError>> {
        async move {
            let path = self.path_of(key)?;
            let file = tokio::fs::File::open(&path).await.map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    StorageError::NotFound
                } else {
                    StorageError::backend(e)
                }
            })?;
            Ok(
                tokio_util::io::ReaderStream::with_capacity(file, READ_CHUNK)
                    .map_err(StorageError::backend)
                    .boxed(),
            )
        }
        .boxed()
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        async move {
            let path = self.path_of(key)?;
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(StorageError::backend(e)),
            }
        }
        .boxed()
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StorageError>> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        let prefix_folder = prefix.clone();
        async move {
            let keys = tokio::task::spawn_blocking(move || {
                let mut keys = Vec::new();
                // Only the folder the prefix names (a tenant's), not the whole store.
                let folder = match prefix_folder.rsplit_once('/') {
                    Some((folder, _)) if folder.starts_with(KEY_ROOT) => root.join(folder),
                    _ => root.join(KEY_ROOT),
                };
                walk(&root, &folder, &mut keys)?;
                Ok::<_, std::io::Error>(keys)
            })
            .await
            .map_err(StorageError::backend)?
            .map_err(StorageError::backend)?;
            let mut keys: Vec<String> = keys
                .into_iter()
                .filter(|k| k.starts_with(&prefix) && check_key(k).is_ok())
                .collect();
            keys.sort();
            Ok(keys)
        }
        .boxed()
    }

    fn presign_get<'a>(
        &'a self,
        _key: &'a str,
        _ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<String>, StorageError>> {
        // Local files have no URL of their own: Tessera signs and serves them.
        futures::future::ready(Ok(None)).boxed()
    }

    fn sweep_unfinished(&self, age: Duration) -> BoxFuture<'_, Result<usize, StorageError>> {
        let dir = self.root.join(PARTIAL_DIR);
        async move {
            tokio::task::spawn_blocking(move || {
                let mut removed = 0;
                let entries = match std::fs::read_dir(&dir) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
                    Err(e) => return Err(StorageError::backend(e)),
                };
                for entry in entries.flatten() {
                    let old = entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|elapsed| elapsed > age);
                    if old && std::fs::remove_file(entry.path()).is_ok() {
                        removed += 1;
                    }
                }
                Ok(removed)
            })
            .await
            .map_err(StorageError::backend)?
        }
        .boxed()
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        async move {
            let dir = self.root.join(PARTIAL_DIR);
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(StorageError::backend)?;
            let probe = dir.join(format!("readyz-{}", ulid::Ulid::new()));
            tokio::fs::write(&probe, b"ok")
                .await
                .map_err(StorageError::backend)?;
            tokio::fs::remove_file(&probe)
                .await
                .map_err(StorageError::backend)
        }
        .boxed()
    }
}
