//! The door desk: a brand's online checks are decided in groups and answered at once; what they record is written
//! behind them by one writer, in runs of one transaction whatever their number.
//!
//! - **Deciding.** Checks that arrive while a group is being decided wait and form the next group, read in a few
//!   statements whatever their number (see [`super::facts`]). On PostgreSQL two groups read at once; groups still
//!   decide one after the other, in the order they were taken ([`book`]). Each decision sees the ones before it and
//!   the ones answered but not yet written ([`Unwritten`]): a member let in is inside for the next check, a
//!   rotating code once seen is used. On SQLite a group's read runs on the decider's own thread
//!   ([`App::reading_in_place`]): it is short and in-process, and a blocking thread would first have to get a core.
//! - **Answering before writing.** A door waits for its decision only, not for the write of its log row,
//!   presence and live event: those cost more than the decision (docs/performance.md), and a door's decision,
//!   once the door has opened, has happened whatever the log says. The writer takes every decided record not yet
//!   written and writes them together, starting a run at most every few milliseconds while it keeps up
//!   ([`DoorDesk::write_every`]): the busier the doors, the larger and cheaper its runs. Its runs go to the
//!   background lane, at idle priority ([`crate::background`]): a check arriving meanwhile takes a core at once.
//! - **What another process recorded meanwhile** (a second server on the same database: the same rotating code
//!   used at one of its doors, the same member let in there) refuses a run through the keys of the used-code and
//!   presence rows; the run is then written carefully, and the entries it contradicts are stored and flagged for
//!   staff, as an offline door's are ([`super::recording`]).
//! - **Reading what was decided.** Staff's views of the log and of presence, an offline upload and an override
//!   first wait for the brand's decided records to be written ([`App::door_records_written`]); a stopping server
//!   writes them before it exits ([`App::write_door_records`]). A process that dies without stopping loses the
//!   records of the last few milliseconds: the doors decided them, the log does not show them (docs/devices.md,
//!   "Deciding, then writing").
//! - **A database slower than the doors** for long makes doors wait: past a few thousand records not yet
//!   written, deciding waits for the writer. A database that cannot be reached or is busy keeps the writer
//!   retrying; a record the database refuses for its data is logged and dropped, so that one record's fault does
//!   not stop the others.

mod book;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tessera_domain::access::credential::ByteOrder;
use tessera_domain::access::{CredentialState, Direction};
use tessera_store::models::access::QrUse;
use tessera_store::models::devices::DeviceRow;
use tessera_store::{Scoped, TxMode};
use tokio::sync::oneshot;

pub(crate) use book::DoorDesk;
use book::{Decided, Place, Role, Waiting, MAX_RUN};

use super::facts::{gather_many, Ask, Gathered, Unwritten};
use super::memory::{DoorMemory, Known};
use super::recording::{self, Care, Passage, Record};
use super::{
    event_data, is_concurrent, read_credential, CheckRequest, CheckResult, Presented,
    PRESENCE_TIMEOUT_HOURS,
};
use crate::events::NewEvent;
use crate::{naive, App, AppError, AppResult, Ctx};

/// How long a reader of the log waits for the decided records to be written before reading without them.
const WRITTEN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// One online check.
#[derive(Clone)]
pub(crate) struct Check {
    pub ctx: Ctx,
    pub request: CheckRequest,
    pub now: DateTime<Utc>,
}

/// Gives a task's place back, or hands it to a new task, if it ends other than by finding no work.
struct TaskGuard {
    app: App,
    tenant: String,
    role: Role,
    finished: bool,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if !self.finished && self.app.door_desk().task_lost(&self.tenant, self.role) {
            let (app, tenant) = (self.app.clone(), self.tenant.clone());
            match self.role {
                Role::Decider => tokio::spawn(async move { app.run_decider(tenant).await }),
                Role::Writer => tokio::spawn(async move { app.run_writer(tenant).await }),
            };
        }
    }
}

/// A reader's place, given back when it is done, however it ends (see [`book`]): its turn settled, its floor
/// released.
struct PlaceGuard {
    app: App,
    place: Place,
}

impl PlaceGuard {
    fn new(app: &App, place: Place) -> PlaceGuard {
        PlaceGuard {
            app: app.clone(),
            place,
        }
    }
}

impl Drop for PlaceGuard {
    fn drop(&mut self) {
        self.app.door_desk().finish(&self.place);
    }
}

/// A check's facts, read.
struct Seen {
    device: DeviceRow,
    presented: Presented,
    gathered: Gathered,
}

