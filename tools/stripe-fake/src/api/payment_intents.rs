//! `/v1/payment_intents`: off-session charges of saved methods, on-session intents confirmed by the client
//! (here by a confirm call), 3-D Secure, SEPA debits that settle later, cancel, search.

use serde_json::{json, Value};

use super::error::{self, ApiError};
use super::params::{self, opt_str};
use super::setup_intents::{method_types, three_ds_action};
use super::{payment_methods, search, Ctx};
use crate::objects;
use crate::state::{index_metadata, new_id, unindex_metadata, Behaviour, Doc};

/// Currencies the fake accepts (Stripe's common presentment currencies); others get 400 as in Stripe.
const CURRENCIES: [&str; 24] = [
    "eur", "usd", "gbp", "chf", "cad", "aud", "nzd", "jpy", "sek", "nok", "dkk", "pln", "czk",
    "huf", "ron", "bgn", "sgd", "hkd", "mxn", "brl", "inr", "aed", "zar", "isk",
];

/// `POST /v1/payment_intents`.
pub fn create(ctx: &mut Ctx<'_>, p: &Value) -> Result<Value, ApiError> {
    let amount = params::opt_int(p, "amount")?.ok_or_else(|| ApiError::missing_param("amount"))?;
    let currency = params::req_str(p, "currency")?.to_lowercase();
    if !CURRENCIES.contains(&currency.as_str()) {
        return Err(ApiError::invalid(
            None,
            Some("currency"),
            format!("Invalid currency: {currency}."),
        ));
    }
    if amount < 1 {
        return Err(ApiError::invalid(
            Some("parameter_invalid_integer"),
            Some("amount"),
            "This value must be greater than or equal to 1.",
        ));
    }
    if amount < 50 {
        return Err(ApiError::invalid(
            Some("amount_too_small"),
            Some("amount"),
            format!("Amount must be at least 50 {currency} cents."),
        ));
    }
    let confirm = params::opt_bool(p, "confirm")?.unwrap_or(false);
    let off_session = off_session(p)?;
    if off_session && !confirm {
        return Err(ApiError::invalid(None, Some("off_session"), "You may only specify `off_session` when confirming the PaymentIntent (`confirm=true`)."));
    }
    let metadata = params::metadata(p)?;
    let id = new_id("pi");
    let mut pi = objects::payment_intent(&id, amount, &currency, ctx.now);
    if let Some(customer) = opt_str(p, "customer") {
        if !ctx.acct.customers.contains_key(customer) {
            return Err(ApiError::no_such("customer", customer, Some("customer")));
        }
        pi["customer"] = customer.into();
    }
    let pm_id = match opt_str(p, "payment_method") {
        Some(pm) => Some(payment_methods::resolve(ctx, pm, "payment_method")?),
        None => None,
    };
    pi["payment_method_types"] = match (p.get("payment_method_types"), &pm_id) {
        (None, Some(pm)) => json!([ctx.acct.payment_methods[pm].obj.value()["type"].clone()]),
        _ => json!(method_types(p)?),
    };
    for field in [
        "description",
        "receipt_email",
        "statement_descriptor",
        "statement_descriptor_suffix",
    ] {
        if let Some(v) = opt_str(p, field) {
            pi[field] = v.into();
        }
    }
    match opt_str(p, "setup_future_usage") {
        None => {}
        Some(u @ ("off_session" | "on_session")) => pi["setup_future_usage"] = u.into(),
        Some(u) => {
            return Err(ApiError::invalid(
                None,
                Some("setup_future_usage"),
                format!("Invalid setup_future_usage: {u}"),
            ))
        }
    }
    if let Some(m) = metadata {
        params::merge_metadata(&mut pi, m);
    }
    if let Some(pm) = &pm_id {
        pi["payment_method"] = pm.clone().into();
        pi["status"] = "requires_confirmation".into();
    }
    index_metadata(&mut ctx.acct.pi_by_metadata, &id, &pi["metadata"]);
    ctx.acct.payment_intents.insert(id.clone(), Doc::new(&pi));
    ctx.acct.pi_order.push(id.clone());
    ctx.emit("payment_intent.created", &pi);
    if confirm {
        return confirm_intent(ctx, &id, p, off_session);
    }
    Ok(pi)
}

fn off_session(p: &Value) -> Result<bool, ApiError> {
    match opt_str(p, "off_session") {
        None | Some("false") => Ok(false),
        Some("true" | "one_off" | "recurring") => Ok(true),
        Some(other) => Err(ApiError::invalid(
            None,
            Some("off_session"),
            format!("Invalid off_session: {other}"),
        )),
    }
}

