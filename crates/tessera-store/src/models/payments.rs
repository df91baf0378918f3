//! Payments (provider attempts and manual records), refunds, clients' billing profiles, the Stripe events
//! already processed, and the billing notices already sent.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::schema::{billing_notices, billing_profiles, payments, refunds, stripe_events};
use crate::{Scoped, StoreResult};

/// A payment or a payment attempt.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = payments, treat_none_as_null = true)]
pub struct PaymentRow {
    /// Tenant.
    pub tenant_id: String,
    /// `pay_...`.
    pub id: String,
    /// The invoice paid.
    pub invoice_id: String,
    /// The payer.
    pub account_id: String,
    /// `stripe` or `manual`.
    pub provider: String,
    /// `card`, `sepa_debit`, `cash`, `card_terminal`, `bank_transfer`.
    pub method: String,
    /// `pending` (asked, no answer yet), `unknown` (no answer: reconcile), `processing` (SEPA),
    /// `requires_action`, `succeeded`, `failed`, `cancelled`.
    pub status: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// Attempt number on the invoice (1-based).
    pub attempt: i32,
    /// Sent to the provider; unique, derived from the invoice and the attempt.
    pub idempotency_key: String,
    /// Provider's id (`pi_...`).
    pub provider_ref: Option<String>,
    /// For an on-session payment: what the client confirms with.
    pub client_secret: Option<String>,
    /// Why it failed (`card_declined`, `insufficient_funds`, `authentication_required`...).
    pub failure_code: Option<String>,
    /// The provider's message.
    pub failure_message: Option<String>,
    /// Refunded so far, minor units.
    pub refunded_amount: i64,
    /// Staff who recorded a manual payment.
    pub recorded_by: Option<String>,
    /// Staff's note (receipt number, transfer reference).
    pub note: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
    /// When the money was received.
    pub settled_at: Option<NaiveDateTime>,
}

/// A refund.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refunds)]
pub struct RefundRow {
    /// Tenant.
    pub tenant_id: String,
    /// `rfd_...`.
    pub id: String,
    /// The payment refunded.
    pub payment_id: String,
    /// Its invoice.
    pub invoice_id: String,
    /// The credit note issued with it, if any.
    pub credit_note_id: Option<String>,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// `succeeded`, `pending`, `failed`.
    pub status: String,
    /// Provider's id (`re_...`).
    pub provider_ref: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// Staff.
    pub created_by: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
}

