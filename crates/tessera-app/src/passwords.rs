//! Argon2id password hashing with a bound on concurrent hashes, so that a burst of logins queues instead of
//! allocating 19 MiB per attempt all at once.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tessera_config::AuthSettings;
use tessera_domain::values::NewPassword;
use tokio::sync::Semaphore;

use crate::{AppError, AppResult};

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when an account does not exist so that the answer takes as
    /// long as for a real account.
    dummy_hash: Arc<String>,
}

impl Passwords {
    /// Builds a hasher with the configured cost.
    pub fn new(settings: &AuthSettings) -> AppResult<Passwords> {
        let a = settings.argon2;
        let params = Params::new(a.memory_kib, a.iterations, a.parallelism, None)
            .map_err(|e| AppError::Internal(format!("argon2 parameters: {e}")))?;
        let dummy = hash_with(&params, &crate::tokens_random(24))?;
        Ok(Passwords {
            params,
            permits: Arc::new(Semaphore::new(settings.max_concurrent_hashes)),
            dummy_hash: Arc::new(dummy),
        })
    }

    /// Hashes a new password on a blocking thread.
    pub async fn hash(&self, password: &NewPassword) -> AppResult<String> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let params = self.params.clone();
        let password = password.expose().to_owned();
        on_own_thread(move || hash_with(&params, &password)).await
    }

    /// Hashes a password synchronously (command-line use, where nothing else competes).
    pub fn hash_blocking(&self, password: &NewPassword) -> AppResult<String> {
        hash_with(&self.params, password.expose())
    }

    /// Checks `password` against `hash`; with no hash (unknown account), checks against a dummy hash and
    /// returns false, taking the same time.
    pub async fn verify(&self, password: &str, hash: Option<String>) -> AppResult<bool> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.as_str().to_owned());
        let password = password.to_owned();
        let matches = on_own_thread(move || {
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| AppError::Internal(format!("stored hash: {e}")))?;
            // Verification reads the cost from the stored hash, so hashes made with other parameters still work.
            Ok::<bool, AppError>(
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok(),
            )
        })
        .await?;
        Ok(known && matches)
    }
}

/// Runs one hash on a thread of its own that ends with it. Argon2's working memory is several megabytes; on a
/// long-lived pool thread the allocator would keep it for that thread, so that a burst of logins left the server
/// holding it. A thread that ends hands its memory back; creating one costs microseconds against a hash's tens of
/// milliseconds.
async fn on_own_thread<T: Send + 'static>(
    f: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("tessera-hash".into())
        .spawn(move || {
            // The receiver only goes away when the request was dropped; nothing is left to tell then.
            let _ = tx.send(f());
        })
        .map_err(|e| AppError::Internal(format!("cannot start a hashing thread: {e}")))?;
    rx.await
        .map_err(|_| AppError::Internal("the hashing thread stopped".into()))?
}

fn hash_with(params: &Params, password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing: {e}")))
}
