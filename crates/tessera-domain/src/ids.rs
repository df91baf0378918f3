//! Prefixed, time-ordered identifiers such as `acc_01JD3...`: a short prefix naming the kind of record,
//! then a ULID in Crockford base32, so that ids sort by creation time and say what they are.

/// The prefix of each kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A brand (tenant).
    Tenant,
    /// A group-level person record, shared by the person's accounts across brands.
    Person,
    /// An account of one brand.
    Account,
    /// A group-level operator account.
    Operator,
    /// A refresh token.
    RefreshToken,
    /// A family of rotated refresh tokens.
    TokenFamily,
    /// A single-use account token (invitation, password reset, address verification).
    AccountToken,
    /// A token-signing key.
    SigningKey,
    /// A request id.
    Request,
    /// An audit log entry.
    AuditEntry,
    /// A job of the queue.
    Job,
    /// A job worker.
    Worker,
    /// An event of the outbox.
    Event,
    /// A webhook endpoint.
    WebhookEndpoint,
    /// A delivery of an event to a webhook endpoint.
    WebhookDelivery,
    /// A stored file.
    File,
    /// A tenant's data key (envelope encryption of sensitive files).
    DataKey,
    /// A location (a gym, a studio).
    Location,
    /// A room of a location.
    Room,
    /// A service pros deliver by appointment.
    Service,
    /// An appointment with a pro.
    Appointment,
    /// A recurring class schedule.
    ClassSchedule,
    /// One session of a class.
    ClassSession,
    /// A member's booking in a class session.
    ClassBooking,
    /// A pro's weekly working period.
    WorkingHours,
    /// A pro's leave or holiday.
    HoursException,
    /// A pro's clock-in/out.
    ClockEntry,
    /// A recorded consent (or its withdrawal).
    Consent,
    /// A staff note on a member.
    MemberNote,
    /// A plan on sale.
    Plan,
    /// A membership: a member on a plan.
    Membership,
    /// A freeze of a membership.
    Freeze,
    /// An entry of a membership's history.
    MembershipChange,
    /// A paired device (kiosk, door, body analyser).
    Device,
    /// A device pairing code.
    DevicePairing,
    /// A member's door credential (card, NFC tag, app key).
    Credential,
    /// A door decision, check-in or override.
    AccessEvent,
    /// A body-composition measurement.
    BodyMeasurement,
    /// A body-composition goal.
    BodyGoal,
    /// An invoice or credit note.
    Invoice,
    /// A payment or payment attempt.
    Payment,
    /// A refund.
    Refund,
}

impl IdKind {
    /// The prefix written before the underscore.
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Tenant => "ten",
            IdKind::Person => "per",
            IdKind::Account => "acc",
            IdKind::Operator => "opr",
            IdKind::RefreshToken => "rtk",
            IdKind::TokenFamily => "rtf",
            IdKind::AccountToken => "atk",
            IdKind::SigningKey => "key",
            IdKind::Request => "req",
            IdKind::AuditEntry => "aud",
            IdKind::Job => "job",
            IdKind::Worker => "wrk",
            IdKind::Event => "evt",
            IdKind::WebhookEndpoint => "whe",
            IdKind::WebhookDelivery => "whd",
            IdKind::File => "fil",
            IdKind::DataKey => "dek",
            IdKind::Location => "loc",
            IdKind::Room => "room",
            IdKind::Service => "svc",
            IdKind::Appointment => "apt",
            IdKind::ClassSchedule => "cls",
            IdKind::ClassSession => "ses",
            IdKind::ClassBooking => "bkg",
            IdKind::WorkingHours => "hrs",
            IdKind::HoursException => "exc",
            IdKind::ClockEntry => "clk",
            IdKind::Consent => "cns",
            IdKind::MemberNote => "not",
            IdKind::Plan => "pln",
            IdKind::Membership => "mem",
            IdKind::Freeze => "frz",
            IdKind::MembershipChange => "mch",
            IdKind::Device => "dev",
            IdKind::DevicePairing => "dpr",
            IdKind::Credential => "crd",
            IdKind::AccessEvent => "acx",
            IdKind::BodyMeasurement => "bdm",
            IdKind::BodyGoal => "bdg",
            IdKind::Invoice => "inv",
            IdKind::Payment => "pay",
            IdKind::Refund => "rfd",
        }
    }

    /// A new identifier of this kind.
    pub fn new_id(self) -> String {
        format!(
            "{}_{}",
            self.prefix(),
            ulid::Ulid::new().to_string().to_lowercase()
        )
    }

    /// True when `id` has this kind's prefix and a well-formed ULID after it.
    pub fn matches(self, id: &str) -> bool {
        id.strip_prefix(self.prefix())
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|ulid| {
                ulid.len() == 26 && ulid::Ulid::from_string(&ulid.to_uppercase()).is_ok()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_time_ordered() {
        let a = IdKind::Account.new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = IdKind::Account.new_id();
        assert!(a.starts_with("acc_"));
        assert!(a < b);
        assert!(IdKind::Account.matches(&a));
        assert!(!IdKind::Tenant.matches(&a));
        assert!(!IdKind::Account.matches("acc_nope"));
    }
}
