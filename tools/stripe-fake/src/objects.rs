//! Stripe object shapes (API version [`API_VERSION`]) built as JSON, with every field async-stripe's
//! generated structs require, and the catalogue of test payment methods.

use chrono::{Datelike, Months, Utc};
use serde_json::{json, Value};

use crate::state::Behaviour;

/// The API version the fake speaks and stamps on events (the one async-stripe 0.41 sends).
pub const API_VERSION: &str = "2023-10-16";

/// A test card: what Stripe's `pm_card_*` tokens stand for.
#[derive(Clone, Copy, Debug)]
pub struct TestCard {
    /// Card brand as Stripe writes it.
    pub brand: &'static str,
    /// Last four digits.
    pub last4: &'static str,
    /// How the card behaves.
    pub behaviour: Behaviour,
    /// Expires at the end of next month (for expiring-card reminders) instead of in a few years.
    pub expiring: bool,
}

/// Stripe's documented test payment method tokens (plus `pm_card_visa_expiring`, the fake's own).
pub fn test_card(token: &str) -> Option<TestCard> {
    let card = |brand, last4, behaviour| TestCard {
        brand,
        last4,
        behaviour,
        expiring: false,
    };
    Some(match token {
        "pm_card_visa" => card("visa", "4242", Behaviour::Succeed),
        "pm_card_visa_debit" => card("visa", "5556", Behaviour::Succeed),
        "pm_card_mastercard" => card("mastercard", "4444", Behaviour::Succeed),
        "pm_card_amex" => card("amex", "8431", Behaviour::Succeed),
        "pm_card_visa_expiring" => TestCard {
            expiring: true,
            ..card("visa", "4242", Behaviour::Succeed)
        },
        "pm_card_chargeDeclined" => card("visa", "0002", Behaviour::Decline("generic_decline")),
        "pm_card_chargeDeclinedInsufficientFunds" => {
            card("visa", "9995", Behaviour::Decline("insufficient_funds"))
        }
        "pm_card_chargeDeclinedExpiredCard" => {
            card("visa", "0069", Behaviour::Decline("expired_card"))
        }
        "pm_card_chargeCustomerFail" => card("visa", "0341", Behaviour::ChargeFail),
        "pm_card_authenticationRequired" => card("visa", "3184", Behaviour::AuthAlways),
        "pm_card_authenticationRequiredOnSetup" => card("visa", "3155", Behaviour::AuthOnSetup),
        _ => return None,
    })
}

/// The fake's own SEPA tokens, standing for Stripe's documented test IBANs.
pub fn test_sepa_token(token: &str) -> Option<&'static str> {
    match token {
        "pm_sepa_debit" => Some(SEPA_SUCCEEDS),
        "pm_sepa_debit_fails" => Some(SEPA_FAILS),
        _ => None,
    }
}

/// Stripe's test IBAN whose debits succeed after `processing`.
pub const SEPA_SUCCEEDS: &str = "DE89370400440532013000";
/// Stripe's test IBAN whose debits fail after `processing`.
pub const SEPA_FAILS: &str = "AT861904300235473202";

/// How a SEPA IBAN behaves: the documented failing IBANs fail, every other plausible IBAN succeeds.
pub fn sepa_behaviour(iban: &str) -> Behaviour {
    match iban {
        SEPA_FAILS | "DE62370400440532013001" => Behaviour::SepaFail,
        _ => Behaviour::SepaSucceed,
    }
}

/// (exp_month, exp_year) of a test card: end of next month for expiring cards, else three years ahead.
pub fn expiry(expiring: bool) -> (i64, i64) {
    let today = Utc::now().date_naive();
    if expiring {
        let next = today.checked_add_months(Months::new(1)).unwrap_or(today);
        (i64::from(next.month()), i64::from(next.year()))
    } else {
        (12, i64::from(today.year()) + 3)
    }
}

