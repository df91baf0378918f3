//! `/v1/refunds`: full or partial refunds of a succeeded payment, never above what is left.

use serde_json::Value;

use super::error::ApiError;
use super::params::{self, opt_str};
use super::Ctx;
use crate::objects;
use crate::state::{new_id, Doc};

/// `POST /v1/refunds` with `payment_intent=pi_…` (or `charge=ch_…`), optional `amount`, `reason`,
/// `metadata`.
pub fn create(ctx: &mut Ctx<'_>, p: &Value) -> Result<Value, ApiError> {
    let charge_id = match (opt_str(p, "payment_intent"), opt_str(p, "charge")) {
        (Some(pi_id), _) => {
            let pi = ctx
                .acct
                .payment_intents
                .get(pi_id)
                .map(Doc::value)
                .ok_or_else(|| {
                    ApiError::no_such("payment_intent", pi_id, Some("payment_intent"))
                })?;
            if pi["status"] != "succeeded" {
                return Err(ApiError::invalid(
                    None,
                    Some("payment_intent"),
                    format!(
                        "This PaymentIntent ({pi_id}) does not have a successful charge to refund."
                    ),
                ));
            }
            pi["latest_charge"].as_str().unwrap_or_default().to_string()
        }
        (None, Some(ch)) => ch.to_string(),
        (None, None) => return Err(ApiError::missing_param("payment_intent")),
    };
    let mut charge = ctx
        .acct
        .charges
        .get(&charge_id)
        .map(Doc::value)
        .ok_or_else(|| ApiError::no_such("charge", &charge_id, Some("charge")))?;
    if charge["status"] != "succeeded" {
        return Err(ApiError::invalid(
            None,
            Some("charge"),
            format!("Charge {charge_id} has not succeeded and cannot be refunded."),
        ));
    }
    let total = charge["amount"].as_i64().unwrap_or(0);
    let refunded = charge["amount_refunded"].as_i64().unwrap_or(0);
    let remaining = total - refunded;
    let amount = params::opt_int(p, "amount")?.unwrap_or(remaining);
    if remaining == 0 {
        return Err(ApiError::invalid(
            Some("charge_already_refunded"),
            None,
            format!("Charge {charge_id} has already been refunded."),
        ));
    }
    if amount < 1 {
        return Err(ApiError::invalid(
            Some("parameter_invalid_integer"),
            Some("amount"),
            "This value must be greater than or equal to 1.",
        ));
    }
    if amount > remaining {
        return Err(ApiError::invalid(
            Some("amount_too_large"),
            Some("amount"),
            format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"),
        ));
    }
    let metadata = params::metadata(p)?;
    let reason = match opt_str(p, "reason") {
        None => Value::Null,
        Some(r @ ("duplicate" | "fraudulent" | "requested_by_customer")) => r.into(),
        Some(r) => {
            return Err(ApiError::invalid(
                None,
                Some("reason"),
                format!("Invalid reason: {r}"),
            ))
        }
    };
    let id = new_id("re");
    let mut refund = objects::refund(&id, &charge, amount, ctx.now);
    refund["reason"] = reason;
    if let Some(m) = metadata {
        params::merge_metadata(&mut refund, m);
    }
    charge["amount_refunded"] = (refunded + amount).into();
    charge["refunded"] = (refunded + amount == total).into();
    ctx.acct.charges.insert(charge_id, Doc::new(&charge));
    ctx.acct.refunds.insert(id.clone(), Doc::new(&refund));
    ctx.acct.refund_order.push(id);
    ctx.emit("refund.created", &refund);
    ctx.emit("charge.refunded", &charge);
    Ok(refund)
}

/// `GET /v1/refunds/{id}`.
pub fn retrieve(ctx: &mut Ctx<'_>, id: &str) -> Result<Value, ApiError> {
    ctx.acct
        .refunds
        .get(id)
        .map(Doc::value)
        .ok_or_else(|| ApiError::no_such("refund", id, Some("id")))
}

/// `GET /v1/refunds?payment_intent=…` (newest first).
pub fn list(ctx: &mut Ctx<'_>, p: &Value) -> Result<Value, ApiError> {
    let limit = params::limit(p)?;
    let pi = opt_str(p, "payment_intent");
    let mut data = Vec::new();
    let mut has_more = false;
    for id in ctx.acct.refund_order.iter().rev() {
        let r = ctx.acct.refunds[id].value();
        if pi.is_some_and(|pi| r["payment_intent"].as_str() != Some(pi)) {
            continue;
        }
        if data.len() == limit {
            has_more = true;
            break;
        }
        data.push(r);
    }
    Ok(objects::list("/v1/refunds", data, has_more))
}
