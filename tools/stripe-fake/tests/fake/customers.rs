//! Customers, SetupIntents and PaymentMethods.

use std::collections::HashMap;

use stripe::{
    AttachPaymentMethod, CreateCustomer, CreatePaymentMethod, CreatePaymentMethodSepaDebit,
    CreateSetupIntent, Customer, CustomerInvoiceSettings, CustomerSearchParams, ListPaymentMethods,
    PaymentMethod, PaymentMethodTypeFilter, SetupIntent, SetupIntentStatus, StripeError,
    UpdateCustomer,
};

use crate::common::*;

fn meta(k: &str, v: &str) -> HashMap<String, String> {
    [(k.to_string(), v.to_string())].into_iter().collect()
}

#[tokio::test]
async fn customers_round_trip_metadata_and_are_found_by_search_and_email() {
    let h = start().await;
    let c = Customer::create(
        &h.client,
        CreateCustomer {
            email: Some("ada@example.com"),
            name: Some("Ada"),
            metadata: Some(meta("tessera_client", "cl_1")),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(c.id.as_str().starts_with("cus_"));
    assert_eq!(c.metadata.as_ref().unwrap()["tessera_client"], "cl_1");
    Customer::create(
        &h.client,
        CreateCustomer {
            metadata: Some(meta("tessera_client", "cl_2")),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let got = Customer::retrieve(&h.client, &c.id, &[]).await.unwrap();
    assert_eq!(got.email.as_deref(), Some("ada@example.com"));

    let found = Customer::search(
        &h.client,
        CustomerSearchParams {
            query: "metadata['tessera_client']:'cl_1'".into(),
            limit: None,
            page: None,
            expand: &[],
        },
    )
    .await
    .unwrap();
    assert_eq!(found.data.len(), 1);
    assert_eq!(found.data[0].id, c.id);
    assert_eq!(found.total_count, Some(1));

    let by_email = Customer::list(
        &h.client,
        &stripe::ListCustomers {
            email: Some("ada@example.com"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        by_email
            .data
            .iter()
            .map(|c| c.id.clone())
            .collect::<Vec<_>>(),
        vec![c.id.clone()]
    );

    let missing = Customer::retrieve(&h.client, &"cus_nope".parse().unwrap(), &[])
        .await
        .unwrap_err();
    match missing {
        StripeError::Stripe(e) => {
            assert_eq!(e.http_status, 404);
            assert_eq!(e.code, Some(stripe::ErrorCode::ResourceMissing));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn setup_intent_saves_a_card_and_the_customer_default_can_point_to_it() {
    let h = start().await;
    let c = Customer::create(&h.client, CreateCustomer::default())
        .await
        .unwrap();
    let si = SetupIntent::create(
        &h.client,
        CreateSetupIntent {
            customer: Some(c.id.clone()),
            payment_method_types: Some(vec!["card".into()]),
            metadata: Some(meta("tessera_client", "cl_1")),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(si.status, SetupIntentStatus::RequiresPaymentMethod);
    let secret = si.client_secret.clone().unwrap();
    assert!(
        secret.starts_with(&format!("{}_secret_", si.id)),
        "{secret}"
    );

    let done = SetupIntent::confirm(&h.client, &si.id, confirm_with("pm_card_visa"))
        .await
        .unwrap();
    assert_eq!(done.status, SetupIntentStatus::Succeeded);
    let pm_id = done.payment_method.unwrap().id();
    assert_ne!(
        pm_id.as_str(),
        "pm_card_visa",
        "a token creates a new PaymentMethod"
    );
    let again = SetupIntent::retrieve(&h.client, &si.id, &[]).await.unwrap();
    assert_eq!(again.status, SetupIntentStatus::Succeeded);
    assert_eq!(again.metadata.unwrap()["tessera_client"], "cl_1");

    let pm = PaymentMethod::retrieve(&h.client, &pm_id, &[])
        .await
        .unwrap();
    let card = pm.card.unwrap();
    assert_eq!((card.brand.as_str(), card.last4.as_str()), ("visa", "4242"));
    assert_eq!(pm.customer.unwrap().id(), c.id);

    let updated = Customer::update(
        &h.client,
        &c.id,
        UpdateCustomer {
            invoice_settings: Some(CustomerInvoiceSettings {
                default_payment_method: Some(pm_id.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        updated
            .invoice_settings
            .unwrap()
            .default_payment_method
            .unwrap()
            .id(),
        pm_id
    );

    // A payment method of nobody cannot become the default.
    let err = Customer::update(
        &h.client,
        &c.id,
        UpdateCustomer {
            invoice_settings: Some(CustomerInvoiceSettings {
                default_payment_method: Some("pm_unknown".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StripeError::Stripe(e) if e.http_status == 400));
}

#[tokio::test]
async fn declining_card_fails_setup_with_402_and_authentication_card_requires_action() {
    let h = start().await;
    let c = Customer::create(&h.client, CreateCustomer::default())
        .await
        .unwrap();
    let si = SetupIntent::create(
        &h.client,
        CreateSetupIntent {
            customer: Some(c.id.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let err = SetupIntent::confirm(&h.client, &si.id, confirm_with("pm_card_chargeDeclined"))
        .await
        .unwrap_err();
    match err {
        StripeError::Stripe(e) => {
            assert_eq!(e.http_status, 402);
            assert_eq!(e.code, Some(stripe::ErrorCode::CardDeclined));
            assert_eq!(e.decline_code.as_deref(), Some("generic_decline"));
        }
        other => panic!("{other:?}"),
    }
    let failed = SetupIntent::retrieve(&h.client, &si.id, &[]).await.unwrap();
    assert_eq!(failed.status, SetupIntentStatus::RequiresPaymentMethod);
    assert!(failed.last_setup_error.is_some());

    let si = SetupIntent::create(
        &h.client,
        CreateSetupIntent {
            customer: Some(c.id.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let waiting = SetupIntent::confirm(
        &h.client,
        &si.id,
        confirm_with("pm_card_authenticationRequired"),
    )
    .await
    .unwrap();
    assert_eq!(waiting.status, SetupIntentStatus::RequiresAction);
    assert_eq!(waiting.next_action.unwrap().type_, "use_stripe_sdk");
    let done = h
        .control(
            &format!("/_control/3ds/{}", si.id),
            serde_json::json!({"outcome": "succeed"}),
        )
        .await;
    assert_eq!(done["status"], "succeeded");
    let done = SetupIntent::retrieve(&h.client, &si.id, &[]).await.unwrap();
    assert_eq!(done.status, SetupIntentStatus::Succeeded);
}

#[tokio::test]
async fn payment_methods_attach_list_and_the_expiring_test_card() {
    let h = start().await;
    let c = Customer::create(&h.client, CreateCustomer::default())
        .await
        .unwrap();
    let visa = PaymentMethod::attach(
        &h.client,
        &"pm_card_visa".parse().unwrap(),
        AttachPaymentMethod {
            customer: c.id.clone(),
        },
    )
    .await
    .unwrap();
    let expiring = PaymentMethod::attach(
        &h.client,
        &"pm_card_visa_expiring".parse().unwrap(),
        AttachPaymentMethod {
            customer: c.id.clone(),
        },
    )
    .await
    .unwrap();
    let list = PaymentMethod::list(
        &h.client,
        &ListPaymentMethods {
            customer: Some(c.id.clone()),
            type_: Some(PaymentMethodTypeFilter::Card),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ids: Vec<_> = list.data.iter().map(|pm| pm.id.clone()).collect();
    assert_eq!(
        ids,
        vec![expiring.id.clone(), visa.id.clone()],
        "newest first"
    );

    let next = chrono::Utc::now()
        .date_naive()
        .checked_add_months(chrono::Months::new(1))
        .unwrap();
    let card = expiring.card.unwrap();
    use chrono::Datelike;
    assert_eq!(
        (card.exp_month, card.exp_year),
        (i64::from(next.month()), i64::from(next.year()))
    );
    assert!(visa.card.unwrap().exp_year > i64::from(next.year()));

    // Declining cards are refused on attach, as Stripe checks them.
    let err = PaymentMethod::attach(
        &h.client,
        &"pm_card_chargeDeclinedInsufficientFunds".parse().unwrap(),
        AttachPaymentMethod {
            customer: c.id.clone(),
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, StripeError::Stripe(e) if e.http_status == 402 && e.decline_code.as_deref() == Some("insufficient_funds"))
    );
}

#[tokio::test]
async fn sepa_payment_method_from_the_test_iban() {
    let h = start().await;
    let c = Customer::create(&h.client, CreateCustomer::default())
        .await
        .unwrap();
    let pm = PaymentMethod::create(
        &h.client,
        CreatePaymentMethod {
            type_: Some(PaymentMethodTypeFilter::SepaDebit),
            sepa_debit: Some(CreatePaymentMethodSepaDebit {
                iban: "DE89370400440532013000".into(),
            }),
            billing_details: Some(stripe::BillingDetails {
                name: Some("Jenny Rosen".into()),
                email: Some("jenny@example.com".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        pm.sepa_debit.as_ref().unwrap().last4.as_deref(),
        Some("3000")
    );
    let si = SetupIntent::create(
        &h.client,
        CreateSetupIntent {
            customer: Some(c.id.clone()),
            payment_method_types: Some(vec!["sepa_debit".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let done = SetupIntent::confirm(&h.client, &si.id, confirm_with(pm.id.as_str()))
        .await
        .unwrap();
    assert_eq!(done.status, SetupIntentStatus::Succeeded);
    assert!(done.mandate.is_some(), "a SEPA set-up yields a mandate");

    // A card cannot confirm a SEPA-only SetupIntent; a bad IBAN is refused.
    let si = SetupIntent::create(
        &h.client,
        CreateSetupIntent {
            payment_method_types: Some(vec!["sepa_debit".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        SetupIntent::confirm(&h.client, &si.id, confirm_with("pm_card_visa"))
            .await
            .is_err()
    );
    let bad = PaymentMethod::create(
        &h.client,
        CreatePaymentMethod {
            type_: Some(PaymentMethodTypeFilter::SepaDebit),
            sepa_debit: Some(CreatePaymentMethodSepaDebit {
                iban: "DE89370400440532013001".into(),
            }),
            billing_details: Some(stripe::BillingDetails {
                name: Some("J".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(bad, StripeError::Stripe(e) if e.http_status == 400));
}
