//! Middleware around every route: request ids, tracing, realm resolution, CORS limited to the realm's own
//! domains, a request body limit and security headers. Order matters: the outermost layer is added last.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::Router;
use tessera_app::tenants::Tenant;
use tessera_app::App;
use tessera_domain::ids::IdKind;
use tessera_domain::realm::Realm;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId as TowerRequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::extract::RequestId;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone, Copy)]
struct MakeTesseraRequestId;

impl MakeRequestId for MakeTesseraRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<TowerRequestId> {
        HeaderValue::from_str(&IdKind::Request.new_id())
            .ok()
            .map(TowerRequestId::new)
    }
}

/// True when `origin` (`https://host[:port]`) is one of the realm's own hosts.
fn origin_allowed(app: &App, origin: &HeaderValue, parts: &axum::http::request::Parts) -> bool {
    let Some(host) = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest)
    else {
        return false;
    };
    match parts.extensions.get::<Realm>() {
        Some(Realm::Tenant { .. }) => parts
            .extensions
            .get::<Arc<Tenant>>()
            .is_some_and(|tenant| app.tenants().origin_allowed(tenant, host)),
        Some(Realm::Group) => {
            let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
            app.settings()
                .server
                .group_domains
                .iter()
                .any(|d| d == host)
        }
        None => false,
    }
}

/// Wraps the router in every layer.
pub fn apply(router: Router, app: App) -> Router {
    let body_limit = app.settings().server.body_limit_bytes;
    let cors_app = app.clone();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, parts| {
            origin_allowed(&cors_app, origin, parts)
        }))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([REQUEST_ID, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600));
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        })
        // One line per request at debug (tower-http's default level), so that busy servers do not spend their
        // time writing access logs; server errors are logged at error by the failure hook and the services.
        .on_response(|response: &axum::response::Response, latency: Duration, _span: &tracing::Span| {
            tracing::debug!(status = response.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "response");
        });
    let security = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    router
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(cors)
        .layer(axum::middleware::from_fn_with_state(
            app,
            crate::host::resolve_realm,
        ))
        .layer(axum::middleware::from_fn(copy_request_id))
        .layer(security("x-content-type-options", "nosniff"))
        .layer(security("x-frame-options", "DENY"))
        .layer(security("referrer-policy", "no-referrer"))
        .layer(security(
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        ))
        .layer(security(
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .layer(security("cache-control", "no-store"))
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeTesseraRequestId))
}

/// Makes the request id available to extractors.
async fn copy_request_id(
    mut request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(id) = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    {
        request.extensions_mut().insert(RequestId(id));
    }
    next.run(request).await
}
