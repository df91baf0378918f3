//! Door access: the one decision function ([`decide`]) that the server runs for every online check and that a
//! door runs offline from its allowlist, the credential formats a door reads ([`credential`]), and the signed
//! allowlist a door keeps ([`allowlist`]).
//!
//! The decision is pure: everything it needs (the device, the credential's state, the member's memberships with
//! their access rules, presence and visits) comes in [`Facts`], so that every reason code is tested here without
//! a database, and the offline door decides exactly as the server would with the same facts.

pub mod allowlist;
pub mod credential;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::gym::membership::MembershipStatus;
use crate::gym::plan::{AccessRefused, AccessRules};

/// Which way someone goes through the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Entering the location.
    In,
    /// Leaving it.
    Out,
}

impl Direction {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Direction> {
        match name {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            _ => None,
        }
    }
}

/// Why a door refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No credential of the brand has this value.
    UnknownCredential,
    /// The credential was revoked or replaced (a lost card).
    RevokedCredential,
    /// A rotating QR code older than its window (or from the future).
    CredentialExpired,
    /// A rotating QR code that was already used.
    CredentialReplayed,
    /// A rotating QR code whose signature does not verify.
    CredentialForged,
    /// The member's profile is blocked by staff.
    MemberBlocked,
    /// No membership runs today.
    NoMembership,
    /// The membership is frozen.
    MembershipFrozen,
    /// Billing suspended the membership.
    MembershipSuspended,
    /// A payment is overdue.
    PaymentOverdue,
    /// Outside the plan's weekly windows.
    OutsideHours,
    /// The plan is not valid at this location.
    LocationNotIncluded,
    /// The plan's visits for this week are used.
    VisitLimitReached,
    /// Already inside: a second entry without an exit.
    AntiPassback,
    /// The device is not a door of a location.
    DeviceNotAllowed,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 15] = [
        Reason::UnknownCredential,
        Reason::RevokedCredential,
        Reason::CredentialExpired,
        Reason::CredentialReplayed,
        Reason::CredentialForged,
        Reason::MemberBlocked,
        Reason::NoMembership,
        Reason::MembershipFrozen,
        Reason::MembershipSuspended,
        Reason::PaymentOverdue,
        Reason::OutsideHours,
        Reason::LocationNotIncluded,
        Reason::VisitLimitReached,
        Reason::AntiPassback,
        Reason::DeviceNotAllowed,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::UnknownCredential => "unknown_credential",
            Reason::RevokedCredential => "revoked_credential",
            Reason::CredentialExpired => "credential_expired",
            Reason::CredentialReplayed => "credential_replayed",
            Reason::CredentialForged => "credential_forged",
            Reason::MemberBlocked => "member_blocked",
            Reason::NoMembership => "no_membership",
            Reason::MembershipFrozen => "membership_frozen",
            Reason::MembershipSuspended => "membership_suspended",
            Reason::PaymentOverdue => "payment_overdue",
            Reason::OutsideHours => "outside_hours",
            Reason::LocationNotIncluded => "location_not_included",
            Reason::VisitLimitReached => "visit_limit_reached",
            Reason::AntiPassback => "anti_passback",
            Reason::DeviceNotAllowed => "device_not_allowed",
        }
    }

    /// Parses a code.
    pub fn parse(code: &str) -> Option<Reason> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// What is known of the presented credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialState {
    /// Live.
    Active,
    /// Not known.
    Unknown,
    /// Revoked or replaced.
    Revoked,
    /// A rotating code out of its window.
    Expired,
    /// A rotating code used already.
    Replayed,
    /// A rotating code with a bad signature.
    Forged,
}

/// One membership of the member, as the decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipFacts {
    /// Its id (empty on an offline door, which does not know it).
    pub id: String,
    /// Status.
    pub status: MembershipStatus,
    /// First day.
    pub starts_on: NaiveDate,
    /// First day without it, if any.
    pub ends_on: Option<NaiveDate>,
    /// The plan's name, for the desk's screen.
    pub plan_name: String,
    /// The plan's access rules (copied at sale).
    pub rules: AccessRules,
    /// The due date of its oldest unpaid invoice, if any (an offline door does not know: `None`).
    pub unpaid_due_on: Option<NaiveDate>,
}

impl MembershipFacts {
    fn runs_on(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && self.ends_on.is_none_or(|end| day < end)
    }
}

