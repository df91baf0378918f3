//! Sealing secrets at rest with the master key: AES-256-GCM, a random 96-bit nonce per message, and associated
//! data naming what is sealed (a key's id), so that a sealed value moved to another row does not open.
//!
//! Sealed text is `v1.` then base64 of nonce and ciphertext with its tag.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::{AppError, AppResult};

const VERSION: &str = "v1.";
const NONCE_LEN: usize = 12;

/// The master key, checked once.
#[derive(Clone)]
pub struct MasterKey {
    cipher: Aes256Gcm,
    /// The key's bytes, kept only to derive purpose-bound keys from ([`MasterKey::derive_key`]).
    raw: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// Parses the configured key: base64 of exactly 32 bytes.
    pub fn parse(configured: Option<&SecretString>) -> AppResult<MasterKey> {
        let configured = configured.ok_or_else(|| {
            AppError::Unavailable(
                "no master key: set secrets.master_key (TESSERA_SECRETS__MASTER_KEY); `tessera keys master-key` makes one"
                    .into(),
            )
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(configured.expose_secret().trim())
            .map_err(|_| AppError::Unavailable("secrets.master_key is not base64".into()))?;
        let raw: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            AppError::Unavailable("secrets.master_key must be 32 bytes (base64)".into())
        })?;
        let cipher = Aes256Gcm::new(&raw.into());
        Ok(MasterKey { cipher, raw })
    }

    /// A new random master key, base64.
    pub fn generate() -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A 256-bit key for one use (`label`), derived with HMAC-SHA256 from the master key, so that the master key
    /// itself signs and encrypts nothing but sealed secrets.
    pub fn derive_key(&self, label: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        // HMAC accepts keys of any length, so building it cannot fail.
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.raw)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Seals `plaintext` for `context`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> AppResult<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| AppError::Internal("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        Ok(format!(
            "{VERSION}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// Opens what [`MasterKey::seal`] sealed for the same `context`. A wrong key, a wrong context or a changed
    /// byte all fail the same way.
    pub fn open(&self, sealed: &str, context: &str) -> AppResult<Vec<u8>> {
        let refuse = || {
            AppError::Internal(format!(
                "cannot open the sealed {context}: wrong master key or tampered data"
            ))
        };
        let body = sealed.strip_prefix(VERSION).ok_or_else(refuse)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| refuse())?;
        if bytes.len() < NONCE_LEN {
            return Err(refuse());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_refuse() {
        let key = MasterKey::parse(Some(&SecretString::from(MasterKey::generate()))).unwrap();
        let sealed = key.seal(b"private key", "key_1").unwrap();
        assert!(sealed.starts_with("v1.") && !sealed.contains("private"));
        assert_eq!(key.open(&sealed, "key_1").unwrap(), b"private key");
        assert!(key.open(&sealed, "key_2").is_err(), "bound to its context");
        let other = MasterKey::parse(Some(&SecretString::from(MasterKey::generate()))).unwrap();
        assert!(other.open(&sealed, "key_1").is_err(), "another master key");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(key
            .open(&String::from_utf8(tampered).unwrap(), "key_1")
            .is_err());
        assert_ne!(
            key.seal(b"x", "c").unwrap(),
            key.seal(b"x", "c").unwrap(),
            "fresh nonce each time"
        );
        assert!(MasterKey::parse(None).is_err());
        assert_eq!(key.derive_key("a"), key.derive_key("a"));
        assert_ne!(key.derive_key("a"), key.derive_key("b"));
        assert_ne!(key.derive_key("a"), other.derive_key("a"));
        assert!(MasterKey::parse(Some(&SecretString::from("c2hvcnQ=".to_owned()))).is_err());
    }
}
