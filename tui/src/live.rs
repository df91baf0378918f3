//! The live check-in feed: a WebSocket to `GET /api/v1/events/ws` with the staff token, whose door decisions
//! (`access.checked_in`, `access.denied`, `access.overridden`) go on top of the feed as they happen. The stream
//! closes when the token expires (or the account loses its role); the feed then reconnects with a fresh token,
//! waiting longer after each failure, and says in its title whether it is live.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::api::Api;
use crate::exec::{feed_row, Updates};

/// The event types the feed shows.
const DOOR_EVENTS: [&str; 3] = ["access.checked_in", "access.denied", "access.overridden"];

/// Follows the stream for as long as the console runs.
pub async fn follow(api: Arc<Mutex<Api>>, updates: Updates) {
    let mut wait = Duration::from_secs(1);
    loop {
        match connect_and_read(&api, &updates).await {
            // The server closed a healthy stream (token expiry): reconnect at once.
            Ok(()) => wait = Duration::from_secs(1),
            Err(e) => {
                let message = format!("live feed: {e}");
                updates.send(move |app| app.error(message));
            }
        }
        updates.send(|app| app.live = false);
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

async fn connect_and_read(api: &Arc<Mutex<Api>>, updates: &Updates) -> anyhow::Result<()> {
    let (addr, host, token) = {
        let mut api = api.lock().await;
        let token = api
            .access_token()
            .await?
            .ok_or_else(|| anyhow::anyhow!("not logged in"))?;
        let (addr, host) = api.endpoint();
        (addr, host, token)
    };
    let mut request = format!("ws://{host}/api/v1/events/ws").into_client_request()?;
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    // The brand's host name resolves to the server's own address, as for the API calls.
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut socket, _) = tokio_tungstenite::client_async(request, stream).await?;
    updates.send(|app| app.live = true);
    while let Some(message) = socket.next().await {
        let text = match message? {
            Message::Text(text) => text,
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(event) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        match event["type"].as_str() {
            Some(kind) if DOOR_EVENTS.contains(&kind) => {
                let row = feed_row(event["data"].clone());
                updates.send(move |app| app.push_checkin(row));
            }
            Some("events.lagged") => {
                updates.send(|app| {
                    app.notice("live feed fell behind: press r on Check-ins to reload")
                });
            }
            _ => {}
        }
    }
    Ok(())
}
