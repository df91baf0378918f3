//! `Idempotency-Key`, with Stripe's semantics: the first request with a key runs and its response is stored;
//! the same key with the same request gets the stored response again; the same key with another request is
//! refused (422); the same key while the first is still running is refused (409). Keys are scoped to the realm
//! and the caller, and forgotten after 24 hours. A request that failed with a server error is forgotten at
//! once, so that a retry runs it again.

use chrono::Duration;
use sha2::Digest;
use tessera_domain::FieldError;
use tessera_store::models::idempotency::{self, IdempotencyRow};
use tessera_store::TxMode;

use crate::{naive, App, AppError, AppResult, Ctx};

/// How long a key is remembered.
pub const KEY_TTL_HOURS: i64 = 24;

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Begin {
    /// Run it, then call [`App::idempotency_finish`].
    Proceed,
    /// It ran before: send this stored response.
    Replay {
        /// HTTP status.
        status: u16,
        /// JSON body.
        body: String,
    },
}

/// A checked key with the request it belongs to.
#[derive(Debug, Clone)]
pub struct KeyedRequest {
    key: String,
    actor_id: String,
    method: String,
    path: String,
    fingerprint: String,
}

impl KeyedRequest {
    /// Checks the key (1 to 255 visible ASCII characters) and fingerprints the request.
    pub fn new(
        key: &str,
        actor_id: &str,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> AppResult<KeyedRequest> {
        if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(AppError::invalid(
                "Idempotency-Key",
                FieldError::new(
                    "",
                    "invalid_idempotency_key",
                    "1 to 255 visible ASCII characters",
                ),
            ));
        }
        let mut hasher = sha2::Sha256::new();
        for part in [method.as_bytes(), b"\n", path.as_bytes(), b"\n", body] {
            hasher.update(part);
        }
        Ok(KeyedRequest {
            key: key.to_owned(),
            actor_id: actor_id.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            fingerprint: hex::encode(hasher.finalize()),
        })
    }
}

impl App {
    /// Claims the key for this request, or says how to answer instead.
    pub async fn idempotency_begin(&self, ctx: &Ctx, request: &KeyedRequest) -> AppResult<Begin> {
        let now = self.clock().now();
        let realm_key = ctx.realm.key().to_owned();
        let request = request.clone();
        self.blocking(move |db| {
            db.scoped(&realm_key, TxMode::Write, |s| {
                if let Some(existing) = idempotency::find(s, &request.actor_id, &request.key)? {
                    if tessera_store::utc(existing.expires_at) <= now {
                        idempotency::release(s, &request.actor_id, &request.key)?;
                    } else {
                        if existing.request_sha256 != request.fingerprint {
                            return Err(AppError::IdempotencyKeyReused);
                        }
                        return match (
                            existing.status.as_str(),
                            existing.response_status,
                            existing.response_body,
                        ) {
                            ("completed", Some(status), Some(body)) => Ok(Begin::Replay {
                                status: status as u16,
                                body,
                            }),
                            _ => Err(AppError::Conflict {
                                code: "idempotency_key_in_flight",
                                detail:
                                    "a request with this Idempotency-Key is still being processed"
                                        .into(),
                            }),
                        };
                    }
                }
                let row = IdempotencyRow {
                    tenant_id: s.realm_key().to_owned(),
                    actor_id: request.actor_id.clone(),
                    idempotency_key: request.key.clone(),
                    method: request.method.clone(),
                    path: request.path.clone(),
                    request_sha256: request.fingerprint.clone(),
                    status: "in_flight".into(),
                    response_status: None,
                    response_body: None,
                    created_at: naive(now),
                    expires_at: naive(now + Duration::hours(KEY_TTL_HOURS)),
                };
                if idempotency::try_begin(s, &row)? {
                    Ok(Begin::Proceed)
                } else {
                    Err(AppError::Conflict {
                        code: "idempotency_key_in_flight",
                        detail: "a request with this Idempotency-Key is still being processed"
                            .into(),
                    })
                }
            })
        })
        .await
    }

    /// Stores the response of a request that ran (or forgets the key after a server error).
    pub async fn idempotency_finish(
        &self,
        ctx: &Ctx,
        request: &KeyedRequest,
        status: u16,
        body: String,
    ) -> AppResult<()> {
        let realm_key = ctx.realm.key().to_owned();
        let request = request.clone();
        self.blocking(move |db| {
            db.scoped(&realm_key, TxMode::Write, |s| {
                if status >= 500 {
                    idempotency::release(s, &request.actor_id, &request.key)?;
                } else {
                    idempotency::complete(
                        s,
                        &request.actor_id,
                        &request.key,
                        i32::from(status),
                        &body,
                    )?;
                }
                Ok(())
            })
        })
        .await
    }
}
