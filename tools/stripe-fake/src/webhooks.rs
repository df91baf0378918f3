//! Webhook delivery: events go on a bounded queue; a dispatcher applies the switches (hold, duplicate,
//! reorder) and posts each event, signed as Stripe signs (`Stripe-Signature: t=…,v1=…`), retrying
//! failures with a doubling delay.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::{mpsc, Semaphore};

use crate::state::{now, StoredEvent, WebhookTarget};
use crate::{lock, Shared};

/// One event to deliver to one endpoint.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The event.
    pub event: StoredEvent,
    /// Its endpoint.
    pub target: WebhookTarget,
}

/// Order of deliveries within a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// As raised (deliveries still run concurrently, as Stripe's do).
    #[default]
    AsRaised,
    /// Newest first, one at a time.
    Reverse,
    /// Random order, one at a time.
    Shuffle,
}

/// The delivery switches, set through `POST /_control/webhooks`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct Switches {
    /// Deliver each event this many times (same id, each delivery signed anew).
    pub duplicate: u32,
    /// Order within a batch.
    pub order: Order,
    /// How long the dispatcher gathers events into one batch when reordering, in milliseconds.
    pub batch_window_ms: u64,
    /// Keep events instead of delivering them, until `POST /_control/webhooks/release`.
    pub hold: bool,
}

impl Default for Switches {
    fn default() -> Self {
        Switches {
            duplicate: 1,
            order: Order::AsRaised,
            batch_window_ms: 100,
            hold: false,
        }
    }
}

/// One delivery attempt, as recorded for the control API.
#[derive(Clone, Debug, Serialize)]
pub struct Attempt {
    /// `evt_…`.
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// 1 for the first try of this copy, then 2, 3…
    pub attempt: u32,
    /// HTTP status answered, if any.
    pub status: Option<u16>,
    /// Transport error, if any.
    pub error: Option<String>,
}

/// Most attempts kept in the log (a benchmark must not grow it without bound).
const LOG_LIMIT: usize = 1_000_000;

/// The queue's sending side, the switches, held events and the attempt log.
pub struct Hooks {
    tx: mpsc::Sender<Delivery>,
    /// Current switches.
    pub switches: Mutex<Switches>,
    /// Events held while `hold` is on.
    pub held: Mutex<Vec<Delivery>>,
    /// Every attempt made, oldest first.
    pub log: Mutex<Vec<Attempt>>,
    /// Deliveries queued or in flight, so tests can wait until everything was sent.
    pub in_flight: std::sync::atomic::AtomicUsize,
}

impl Hooks {
    /// A queue of the given capacity and its receiving side for [`run_dispatcher`].
    pub fn new(capacity: usize) -> (Hooks, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let hooks = Hooks {
            tx,
            switches: Mutex::new(Switches::default()),
            held: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
        };
        (hooks, rx)
    }

