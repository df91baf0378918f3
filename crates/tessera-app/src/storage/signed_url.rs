//! Signed download URLs of the local backend, served by Tessera itself: `/api/v1/files/download?token=...`.
//!
//! A token is `base64url(tenant_id.file_id.expires_unix) . base64url(HMAC-SHA256)`, keyed with a key derived
//! from the master key for this one use. It names its tenant (checked against the host it is used on) and
//! expires; it grants reading that one non-sensitive file, nothing else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};

use crate::{AppError, AppResult};

type HmacSha256 = Hmac<sha2::Sha256>;

/// What a valid token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The tenant.
    pub tenant_id: String,
    /// The file.
    pub file_id: String,
}

fn mac(key: &[u8; 32]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"))
}

fn invalid() -> AppError {
    AppError::Unauthenticated {
        code: "signed_url_invalid",
        detail: "this download link is not valid".into(),
    }
}

/// A token for `file_id` of `tenant_id`, valid until `expires_unix`.
pub fn sign(key: &[u8; 32], tenant_id: &str, file_id: &str, expires_unix: i64) -> String {
    let payload = format!("{tenant_id}.{file_id}.{expires_unix}");
    let mut mac = mac(key);
    mac.update(payload.as_bytes());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// Checks a token's signature, its tenant (the host's) and its expiry at `now_unix`.
pub fn verify(key: &[u8; 32], token: &str, tenant_id: &str, now_unix: i64) -> AppResult<Grant> {
    let (payload_b64, signature_b64) = token.split_once('.').ok_or_else(invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| invalid())?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| invalid())?;
    let mut mac = mac(key);
    mac.update(&payload);
    // Constant-time comparison.
    mac.verify_slice(&signature).map_err(|_| invalid())?;
    let payload = String::from_utf8(payload).map_err(|_| invalid())?;
    let mut parts = payload.splitn(3, '.');
    let (Some(tenant), Some(file), Some(expires)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    if tenant != tenant_id {
        return Err(invalid());
    }
    let expires: i64 = expires.parse().map_err(|_| invalid())?;
    if now_unix >= expires {
        return Err(AppError::Unauthenticated {
            code: "signed_url_expired",
            detail: "this download link has expired; ask for a new one".into(),
        });
    }
    Ok(Grant {
        tenant_id: tenant.to_owned(),
        file_id: file.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_key_tenant_and_time() {
        let key = [7u8; 32];
        let token = sign(&key, "ten_a", "fil_1", 1_000);
        assert_eq!(
            verify(&key, &token, "ten_a", 999).unwrap(),
            Grant {
                tenant_id: "ten_a".into(),
                file_id: "fil_1".into()
            }
        );
        assert_eq!(
            verify(&key, &token, "ten_a", 1_000).unwrap_err().code(),
            "signed_url_expired"
        );
        assert_eq!(
            verify(&key, &token, "ten_b", 999).unwrap_err().code(),
            "signed_url_invalid"
        );
        assert!(verify(&[8u8; 32], &token, "ten_a", 999).is_err());
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode("ten_a.fil_1.99999"),
            token.split_once('.').unwrap().1
        );
        assert_eq!(
            verify(&key, &forged, "ten_a", 999).unwrap_err().code(),
            "signed_url_invalid"
        );
        assert!(verify(&key, "garbage", "ten_a", 0).is_err());
    }
}
