//! The door desk's bookkeeping, per brand, under one lock: the checks waiting to be decided, the order in which
//! groups decide (tickets), the decided groups not yet written, and the written ones that a group still reading
//! may need.
//!
//! Why groups written already are kept a while: a group reads the database, then decides, seeing the decisions
//! not yet written as if recorded. A group written after the reader's snapshot but before it decides would be in
//! neither, so each reader has a **floor**, the last group written when it began, and every group above the lowest
//! floor of the readers still at work is kept ([`DoorDesk::overlay`] gives a reader the groups above its floor).
//! Seeing a group both in the database and in memory changes nothing: each sets presence or marks a code used, in
//! decision order, and visits count by day.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use tessera_store::Backend;
use tokio::sync::{oneshot, watch};

use super::super::facts::Unwritten;
use super::super::recording::Record;
use super::Check;
use crate::{AppResult, Ctx};

/// The most checks decided together.
const MAX_GROUP: usize = 64;
/// The most records of a brand decided and not yet written before deciding waits for the writer.
const MAX_UNWRITTEN: usize = 4_096;
/// The most records written in one transaction.
pub(super) const MAX_RUN: usize = 1_024;

/// Groups of one brand reading at the same time. PostgreSQL reads two groups at once, each on a connection of its
/// own (one group's reads alone leave a core idle and fall behind at 2,000 checks a second, measured in
/// docs/performance.md); they still decide one after the other. SQLite gains nothing from a second.
fn deciders_for(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => 2,
        Backend::Sqlite => 1,
    }
}

/// The shortest time between the starts of two runs of the writer while it keeps up (a lone record is written at
/// once; under load, records gather for this long). Larger runs cost less per record: without a pause the writer
/// wrote runs of 2–4 records. On SQLite a run holds a core while decisions wait for the other, so shorter runs
/// shorten the tail: at 2,000 checks a second, p99 4.2–4.7 ms at 3 ms against 5.1–5.6 ms at 8 ms, for 12 % more
/// bytes written and no more CPU; 1–2 ms gained nothing more. On PostgreSQL shorter runs cost its CPU more than
/// they save (docs/performance.md).
fn write_every_for(backend: Backend) -> std::time::Duration {
    match backend {
        Backend::Postgres => std::time::Duration::from_millis(25),
        Backend::Sqlite => std::time::Duration::from_millis(3),
    }
}

/// A check waiting for its answer.
pub(super) struct Waiting {
    pub check: Check,
    pub reply: oneshot::Sender<AppResult<super::CheckResult>>,
}

/// A decided group's records, with the context of its first check (for the request id of its live events).
pub(super) struct Decided {
    pub ctx: Ctx,
    pub records: Vec<Record>,
}

/// Where a reader stands: the last group written when it began, and for a group that will record its decisions,
/// its turn to decide.
#[derive(Debug, Clone)]
pub(super) struct Place {
    pub tenant: String,
    pub floor: u64,
    pub ticket: Option<u64>,
}

/// One brand's checks and records.
struct Brand {
    waiting: VecDeque<Waiting>,
    deciders: usize,
    next_ticket: u64,
    /// Every ticket below this one has decided (or failed).
    settled: watch::Sender<u64>,
    /// Tickets done out of order.
    finished: BTreeSet<u64>,
    /// Readers at work, by floor.
    floors: BTreeMap<u64, usize>,
    /// Decided groups not yet written, oldest first, each with its number.
    unwritten: VecDeque<(u64, Arc<Decided>)>,
    /// Records in `unwritten`.
    unwritten_records: usize,
    /// Written groups a reader at work may still need.
    recent: VecDeque<(u64, Arc<Decided>)>,
    writing: bool,
    /// The number of the last decided group.
    decided: u64,
    /// The number of the last group written (or given up).
    written: watch::Sender<u64>,
}

impl Default for Brand {
    fn default() -> Brand {
        Brand {
            waiting: VecDeque::new(),
            deciders: 0,
            next_ticket: 0,
            settled: watch::channel(0).0,
            finished: BTreeSet::new(),
            floors: BTreeMap::new(),
            unwritten: VecDeque::new(),
            unwritten_records: 0,
            recent: VecDeque::new(),
            writing: false,
            decided: 0,
            written: watch::channel(0).0,
        }
    }
}

