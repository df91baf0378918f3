//! The door desk: online checks of one brand that arrive while others are being decided wait and are then decided
//! and recorded together, in one transaction of a few statements whatever their number (see [`super::facts`]),
//! instead of a transaction of fifteen statements each. A check that arrives alone is a group of one and is
//! answered as soon as it is recorded; under load, groups grow with the rate, so the cost of a check falls as
//! the rate rises. A check is answered only once its group is committed.
//!
//! Decisions within a group are made in order, each seeing the ones before it. Against other processes (a
//! second server on the same database) the database's keys still decide: a presence row or a used rotating code
//! recorded meanwhile refuses the group's writes, the group is rolled back, and its checks are decided again one
//! by one, each seeing what the other process recorded. Any other failure of a group also sends its checks
//! through one by one, so that one check's fault is its own.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use tessera_domain::access::credential::ByteOrder;
use tessera_domain::access::{CredentialState, Direction};
use tessera_store::models::access::{self as store, PresenceRow, QrUse};
use tessera_store::models::devices::DeviceRow;
use tessera_store::{Backend, Scoped, TxMode};
use tokio::sync::oneshot;

use super::facts::{gather_many, Ask, Gathered};
use super::{
    concurrent, event_data, is_concurrent, read_credential, CheckRequest, CheckResult, Presented,
    LAST_SEEN_EVERY_SECS, PRESENCE_TIMEOUT_HOURS,
};
use crate::events::NewEvent;
use crate::{naive, App, AppError, AppResult, Ctx};

/// The most checks decided together.
const MAX_GROUP: usize = 64;

/// Groups of one brand decided at the same time, per backend. PostgreSQL works on several at once: while one group
/// commits, another gathers its facts. SQLite writes one transaction at a time, so a second runner only makes
/// smaller groups, each paying a transaction of its own: one runner costs less per check (measured in
/// docs/performance.md).
fn runners_for(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => 2,
        Backend::Sqlite => 1,
    }
}

/// One online check.
#[derive(Clone)]
pub(crate) struct Check {
    pub ctx: Ctx,
    pub request: CheckRequest,
    pub now: DateTime<Utc>,
}

struct Waiting {
    check: Check,
    reply: oneshot::Sender<AppResult<CheckResult>>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Waiting>,
    runners: usize,
}

/// The checks waiting to be decided, per brand.
pub(crate) struct DoorDesk {
    queues: Mutex<HashMap<String, Queue>>,
    /// The most groups of one brand decided at the same time.
    runners: usize,
}

impl DoorDesk {
    /// An empty desk for a database of `backend`.
    pub(crate) fn new(backend: Backend) -> DoorDesk {
        DoorDesk {
            queues: Mutex::default(),
            runners: runners_for(backend),
        }
    }

    fn queues(&self) -> std::sync::MutexGuard<'_, HashMap<String, Queue>> {
        // The lock guards plain bookkeeping with no invariant spanning a panic: a poisoned one is still usable.
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a check; true when the caller must start a runner for the brand.
    fn push(&self, tenant: &str, waiting: Waiting) -> bool {
        let mut queues = self.queues();
        let queue = queues.entry(tenant.to_owned()).or_default();
        queue.waiting.push_back(waiting);
        if queue.runners < self.runners {
            queue.runners += 1;
            true
        } else {
            false
        }
    }

    /// The next group of a brand, or none (and the runner leaves) when nothing waits.
    fn next_group(&self, tenant: &str) -> Vec<Waiting> {
        let mut queues = self.queues();
        let Some(queue) = queues.get_mut(tenant) else {
            return Vec::new();
        };
        let take = queue.waiting.len().min(MAX_GROUP);
        let group: Vec<Waiting> = queue.waiting.drain(..take).collect();
        if group.is_empty() {
            queue.runners = queue.runners.saturating_sub(1);
            if queue.runners == 0 {
                queues.remove(tenant);
            }
        }
        group
    }

