//! Values that can only be built valid: each has a `parse` that checks its input and says what is wrong.

use serde::Serialize;

use crate::FieldError;

/// An e-mail address, trimmed and lower-cased so that it compares equal however it was typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Longest address accepted (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Parses and normalises an address: one `@`, a non-empty local part, a dotted domain, no spaces.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let value = input.trim().to_lowercase();
        if value.is_empty() {
            return Err(FieldError::new(
                "",
                "required",
                "an e-mail address is required",
            ));
        }
        if value.len() > Self::MAX_LEN {
            return Err(FieldError::new(
                "",
                "too_long",
                format!("at most {} characters", Self::MAX_LEN),
            ));
        }
        let valid = match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && domain.split('.').all(|label| {
                        !label.is_empty()
                            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    })
                    && !local
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
            }
            None => false,
        };
        if valid {
            Ok(Self(value))
        } else {
            Err(FieldError::new(
                "",
                "invalid_format",
                "not a valid e-mail address",
            ))
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's or a thing's display name: 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest name accepted, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Parses a name, trimming surrounding white space.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(FieldError::new("", "required", "a name is required"));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                "",
                "too_long",
                format!("at most {} characters", Self::MAX_CHARS),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(FieldError::new(
                "",
                "invalid_characters",
                "control characters are not allowed",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password chosen by a person: 12 to 128 characters (OWASP ASVS 2.1.1 and 2.1.2), not only spaces.
///
/// It is never printed: `Debug` shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// Shortest password accepted.
    pub const MIN_CHARS: usize = 12;
    /// Longest password accepted.
    pub const MAX_CHARS: usize = 128;

    /// Checks a password's length. Passwords are not trimmed: every character counts.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let chars = input.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(FieldError::new(
                "",
                "too_short",
                format!("at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new(
                "",
                "too_long",
                format!("at most {} characters", Self::MAX_CHARS),
            ));
        }
        if input.trim().is_empty() {
            return Err(FieldError::new(
                "",
                "invalid_characters",
                "a password cannot be only spaces",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    /// The password, to be hashed.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            EmailAddress::parse("  Ana.Silva@Example.COM ").map(|e| e.0),
            Ok("ana.silva@example.com".into())
        );
        for bad in [
            "", "nobody", "a@b", "a@@b.fr", "@b.fr", "a@.fr", "a b@c.fr", "a@b..fr",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(
            EmailAddress::parse(&long).map_err(|e| e.code),
            Err("too_long")
        );
    }

    #[test]
    fn names_and_passwords() {
        assert!(DisplayName::parse(" Zoé ").is_ok());
        assert_eq!(
            DisplayName::parse(&"x".repeat(101)).map_err(|e| e.code),
            Err("too_long")
        );
        assert_eq!(
            DisplayName::parse("a\u{7}b").map_err(|e| e.code),
            Err("invalid_characters")
        );
        assert_eq!(
            NewPassword::parse("short").map_err(|e| e.code),
            Err("too_short")
        );
        assert_eq!(
            NewPassword::parse(&"p".repeat(129)).map_err(|e| e.code),
            Err("too_long")
        );
        assert!(
            format!("{:?}", NewPassword::parse("correct horse battery").unwrap())
                .contains("redacted")
        );
    }
}
