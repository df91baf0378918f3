//! `/v1/payment_methods`: test tokens turned into PaymentMethods, SEPA methods from test IBANs, attach,
//! detach, retrieve, list by customer.

use serde_json::Value;

use super::error::{self, ApiError};
use super::params::{self, opt_str};
use super::Ctx;
use crate::objects;
use crate::state::{new_id, Behaviour, Doc, SavedPm};

/// Finds a PaymentMethod by id, or creates one from a test token (`pm_card_visa`, `pm_sepa_debit`, …) as
/// Stripe does each time a token is used.
pub fn resolve(ctx: &mut Ctx<'_>, id: &str, param: &str) -> Result<String, ApiError> {
    if ctx.acct.payment_methods.contains_key(id) {
        return Ok(id.to_string());
    }
    let new = new_id("pm");
    let saved = if let Some(card) = objects::test_card(id) {
        SavedPm {
            obj: Doc::new(&objects::card_payment_method(&new, &card, ctx.now)),
            behaviour: card.behaviour,
        }
    } else if let Some(iban) = objects::test_sepa_token(id) {
        let billing = serde_json::json!({"name": "Jenny Rosen", "email": "jenny@example.com"});
        SavedPm {
            obj: Doc::new(&objects::sepa_payment_method(&new, iban, &billing, ctx.now)),
            behaviour: objects::sepa_behaviour(iban),
        }
    } else {
        return Err(ApiError::no_such("PaymentMethod", id, Some(param)));
    };
    ctx.acct.payment_methods.insert(new.clone(), saved);
    ctx.acct.pm_order.push(new.clone());
    Ok(new)
}

/// `POST /v1/payment_methods`: `type=sepa_debit&sepa_debit[iban]=…&billing_details[name]=…&
/// billing_details[email]=…` (cards only come from test tokens: no card numbers here, as in Tessera).
pub fn create(ctx: &mut Ctx<'_>, p: &Value) -> Result<Value, ApiError> {
    match params::req_str(p, "type")? {
        "sepa_debit" => {
            let iban: String = p["sepa_debit"]["iban"]
                .as_str()
                .ok_or_else(|| ApiError::missing_param("sepa_debit[iban]"))?
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_uppercase();
            if !iban_is_valid(&iban) {
                return Err(ApiError::invalid(
                    None,
                    Some("sepa_debit[iban]"),
                    "The IBAN you provided is invalid.",
                ));
            }
            let billing = &p["billing_details"];
            if billing["name"].as_str().is_none_or(str::is_empty) {
                return Err(ApiError::missing_param("billing_details[name]"));
            }
            let id = new_id("pm");
            let mut obj = objects::sepa_payment_method(&id, &iban, billing, ctx.now);
            if let Some(m) = params::metadata(p)? {
                params::merge_metadata(&mut obj, m);
            }
            ctx.acct.payment_methods.insert(
                id.clone(),
                SavedPm {
                    obj: Doc::new(&obj),
                    behaviour: objects::sepa_behaviour(&iban),
                },
            );
            ctx.acct.pm_order.push(id);
            Ok(obj)
        }
        "card" => Err(ApiError::invalid(
            None,
            Some("card"),
            "stripe-fake creates card PaymentMethods only from test tokens such as pm_card_visa.",
        )),
        other => Err(ApiError::invalid(
            None,
            Some("type"),
            format!("Invalid payment method type: {other}"),
        )),
    }
}

/// ISO 13616 check: country, check digits, mod-97 of the rearranged number.
fn iban_is_valid(iban: &str) -> bool {
    if !(15..=34).contains(&iban.len()) || !iban.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let digits = match c.to_digit(36) {
            Some(d) => d,
            None => return false,
        };
        rem = if digits >= 10 {
            (rem * 100 + digits) % 97
        } else {
            (rem * 10 + digits) % 97
        };
    }
    rem == 1
}

/// `GET /v1/payment_methods/{id}`.
pub fn retrieve(ctx: &mut Ctx<'_>, id: &str) -> Result<Value, ApiError> {
    ctx.acct
        .payment_methods
        .get(id)
        .map(|pm| pm.obj.value())
        .ok_or_else(|| ApiError::no_such("PaymentMethod", id, Some("id")))
}

