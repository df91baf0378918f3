//! What a door decision reads of a brand's credentials, members, memberships and billing: a few fields of each
//! row, in the form the decision uses them (a membership's access rules parsed, a saved card's last valid day
//! worked out). The door memory ([`super::memory`]) keeps a whole brand in this form, about a third of the size of
//! the rows it comes from; a group read from the database is converted the same way, so both give the same facts.

use chrono::{NaiveDate, NaiveDateTime};
use tessera_domain::access::MembershipFacts;
use tessera_domain::gym::membership::MembershipStatus;
use tessera_domain::gym::plan::AccessRules;
use tessera_store::models::access::CredentialRow;
use tessera_store::models::invoices::InvoiceRow;
use tessera_store::models::members::ProfileRow;
use tessera_store::models::memberships::MembershipRow;
use tessera_store::models::payments::BillingProfileRow;

/// A credential as a door reads it.
#[derive(Debug)]
pub(crate) struct DoorCredential {
    /// `crd_...`.
    pub id: String,
    /// Whose.
    pub member_id: String,
    /// `card`, `nfc` or `app`.
    pub kind: String,
    /// The card number, the NFC UID, or the app's public key.
    pub value: String,
    /// Not revoked nor replaced.
    pub active: bool,
    /// Issued at: of two credentials with one value, a door reads the live one, else the latest.
    pub created_at: NaiveDateTime,
}

impl From<CredentialRow> for DoorCredential {
    fn from(row: CredentialRow) -> DoorCredential {
        DoorCredential {
            active: row.status == "active",
            id: row.id,
            member_id: row.member_id,
            kind: row.kind,
            value: row.value,
            created_at: row.created_at,
        }
    }
}

/// A member as the front desk's screen shows them, and whether staff blocked them.
#[derive(Debug)]
pub(crate) struct DoorProfile {
    /// `acc_...`.
    pub account_id: String,
    /// Given and family name.
    pub name: String,
    /// Photo (a stored file id).
    pub photo_file_id: Option<String>,
    /// The member's card number.
    pub card_number: String,
    /// Blocked by staff: refused at every door.
    pub blocked: bool,
}

impl From<ProfileRow> for DoorProfile {
    fn from(row: ProfileRow) -> DoorProfile {
        DoorProfile {
            name: format!("{} {}", row.given_name, row.family_name),
            blocked: row.member_status == "blocked",
            account_id: row.account_id,
            photo_file_id: row.photo_file_id,
            card_number: row.card_number,
        }
    }
}

/// A membership as a door decides on it: whose, and its facts (no unpaid invoice yet: billing adds it).
#[derive(Debug)]
pub(crate) struct DoorMembership {
    /// The member.
    pub account_id: String,
    /// What the decision reads.
    pub facts: MembershipFacts,
}

impl DoorMembership {
    /// The membership's door facts; none for a status this build does not know (it opens nothing).
    pub(crate) fn of(row: MembershipRow) -> Option<DoorMembership> {
        Some(DoorMembership {
            facts: MembershipFacts {
                status: MembershipStatus::parse(&row.status)?,
                // Rules that do not parse (written by a later build) are read as none: the plan's status decides.
                rules: serde_json::from_str::<AccessRules>(&row.access_json).unwrap_or_default(),
                id: row.id,
                starts_on: row.starts_on,
                ends_on: row.ends_on,
                plan_name: row.plan_name,
                unpaid_due_on: None,
            },
            account_id: row.account_id,
        })
    }
}

/// An open invoice of a membership, as billing warns or refuses at the door.
#[derive(Debug)]
pub(crate) struct DoorInvoice {
    /// Its member.
    pub account_id: String,
    /// The membership it bills.
    pub membership_id: String,
    /// When it falls due.
    pub due_on: Option<NaiveDate>,
}

impl DoorInvoice {
    /// The invoice's door facts; none for an invoice of no membership (a shop order: no door reads it).
    pub(crate) fn of(row: InvoiceRow) -> Option<DoorInvoice> {
        Some(DoorInvoice {
            membership_id: row.membership_id?,
            account_id: row.account_id,
            due_on: row.due_on,
        })
    }
}

/// A member's saved card and its last valid day, for the desk's "card expiring" warning.
#[derive(Debug, Clone)]
pub(crate) struct SavedCard {
    /// Whose.
    pub account_id: String,
    /// The last day of the card's expiry month.
    pub valid_until: NaiveDate,
}

impl SavedCard {
    /// The saved card of a billing profile; none when the method is not a card or its expiry is unknown.
    pub(crate) fn of(row: BillingProfileRow) -> Option<SavedCard> {
        if row.method_kind.as_deref() != Some("card") {
            return None;
        }
        let year = row.card_exp_year?;
        let month = u32::try_from(row.card_exp_month?).ok()?;
        let last = tessera_domain::gym::dates::last_day_of_month(year, month);
        Some(SavedCard {
            account_id: row.account_id,
            valid_until: NaiveDate::from_ymd_opt(year, month, last)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;
    use tessera_store::models::access::door_rank;

    use super::*;

    fn billing_profile(
        kind: Option<&str>,
        month: Option<i32>,
        year: Option<i32>,
    ) -> BillingProfileRow {
        BillingProfileRow {
            tenant_id: "tnt_a".into(),
            account_id: "acc_a".into(),
            provider: "stripe".into(),
            customer_ref: None,
            payment_method_ref: None,
            method_kind: kind.map(str::to_owned),
            card_brand: None,
            card_last4: None,
            card_exp_month: month,
            card_exp_year: year,
            expiry_notified_on: None,
            company_json: None,
            updated_at: NaiveDateTime::default(),
        }
    }

    #[test]
    fn a_saved_card_is_valid_to_the_last_day_of_its_expiry_month() {
        let card = SavedCard::of(billing_profile(Some("card"), Some(2), Some(2028)));
        assert_eq!(
            card.map(|c| c.valid_until),
            NaiveDate::from_ymd_opt(2028, 2, 29)
        );
        let december = SavedCard::of(billing_profile(Some("card"), Some(12), Some(2027)));
        assert_eq!(
            december.map(|c| c.valid_until),
            NaiveDate::from_ymd_opt(2027, 12, 31)
        );
    }

    #[test]
    fn only_cards_with_a_known_expiry_can_warn() {
        assert!(SavedCard::of(billing_profile(Some("sepa_debit"), Some(2), Some(2028))).is_none());
        assert!(SavedCard::of(billing_profile(None, None, None)).is_none());
        assert!(SavedCard::of(billing_profile(Some("card"), None, Some(2028))).is_none());
        assert!(SavedCard::of(billing_profile(Some("card"), Some(13), Some(2028))).is_none());
    }

    #[test]
    fn a_door_reads_the_live_credential_of_a_value_before_any_revoked_one() {
        let older = NaiveDateTime::default();
        let newer = older + chrono::Duration::days(1);
        assert!(door_rank(true, older) > door_rank(false, newer));
        assert!(door_rank(false, newer) > door_rank(false, older));
    }
}
