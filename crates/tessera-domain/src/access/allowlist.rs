//! The signed allowlist a door keeps to decide offline, and how a door turns one of its entries into the
//! [`Facts`](super::Facts) of [`decide`](super::decide). `docs/devices.md` describes the format for hardware
//! vendors; this module is the reference.
//!
//! The body is JSON; the server signs `tessera-allowlist/1\n` followed by the exact body bytes with its Ed25519
//! signing key and sends the signature and key id in headers. Credentials appear only as salted SHA-256 prefixes,
//! and rotating-QR credentials with their public keys: a stolen door gives away no card number in clear and no
//! key that can make a pass.

use base64::Engine;
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::MembershipFacts;
use crate::gym::membership::MembershipStatus;
use crate::gym::plan::{AccessRules, AccessWindow};

/// The format's name and version.
pub const FORMAT: &str = "tessera-allowlist/1";

/// What the server signs: the domain-separation prefix, then the body.
pub fn signing_input(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FORMAT.len() + 1 + body.len());
    out.extend_from_slice(FORMAT.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// A door's snapshot (or the changes since a version).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Allowlist {
    /// [`FORMAT`].
    pub format: String,
    /// The brand.
    pub tenant_id: String,
    /// The door it was made for.
    pub device_id: String,
    /// The door's location.
    pub location_id: String,
    /// The location's IANA time zone (weekly windows are local times).
    pub time_zone: String,
    /// The door refuses a second entry without an exit.
    pub anti_passback: bool,
    /// The version this brings the door to.
    pub version: i64,
    /// `None` for a full snapshot; the door's version for a delta.
    pub since: Option<i64>,
    /// When it was made (RFC 3339).
    pub generated_at: chrono::DateTime<chrono::Utc>,
    /// Salt of the credential hashes.
    pub salt: String,
    /// Rotating QR window, seconds.
    pub qr_window_secs: i64,
    /// Access rules referred to by index from entries.
    pub rules: Vec<RuleSet>,
    /// Credentials (added or changed, in a delta).
    pub entries: Vec<Entry>,
    /// Hashes of credentials to forget (deltas only).
    pub removed: Vec<String>,
}

/// The part of a plan's access rules a door needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RuleSet {
    /// Location ids where the plan is valid (empty: all).
    pub locations: Vec<String>,
    /// Weekly windows (empty: any hour).
    pub windows: Vec<AccessWindow>,
    /// Visits per week.
    pub visits_per_week: Option<u32>,
}

impl RuleSet {
    /// The door-relevant part of `rules`.
    pub fn of(rules: &AccessRules) -> RuleSet {
        RuleSet {
            locations: rules.locations.clone(),
            windows: rules.windows.clone(),
            visits_per_week: rules.visits_per_week,
        }
    }

    fn rules(&self) -> AccessRules {
        AccessRules {
            locations: self.locations.clone(),
            windows: self.windows.clone(),
            visits_per_week: self.visits_per_week,
            ..AccessRules::default()
        }
    }
}

/// One credential: `[hash, public key or "", blocked (0|1), [[status, first day, end day or 0, rule], ...]]`.
/// Days count from 1970-01-01; the status is `a` (active), `p` (past due), `s` (suspended) or `f` (frozen).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry(
    pub String,
    pub String,
    pub u8,
    pub Vec<(char, i32, i32, usize)>,
);

/// The hash a door looks a credential up by: base64url of SHA-256(`salt\nkind\nvalue`), first 16 characters
/// (96 bits). For an `app` credential the value is the credential id (which the rotating code names).
pub fn entry_hash(salt: &str, kind: &str, value: &str) -> String {
    let digest = Sha256::digest(format!("{salt}\n{kind}\n{value}").as_bytes());
    let mut text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    text.truncate(16);
    text
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// Days since 1970-01-01.
pub fn day_number(day: NaiveDate) -> i32 {
    i32::try_from((day - epoch()).num_days()).unwrap_or(i32::MAX)
}

fn from_day_number(n: i32) -> NaiveDate {
    epoch() + chrono::Duration::days(i64::from(n))
}

/// The letter of a status a door may see; `None` for statuses left out of allowlists (pending, over).
pub fn status_letter(status: MembershipStatus) -> Option<char> {
    match status {
        MembershipStatus::Active => Some('a'),
        MembershipStatus::PastDue => Some('p'),
        MembershipStatus::Suspended => Some('s'),
        MembershipStatus::Frozen => Some('f'),
        _ => None,
    }
}

fn letter_status(letter: char) -> Option<MembershipStatus> {
    match letter {
        'a' => Some(MembershipStatus::Active),
        'p' => Some(MembershipStatus::PastDue),
        's' => Some(MembershipStatus::Suspended),
        'f' => Some(MembershipStatus::Frozen),
        _ => None,
    }
}

/// The membership group of an entry.
pub fn membership_group(
    status: MembershipStatus,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
    rule: usize,
) -> Option<(char, i32, i32, usize)> {
    Some((
        status_letter(status)?,
        day_number(starts_on),
        ends_on.map_or(0, day_number),
        rule,
    ))
}

impl Entry {
    /// The memberships of this entry as [`decide`](super::decide) reads them.
    pub fn memberships(&self, rules: &[RuleSet]) -> Vec<MembershipFacts> {
        self.3
            .iter()
            .filter_map(|(letter, from, until, rule)| {
                Some(MembershipFacts {
                    id: String::new(),
                    status: letter_status(*letter)?,
                    starts_on: from_day_number(*from),
                    ends_on: (*until != 0).then(|| from_day_number(*until)),
                    plan_name: String::new(),
                    rules: rules.get(*rule).map(RuleSet::rules).unwrap_or_default(),
                    unpaid_due_on: None,
                })
            })
            .collect()
    }

    /// True when the member is blocked.
    pub fn blocked(&self) -> bool {
        self.2 != 0
    }
}

/// Local time at the door from UTC and the allowlist's zone (UTC when the zone is unknown).
pub fn local_time(time_zone: &str, at: chrono::DateTime<chrono::Utc>) -> NaiveDateTime {
    match time_zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => at.with_timezone(&tz).naive_local(),
        Err(_) => at.naive_utc(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_to_facts() {
        let rules = vec![RuleSet {
            locations: vec!["loc_a".into()],
            windows: vec![],
            visits_per_week: Some(3),
        }];
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let group = membership_group(MembershipStatus::PastDue, start, None, 0).unwrap();
        let entry = Entry("h".into(), String::new(), 0, vec![group]);
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(json, r#"["h","",0,[["p",20454,0,0]]]"#);
        let back: Entry = serde_json::from_str(&json).unwrap();
        let facts = back.memberships(&rules);
        assert_eq!(facts[0].status, MembershipStatus::PastDue);
        assert_eq!(facts[0].starts_on, start);
        assert_eq!(facts[0].ends_on, None);
        assert_eq!(facts[0].rules.visits_per_week, Some(3));
        assert!(membership_group(MembershipStatus::Pending, start, None, 0).is_none());
    }

    #[test]
    fn hashes_are_salted_and_short() {
        let a = entry_hash("s1", "card", "123456789012");
        assert_eq!(a.len(), 16);
        assert_ne!(a, entry_hash("s2", "card", "123456789012"));
        assert_ne!(a, entry_hash("s1", "nfc", "123456789012"));
    }
}
