//! What a stored file is for. Each [`FilePurpose`] carries, in this one table, the content types it accepts, its
//! largest size, whether it is sensitive (encrypted at rest with the tenant's data key, served only through
//! Tessera, each view audited) and whether its owner may upload it themself.

use crate::FieldError;

const MIB: u64 = 1024 * 1024;

/// Why a file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilePurpose {
    /// A member's profile photo.
    MemberPhoto,
    /// A general document (technical documentation, a brochure...).
    Document,
    /// An identity document checked at enrolment.
    IdentityDocument,
    /// A signed contract or waiver.
    SignedContract,
    /// A health or body-composition report.
    HealthReport,
    /// A recorded video session.
    VideoRecording,
    /// A member's personal data export (GDPR).
    PersonalDataExport,
    /// An invoice as PDF.
    InvoicePdf,
    /// A 3D body scan (OBJ, PLY or glTF) or its measurements JSON, owned by the member.
    BodyScan,
}

/// The rules of one purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurposeRules {
    /// Content types accepted (lower case, without parameters).
    pub content_types: &'static [&'static str],
    /// Largest size in bytes.
    pub max_bytes: u64,
    /// Encrypted at rest, never behind a presigned URL, each view audited.
    pub sensitive: bool,
    /// The owner may upload it themself; otherwise only staff who manage files may (system-made files).
    pub owner_may_upload: bool,
}

impl FilePurpose {
    /// Every purpose.
    pub const ALL: [FilePurpose; 9] = [
        FilePurpose::MemberPhoto,
        FilePurpose::Document,
        FilePurpose::IdentityDocument,
        FilePurpose::SignedContract,
        FilePurpose::HealthReport,
        FilePurpose::VideoRecording,
        FilePurpose::PersonalDataExport,
        FilePurpose::InvoicePdf,
        FilePurpose::BodyScan,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            FilePurpose::MemberPhoto => "member_photo",
            FilePurpose::Document => "document",
            FilePurpose::IdentityDocument => "identity_document",
            FilePurpose::SignedContract => "signed_contract",
            FilePurpose::HealthReport => "health_report",
            FilePurpose::VideoRecording => "video_recording",
            FilePurpose::PersonalDataExport => "personal_data_export",
            FilePurpose::InvoicePdf => "invoice_pdf",
            FilePurpose::BodyScan => "body_scan",
        }
    }

    /// The rules: the one place they are written (`docs/storage.md` shows the same table).
    pub fn rules(self) -> PurposeRules {
        const IMAGES: &[&str] = &["image/jpeg", "image/png", "image/webp"];
        const PDF_OR_IMAGE: &[&str] = &["application/pdf", "image/jpeg", "image/png"];
        let (content_types, max_bytes, sensitive, owner_may_upload): (&[&str], u64, bool, bool) =
            match self {
                FilePurpose::MemberPhoto => (IMAGES, 10 * MIB, false, true),
                FilePurpose::Document => (
                    &["application/pdf", "image/jpeg", "image/png", "text/plain"],
                    100 * MIB,
                    false,
                    true,
                ),
                FilePurpose::IdentityDocument => (PDF_OR_IMAGE, 20 * MIB, true, true),
                FilePurpose::SignedContract => (&["application/pdf"], 20 * MIB, true, true),
                FilePurpose::HealthReport => (
                    &["application/pdf", "application/json"],
                    20 * MIB,
                    true,
                    true,
                ),
                FilePurpose::VideoRecording => {
                    (&["video/mp4", "video/webm"], 8 * 1024 * MIB, true, true)
                }
                FilePurpose::PersonalDataExport => (
                    &["application/zip", "application/json"],
                    2 * 1024 * MIB,
                    true,
                    false,
                ),
                FilePurpose::InvoicePdf => (&["application/pdf"], 10 * MIB, false, false),
                FilePurpose::BodyScan => (
                    &[
                        "model/obj",
                        "model/gltf+json",
                        "model/gltf-binary",
                        "application/x-ply",
                        "application/json",
                    ],
                    500 * MIB,
                    true,
                    true,
                ),
            };
        PurposeRules {
            content_types,
            max_bytes,
            sensitive,
            owner_may_upload,
        }
    }

    /// Why files of this purpose outlive an erasure of their owner's personal data, when the law says they must.
    pub fn retention(self) -> Option<&'static str> {
        match self {
            FilePurpose::InvoicePdf => {
                Some("invoices are kept 10 years (French Commercial Code, art. L123-22)")
            }
            _ => None,
        }
    }

    /// True for files encrypted at rest and served only through Tessera.
    pub fn is_sensitive(self) -> bool {
        self.rules().sensitive
    }

    /// Parses a purpose name.
    pub fn parse(name: &str) -> Result<FilePurpose, FieldError> {
        FilePurpose::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = FilePurpose::ALL.iter().map(|p| p.as_str()).collect();
                FieldError::new(
                    "",
                    "unknown_purpose",
                    format!(
                        "unknown file purpose {name:?}; expected one of {}",
                        names.join(", ")
                    ),
                )
            })
    }

    /// The content type without parameters, lower case, if this purpose accepts it.
    pub fn accepts(self, content_type: &str) -> Option<&'static str> {
        let bare = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        self.rules()
            .content_types
            .iter()
            .find(|allowed| **allowed == bare)
            .copied()
    }
}

impl std::fmt::Display for FilePurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_round_trip_and_unknown_ones_are_named() {
        for purpose in FilePurpose::ALL {
            assert_eq!(FilePurpose::parse(purpose.as_str()), Ok(purpose));
        }
        let error = FilePurpose::parse("selfie").unwrap_err();
        assert_eq!(error.code, "unknown_purpose");
        assert!(error.message.contains("member_photo"));
    }

    #[test]
    fn sensitive_purposes_are_the_ones_the_brief_names() {
        let sensitive: Vec<&str> = FilePurpose::ALL
            .into_iter()
            .filter(|p| p.is_sensitive())
            .map(FilePurpose::as_str)
            .collect();
        assert_eq!(
            sensitive,
            [
                "identity_document",
                "signed_contract",
                "health_report",
                "video_recording",
                "personal_data_export",
                // Issue 6: 3D body scans are stored encrypted.
                "body_scan"
            ]
        );
    }

    #[test]
    fn content_types_are_matched_without_parameters() {
        assert_eq!(
            FilePurpose::Document.accepts("Text/Plain; charset=utf-8"),
            Some("text/plain")
        );
        assert_eq!(FilePurpose::MemberPhoto.accepts("application/pdf"), None);
        assert_eq!(FilePurpose::VideoRecording.accepts(""), None);
    }
}