/// A `customer`.
pub fn customer(id: &str, created: i64) -> Value {
    json!({
        "id": id, "object": "customer", "address": null, "balance": 0, "created": created,
        "currency": null, "default_source": null, "delinquent": false, "description": null,
        "discount": null, "email": null, "invoice_prefix": invoice_prefix(id),
        "invoice_settings": {"custom_fields": null, "default_payment_method": null, "footer": null,
                              "rendering_options": null},
        "livemode": false, "metadata": {}, "name": null, "next_invoice_sequence": 1, "phone": null,
        "preferred_locales": [], "shipping": null, "tax_exempt": "none", "test_clock": null,
    })
}

fn invoice_prefix(id: &str) -> String {
    id.trim_start_matches("cus_")
        .chars()
        .take(8)
        .collect::<String>()
        .to_uppercase()
}

/// A card `payment_method`.
pub fn card_payment_method(id: &str, card: &TestCard, created: i64) -> Value {
    let (exp_month, exp_year) = expiry(card.expiring);
    json!({
        "id": id, "object": "payment_method",
        "billing_details": {"address": null, "email": null, "name": null, "phone": null},
        "card": {
            "brand": card.brand, "checks": {"address_line1_check": null, "address_postal_code_check": null,
                                             "cvc_check": "pass"},
            "country": "US", "display_brand": card.brand, "exp_month": exp_month, "exp_year": exp_year,
            "fingerprint": format!("fp{}{}", card.brand, card.last4), "funding": "credit",
            "generated_from": null, "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": null},
            "three_d_secure_usage": {"supported": true}, "wallet": null,
        },
        "created": created, "customer": null, "livemode": false, "metadata": {}, "type": "card",
    })
}

/// A `sepa_debit` `payment_method`.
pub fn sepa_payment_method(id: &str, iban: &str, billing: &Value, created: i64) -> Value {
    let country: String = iban.chars().take(2).collect();
    let last4: String = iban
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let bank_code: String = iban.chars().skip(4).take(8).collect();
    json!({
        "id": id, "object": "payment_method",
        "billing_details": {
            "address": null, "email": billing.get("email").cloned().unwrap_or(Value::Null),
            "name": billing.get("name").cloned().unwrap_or(Value::Null), "phone": null,
        },
        "sepa_debit": {
            "bank_code": bank_code, "branch_code": "", "country": country,
            "fingerprint": format!("fpsepa{last4}"), "generated_from": {"charge": null, "setup_attempt": null},
            "last4": last4,
        },
        "created": created, "customer": null, "livemode": false, "metadata": {}, "type": "sepa_debit",
    })
}

/// A `setup_intent` in `requires_payment_method`.
pub fn setup_intent(id: &str, created: i64) -> Value {
    json!({
        "id": id, "object": "setup_intent", "application": null, "automatic_payment_methods": null,
        "cancellation_reason": null, "client_secret": client_secret(id), "created": created,
        "customer": null, "description": null, "flow_directions": null, "last_setup_error": null,
        "latest_attempt": null, "livemode": false, "mandate": null, "metadata": {}, "next_action": null,
        "on_behalf_of": null, "payment_method": null, "payment_method_configuration_details": null,
        "payment_method_options": {}, "payment_method_types": ["card"], "single_use_mandate": null,
        "status": "requires_payment_method", "usage": "off_session",
    })
}

/// A `payment_intent` in `requires_payment_method`.
pub fn payment_intent(id: &str, amount: i64, currency: &str, created: i64) -> Value {
    json!({
        "id": id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_details": {"tip": {}}, "amount_received": 0, "application": null,
        "application_fee_amount": null, "automatic_payment_methods": null, "canceled_at": null,
        "cancellation_reason": null, "capture_method": "automatic", "client_secret": client_secret(id),
        "confirmation_method": "automatic", "created": created, "currency": currency, "customer": null,
        "description": null, "invoice": null, "last_payment_error": null, "latest_charge": null,
        "livemode": false, "metadata": {}, "next_action": null, "on_behalf_of": null,
        "payment_method": null, "payment_method_configuration_details": null,
        "payment_method_options": {}, "payment_method_types": ["card"], "processing": null,
        "receipt_email": null, "review": null, "setup_future_usage": null, "shipping": null,
        "source": null, "statement_descriptor": null, "statement_descriptor_suffix": null,
        "status": "requires_payment_method", "transfer_data": null, "transfer_group": null,
    })
}

