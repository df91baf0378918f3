//! The OpenAPI document and a readable docs page.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tessera_app::App;
use utoipa_scalar::{Scalar, Servable};

/// `GET /api/v1/openapi.json`: this API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "health", responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub async fn openapi_json(State(_app): State<App>) -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(|| {
        crate::api_document()
            .to_json()
            .unwrap_or_else(|_| "{}".into())
    });
    let mut response = body.clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `/api/docs`: the docs page (Scalar), which reads the same document.
pub fn router(document: Arc<utoipa::openapi::OpenApi>) -> Router<App> {
    let page: Router<App> = Scalar::with_url("/api/docs", (*document).clone()).into();
    page.layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self' https: 'unsafe-inline'; img-src 'self' data: https:",
        ),
    ))
}