/// A client's billing details.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = billing_profiles, treat_none_as_null = true)]
pub struct BillingProfileRow {
    /// Tenant.
    pub tenant_id: String,
    /// The client.
    pub account_id: String,
    /// `stripe` or `manual`.
    pub provider: String,
    /// Provider's customer (`cus_...`).
    pub customer_ref: Option<String>,
    /// Saved payment method (`pm_...`).
    pub payment_method_ref: Option<String>,
    /// `card` or `sepa_debit`.
    pub method_kind: Option<String>,
    /// Card brand.
    pub card_brand: Option<String>,
    /// Last four digits.
    pub card_last4: Option<String>,
    /// Expiry month.
    pub card_exp_month: Option<i32>,
    /// Expiry year.
    pub card_exp_year: Option<i32>,
    /// When `billing.card_expiring` was last published for this card.
    pub expiry_notified_on: Option<NaiveDate>,
    /// A company buyer (name, SIREN, VAT number, address), JSON.
    pub company_json: Option<String>,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// Inserts a payment; a unique violation means an attempt with that key exists, or one is already in flight.
pub fn insert(s: &mut Scoped<'_>, row: &PaymentRow) -> StoreResult<()> {
    diesel::insert_into(payments::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// Writes every field of a payment.
pub fn update(s: &mut Scoped<'_>, row: &PaymentRow) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        payments::table
            .filter(payments::tenant_id.eq(tenant))
            .filter(payments::id.eq(&row.id)),
    )
    .set(row)
    .execute(conn)?;
    Ok(())
}

/// Inserts several payments in one statement (a billing run's attempts).
pub fn insert_many(s: &mut Scoped<'_>, rows: &[PaymentRow]) -> StoreResult<()> {
    for chunk in rows.chunks(500) {
        crate::on_backend!(s.conn(), |c| diesel::insert_into(payments::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Writes every field of several payments in one statement, as [`update`] does for one. The rows were read
/// in the same transaction.
pub fn update_many(s: &mut Scoped<'_>, rows: &[PaymentRow]) -> StoreResult<()> {
    crate::backend::own_realm(s.realm_key(), rows.iter().map(|r| &r.tenant_id))?;
    // SQLite (in-process, no round trips) writes them one by one: diesel builds no multi-row upsert for it.
    let crate::DbConnection::Postgres(c) = s.conn() else {
        return rows.iter().try_for_each(|row| update(s, row));
    };
    for chunk in rows.chunks(500) {
        diesel::insert_into(payments::table)
            .values(chunk)
            .on_conflict((payments::tenant_id, payments::id))
            .do_update()
            .set(crate::replace_columns!(payments: invoice_id, account_id, provider, method, status, amount,
                currency, attempt, idempotency_key, provider_ref, client_secret, failure_code, failure_message,
                refunded_amount, recorded_by, note, created_at, updated_at, settled_at))
            .execute(c)?;
    }
    Ok(())
}

/// Several payments by id.
pub fn find_many(s: &mut Scoped<'_>, ids: &[String]) -> StoreResult<Vec<PaymentRow>> {
    let (tenant, conn) = s.parts();
    Ok(payments::table
        .filter(payments::tenant_id.eq(tenant))
        .filter(payments::id.eq_any(ids))
        .select(PaymentRow::as_select())
        .load(conn)?)
}

/// The payments of several invoices, oldest first.
pub fn of_invoices(s: &mut Scoped<'_>, invoice_ids: &[String]) -> StoreResult<Vec<PaymentRow>> {
    let (tenant, conn) = s.parts();
    let mut rows = payments::table
        .filter(payments::tenant_id.eq(tenant))
        .filter(payments::invoice_id.eq_any(invoice_ids))
        .select(PaymentRow::as_select())
        .load(conn)?;
    rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(rows)
}

/// One payment.
pub fn find(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<PaymentRow>> {
    let (tenant, conn) = s.parts();
    Ok(payments::table
        .filter(payments::tenant_id.eq(tenant))
        .filter(payments::id.eq(id))
        .select(PaymentRow::as_select())
        .first(conn)
        .optional()?)
}

/// The payment with the provider's id, locked.
pub fn by_provider_ref_locked(
    s: &mut Scoped<'_>,
    reference: &str,
) -> StoreResult<Option<PaymentRow>> {
    let (tenant, conn) = s.parts();
    let rows = crate::load_locked!(
        conn,
        payments::table
            .filter(payments::tenant_id.eq(tenant))
            .filter(payments::provider_ref.eq(reference))
            .select(PaymentRow::as_select()),
        PaymentRow
    )?;
    Ok(rows.into_iter().next())
}

/// An invoice's payments, oldest first.
pub fn of_invoice(s: &mut Scoped<'_>, invoice_id: &str) -> StoreResult<Vec<PaymentRow>> {
    let (tenant, conn) = s.parts();
    // Sorted here, not by SQL: an ORDER BY lures SQLite into walking the brand's payments in `payments_created`
    // order instead of looking the invoice up in `payments_invoice` (a few rows).
    let mut rows = payments::table
        .filter(payments::tenant_id.eq(tenant))
        .filter(payments::invoice_id.eq(invoice_id))
        .select(PaymentRow::as_select())
        .load(conn)?;
    rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(rows)
}

/// Payments whose outcome is not known yet (asked and not answered, or timed out), for reconciliation.
pub fn unsettled(s: &mut Scoped<'_>, limit: i64) -> StoreResult<Vec<PaymentRow>> {
    let (tenant, conn) = s.parts();
    Ok(payments::table
        .filter(payments::tenant_id.eq(tenant))
        .filter(payments::status.eq_any(["pending", "unknown"]))
        .filter(payments::provider.ne("manual"))
        .order(payments::id.asc())
        .limit(limit)
        .select(PaymentRow::as_select())
        .load(conn)?)
}

/// A page of payments, newest first, created in `[from, to)` when given.
pub fn list(
    s: &mut Scoped<'_>,
    account_id: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<PaymentRow>> {
    let (tenant, conn) = s.parts();
    let mut query = payments::table
        .filter(payments::tenant_id.eq(tenant.to_owned()))
        .order(payments::id.desc())
        .limit(limit)
        .select(PaymentRow::as_select())
        .into_boxed();
    if let Some(account) = account_id {
        query = query.filter(payments::account_id.eq(account.to_owned()));
    }
    if let Some(before) = before {
        query = query.filter(payments::id.lt(before.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Inserts a refund.
pub fn insert_refund(s: &mut Scoped<'_>, row: &RefundRow) -> StoreResult<()> {
    diesel::insert_into(refunds::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// A page of refunds, newest first.
pub fn refunds(
    s: &mut Scoped<'_>,
    before: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<RefundRow>> {
    let (tenant, conn) = s.parts();
    let mut query = refunds::table
        .filter(refunds::tenant_id.eq(tenant.to_owned()))
        .order(refunds::id.desc())
        .limit(limit)
        .select(RefundRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(refunds::id.lt(before.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// A client's billing profile.
pub fn profile(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<Option<BillingProfileRow>> {
    let (tenant, conn) = s.parts();
    Ok(billing_profiles::table
        .filter(billing_profiles::tenant_id.eq(tenant))
        .filter(billing_profiles::account_id.eq(account_id))
        .select(BillingProfileRow::as_select())
        .first(conn)
        .optional()?)
}

/// The billing profiles of several clients.
pub fn profiles(s: &mut Scoped<'_>, account_ids: &[String]) -> StoreResult<Vec<BillingProfileRow>> {
    let (tenant, conn) = s.parts();
    let query = billing_profiles::table
        .filter(billing_profiles::tenant_id.eq(tenant))
        .select(BillingProfileRow::as_select());
    Ok(crate::load_any_of!(
        query,
        billing_profiles::account_id,
        account_ids,
        conn
    )?)
}

/// The profile of a provider customer.
pub fn profile_by_customer(
    s: &mut Scoped<'_>,
    customer_ref: &str,
) -> StoreResult<Option<BillingProfileRow>> {
    let (tenant, conn) = s.parts();
    Ok(billing_profiles::table
        .filter(billing_profiles::tenant_id.eq(tenant))
        .filter(billing_profiles::customer_ref.eq(customer_ref))
        .select(BillingProfileRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts or replaces a billing profile.
pub fn save_profile(s: &mut Scoped<'_>, row: &BillingProfileRow) -> StoreResult<()> {
    crate::on_backend!(s.conn(), |c| diesel::insert_into(billing_profiles::table)
        .values(row)
        .on_conflict((billing_profiles::tenant_id, billing_profiles::account_id))
        .do_update()
        .set(row)
        .execute(c))?;
    Ok(())
}

/// Profiles with a card expiring by (year, month) inclusive, not yet notified since `notified_before`.
pub fn cards_expiring(
    s: &mut Scoped<'_>,
    year: i32,
    month: i32,
) -> StoreResult<Vec<BillingProfileRow>> {
    let (tenant, conn) = s.parts();
    Ok(billing_profiles::table
        .filter(billing_profiles::tenant_id.eq(tenant))
        .filter(billing_profiles::card_exp_year.eq(year))
        .filter(billing_profiles::card_exp_month.eq(month))
        .filter(billing_profiles::expiry_notified_on.is_null())
        .select(BillingProfileRow::as_select())
        .load(conn)?)
}

/// Records a Stripe event as processed; false when it already was (the caller then changes nothing).
pub fn claim_stripe_event(
    s: &mut Scoped<'_>,
    event_id: &str,
    event_type: &str,
    object_id: &str,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    let (tenant, conn) = s.parts();
    let row = (
        stripe_events::tenant_id.eq(tenant),
        stripe_events::event_id.eq(event_id),
        stripe_events::event_type.eq(event_type),
        stripe_events::object_id.eq(object_id),
        stripe_events::received_at.eq(at),
    );
    let inserted = crate::on_backend!(conn, |c| diesel::insert_into(stripe_events::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// Records that the notice `kind` about a membership was sent on `day`; false when it already was that day
/// (the caller then sends nothing: a run passing twice the same day tells the member once).
pub fn claim_notice(
    s: &mut Scoped<'_>,
    membership_id: &str,
    kind: &str,
    day: NaiveDate,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    let (tenant, conn) = s.parts();
    let row = (
        billing_notices::tenant_id.eq(tenant),
        billing_notices::membership_id.eq(membership_id),
        billing_notices::kind.eq(kind),
        billing_notices::day.eq(day),
        billing_notices::created_at.eq(at),
    );
    let inserted = crate::on_backend!(conn, |c| diesel::insert_into(billing_notices::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// Sets a refund's status and provider reference.
pub fn settle_refund(
    s: &mut Scoped<'_>,
    id: &str,
    status: &str,
    provider_ref: Option<&str>,
) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        refunds::table
            .filter(refunds::tenant_id.eq(tenant))
            .filter(refunds::id.eq(id)),
    )
    .set((
        refunds::status.eq(status),
        refunds::provider_ref.eq(provider_ref),
    ))
    .execute(conn)?;
    Ok(())
}
