//! The facts of door decisions, gathered for several checks at once in a few statements whatever their number
//! (one read per kind of fact, not one per check), then decided in order: a check sees the checks before it in
//! the same group as if they were already recorded (an entry makes its member inside, a rotating code once seen
//! is used). A lone check (an offline upload's entry, a dry run) is a group of one. Online checks also see the
//! decisions answered but not yet written ([`Unwritten`], see [`super::desk`]) the same way.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use tessera_domain::access::credential::{parse_public_key, verify_rotating, within_window};
use tessera_domain::access::{
    decide, CredentialState, Decision, Direction, Facts, MembershipFacts,
};
use tessera_domain::gym::membership::MembershipStatus;
use tessera_store::models::access as store;
use tessera_store::models::devices::DeviceRow;
use tessera_store::Scoped;

use super::door_view::{DoorCredential, DoorMembership, DoorProfile};
use super::memory::Known;
use super::{Presented, PRESENCE_TIMEOUT_HOURS};
use crate::{naive, AppError, AppResult};

/// One check to decide: who read what, where, when.
pub(crate) struct Ask<'a> {
    /// The door that read it.
    pub device: &'a DeviceRow,
    /// What it read.
    pub presented: &'a Presented,
    /// In or out.
    pub direction: Direction,
    /// When.
    pub at: DateTime<Utc>,
}

/// Decisions answered and not yet written, oldest first: a decision sees them as if they were recorded. Applied
/// over what the database holds, in order, they give the same state whether or not some were written between
/// the moment they were taken and the reads (each sets presence or marks a code used; entries count by day).
#[derive(Debug, Default)]
pub(crate) struct Unwritten {
    /// Rotating codes used (credential, issue time).
    pub used: Vec<(String, i64)>,
    /// Passages (location, member, entered at): `None` for an exit.
    pub passages: Vec<(String, String, Option<NaiveDateTime>)>,
}

/// Everything gathered for one decision.
pub(crate) struct Gathered {
    pub credential: Option<Arc<DoorCredential>>,
    pub state: CredentialState,
    pub profile: Option<Arc<DoorProfile>>,
    pub memberships: Vec<MembershipFacts>,
    /// The member was inside the door's location when decided (earlier checks of the group included).
    pub inside: bool,
    pub decision: Decision,
    pub location_id: Option<String>,
}

/// Gathers the facts of one check and decides.
pub(crate) fn gather(
    s: &mut Scoped<'_>,
    device: &DeviceRow,
    presented: &Presented,
    direction: Direction,
    at: DateTime<Utc>,
    check_replay: bool,
) -> AppResult<Gathered> {
    let ask = Ask {
        device,
        presented,
        direction,
        at,
    };
    gather_many(s, &Known::Database, &[ask], check_replay, || {
        Ok(Unwritten::default())
    })?
    .pop()
    .ok_or_else(|| AppError::Internal("a check was not decided".into()))
}

/// The location's time zone (UTC when unknown).
pub(crate) fn location_tz(s: &mut Scoped<'_>, location_id: Option<&str>) -> AppResult<Tz> {
    let Some(id) = location_id else {
        return Ok(chrono_tz::UTC);
    };
    Ok(time_zones(s, &Known::Database, &[id.to_owned()])?
        .remove(id)
        .unwrap_or(chrono_tz::UTC))
}

fn time_zones(
    s: &mut Scoped<'_>,
    known: &Known,
    location_ids: &[String],
) -> AppResult<HashMap<String, Tz>> {
    Ok(known
        .locations(s, location_ids)?
        .into_iter()
        .map(|l| {
            let tz = l.time_zone.parse().unwrap_or(chrono_tz::UTC);
            (l.id, tz)
        })
        .collect())
}

/// What the group's checks read, looked up by what they presented.
struct Credentials {
    cards: HashMap<String, Arc<DoorCredential>>,
    nfc: HashMap<String, Arc<DoorCredential>>,
    apps: HashMap<String, Arc<DoorCredential>>,
}