    /// A runner stopped without emptying the queue (its task panicked): true when checks still wait, and a new
    /// runner must take its place; otherwise its place is given back.
    fn runner_lost(&self, tenant: &str) -> bool {
        let mut queues = self.queues();
        let Some(queue) = queues.get_mut(tenant) else {
            return false;
        };
        if queue.waiting.is_empty() {
            queue.runners = queue.runners.saturating_sub(1);
            if queue.runners == 0 {
                queues.remove(tenant);
            }
            false
        } else {
            true
        }
    }
}

/// Gives a runner's place back, or hands it to a new runner, if its task ends other than by finding the queue
/// empty.
struct RunnerGuard {
    app: App,
    tenant: String,
    finished: bool,
}

impl Drop for RunnerGuard {
    fn drop(&mut self) {
        if !self.finished && self.app.door_desk().runner_lost(&self.tenant) {
            let (app, tenant) = (self.app.clone(), self.tenant.clone());
            tokio::spawn(async move { app.run_desk(tenant).await });
        }
    }
}

/// A check's facts, read.
struct Seen {
    device: DeviceRow,
    presented: Presented,
    gathered: Gathered,
}

/// Reads and decides `checks` in order; each may fail on its own (a device no longer paired, an unreadable
/// credential).
fn read_checks(
    s: &mut Scoped<'_>,
    checks: &[Check],
    check_replay: bool,
) -> AppResult<Vec<AppResult<Seen>>> {
    let ctxs: Vec<&Ctx> = checks.iter().map(|c| &c.ctx).collect();
    let devices = crate::devices::calling_devices(s, &ctxs)?;
    let read: Vec<AppResult<(DeviceRow, Presented)>> = checks
        .iter()
        .zip(devices)
        .map(|(check, device)| {
            let device = device?;
            let order = ByteOrder::parse(&device.nfc_byte_order).unwrap_or(ByteOrder::Msb);
            let presented = read_credential(&check.request.credential, order)?;
            Ok((device, presented))
        })
        .collect();
    let asks: Vec<Ask<'_>> = read
        .iter()
        .zip(checks)
        .filter_map(|(r, check)| {
            let (device, presented) = r.as_ref().ok()?;
            Some(Ask {
                device,
                presented,
                direction: check.request.direction,
                at: check.now,
            })
        })
        .collect();
    let mut decided = gather_many(s, &asks, check_replay)?.into_iter();
    Ok(read
        .into_iter()
        .map(|r| {
            let (device, presented) = r?;
            let gathered = decided
                .next()
                .ok_or_else(|| AppError::Internal("a check was not decided".into()))?;
            Ok(Seen {
                device,
                presented,
                gathered,
            })
        })
        .collect())
}

/// How a group moved one member's presence in one location.
struct Passage {
    /// Inside before the group.
    was_inside: bool,
    /// After the group: when they entered and through which door, or `None` when they left.
    now_inside: Option<(NaiveDateTime, String)>,
    /// Presence older than this had timed out for the first entry that moved it.
    timed_out_before: NaiveDateTime,
}