/// A `charge` for a PaymentIntent, `succeeded` or `failed` (with its failure code and message).
pub fn charge(
    id: &str,
    pi: &Value,
    pm: &Value,
    failure: Option<(&str, &str)>,
    created: i64,
) -> Value {
    let amount = pi["amount"].as_i64().unwrap_or(0);
    let succeeded = failure.is_none();
    let pm_type = pm["type"].as_str().unwrap_or("card");
    let mut details = json!({"type": pm_type});
    details[pm_type] = pm[pm_type].clone();
    json!({
        "id": id, "object": "charge", "amount": amount,
        "amount_captured": if succeeded { amount } else { 0 }, "amount_refunded": 0,
        "application": null, "application_fee": null, "application_fee_amount": null,
        "balance_transaction": if succeeded { Value::String(format!("txn_{}", &id[3..])) } else { Value::Null },
        "billing_details": pm["billing_details"].clone(), "calculated_statement_descriptor": "TESSERA",
        "captured": succeeded, "created": created, "currency": pi["currency"].clone(),
        "customer": pi["customer"].clone(), "description": pi["description"].clone(), "disputed": false,
        "failure_balance_transaction": null,
        "failure_code": failure.map(|f| f.0), "failure_message": failure.map(|f| f.1),
        "fraud_details": {}, "invoice": null, "livemode": false, "metadata": pi["metadata"].clone(),
        "on_behalf_of": null,
        "outcome": {
            "network_status": if succeeded { "approved_by_network" } else { "declined_by_network" },
            "reason": failure.map(|f| f.0), "risk_level": "normal", "risk_score": 20, "seller_message":
                if succeeded { "Payment complete." } else { "The bank did not return any further details with this decline." },
            "type": if succeeded { "authorized" } else { "issuer_declined" },
        },
        "paid": succeeded, "payment_intent": pi["id"].clone(), "payment_method": pm["id"].clone(),
        "payment_method_details": details, "receipt_email": null, "receipt_number": null,
        "receipt_url": null, "refunded": false, "review": null, "shipping": null, "source": null,
        "source_transfer": null, "statement_descriptor": null, "statement_descriptor_suffix": null,
        "status": if succeeded { "succeeded" } else { "failed" }, "transfer_data": null, "transfer_group": null,
    })
}

/// A `refund`, `succeeded`.
pub fn refund(id: &str, charge: &Value, amount: i64, created: i64) -> Value {
    json!({
        "id": id, "object": "refund", "amount": amount,
        "balance_transaction": format!("txn_{}", &id[3..]), "charge": charge["id"].clone(),
        "created": created, "currency": charge["currency"].clone(), "destination_details": null,
        "metadata": {}, "payment_intent": charge["payment_intent"].clone(), "reason": null,
        "receipt_number": null, "source_transfer_reversal": null, "status": "succeeded",
        "transfer_reversal": null,
    })
}

/// An `event` wrapping a snapshot of an object.
pub fn event(
    id: &str,
    event_type: &str,
    object: &Value,
    created: i64,
    idempotency_key: Option<&str>,
) -> Value {
    json!({
        "id": id, "object": "event", "api_version": API_VERSION, "created": created,
        "data": {"object": object}, "livemode": false, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": idempotency_key}, "type": event_type,
    })
}

/// `<id>_secret_<random>`, as Stripe's client secrets.
fn client_secret(id: &str) -> String {
    let secret = crate::state::new_id("secret");
    format!("{id}_{secret}")
}

/// A Stripe `list` object.
pub fn list(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    json!({"object": "list", "url": url, "has_more": has_more, "data": data})
}
