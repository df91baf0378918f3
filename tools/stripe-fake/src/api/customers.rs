//! `/v1/customers`: create, retrieve, update, list (by email) and search (by metadata, email, name).

use serde_json::Value;

use super::error::ApiError;
use super::params::{self, opt_str};
use super::{search, Ctx};
use crate::objects;
use crate::state::{index_metadata, new_id, unindex_metadata, Doc};

const SIMPLE_FIELDS: [&str; 4] = ["email", "name", "description", "phone"];

/// `POST /v1/customers`.
pub fn create(ctx: &mut Ctx<'_>, p: &Value) -> Result<Value, ApiError> {
    let id = new_id("cus");
    let mut customer = objects::customer(&id, ctx.now);
    apply(ctx, &mut customer, p)?;
    index_metadata(
        &mut ctx.acct.customers_by_metadata,
        &id,
        &customer["metadata"],
    );
    ctx.acct.customers.insert(id.clone(), Doc::new(&customer));
    ctx.acct.customer_order.push(id);
    ctx.emit("customer.created", &customer);
    Ok(customer)
}

/// `GET /v1/customers/{id}`.
pub fn retrieve(ctx: &mut Ctx<'_>, id: &str) -> Result<Value, ApiError> {
    ctx.acct
        .customers
        .get(id)
        .map(Doc::value)
        .ok_or_else(|| ApiError::no_such("customer", id, Some("id")))
}

/// `POST /v1/customers/{id}`.
pub fn update(ctx: &mut Ctx<'_>, id: &str, p: &Value) -> Result<Value, ApiError> {
    let mut customer = retrieve(ctx, id)?;
    apply(ctx, &mut customer, p)?;
    let old = ctx
        .acct
        .customers
        .get(id)
        .map(|c| c.value()["metadata"].clone())
        .unwrap_or_default();
    unindex_metadata(&mut ctx.acct.customers_by_metadata, id, &old);
    index_metadata(
        &mut ctx.acct.customers_by_metadata,
        id,
        &customer["metadata"],
    );
    ctx.acct
        .customers
        .insert(id.to_string(), Doc::new(&customer));
    ctx.emit("customer.updated", &customer);
    Ok(customer)
}

/// Writes the updatable fields, validating the default payment method like Stripe (it must be attached to
/// this customer).
fn apply(ctx: &Ctx<'_>, customer: &mut Value, p: &Value) -> Result<(), ApiError> {
    let metadata = params::metadata(p)?;
    let default_pm = p
        .get("invoice_settings")
        .and_then(|s| s.get("default_payment_method"))
        .and_then(Value::as_str);
    if let Some(pm_id) = default_pm.filter(|s| !s.is_empty()) {
        let attached_here = ctx
            .acct
            .payment_methods
            .get(pm_id)
            .is_some_and(|pm| pm.obj.value()["customer"].as_str() == customer["id"].as_str());
        if !attached_here {
            return Err(ApiError::invalid(
                Some("resource_missing"),
                Some("invoice_settings[default_payment_method]"),
                format!("No such PaymentMethod: '{pm_id}'; it must be attached to this customer."),
            ));
        }
    }
    for field in SIMPLE_FIELDS {
        if let Some(v) = opt_str(p, field) {
            customer[field] = if v.is_empty() {
                Value::Null
            } else {
                Value::String(v.to_string())
            };
        }
    }
    if let Some(Value::Array(locales)) = p.get("preferred_locales") {
        customer["preferred_locales"] = Value::Array(locales.clone());
    }
    if let Some(pm) = default_pm {
        customer["invoice_settings"]["default_payment_method"] = if pm.is_empty() {
            Value::Null
        } else {
            Value::String(pm.to_string())
        };
    }
    if let Some(m) = metadata {
        params::merge_metadata(customer, m);
    }
    Ok(())
}

/// `GET /v1/customers?email=…` (newest first, `limit`, `starting_after`).
pub fn list(ctx: &mut Ctx<'_>, p: &Value) -> Result<Value, ApiError> {
    let limit = params::limit(p)?;
    let email = opt_str(p, "email");
    let starting_after = opt_str(p, "starting_after");
    let mut skipping = starting_after.is_some();
    let mut data = Vec::new();
    let mut has_more = false;
    for id in ctx.acct.customer_order.iter().rev() {
        if skipping {
            skipping = Some(id.as_str()) != starting_after;
            continue;
        }
        let c = ctx.acct.customers[id].value();
        if email.is_some_and(|e| c["email"].as_str() != Some(e)) {
            continue;
        }
        if data.len() == limit {
            has_more = true;
            break;
        }
        data.push(c);
    }
    Ok(objects::list("/v1/customers", data, has_more))
}

/// `GET /v1/customers/search?query=…`.
pub fn search(ctx: &mut Ctx<'_>, p: &Value) -> Result<Value, ApiError> {
    let clauses = search::parse(params::req_str(p, "query")?)?;
    let acct = &*ctx.acct;
    let matching = search::candidates(&clauses, &acct.customers_by_metadata, &acct.customer_order)
        .map(|id| acct.customers[id].value())
        .filter(|c| search::matches(c, &clauses))
        .collect();
    search::page("/v1/customers/search", matching, p)
}
