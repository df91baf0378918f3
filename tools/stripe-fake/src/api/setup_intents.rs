//! `/v1/setup_intents`: saving a card or a SEPA mandate for off-session use. Confirming here stands in
//! for Stripe Elements confirming with the client secret in the browser.

use serde_json::{json, Value};

use super::error::{self, ApiError};
use super::params::{self, opt_str};
use super::{payment_methods, Ctx};
use crate::objects;
use crate::state::{new_id, Behaviour, Doc};

/// Payment method types the fake supports in `payment_method_types[]`.
pub const SUPPORTED_TYPES: [&str; 2] = ["card", "sepa_debit"];

/// Validates `payment_method_types[]`, defaulting to `["card"]`.
pub fn method_types(p: &Value) -> Result<Vec<String>, ApiError> {
    let types: Vec<String> = match p.get("payment_method_types") {
        None => vec!["card".to_string()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            return Err(ApiError::invalid(
                None,
                Some("payment_method_types"),
                "Invalid array",
            ))
        }
    };
    if let Some(bad) = types
        .iter()
        .find(|t| !SUPPORTED_TYPES.contains(&t.as_str()))
    {
        return Err(ApiError::invalid(
            None,
            Some("payment_method_types"),
            format!("The payment method type provided: {bad} is invalid or not supported by stripe-fake."),
        ));
    }
    Ok(types)
}

/// `POST /v1/setup_intents`.
pub fn create(ctx: &mut Ctx<'_>, p: &Value) -> Result<Value, ApiError> {
    let id = new_id("seti");
    let mut si = objects::setup_intent(&id, ctx.now);
    if let Some(customer) = opt_str(p, "customer") {
        if !ctx.acct.customers.contains_key(customer) {
            return Err(ApiError::no_such("customer", customer, Some("customer")));
        }
        si["customer"] = customer.into();
    }
    si["payment_method_types"] = json!(method_types(p)?);
    match opt_str(p, "usage") {
        None | Some("off_session") => {}
        Some("on_session") => si["usage"] = "on_session".into(),
        Some(other) => {
            return Err(ApiError::invalid(
                None,
                Some("usage"),
                format!("Invalid usage: {other}"),
            ))
        }
    }
    if let Some(d) = opt_str(p, "description") {
        si["description"] = d.into();
    }
    if let Some(m) = params::metadata(p)? {
        params::merge_metadata(&mut si, m);
    }
    let confirm = params::opt_bool(p, "confirm")?.unwrap_or(false);
    if let Some(pm) = opt_str(p, "payment_method") {
        let pm_id = payment_methods::resolve(ctx, pm, "payment_method")?;
        si["payment_method"] = pm_id.into();
        if !confirm {
            si["status"] = "requires_confirmation".into();
        }
    }
    ctx.acct.setup_intents.insert(id.clone(), Doc::new(&si));
    ctx.emit("setup_intent.created", &si);
    if confirm {
        return confirm_intent(ctx, &id, p);
    }
    Ok(si)
}

/// `GET /v1/setup_intents/{id}`.
pub fn retrieve(ctx: &mut Ctx<'_>, id: &str) -> Result<Value, ApiError> {
    ctx.acct
        .setup_intents
        .get(id)
        .map(Doc::value)
        .ok_or_else(|| ApiError::no_such("setup_intent", id, Some("intent")))
}

/// `POST /v1/setup_intents/{id}/confirm` with `payment_method=pm_card_visa` (or a saved `pm_…`).
pub fn confirm(ctx: &mut Ctx<'_>, id: &str, p: &Value) -> Result<Value, ApiError> {
    confirm_intent(ctx, id, p)
}

