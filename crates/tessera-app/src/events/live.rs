//! The live-event stream: each server process keeps a hub (a broadcast channel) fed from the outbox table by
//! one feeder, and each WebSocket subscriber filters the hub by realm and by what its caller may see.
//!
//! The feeder reads every committed event, whichever process wrote it (another server, the CLI):
//! - PostgreSQL: a session of its own `LISTEN`s on the outbox channel; each `NOTIFY` (sent in the writing
//!   transaction, so delivered only on commit) names an event, which the feeder then reads. After a lost session
//!   it reconnects and catches up by `seq`.
//! - SQLite: it polls the table by `seq`, which grows in commit order there.

use std::sync::Arc;
use std::time::Duration;

use tessera_domain::role::{Permission, Role};
use tessera_store::models::events::{self, EventRow};
use tessera_store::{Database, TxMode};
use tokio::sync::broadcast;

use crate::auth::authorize;
use crate::events::{event_type, EventView};
use crate::{App, AppError, AppResult, Ctx};

/// An event on its way to subscribers.
#[derive(Debug)]
pub struct LiveEvent {
    /// Its realm.
    pub realm_key: String,
    /// Its type.
    pub event_type: String,
    /// The account it is about.
    pub subject_account_id: Option<String>,
    /// The JSON text subscribers receive.
    pub json: String,
}

impl LiveEvent {
    fn of(row: &EventRow) -> LiveEvent {
        LiveEvent {
            realm_key: row.tenant_id.clone(),
            event_type: row.event_type.clone(),
            subject_account_id: row.subject_account_id.clone(),
            json: serde_json::to_string(&EventView::of(row)).unwrap_or_default(),
        }
    }
}

/// One process's hub of live events.
pub struct EventHub {
    sender: broadcast::Sender<Arc<LiveEvent>>,
    connections: std::sync::atomic::AtomicI64,
}

impl EventHub {
    /// A hub whose slowest subscriber may fall `buffer` events behind.
    pub fn new(buffer: usize) -> EventHub {
        EventHub {
            sender: broadcast::channel(buffer.max(1)).0,
            connections: std::sync::atomic::AtomicI64::new(0),
        }
    }

    /// WebSocket subscribers connected to this process now.
    pub fn connections(&self) -> i64 {
        self.connections.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A subscriber's view of the hub: its realm, who it is and what it may see.
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<LiveEvent>>,
    realm_key: String,
    subject_id: String,
    roles: Vec<Role>,
    app: App,
}

/// What a subscriber gets next.
pub enum Next {
    /// An event to send, as JSON text.
    Event(Arc<LiveEvent>),
    /// The subscriber fell behind and `missed` events were dropped for it.
    Lagged {
        /// How many.
        missed: u64,
    },
    /// The process is stopping.
    Closed,
}

impl Subscription {
    /// The next event this subscriber may see.
    pub async fn next(&mut self) -> Next {
        loop {
            match self.receiver.recv().await {
                Ok(event) if self.may_see(&event) => return Next::Event(event),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => return Next::Lagged { missed },
                Err(broadcast::error::RecvError::Closed) => return Next::Closed,
            }
        }
    }

    fn may_see(&self, event: &LiveEvent) -> bool {
        if event.realm_key != self.realm_key {
            return false;
        }
        if event.subject_account_id.as_deref() == Some(self.subject_id.as_str()) {
            return true;
        }
        event_type(&event.event_type).is_some_and(|t| {
            Permission::EventsReadAll.allowed_for(&self.roles)
                && t.visible_with.allowed_for(&self.roles)
        })
    }

    /// Reads the caller again (a deactivated account or a removed role ends the stream); the WebSocket calls it
    /// periodically.
    pub async fn recheck(&mut self, ctx: &Ctx) -> AppResult<()> {
        let principal = self.app.authorize_events(ctx).await?;
        self.roles = principal.roles;
        Ok(())
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.app
            .inner
            .events
            .connections
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl App {
    /// The live-event hub of this process.
    pub fn event_hub(&self) -> &EventHub {
        &self.inner.events
    }

    async fn authorize_events(&self, ctx: &Ctx) -> AppResult<crate::auth::Principal> {
        let realm = ctx.realm.key().to_owned();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&realm, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::EventsSubscribe)
            })
        })
        .await
    }

    /// Subscribes the caller to its realm's live events.
    pub async fn subscribe_events(&self, ctx: &Ctx) -> AppResult<Subscription> {
        let principal = self.authorize_events(ctx).await?;
        self.inner
            .events
            .connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Subscription {
            receiver: self.inner.events.sender.subscribe(),
            realm_key: ctx.realm.key().to_owned(),
            subject_id: principal.id,
            roles: principal.roles,
            app: self.clone(),
        })
    }

    /// Feeds the hub from the outbox until `stop` turns true, on a thread of its own (its database work is
    /// blocking and never ends). Where the feed starts, and on PostgreSQL the `LISTEN`, are settled before this
    /// returns, so that every event committed after a subscriber connects reaches it, however early.
    pub async fn start_event_feeder(
        &self,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> AppResult<std::thread::JoinHandle<()>> {
        let (listener, last_seq) = self
            .blocking(|db| {
                let listener = db.listen(events::CHANNEL)?;
                let last_seq = db.system(TxMode::Read, events::last_seq)?;
                Ok((listener, last_seq))
            })
            .await?;
        let feeder = Feeder {
            db: self.db().clone(),
            sender: self.inner.events.sender.clone(),
            poll: Duration::from_millis(self.settings().events.poll_interval_ms.max(10)),
            stop,
        };
        std::thread::Builder::new()
            .name("tessera-event-feeder".into())
            .spawn(move || feeder.run(listener, last_seq))
            .map_err(|e| AppError::Internal(format!("cannot start the event feeder: {e}")))
    }
}