/// Everything a decision reads.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The caller is an active door with a location.
    pub device_ok: bool,
    /// The door's location.
    pub location_id: &'a str,
    /// Local time at the location.
    pub local: NaiveDateTime,
    /// In or out.
    pub direction: Direction,
    /// The presented credential.
    pub credential: CredentialState,
    /// The member's profile is blocked.
    pub member_blocked: bool,
    /// The member's memberships (any status; the decision picks).
    pub memberships: &'a [MembershipFacts],
    /// The door refuses a second entry without an exit.
    pub anti_passback: bool,
    /// The member is inside this location now (an entry without an exit, not timed out).
    pub inside: bool,
    /// Local days of this week (Monday to Sunday) with an entry, today excluded.
    pub visit_days_this_week: u32,
    /// The member already entered today (a second entry the same day is the same visit).
    pub visited_today: bool,
    /// The last day the member's saved card is valid (the end of its expiry month), when they pay by card.
    pub card_valid_until: Option<NaiveDate>,
}

/// Something the desk should see, even when the door opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Warning {
    /// `membership_ending`, `last_visit_of_week`, `payment_due` (an invoice of the membership is unpaid past its
    /// due date, during the grace period), `card_expiring` (the saved card ends within the notice).
    pub code: String,
    /// The day it concerns, when there is one.
    #[schema(value_type = Option<String>, format = Date)]
    pub on: Option<NaiveDate>,
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `None` when the door opens.
    pub reason: Option<Reason>,
    /// Index in [`Facts::memberships`] of the membership that opened it (or that refused, when one did).
    pub membership: Option<usize>,
    /// For the desk's screen.
    pub warnings: Vec<Warning>,
}

impl Decision {
    /// True when the door opens.
    pub fn allowed(&self) -> bool {
        self.reason.is_none()
    }

    fn deny(reason: Reason, membership: Option<usize>) -> Decision {
        Decision {
            reason: Some(reason),
            membership,
            warnings: Vec::new(),
        }
    }
}

/// Days before a membership's end from which the desk is warned.
pub const ENDING_WARNING_DAYS: i64 = 14;

/// A saved card ending within this many days is shown to the desk.
pub const CARD_WARNING_DAYS: i64 = 30;

/// Order in which a member's memberships are tried: running ones that can open first, then those refused by
/// billing, then frozen ones; so that the refusal shown is the most useful one.
fn rank(status: MembershipStatus) -> Option<u8> {
    match status {
        MembershipStatus::Active => Some(0),
        MembershipStatus::PastDue => Some(1),
        MembershipStatus::Suspended => Some(2),
        MembershipStatus::Frozen => Some(3),
        MembershipStatus::Pending | MembershipStatus::Cancelled | MembershipStatus::Ended => None,
    }
}