/// Reads and decides `checks` in order, seeing what `unwritten` gives once every fact is read; each may fail on its
/// own (a device no longer paired, an unreadable credential).
fn read_checks(
    s: &mut Scoped<'_>,
    known: &Known,
    checks: &[Check],
    check_replay: bool,
    unwritten: impl FnOnce() -> AppResult<Unwritten>,
) -> AppResult<Vec<AppResult<Seen>>> {
    let ctxs: Vec<&Ctx> = checks.iter().map(|c| &c.ctx).collect();
    let devices = crate::devices::calling_devices(s, known, &ctxs)?;
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
    let mut decided = gather_many(s, known, &asks, check_replay, unwritten)?.into_iter();
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

/// The answers of a decided group, and what each of its decisions records.
fn answer_checks(
    realm: &str,
    checks: &[Check],
    seen: Vec<AppResult<Seen>>,
) -> (Vec<AppResult<CheckResult>>, Vec<Record>) {
    let mut answers = Vec::with_capacity(checks.len());
    let mut records = Vec::with_capacity(checks.len());
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
        let event = g.event_row(realm, &device, &presented, direction, now);
        let qr_use = match (&presented, g.state, &g.credential) {
            (Presented::Rotating(code), CredentialState::Active, Some(c)) => Some(QrUse {
                credential_id: c.id.clone(),
                issued_at: code.issued_at,
                device_id: Some(device.id.clone()),
                used_at: naive(now),
            }),
            _ => None,
        };
        let passage = match (g.decision.allowed(), &member_id, &g.location_id) {
            (true, Some(member), Some(location)) => Some(Passage {
                location_id: location.clone(),
                member_id: member.clone(),
                entered: (direction == Direction::In).then(|| (naive(now), device.id.clone())),
                was_inside: g.inside,
                timed_out_before: naive(now - Duration::hours(PRESENCE_TIMEOUT_HOURS)),
                anti_passback: device.anti_passback,
            }),
            _ => None,
        };
        let result = g.result(Some(event.id.clone()), false);
        let published = NewEvent {
            type_name: if g.decision.allowed() {
                "access.checked_in"
            } else {
                "access.denied"
            },
            subject: member_id,
            data: event_data(&event, &result),
            request_id: Some(check.ctx.request_id.clone()).filter(|r| !r.is_empty()),
        };
        records.push(Record {
            event,
            qr_use,
            passage,
            device: (device.id.clone(), device.last_seen_at),
            published,
        });
        answers.push(Ok(result));
    }
    (answers, records)
}

impl App {
    /// The checks waiting to be decided.
    pub(crate) fn door_desk(&self) -> &DoorDesk {
        &self.inner.doors
    }

    /// What the door desk keeps of the facts that change seldom.
    pub(crate) fn door_memory(&self) -> &DoorMemory {
        &self.inner.door_memory
    }

    /// Decides an online check with the others of its brand that arrive meanwhile, and has it recorded.
    pub(crate) async fn decide_recorded(
        &self,
        tenant: &str,
        check: Check,
    ) -> AppResult<CheckResult> {
        let (reply, answer) = oneshot::channel();
        if self.door_desk().push(tenant, Waiting { check, reply }) {
            let (app, tenant) = (self.clone(), tenant.to_owned());
            tokio::spawn(async move { app.run_decider(tenant).await });
        }
        answer
            .await
            .map_err(|_| AppError::Internal("the door desk dropped a check".into()))?
    }