impl Credentials {
    fn read(s: &mut Scoped<'_>, known: &Known, asks: &[Ask<'_>]) -> AppResult<Credentials> {
        let (mut cards, mut nfc, mut apps) = (Vec::new(), Vec::new(), Vec::new());
        for ask in asks {
            match ask.presented {
                Presented::Card(n) => cards.push(n.clone()),
                Presented::Nfc(uid) => nfc.push(uid.clone()),
                Presented::Rotating(code) => apps.push(code.credential_id.clone()),
            }
        }
        let by_value = |rows: Vec<Arc<DoorCredential>>| -> HashMap<String, Arc<DoorCredential>> {
            rows.into_iter().map(|c| (c.value.clone(), c)).collect()
        };
        Ok(Credentials {
            cards: if cards.is_empty() {
                HashMap::new()
            } else {
                by_value(known.credentials_by_values(s, "card", &cards)?)
            },
            nfc: if nfc.is_empty() {
                HashMap::new()
            } else {
                by_value(known.credentials_by_values(s, "nfc", &nfc)?)
            },
            apps: if apps.is_empty() {
                HashMap::new()
            } else {
                known
                    .credentials(s, &apps)?
                    .into_iter()
                    .filter(|c| c.kind == "app")
                    .map(|c| (c.id.clone(), c))
                    .collect()
            },
        })
    }

    /// The state of a presented credential (a rotating code's reuse aside), and its row.
    fn resolve(
        &self,
        realm: &str,
        presented: &Presented,
        at: DateTime<Utc>,
    ) -> (CredentialState, Option<Arc<DoorCredential>>) {
        let row = match presented {
            Presented::Card(n) => self.cards.get(n),
            Presented::Nfc(uid) => self.nfc.get(uid),
            Presented::Rotating(code) => self.apps.get(&code.credential_id),
        };
        let Some(row) = row.cloned() else {
            return (CredentialState::Unknown, None);
        };
        let state = match presented {
            Presented::Rotating(code) => {
                let verified = parse_public_key(&row.value)
                    .is_ok_and(|key| verify_rotating(code, realm, &key));
                if !verified {
                    CredentialState::Forged
                } else if !row.active {
                    CredentialState::Revoked
                } else if !within_window(code, at.timestamp()) {
                    CredentialState::Expired
                } else {
                    CredentialState::Active
                }
            }
            _ if row.active => CredentialState::Active,
            _ => CredentialState::Revoked,
        };
        (state, Some(row))
    }
}

/// The Monday of `at`'s local week.
fn monday_of(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let today = at.with_timezone(&tz).date_naive();
    today - Duration::days(i64::from(today.weekday().num_days_from_monday()))
}

/// Local days with an entry this week (today excluded) and whether there was one today, from the member's entries.
fn visits(entries: &[NaiveDateTime], tz: Tz, at: DateTime<Utc>) -> (u32, bool) {
    let today = at.with_timezone(&tz).date_naive();
    let monday = monday_of(at, tz);
    let until = naive(at) + Duration::seconds(1);
    let mut days: Vec<NaiveDate> = entries
        .iter()
        .filter(|t| **t < until)
        .map(|t| t.and_utc().with_timezone(&tz).date_naive())
        .filter(|d| *d >= monday && *d <= today)
        .collect();
    days.sort();
    days.dedup();
    let visited_today = days.last() == Some(&today);
    let before = u32::try_from(days.iter().filter(|d| **d < today).count()).unwrap_or(u32::MAX);
    (before, visited_today)
}

/// What billing tells the desk: each running membership's oldest unpaid due date, and the last day of each
/// member's saved card.
struct BillingFacts {
    unpaid_due_on: HashMap<String, NaiveDate>,
    card_valid_until: HashMap<String, NaiveDate>,
}

impl BillingFacts {
    fn read(
        s: &mut Scoped<'_>,
        known: &Known,
        memberships_of: &HashMap<String, Vec<Arc<DoorMembership>>>,
    ) -> AppResult<BillingFacts> {
        // Only a membership that may open the door can warn; the others refuse anyway.
        let running: Vec<String> = memberships_of
            .values()
            .flatten()
            .filter(|m| {
                matches!(
                    m.facts.status,
                    MembershipStatus::Active | MembershipStatus::PastDue
                )
            })
            .map(|m| m.facts.id.clone())
            .collect();
        let mut unpaid_due_on: HashMap<String, NaiveDate> = HashMap::new();
        if !running.is_empty() {
            for invoice in known.open_invoices(s, &running)? {
                if let Some(due) = invoice.due_on {
                    let oldest = unpaid_due_on
                        .entry(invoice.membership_id.clone())
                        .or_insert(due);
                    *oldest = (*oldest).min(due);
                }
            }
        }
        let holders: Vec<String> = memberships_of
            .iter()
            .filter(|(_, ms)| !ms.is_empty())
            .map(|(member, _)| member.clone())
            .collect();
        let mut card_valid_until = HashMap::new();
        if !holders.is_empty() {
            for card in known.saved_cards(s, &holders)? {
                card_valid_until.insert(card.account_id, card.valid_until);
            }
        }
        Ok(BillingFacts {
            unpaid_due_on,
            card_valid_until,
        })
    }
}

