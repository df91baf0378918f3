//! The member's bookings, the brand's today view, and calendar feeds.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tessera_app::scheduling::dashboards::{MyBookings, Today};
use tessera_app::App;

use crate::extract::{PublicCtx, RealmCaller};
use crate::problem::{ApiError, Problem};

/// `GET /api/v1/me/bookings`: the caller's upcoming bookings and history.
#[utoipa::path(get, path = "/api/v1/me/bookings", tag = "scheduling", security(("bearer" = [])),
    responses((status = 200, body = MyBookings), (status = 401, body = Problem)))]
pub async fn my_bookings(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<MyBookings>, ApiError> {
    Ok(Json(app.my_bookings(&caller.0).await?))
}

/// `GET /api/v1/members/{id}/bookings`: a member's upcoming bookings and history, for the desk (`members.read`).
#[utoipa::path(get, path = "/api/v1/members/{id}/bookings", tag = "scheduling", security(("bearer" = [])),
    params(("id" = String, Path, description = "Member id")),
    responses((status = 200, body = MyBookings), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn member_bookings(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<MyBookings>, ApiError> {
    Ok(Json(app.member_bookings(&caller.0, &id).await?))
}

/// `GET /api/v1/dashboard/today`: the brand's day (`dashboard.read`).
#[utoipa::path(get, path = "/api/v1/dashboard/today", tag = "scheduling", security(("bearer" = [])),
    responses((status = 200, body = Today), (status = 403, body = Problem)))]
pub async fn today(State(app): State<App>, caller: RealmCaller) -> Result<Json<Today>, ApiError> {
    Ok(Json(app.dashboard_today(&caller.0).await?))
}

/// A calendar feed's secret URL.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedUrl {
    /// The URL to give a calendar client; anyone with it reads the calendar until a new one is issued.
    pub url: String,
    /// The same, as a path on this host.
    pub path: String,
}

/// `POST /api/v1/me/calendar-feed`: issue the caller's private calendar URL (revokes the previous one).
#[utoipa::path(post, path = "/api/v1/me/calendar-feed", tag = "scheduling", security(("bearer" = [])),
    responses((status = 201, body = FeedUrl), (status = 401, body = Problem)))]
pub async fn issue_feed(
    State(app): State<App>,
    caller: RealmCaller,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<FeedUrl>), ApiError> {
    let feed = app.issue_calendar_feed(&caller.0).await?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let bare = host.split(':').next().unwrap_or(host);
    let scheme = if bare == "localhost" || bare.ends_with(".localhost") || bare == "127.0.0.1" {
        "http"
    } else {
        "https"
    };
    let url = format!("{scheme}://{host}{}", feed.path);
    Ok((
        StatusCode::CREATED,
        Json(FeedUrl {
            url,
            path: feed.path,
        }),
    ))
}

/// `GET /api/v1/calendar/{file}`: an iCalendar feed, `file` being `<token>.ics`; no bearer token (the URL is the
/// secret).
#[utoipa::path(get, path = "/api/v1/calendar/{file}", tag = "scheduling",
    params(("file" = String, Path, description = "`<token>.ics` from `POST /api/v1/me/calendar-feed`")),
    responses((status = 200, description = "text/calendar (RFC 5545)", content_type = "text/calendar"), (status = 404, body = Problem)))]
pub async fn feed(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let text = app.calendar_feed(&ctx, &file).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        text,
    )
        .into_response())
}
