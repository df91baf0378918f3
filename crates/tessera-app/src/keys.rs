//! Token-signing keys (Ed25519) and access tokens.
//!
//! Keys live in the database so that every server instance signs and verifies with the same ones. There is
//! always one `current` key (signs) and one `next` key (published ahead, so that clients caching the JWKS know it
//! before it signs). `tessera keys rotate` retires `current`, promotes `next` and makes a new `next`; retired keys
//! stay published until every token they signed has expired.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tessera_domain::ids::IdKind;
use tessera_store::models::signing_keys::{self, SigningKeyRow};
use tessera_store::TxMode;

use crate::sealing::MasterKey;
use crate::{naive, App, AppError, AppResult};

/// The `typ` header of access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// One key as this process holds it.
struct LoadedKey {
    kid: String,
    status: String,
    public_x: String,
    encoding: Option<EncodingKey>,
    /// The same private key for signing raw bytes (door allowlists).
    raw: Option<ed25519_dalek::SigningKey>,
    decoding: DecodingKey,
    retired_at: Option<DateTime<Utc>>,
}

/// The keys this process signs and verifies with.
#[derive(Default)]
pub struct KeyRing {
    keys: RwLock<Arc<Vec<LoadedKey>>>,
    /// Tokens whose signature was verified, by their exact text, until they expire. Clients send the same access
    /// token for its whole life, and an Ed25519 verification costs far more than the rest of a request.
    verified: Mutex<HashMap<String, AccessClaims>>,
}

/// Most verified tokens remembered; past that, expired ones are dropped, then all if need be.
const VERIFIED_CACHE_MAX: usize = 20_000;
/// Clock leeway applied to `exp` and `nbf`, in seconds.
const LEEWAY_SECS: i64 = 30;

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Audience: `tessera:tenant:<id>` or `tessera:group`.
    pub aud: String,
    /// Account or operator id.
    pub sub: String,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Token id.
    pub jti: String,
    /// `account` or `operator`.
    pub kind: String,
    /// Roles when issued (informational: permissions are checked against the database).
    pub roles: Vec<String>,
}

/// A public key in JWKS form.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Jwk {
    /// `OKP`.
    pub kty: &'static str,
    /// `Ed25519`.
    pub crv: &'static str,
    /// Key id.
    pub kid: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
    /// `EdDSA`.
    pub alg: &'static str,
    /// The raw public key, base64url.
    pub x: String,
}

