//! Sending one delivery: the `webhook.deliver` job reads the delivery, its endpoint and its event, signs the
//! body, POSTs it to the checked addresses, records the attempt, and schedules the next one or gives up.

use std::net::SocketAddr;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use tessera_store::models::events as event_rows;
use tessera_store::models::webhooks::{self, AttemptRow, DeliveryRow};
use tessera_store::{Scoped, TxMode};

use super::policy::is_public;
use super::seal_context;
use crate::events::EventView;
use crate::jobs::JobError;
use crate::{naive, App, AppError, AppResult};

/// `Tessera-Signature` for `body` at `timestamp` (Unix seconds).
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// What one delivery attempt needs, read before the request is sent.
struct Prepared {
    delivery: DeliveryRow,
    url: reqwest::Url,
    secret: String,
    body: Vec<u8>,
}

/// The `webhook.deliver` job: one attempt of one delivery.
pub(crate) async fn deliver(
    app: &App,
    realm_key: &str,
    payload: &serde_json::Value,
) -> Result<(), JobError> {
    let delivery_id = payload["delivery_id"]
        .as_str()
        .ok_or_else(|| JobError::Permanent("payload without delivery_id".into()))?
        .to_owned();
    let realm = realm_key.to_owned();
    let app2 = app.clone();
    let prepared = app
        .blocking(move |db| db.scoped(&realm, TxMode::Write, |s| prepare(&app2, s, &delivery_id)))
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    let Some(prepared) = prepared else {
        return Ok(());
    };
    let settings = app.settings().webhooks.clone();
    let started = app.clock().now();
    let clock = std::time::Instant::now();
    let result = send(&prepared, &settings, started.timestamp()).await;
    let duration_ms = i32::try_from(clock.elapsed().as_millis()).unwrap_or(i32::MAX);
    let finished = app.clock().now();
    let mut delivery = prepared.delivery;
    delivery.attempts += 1;
    let attempt = AttemptRow {
        tenant_id: realm_key.to_owned(),
        delivery_id: delivery.id.clone(),
        attempt: delivery.attempts,
        started_at: naive(started),
        duration_ms,
        status_code: result
            .as_ref()
            .map_or_else(|(code, _)| *code, |code| Some(*code)),
        error: result.as_ref().err().map(|(_, e)| e.clone()),
    };
    delivery.last_status_code = attempt.status_code;
    delivery.last_error = attempt.error.clone();
    delivery.updated_at = naive(finished);
    let outcome = match &result {
        Ok(_) => {
            delivery.status = "succeeded".into();
            delivery.delivered_at = Some(naive(finished));
            delivery.next_attempt_at = None;
            Ok(())
        }
        Err((_, error)) => {
            let next = finished + retry_delay(delivery.attempts, &settings);
            let deadline = delivery.created_at.and_utc()
                + chrono::Duration::hours(settings.retry_window_hours);
            if next > deadline {
                delivery.status = "failed".into();
                delivery.next_attempt_at = None;
                Ok(())
            } else {
                delivery.next_attempt_at = Some(naive(next));
                Err(JobError::RetryAt(error.clone(), next))
            }
        }
    };
    app.outcomes_webhooks(&delivery.status);
    let realm = realm_key.to_owned();
    app.blocking(move |db| {
        db.scoped(&realm, TxMode::Write, |s| {
            webhooks::insert_attempt(s, &attempt)?;
            webhooks::update_delivery(s, &delivery)?;
            Ok(())
        })
    })
    .await
    .map_err(|e| JobError::Retry(e.to_string()))?;
    outcome
}

/// Reads the delivery, its endpoint and its event; `None` when there is nothing to send (already delivered,
/// endpoint gone, event erased), after marking the delivery failed where it is pending.
fn prepare(app: &App, s: &mut Scoped<'_>, delivery_id: &str) -> AppResult<Option<Prepared>> {
    let Some(mut delivery) = webhooks::find_delivery(s, delivery_id)? else {
        return Ok(None);
    };
    if delivery.status != "pending" {
        return Ok(None);
    }
    let endpoint = webhooks::find_endpoint(s, &delivery.endpoint_id)?;
    let event = event_rows::find(s, &delivery.event_id)?;
    let (endpoint, event) = match (endpoint, event) {
        (Some(e), Some(ev)) if e.enabled && e.deleted_at.is_none() => (e, ev),
        (endpoint, event) => {
            delivery.status = "failed".into();
            delivery.last_error = Some(
                if event.is_none() {
                    "the event no longer exists"
                } else if endpoint.is_some_and(|e| e.deleted_at.is_some()) {
                    "the endpoint was deleted"
                } else {
                    "the endpoint is disabled"
                }
                .into(),
            );
            delivery.next_attempt_at = None;
            delivery.updated_at = naive(app.clock().now());
            webhooks::update_delivery(s, &delivery)?;
            return Ok(None);
        }
    };
    let secret = app
        .master()
        .open(&endpoint.secret_sealed, &seal_context(&endpoint.id))?;
    let secret = String::from_utf8(secret)
        .map_err(|_| AppError::Internal("a webhook secret is not text".into()))?;
    let url = reqwest::Url::parse(&endpoint.url)
        .map_err(|e| AppError::Internal(format!("stored webhook URL: {e}")))?;
    let body = serde_json::to_vec(&EventView::of(&event))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Some(Prepared {
        delivery,
        url,
        secret,
        body,
    }))
}

/// Sends one signed request to the checked address; `Ok(status)` on 2xx, else the status (if any) and why.
async fn send(
    prepared: &Prepared,
    settings: &tessera_config::WebhookSettings,
    timestamp: i64,
) -> Result<i32, (Option<i32>, String)> {
    let url = &prepared.url;
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| (None, format!("cannot resolve {host}: {e}")))?
        .collect();
    if addresses.is_empty() {
        return Err((None, format!("{host} has no address")));
    }
    if !settings.allow_private_networks && addresses.iter().any(|a| !is_public(a.ip())) {
        return Err((
            None,
            format!("{host} resolves to a loopback or private address"),
        ));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .resolve_to_addrs(&host, &addresses)
        .user_agent(concat!("Tessera-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| (None, format!("client: {e}")))?;
    let event_id = &prepared.delivery.event_id;
    let response = client
        .post(url.clone())
        .header("content-type", "application/json")
        .header(
            "tessera-signature",
            signature_header(&prepared.secret, timestamp, &prepared.body),
        )
        .header("tessera-event-id", event_id)
        .header("tessera-delivery-id", &prepared.delivery.id)
        .body(prepared.body.clone())
        .send()
        .await
        .map_err(|e| (None, format!("request failed: {e}")))?;
    let status = i32::from(response.status().as_u16());
    if response.status().is_success() {
        Ok(status)
    } else {
        Err((Some(status), format!("the receiver answered {status}")))
    }
}

/// base × 2^(attempts − 1), capped, with up to 10 % jitter.
fn retry_delay(attempts: i32, settings: &tessera_config::WebhookSettings) -> chrono::Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let ms = settings
        .retry_base_ms
        .saturating_mul(1_i64 << exponent)
        .min(settings.retry_max_delay_secs.saturating_mul(1000))
        .max(1);
    let jitter = rand::thread_rng().gen_range(0..=ms / 10);
    chrono::Duration::milliseconds(ms - jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_the_documented_hmac() {
        // HMAC-SHA256("whsec_test", "1700000000.{}"), computed independently with Python's hmac module.
        let header = signature_header("whsec_test", 1_700_000_000, b"{}");
        assert_eq!(
            header,
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }
}