/// `GET /v1/payment_intents/{id}`.
pub fn retrieve(ctx: &mut Ctx<'_>, id: &str) -> Result<Value, ApiError> {
    ctx.acct
        .payment_intents
        .get(id)
        .map(Doc::value)
        .ok_or_else(|| ApiError::no_such("payment_intent", id, Some("intent")))
}

/// `POST /v1/payment_intents/{id}`: metadata, description, amount before payment.
pub fn update(ctx: &mut Ctx<'_>, id: &str, p: &Value) -> Result<Value, ApiError> {
    let mut pi = retrieve(ctx, id)?;
    let metadata = params::metadata(p)?;
    if let Some(amount) = params::opt_int(p, "amount")? {
        if !matches!(
            pi["status"].as_str(),
            Some("requires_payment_method" | "requires_confirmation")
        ) {
            return Err(ApiError::unexpected_state(
                "payment_intent_unexpected_state",
                "The amount can no longer be changed.",
            ));
        }
        pi["amount"] = amount.into();
    }
    if let Some(d) = opt_str(p, "description") {
        pi["description"] = d.into();
    }
    if let Some(m) = metadata {
        unindex_metadata(&mut ctx.acct.pi_by_metadata, id, &pi["metadata"]);
        params::merge_metadata(&mut pi, m);
        index_metadata(&mut ctx.acct.pi_by_metadata, id, &pi["metadata"]);
    }
    ctx.acct
        .payment_intents
        .insert(id.to_string(), Doc::new(&pi));
    Ok(pi)
}

/// `POST /v1/payment_intents/{id}/confirm`.
pub fn confirm(ctx: &mut Ctx<'_>, id: &str, p: &Value) -> Result<Value, ApiError> {
    let off = off_session(p)?;
    confirm_intent(ctx, id, p, off)
}

fn confirm_intent(
    ctx: &mut Ctx<'_>,
    id: &str,
    p: &Value,
    off_session: bool,
) -> Result<Value, ApiError> {
    let mut pi = retrieve(ctx, id)?;
    let status = pi["status"].as_str().unwrap_or_default().to_string();
    if status != "requires_payment_method" && status != "requires_confirmation" {
        return Err(ApiError::card_state(&pi, &status));
    }
    let pm_id = match opt_str(p, "payment_method") {
        Some(pm) => payment_methods::resolve(ctx, pm, "payment_method")?,
        None => pi["payment_method"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::invalid(
                    Some("payment_intent_unexpected_state"),
                    Some("payment_method"),
                    "You cannot confirm this PaymentIntent because it's missing a payment method.",
                )
            })?,
    };
    let pm = ctx.acct.payment_methods[&pm_id].clone();
    let pm_obj = pm.obj.value();
    let pm_type = pm_obj["type"].as_str().unwrap_or("card");
    if !pi["payment_method_types"]
        .as_array()
        .is_some_and(|a| a.iter().any(|t| t == pm_type))
    {
        return Err(ApiError::invalid(
            Some("payment_intent_incompatible_payment_method"),
            Some("payment_method"),
            format!("The provided PaymentMethod's type ({pm_type}) is not in this PaymentIntent's payment_method_types."),
        ));
    }
    if let Some(owner) = pm_obj["customer"].as_str() {
        if pi["customer"].as_str() != Some(owner) {
            return Err(ApiError::invalid(
                None,
                Some("payment_method"),
                "The provided PaymentMethod belongs to a Customer; please include the Customer in the `customer` parameter.",
            ));
        }
    }
    pi["payment_method"] = pm_id.clone().into();
    pi["last_payment_error"] = Value::Null;
    match pm.behaviour {
        Behaviour::Succeed | Behaviour::AuthOnSetup => Ok(succeed(ctx, id, pi)),
        Behaviour::Decline(code) => decline(ctx, id, pi, &pm_obj, code),
        Behaviour::ChargeFail => decline(ctx, id, pi, &pm_obj, "generic_decline"),
        Behaviour::AuthAlways if off_session => {
            let mut err = error::decline("authentication_required", None);
            err["payment_method"] = pm_obj.clone();
            pi["status"] = "requires_payment_method".into();
            pi["last_payment_error"] = err.clone();
            store(ctx, id, &pi);
            ctx.emit("payment_intent.payment_failed", &pi);
            Err(ApiError::card(err, ("payment_intent", pi)))
        }
        Behaviour::AuthAlways => {
            pi["status"] = "requires_action".into();
            pi["next_action"] = match opt_str(p, "return_url") {
                Some(ret) => json!({"type": "redirect_to_url", "redirect_to_url": {
                    "return_url": ret, "url": format!("{}/_control/3ds/{id}", ctx.base_url)}}),
                None => three_ds_action(ctx.base_url, id),
            };
            store(ctx, id, &pi);
            ctx.emit("payment_intent.requires_action", &pi);
            Ok(pi)
        }
        Behaviour::SepaSucceed | Behaviour::SepaFail => {
            let charge_id = new_id("py");
            let mut charge = objects::charge(&charge_id, &pi, &pm_obj, None, ctx.now);
            charge["status"] = "pending".into();
            charge["paid"] = false.into();
            charge["balance_transaction"] = Value::Null;
            ctx.acct
                .charges
                .insert(charge_id.clone(), Doc::new(&charge));
            ctx.acct.charge_order.push(charge_id.clone());
            pi["status"] = "processing".into();
            pi["latest_charge"] = charge_id.into();
            store(ctx, id, &pi);
            ctx.emit("charge.pending", &charge);
            ctx.emit("payment_intent.processing", &pi);
            ctx.to_settle.push(id.to_string());
            ctx.acct.processing.push(id.to_string());
            Ok(pi)
        }
    }
}