impl Brand {
    /// Drops the written groups no reader at work needs.
    fn trim(&mut self) {
        let lowest = self.floors.keys().next().copied().unwrap_or(u64::MAX);
        while self.recent.front().is_some_and(|(n, _)| *n <= lowest) {
            self.recent.pop_front();
        }
    }

    fn place(&mut self, tenant: &str, ticketed: bool) -> Place {
        let floor = *self.written.borrow();
        *self.floors.entry(floor).or_default() += 1;
        let ticket = ticketed.then(|| {
            self.next_ticket += 1;
            self.next_ticket - 1
        });
        Place {
            tenant: tenant.to_owned(),
            floor,
            ticket,
        }
    }
}

/// Which of a brand's tasks.
#[derive(Debug, Clone, Copy)]
pub(super) enum Role {
    Decider,
    Writer,
}

/// The checks waiting to be decided and the records waiting to be written, per brand.
pub(crate) struct DoorDesk {
    brands: Mutex<HashMap<String, Brand>>,
    /// The most groups of one brand reading at the same time.
    deciders: usize,
    write_every: std::time::Duration,
}

impl DoorDesk {
    /// An empty desk for a database of `backend`.
    pub(crate) fn new(backend: Backend) -> DoorDesk {
        DoorDesk {
            brands: Mutex::default(),
            deciders: deciders_for(backend),
            write_every: write_every_for(backend),
        }
    }

    /// The shortest time between the starts of two runs of a brand's writer while it keeps up.
    pub(super) fn write_every(&self) -> std::time::Duration {
        self.write_every
    }

    fn brands(&self) -> std::sync::MutexGuard<'_, HashMap<String, Brand>> {
        // The lock guards bookkeeping whose every change is one step: a poisoned one is still consistent.
        self.brands.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The brands with a desk in this process.
    pub(super) fn tenants(&self) -> Vec<String> {
        self.brands().keys().cloned().collect()
    }

    /// Queues a check; true when the caller must start a decider for the brand.
    pub(super) fn push(&self, tenant: &str, waiting: Waiting) -> bool {
        let mut brands = self.brands();
        let brand = brands.entry(tenant.to_owned()).or_default();
        brand.waiting.push_back(waiting);
        if brand.deciders < self.deciders {
            brand.deciders += 1;
            true
        } else {
            false
        }
    }

    /// The next group of a brand with its place, or none (and the decider leaves) when nothing waits.
    pub(super) fn next_group(&self, tenant: &str) -> Option<(Vec<Waiting>, Place)> {
        let mut brands = self.brands();
        let brand = brands.get_mut(tenant)?;
        let take = brand.waiting.len().min(MAX_GROUP);
        if take == 0 {
            brand.deciders = brand.deciders.saturating_sub(1);
            return None;
        }
        let group: Vec<Waiting> = brand.waiting.drain(..take).collect();
        Some((group, brand.place(tenant, true)))
    }

    /// A place for a reader: with a turn to decide when `ticketed` (a check of a failed group, decided again alone),
    /// without one for a dry run.
    pub(super) fn place(&self, tenant: &str, ticketed: bool) -> Place {
        let mut brands = self.brands();
        brands
            .entry(tenant.to_owned())
            .or_default()
            .place(tenant, ticketed)
    }

    /// What tells when every ticket below a given one has decided.
    pub(super) fn settled(&self, tenant: &str) -> watch::Receiver<u64> {
        let mut brands = self.brands();
        brands
            .entry(tenant.to_owned())
            .or_default()
            .settled
            .subscribe()
    }

    /// The decisions a reader at `floor` must see as recorded: every group above its floor, in order.
    pub(super) fn overlay(&self, tenant: &str, floor: u64) -> Unwritten {
        let brands = self.brands();
        let mut seen = Unwritten::default();
        let Some(brand) = brands.get(tenant) else {
            return seen;
        };
        let groups = brand.recent.iter().chain(&brand.unwritten);
        for (_, decided) in groups.filter(|(n, _)| *n > floor) {
            for record in &decided.records {
                if let Some(u) = &record.qr_use {
                    seen.used.push((u.credential_id.clone(), u.issued_at));
                }
                if let Some(p) = &record.passage {
                    seen.passages.push((
                        p.location_id.clone(),
                        p.member_id.clone(),
                        p.entered.as_ref().map(|(at, _)| *at),
                    ));
                }
            }
        }
        seen
    }

