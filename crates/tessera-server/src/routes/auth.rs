//! Tokens: login, refresh, logout, invitation acceptance, and the published signing keys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_app::auth::TokenPair;
use tessera_app::keys::Jwk;
use tessera_app::{App, AppError};
use tessera_domain::FieldError;

use crate::extract::{ApiJson, PublicCtx};
use crate::problem::{ApiError, Problem};

/// Longest opaque token accepted in a body.
const MAX_TOKEN_LEN: usize = 200;

/// Credentials.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A refresh token.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// An invitation's acceptance.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInviteRequest {
    /// The invitation token.
    pub token: String,
    /// The new password (12 to 128 characters).
    pub password: String,
}

/// A JSON Web Key Set.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Jwks {
    /// Current, next and recently retired keys.
    pub keys: Vec<Jwk>,
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.len() > max {
        return Err(AppError::invalid(
            field,
            FieldError::new("", "too_long", format!("at most {max} characters")),
        )
        .into());
    }
    Ok(())
}

/// `POST /api/v1/auth/token`: log in with e-mail and password.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn token(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    body: ApiJson<TokenRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    let request = body.value;
    check_len("email", &request.email, 254)?;
    check_len("password", &request.password, 1024)?;
    Ok(Json(
        app.login(&ctx, &request.email, &request.password).await?,
    ))
}

/// `POST /api/v1/auth/refresh`: rotate a refresh token. Presenting a used one revokes its whole family.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem)))]
pub async fn refresh(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    body: ApiJson<RefreshRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    check_len("refresh_token", &body.value.refresh_token, MAX_TOKEN_LEN)?;
    Ok(Json(
        app.refresh_tokens(&ctx, &body.value.refresh_token).await?,
    ))
}

/// `POST /api/v1/auth/logout`: revoke the refresh token's family.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Logged out")))]
pub async fn logout(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    body: ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    check_len("refresh_token", &body.value.refresh_token, MAX_TOKEN_LEN)?;
    app.logout(&ctx, &body.value.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/auth/accept-invite`: set a password with an invitation token.
#[utoipa::path(post, path = "/api/v1/auth/accept-invite", tag = "auth", request_body = AcceptInviteRequest,
    responses((status = 204, description = "The account is active"), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn accept_invite(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    body: ApiJson<AcceptInviteRequest>,
) -> Result<StatusCode, ApiError> {
    check_len("token", &body.value.token, MAX_TOKEN_LEN)?;
    app.accept_invite(&ctx, &body.value.token, &body.value.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /.well-known/jwks.json`: the public keys that verify access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", responses((status = 200, body = Jwks)))]
pub async fn jwks(State(app): State<App>) -> Json<Jwks> {
    let ttl = chrono::Duration::seconds(app.settings().auth.access_token_ttl_secs);
    Json(Jwks {
        keys: app.keys().jwks(app.clock().now(), ttl),
    })
}

/// A password-reset request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The account's e-mail address.
    pub email: String,
}

/// A new password with the token from the reset e-mail.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The token from the e-mail's link.
    pub token: String,
    /// The new password (12 to 128 characters).
    pub password: String,
}

/// `POST /api/v1/auth/password-reset`: e-mail a single-use reset link, if the address has an account. The
/// answer is the same either way.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses((status = 202, description = "If the address has an account, a link is on its way")))]
pub async fn password_reset(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    body: ApiJson<PasswordResetRequest>,
) -> Result<StatusCode, ApiError> {
    check_len("email", &body.value.email, 254)?;
    app.request_password_reset(&ctx, &body.value.email).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `POST /api/v1/auth/password-reset/confirm`: set the new password (once per link); the account's sessions end.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirm,
    responses((status = 204, description = "The password is changed"), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn password_reset_confirm(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    body: ApiJson<PasswordResetConfirm>,
) -> Result<StatusCode, ApiError> {
    check_len("token", &body.value.token, MAX_TOKEN_LEN)?;
    app.confirm_password_reset(&ctx, &body.value.token, &body.value.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An address-verification token.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The token from the e-mail's link.
    pub token: String,
}

/// `POST /api/v1/auth/verify-email`: prove the address with the e-mailed token (once).
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = VerifyEmailRequest,
    responses((status = 204, description = "The address is verified"), (status = 401, body = Problem)))]
pub async fn verify_email(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    body: ApiJson<VerifyEmailRequest>,
) -> Result<StatusCode, ApiError> {
    check_len("token", &body.value.token, MAX_TOKEN_LEN)?;
    app.verify_email(&ctx, &body.value.token).await?;
    Ok(StatusCode::NO_CONTENT)
}