/// Gathers the facts of `asks` and decides each, in order (see the module's documentation). `check_replay`
/// refuses a rotating code used before (online checks and uploads; not a dry run's second look); `unwritten`
/// gives the decisions answered but not yet recorded, once every fact is read; `known` is where the seldom-changing
/// facts are found ([`super::memory`]).
pub(crate) fn gather_many(
    s: &mut Scoped<'_>,
    known: &Known,
    asks: &[Ask<'_>],
    check_replay: bool,
    unwritten: impl FnOnce() -> AppResult<Unwritten>,
) -> AppResult<Vec<Gathered>> {
    if asks.is_empty() {
        return Ok(Vec::new());
    }
    let realm = s.realm_key().to_owned();
    let mut location_ids: Vec<String> = asks
        .iter()
        .filter_map(|a| a.device.location_id.clone())
        .collect();
    location_ids.sort();
    location_ids.dedup();
    let zones = if location_ids.is_empty() {
        HashMap::new()
    } else {
        time_zones(s, known, &location_ids)?
    };
    let zone = |location: Option<&String>| {
        location
            .and_then(|l| zones.get(l))
            .copied()
            .unwrap_or(chrono_tz::UTC)
    };
    let credentials = Credentials::read(s, known, asks)?;
    let resolved: Vec<(CredentialState, Option<Arc<DoorCredential>>)> = asks
        .iter()
        .map(|a| credentials.resolve(&realm, a.presented, a.at))
        .collect();

    // Codes used before this group.
    let codes: Vec<(String, i64)> = asks
        .iter()
        .zip(&resolved)
        .filter_map(|(a, (state, _))| match a.presented {
            Presented::Rotating(code) if *state == CredentialState::Active => {
                Some((code.credential_id.clone(), code.issued_at))
            }
            _ => None,
        })
        .collect();
    let mut used: HashSet<(String, i64)> = if check_replay && !codes.is_empty() {
        store::qr_used_of(s, &codes)?.into_iter().collect()
    } else {
        HashSet::new()
    };

    // The members, and what matters for those whose credential opens.
    let mut member_ids: Vec<String> = resolved
        .iter()
        .filter_map(|(_, c)| c.as_ref().map(|c| c.member_id.clone()))
        .collect();
    member_ids.sort();
    member_ids.dedup();
    let profiles: HashMap<String, Arc<DoorProfile>> = if member_ids.is_empty() {
        HashMap::new()
    } else {
        known
            .profiles(s, &member_ids)?
            .into_iter()
            .map(|p| (p.account_id.clone(), p))
            .collect()
    };
    // Credentials that are live at the first look: replay is decided below, in order.
    let mut live: Vec<(String, Option<String>)> = resolved
        .iter()
        .zip(asks)
        .filter_map(|((state, c), a)| match (state, c) {
            (CredentialState::Active, Some(c)) => {
                Some((c.member_id.clone(), a.device.location_id.clone()))
            }
            _ => None,
        })
        .collect();
    live.sort();
    live.dedup();
    let mut live_members: Vec<String> = live.iter().map(|(m, _)| m.clone()).collect();
    live_members.dedup();

    let mut memberships_of: HashMap<String, Vec<Arc<DoorMembership>>> = HashMap::new();
    let mut facts_by_member: HashMap<String, Vec<MembershipFacts>> = HashMap::new();
    let mut presence: HashMap<(String, String), NaiveDateTime> = HashMap::new();
    let mut entries: HashMap<String, Vec<NaiveDateTime>> = HashMap::new();
    if !live_members.is_empty() {
        for m in known.memberships(s, &live_members)? {
            memberships_of
                .entry(m.account_id.clone())
                .or_default()
                .push(m);
        }
        facts_by_member = memberships_of
            .iter()
            .map(|(member, held)| {
                let facts = held.iter().map(|m| m.facts.clone()).collect();
                (member.clone(), facts)
            })
            .collect();
        for location in &location_ids {
            let here: Vec<String> = live
                .iter()
                .filter(|(_, l)| l.as_ref() == Some(location))
                .map(|(m, _)| m.clone())
                .collect();
            if here.is_empty() {
                continue;
            }
            for p in store::presence_of(s, location, &here)? {
                presence.insert((p.location_id, p.member_id), p.entered_at);
            }
        }
        // This week's entries, from the earliest local Monday of the group (a day's start can shift by the
        // zone's offset: a day's margin, then each check filters by its own local dates).
        let from = asks
            .iter()
            .map(|a| monday_of(a.at, zone(a.device.location_id.as_ref())))
            .min()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default()
            - Duration::days(1);
        let until =
            asks.iter().map(|a| naive(a.at)).max().unwrap_or_default() + Duration::seconds(1);
        // Entries count only against a weekly visit limit (see `decide`): members whose memberships have none,
        // as most plans do, need not have theirs read.
        let counted: Vec<String> = live_members
            .iter()
            .filter(|m| {
                facts_by_member
                    .get(*m)
                    .is_some_and(|facts| facts.iter().any(|f| f.rules.visits_per_week.is_some()))
            })
            .cloned()
            .collect();
        if !counted.is_empty() {
            for (member, at) in store::entries_of(s, &counted, from, until)? {
                entries.entry(member).or_default().push(at);
            }
        }
    }
    // Reads nothing when no live member holds a membership.
    let billing = BillingFacts::read(s, known, &memberships_of)?;
    // Only now, every read done: the decisions made meanwhile by other groups are in it (see super::desk).
    let unwritten = unwritten()?;
    if check_replay {
        used.extend(unwritten.used.iter().cloned());
    }
    for (location, member, entered) in &unwritten.passages {
        let key = (location.clone(), member.clone());
        match entered {
            Some(at) => {
                entries.entry(member.clone()).or_default().push(*at);
                presence.insert(key, *at);
            }
            None => {
                presence.remove(&key);
            }
        }
    }

    let mut out = Vec::with_capacity(asks.len());
    for (ask, (state, credential)) in asks.iter().zip(resolved) {
        let location_id = ask.device.location_id.clone();
        let tz = zone(location_id.as_ref());
        let code = match ask.presented {
            Presented::Rotating(code) => Some((code.credential_id.clone(), code.issued_at)),
            _ => None,
        };
        let state = match &code {
            Some(code) if state == CredentialState::Active && used.contains(code) => {
                CredentialState::Replayed
            }
            _ => state,
        };
        let member = credential.as_ref().map(|c| c.member_id.clone());
        let profile = member.as_ref().and_then(|m| profiles.get(m).cloned());
        let live_member = member.as_ref().filter(|_| state == CredentialState::Active);
        let mut membership_facts = live_member
            .and_then(|m| facts_by_member.get(m))
            .cloned()
            .unwrap_or_default();
        for m in &mut membership_facts {
            m.unpaid_due_on = billing.unpaid_due_on.get(&m.id).copied();
        }
        let card_valid_until = live_member
            .filter(|_| !membership_facts.is_empty())
            .and_then(|m| billing.card_valid_until.get(m).copied());
        let key = live_member
            .zip(location_id.as_ref())
            .map(|(m, l)| (l.clone(), m.clone()));
        let timeout = ask.at - Duration::hours(PRESENCE_TIMEOUT_HOURS);
        let inside = key
            .as_ref()
            .and_then(|k| presence.get(k))
            .is_some_and(|entered| tessera_store::utc(*entered) > timeout);
        let (visit_days, visited_today) = live_member
            .map(|m| visits(entries.get(m).map_or(&[][..], Vec::as_slice), tz, ask.at))
            .unwrap_or((0, false));
        let facts = Facts {
            device_ok: ask.device.kind == "door"
                && ask.device.status == "active"
                && location_id.is_some(),
            location_id: location_id.as_deref().unwrap_or_default(),
            local: ask.at.with_timezone(&tz).naive_local(),
            direction: ask.direction,
            credential: state,
            member_blocked: profile.as_ref().is_some_and(|p| p.blocked),
            memberships: &membership_facts,
            anti_passback: ask.device.anti_passback,
            inside,
            visit_days_this_week: visit_days,
            visited_today,
            card_valid_until,
        };
        let decision = decide(&facts);
        // What the next checks of the group see, as if this one were recorded already.
        if let (Some(code), CredentialState::Active) = (code, state) {
            used.insert(code);
        }
        if let (true, Some(key)) = (decision.allowed(), key) {
            match ask.direction {
                Direction::In => {
                    entries
                        .entry(key.1.clone())
                        .or_default()
                        .push(naive(ask.at));
                    presence.insert(key, naive(ask.at));
                }
                Direction::Out => {
                    presence.remove(&key);
                }
            }
        }
        out.push(Gathered {
            credential,
            state,
            profile,
            memberships: membership_facts,
            inside,
            decision,
            location_id,
        });
    }
    Ok(out)
}
