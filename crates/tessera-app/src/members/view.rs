//! How members are shown.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tessera_store::models::accounts::{self, AccountRow};
use tessera_store::models::members::{self, ProfileRow};
use tessera_store::models::memberships;
use tessera_store::Scoped;

use super::{Address, EmergencyContact};
use crate::{AppError, AppResult};

/// A consent's current state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentView {
    /// `marketing` or `health_data`.
    pub kind: String,
    /// Given or withdrawn.
    pub granted: bool,
    /// Version of the text.
    pub text_version: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// A member, as staff and the member see them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    /// Account id.
    pub id: String,
    /// E-mail address (absent for a minor without one).
    pub email: Option<String>,
    /// True once the address was verified.
    pub email_verified: bool,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Birth date.
    #[schema(value_type = Option<String>, format = Date)]
    pub birth_date: Option<NaiveDate>,
    /// Postal address.
    pub address: Option<Address>,
    /// Emergency contact.
    pub emergency_contact: Option<EmergencyContact>,
    /// Photo file id.
    pub photo_file_id: Option<String>,
    /// Preferred locale.
    pub locale: String,
    /// Card number (desk look-up, door readers).
    pub card_number: String,
    /// `active`, `inactive` or `blocked`.
    pub status: String,
    /// The guardian, for a minor.
    pub guardian_id: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// The latest decision per consent kind.
    pub consents: Vec<ConsentView>,
    /// How the member came: `signup`, `walk_in`, `staff`, `import`, `dependant`.
    pub source: String,
    /// Ids and statuses of the member's memberships, newest first.
    pub memberships: Vec<MembershipBrief>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A membership in a member's view.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MembershipBrief {
    /// Id.
    pub id: String,
    /// Plan name.
    pub plan_name: String,
    /// Status.
    pub status: String,
}

/// A member in search results.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberSummary {
    /// Account id.
    pub id: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Card number.
    pub card_number: String,
    /// Status.
    pub status: String,
}

/// Minors without an address of their own get a placeholder under this reserved domain (RFC 2606), never
/// shown and never written to.
pub const NO_EMAIL_DOMAIN: &str = "members.invalid";

pub(crate) fn shown_email(email: &str) -> Option<String> {
    if email.ends_with(NO_EMAIL_DOMAIN) {
        None
    } else {
        Some(email.to_owned())
    }
}

/// The latest decision per kind.
pub(crate) fn current_consents(rows: Vec<members::ConsentRow>) -> Vec<ConsentView> {
    let mut latest: Vec<ConsentView> = Vec::new();
    for row in rows {
        let view = ConsentView {
            kind: row.kind.clone(),
            granted: row.granted,
            text_version: row.text_version,
            recorded_at: tessera_store::utc(row.recorded_at),
        };
        match latest.iter_mut().find(|v| v.kind == row.kind) {
            Some(existing) => *existing = view,
            None => latest.push(view),
        }
    }
    latest.sort_by(|a, b| a.kind.cmp(&b.kind));
    latest
}

fn parse_json<T: serde::de::DeserializeOwned>(json: Option<&str>) -> AppResult<Option<T>> {
    json.map(serde_json::from_str)
        .transpose()
        .map_err(|e| AppError::Internal(format!("stored member JSON: {e}")))
}

/// The full view of one member.
pub fn load(s: &mut Scoped<'_>, account_id: &str) -> AppResult<MemberView> {
    let account = accounts::find(s, account_id)?.ok_or(AppError::NotFound("member"))?;
    let profile = members::find(s, account_id)?.ok_or(AppError::NotFound("member"))?;
    compose(s, account, profile)
}

pub(crate) fn compose(
    s: &mut Scoped<'_>,
    account: AccountRow,
    p: ProfileRow,
) -> AppResult<MemberView> {
    let tags = members::tags(s, &p.account_id)?;
    let consents = current_consents(members::consents(s, &p.account_id)?);
    let memberships = memberships::of_account(s, &p.account_id)?
        .into_iter()
        .map(|m| MembershipBrief {
            id: m.id,
            plan_name: m.plan_name,
            status: m.status,
        })
        .collect();
    Ok(MemberView {
        id: p.account_id,
        email: shown_email(&account.email),
        email_verified: account.email_verified_at.is_some(),
        given_name: p.given_name,
        family_name: p.family_name,
        phone: p.phone,
        birth_date: p.birth_date,
        address: parse_json(p.address_json.as_deref())?,
        emergency_contact: parse_json(p.emergency_contact_json.as_deref())?,
        photo_file_id: p.photo_file_id,
        locale: p.locale,
        card_number: p.card_number,
        status: p.member_status,
        guardian_id: p.guardian_account_id,
        tags,
        consents,
        source: p.source,
        memberships,
        created_at: tessera_store::utc(p.created_at),
        updated_at: tessera_store::utc(p.updated_at),
    })
}

/// Summaries of several members, in the order of `ids`.
pub fn summaries(s: &mut Scoped<'_>, ids: &[String]) -> AppResult<Vec<MemberSummary>> {
    let profiles = members::find_many(s, ids)?;
    let emails = members::emails(s, ids)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(p) = profiles.iter().find(|p| &p.account_id == id) else {
            continue;
        };
        let email = emails
            .iter()
            .find(|(account, _)| account == id)
            .and_then(|(_, email)| shown_email(email));
        out.push(MemberSummary {
            id: p.account_id.clone(),
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            email,
            phone: p.phone.clone(),
            card_number: p.card_number.clone(),
            status: p.member_status.clone(),
        });
    }
    Ok(out)
}