struct Feeder {
    db: Database,
    sender: broadcast::Sender<Arc<LiveEvent>>,
    poll: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
}

/// How often the PostgreSQL feeder looks for notifications (a local read, no round trip).
const NOTIFY_POLL: Duration = Duration::from_millis(20);
/// How often it checks that its session is alive.
const LISTENER_PING: Duration = Duration::from_secs(5);

impl Feeder {
    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    fn run(self, first: Option<tessera_store::Listener>, mut last_seq: i64) {
        let mut recent = Recent::default();
        let mut listener = first;
        while !self.stopped() {
            let result = match listener.take() {
                Some(listener) => self.follow_notifications(listener, &mut last_seq, &mut recent),
                None if self.db.backend() == tessera_store::Backend::Sqlite => {
                    self.poll_table(&mut last_seq, &mut recent)
                }
                // PostgreSQL after a lost session: listen again, then catch up.
                None => match self.db.listen(events::CHANNEL) {
                    Ok(fresh) => {
                        listener = fresh;
                        continue;
                    }
                    Err(error) => Err(AppError::from(error)),
                },
            };
            if let Err(error) = result {
                tracing::warn!(%error, "event feeder lost the database; reconnecting");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }

    fn send(&self, rows: &[EventRow], last_seq: &mut i64, recent: &mut Recent) {
        for row in rows {
            *last_seq = (*last_seq).max(row.seq);
            if !recent.first_time(&row.id) {
                continue;
            }
            // No subscriber is not an error.
            let _ = self.sender.send(Arc::new(LiveEvent::of(row)));
        }
    }

    /// SQLite: poll by `seq`.
    fn poll_table(&self, last_seq: &mut i64, recent: &mut Recent) -> AppResult<()> {
        while !self.stopped() {
            let rows = self
                .db
                .system(TxMode::Read, |sys| events::after(sys, *last_seq, 500))?;
            let full = rows.len() == 500;
            self.send(&rows, last_seq, recent);
            if !full {
                std::thread::sleep(self.poll);
            }
        }
        Ok(())
    }

    /// PostgreSQL: catch up by `seq` once (events committed while no session listened), then follow `NOTIFY`.
    fn follow_notifications(
        &self,
        mut listener: tessera_store::Listener,
        last_seq: &mut i64,
        recent: &mut Recent,
    ) -> AppResult<()> {
        let missed = self
            .db
            .system(TxMode::Read, |sys| events::after(sys, *last_seq, 10_000))?;
        self.send(&missed, last_seq, recent);
        let mut pinged = std::time::Instant::now();
        while !self.stopped() {
            let payloads = listener.take()?;
            if payloads.is_empty() {
                if pinged.elapsed() > LISTENER_PING {
                    listener.ping()?;
                    pinged = std::time::Instant::now();
                }
                std::thread::sleep(NOTIFY_POLL);
                continue;
            }
            // A payload names one or more events, one `<tenant_id> <event_id>` line each.
            let keys: Vec<(String, String)> = payloads
                .iter()
                .flat_map(|p| p.lines())
                .filter_map(|line| line.split_once(' '))
                .map(|(t, id)| (t.to_owned(), id.to_owned()))
                .collect();
            let rows = self
                .db
                .system(TxMode::Read, |sys| events::find_many(sys, &keys))?;
            self.send(&rows, last_seq, recent);
        }
        Ok(())
    }
}

/// The ids of the last events sent, so that one seen both by the catch-up after a reconnection and by `NOTIFY`
/// goes out once.
#[derive(Default)]
struct Recent {
    order: std::collections::VecDeque<String>,
    seen: std::collections::HashSet<String>,
}

impl Recent {
    const KEEP: usize = 4096;

    fn first_time(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        if self.order.len() == Self::KEEP {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        self.order.push_back(id.to_owned());
        self.seen.insert(id.to_owned());
        true
    }
}