/// Attaches a PaymentMethod to a customer; declining cards are refused as Stripe refuses them.
pub fn attach_to(ctx: &mut Ctx<'_>, pm_id: &str, customer: &str) -> Result<Value, ApiError> {
    let pm = ctx
        .acct
        .payment_methods
        .get_mut(pm_id)
        .ok_or_else(|| ApiError::no_such("PaymentMethod", pm_id, Some("payment_method")))?;
    let mut obj = pm.obj.value();
    if let Behaviour::Decline(code) = pm.behaviour {
        return Err(ApiError::card(
            error::decline(code, None),
            ("payment_method", obj),
        ));
    }
    match obj["customer"].as_str() {
        Some(c) if c == customer => return Ok(obj),
        Some(_) => {
            return Err(ApiError::invalid(
                None,
                Some("payment_method"),
                "The payment method you provided has already been attached to a customer.",
            ))
        }
        None => {}
    }
    obj["customer"] = Value::String(customer.to_string());
    pm.obj = Doc::new(&obj);
    ctx.acct
        .pms_by_customer
        .entry(customer.to_string())
        .or_default()
        .push(pm_id.to_string());
    ctx.emit("payment_method.attached", &obj);
    Ok(obj)
}

/// `POST /v1/payment_methods/{id}/attach` with `customer=cus_…`.
pub fn attach(ctx: &mut Ctx<'_>, id: &str, p: &Value) -> Result<Value, ApiError> {
    let customer = params::req_str(p, "customer")?;
    if !ctx.acct.customers.contains_key(customer) {
        return Err(ApiError::no_such("customer", customer, Some("customer")));
    }
    let pm_id = resolve(ctx, id, "payment_method")?;
    attach_to(ctx, &pm_id, customer)
}

/// `POST /v1/payment_methods/{id}/detach`.
pub fn detach(ctx: &mut Ctx<'_>, id: &str) -> Result<Value, ApiError> {
    let pm = ctx
        .acct
        .payment_methods
        .get_mut(id)
        .ok_or_else(|| ApiError::no_such("PaymentMethod", id, Some("id")))?;
    let mut obj = pm.obj.value();
    let Some(owner) = obj["customer"].as_str().map(str::to_string) else {
        return Err(ApiError::invalid(
            None,
            None,
            "The payment method you provided is not attached to a customer so detachment is impossible.",
        ));
    };
    obj["customer"] = Value::Null;
    pm.obj = Doc::new(&obj);
    if let Some(ids) = ctx.acct.pms_by_customer.get_mut(&owner) {
        ids.retain(|x| x != id);
    }
    ctx.emit("payment_method.detached", &obj);
    Ok(obj)
}

/// `GET /v1/payment_methods?customer=…&type=card` and `GET /v1/customers/{id}/payment_methods`
/// (newest first).
pub fn list(ctx: &mut Ctx<'_>, p: &Value) -> Result<Value, ApiError> {
    let customer = params::req_str(p, "customer")?;
    if !ctx.acct.customers.contains_key(customer) {
        return Err(ApiError::no_such("customer", customer, Some("customer")));
    }
    let limit = params::limit(p)?;
    let type_ = opt_str(p, "type");
    let mut data = Vec::new();
    let mut has_more = false;
    let ids = ctx
        .acct
        .pms_by_customer
        .get(customer)
        .cloned()
        .unwrap_or_default();
    for id in ids.iter().rev() {
        let pm = ctx.acct.payment_methods[id].obj.value();
        if type_.is_some_and(|t| pm["type"].as_str() != Some(t)) {
            continue;
        }
        if data.len() == limit {
            has_more = true;
            break;
        }
        data.push(pm);
    }
    Ok(objects::list("/v1/payment_methods", data, has_more))
}

#[cfg(test)]
mod tests {
    #[test]
    fn test_ibans_are_valid_and_a_typo_is_not() {
        assert!(super::iban_is_valid(crate::objects::SEPA_SUCCEEDS));
        assert!(super::iban_is_valid(crate::objects::SEPA_FAILS));
        assert!(!super::iban_is_valid("DE89370400440532013001"));
    }
}