fn store(ctx: &mut Ctx<'_>, id: &str, pi: &Value) {
    ctx.acct
        .payment_intents
        .insert(id.to_string(), Doc::new(pi));
}

/// Charges a PaymentIntent successfully.
fn succeed(ctx: &mut Ctx<'_>, id: &str, mut pi: Value) -> Value {
    let pm = ctx.acct.payment_methods[pi["payment_method"].as_str().unwrap_or_default()]
        .obj
        .value();
    let charge_id = new_id("ch");
    let charge = objects::charge(&charge_id, &pi, &pm, None, ctx.now);
    ctx.acct
        .charges
        .insert(charge_id.clone(), Doc::new(&charge));
    ctx.acct.charge_order.push(charge_id.clone());
    pi["status"] = "succeeded".into();
    pi["amount_received"] = pi["amount"].clone();
    pi["latest_charge"] = charge_id.into();
    pi["next_action"] = Value::Null;
    store(ctx, id, &pi);
    ctx.emit("charge.succeeded", &charge);
    ctx.emit("payment_intent.succeeded", &pi);
    pi.clone()
}

/// Declines a PaymentIntent: a failed charge, `requires_payment_method`, 402 with the intent.
fn decline(
    ctx: &mut Ctx<'_>,
    id: &str,
    mut pi: Value,
    pm: &Value,
    decline_code: &str,
) -> Result<Value, ApiError> {
    let charge_id = new_id("ch");
    let mut err = error::decline(decline_code, Some(&charge_id));
    let charge = objects::charge(
        &charge_id,
        &pi,
        pm,
        Some((
            err["code"].as_str().unwrap_or("card_declined"),
            err["message"].as_str().unwrap_or(""),
        )),
        ctx.now,
    );
    ctx.acct
        .charges
        .insert(charge_id.clone(), Doc::new(&charge));
    ctx.acct.charge_order.push(charge_id.clone());
    err["payment_method"] = pm.clone();
    pi["status"] = "requires_payment_method".into();
    pi["last_payment_error"] = err.clone();
    pi["latest_charge"] = charge_id.into();
    store(ctx, id, &pi);
    ctx.emit("charge.failed", &charge);
    ctx.emit("payment_intent.payment_failed", &pi);
    Err(ApiError::card(err, ("payment_intent", pi)))
}

/// Ends a PaymentIntent's 3-D Secure challenge (control API).
pub fn complete_3ds(ctx: &mut Ctx<'_>, id: &str, success: bool) -> Result<Value, ApiError> {
    let mut pi = retrieve(ctx, id)?;
    if pi["status"] != "requires_action" {
        return Err(ApiError::unexpected_state(
            "payment_intent_unexpected_state",
            "This PaymentIntent is not waiting for authentication.",
        ));
    }
    if success {
        return Ok(succeed(ctx, id, pi));
    }
    pi["status"] = "requires_payment_method".into();
    pi["next_action"] = Value::Null;
    pi["last_payment_error"] = json!({
        "type": "invalid_request_error", "code": "payment_intent_authentication_failure",
        "message": "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
    });
    store(ctx, id, &pi);
    ctx.emit("payment_intent.payment_failed", &pi);
    Ok(pi)
}

