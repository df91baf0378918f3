//! The object-store trait every backend implements, its error type, and the key layout.
//!
//! Keys are built by [`object_key`] only: `tenants/<tenant_id>/<purpose>/<file_id>`. Backends refuse any other
//! shape ([`check_key`]), so a key can never climb out of the local folder or reach another tenant's prefix by
//! accident.

use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

/// A stream of bytes going to or coming from the store.
pub type ByteStream = BoxStream<'static, Result<Bytes, StorageError>>;

/// What can go wrong with stored bytes.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No object under this key.
    #[error("no object under this key")]
    NotFound,
    /// The upload went over the purpose's limit.
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Stored bytes failed authentication or are truncated.
    #[error("the stored file is corrupt or was tampered with: {0}")]
    Corrupt(String),
    /// The key is not one we build.
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    /// The client's upload stream failed (it disconnected).
    #[error("the upload was interrupted: {0}")]
    Upload(String),
    /// The backend failed (disk, network, S3 error).
    #[error("object store: {0}")]
    Backend(String),
}

impl StorageError {
    /// A backend failure with its cause.
    pub fn backend(what: impl std::fmt::Display) -> StorageError {
        StorageError::Backend(what.to_string())
    }
}

impl From<StorageError> for std::io::Error {
    fn from(error: StorageError) -> Self {
        std::io::Error::other(error)
    }
}

/// An object store: a local folder or an S3 bucket. Every method takes keys built by [`object_key`].
pub trait ObjectStore: Send + Sync {
    /// `local` or `s3`, as `/readyz` reports it.
    fn name(&self) -> &'static str;

    /// Stores the stream under `key`, holding at most a bounded buffer in memory; returns the bytes stored. On
    /// any error (the stream's included) nothing is left under `key`.
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: ByteStream,
    ) -> BoxFuture<'a, Result<u64, StorageError>>;

    /// The object's bytes as a stream.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ByteStream, StorageError>>;

    /// Removes the object; removing a missing object succeeds.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>>;

    /// Every key under `prefix` (for backups), sorted.
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StorageError>>;

    /// A URL that serves the object directly for `ttl`, when the backend has such URLs (S3's presigned GET);
    /// `None` for the local backend, whose URLs Tessera serves itself.
    fn presign_get<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<String>, StorageError>>;

    /// Checks that the store is usable (the folder is writable, the bucket answers), for `/readyz`.
    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>>;

    /// Removes what uploads that never finished left behind, older than `age`; how many. An upload that fails
    /// or is dropped cleans up after itself; this is for a process that was killed mid-upload. The default does
    /// nothing: on S3, a bucket lifecycle rule aborts incomplete multipart uploads.
    fn sweep_unfinished(&self, age: Duration) -> BoxFuture<'_, Result<usize, StorageError>> {
        let _ = age;
        Box::pin(futures::future::ready(Ok(0)))
    }
}

/// The prefix of every key.
pub const KEY_ROOT: &str = "tenants";

/// The key of a file: `tenants/<tenant_id>/<purpose>/<file_id>`.
pub fn object_key(tenant_id: &str, purpose: &str, file_id: &str) -> String {
    format!("{KEY_ROOT}/{tenant_id}/{purpose}/{file_id}")
}

/// Accepts only keys shaped like [`object_key`]'s: four segments, the first `tenants`, the others made of
/// lower-case letters, digits and underscores.
pub fn check_key(key: &str) -> Result<(), StorageError> {
    let segments: Vec<&str> = key.split('/').collect();
    let well_formed = segments.len() == 4
        && segments[0] == KEY_ROOT
        && segments[1..].iter().all(|s| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if well_formed {
        Ok(())
    } else {
        Err(StorageError::InvalidKey(key.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_keys_are_accepted() {
        let key = object_key("ten_01abc", "identity_document", "fil_01xyz");
        assert!(check_key(&key).is_ok());
        for bad in [
            "tenants/ten_1/document",
            "tenants/../etc/passwd",
            "tenants/ten_1/document/../../x",
            "other/ten_1/document/fil_1",
            "tenants/ten_1/Document/fil_1",
            "/tenants/ten_1/document/fil_1",
            "tenants/ten_1//fil_1",
        ] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}
