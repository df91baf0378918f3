//! Stripe's error envelope: `{"error": {"type": …, "code": …, "message": …}}` with the HTTP status Stripe
//! uses for each kind.

use axum::http::StatusCode;
use serde_json::{json, Value};

/// An error answer, with whether Stripe's idempotency layer would save it.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `{"error": …}` body.
    pub body: Value,
    /// Stripe saves results only once an endpoint started executing: declines are saved, parameter
    /// validation failures and missing resources are not.
    pub saved: bool,
}

impl ApiError {
    /// 400 `invalid_request_error` for a bad or missing parameter.
    pub fn invalid(
        code: Option<&str>,
        param: Option<&str>,
        message: impl Into<String>,
    ) -> ApiError {
        let mut error = json!({"type": "invalid_request_error", "message": message.into()});
        if let Some(code) = code {
            error["code"] = code.into();
            error["doc_url"] = format!(
                "https://stripe.com/docs/error-codes/{}",
                code.replace('_', "-")
            )
            .into();
        }
        if let Some(param) = param {
            error["param"] = param.into();
        }
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "error": error }),
            saved: false,
        }
    }

    /// 400 for a missing required parameter.
    pub fn missing_param(param: &str) -> ApiError {
        ApiError::invalid(
            Some("parameter_missing"),
            Some(param),
            format!("Missing required param: {param}."),
        )
    }

    /// 404 `resource_missing`.
    pub fn no_such(kind: &str, id: &str, param: Option<&str>) -> ApiError {
        let mut e = ApiError::invalid(
            Some("resource_missing"),
            param,
            format!("No such {kind}: '{id}'"),
        );
        e.status = StatusCode::NOT_FOUND;
        e
    }

    /// 400 `payment_intent_unexpected_state` (or the setup intent equivalent).
    pub fn unexpected_state(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::invalid(Some(code), None, message)
    }

    /// 400 `payment_intent_unexpected_state` for confirming an intent that cannot be confirmed, with the
    /// intent attached as Stripe does.
    pub fn card_state(pi: &Value, status: &str) -> ApiError {
        let mut e = ApiError::unexpected_state(
            "payment_intent_unexpected_state",
            format!("You cannot confirm this PaymentIntent because it has a status of {status}."),
        );
        e.body["error"]["payment_intent"] = pi.clone();
        e
    }

    /// 402 `card_error` carrying the intent (or payment method) it concerns.
    pub fn card(error: Value, attach: (&str, Value)) -> ApiError {
        let mut error = error;
        error[attach.0] = attach.1;
        ApiError {
            status: StatusCode::PAYMENT_REQUIRED,
            body: json!({ "error": error }),
            saved: true,
        }
    }

    /// 401 for a missing or unknown key.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            body: json!({"error": {"type": "invalid_request_error", "message": message.into()}}),
            saved: false,
        }
    }

    /// 400 `idempotency_error`: the key was used with other parameters.
    pub fn idempotency_mismatch(key: &str) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: json!({"error": {"type": "idempotency_error", "message": format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. \
                 Try using a key other than '{key}' if you meant to execute a different request.")}}),
            saved: false,
        }
    }

    /// 500 `api_error`, as injected by the control API.
    pub fn internal() -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: json!({"error": {"type": "api_error",
                "message": "An unknown error occurred while processing your request (injected by stripe-fake)."}}),
            saved: true,
        }
    }
}

/// The `last_payment_error` / `error` object of a card decline.
pub fn decline(decline_code: &str, charge: Option<&str>) -> Value {
    let (code, message) = match decline_code {
        "insufficient_funds" => ("card_declined", "Your card has insufficient funds."),
        "expired_card" => ("expired_card", "Your card has expired."),
        "authentication_required" => (
            "authentication_required",
            "Your card was declined. This transaction requires authentication.",
        ),
        _ => ("card_declined", "Your card was declined."),
    };
    json!({
        "type": "card_error", "code": code, "decline_code": decline_code, "message": message,
        "charge": charge, "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
    })
}