    /// Adds a decided group; true when the caller must start the brand's writer.
    pub(super) fn decided(&self, tenant: &str, decided: Decided) -> bool {
        let mut brands = self.brands();
        let brand = brands.entry(tenant.to_owned()).or_default();
        brand.decided += 1;
        brand.unwritten_records += decided.records.len();
        brand
            .unwritten
            .push_back((brand.decided, Arc::new(decided)));
        !std::mem::replace(&mut brand.writing, true)
    }

    /// A reader is done: its ticket (if any) is settled, its floor released.
    pub(super) fn finish(&self, place: &Place) {
        let mut brands = self.brands();
        let Some(brand) = brands.get_mut(&place.tenant) else {
            return;
        };
        if let Some(count) = brand.floors.get_mut(&place.floor) {
            *count -= 1;
            if *count == 0 {
                brand.floors.remove(&place.floor);
            }
        }
        if let Some(ticket) = place.ticket {
            brand.finished.insert(ticket);
            let mut settled = *brand.settled.borrow();
            while brand.finished.remove(&settled) {
                settled += 1;
            }
            brand.settled.send_replace(settled);
        }
        brand.trim();
    }

    /// When too many records wait to be written: the oldest group's number, and what tells when it is written.
    pub(super) fn behind(&self, tenant: &str) -> Option<(u64, watch::Receiver<u64>)> {
        let brands = self.brands();
        let brand = brands.get(tenant)?;
        if brand.unwritten_records <= MAX_UNWRITTEN {
            return None;
        }
        let oldest = brand.unwritten.front().map_or(0, |(n, _)| *n);
        Some((oldest, brand.written.subscribe()))
    }

    /// The oldest groups not yet written, up to [`MAX_RUN`] records (at least one group), or none (and the writer
    /// leaves).
    pub(super) fn next_run(&self, tenant: &str) -> Vec<(u64, Arc<Decided>)> {
        let mut brands = self.brands();
        let Some(brand) = brands.get_mut(tenant) else {
            return Vec::new();
        };
        let mut run = Vec::new();
        let mut records = 0;
        for (n, decided) in &brand.unwritten {
            if !run.is_empty() && records + decided.records.len() > MAX_RUN {
                break;
            }
            records += decided.records.len();
            run.push((*n, Arc::clone(decided)));
        }
        if run.is_empty() {
            brand.writing = false;
        }
        run
    }

    /// The records of a brand decided and not yet written.
    pub(super) fn unwritten_records(&self, tenant: &str) -> usize {
        self.brands().get(tenant).map_or(0, |b| b.unwritten_records)
    }

    /// The groups up to number `last` are written: kept only while a reader at work may need them.
    pub(super) fn written(&self, tenant: &str, last: u64) {
        let mut brands = self.brands();
        let Some(brand) = brands.get_mut(tenant) else {
            return;
        };
        while brand.unwritten.front().is_some_and(|(n, _)| *n <= last) {
            if let Some((n, d)) = brand.unwritten.pop_front() {
                brand.unwritten_records -= d.records.len();
                brand.recent.push_back((n, d));
            }
        }
        brand.written.send_replace(last);
        brand.trim();
    }

    /// What a reader of the log waits for: the brand's last decided group to be written.
    pub(super) fn last_decided(&self, tenant: &str) -> Option<(u64, watch::Receiver<u64>)> {
        let brands = self.brands();
        let brand = brands.get(tenant)?;
        Some((brand.decided, brand.written.subscribe()))
    }

