//! What a decided online check writes ([`Record`]: its log row, its rotating code's use, its member's passage,
//! its door's last-seen time, its live event), and writing a run of records in one transaction of a few
//! statements whatever their number ([`write`]; plus one per member who went out and came back in during the run,
//! and in a careful run one per member let in).
//!
//! A record is written after its door has been answered (see [`super::desk`]), so a write never changes a
//! decision: what another process recorded meanwhile (the same rotating code used at a door it serves, the same
//! member let in there) is found when the keys of the used-code and presence rows refuse the run, and the run is
//! written again in the careful way ([`Care::Careful`]): the entry is stored and **flagged for staff** with the
//! reason the server would have refused it, as an offline door's entry is (docs/devices.md).
//!
//! A careful run reads what was recorded meanwhile, but on PostgreSQL it cannot read what another process is still
//! writing. So what it found unopposed (a code not used, a member outside at an anti-passback door) it still writes
//! under the keys: should that other write commit, the run is refused again and read again, and the entry is
//! flagged then, never silently merged into the other's.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDateTime};
use tessera_domain::access::Reason;
use tessera_store::models::access::{self as store, AccessEventRow, PresenceRow, QrUse};
use tessera_store::{Scoped, StoreError};

use super::{concurrent, LAST_SEEN_EVERY_SECS};
use crate::events::NewEvent;
use crate::{AppError, AppResult, Ctx};

/// A record the database refuses for its data (a reference it breaks): writing it again cannot succeed.
fn refused(e: StoreError) -> AppError {
    if e.is_refused_data() {
        AppError::Conflict {
            code: "door_record_refused",
            detail: e.to_string(),
        }
    } else {
        e.into()
    }
}

/// True for [`refused`]'s error.
pub(crate) fn is_refused(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Conflict {
            code: "door_record_refused",
            ..
        }
    )
}

/// How a check moved its member's presence at its door's location.
#[derive(Debug, Clone)]
pub(crate) struct Passage {
    pub location_id: String,
    pub member_id: String,
    /// Came in (when, through which door), or `None`: went out.
    pub entered: Option<(NaiveDateTime, String)>,
    /// Inside when decided.
    pub was_inside: bool,
    /// A presence older than this had timed out when decided.
    pub timed_out_before: NaiveDateTime,
    /// The door refuses a member already inside: a concurrent entry elsewhere is flagged.
    pub anti_passback: bool,
}

/// What one decided online check writes.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The check-in or refusal.
    pub event: AccessEventRow,
    /// The rotating code it used up.
    pub qr_use: Option<QrUse>,
    /// Its allowed passage.
    pub passage: Option<Passage>,
    /// Its door and the door's last-seen time as read.
    pub device: (String, Option<NaiveDateTime>),
    /// Its live event.
    pub published: NewEvent,
}

/// How a run is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Care {
    /// The keys of used codes and presences refuse the run when another process recorded the same meanwhile.
    Plain,
    /// Reads first what another process recorded meanwhile, flags the entries it contradicts, and writes so that
    /// no key refuses.
    Careful,
}

/// Writes `records` (in decision order) and publishes their live events, in the caller's transaction.
pub(crate) fn write(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    records: &[&Record],
    care: Care,
) -> AppResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let mut events: Vec<AccessEventRow> = records.iter().map(|r| r.event.clone()).collect();
    let mut published: Vec<NewEvent> = records.iter().map(|r| r.published.clone()).collect();
    let mut uses: Vec<QrUse> = records.iter().filter_map(|r| r.qr_use.clone()).collect();
    let mut flagged = HashSet::new();
    if care == Care::Careful {
        let flags = contradicted(s, records)?;
        flagged.extend(flags.iter().map(|(i, _)| *i));
        let skipped: HashSet<(String, i64)> = flags
            .iter()
            .filter(|(_, reason)| *reason == Reason::CredentialReplayed)
            .filter_map(|(i, _)| records[*i].qr_use.as_ref())
            .map(|u| (u.credential_id.clone(), u.issued_at))
            .collect();
        uses.retain(|u| !skipped.contains(&(u.credential_id.clone(), u.issued_at)));
        for (i, reason) in flags {
            flag(&mut events[i], &mut published[i], reason);
            published.push(flagged_event(&events[i], reason));
        }
    }
    store::insert_events(s, &events).map_err(refused)?;
    store::use_qr_many(s, &uses).map_err(concurrent())?;
    move_presence(s, records, care, &flagged)?;
    touch_devices(s, records)?;
    let now = records
        .iter()
        .map(|r| r.event.recorded_at)
        .max()
        .unwrap_or_default()
        .and_utc();
    crate::events::publish_many(s, ctx, published, now)?;
    Ok(())
}

