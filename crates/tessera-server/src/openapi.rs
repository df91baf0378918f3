//! The OpenAPI 3.1 document's frame: title, security scheme, tags. Paths come from the routes themselves.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's frame.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera API", description = "Multi-tenant API of the group's brands. The tenant comes from the Host header; errors are application/problem+json with a stable `code`."),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Tokens, refresh, logout, invitations"),
        (name = "me", description = "The caller"),
        (name = "staff", description = "A brand's staff (admins)"),
        (name = "tenants", description = "The group's brands (operators, group realm)"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "jobs", description = "A brand's background jobs: state, failures, retry"),
        (name = "files", description = "Stored files: streaming upload and download, signed URLs"),
        (name = "devices", description = "Paired devices: kiosks, doors, body analysers; pairing codes and the device's own calls"),
        (name = "access", description = "Door access: credentials, checks, the signed offline allowlist, offline uploads, overrides, occupancy"),
        (name = "body", description = "Body composition: analyser uploads, matching, history, trends, goals, reports"),
        (name = "reports", description = "Reports shared with the CLI and the console: revenue, MRR, members, attendance, pro hours, receivables, check-ins, group"),
        (name = "scheduling", description = "Locations, services, pros' hours and slots, appointments, classes, attendance, dashboards, calendar feeds"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "device",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tdv.<device id>.<secret>")
                    .description(Some("A device's credential from pairing"))
                    .build(),
            ),
        );
    }
}

/// The full OpenAPI document, as served at `/api/v1/openapi.json`.
pub fn api_document() -> utoipa::openapi::OpenApi {
    crate::routes::api_router().split_for_parts().1
}
