//! The live-event WebSocket and the list of event types.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tessera_app::events::live::{Next, Subscription};
use tessera_app::events::{EventType, TYPES};
use tessera_app::{App, AppError, Ctx};

use crate::extract::{authenticate, ApiQuery, PublicCtx};
use crate::problem::{ApiError, Problem};

/// How often a subscriber's account is read again (a deactivated account or a removed role ends the stream).
const RECHECK_EVERY: Duration = Duration::from_secs(15);
/// Close code sent when the caller is no longer allowed (4000-4999 are the application's).
const CLOSE_UNAUTHORIZED: u16 = 4401;

/// Query of the WebSocket route.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// The access token, for clients that cannot set headers on a WebSocket (browsers); prefer the
    /// `Authorization` header.
    pub access_token: Option<String>,
}

/// `GET /api/v1/events/ws`: upgrade to a WebSocket that streams the realm's events the caller may see, one JSON
/// text message each: `{"id", "type", "time", "data"}`. A subscriber too slow to keep up gets
/// `{"type": "events.lagged", "data": {"missed": N}}` in place of what it missed.
#[utoipa::path(get, path = "/api/v1/events/ws", tag = "events", security(("bearer" = [])), params(StreamQuery),
    responses((status = 101, description = "Switching protocols: the event stream"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 426, body = Problem)))]
pub async fn events_ws(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    match open_stream(app, ctx, &headers, query, upgrade).await {
        Ok(response) => response,
        Err(response) => response,
    }
}

async fn open_stream(
    app: App,
    mut ctx: Ctx,
    headers: &HeaderMap,
    query: StreamQuery,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, Response> {
    let unauthenticated = AppError::Unauthenticated {
        code: "unauthenticated",
        detail: "send a bearer access token".into(),
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_owned)
        .or(query.access_token)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError(unauthenticated).into_response())?;
    let expires =
        authenticate(&mut ctx, &app, token.trim(), false).map_err(IntoResponse::into_response)?;
    let subscription = app
        .subscribe_events(&ctx)
        .await
        .map_err(|e| ApiError(e).into_response())?;
    let upgrade = upgrade.map_err(|_| {
        Problem::new(
            StatusCode::UPGRADE_REQUIRED,
            "websocket_upgrade_required",
            "open this route as a WebSocket",
        )
        .into_response()
    })?;
    let left = u64::try_from(expires - app.clock().now().timestamp()).unwrap_or(0);
    let expiry = tokio::time::Instant::now() + Duration::from_secs(left);
    Ok(upgrade.on_upgrade(move |socket| stream(socket, subscription, ctx, expiry)))
}

async fn stream(
    mut socket: WebSocket,
    mut subscription: Subscription,
    ctx: Ctx,
    expiry: tokio::time::Instant,
) {
    let mut recheck = tokio::time::interval(RECHECK_EVERY);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    recheck.tick().await;
    loop {
        tokio::select! {
            next = subscription.next() => {
                let text = match next {
                    Next::Event(event) => event.json.clone(),
                    Next::Lagged { missed } => serde_json::json!({
                        "type": "events.lagged",
                        "data": { "missed": missed },
                    })
                    .to_string(),
                    Next::Closed => break,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                // Pings are answered by the WebSocket layer; other messages from clients mean nothing here.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            () = tokio::time::sleep_until(expiry) => {
                let frame = CloseFrame { code: CLOSE_UNAUTHORIZED, reason: "token expired".into() };
                let _ = socket.send(Message::Close(Some(frame))).await;
                return;
            }
            _ = recheck.tick() => {
                if subscription.recheck(&ctx).await.is_err() {
                    let frame = CloseFrame { code: CLOSE_UNAUTHORIZED, reason: "no longer allowed".into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    return;
                }
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}

/// `GET /api/v1/events/types`: every event type, for subscribers and webhook filters.
#[utoipa::path(get, path = "/api/v1/events/types", tag = "events",
    responses((status = 200, body = Vec<EventTypeView>)))]
pub async fn event_types(_ctx: PublicCtx) -> Json<Vec<EventTypeView>> {
    Json(TYPES.iter().map(EventTypeView::of).collect())
}

/// An event type.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct EventTypeView {
    /// Its name.
    pub name: &'static str,
    /// What it means.
    pub description: &'static str,
    /// The permission needed to see it about someone else.
    pub visible_with: &'static str,
}

impl EventTypeView {
    fn of(t: &EventType) -> EventTypeView {
        EventTypeView {
            name: t.name,
            description: t.description,
            visible_with: t.visible_with.as_str(),
        }
    }
}
