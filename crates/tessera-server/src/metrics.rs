//! `GET /metrics` in Prometheus text format: HTTP requests by route template and status, latency histograms,
//! database pool usage, job queue depth by status and kind, and job outcomes by kind in this process. Served on
//! the group realm only (the bare host), for the operators' Prometheus.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tessera_app::App;
use tessera_domain::realm::Realm;

use crate::problem::Problem;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    status: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    kind: String,
    outcome: String,
}

/// The HTTP metrics this process records.
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl HttpMetrics {
    /// Empty metrics.
    pub fn new() -> HttpMetrics {
        HttpMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware (on matched routes): counts each request and times it, labelled by its route template.
pub async fn track(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    metrics
        .latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(elapsed);
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// `GET /metrics`: Prometheus text format (group realm only).
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"), (status = 404, body = Problem)))]
pub async fn metrics(
    State(app): State<App>,
    Extension(http): Extension<Arc<HttpMetrics>>,
    Extension(realm): Extension<Realm>,
) -> Response {
    if realm != Realm::Group {
        return Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "metrics are served on the group realm only",
        )
        .into_response();
    }
    let mut registry = Registry::with_prefix("tessera");
    registry.register(
        "http_requests",
        "HTTP requests by route template and status",
        http.requests.clone(),
    );
    registry.register(
        "http_request_duration_seconds",
        "HTTP request latency by route template",
        http.latency.clone(),
    );
    let (connections, idle) = app.db().pool_state();
    let pool_open = Gauge::<i64>::default();
    pool_open.set(i64::from(connections));
    let pool_idle = Gauge::<i64>::default();
    pool_idle.set(i64::from(idle));
    registry.register(
        "db_pool_connections",
        "Open database connections",
        pool_open,
    );
    registry.register(
        "db_pool_idle_connections",
        "Idle database connections",
        pool_idle,
    );
    let max = Gauge::<i64>::default();
    max.set(i64::from(app.settings().database.pool_size));
    registry.register("db_pool_max_connections", "Largest database pool size", max);
    let depth: Family<JobLabels, Gauge> = Family::default();
    match app.job_counts().await {
        Ok(counts) => {
            for (status, kind, n) in counts {
                depth.get_or_create(&JobLabels { status, kind }).set(n);
            }
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot count jobs"),
    }
    registry.register(
        "jobs",
        "Jobs in the queue by status and kind (all processes)",
        depth,
    );
    let outcomes: Family<OutcomeLabels, Counter> = Family::default();
    for ((kind, outcome), n) in app.job_outcomes() {
        outcomes
            .get_or_create(&OutcomeLabels { kind, outcome })
            .inc_by(n);
    }
    registry.register(
        "job_attempts",
        "Job attempts run by this process, by kind and outcome",
        outcomes,
    );
    let webhooks: Family<WebhookLabels, Counter> = Family::default();
    for (outcome, n) in app.webhook_outcomes() {
        webhooks.get_or_create(&WebhookLabels { outcome }).inc_by(n);
    }
    registry.register(
        "webhook_delivery_attempts",
        "Webhook delivery attempts made by this process, by outcome (pending: will be retried)",
        webhooks,
    );
    let sockets: Gauge = Gauge::default();
    sockets.set(app.event_hub().connections());
    registry.register(
        "websocket_connections",
        "Live-event WebSocket subscribers connected to this process",
        sockets,
    );
    let mut body = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut body, &registry) {
        tracing::error!(%error, "metrics: encoding failed");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