/// Settles a `processing` SEPA debit (control API or the configured delay). Returns false when the
/// intent is not processing any more (already settled or unknown).
pub fn settle(ctx: &mut Ctx<'_>, id: &str) -> bool {
    let Some(mut pi) = ctx.acct.payment_intents.get(id).map(Doc::value) else {
        return false;
    };
    if pi["status"] != "processing" {
        return false;
    }
    ctx.acct.processing.retain(|x| x != id);
    let pm_id = pi["payment_method"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let Some(pm) = ctx.acct.payment_methods.get(&pm_id).cloned() else {
        return false;
    };
    let charge_id = pi["latest_charge"].as_str().unwrap_or_default().to_string();
    let mut charge = ctx
        .acct
        .charges
        .get(&charge_id)
        .map(Doc::value)
        .unwrap_or_default();
    if pm.behaviour == Behaviour::SepaFail {
        charge["status"] = "failed".into();
        charge["failure_code"] = "insufficient_funds".into();
        charge["failure_message"] =
            "The bank account has insufficient funds to cover this debit.".into();
        pi["status"] = "requires_payment_method".into();
        pi["last_payment_error"] = json!({
            "type": "card_error", "code": "payment_intent_payment_attempt_failed",
            "decline_code": "insufficient_funds", "charge": charge_id, "payment_method": pm.obj.value(),
            "message": "The payment failed: the bank account has insufficient funds.",
        });
        ctx.acct.charges.insert(charge_id, Doc::new(&charge));
        store(ctx, id, &pi);
        ctx.emit("charge.failed", &charge);
        ctx.emit("payment_intent.payment_failed", &pi);
    } else {
        charge["status"] = "succeeded".into();
        charge["paid"] = true.into();
        charge["balance_transaction"] = format!("txn_{}", &charge_id[3..]).into();
        pi["status"] = "succeeded".into();
        pi["amount_received"] = pi["amount"].clone();
        ctx.acct.charges.insert(charge_id, Doc::new(&charge));
        store(ctx, id, &pi);
        ctx.emit("charge.succeeded", &charge);
        ctx.emit("payment_intent.succeeded", &pi);
    }
    true
}

/// `POST /v1/payment_intents/{id}/cancel`.
pub fn cancel(ctx: &mut Ctx<'_>, id: &str, p: &Value) -> Result<Value, ApiError> {
    let mut pi = retrieve(ctx, id)?;
    let status = pi["status"].as_str().unwrap_or_default().to_string();
    if matches!(status.as_str(), "succeeded" | "canceled" | "processing") {
        return Err(ApiError::unexpected_state(
            "payment_intent_unexpected_state",
            format!("You cannot cancel this PaymentIntent because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action."),
        ));
    }
    let reason = match opt_str(p, "cancellation_reason") {
        None => Value::Null,
        Some(r @ ("duplicate" | "fraudulent" | "requested_by_customer" | "abandoned")) => r.into(),
        Some(r) => {
            return Err(ApiError::invalid(
                None,
                Some("cancellation_reason"),
                format!("Invalid cancellation_reason: {r}"),
            ))
        }
    };
    pi["status"] = "canceled".into();
    pi["canceled_at"] = ctx.now.into();
    pi["cancellation_reason"] = reason;
    pi["next_action"] = Value::Null;
    store(ctx, id, &pi);
    ctx.emit("payment_intent.canceled", &pi);
    Ok(pi)
}

/// `GET /v1/payment_intents/search?query=metadata['invoice_id']:'…'` (immediately consistent here).
pub fn search(ctx: &mut Ctx<'_>, p: &Value) -> Result<Value, ApiError> {
    let clauses = search::parse(params::req_str(p, "query")?)?;
    let acct = &*ctx.acct;
    let matching = search::candidates(&clauses, &acct.pi_by_metadata, &acct.pi_order)
        .map(|id| acct.payment_intents[id].value())
        .filter(|pi| search::matches(pi, &clauses))
        .collect();
    search::page("/v1/payment_intents/search", matching, p)
}

/// `GET /v1/payment_intents?customer=…&limit=…&starting_after=…`, newest first (immediately consistent, as in
/// Stripe: what reconciliation after a crash relies on, unlike search).
pub fn list(ctx: &mut Ctx<'_>, p: &Value) -> Result<Value, ApiError> {
    let limit = params::limit(p)?;
    let customer = p["customer"].as_str();
    let starting_after = p["starting_after"].as_str();
    let mut skipping = starting_after.is_some();
    let mut data = Vec::new();
    let mut has_more = false;
    for id in ctx.acct.pi_order.iter().rev() {
        if skipping {
            skipping = Some(id.as_str()) != starting_after;
            continue;
        }
        let pi = ctx.acct.payment_intents[id].value();
        if customer.is_some_and(|c| pi["customer"].as_str() != Some(c)) {
            continue;
        }
        if data.len() == limit {
            has_more = true;
            break;
        }
        data.push(pi);
    }
    Ok(objects::list("/v1/payment_intents", data, has_more))
}