    /// Decides a check without recording it.
    pub(crate) async fn decide_dry(&self, tenant: &str, check: Check) -> AppResult<CheckResult> {
        let place = PlaceGuard::new(self, self.door_desk().place(tenant, false));
        let (app, floor, tenant) = (self.clone(), place.place.floor, tenant.to_owned());
        self.reading_in_place(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                let overlay = || Ok(app.door_desk().overlay(&tenant, floor));
                let known = app.door_memory().recall(&app, s)?;
                let seen = read_checks(s, &known, std::slice::from_ref(&check), true, overlay)?
                    .pop()
                    .ok_or_else(|| AppError::Internal("a check was not decided".into()))??;
                Ok(seen.gathered.result(None, true))
            })
        })
        .await
    }

    /// Waits until the brand's decided records are written (for at most a few seconds: a database that cannot be
    /// reached must not hang its readers). Readers of the log and of presence call it first.
    pub(crate) async fn door_records_written(&self, tenant: &str) {
        let Some((last, mut written)) = self.door_desk().last_decided(tenant) else {
            return;
        };
        let wait = written.wait_for(|w| *w >= last);
        if tokio::time::timeout(WRITTEN_WAIT, wait).await.is_err() {
            tracing::warn!(realm = %tenant, "door records not written yet; reading without them");
        }
    }

    /// Writes every brand's decided records, for at most `grace` (a stopping server).
    pub async fn write_door_records(&self, grace: std::time::Duration) {
        let tenants = self.door_desk().tenants();
        let all = futures::future::join_all(tenants.iter().map(|t| self.door_records_written(t)));
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::error!("door records left unwritten at shutdown");
        }
    }

    /// Waits while too many decided records wait to be written.
    async fn wait_for_writer(&self, tenant: &str) {
        while let Some((oldest, mut written)) = self.door_desk().behind(tenant) {
            let _ = written.wait_for(|w| *w >= oldest).await;
        }
    }

    /// Takes groups of the brand's waiting checks until none is left.
    async fn run_decider(self, tenant: String) {
        let mut guard = TaskGuard {
            app: self.clone(),
            tenant: tenant.clone(),
            role: Role::Decider,
            finished: false,
        };
        loop {
            self.wait_for_writer(&tenant).await;
            let Some((group, place)) = self.door_desk().next_group(&tenant) else {
                guard.finished = true;
                return;
            };
            let place = PlaceGuard::new(&self, place);
            let (checks, replies): (Vec<Check>, Vec<_>) =
                group.into_iter().map(|w| (w.check, w.reply)).unzip();
            tracing::debug!(realm = %tenant, checks = checks.len(), "door checks decided together");
            let answers = self.decide_group(&tenant, checks.into(), place).await;
            for (reply, answer) in replies.into_iter().zip(answers) {
                // The caller may have gone (a closed connection); its check is recorded all the same.
                let _ = reply.send(answer);
            }
        }
    }

    /// Reads a group at its place, decides it in its turn and hands its records to the writer; when the group's
    /// reading fails, each check alone.
    async fn decide_group(
        &self,
        tenant: &str,
        checks: Arc<[Check]>,
        place: PlaceGuard,
    ) -> Vec<AppResult<CheckResult>> {
        let read = {
            let (tenant, checks, app) = (tenant.to_owned(), Arc::clone(&checks), self.clone());
            let (floor, ticket) = (place.place.floor, place.place.ticket);
            self.reading_in_place(move |db| {
                db.scoped(&tenant, TxMode::Read, |s| {
                    let overlay = || {
                        if let Some(ticket) = ticket {
                            // The groups before this one decide first: this one must see them.
                            let mut settled = app.door_desk().settled(&tenant);
                            let turn = settled.wait_for(|s| *s >= ticket);
                            futures::executor::block_on(turn)
                                .map_err(|_| AppError::Internal("the door desk stopped".into()))?;
                        }
                        Ok(app.door_desk().overlay(&tenant, floor))
                    };
                    let known = app.door_memory().recall(&app, s)?;
                    let seen = read_checks(s, &known, &checks, true, overlay)?;
                    Ok(answer_checks(s.realm_key(), &checks, seen))
                })
            })
            .await
        };
        match read {
            Ok((answers, records)) => {
                if !records.is_empty() {
                    let ctx = checks[0].ctx.clone();
                    if self.door_desk().decided(tenant, Decided { ctx, records }) {
                        let (app, tenant) = (self.clone(), tenant.to_owned());
                        tokio::spawn(async move { app.run_writer(tenant).await });
                    }
                }
                // Settles this group's turn now that its records are in (the next group may decide).
                drop(place);
                answers
            }
            Err(e) if checks.len() == 1 => vec![Err(e)],
            Err(_) => {
                drop(place);
                let mut answers = Vec::with_capacity(checks.len());
                for check in checks.iter() {
                    let one = Arc::from(vec![check.clone()]);
                    let place = PlaceGuard::new(self, self.door_desk().place(tenant, true));
                    let mut one = Box::pin(self.decide_group(tenant, one, place)).await;
                    answers.push(
                        one.pop()
                            .unwrap_or_else(|| Err(AppError::Internal("no answer".into()))),
                    );
                }
                answers
            }
        }
    }

    /// Writes the brand's decided records, oldest first, until none is left.
    async fn run_writer(self, tenant: String) {
        let mut guard = TaskGuard {
            app: self.clone(),
            tenant: tenant.clone(),
            role: Role::Writer,
            finished: false,
        };
        let mut started: Option<tokio::time::Instant> = None;
        loop {
            // Runs start at most every `write_every` unless the writer is behind: larger runs cost less per
            // record, and no door waits for them.
            if let Some(started) = started {
                if self.door_desk().unwritten_records(&tenant) < MAX_RUN {
                    tokio::time::sleep_until(started + self.door_desk().write_every()).await;
                }
            }
            let run = self.door_desk().next_run(&tenant);
            started = Some(tokio::time::Instant::now());
            let Some(last) = run.last().map(|(n, _)| *n) else {
                guard.finished = true;
                return;
            };
            let run: Vec<Arc<Decided>> = run.into_iter().map(|(_, d)| d).collect();
            self.write_run(&tenant, &run).await;
            self.door_desk().written(&tenant, last);
        }
    }

    /// Writes a run: plainly, then carefully if another process recorded the same meanwhile, and carefully again
    /// if what that process was still writing when the careful run read refuses it (it is read then). A run the
    /// database refuses for a record's data is written record by record, and a record refused alone is logged and
    /// dropped; any other failure (the database cannot be reached, is busy) is tried again, backing off, until it
    /// passes.
    async fn write_run(&self, tenant: &str, run: &[Arc<Decided>]) {
        let records = run.iter().map(|d| d.records.len()).sum::<usize>();
        // Tests read this line to know a run was taken (`writer_runs` in tests/api/door_writes.rs): keep its words.
        tracing::debug!(realm = %tenant, records, "door records written together");
        let mut pause = Pause::default();
        let (mut care, mut refused_carefully) = (Care::Plain, false);
        loop {
            match self.write_once(tenant, run, None, care).await {
                Ok(()) => return,
                Err(e) if is_concurrent(&e) => {
                    // Refused carefully: what another process was still writing when the run read has committed
                    // since, and the next read sees it. Only when that keeps happening does the writer pause.
                    if refused_carefully {
                        tracing::warn!(realm = %tenant, records,
                            "door records refused again after a careful read; another process keeps writing the same members or codes");
                        pause.sleep().await;
                    }
                    refused_carefully = care == Care::Careful;
                    care = Care::Careful;
                }
                Err(error) if recording::is_refused(&error) => break,
                Err(error) => {
                    tracing::warn!(realm = %tenant, %error, records, "door records wait for the database");
                    pause.sleep().await;
                }
            }
        }
        tracing::warn!(realm = %tenant, records, "a door record was refused; writing them one by one");
        for (g, decided) in run.iter().enumerate() {
            for (r, record) in decided.records.iter().enumerate() {
                let mut pause = Pause::default();
                loop {
                    match self
                        .write_once(tenant, run, Some((g, r)), Care::Careful)
                        .await
                    {
                        Ok(()) => break,
                        Err(error) if recording::is_refused(&error) => {
                            tracing::error!(realm = %tenant, %error, event_id = %record.event.id,
                                member_id = ?record.event.member_id, decision = %record.event.decision,
                                "a door record cannot be written and is dropped");
                            break;
                        }
                        Err(error) => {
                            tracing::warn!(realm = %tenant, %error, "door records wait for the database");
                            pause.sleep().await;
                        }
                    }
                }
            }
        }
    }

    /// Writes a run's records in one transaction, or only its `one` record (group, record).
    async fn write_once(
        &self,
        tenant: &str,
        run: &[Arc<Decided>],
        one: Option<(usize, usize)>,
        care: Care,
    ) -> AppResult<()> {
        let (tenant, run) = (tenant.to_owned(), run.to_vec());
        self.in_background(move |db| {
            let records: Vec<&Record> = match one {
                None => run.iter().flat_map(|d| &d.records).collect(),
                Some((g, r)) => run
                    .get(g)
                    .and_then(|d| d.records.get(r))
                    .into_iter()
                    .collect(),
            };
            let Some(first) = run.first() else {
                return Ok(());
            };
            db.scoped(&tenant, TxMode::Write, |s| {
                recording::write(s, &first.ctx, &records, care)
            })
        })
        .await
    }
}

/// The wait between tries of a write: 0.1 s, doubling up to 5 s.
struct Pause(std::time::Duration);

impl Default for Pause {
    fn default() -> Pause {
        Pause(std::time::Duration::from_millis(100))
    }
}

impl Pause {
    async fn sleep(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(std::time::Duration::from_secs(5));
    }
}
