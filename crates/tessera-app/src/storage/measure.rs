//! Measuring an upload as it streams past: its size against the purpose's limit, and the SHA-256 of its
//! plaintext, without holding it.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::backend::{ByteStream, StorageError};

/// What passed through so far.
#[derive(Default)]
struct Seen {
    bytes: u64,
    hasher: Sha256,
}

/// The size and hash of a measured stream, read once it has ended.
#[derive(Clone, Default)]
pub struct Measure(Arc<Mutex<Seen>>);

impl Measure {
    /// Bytes seen and the hex SHA-256 of them.
    pub fn result(&self) -> (u64, String) {
        let seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (seen.bytes, hex::encode(seen.hasher.clone().finalize()))
    }
}

/// Passes `input` through, failing with [`StorageError::TooLarge`] as soon as it goes over `limit` bytes, and
/// recording size and hash in the returned [`Measure`].
pub fn measure(input: ByteStream, limit: u64) -> (ByteStream, Measure) {
    let measure = Measure::default();
    let seen = measure.0.clone();
    let stream = input
        .map(move |chunk| {
            let chunk = chunk?;
            let mut seen = seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            seen.bytes += chunk.len() as u64;
            if seen.bytes > limit {
                return Err(StorageError::TooLarge { limit });
            }
            seen.hasher.update(&chunk);
            Ok(chunk)
        })
        .boxed();
    (stream, measure)
}