/// Moves presence after a group's allowed passages: the member's last passage decides. Left: the row goes. Came
/// in from outside: a timed-out row goes and a new one is inserted, whose key refuses it if another process let
/// the member in meanwhile (`concurrent_passage`). Came in while inside (no anti-passback): the rows' times move
/// (on PostgreSQL in one statement for the group).
fn record_passages(
    s: &mut Scoped<'_>,
    passages: HashMap<(String, String), Passage>,
) -> AppResult<()> {
    let mut left: HashMap<String, Vec<String>> = HashMap::new();
    let mut arrived: HashMap<String, (Vec<String>, NaiveDateTime)> = HashMap::new();
    let mut rows = Vec::new();
    let mut moved = Vec::new();
    for ((location, member), passage) in passages {
        match (passage.now_inside, passage.was_inside) {
            (None, _) => left.entry(location).or_default().push(member),
            (Some((at, device)), true) => moved.push(PresenceRow {
                tenant_id: s.realm_key().to_owned(),
                location_id: location,
                member_id: member,
                entered_at: at,
                device_id: Some(device),
            }),
            (Some((at, device)), false) => {
                let (members, before) = arrived
                    .entry(location.clone())
                    .or_insert((Vec::new(), passage.timed_out_before));
                members.push(member.clone());
                *before = (*before).max(passage.timed_out_before);
                rows.push(PresenceRow {
                    tenant_id: s.realm_key().to_owned(),
                    location_id: location,
                    member_id: member,
                    entered_at: at,
                    device_id: Some(device),
                });
            }
        }
    }
    for (location, members) in left {
        store::leave_many(s, &location, &members)?;
    }
    // The latest cutoff of the location's entries: a member seen outside has no presence newer than their own
    // cutoff, so no live presence is removed; one recorded meanwhile by another process stays and refuses.
    for (location, (members, before)) in arrived {
        store::leave_before_many(s, &location, &members, before)?;
    }
    store::move_many(s, &moved)?;
    store::enter_many(s, &rows).map_err(concurrent())?;
    Ok(())
}

/// Records the decisions of a group, publishes them, and makes their answers.
fn record_checks(
    s: &mut Scoped<'_>,
    checks: &[Check],
    seen: Vec<AppResult<Seen>>,
) -> AppResult<Vec<AppResult<CheckResult>>> {
    let mut events = Vec::new();
    let mut uses = Vec::new();
    let mut passages: HashMap<(String, String), Passage> = HashMap::new();
    let mut published = Vec::new();
    let mut answers = Vec::with_capacity(checks.len());
    let mut devices_seen: HashMap<String, Option<NaiveDateTime>> = HashMap::new();
    for (check, seen) in checks.iter().zip(seen) {
        let Seen {
            device,
            presented,
            gathered: g,
        } = match seen {
            Ok(seen) => seen,
            Err(e) => {
                answers.push(Err(e));
                continue;
            }
        };
        let now = check.now;
        let direction = check.request.direction;
        let member_id = g.credential.as_ref().map(|c| c.member_id.clone());
        let row = g.event_row(s.realm_key(), &device, &presented, direction, now);
        if let (Presented::Rotating(code), CredentialState::Active, Some(c)) =
            (&presented, g.state, &g.credential)
        {
            uses.push(QrUse {
                credential_id: c.id.clone(),
                issued_at: code.issued_at,
                device_id: Some(device.id.clone()),
                used_at: naive(now),
            });
        }
        if let (true, Some(member), Some(location)) =
            (g.decision.allowed(), &member_id, &g.location_id)
        {
            let at = (direction == Direction::In).then(|| (naive(now), device.id.clone()));
            passages
                .entry((location.clone(), member.clone()))
                .and_modify(|passage| passage.now_inside.clone_from(&at))
                .or_insert(Passage {
                    was_inside: g.inside,
                    now_inside: at,
                    timed_out_before: naive(now - Duration::hours(PRESENCE_TIMEOUT_HOURS)),
                });
        }
        devices_seen
            .entry(device.id.clone())
            .or_insert(device.last_seen_at);
        let result = g.result(Some(row.id.clone()), false);
        published.push(NewEvent {
            type_name: if g.decision.allowed() {
                "access.checked_in"
            } else {
                "access.denied"
            },
            subject: member_id,
            data: event_data(&row, &result),
            request_id: Some(check.ctx.request_id.clone()).filter(|r| !r.is_empty()),
        });
        events.push(row);
        answers.push(Ok(result));
    }
    store::insert_events(s, &events)?;
    store::use_qr_many(s, &uses).map_err(concurrent())?;
    record_passages(s, passages)?;
    let now = checks.iter().map(|c| c.now).max().unwrap_or_default();
    for (device, last_seen) in devices_seen {
        if last_seen.is_none_or(|t| naive(now) - t > Duration::seconds(LAST_SEEN_EVERY_SECS)) {
            tessera_store::models::devices::touch(s, &device, naive(now), None, None)?;
        }
    }
    if let Some(first) = checks.first() {
        crate::events::publish_many(s, &first.ctx, published, now)?;
    }
    Ok(answers)
}