/// The door decision. Order of checks: the device, the credential, the member, then (entries only) each running
/// membership's status, place, hours and weekly visits, and last anti-passback. Exits open for any live credential
/// of a member who is not blocked: nobody is kept inside.
pub fn decide(f: &Facts<'_>) -> Decision {
    if !f.device_ok {
        return Decision::deny(Reason::DeviceNotAllowed, None);
    }
    let credential_refusal = match f.credential {
        CredentialState::Active => None,
        CredentialState::Unknown => Some(Reason::UnknownCredential),
        CredentialState::Revoked => Some(Reason::RevokedCredential),
        CredentialState::Expired => Some(Reason::CredentialExpired),
        CredentialState::Replayed => Some(Reason::CredentialReplayed),
        CredentialState::Forged => Some(Reason::CredentialForged),
    };
    if let Some(reason) = credential_refusal {
        return Decision::deny(reason, None);
    }
    if f.member_blocked {
        return Decision::deny(Reason::MemberBlocked, None);
    }
    if f.direction == Direction::Out {
        return Decision {
            reason: None,
            membership: None,
            warnings: Vec::new(),
        };
    }
    let today = f.local.date();
    let mut candidates: Vec<(u8, usize)> = f
        .memberships
        .iter()
        .enumerate()
        .filter(|(_, m)| m.runs_on(today))
        .filter_map(|(i, m)| rank(m.status).map(|r| (r, i)))
        .collect();
    candidates.sort();
    let mut first_refusal: Option<(Reason, usize)> = None;
    let mut chosen = None;
    for (_, i) in candidates {
        let m = &f.memberships[i];
        let refusal = match m.status {
            MembershipStatus::PastDue => Some(Reason::PaymentOverdue),
            MembershipStatus::Suspended => Some(Reason::MembershipSuspended),
            MembershipStatus::Frozen => Some(Reason::MembershipFrozen),
            _ => match m.rules.admits(Some(f.location_id), f.local) {
                Err(AccessRefused::LocationNotIncluded) => Some(Reason::LocationNotIncluded),
                Err(_) => Some(Reason::OutsideHours),
                Ok(()) => match m.rules.visits_per_week {
                    Some(limit) if !f.visited_today && f.visit_days_this_week >= limit => {
                        Some(Reason::VisitLimitReached)
                    }
                    _ => None,
                },
            },
        };
        match refusal {
            Some(reason) => {
                first_refusal.get_or_insert((reason, i));
            }
            None => {
                chosen = Some(i);
                break;
            }
        }
    }
    let Some(i) = chosen else {
        return match first_refusal {
            Some((reason, i)) => Decision::deny(reason, Some(i)),
            None => Decision::deny(Reason::NoMembership, None),
        };
    };
    if f.anti_passback && f.inside {
        return Decision::deny(Reason::AntiPassback, Some(i));
    }
    let m = &f.memberships[i];
    let mut warnings = Vec::new();
    if let Some(end) = m.ends_on {
        if (end - today).num_days() <= ENDING_WARNING_DAYS {
            warnings.push(Warning {
                code: "membership_ending".into(),
                on: Some(end),
            });
        }
    }
    if let Some(limit) = m.rules.visits_per_week {
        if !f.visited_today && f.visit_days_this_week + 1 == limit {
            warnings.push(Warning {
                code: "last_visit_of_week".into(),
                on: None,
            });
        }
    }
    if let Some(due) = m.unpaid_due_on.filter(|due| *due <= today) {
        warnings.push(Warning {
            code: "payment_due".into(),
            on: Some(due),
        });
    }
    if let Some(until) = f.card_valid_until {
        if (until - today).num_days() <= CARD_WARNING_DAYS {
            warnings.push(Warning {
                code: "card_expiring".into(),
                on: Some(until),
            });
        }
    }
    Decision {
        reason: None,
        membership: Some(i),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gym::plan::AccessWindow;
    use chrono::{NaiveTime, Weekday};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Thursday 26 November 2026 at `h`:00.
    fn thursday(h: u32) -> NaiveDateTime {
        day(2026, 11, 26).and_hms_opt(h, 0, 0).unwrap()
    }

    fn membership(status: MembershipStatus) -> MembershipFacts {
        MembershipFacts {
            id: format!("mem_{}", status.as_str()),
            status,
            starts_on: day(2026, 1, 1),
            ends_on: None,
            plan_name: "Monthly".into(),
            rules: AccessRules::default(),
            unpaid_due_on: None,
        }
    }

    fn facts(memberships: &[MembershipFacts]) -> Facts<'_> {
        Facts {
            device_ok: true,
            location_id: "loc_a",
            local: thursday(10),
            direction: Direction::In,
            credential: CredentialState::Active,
            member_blocked: false,
            memberships,
            anti_passback: true,
            inside: false,
            visit_days_this_week: 0,
            visited_today: false,
            card_valid_until: None,
        }
    }

    fn off_peak() -> AccessRules {
        AccessRules {
            locations: vec!["loc_a".into()],
            windows: vec![AccessWindow {
                days: vec![Weekday::Mon, Weekday::Thu],
                from: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                until: NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
            }],
            visits_per_week: Some(2),
            ..AccessRules::default()
        }
    }

    #[test]
    fn an_active_membership_opens() {
        let ms = [membership(MembershipStatus::Active)];
        let d = decide(&facts(&ms));
        assert!(d.allowed());
        assert_eq!(d.membership, Some(0));
        assert!(d.warnings.is_empty());
    }

    #[test]
    fn every_reason_code() {
        let active = [membership(MembershipStatus::Active)];
        let mut cases: Vec<(Reason, Decision)> = Vec::new();
        let mut f = facts(&active);
        f.device_ok = false;
        cases.push((Reason::DeviceNotAllowed, decide(&f)));
        for (state, reason) in [
            (CredentialState::Unknown, Reason::UnknownCredential),
            (CredentialState::Revoked, Reason::RevokedCredential),
            (CredentialState::Expired, Reason::CredentialExpired),
            (CredentialState::Replayed, Reason::CredentialReplayed),
            (CredentialState::Forged, Reason::CredentialForged),
        ] {
            let mut f = facts(&active);
            f.credential = state;
            cases.push((reason, decide(&f)));
        }
        let mut f = facts(&active);
        f.member_blocked = true;
        cases.push((Reason::MemberBlocked, decide(&f)));
        cases.push((Reason::NoMembership, decide(&facts(&[]))));
        for (status, reason) in [
            (MembershipStatus::Frozen, Reason::MembershipFrozen),
            (MembershipStatus::Suspended, Reason::MembershipSuspended),
            (MembershipStatus::PastDue, Reason::PaymentOverdue),
        ] {
            let ms = [membership(status)];
            cases.push((reason, decide(&facts(&ms))));
        }
        let mut limited = membership(MembershipStatus::Active);
        limited.rules = off_peak();
        let ms = [limited];
        let mut f = facts(&ms);
        f.local = thursday(17);
        cases.push((Reason::OutsideHours, decide(&f)));
        let mut f = facts(&ms);
        f.location_id = "loc_b";
        cases.push((Reason::LocationNotIncluded, decide(&f)));
        let mut f = facts(&ms);
        f.visit_days_this_week = 2;
        cases.push((Reason::VisitLimitReached, decide(&f)));
        let mut f = facts(&active);
        f.inside = true;
        cases.push((Reason::AntiPassback, decide(&f)));
        for (expected, decision) in &cases {
            assert_eq!(decision.reason, Some(*expected), "{expected:?}");
        }
        let mut seen: Vec<Reason> = cases.iter().map(|(r, _)| *r).collect();
        seen.sort_by_key(|r| r.code());
        seen.dedup();
        assert_eq!(seen.len(), Reason::ALL.len(), "every reason is produced");
    }

    #[test]
    fn pending_cancelled_and_not_yet_started_memberships_do_not_count() {
        let mut later = membership(MembershipStatus::Active);
        later.starts_on = day(2026, 12, 1);
        let mut over = membership(MembershipStatus::Active);
        over.ends_on = Some(day(2026, 11, 26));
        let ms = [
            membership(MembershipStatus::Pending),
            membership(MembershipStatus::Cancelled),
            membership(MembershipStatus::Ended),
            later,
            over,
        ];
        assert_eq!(decide(&facts(&ms)).reason, Some(Reason::NoMembership));
    }

    #[test]
    fn a_running_membership_wins_over_a_refused_one() {
        let ms = [
            membership(MembershipStatus::Suspended),
            membership(MembershipStatus::Active),
        ];
        let d = decide(&facts(&ms));
        assert_eq!((d.reason, d.membership), (None, Some(1)));
        // Billing's refusals come before a freeze's.
        let ms = [
            membership(MembershipStatus::Frozen),
            membership(MembershipStatus::PastDue),
        ];
        let d = decide(&facts(&ms));
        assert_eq!(
            (d.reason, d.membership),
            (Some(Reason::PaymentOverdue), Some(1))
        );
    }

    #[test]
    fn exits_open_for_members_without_membership_but_not_for_unknown_cards() {
        let mut f = facts(&[]);
        f.direction = Direction::Out;
        f.inside = false;
        assert!(decide(&f).allowed());
        f.credential = CredentialState::Unknown;
        assert_eq!(decide(&f).reason, Some(Reason::UnknownCredential));
    }

    #[test]
    fn a_second_entry_the_same_day_is_the_same_visit() {
        let mut limited = membership(MembershipStatus::Active);
        limited.rules = off_peak();
        let ms = [limited];
        let mut f = facts(&ms);
        f.visit_days_this_week = 2;
        f.visited_today = true;
        assert!(decide(&f).allowed());
        f.visited_today = false;
        f.visit_days_this_week = 1;
        let d = decide(&f);
        assert!(d.allowed());
        assert_eq!(d.warnings[0].code, "last_visit_of_week");
    }

    #[test]
    fn the_desk_is_warned_of_an_ending_membership() {
        let mut ending = membership(MembershipStatus::Active);
        ending.ends_on = Some(day(2026, 12, 5));
        let ms = [ending];
        let d = decide(&facts(&ms));
        assert!(d.allowed());
        assert_eq!(
            d.warnings,
            [Warning {
                code: "membership_ending".into(),
                on: Some(day(2026, 12, 5))
            }]
        );
    }

    #[test]
    fn anti_passback_only_when_the_door_enforces_it() {
        let ms = [membership(MembershipStatus::Active)];
        let mut f = facts(&ms);
        f.inside = true;
        f.anti_passback = false;
        assert!(decide(&f).allowed());
    }

    #[test]
    fn reason_codes_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.code()), Some(r));
        }
    }

    #[test]
    fn an_invoice_unpaid_past_its_due_date_and_a_card_ending_soon_warn_the_desk() {
        let codes = |d: Decision| {
            assert!(d.allowed());
            d.warnings
                .into_iter()
                .map(|w| (w.code, w.on))
                .collect::<Vec<_>>()
        };
        let mut m = membership(MembershipStatus::Active);
        m.unpaid_due_on = Some(day(2026, 11, 27));
        let not_yet = [m.clone()];
        assert_eq!(
            codes(decide(&facts(&not_yet))),
            [],
            "due tomorrow: nothing yet"
        );
        m.unpaid_due_on = Some(day(2026, 11, 26));
        let due = [m];
        let mut f = facts(&due);
        f.card_valid_until = Some(day(2026, 12, 31));
        assert_eq!(
            codes(decide(&f)),
            [("payment_due".to_owned(), Some(day(2026, 11, 26)))],
            "a card valid 35 more days is not shown"
        );
        f.card_valid_until = Some(day(2026, 11, 30));
        assert_eq!(
            codes(decide(&f)),
            [
                ("payment_due".to_owned(), Some(day(2026, 11, 26))),
                ("card_expiring".to_owned(), Some(day(2026, 11, 30)))
            ]
        );
    }
}
