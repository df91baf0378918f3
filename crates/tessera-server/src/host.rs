//! Resolves the request's realm from its `Host` header (or the URI authority, for HTTP/2): a tenant's configured
//! domain or `<slug>.localhost` is that tenant; `localhost`, loopback addresses and the configured group domains
//! are the group realm; anything else is 404.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tessera_app::tenants::HostRealm;
use tessera_app::App;
use tessera_domain::realm::Realm;

use crate::problem::Problem;

/// Middleware: puts the request's [`Realm`] into its extensions.
pub async fn resolve_realm(State(app): State<App>, mut request: Request, next: Next) -> Response {
    // RFC 9112 section 3.2: a request with more than one Host header is refused, never guessed at.
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let first = hosts.next();
    if hosts.next().is_some() {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_host",
            "more than one Host header",
        )
        .into_response();
    }
    let host = first
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
    let realm = host.as_deref().and_then(|h| {
        app.tenants()
            .resolve_host(h, &app.settings().server.group_domains)
    });
    match realm {
        Some(HostRealm::Group) => {
            request.extensions_mut().insert(Realm::Group);
        }
        Some(HostRealm::Tenant(tenant)) => {
            request.extensions_mut().insert(tenant.realm());
            request.extensions_mut().insert(tenant);
        }
        None => {
            return Problem::new(
                StatusCode::NOT_FOUND,
                "unknown_host",
                "no tenant is served at this host",
            )
            .into_response();
        }
    }
    next.run(request).await
}