    /// A task stopped other than by finding no work (it panicked): true when work remains and a new task must
    /// take its place; otherwise its place is given back.
    pub(super) fn task_lost(&self, tenant: &str, role: Role) -> bool {
        let mut brands = self.brands();
        let Some(brand) = brands.get_mut(tenant) else {
            return false;
        };
        match role {
            Role::Decider => {
                let work = !brand.waiting.is_empty();
                if !work {
                    brand.deciders = brand.deciders.saturating_sub(1);
                }
                work
            }
            Role::Writer => {
                let work = !brand.unwritten.is_empty();
                brand.writing = work;
                work
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;
    use tessera_domain::realm::Realm;
    use tessera_store::models::access::AccessEventRow;

    use super::*;
    use crate::access::recording::Passage;
    use crate::events::NewEvent;

    const T: &str = "tnt_a";

    fn at() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap_or_default()
            .naive_utc()
    }

    /// A group of one decision letting `member` in.
    fn entry_of(member: &str) -> Decided {
        let event = AccessEventRow {
            tenant_id: T.into(),
            id: format!("acx_{member}"),
            device_id: Some("dev_1".into()),
            location_id: Some("loc_1".into()),
            member_id: Some(member.into()),
            credential_id: None,
            credential_kind: "card".into(),
            direction: "in".into(),
            decision: "allow".into(),
            reason: None,
            source: "online".into(),
            client_event_id: None,
            flagged: false,
            flag_reason: None,
            override_of: None,
            override_by: None,
            override_reason: None,
            occurred_at: at(),
            recorded_at: at(),
        };
        Decided {
            ctx: Ctx::cli(Realm::Group),
            records: vec![Record {
                event,
                qr_use: None,
                passage: Some(Passage {
                    location_id: "loc_1".into(),
                    member_id: member.into(),
                    entered: Some((at(), "dev_1".into())),
                    was_inside: false,
                    timed_out_before: at(),
                    anti_passback: true,
                }),
                device: ("dev_1".into(), None),
                published: NewEvent {
                    type_name: "access.checked_in",
                    subject: None,
                    data: serde_json::Value::Null,
                    request_id: None,
                },
            }],
        }
    }

    fn members_in(seen: &Unwritten) -> Vec<&str> {
        seen.passages.iter().map(|(_, m, _)| m.as_str()).collect()
    }

    #[test]
    fn a_group_written_while_a_reader_reads_stays_visible_to_that_reader_only() {
        let desk = DoorDesk::new(Backend::Postgres);
        desk.decided(T, entry_of("mem_a"));
        let early = desk.place(T, false);
        assert_eq!(members_in(&desk.overlay(T, early.floor)), ["mem_a"]);
        // mem_a's group is written while `early` reads: `early` may have read before it, so it keeps seeing it.
        desk.written(T, 1);
        desk.decided(T, entry_of("mem_b"));
        assert_eq!(
            members_in(&desk.overlay(T, early.floor)),
            ["mem_a", "mem_b"]
        );
        // A reader that starts now reads mem_a's group from the database: it sees only what is not written.
        let late = desk.place(T, false);
        assert_eq!(members_in(&desk.overlay(T, late.floor)), ["mem_b"]);
        // Once `early` is done, nobody needs mem_a's group in memory.
        desk.finish(&early);
        assert_eq!(members_in(&desk.overlay(T, 0)), ["mem_b"]);
        desk.finish(&late);
        desk.written(T, 2);
        assert!(members_in(&desk.overlay(T, 0)).is_empty());
    }

    #[test]
    fn turns_settle_in_the_order_groups_were_taken() {
        let desk = DoorDesk::new(Backend::Postgres);
        let settled = desk.settled(T);
        let first = desk.place(T, true);
        let second = desk.place(T, true);
        let third = desk.place(T, true);
        assert_eq!(
            (first.ticket, second.ticket, third.ticket),
            (Some(0), Some(1), Some(2))
        );
        assert_eq!(*settled.borrow(), 0, "the first group's turn");
        // The second and third finish first: they wait for the first, so nothing settles yet.
        desk.finish(&third);
        desk.finish(&second);
        assert_eq!(*settled.borrow(), 0);
        desk.finish(&first);
        assert_eq!(*settled.borrow(), 3, "all three settled at once");
    }

    #[test]
    fn deciders_are_bounded_per_backend_and_leave_when_nothing_waits() {
        for (backend, most) in [(Backend::Postgres, 2), (Backend::Sqlite, 1)] {
            let desk = DoorDesk::new(backend);
            let started = (0..4)
                .filter(|_| {
                    let (reply, _answer) = oneshot::channel();
                    let check = Check {
                        ctx: Ctx::cli(Realm::Group),
                        request: serde_json::from_value(serde_json::json!({
                            "credential": {"type": "barcode", "value": "123456789012"},
                            "direction": "in"
                        }))
                        .unwrap_or_else(|e| panic!("{e}")),
                        now: chrono::Utc::now(),
                    };
                    desk.push(T, Waiting { check, reply })
                })
                .count();
            assert_eq!(started, most);
            let (group, place) = desk.next_group(T).unwrap_or_else(|| panic!("a group"));
            assert_eq!(group.len(), 4);
            desk.finish(&place);
            for _ in 0..most {
                assert!(desk.next_group(T).is_none());
            }
            assert_eq!(desk.brands().get(T).map(|b| b.deciders), Some(0));
        }
    }
}
