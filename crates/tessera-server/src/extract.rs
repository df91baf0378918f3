//! Extractors that turn a request into what handlers need, rejecting with problem documents:
//! strict JSON bodies, query strings, the request's realm and context, and the authenticated caller.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use tessera_app::{Actor, ActorKind, App, AppError, Ctx};
use tessera_domain::realm::Realm;

use crate::problem::{Problem, ProblemField};

/// The request id set by the request-id layer.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A JSON body, strictly parsed: `Content-Type: application/json`, well-formed, no unknown field, every field of
/// the right type. The raw bytes are kept for idempotency fingerprints.
pub struct ApiJson<T> {
    /// The parsed body.
    pub value: T,
    /// The body as received.
    pub raw: Bytes,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let raw = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is too large",
                )
            } else {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    rejection.body_text(),
                )
            }
        })?;
        let value = parse_json(&raw)?;
        Ok(ApiJson { value, raw })
    }
}

/// Parses JSON with the failing field's path: syntax errors are 400 `malformed_json`; unknown fields, missing
/// fields and wrong types are 422 `validation_failed` naming the field.
// A problem is what the request answers with, built at most once per request: boxing it would buy nothing.
#[allow(clippy::result_large_err)]
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(json_problem)?;
    deserializer.end().map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("trailing characters: {e}"),
        )
    })?;
    Ok(value)
}

fn json_problem(error: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    use serde_json::error::Category;
    let path = error.path().to_string();
    let inner = error.into_inner();
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {inner}"),
        ),
        Category::Data => {
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            let (code, field) = if let Some(name) = backticked(&message, "unknown field `") {
                ("unknown_field", join_path(&path, &name))
            } else if let Some(name) = backticked(&message, "missing field `") {
                ("required", join_path(&path, &name))
            } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
                ("invalid_type", path.clone())
            } else {
                ("invalid_value", path.clone())
            };
            let field = if field == "." { String::new() } else { field };
            let mut problem = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("{field}: {message}"),
            );
            problem.errors.push(ProblemField {
                field,
                code: code.to_owned(),
                message,
            });
            problem
        }
    }
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.split(prefix).nth(1)?;
    rest.split('`').next().map(str::to_owned)
}

fn join_path(parent: &str, name: &str) -> String {
    // For unknown fields serde_path_to_error's path already ends with the field itself.
    if parent == "." || parent.is_empty() {
        name.to_owned()
    } else if parent.ends_with(name) {
        parent.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// A query string, parsed with problems on error.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        parse_query(query).map(ApiQuery)
    }
}

#[allow(clippy::result_large_err)]
fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Problem> {
    axum::extract::Query::<T>::try_from_uri(&format!("/?{query}").parse().map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "the query string cannot be read",
        )
    })?)
    .map(|q| q.0)
    .map_err(|e| {
        let text = e.body_text();
        let field = text.split('`').nth(1).unwrap_or_default().to_owned();
        Problem::field(&field, "invalid_query", text)
    })
}

/// The context of a request with no caller: realm, request id, client address.
pub struct PublicCtx(pub Ctx);

impl FromRequestParts<App> for PublicCtx {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &App) -> Result<Self, Self::Rejection> {
        let realm = parts.extensions.get::<Realm>().cloned().ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_FOUND,
                "unknown_host",
                "no tenant is served at this host",
            )
        })?;
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let client_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(PublicCtx(Ctx {
            realm,
            actor: None,
            request_id,
            client_ip,
        }))
    }
}

/// An authenticated caller whose token belongs to the request's realm. With `GROUP_CAPABLE`, a tenant host also
/// accepts an operator's group token (the operator then acts inside that tenant).
pub struct Caller<const GROUP_CAPABLE: bool>(pub Ctx);

/// A caller of a route that only the request's own realm may use.
pub type RealmCaller = Caller<false>;
/// A caller of a group-capable route.
pub type GroupCapableCaller = Caller<true>;

impl<const GROUP_CAPABLE: bool> FromRequestParts<App> for Caller<GROUP_CAPABLE> {
    type Rejection = crate::problem::ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let PublicCtx(mut ctx) = PublicCtx::from_request_parts(parts, app)
            .await
            .map_err(|p| {
                AppError::NotFound(if p.code == "unknown_host" {
                    "tenant"
                } else {
                    "route"
                })
            })?;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthenticated {
                code: "unauthenticated",
                detail: "send a bearer access token".into(),
            })?;
        if token.starts_with(tessera_app::devices::TOKEN_PREFIX) {
            // A paired device's own credential: it may call only device routes (the services refuse the rest).
            ctx.actor = Some(app.authenticate_device(&ctx.realm, token).await?);
        } else {
            authenticate(&mut ctx, app, token, GROUP_CAPABLE)?;
        }
        Ok(Caller(ctx))
    }
}

/// A caller on a route open to everyone: signed in when a bearer token comes (and then it must be valid), anonymous
/// otherwise (the public plan list).
pub struct MaybeCaller(pub Ctx);

impl FromRequestParts<App> for MaybeCaller {
    type Rejection = crate::problem::ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let Caller(ctx) = RealmCaller::from_request_parts(parts, app).await?;
            return Ok(MaybeCaller(ctx));
        }
        let PublicCtx(ctx) = PublicCtx::from_request_parts(parts, app)
            .await
            .map_err(|_| AppError::NotFound("tenant"))?;
        Ok(MaybeCaller(ctx))
    }
}

/// Verifies `token` for the context's realm (and the group audience on a tenant host when `group_capable`) and
/// sets the context's actor; returns when the token expires (Unix seconds).
pub fn authenticate(
    ctx: &mut Ctx,
    app: &App,
    token: &str,
    group_capable: bool,
) -> Result<i64, crate::problem::ApiError> {
    let mut audiences = vec![ctx.realm.audience()];
    if group_capable && matches!(ctx.realm, Realm::Tenant { .. }) {
        audiences.push(Realm::Group.audience());
    }
    let claims = app
        .keys()
        .verify(token, &app.settings().auth.issuer, &audiences)?;
    let kind = match (claims.kind.as_str(), claims.aud == Realm::Group.audience()) {
        ("operator", true) => ActorKind::Operator,
        ("account", false) => ActorKind::Account,
        _ => return Err(AppError::invalid_token("kind and audience disagree").into()),
    };
    ctx.actor = Some(Actor {
        subject_id: claims.sub,
        kind,
    });
    Ok(claims.exp)
}

/// The optional `Idempotency-Key` header.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get("idempotency-key") {
            None => Ok(IdempotencyKey(None)),
            Some(value) => value
                .to_str()
                .map(|v| IdempotencyKey(Some(v.to_owned())))
                .map_err(|_| {
                    Problem::field(
                        "Idempotency-Key",
                        "invalid_idempotency_key",
                        "visible ASCII only",
                    )
                }),
        }
    }
}