    /// Queues an event for its endpoint if the endpoint wants it; waits when the queue is full.
    pub async fn enqueue(&self, delivery: Delivery) {
        if !delivery.target.wants(&delivery.event.event_type) {
            return;
        }
        self.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.tx.send(delivery).await.is_err() {
            self.in_flight
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// The `Stripe-Signature` header for a payload: `t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload">`, keyed
/// with the whole endpoint secret.
pub fn signature_header(secret: &str, timestamp: i64, payload: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return format!("t={timestamp}"),
    };
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Takes batches off the queue and delivers them according to the switches.
pub async fn run_dispatcher(shared: Arc<Shared>, mut rx: mpsc::Receiver<Delivery>) {
    let client = match webhook_client(shared.config.webhooks.timeout) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("stripe-fake cannot build its webhook client: {e}");
            return;
        }
    };
    let permits = Arc::new(Semaphore::new(shared.config.webhooks.concurrency.max(1)));
    while let Some(first) = rx.recv().await {
        let switches = lock(&shared.hooks.switches).clone();
        let mut batch = vec![first];
        if switches.order != Order::AsRaised {
            tokio::time::sleep(Duration::from_millis(switches.batch_window_ms)).await;
        }
        while batch.len() < 10_000 {
            match rx.try_recv() {
                Ok(d) => batch.push(d),
                Err(_) => break,
            }
        }
        if lock(&shared.hooks.switches).hold {
            lock(&shared.hooks.held).extend(batch);
            continue;
        }
        let sequential = switches.order != Order::AsRaised;
        deliver_batch(&shared, &client, &permits, batch, &switches, sequential).await;
    }
}

/// Delivers held events now, in the given order.
pub async fn release(shared: &Arc<Shared>, order: Order) {
    let batch = std::mem::take(&mut *lock(&shared.hooks.held));
    let switches = Switches {
        order,
        ..lock(&shared.hooks.switches).clone()
    };
    let client = webhook_client(shared.config.webhooks.timeout).unwrap_or_default();
    let permits = Arc::new(Semaphore::new(1));
    // Released events go one after another whatever the order, so a test sees exactly that order.
    deliver_batch(shared, &client, &permits, batch, &switches, true).await;
}

async fn deliver_batch(
    shared: &Arc<Shared>,
    client: &reqwest::Client,
    permits: &Arc<Semaphore>,
    mut batch: Vec<Delivery>,
    switches: &Switches,
    sequential: bool,
) {
    let copies = switches.duplicate.max(1);
    match switches.order {
        Order::AsRaised => {}
        Order::Reverse => batch.reverse(),
        Order::Shuffle => batch.shuffle(&mut rand::thread_rng()),
    }
    if sequential {
        for delivery in batch {
            for copy in 0..copies {
                deliver(shared, client, &delivery, copy + 1 == copies).await;
            }
        }
        return;
    }
    for delivery in batch {
        for copy in 0..copies {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (shared, client, delivery) = (shared.clone(), client.clone(), delivery.clone());
            tokio::spawn(async move {
                deliver(&shared, &client, &delivery, copy + 1 == copies).await;
                drop(permit);
            });
        }
    }
}

/// Posts one copy of an event, retrying failures; `last` marks the copy that ends its in-flight count.
async fn deliver(shared: &Arc<Shared>, client: &reqwest::Client, d: &Delivery, last: bool) {
    let config = &shared.config.webhooks;
    let mut delay = config.retry_delay;
    for attempt in 1..=config.retries + 1 {
        let header = signature_header(&d.target.secret, now(), &d.event.payload);
        let result = client
            .post(&d.target.url)
            .header("content-type", "application/json; charset=utf-8")
            .header(
                "user-agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            )
            .header("stripe-signature", header)
            .body(d.event.payload.to_string())
            .send()
            .await;
        let (status, error) = match result {
            Ok(r) => (Some(r.status().as_u16()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        {
            let mut log = lock(&shared.hooks.log);
            if log.len() < LOG_LIMIT {
                log.push(Attempt {
                    event_id: d.event.id.clone(),
                    event_type: d.event.event_type.clone(),
                    attempt,
                    status,
                    error,
                });
            }
        }
        if status.is_some_and(|s| (200..300).contains(&s)) {
            break;
        }
        if attempt <= config.retries {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    if last {
        shared
            .hooks
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Resolves names under `.localhost` to loopback itself (RFC 6761), as browsers do, so that a webhook endpoint
/// can be a brand's host on a test server (`http://atlas.localhost:PORT/...`) without any DNS set-up; other
/// names go to the system resolver.
struct LocalhostResolver;

impl reqwest::dns::Resolve for LocalhostResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if host == "localhost" || host.ends_with(".localhost") {
                let addrs: reqwest::dns::Addrs =
                    Box::new(vec![std::net::SocketAddr::from(([127, 0, 0, 1], 0))].into_iter());
                return Ok(addrs);
            }
            let found = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs: reqwest::dns::Addrs = Box::new(found.collect::<Vec<_>>().into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client that delivers webhooks.
fn webhook_client(timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .dns_resolver(Arc::new(LocalhostResolver))
        .build()
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_stripes_documented_scheme() {
        // `printf '1492774577.{}' | openssl dgst -sha256 -hmac whsec_test`
        assert_eq!(
            super::signature_header("whsec_test", 1_492_774_577, "{}"),
            "t=1492774577,v1=0d0602f6611bd2252dd4b74b58a4528355a7380639a15e6cc21e3059d56d5b8b"
        );
    }
}