impl App {
    /// The checks waiting to be decided.
    pub(crate) fn door_desk(&self) -> &DoorDesk {
        &self.inner.doors
    }

    /// Decides and records an online check with the others of its brand that arrive meanwhile.
    pub(crate) async fn decide_recorded(
        &self,
        tenant: &str,
        check: Check,
    ) -> AppResult<CheckResult> {
        let (reply, answer) = oneshot::channel();
        if self.door_desk().push(tenant, Waiting { check, reply }) {
            let (app, tenant) = (self.clone(), tenant.to_owned());
            tokio::spawn(async move { app.run_desk(tenant).await });
        }
        answer
            .await
            .map_err(|_| AppError::Internal("the door desk dropped a check".into()))?
    }

    /// Decides a check without recording it.
    pub(crate) async fn decide_dry(&self, tenant: &str, check: Check) -> AppResult<CheckResult> {
        let tenant = tenant.to_owned();
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                let seen = read_checks(s, std::slice::from_ref(&check), true)?
                    .pop()
                    .ok_or_else(|| AppError::Internal("a check was not decided".into()))??;
                Ok(seen.gathered.result(None, true))
            })
        })
        .await
    }

    /// Takes groups of the brand's waiting checks until none is left.
    async fn run_desk(self, tenant: String) {
        let mut guard = RunnerGuard {
            app: self.clone(),
            tenant: tenant.clone(),
            finished: false,
        };
        loop {
            let group = self.door_desk().next_group(&tenant);
            if group.is_empty() {
                guard.finished = true;
                return;
            }
            let (checks, replies): (Vec<Check>, Vec<_>) =
                group.into_iter().map(|w| (w.check, w.reply)).unzip();
            tracing::debug!(realm = %tenant, checks = checks.len(), "door checks decided together");
            let answers = self.decide_group(&tenant, checks.into()).await;
            for (reply, answer) in replies.into_iter().zip(answers) {
                // The caller may have gone (a closed connection); its check is recorded all the same.
                let _ = reply.send(answer);
            }
        }
    }

    /// Decides and records a group; when the group fails, each check alone.
    async fn decide_group(
        &self,
        tenant: &str,
        checks: Arc<[Check]>,
    ) -> Vec<AppResult<CheckResult>> {
        let alone = checks.len() == 1;
        match self.record_group(tenant, Arc::clone(&checks)).await {
            Ok(answers) => answers,
            Err(e) if alone && is_concurrent(&e) => {
                // Another passage of the member (or use of the code) was recorded meanwhile: decide again, seeing
                // it (anti-passback refuses where enforced).
                vec![self
                    .record_group(tenant, checks)
                    .await
                    .and_then(|mut a| a.pop().unwrap_or(Err(e)))]
            }
            Err(e) if alone => vec![Err(e)],
            Err(_) => {
                let mut answers = Vec::with_capacity(checks.len());
                for check in checks.iter() {
                    let one = Arc::from(vec![check.clone()]);
                    let mut one = Box::pin(self.decide_group(tenant, one)).await;
                    answers.push(
                        one.pop()
                            .unwrap_or_else(|| Err(AppError::Internal("no answer".into()))),
                    );
                }
                answers
            }
        }
    }

    /// One transaction: reads and decides the group, records it; one answer per check.
    async fn record_group(
        &self,
        tenant: &str,
        checks: Arc<[Check]>,
    ) -> AppResult<Vec<AppResult<CheckResult>>> {
        let tenant = tenant.to_owned();
        self.blocking(move |db| {
            // On SQLite the reads do not hold the single writer's turn; what matters under concurrency is caught
            // by the keys of the presence and used-code rows in the writing part.
            db.scoped_read_then_write(
                &tenant,
                |s| read_checks(s, &checks, true),
                |s, seen| record_checks(s, &checks, seen),
            )
        })
        .await
    }
}