/// The records (by index) that what another process recorded meanwhile contradicts, with the reason the server
/// would have refused them: their rotating code used at another door, or (where the door enforces anti-passback)
/// their member let in elsewhere after this record's decision read them outside.
fn contradicted(s: &mut Scoped<'_>, records: &[&Record]) -> AppResult<Vec<(usize, Reason)>> {
    let codes: Vec<(String, i64)> = records
        .iter()
        .filter_map(|r| r.qr_use.as_ref())
        .map(|u| (u.credential_id.clone(), u.issued_at))
        .collect();
    let used: HashSet<(String, i64)> = if codes.is_empty() {
        HashSet::new()
    } else {
        store::qr_used_of(s, &codes)?.into_iter().collect()
    };
    let mut arriving: HashMap<&str, Vec<String>> = HashMap::new();
    for p in records.iter().filter_map(|r| r.passage.as_ref()) {
        if p.entered.is_some() && !p.was_inside {
            arriving
                .entry(p.location_id.as_str())
                .or_default()
                .push(p.member_id.clone());
        }
    }
    let mut present: HashMap<(String, String), NaiveDateTime> = HashMap::new();
    for (location, members) in arriving {
        for row in store::presence_of(s, location, &members)? {
            present.insert((row.location_id, row.member_id), row.entered_at);
        }
    }
    let exits_before = exits_before(records);
    let mut flags = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let replayed = record
            .qr_use
            .as_ref()
            .is_some_and(|u| used.contains(&(u.credential_id.clone(), u.issued_at)));
        let passed_back = record.passage.as_ref().is_some_and(|p| {
            p.anti_passback
                && p.entered.is_some()
                && !p.was_inside
                && present
                    .get(&(p.location_id.clone(), p.member_id.clone()))
                    .is_some_and(|entered| {
                        *entered > p.timed_out_before
                            && exits_before[i].is_none_or(|left| *entered > left)
                    })
        });
        if replayed {
            flags.push((i, Reason::CredentialReplayed));
        } else if passed_back {
            flags.push((i, Reason::AntiPassback));
        }
    }
    Ok(flags)
}

fn flag(event: &mut AccessEventRow, published: &mut NewEvent, reason: Reason) {
    event.flagged = true;
    event.flag_reason = Some(reason.code().to_owned());
    if let Some(data) = published.data.as_object_mut() {
        data.insert("flagged".into(), true.into());
        data.insert("flag_reason".into(), reason.code().into());
    }
}

fn flagged_event(event: &AccessEventRow, reason: Reason) -> NewEvent {
    NewEvent {
        type_name: "access.flagged",
        subject: event.member_id.clone(),
        data: serde_json::json!({ "event_id": event.id, "device_id": event.device_id,
            "location_id": event.location_id, "member_id": event.member_id,
            "reason": reason.code(), "occurred_at": event.occurred_at.and_utc() }),
        request_id: None,
    }
}

/// What a run's passages did to one member's presence at one location.
struct Movement<'r> {
    /// Their first passage: it tells whether what the database holds for them is theirs.
    first: &'r Passage,
    /// Their last passage: it decides whether they end the run inside, and since when.
    last: &'r Passage,
    /// When they last went out during the run.
    left_at: Option<NaiveDateTime>,
    /// Their first entry since then (or since the run began), and whether it is flagged.
    arrival: Option<(&'r Passage, bool)>,
}

/// Each member's [`Movement`] per location, from the run's allowed passages in decision order.
fn movements<'r>(
    records: &[&'r Record],
    flagged: &HashSet<usize>,
) -> HashMap<(&'r str, &'r str), Movement<'r>> {
    let mut movements: HashMap<(&str, &str), Movement<'r>> = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        let Some(p) = record.passage.as_ref() else {
            continue;
        };
        let movement = movements
            .entry((p.location_id.as_str(), p.member_id.as_str()))
            .or_insert(Movement {
                first: p,
                last: p,
                left_at: None,
                arrival: None,
            });
        movement.last = p;
        if p.entered.is_none() {
            movement.left_at = Some(record.event.occurred_at);
            movement.arrival = None;
        } else if movement.arrival.is_none() {
            movement.arrival = Some((p, flagged.contains(&i)));
        }
    }
    movements
}

/// For each record (by index) whose passage is an entry, when its member last went out of that location earlier
/// in the run: a presence older than that had ended before the entry.
fn exits_before(records: &[&Record]) -> Vec<Option<NaiveDateTime>> {
    let mut left: HashMap<(&str, &str), NaiveDateTime> = HashMap::new();
    let mut earlier = Vec::with_capacity(records.len());
    for record in records {
        let Some(p) = record.passage.as_ref() else {
            earlier.push(None);
            continue;
        };
        let key = (p.location_id.as_str(), p.member_id.as_str());
        if p.entered.is_none() {
            left.insert(key, record.event.occurred_at);
            earlier.push(None);
        } else {
            earlier.push(left.get(&key).copied());
        }
    }
    earlier
}

