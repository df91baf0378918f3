//! What a door reads: printed card numbers (the same 12 digits in the Code 128 barcode and in the card's QR code),
//! NFC card UIDs in the reader's own notation, and the mobile app's rotating QR codes.
//!
//! A rotating QR code is `TQR1.<credential id>.<unix seconds>.<signature>`: the app signs
//! `tessera-qr/1\n<tenant id>\n<credential id>\n<unix seconds>` with an Ed25519 key that never leaves the phone;
//! the server only knows the public key, and gives it to doors in their allowlist. A door thus verifies a code
//! offline, and nothing a door holds lets anyone make one.

use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::FieldError;

/// Kinds of credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A printed card: Code 128 barcode and QR code with the same number.
    Card,
    /// An NFC card, tag or wristband, known by its UID.
    Nfc,
    /// The mobile app's key for rotating QR codes.
    App,
}

impl CredentialKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Card => "card",
            CredentialKind::Nfc => "nfc",
            CredentialKind::App => "app",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<CredentialKind> {
        match name {
            "card" => Some(CredentialKind::Card),
            "nfc" => Some(CredentialKind::Nfc),
            "app" => Some(CredentialKind::App),
            _ => None,
        }
    }
}

/// The order in which a reader writes a UID's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ByteOrder {
    /// Most significant byte first (the UID as ISO 14443 sends it).
    Msb,
    /// Least significant byte first (many Wiegand and keyboard-emulation readers).
    Lsb,
}

impl ByteOrder {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ByteOrder::Msb => "msb",
            ByteOrder::Lsb => "lsb",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<ByteOrder> {
        match name {
            "msb" => Some(ByteOrder::Msb),
            "lsb" => Some(ByteOrder::Lsb),
            _ => None,
        }
    }
}

/// How a UID is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NfcEncoding {
    /// Hexadecimal digits, with or without `:`, `-` or spaces between bytes.
    #[default]
    Hex,
    /// The UID's bytes read as one unsigned decimal number.
    Decimal,
}

fn bad(code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError::new("", code, message)
}

/// Digits of a printed card number.
pub const CARD_DIGITS: usize = 12;

/// A card number: 12 digits (spaces allowed, as printed).
pub fn parse_card_number(text: &str) -> Result<String, FieldError> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == CARD_DIGITS && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(bad(
            "unknown_credential_format",
            "a card number is 12 digits; a rotating QR code starts with TQR1.",
        ))
    }
}

/// A UID in its stored form: uppercase hex, most significant byte first. UIDs are 4, 7 or 10 bytes long
/// (ISO 14443-3); a reader's decimal output has its leading zero bytes dropped, so a decimal value is widened to
/// the shortest of those lengths that holds it.
pub fn normalize_nfc(
    text: &str,
    encoding: NfcEncoding,
    order: ByteOrder,
) -> Result<String, FieldError> {
    let text = text.trim();
    let mut bytes: Vec<u8> = match encoding {
        NfcEncoding::Hex => {
            let cleaned: String = text
                .trim_start_matches("0x")
                .trim_start_matches("0X")
                .chars()
                .filter(|c| !matches!(c, ':' | '-' | ' '))
                .collect();
            if !cleaned.len().is_multiple_of(2) || !cleaned.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad(
                    "unknown_credential_format",
                    "an NFC UID in hex is pairs of hex digits",
                ));
            }
            (0..cleaned.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(&cleaned[i..i + 2], 16).ok())
                .collect()
        }
        NfcEncoding::Decimal => {
            if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) || text.len() > 25 {
                return Err(bad(
                    "unknown_credential_format",
                    "an NFC UID in decimal is digits only",
                ));
            }
            let value: u128 = text.parse().map_err(|_| {
                bad(
                    "unknown_credential_format",
                    "an NFC UID in decimal is too large",
                )
            })?;
            let width = if value < 1 << 32 {
                4
            } else if value < 1 << 56 {
                7
            } else {
                10
            };
            value.to_be_bytes()[16 - width..].to_vec()
        }
    };
    if ![4, 7, 10].contains(&bytes.len()) {
        return Err(bad(
            "unknown_credential_format",
            "an NFC UID is 4, 7 or 10 bytes",
        ));
    }
    if order == ByteOrder::Lsb {
        bytes.reverse();
    }
    Ok(bytes.iter().map(|b| format!("{b:02X}")).collect())
}

/// Prefix of rotating QR codes.
pub const ROTATING_PREFIX: &str = "TQR1.";
/// How long a rotating code is accepted after it was made, and how far ahead of the door's clock, in seconds.
pub const ROTATING_WINDOW_SECS: i64 = 60;
/// How often the app makes a new code, in seconds.
pub const ROTATING_STEP_SECS: i64 = 30;

/// A rotating QR code, parsed (not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatingCode {
    /// The `app` credential that signed it.
    pub credential_id: String,
    /// When the app made it (Unix seconds).
    pub issued_at: i64,
    /// Ed25519 signature.
    pub signature: [u8; 64],
}

/// What a door's optical reader saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Optical {
    /// A printed card's number.
    Card(String),
    /// A rotating code.
    Rotating(RotatingCode),
}

/// Reads a barcode or QR code: a card number or a rotating code; anything else is `unknown_credential_format`.
pub fn parse_optical(text: &str) -> Result<Optical, FieldError> {
    let text = text.trim();
    match text.strip_prefix(ROTATING_PREFIX) {
        Some(rest) => parse_rotating(rest).map(Optical::Rotating),
        None => parse_card_number(text).map(Optical::Card),
    }
}