impl KeyRing {
    fn snapshot(&self) -> Arc<Vec<LoadedKey>> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, keys: Vec<LoadedKey>) {
        let changed = {
            let current = self.snapshot();
            current.len() != keys.len() || current.iter().zip(&keys).any(|(a, b)| a.kid != b.kid)
        };
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
        if changed {
            // A key may have been deleted: nothing verified with it may be trusted from memory any more.
            self.verified_cache().clear();
        }
    }

    fn verified_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, AccessClaims>> {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Signs claims with the current key.
    pub fn sign(&self, claims: &AccessClaims) -> AppResult<String> {
        let keys = self.snapshot();
        let current = keys
            .iter()
            .find(|k| k.status == "current")
            .and_then(|k| k.encoding.as_ref().map(|e| (k, e)))
            .ok_or_else(|| AppError::Internal("no current signing key".into()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(current.0.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        jsonwebtoken::encode(&header, claims, current.1)
            .map_err(|e| AppError::Internal(format!("signing: {e}")))
    }

    /// Signs raw bytes with the current key (Ed25519): returns the key id and the signature, base64url. Callers
    /// prefix what they sign with their own format name, so that nothing signed here can pass for a token.
    pub fn sign_raw(&self, message: &[u8]) -> AppResult<(String, String)> {
        use ed25519_dalek::Signer;
        let keys = self.snapshot();
        let (kid, key) = keys
            .iter()
            .find(|k| k.status == "current")
            .and_then(|k| k.raw.as_ref().map(|r| (k.kid.clone(), r)))
            .ok_or_else(|| AppError::Internal("no current signing key".into()))?;
        let signature = key.sign(message);
        Ok((
            kid,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        ))
    }

    /// Verifies an access token: EdDSA only, a known `kid`, `typ` `at+jwt`, our issuer, one of `audiences`, not
    /// expired. Every failure is the same 401 to the client; the reason is for the logs.
    pub fn verify(
        &self,
        token: &str,
        issuer: &str,
        audiences: &[String],
    ) -> AppResult<AccessClaims> {
        let now = Utc::now().timestamp();
        if let Some(claims) = self.verified_cache().get(token) {
            // The signature, issuer and type were checked when it was cached; time and audience depend on now and
            // on the route, so they are checked again.
            if now >= claims.exp + LEEWAY_SECS {
                return Err(AppError::invalid_token("expired"));
            }
            if !audiences.contains(&claims.aud) || claims.iss != issuer {
                return Err(AppError::invalid_token("wrong audience"));
            }
            return Ok(claims.clone());
        }
        let claims = self.verify_signature(token, issuer, audiences)?;
        let mut cache = self.verified_cache();
        if cache.len() >= VERIFIED_CACHE_MAX {
            cache.retain(|_, c| now < c.exp + LEEWAY_SECS);
            if cache.len() >= VERIFIED_CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    fn verify_signature(
        &self,
        token: &str,
        issuer: &str,
        audiences: &[String],
    ) -> AppResult<AccessClaims> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AppError::invalid_token(format!("header: {e}")))?;
        if header.alg != Algorithm::EdDSA {
            return Err(AppError::invalid_token("algorithm not accepted"));
        }
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(AppError::invalid_token("not an access token"));
        }
        let kid = header
            .kid
            .ok_or_else(|| AppError::invalid_token("no kid"))?;
        let keys = self.snapshot();
        let key = keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| AppError::invalid_token("unknown kid"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS as u64;
        jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| AppError::invalid_token(format!("{e}")))
    }

    /// The published keys: current, next, and retired ones that may still verify unexpired tokens.
    pub fn jwks(&self, now: DateTime<Utc>, access_ttl: Duration) -> Vec<Jwk> {
        self.snapshot()
            .iter()
            .filter(|k| {
                k.status != "retired"
                    || k.retired_at
                        .is_some_and(|at| at + access_ttl + Duration::minutes(1) > now)
            })
            .map(|k| Jwk {
                kty: "OKP",
                crv: "Ed25519",
                kid: k.kid.clone(),
                use_: "sig",
                alg: "EdDSA",
                x: k.public_x.clone(),
            })
            .collect()
    }
}

/// A stored key, its private half opened with the master key (sealed for its own `kid`).
fn load(row: &SigningKeyRow, master: &MasterKey) -> AppResult<LoadedKey> {
    let der = master.open(&row.private_key, &row.id)?;
    let decoding = DecodingKey::from_ed_components(&row.public_key)
        .map_err(|e| AppError::Internal(format!("key {}: {e}", row.id)))?;
    Ok(LoadedKey {
        kid: row.id.clone(),
        status: row.status.clone(),
        public_x: row.public_key.clone(),
        encoding: Some(EncodingKey::from_ed_der(&der)),
        raw: {
            use ed25519_dalek::pkcs8::DecodePrivateKey;
            ed25519_dalek::SigningKey::from_pkcs8_der(&der).ok()
        },
        decoding,
        retired_at: row.retired_at.map(tessera_store::utc),
    })
}

/// A freshly generated key row with `status`, its private half sealed with the master key.
fn generate(status: &str, now: DateTime<Utc>, master: &MasterKey) -> AppResult<SigningKeyRow> {
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let der = key
        .to_pkcs8_der()
        .map_err(|e| AppError::Internal(format!("pkcs8: {e}")))?;
    let id = IdKind::SigningKey.new_id();
    Ok(SigningKeyRow {
        private_key: master.seal(der.as_bytes(), &id)?,
        id,
        algorithm: "EdDSA".into(),
        public_key: base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(key.verifying_key().as_bytes()),
        status: status.into(),
        created_at: naive(now),
        activated_at: (status == "current").then(|| naive(now)),
        retired_at: None,
    })
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    /// The key that now signs.
    pub current: String,
    /// The key published for the next rotation.
    pub next: String,
    /// The key that stopped signing.
    pub retired: Option<String>,
    /// Retired keys deleted because nothing they signed can still be valid.
    pub deleted: usize,
}

impl App {
    /// Creates a current and a next key when missing (system context: keys are group-level).
    pub(crate) async fn ensure_signing_keys(&self) -> AppResult<()> {
        let now = self.clock().now();
        let master = self.master().clone();
        self.blocking(move |db| {
            db.system(TxMode::Write, |sys| {
                tessera_store::backend::serialize_writers(
                    sys.conn(),
                    tessera_store::backend::LOCK_SIGNING_KEYS,
                )?;
                let keys = signing_keys::list_locked(sys)?;
                if !keys.iter().any(|k| k.status == "current") {
                    signing_keys::insert(sys, &generate("current", now, &master)?)?;
                }
                if !keys.iter().any(|k| k.status == "next") {
                    signing_keys::insert(sys, &generate("next", now, &master)?)?;
                }
                Ok::<(), AppError>(())
            })
        })
        .await
    }

    /// Reloads the key ring from the database.
    pub(crate) async fn reload_keys(&self) -> AppResult<()> {
        let rows = self
            .blocking(|db| Ok(db.with_conn(signing_keys::list)?))
            .await?;
        let loaded = rows
            .iter()
            .map(|row| load(row, self.master()))
            .collect::<AppResult<Vec<_>>>()?;
        self.keys().replace(loaded);
        Ok(())
    }

    /// Rotates keys: current becomes retired, next becomes current, a new next is made; retired keys older than
    /// an access token's lifetime are deleted. Other server instances pick the change up within seconds.
    pub async fn rotate_keys(&self) -> AppResult<Rotation> {
        let now = self.clock().now();
        let master = self.master().clone();
        let ttl = Duration::seconds(self.settings().auth.access_token_ttl_secs);
        let rotation = self
            .blocking(move |db| {
                db.system(TxMode::Write, |sys| {
                    tessera_store::backend::serialize_writers(
                        sys.conn(),
                        tessera_store::backend::LOCK_SIGNING_KEYS,
                    )?;
                    let keys = signing_keys::list_locked(sys)?;
                    let retired = keys
                        .iter()
                        .find(|k| k.status == "current")
                        .map(|k| k.id.clone());
                    if let Some(id) = &retired {
                        signing_keys::set_status(sys, id, "retired", naive(now))?;
                    }
                    let current = match keys.iter().find(|k| k.status == "next") {
                        Some(next) => {
                            signing_keys::set_status(sys, &next.id, "current", naive(now))?;
                            next.id.clone()
                        }
                        None => {
                            let row = generate("current", now, &master)?;
                            signing_keys::insert(sys, &row)?;
                            row.id
                        }
                    };
                    let next = generate("next", now, &master)?;
                    signing_keys::insert(sys, &next)?;
                    let event = crate::audit::Event::on("keys.rotated", "signing_key", &current)
                        .with(serde_json::json!({ "retired": retired, "next": next.id }));
                    let ctx = crate::Ctx::cli(tessera_domain::realm::Realm::Group);
                    crate::audit::record(
                        &mut sys.scoped(tessera_domain::realm::GROUP_REALM_KEY),
                        &ctx,
                        event,
                        now,
                    )?;
                    let deleted = signing_keys::delete_retired_before(
                        sys,
                        naive(now - ttl - Duration::minutes(1)),
                    )?;
                    Ok::<Rotation, AppError>(Rotation {
                        current,
                        next: next.id,
                        retired,
                        deleted,
                    })
                })
            })
            .await?;
        self.reload_keys().await?;
        Ok(rotation)
    }

    /// Issues an access token for `subject` in `audience`.
    pub(crate) fn issue_access_token(
        &self,
        subject: &str,
        kind: crate::ActorKind,
        audience: String,
        roles: Vec<String>,
    ) -> AppResult<(String, i64)> {
        let now = self.clock().now();
        let ttl = self.settings().auth.access_token_ttl_secs;
        let claims = AccessClaims {
            iss: self.settings().auth.issuer.clone(),
            aud: audience,
            sub: subject.to_owned(),
            exp: now.timestamp() + ttl,
            iat: now.timestamp(),
            nbf: now.timestamp(),
            jti: crate::tokens_random(12),
            kind: match kind {
                crate::ActorKind::Account => "account".into(),
                crate::ActorKind::Operator => "operator".into(),
                crate::ActorKind::Device => "device".into(),
            },
            roles,
        };
        Ok((self.keys().sign(&claims)?, ttl))
    }
}