/// Moves presence after the run's allowed passages ([`movements`]).
///
/// - Went out last: their presence goes. (Keeping one begun after the exit would guard against a race of a few
///   milliseconds with another server, but an entry stamped by a door whose clock runs ahead would then keep the
///   member inside, and refused at anti-passback doors, until it timed out.)
/// - Came in from outside: a presence that had ended (timed out, or begun before their exit in this run) goes,
///   and a new one is inserted. Its key refuses the run if another process let the member in meanwhile, except
///   in a careful run for an arrival already `flagged` (by record index) or through a door without
///   anti-passback, which replaces that presence.
/// - Came in while inside with no exit in the run (no anti-passback): the row's time and door move (on
///   PostgreSQL in one statement for the run).
fn move_presence(
    s: &mut Scoped<'_>,
    records: &[&Record],
    care: Care,
    flagged: &HashSet<usize>,
) -> AppResult<()> {
    // Ended presences to forget, by location and the time they began by.
    // - A careful run forgets exactly what it weighed in `contradicted`: each member's own cutoff, or the run
    //   would be refused again for a row it has seen (or remove one it has not flagged).
    // - A plain run shares one cutoff per location, the earliest, which never removes a live presence: one that
    //   has timed out by a later cutoff only refuses the run, which is then written carefully. So does the
    //   presence of a member who came in from outside through an anti-passback door first: this run's own entry
    //   is not written yet, so whatever the database holds for them was written by another process, and their
    //   first entry must be weighed against it, even if they went out since.
    let mut shared: HashMap<&str, (Vec<String>, NaiveDateTime)> = HashMap::new();
    let mut own: HashMap<(&str, NaiveDateTime), Vec<String>> = HashMap::new();
    let mut left: HashMap<&str, Vec<String>> = HashMap::new();
    let (mut rows, mut moved) = (Vec::new(), Vec::new());
    let realm = s.realm_key().to_owned();
    for ((location, member), movement) in movements(records, flagged) {
        // An entry always sets `arrival` (see `movements`): a last passage that is an entry has one.
        let (Some((at, device)), Some((arrival, arrival_flagged))) =
            (&movement.last.entered, movement.arrival)
        else {
            left.entry(location).or_default().push(member.to_owned());
            continue;
        };
        let row = PresenceRow {
            tenant_id: realm.clone(),
            location_id: location.to_owned(),
            member_id: member.to_owned(),
            entered_at: *at,
            device_id: Some(device.clone()),
        };
        if arrival.was_inside {
            moved.push(row);
            continue;
        }
        let first = movement.first;
        let first_came_in_unseen =
            first.entered.is_some() && !first.was_inside && first.anti_passback;
        let exact = care == Care::Careful || (movement.left_at.is_some() && !first_came_in_unseen);
        if exact {
            let before = movement
                .left_at
                .map_or(arrival.timed_out_before, |left_at| {
                    left_at.max(arrival.timed_out_before)
                });
            own.entry((location, before))
                .or_default()
                .push(member.to_owned());
        } else {
            // The first passage's cutoff: the earliest of the member's (it is their arrival when they did not
            // go out, and their first entry, which must be weighed, when they did).
            let (members, before) = shared
                .entry(location)
                .or_insert((Vec::new(), first.timed_out_before));
            members.push(member.to_owned());
            *before = (*before).min(first.timed_out_before);
        }
        // A careful run read this member outside, but a presence another process is still writing was not
        // there to read: the key must refuse it rather than the upsert merge it unflagged.
        let replaces = care == Care::Careful && (arrival_flagged || !arrival.anti_passback);
        if replaces {
            moved.push(row);
        } else {
            rows.push(row);
        }
    }
    let forgotten = shared
        .into_iter()
        .map(|(location, (members, before))| ((location, before), members))
        .chain(own);
    for ((location, before), members) in forgotten {
        store::leave_before_many(s, location, &members, before).map_err(refused)?;
    }
    for (location, members) in left {
        store::leave_many(s, location, &members).map_err(refused)?;
    }
    store::move_many(s, &moved).map_err(refused)?;
    store::enter_many(s, &rows).map_err(concurrent())?;
    Ok(())
}

/// Writes the last-seen time of the run's doors not written within [`LAST_SEEN_EVERY_SECS`].
fn touch_devices(s: &mut Scoped<'_>, records: &[&Record]) -> AppResult<()> {
    let mut seen: HashMap<&str, (Option<NaiveDateTime>, NaiveDateTime)> = HashMap::new();
    for r in records {
        let at = r.event.recorded_at;
        seen.entry(r.device.0.as_str())
            .and_modify(|(_, latest)| *latest = (*latest).max(at))
            .or_insert((r.device.1, at));
    }
    for (device, (last_seen, at)) in seen {
        if last_seen.is_none_or(|t| at - t > Duration::seconds(LAST_SEEN_EVERY_SECS)) {
            tessera_store::models::devices::touch(s, device, at, None, None).map_err(refused)?;
        }
    }
    Ok(())
}