fn parse_rotating(rest: &str) -> Result<RotatingCode, FieldError> {
    let malformed = || bad("unknown_credential_format", "a malformed rotating QR code");
    let mut parts = rest.split('.');
    let (Some(id), Some(at), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(malformed());
    }
    let issued_at: i64 = at.parse().map_err(|_| malformed())?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| malformed())?;
    let signature: [u8; 64] = raw.try_into().map_err(|_| malformed())?;
    Ok(RotatingCode {
        credential_id: id.to_owned(),
        issued_at,
        signature,
    })
}

fn rotating_message(tenant_id: &str, credential_id: &str, issued_at: i64) -> Vec<u8> {
    format!("tessera-qr/1\n{tenant_id}\n{credential_id}\n{issued_at}").into_bytes()
}

/// Makes a rotating code (what the mobile app does every [`ROTATING_STEP_SECS`]).
pub fn make_rotating(
    key: &SigningKey,
    tenant_id: &str,
    credential_id: &str,
    issued_at: i64,
) -> String {
    let signature = key.sign(&rotating_message(tenant_id, credential_id, issued_at));
    format!(
        "{ROTATING_PREFIX}{credential_id}.{issued_at}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

/// An app credential's public key from its base64url form.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, FieldError> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| {
            bad(
                "invalid_public_key",
                "an Ed25519 public key, 32 bytes in base64url",
            )
        })?;
    let raw: [u8; 32] = raw
        .try_into()
        .map_err(|_| bad("invalid_public_key", "an Ed25519 public key is 32 bytes"))?;
    VerifyingKey::from_bytes(&raw).map_err(|_| bad("invalid_public_key", "not an Ed25519 point"))
}

/// The base64url form of a public key.
pub fn public_key_text(key: &VerifyingKey) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.to_bytes())
}

/// True when the code's signature verifies with the credential's public key.
pub fn verify_rotating(code: &RotatingCode, tenant_id: &str, key: &VerifyingKey) -> bool {
    key.verify(
        &rotating_message(tenant_id, &code.credential_id, code.issued_at),
        &Signature::from_bytes(&code.signature),
    )
    .is_ok()
}

/// True when the code is inside its window at `now` (Unix seconds): made at most [`ROTATING_WINDOW_SECS`] ago,
/// and not more than that ahead of the door's clock.
pub fn within_window(code: &RotatingCode, now: i64) -> bool {
    (now - code.issued_at).abs() <= ROTATING_WINDOW_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers() {
        assert_eq!(parse_card_number("1234 5678 9012").unwrap(), "123456789012");
        assert!(parse_card_number("12345678901").is_err());
        assert!(parse_card_number("12345678901A").is_err());
        assert!(
            matches!(parse_optical("123456789012"), Ok(Optical::Card(n)) if n == "123456789012")
        );
        assert_eq!(
            parse_optical("hello").unwrap_err().code,
            "unknown_credential_format"
        );
    }

    #[test]
    fn nfc_uids_in_every_notation_meet() {
        let msb = normalize_nfc("04:A2:2B:1C:6E:50:80", NfcEncoding::Hex, ByteOrder::Msb).unwrap();
        assert_eq!(msb, "04A22B1C6E5080");
        let lsb = normalize_nfc("80506E1C2BA204", NfcEncoding::Hex, ByteOrder::Lsb).unwrap();
        assert_eq!(lsb, msb);
        // 0x04A22B1C6E5080 in decimal.
        let dec = normalize_nfc("1304205951127680", NfcEncoding::Decimal, ByteOrder::Msb).unwrap();
        assert_eq!(dec, msb);
        // A 4-byte UID with a leading zero byte, read as a decimal by an LSB-first reader.
        let four = normalize_nfc("3735928559", NfcEncoding::Decimal, ByteOrder::Lsb).unwrap();
        assert_eq!(four, "EFBEADDE");
        let small = normalize_nfc("255", NfcEncoding::Decimal, ByteOrder::Msb).unwrap();
        assert_eq!(small, "000000FF");
        for bad in ["ABC", "0G0000", "0102030405", ""] {
            assert!(
                normalize_nfc(bad, NfcEncoding::Hex, ByteOrder::Msb).is_err(),
                "{bad}"
            );
        }
        assert!(normalize_nfc("12a", NfcEncoding::Decimal, ByteOrder::Msb).is_err());
    }

    #[test]
    fn rotating_codes_verify_and_expire() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let public = key.verifying_key();
        let text = make_rotating(&key, "ten_a", "crd_1", 1_000_000);
        let Optical::Rotating(code) = parse_optical(&text).unwrap() else {
            panic!("not rotating")
        };
        assert_eq!(code.credential_id, "crd_1");
        assert!(verify_rotating(&code, "ten_a", &public));
        assert!(
            !verify_rotating(&code, "ten_b", &public),
            "bound to its brand"
        );
        let other = SigningKey::from_bytes(&[8u8; 32]);
        assert!(!verify_rotating(&code, "ten_a", &other.verifying_key()));
        let mut tampered = code.clone();
        tampered.issued_at += 30;
        assert!(!verify_rotating(&tampered, "ten_a", &public));
        assert!(within_window(&code, 1_000_060));
        assert!(!within_window(&code, 1_000_061));
        assert!(!within_window(&code, 999_939));
        assert!(parse_optical("TQR1.crd_1.notanumber.AAAA").is_err());
        assert!(parse_optical("TQR1.crd_1.5").is_err());
        let round = parse_public_key(&public_key_text(&public)).unwrap();
        assert_eq!(round, public);
        assert!(parse_public_key("AAAA").is_err());
    }
}