fn confirm_intent(ctx: &mut Ctx<'_>, id: &str, p: &Value) -> Result<Value, ApiError> {
    let mut si = retrieve(ctx, id)?;
    let status = si["status"].as_str().unwrap_or_default().to_string();
    if status != "requires_payment_method" && status != "requires_confirmation" {
        return Err(ApiError::unexpected_state(
            "setup_intent_unexpected_state",
            format!("You cannot confirm this SetupIntent because it has a status of {status}."),
        ));
    }
    let pm_id = match opt_str(p, "payment_method") {
        Some(pm) => payment_methods::resolve(ctx, pm, "payment_method")?,
        None => si["payment_method"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::invalid(
                    Some("setup_intent_unexpected_state"),
                    Some("payment_method"),
                    "You cannot confirm this SetupIntent because it's missing a payment method.",
                )
            })?,
    };
    let pm = ctx.acct.payment_methods[&pm_id].clone();
    let pm_obj = pm.obj.value();
    let pm_type = pm_obj["type"].as_str().unwrap_or("card");
    if !si["payment_method_types"]
        .as_array()
        .is_some_and(|a| a.iter().any(|t| t == pm_type))
    {
        return Err(ApiError::invalid(
            Some("payment_intent_incompatible_payment_method"),
            Some("payment_method"),
            format!("The provided PaymentMethod's type ({pm_type}) is not in this SetupIntent's payment_method_types."),
        ));
    }
    si["payment_method"] = pm_id.clone().into();
    si["last_setup_error"] = Value::Null;
    match pm.behaviour {
        Behaviour::Decline(code) => {
            let mut err = error::decline(code, None);
            err["payment_method"] = pm_obj.clone();
            si["status"] = "requires_payment_method".into();
            si["last_setup_error"] = err.clone();
            si["payment_method"] = Value::Null;
            ctx.acct.setup_intents.insert(id.to_string(), Doc::new(&si));
            ctx.emit("setup_intent.setup_failed", &si);
            Err(ApiError::card(err, ("setup_intent", si)))
        }
        Behaviour::AuthAlways | Behaviour::AuthOnSetup => {
            si["status"] = "requires_action".into();
            si["next_action"] = three_ds_action(ctx.base_url, id);
            ctx.acct.setup_intents.insert(id.to_string(), Doc::new(&si));
            ctx.emit("setup_intent.requires_action", &si);
            Ok(si)
        }
        _ => succeed(ctx, id, si),
    }
}

/// The `next_action` of an intent waiting for 3-D Secure; the page is the fake's, completed through
/// `POST /_control/3ds/{id}`.
pub fn three_ds_action(base_url: &str, id: &str) -> Value {
    json!({
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": format!("{base_url}/_control/3ds/{id}")},
    })
}

/// Marks a SetupIntent `succeeded`: attaches its payment method to the customer (SEPA: with a mandate).
pub fn succeed(ctx: &mut Ctx<'_>, id: &str, mut si: Value) -> Result<Value, ApiError> {
    let pm_id = si["payment_method"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if let Some(customer) = si["customer"].as_str().map(str::to_string) {
        payment_methods::attach_to(ctx, &pm_id, &customer)?;
    }
    if ctx
        .acct
        .payment_methods
        .get(&pm_id)
        .is_some_and(|pm| pm.obj.value()["type"] == "sepa_debit")
    {
        si["mandate"] = new_id("mandate").into();
    }
    si["status"] = "succeeded".into();
    si["next_action"] = Value::Null;
    ctx.acct.setup_intents.insert(id.to_string(), Doc::new(&si));
    ctx.emit("setup_intent.succeeded", &si);
    Ok(si)
}

/// Ends a SetupIntent's 3-D Secure challenge (control API).
pub fn complete_3ds(ctx: &mut Ctx<'_>, id: &str, success: bool) -> Result<Value, ApiError> {
    let mut si = retrieve(ctx, id)?;
    if si["status"] != "requires_action" {
        return Err(ApiError::unexpected_state(
            "setup_intent_unexpected_state",
            "This SetupIntent is not waiting for authentication.",
        ));
    }
    if success {
        return succeed(ctx, id, si);
    }
    si["status"] = "requires_payment_method".into();
    si["next_action"] = Value::Null;
    si["last_setup_error"] = json!({
        "type": "invalid_request_error", "code": "setup_intent_authentication_failure",
        "message": "The latest attempt to set up the payment method has failed because authentication failed.",
    });
    si["payment_method"] = Value::Null;
    ctx.acct.setup_intents.insert(id.to_string(), Doc::new(&si));
    ctx.emit("setup_intent.setup_failed", &si);
    Ok(si)
}

/// `POST /v1/setup_intents/{id}/cancel`.
pub fn cancel(ctx: &mut Ctx<'_>, id: &str) -> Result<Value, ApiError> {
    let mut si = retrieve(ctx, id)?;
    if si["status"] == "succeeded" || si["status"] == "canceled" {
        return Err(ApiError::unexpected_state(
            "setup_intent_unexpected_state",
            format!(
                "You cannot cancel this SetupIntent because it has a status of {}.",
                si["status"].as_str().unwrap_or("")
            ),
        ));
    }
    si["status"] = "canceled".into();
    si["next_action"] = Value::Null;
    ctx.acct.setup_intents.insert(id.to_string(), Doc::new(&si));
    ctx.emit("setup_intent.canceled", &si);
    Ok(si)
}
